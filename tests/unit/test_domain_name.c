/*
 * test_domain_name.c -- domain names as admins type them: the stored form
 * (A-labels, lower case, no final dot), what is refused and why, and the
 * U-label form shown.
 */
#include "unit.h"

#include <string.h>

#include "domain_name.h"

typedef struct {
    const char *name;
    const char *in;
    domain_name_status_t status;
    const char *want;   /* the stored form when DOMAIN_NAME_OK */
} name_row_t;

#define L63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L56 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const name_row_t name_rows[] = {
    { "lower-cased", "Example.COM", DOMAIN_NAME_OK, "example.com" },
    { "the root's dot dropped", "example.com.", DOMAIN_NAME_OK, "example.com" },
    { "U-labels become A-labels", "Bücher.example", DOMAIN_NAME_OK, "xn--bcher-kva.example" },
    { "A-labels kept", "xn--bcher-kva.example", DOMAIN_NAME_OK, "xn--bcher-kva.example" },
    { "upper-case A-labels lower-cased", "XN--BCHER-KVA.example", DOMAIN_NAME_OK, "xn--bcher-kva.example" },
    { "253 octets: the longest", L63 "." L63 "." L63 "." L56 ".test", DOMAIN_NAME_OK,
      L63 "." L63 "." L63 "." L56 ".test" },
    { "254 octets", L63 "." L63 "." L63 "." L56 "b.test", DOMAIN_NAME_TOO_LONG, "" },
    { "a 64-octet label", L63 "a.test", DOMAIN_NAME_MALFORMED, "" },
    { "one label", "localhost", DOMAIN_NAME_MALFORMED, "" },
    { "empty", "", DOMAIN_NAME_MALFORMED, "" },
    { "only the dot", ".", DOMAIN_NAME_MALFORMED, "" },
    { "two final dots", "example.com..", DOMAIN_NAME_MALFORMED, "" },
    { "empty label", "a..test", DOMAIN_NAME_MALFORMED, "" },
    { "leading hyphen", "-a.test", DOMAIN_NAME_MALFORMED, "" },
    { "trailing hyphen", "a-.test", DOMAIN_NAME_MALFORMED, "" },
    { "underscore", "a_b.test", DOMAIN_NAME_MALFORMED, "" },
    { "space", "a b.test", DOMAIN_NAME_MALFORMED, "" },
    { "control character", "a\tb.test", DOMAIN_NAME_MALFORMED, "" },
    { "an address, not a domain", "a@b.test", DOMAIN_NAME_MALFORMED, "" },
    { "invalid UTF-8", "b\xfcr.test", DOMAIN_NAME_IDNA, "" },
    { "a U-label IDNA2008 refuses (symbol)", "\xe2\x98\x83.test", DOMAIN_NAME_IDNA, "" },
    { "an A-label that does not decode", "xn--a.test", DOMAIN_NAME_IDNA, "" },
};

static void
test_name(void **state)
{
    const name_row_t *row = *state;
    char out[DOMAIN_NAME_MAX + 1];
    assert_int_equal(domain_name_canonical(row->in, out), row->status);
    assert_string_equal(out, row->want);
}

static void
test_unicode(void **state)
{
    char out[300];
    (void)state;
    assert_string_equal(domain_name_unicode("xn--bcher-kva.example", out, sizeof(out)), "bücher.example");
    assert_string_equal(domain_name_unicode("example.com", out, sizeof(out)), "example.com");
    /* a label that does not decode is shown as it is */
    assert_string_equal(domain_name_unicode("xn--a.test", out, sizeof(out)), "xn--a.test");
    /* too small for the U-labels: the stored form, cut */
    assert_string_equal(domain_name_unicode("xn--bcher-kva.example", out, 6), "xn--b");
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_name, name_rows, sizeof(name_rows[0]), UNIT_ROWS(name_rows));
    unit_add(&suite, "U-labels shown", test_unicode, NULL);
    return unit_run("domain_name", &suite, NULL, NULL);
}
