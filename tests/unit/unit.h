/*
 * unit.h -- what the table-driven unit tests share.
 *
 * Public: unit_suite_t, unit_add, unit_add_rows, unit_run,
 * unit_utf8_valid, UNIT_ROWS.
 * Each row of a table becomes its own named cmocka test, so a failing
 * row is reported by name and the others still run; the row reaches the
 * test function as *state.  unit_run prints cmocka's usual summary and
 * returns the number of failures, which is the program's exit status.
 */
#ifndef POSTINBOX_TESTS_UNIT_H
#define POSTINBOX_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#define UNIT_MAX_TESTS 512
#define UNIT_ROWS(table) (sizeof(table) / sizeof((table)[0]))

typedef struct {
    struct CMUnitTest tests[UNIT_MAX_TESTS];
    size_t count;
} unit_suite_t;

/* Adds one test; state (a table row, or NULL) arrives as *state. */
static inline void
unit_add(unit_suite_t *suite, const char *name, CMUnitTestFunction fn, const void *state)
{
    if (suite->count == UNIT_MAX_TESTS) {
        fprintf(stderr, "unit.h: more than %d tests, raise UNIT_MAX_TESTS\n", UNIT_MAX_TESTS);
        exit(99);
    }
    suite->tests[suite->count++] = (struct CMUnitTest){
        .name = name,
        .test_func = fn,
        .initial_state = (void *)(uintptr_t)state,
    };
}

/* Adds one test per row; every row type starts with "const char *name". */
static inline void
unit_add_rows(unit_suite_t *suite, CMUnitTestFunction fn, const void *rows, size_t row_size, size_t nrows)
{
    for (size_t i = 0; i < nrows; i++) {
        const char *row = (const char *)rows + i * row_size;
        unit_add(suite, *(const char *const *)(const void *)row, fn, row);
    }
}

static inline int
unit_run(const char *group, unit_suite_t *suite, CMFixtureFunction setup, CMFixtureFunction teardown)
{
    return _cmocka_run_group_tests(group, suite->tests, suite->count, setup, teardown);
}

/* 1 if s[0..len) is strict UTF-8 (no overlongs, surrogates or > U+10FFFF).
 * Written independently of lib/util/utf8.c so the two check each other. */
static inline int
unit_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t n;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1;
        else if (c == 0xe0) {
            n = 2;
            lo = 0xa0;
        } else if (c == 0xed) {
            n = 2;
            hi = 0x9f;
        } else if (c >= 0xe1 && c <= 0xef)
            n = 2;
        else if (c == 0xf0) {
            n = 3;
            lo = 0x90;
        } else if (c == 0xf4) {
            n = 3;
            hi = 0x8f;
        } else if (c >= 0xf1 && c <= 0xf3)
            n = 3;
        else
            return 0;
        if (i + n >= len) /* truncated */
            return 0;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= n; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
        i += n + 1;
    }
    return 1;
}

#endif
