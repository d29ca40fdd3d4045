/*
 * pgarray.c -- building array literals.  See pgarray.h.
 */
#include "pgarray.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
pgarray_reserve(pgarray_t *a, size_t more)
{
    if (a->failed)
        return -1;
    if (a->len + more + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (a->len + more + 1 > cap)
            cap *= 2;
        char *grown = realloc(a->buf, cap);
        if (grown == NULL) {
            a->failed = 1;
            return -1;
        }
        a->buf = grown;
        a->cap = cap;
    }
    return 0;
}

static void
pgarray_put(pgarray_t *a, char c)
{
    if (pgarray_reserve(a, 1) == 0) {
        a->buf[a->len++] = c;
        a->buf[a->len] = '\0';
    }
}

void
pgarray_init(pgarray_t *a)
{
    memset(a, 0, sizeof(*a));
    pgarray_put(a, '{');
}

void
pgarray_add(pgarray_t *a, const char *text)
{
    if (a->count++ > 0)
        pgarray_put(a, ',');
    if (text == NULL) {
        for (const char *p = "NULL"; *p; p++)
            pgarray_put(a, *p);
        return;
    }
    if (pgarray_reserve(a, 2 * strlen(text) + 2) != 0)
        return;
    a->buf[a->len++] = '"';
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\')
            a->buf[a->len++] = '\\';
        a->buf[a->len++] = *p;
    }
    a->buf[a->len++] = '"';
    a->buf[a->len] = '\0';
}

void
pgarray_addf(pgarray_t *a, const char *fmt, ...)
{
    char small[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        a->failed = 1;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        pgarray_add(a, small);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        a->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    pgarray_add(a, big);
    free(big);
}

const char *
pgarray_finish(pgarray_t *a)
{
    pgarray_put(a, '}');
    return a->failed ? NULL : a->buf;
}

void
pgarray_free(pgarray_t *a)
{
    free(a->buf);
    memset(a, 0, sizeof(*a));
}
