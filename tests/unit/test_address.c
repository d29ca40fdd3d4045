/*
 * test_address.c -- envelope addresses as Postfix hands them to the milter:
 * what is normalised, what is the null sender, what is refused.
 */
#include "unit.h"

#include <string.h>

#include "address.h"

typedef struct {
    const char *name;
    const char *in;         /* NULL: built from local_len/domain_len */
    size_t local_len, domain_len;
    address_status_t status;
    const char *want;       /* normalised form when ADDRESS_OK */
    const char *domain;     /* address_domain of it, when ADDRESS_OK */
} address_row_t;

#define OK(in, want, domain) in, 0, 0, ADDRESS_OK, want, domain
#define BAD(in) in, 0, 0, ADDRESS_MALFORMED, "", NULL
#define SIZED(local, domain, status) NULL, local, domain, status, NULL, NULL

static const address_row_t address_rows[] = {
    /* normalised */
    { "brackets stripped, lower-cased", OK("<Foo@Example.COM>", "foo@example.com", "example.com") },
    { "bare address", OK("Foo@Example.COM", "foo@example.com", "example.com") },
    { "surrounding whitespace", OK("  <a@b.example>\t", "a@b.example", "b.example") },
    { "trailing CRLF trimmed", OK("<a@b.example>\r\n", "a@b.example", "b.example") },
    { "source route dropped", OK("<@a,@b:u@h>", "u@h", "h") },
    { "source route with domains", OK("<@relay1.example,@relay2.example:User@Host.Example>", "user@host.example",
                                      "host.example") },
    { "SQL metacharacters are kept, the local part quoted as it must be",
      OK("o'brien;--@example.com", "\"o'brien;--\"@example.com", "example.com") },
    { "SQL injection attempt kept verbatim, lower-cased, quoted",
      OK("<Robert');DROP/**/TABLE/**/inbox;--@Example.com>", "\"robert');drop/**/table/**/inbox;--\"@example.com",
         "example.com") },
    /* canonical: quotes and backslashes that are not needed are gone (as Postfix logs it) */
    { "quoted dot-atom local part unquoted", OK("<\"agent--demo\"@Sandbox.Demo.Test>", "agent--demo@sandbox.demo.test",
                                               "sandbox.demo.test") },
    { "backslash-escaped local part unescaped", OK("<agent\\-\\-demo@sandbox.demo.test>",
                                                  "agent--demo@sandbox.demo.test", "sandbox.demo.test") },
    { "quoted pieces joined", OK("<\"agent\".\"x\"@d.test>", "agent.x@d.test", "d.test") },
    { "quoted and escaped mixed", OK("<\"ag\"ent\\--demo@d.test>", "agent--demo@d.test", "d.test") },
    { "quotes kept where needed: a dot at the end", OK("<\"a.\"@d.test>", "\"a.\"@d.test", "d.test") },
    { "quotes kept where needed: two dots", OK("<a..b@d.test>", "\"a..b\"@d.test", "d.test") },
    { "a quote inside a quoted string stays escaped", OK("<\"a\\\"b\"@d.test>", "\"a\\\"b\"@d.test", "d.test") },
    { "an escaped space is quoted", OK("<a\\ b@d.test>", "\"a b\"@d.test", "d.test") },
    { "IPv6 address literal", OK("<u@[IPv6:2001:db8::1]>", "u@[ipv6:2001:db8::1]", "[ipv6:2001:db8::1]") },
    { "quoted local part with a space", OK("<\"John Doe\"@Example.COM>", "\"john doe\"@example.com",
                                           "example.com") },
    { "quoted local part with '@' and '<'", OK("\"a@b<c\"@example.com", "\"a@b<c\"@example.com", "example.com") },
    { "plus and percent in local part", OK("<User+Tag%x@example.com>", "user+tag%x@example.com", "example.com") },
    { "sandbox address", OK("<Agent--Ab12Cd@Sandbox.Postinbox.Test>", "agent--ab12cd@sandbox.postinbox.test",
                            "sandbox.postinbox.test") },
    { "address literal", OK("<postmaster@[192.0.2.1]>", "postmaster@[192.0.2.1]", "[192.0.2.1]") },
    { "UTF-8 local part (SMTPUTF8) kept", OK("<j\xc3\xb6rg@example.com>", "j\xc3\xb6rg@example.com", "example.com") },
    /* SMTPUTF8: a domain in U-labels is its A-labels (IDNA2008, UTS #46 mapping) */
    { "U-label domain as A-labels", OK("<info@b\xc3\xbc" "cher.test>", "info@xn--bcher-kva.test", "xn--bcher-kva.test") },
    { "upper-case U-labels mapped", OK("<Info@B\xc3\x9c" "CHER.Test>", "info@xn--bcher-kva.test", "xn--bcher-kva.test") },
    { "A-labels as they are", OK("<info@XN--bcher-kva.test>", "info@xn--bcher-kva.test", "xn--bcher-kva.test") },
    { "non-ASCII domain", OK("<foo@ex\xc3\xa4mple.com>", "foo@xn--exmple-cua.com", "xn--exmple-cua.com") },
    { "UTF-8 local part, U-label domain", OK("<j\xc3\xb6rg@m\xc3\xbcller.test>", "j\xc3\xb6rg@xn--mller-kva.test",
                                            "xn--mller-kva.test") },
    { "local part of 64", SIZED(64, 20, ADDRESS_OK) },
    { "254 characters in all", SIZED(64, 189, ADDRESS_OK) },

    /* null sender */
    { "<> is the null sender", "<>", 0, 0, ADDRESS_NULL_SENDER, "", NULL },
    { "empty string is the null sender", "", 0, 0, ADDRESS_NULL_SENDER, "", NULL },

    /* malformed */
    { "missing @", BAD("<foo.example.com>") },
    { "empty local part", BAD("<@example.com>") },
    { "empty local part, no brackets", BAD("@example.com") },
    { "empty domain", BAD("<foo@>") },
    { "only @", BAD("<@>") },
    { "source route without mailbox", BAD("<@a,@b>") },
    { "unclosed bracket", BAD("<foo@example.com") },
    { "bracket inside", BAD("foo@example.com>") },
    { "two addresses", BAD("<a@example.com> <b@example.com>") },
    { "space in local part", BAD("<foo bar@example.com>") },
    { "space in domain", BAD("<foo@exa mple.com>") },
    { "TAB inside", BAD("<foo\t@example.com>") },
    { "control character", BAD("<foo\x01@example.com>") },
    { "DEL", BAD("<foo\x7f@example.com>") },
    { "CRLF smuggling a second command", BAD("<a@example.com>\r\nRCPT TO:<b@example.com>") },
    { "LF inside", BAD("<foo\n@example.com>") },
    { "unterminated quote", BAD("<\"foo@example.com>") },
    { "domain with ..", BAD("<foo@example..com>") },
    { "domain with leading dot", BAD("<foo@.example.com>") },
    { "domain with trailing dot", BAD("<foo@example.com.>") },
    { "invalid UTF-8 in the local part", BAD("<j\xf6rg@example.com>") },
    { "invalid UTF-8 in the domain", BAD("<a@b\xfc" "cher.test>") },
    { "a domain IDNA2008 refuses (a symbol)", BAD("<a@\xe2\x98\x83.test>") },
    { "a U-label longer than 63 octets as an A-label", BAD("<a@\xc3\xbc" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test>") },
    { "underscore in domain", BAD("<foo@exa_mple.com>") },
    { "quote in domain", BAD("<foo@\"example\".com>") },
    { "two '@' outside quotes", BAD("a@b@c.d") },
    { "two '@' after a quoted string", BAD("\".@@e\"@a@b.c") },
    { "only a quoted string", BAD("\".@@e\"") },
    { "empty quoted local part", BAD("<\"\"@d.test>") },
    { "':' in the domain", BAD("<bob@example.o2:g>") },
    { "'[' inside the domain", BAD("<bob@exa[mple.com>") },
    { "literal not closing the domain", BAD("<bob@[1.2.3.4]x>") },
    { "label starting with a hyphen", BAD("<bob@-example.com>") },
    { "label ending with a hyphen", BAD("<bob@example-.com>") },
    { "label of 64", BAD("<bob@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com>") },
    { "TAB in a quoted local part", BAD("<\"a\tb\"@d.test>") },
    { "trailing backslash", BAD("<ab\\@d.test>") },
    { "a group delivering elsewhere (issue 10)", BAD("Mallory:ceo@bank.example;@evil.example") },
    { "an address literal followed by an open comment", BAD("a@[](") },
    { "a display name is not an envelope address", BAD("x <yz.@w>") },
    { "local part of 65", SIZED(65, 20, ADDRESS_MALFORMED) },
    { "255 characters in all", SIZED(64, 190, ADDRESS_MALFORMED) },
    { "300 characters", SIZED(40, 259, ADDRESS_MALFORMED) },
};

static void
test_address(void **state)
{
    const address_row_t *row = *state;
    char built[400], out[ADDRESS_MAX + 1 + 16];
    const char *in = row->in;
    if (in == NULL) {
        /* local_len 'l's, '@', then a domain of domain_len ending in ".com" */
        size_t o = 0;
        for (size_t i = 0; i < row->local_len; i++)
            built[o++] = 'L';
        built[o++] = '@';
        for (size_t i = 0; i < row->domain_len - 4; i++)
            built[o++] = i % 60 == 59 ? '.' : 'D';
        memcpy(built + o, ".com", 5);
        in = built;
    }
    memset(out, 'Z', sizeof(out));
    address_status_t st = address_normalize(in, out, ADDRESS_MAX + 1);
    if (st != row->status)
        fail_msg("\"%s\": status %d, want %d (out \"%s\")", in, st, row->status, out);
    assert_int_equal(out[ADDRESS_MAX + 1], 'Z'); /* nothing past outlen */
    if (st != ADDRESS_OK) {
        assert_string_equal(out, "");
        return;
    }
    if (row->want) {
        assert_string_equal(out, row->want);
        assert_string_equal(address_domain(out), row->domain);
    } else {
        /* sized rows: lower-cased copy of the input */
        assert_int_equal(strlen(out), strlen(in));
        assert_int_equal(out[0], 'l');
        assert_int_equal(out[row->local_len], '@');
    }
    assert_true(strlen(out) <= ADDRESS_MAX);
    /* Idempotent: a normalised address normalises to itself. */
    char again[ADDRESS_MAX + 1];
    assert_int_equal(address_normalize(out, again, sizeof(again)), ADDRESS_OK);
    assert_string_equal(again, out);
}

/* ---- ADDRESS_STRICT | ADDRESS_KEEP_CASE: what lib/mail/compose sends ---- */

typedef struct {
    const char *name;
    const char *in;
    const char *want; /* NULL: ADDRESS_MALFORMED */
} strict_row_t;

static const strict_row_t strict_rows[] = {
    { "strict: dot-atom, case kept", "Bob.Smith@Example.COM", "Bob.Smith@Example.COM" },
    { "strict: needless quotes dropped", "\"a.b\"@x.test", "a.b@x.test" },
    { "strict: needed quotes kept", "\"a..b\"@x.test", "\"a..b\"@x.test" },
    { "strict: a quoted ':' stays quoted (one mailbox)", "\"Mallory:ceo\"@bank.example",
      "\"Mallory:ceo\"@bank.example" },
    { "strict: a quoted-pair unescaped where not needed", "\"a\\b\"@x.test", "ab@x.test" },
    { "strict: an escaped quote stays escaped", "\"a\\\"b\"@x.test", "\"a\\\"b\"@x.test" },
    { "strict: IPv4 literal", "a@[192.0.2.1]", "a@[192.0.2.1]" },
    { "strict: IPv6 literal", "a@[IPv6:2001:db8::1]", "a@[IPv6:2001:db8::1]" },
    { "strict: general literal", "a@[x-tag:some.text]", "a@[x-tag:some.text]" },
    { "strict: A-labels", "a@xn--bcher-kva.example", "a@xn--bcher-kva.example" },
    { "strict: plus and hyphens", "a+tag--x@sub-domain.example", "a+tag--x@sub-domain.example" },
    { "strict: a group that delivers elsewhere", "Mallory:ceo@bank.example;@evil.example", NULL },
    { "strict: ':' in the domain", "bob@example.o2:g", NULL },
    { "strict: unquoted ':'", "Mallory:ceo@bank.example", NULL },
    { "strict: unquoted ','", "a,b@x.test", NULL },
    { "strict: unquoted ';'", "a;b@x.test", NULL },
    { "strict: a comment", "a(b)c@x.test", NULL },
    { "strict: trailing dot unquoted", "yz.@w.test", NULL },
    { "strict: two dots unquoted", "a..b@x.test", NULL },
    { "strict: backslash outside quotes", "a\\-b@x.test", NULL },
    { "strict: quoted pieces", "\"a\".\"b\"@x.test", NULL },
    { "strict: quoted then unquoted", "\"a\"b@x.test", NULL },
    { "strict: angle brackets", "<a@x.test>", NULL },
    { "strict: leading space", " a@x.test", NULL },
    { "strict: leading TAB", "\ta@x.test", NULL },
    { "strict: trailing TAB", "a@x.test\t", NULL },
    { "strict: source route", "@r.test:a@x.test", NULL },
    { "strict: empty is not the null sender", "", NULL },
    { "strict: <> is not the null sender", "<>", NULL },
    { "strict: empty literal", "a@[]", NULL },
    { "strict: literal followed by an open comment", "a@[](", NULL },
    { "strict: short IPv4 literal", "a@[1.2.3]", NULL },
    { "strict: IPv4 out of range", "a@[999.1.1.1]", NULL },
    { "strict: bad IPv6 literal", "a@[IPv6:zz::1]", NULL },
    { "strict: a literal with a space", "a@[1.2.3.4 ]", NULL },
    { "strict: UTF-8 local part (no SMTPUTF8)", "j\xc3\xb6rg@x.test", NULL },
    { "strict: U-label domain", "a@b\xc3\xbc" "cher.example", NULL },
    { "strict: two '@'", "a@b@c.d", NULL },
    { "strict: control in quotes", "\"a\x01" "b\"@x.test", NULL },
    { "strict: DEL in quotes", "\"a\x7f\"@x.test", NULL },
    { "strict: empty quoted string", "\"\"@x.test", NULL },
    { "strict: open comment after the domain", "a@b.c(", NULL },
};

static void
test_strict(void **state)
{
    const strict_row_t *row = *state;
    char out[ADDRESS_MAX + 1], again[ADDRESS_MAX + 1];
    address_status_t st = address_canonical(row->in, ADDRESS_STRICT | ADDRESS_KEEP_CASE, out, sizeof(out));
    if (row->want == NULL) {
        if (st != ADDRESS_MALFORMED)
            fail_msg("\"%s\": accepted as \"%s\"", row->in, out);
        assert_string_equal(out, "");
        return;
    }
    if (st != ADDRESS_OK)
        fail_msg("\"%s\": refused (%d)", row->in, st);
    assert_string_equal(out, row->want);
    /* canonical is a fixed point, and lower-cased it is what every door looks up */
    assert_int_equal(address_canonical(out, ADDRESS_STRICT | ADDRESS_KEEP_CASE, again, sizeof(again)), ADDRESS_OK);
    assert_string_equal(again, out);
    char lower[ADDRESS_MAX + 1], normalized[ADDRESS_MAX + 1];
    assert_int_equal(address_canonical(row->in, ADDRESS_STRICT, lower, sizeof(lower)), ADDRESS_OK);
    assert_int_equal(address_normalize(row->in, normalized, sizeof(normalized)), ADDRESS_OK);
    assert_string_equal(lower, normalized);
}

/* A too-small output buffer or a NULL input is refused, not overrun. */
static void
test_address_bad_arguments(void **state)
{
    char small[ADDRESS_MAX], out[ADDRESS_MAX + 1];
    assert_int_equal(address_normalize("a@b.c", small, sizeof(small)), ADDRESS_MALFORMED);
    assert_int_equal(address_normalize(NULL, out, sizeof(out)), ADDRESS_MALFORMED);
}

static void
test_address_domain(void **state)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        { "foo@example.com", "example.com" },
        { "\"a@b\"@example.com", "example.com" },
        { "foo@", "" },
        { "no-at-sign", "" },
        { "", "" },
    };
    for (size_t i = 0; i < UNIT_ROWS(rows); i++)
        assert_string_equal(address_domain(rows[i].in), rows[i].want);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_address, address_rows, sizeof(address_rows[0]), UNIT_ROWS(address_rows));
    unit_add_rows(&suite, test_strict, strict_rows, sizeof(strict_rows[0]), UNIT_ROWS(strict_rows));
    unit_add(&suite, "small buffer or NULL input refused", test_address_bad_arguments, NULL);
    unit_add(&suite, "address_domain", test_address_domain, NULL);
    return unit_run("address", &suite, NULL, NULL);
}
