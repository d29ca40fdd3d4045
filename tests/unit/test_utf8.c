/*
 * test_utf8.c -- utf8_sanitize: whatever bytes a header carries, what is
 * stored is valid UTF-8 without controls (TAB excepted), within max_bytes,
 * never with a character cut in half.  utf8_sanitize_text keeps line
 * breaks (CRLF and CR become LF) and says whether it cut.
 */
#include "unit.h"

#include <string.h>

#include "utf8.h"

#define FFFD "\xef\xbf\xbd"
#define BIG ((size_t)1 << 20)

typedef struct {
    const char *name;
    const char *in;
    size_t len;       /* bytes of in (may hold NULs) */
    size_t max;
    const char *want;
} utf8_row_t;

/* S("...") gives the bytes and their count, NULs included. */
#define S(lit) lit, sizeof(lit) - 1

static const utf8_row_t utf8_rows[] = {
    /* valid text passes unchanged */
    { "ASCII", S("Hello, world"), BIG, "Hello, world" },
    { "empty", S(""), BIG, "" },
    { "2-byte: caf\\u00e9", S("caf\xc3\xa9"), BIG, "caf\xc3\xa9" },
    { "3-byte: euro sign", S("\xe2\x82\xac 5"), BIG, "\xe2\x82\xac 5" },
    { "3-byte: CJK", S("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), BIG, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
    { "4-byte: emoji", S("hi \xf0\x9f\x98\x80"), BIG, "hi \xf0\x9f\x98\x80" },
    { "U+0080, first 2-byte", S("\xc2\x80"), BIG, "\xc2\x80" },
    { "U+07FF, last 2-byte", S("\xdf\xbf"), BIG, "\xdf\xbf" },
    { "U+0800, first 3-byte", S("\xe0\xa0\x80"), BIG, "\xe0\xa0\x80" },
    { "U+D7FF, before the surrogates", S("\xed\x9f\xbf"), BIG, "\xed\x9f\xbf" },
    { "U+E000, after the surrogates", S("\xee\x80\x80"), BIG, "\xee\x80\x80" },
    { "U+FFFD itself", S(FFFD), BIG, FFFD },
    { "U+FFFF", S("\xef\xbf\xbf"), BIG, "\xef\xbf\xbf" },
    { "U+10000, first 4-byte", S("\xf0\x90\x80\x80"), BIG, "\xf0\x90\x80\x80" },
    { "U+10FFFF, last code point", S("\xf4\x8f\xbf\xbf"), BIG, "\xf4\x8f\xbf\xbf" },

    /* invalid bytes become U+FFFD, one per byte not part of a valid sequence */
    { "overlong NUL C0 80", S("a\xc0\x80z"), BIG, "a" FFFD FFFD "z" },
    { "overlong C1 BF", S("\xc1\xbf"), BIG, FFFD FFFD },
    { "overlong 3-byte E0 80 80", S("\xe0\x80\x80"), BIG, FFFD FFFD FFFD },
    { "overlong 3-byte '/' E0 80 AF", S("\xe0\x80\xaf"), BIG, FFFD FFFD FFFD },
    { "overlong 4-byte F0 80 80 80", S("\xf0\x80\x80\x80"), BIG, FFFD FFFD FFFD FFFD },
    { "surrogate ED A0 80 (U+D800)", S("a\xed\xa0\x80z"), BIG, "a" FFFD FFFD FFFD "z" },
    { "surrogate ED BF BF (U+DFFF)", S("\xed\xbf\xbf"), BIG, FFFD FFFD FFFD },
    { "above U+10FFFF: F4 90 80 80", S("\xf4\x90\x80\x80"), BIG, FFFD FFFD FFFD FFFD },
    { "F5 lead byte", S("a\xf5\x80\x80\x80"), BIG, "a" FFFD FFFD FFFD FFFD },
    { "F8 lead byte", S("\xf8z"), BIG, FFFD "z" },
    { "FE and FF", S("\xfe\xff"), BIG, FFFD FFFD },
    { "stray continuation byte", S("a\x80z"), BIG, "a" FFFD "z" },
    { "continuation bytes after a valid char", S("\xc3\xa9\xa9\xa9"), BIG, "\xc3\xa9" FFFD FFFD },
    { "truncated 2-byte at end", S("ab\xc3"), BIG, "ab" FFFD },
    { "truncated 3-byte at end", S("ab\xe2\x82"), BIG, "ab" FFFD FFFD },
    { "truncated 4-byte at end", S("\xf0\x9f\x98"), BIG, FFFD FFFD FFFD },
    { "truncated 3-byte before ASCII", S("\xe2\x82z"), BIG, FFFD FFFD "z" },
    { "lead byte followed by a lead byte", S("\xc3\xc3\xa9"), BIG, FFFD "\xc3\xa9" },
    { "Latin-1 text", S("caf\xe9"), BIG, "caf" FFFD },

    /* controls */
    { "NUL becomes a space", S("a\0b"), BIG, "a b" },
    { "only NULs", S("\0\0"), BIG, "  " },
    { "C0 controls become spaces", S("a\x01\x07\x1b\x1fz"), BIG, "a    z" },
    { "CR and LF become spaces", S("line1\r\nline2"), BIG, "line1  line2" },
    { "DEL becomes a space", S("a\x7fz"), BIG, "a z" },
    { "TAB kept", S("a\tb"), BIG, "a\tb" },
    { "C1 control U+0085 is valid UTF-8, kept", S("\xc2\x85"), BIG, "\xc2\x85" },

    /* max_bytes */
    { "max: ASCII cut", S("abcdef"), 3, "abc" },
    { "max: exact fit", S("abc"), 3, "abc" },
    { "max: zero", S("abc"), 0, "" },
    { "max: 2-byte char not split", S("\xc3\xa9\xc3\xa9\xc3\xa9"), 5, "\xc3\xa9\xc3\xa9" },
    { "max: 3-byte char not split", S("a\xe2\x82\xac"), 3, "a" },
    { "max: 4-byte char not split", S("ab\xf0\x9f\x98\x80"), 5, "ab" },
    { "max: 4-byte char exact", S("ab\xf0\x9f\x98\x80"), 6, "ab\xf0\x9f\x98\x80" },
    { "max: replacement not split", S("ab\xff"), 4, "ab" },
    { "max: replacements grow the text", S("\xff\xff\xff\xff"), 7, FFFD FFFD },
    { "max: larger than the input", S("abc"), 1000, "abc" },
};

static void
test_utf8(void **state)
{
    const utf8_row_t *row = *state;
    char *out = utf8_sanitize(row->in, row->len, row->max);
    assert_non_null(out);
    if (strcmp(out, row->want) != 0) {
        char shown[256] = "";
        for (size_t i = 0, o = 0; out[i] && o + 5 < sizeof(shown); i++)
            o += (size_t)snprintf(shown + o, sizeof(shown) - o, "\\x%02x", (unsigned char)out[i]);
        free(out);
        fail_msg("got \"%s\"", shown);
    }
    assert_true(strlen(out) <= row->max);
    free(out);
}

typedef struct {
    const char *name;
    const char *in;
    size_t len;
    size_t max;
    const char *want;
    int truncated;
} text_row_t;

static const text_row_t text_rows[] = {
    { "text: LF kept", S("a\nb\n"), BIG, "a\nb\n", 0 },
    { "text: CRLF becomes LF", S("a\r\nb\r\n"), BIG, "a\nb\n", 0 },
    { "text: lone CR becomes LF", S("a\rb"), BIG, "a\nb", 0 },
    { "text: CR CR LF is two lines", S("a\r\r\nb"), BIG, "a\n\nb", 0 },
    { "text: NUL and controls become spaces", S("a\0b\x01" "c\td"), BIG, "a b c\td", 0 },
    { "text: invalid UTF-8 replaced", S("caf\xe9\n"), BIG, "caf" FFFD "\n", 0 },
    { "text: cut on a character boundary", S("ab\xc3\xa9"), 3, "ab", 1 },
    { "text: exact fit is not truncated", S("ab\r\n"), 3, "ab\n", 0 },
    { "text: CRLF cut counts one byte", S("a\r\nbc"), 2, "a\n", 1 },
};

static void
test_text(void **state)
{
    const text_row_t *row = *state;
    int truncated = -1;
    char *out = utf8_sanitize_text(row->in, row->len, row->max, &truncated);
    assert_non_null(out);
    assert_string_equal(out, row->want);
    assert_int_equal(truncated, row->truncated);
    free(out);
}

/* A small deterministic generator, so a failure can be replayed. */
static unsigned long
next_random(unsigned long *seed)
{
    *seed = *seed * 6364136223846793005UL + 1442695040888963407UL;
    return *seed >> 33;
}

/* Random bytes, biased towards UTF-8 lead and continuation bytes, at random
 * limits: the output is always valid, control-free, within the limit, and
 * valid input comes back unchanged (or cut on a character boundary). */
static void
test_utf8_random(void **state)
{
    static const unsigned char interesting[] = { 0x00, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x41, 0x7f, 0x80, 0xbf,
                                                  0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff };
    unsigned long seed = 2024;
    unsigned char in[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = next_random(&seed) % sizeof(in);
        size_t max = next_random(&seed) % 200;
        for (size_t i = 0; i < len; i++) {
            unsigned long r = next_random(&seed);
            in[i] = (r & 1) ? interesting[(r >> 1) % sizeof(interesting)] : (unsigned char)(r >> 8);
        }
        char *out = utf8_sanitize((const char *)in, len, max);
        assert_non_null(out);
        size_t olen = strlen(out);
        if (olen > max || !unit_utf8_valid(out, olen))
            fail_msg("iteration %d: invalid or over-long output", iter);
        for (size_t i = 0; i < olen; i++) {
            unsigned char c = (unsigned char)out[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                fail_msg("iteration %d: control 0x%02x in output", iter, c);
        }
        int clean = unit_utf8_valid((const char *)in, len) && memchr(in, 0, len) == NULL;
        for (size_t i = 0; clean && i < len; i++)
            if ((in[i] < 0x20 && in[i] != '\t') || in[i] == 0x7f)
                clean = 0;
        if (clean) {
            /* valid input: a prefix of it, the whole of it when it fits */
            assert_memory_equal(out, in, olen);
            if (len <= max)
                assert_int_equal(olen, len);
            else if (olen < len)
                assert_int_not_equal((unsigned char)in[olen] & 0xc0, 0x80); /* cut before a lead byte */
        }
        free(out);
    }
}

/* A whole megabyte of garbage at a small limit. */
static void
test_utf8_megabyte(void **state)
{
    size_t len = BIG;
    char *in = malloc(len);
    assert_non_null(in);
    for (size_t i = 0; i < len; i++)
        in[i] = (char)(0x80 | (i & 0x7f));
    char *out = utf8_sanitize(in, len, 998);
    assert_non_null(out);
    assert_int_equal(strlen(out), 996); /* 332 replacement characters */
    assert_true(unit_utf8_valid(out, strlen(out)));
    free(out);
    out = utf8_sanitize(in, len, len * 3);
    assert_non_null(out);
    assert_int_equal(strlen(out), len * 3);
    free(out);
    free(in);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_utf8, utf8_rows, sizeof(utf8_rows[0]), UNIT_ROWS(utf8_rows));
    unit_add_rows(&suite, test_text, text_rows, sizeof(text_rows[0]), UNIT_ROWS(text_rows));
    unit_add(&suite, "random bytes at random limits", test_utf8_random, NULL);
    unit_add(&suite, "one megabyte of invalid bytes", test_utf8_megabyte, NULL);
    return unit_run("utf8", &suite, NULL, NULL);
}
