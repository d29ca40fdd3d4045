/*
 * test_dns_record.c -- TXT values as zone-file strings (lib/mail/dns_record).
 */
#include <stdlib.h>
#include <string.h>

#include "dns_record.h"
#include "unit.h"

/* The strings of out, unquoted and unescaped, joined: the value back. */
static void
unquote(const char *text, char *out, size_t *parts, size_t *longest)
{
    size_t n = 0, len = 0;
    *parts = *longest = 0;
    for (const char *p = text; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        assert_int_equal(*p, '"');
        p++;
        len = 0;
        while (*p != '"') {
            assert_true(*p != '\0');
            if (p[0] == '\\' && p[1] >= '0' && p[1] <= '9') {
                out[n++] = (char)((p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
                p += 4;
            } else {
                if (*p == '\\')
                    p++;
                out[n++] = *p++;
            }
            len++;
        }
        p++;
        (*parts)++;
        if (len > *longest)
            *longest = len;
    }
    out[n] = '\0';
}

static void
test_split(void **state)
{
    static const size_t lengths[] = { 0, 1, 254, 255, 256, 410, 510, 765, 766, 2000 };
    (void)state;
    for (size_t i = 0; i < UNIT_ROWS(lengths); i++) {
        char *value = malloc(lengths[i] + 1), *text = malloc(4 * lengths[i] + 64), *back = malloc(lengths[i] + 1);
        size_t parts, longest;
        for (size_t j = 0; j < lengths[i]; j++)
            value[j] = (char)('a' + j % 26);
        value[lengths[i]] = '\0';
        assert_true(dns_txt_strings(value, text, 4 * lengths[i] + 64) > 0);
        unquote(text, back, &parts, &longest);
        assert_string_equal(back, value);
        assert_int_equal(parts, lengths[i] == 0 ? 1 : (lengths[i] + 254) / 255);
        assert_true(longest <= DNS_TXT_STRING_MAX);
        free(value), free(text), free(back);
    }
}

static void
test_escapes(void **state)
{
    char text[128], back[64];
    size_t parts, longest;
    (void)state;
    dns_txt_strings("v=spf1 \"q\" \\ \x01\xc3\xa9", text, sizeof(text));
    assert_string_equal(text, "\"v=spf1 \\\"q\\\" \\\\ \\001\\195\\169\"");
    unquote(text, back, &parts, &longest);
    assert_string_equal(back, "v=spf1 \"q\" \\ \x01\xc3\xa9");
}

static void
test_no_room(void **state)
{
    char text[8] = "x";
    (void)state;
    assert_int_equal(dns_txt_strings("0123456789", text, sizeof(text)), 0);
    assert_string_equal(text, "");
    assert_int_equal(dns_txt_strings("abcde", text, sizeof(text)), 7);
    assert_string_equal(text, "\"abcde\"");
}

int
main(void)
{
    unit_suite_t suite = { 0 };
    unit_add(&suite, "a long value is split into strings of at most 255 octets", test_split, NULL);
    unit_add(&suite, "quotes, backslashes and other bytes are escaped", test_escapes, NULL);
    unit_add(&suite, "a value without room is refused whole", test_no_room, NULL);
    return unit_run("dns_record", &suite, NULL, NULL);
}
