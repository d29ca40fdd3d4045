/*
 * test_header.c -- header values as stored (subject, from, ...): RFC 2047
 * decoded, unfolded, valid UTF-8, within the size limit; and the
 * addresses of From/To/Cc as a thread's participants (header_addresses).
 */
#include "unit.h"

#include <string.h>

#include "header.h"

#define BIG 4096

typedef enum {
    EXACT,          /* output equals want */
    SAFE_ONLY       /* only the invariants: valid UTF-8, no controls, within max */
} header_check_t;

typedef struct {
    const char *name;
    const char *raw;
    size_t max;
    header_check_t check;
    const char *want;
} header_row_t;

static const header_row_t header_rows[] = {
    /* RFC 2047 */
    { "Q-encoded UTF-8", "=?utf-8?q?caf=C3=A9?=", BIG, EXACT, "caf\xc3\xa9" },
    { "Q-encoded UTF-8, charset and encoding in capitals", "=?UTF-8?Q?caf=C3=A9?=", BIG, EXACT, "caf\xc3\xa9" },
    { "Q-encoding: underscore is a space", "=?utf-8?q?hello_world?=", BIG, EXACT, "hello world" },
    { "B-encoded ISO-8859-1 to UTF-8", "=?iso-8859-1?b?Y2Fm6Q==?=", BIG, EXACT, "caf\xc3\xa9" },
    { "Q-encoded ISO-8859-1 to UTF-8", "=?ISO-8859-1?Q?caf=E9?=", BIG, EXACT, "caf\xc3\xa9" },
    { "B-encoded UTF-8 with a 3-byte character", "=?utf-8?b?4pyTIGNoZWNr?=", BIG, EXACT, "\xe2\x9c\x93 check" },
    { "encoded word inside plain text", "Re: =?utf-8?q?caf=C3=A9?= ok", BIG, EXACT, "Re: caf\xc3\xa9 ok" },
    { "space between adjacent encoded words dropped", "=?utf-8?q?caf=C3=A9?= =?utf-8?q?_au_lait?=", BIG, EXACT,
      "caf\xc3\xa9 au lait" },
    { "ISO-2022-JP", "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=", BIG, EXACT, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
    { "broken encoded word kept literally", "=?utf-8?q?broken", BIG, EXACT, "=?utf-8?q?broken" },
    { "encoded word declaring UTF-8 but holding 0xFF", "=?utf-8?q?a=FFb?=", BIG, SAFE_ONLY, NULL },
    { "encoded word hiding a NUL", "=?utf-8?q?a=00b?=", BIG, SAFE_ONLY, NULL },
    { "encoded word hiding CR LF", "=?utf-8?q?a=0D=0Ab?=", BIG, SAFE_ONLY, NULL },
    { "unknown charset", "=?x-no-such-charset?q?abc?=", BIG, SAFE_ONLY, NULL },

    /* folding */
    { "folded with CRLF SP", "Hello\r\n World", BIG, EXACT, "Hello World" },
    { "folded with LF TAB", "Hello\n\tWorld", BIG, EXACT, "Hello\tWorld" },
    { "folded twice", "a\r\n b\r\n c", BIG, EXACT, "a b c" },
    { "folded between encoded words", "=?utf-8?q?caf=C3=A9?=\r\n =?utf-8?q?_au_lait?=", BIG, EXACT,
      "caf\xc3\xa9 au lait" },

    /* plain and raw bytes */
    { "plain ASCII", "Quarterly report", BIG, EXACT, "Quarterly report" },
    { "empty", "", BIG, EXACT, "" },
    { "raw UTF-8 kept", "caf\xc3\xa9 raw", BIG, EXACT, "caf\xc3\xa9 raw" },
    /* Raw 8-bit bytes that are not UTF-8: GMime reads such a word as
     * ISO-8859-1 (what legacy mailers send), so the stored text is valid
     * UTF-8 and readable; no byte passes through raw. */
    { "raw invalid UTF-8 read as Latin-1", "bad \xff\xfe raw", BIG, EXACT, "bad \xc3\xbf\xc3\xbe raw" },
    { "raw Latin-1 subject", "caf\xe9", BIG, EXACT, "caf\xc3\xa9" },
    { "raw invalid UTF-8 next to valid UTF-8", "caf\xc3\xa9 \xc3\x28", BIG, SAFE_ONLY, NULL },
    { "control characters become spaces", "a\x01" "b\x1b" "c", BIG, EXACT, "a b c" },
    { "TAB kept", "a\tb", BIG, EXACT, "a\tb" },

    /* size */
    { "max: ASCII cut", "Quarterly report", 9, EXACT, "Quarterly" },
    { "max: cut after a whole character", "=?UTF-8?Q?=E2=9C=93_check?=", 4, EXACT, "\xe2\x9c\x93 " },
    { "max: 3-byte character exactly", "=?UTF-8?Q?=E2=9C=93_check?=", 3, EXACT, "\xe2\x9c\x93" },
    { "max: character not split", "=?UTF-8?Q?=E2=9C=93_check?=", 2, EXACT, "" },
    { "max: 2-byte character not split", "=?utf-8?q?caf=C3=A9?=", 4, EXACT, "caf" },
    { "max: zero", "Quarterly report", 0, EXACT, "" },
};

static void
check_safe(const char *out, size_t max)
{
    size_t len = strlen(out);
    assert_true(len <= max);
    if (!unit_utf8_valid(out, len))
        fail_msg("output is not valid UTF-8");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            fail_msg("control 0x%02x at %zu", c, i);
    }
}

static void
test_header(void **state)
{
    const header_row_t *row = *state;
    char *out = header_decode(row->raw, row->max);
    assert_non_null(out);
    if (row->check == EXACT && strcmp(out, row->want) != 0) {
        char shown[512] = "";
        for (size_t i = 0, o = 0; out[i] && o + 5 < sizeof(shown); i++) {
            unsigned char c = (unsigned char)out[i];
            o += (size_t)snprintf(shown + o, sizeof(shown) - o, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
        }
        free(out);
        fail_msg("got \"%s\"", shown);
    }
    check_safe(out, row->max);
    free(out);
}

static void
test_null_is_empty(void **state)
{
    char *out = header_decode(NULL, 100);
    assert_non_null(out);
    assert_string_equal(out, "");
    free(out);
}

/* A 1 MB header (STYLE.md: bad input is a test case) is cut to the limit. */
static void
test_megabyte_header(void **state)
{
    static const char word[] = "=?utf-8?q?caf=C3=A9?= \xff\x01 ";
    size_t len = 1 << 20, wl = sizeof(word) - 1;
    char *raw = malloc(len + 1);
    assert_non_null(raw);
    for (size_t i = 0; i < len; i++)
        raw[i] = word[i % wl];
    raw[len] = '\0';
    char *out = header_decode(raw, 998);
    assert_non_null(out);
    check_safe(out, 998);
    assert_true(strlen(out) > 900);
    assert_memory_equal(out, "caf\xc3\xa9", 5);
    free(out);
    free(raw);
}

/* Random bytes, with encoded-word syntax mixed in: always safe output. */
static void
test_random_headers(void **state)
{
    static const char *const pieces[] = { "=?utf-8?q?", "=?iso-8859-1?b?", "?=", "=C3", "=A9", "\r\n ", "\xff",
                                          "\xc3", "\xa9", "\x01", "_", "abc", " ", "=?", "?q?", "Zm9v" };
    unsigned long seed = 7;
    char raw[256];
    for (int iter = 0; iter < 3000; iter++) {
        size_t o = 0;
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        int n = (int)((seed >> 33) % 24);
        for (int k = 0; k < n; k++) {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            const char *p = pieces[(seed >> 33) % UNIT_ROWS(pieces)];
            size_t pl = strlen(p);
            if (o + pl >= sizeof(raw))
                break;
            memcpy(raw + o, p, pl);
            o += pl;
        }
        raw[o] = '\0';
        size_t max = (size_t)((seed >> 40) % 64);
        char *out = header_decode(raw, max);
        assert_non_null(out);
        check_safe(out, max);
        free(out);
    }
}

/* header_addresses: one header value, the addresses it yields joined by ",". */
typedef struct {
    const char *name;
    const char *raw;
    size_t max;
    const char *want;
} address_row_t;

static const address_row_t address_rows[] = {
    { "addresses: one mailbox, lower-cased", "Alice <Alice@Example.TEST>", 10, "alice@example.test" },
    { "addresses: bare addr-spec", "bob@example.test", 10, "bob@example.test" },
    { "addresses: angle brackets only", "<bob@example.test>", 10, "bob@example.test" },
    { "addresses: a list", "a@x.test, B <b@x.test>,c@x.test", 10, "a@x.test,b@x.test,c@x.test" },
    { "addresses: quoted display name with a comma", "\"Doe, John\" <john@x.test>, jane@x.test", 10,
      "john@x.test,jane@x.test" },
    { "addresses: encoded display name", "=?utf-8?q?Caf=C3=A9_Owner?= <cafe@x.test>", 10, "cafe@x.test" },
    { "addresses: encoded display name hiding a comma and brackets", "=?utf-8?q?a=2C_b_=3Cevil=40x.test=3E?= <real@x.test>",
      10, "real@x.test" },
    { "addresses: comment ignored", "a@x.test (Alice, the boss)", 10, "a@x.test" },
    { "addresses: group flattened", "Team: a@x.test, B <b@x.test>;, c@x.test", 10, "a@x.test,b@x.test,c@x.test" },
    { "addresses: empty group", "undisclosed-recipients:;", 10, "" },
    { "addresses: duplicates once, any case", "a@x.test, A <A@X.TEST>, a@x.test", 10, "a@x.test" },
    { "addresses: folded list", "a@x.test,\r\n b@x.test,\r\n\tc@x.test", 10, "a@x.test,b@x.test,c@x.test" },
    { "addresses: IDN domain in ASCII form", "M <m@b\xc3\xbc" "cher.test>", 10, "m@xn--bcher-kva.test" },
    { "addresses: no domain skipped", "foo, bar@x.test", 10, "bar@x.test" },
    { "addresses: control character skipped", "a\x01b@x.test, c@x.test", 10, "c@x.test" },
    { "addresses: garbage", "<<<>>> ;;; @@@ ,,, \"unterminated", 10, "" },
    { "addresses: empty", "", 10, "" },
    { "addresses: stops at max", "a@x.test, b@x.test, c@x.test", 2, "a@x.test,b@x.test" },
};

/* list joined by "," into buf */
static void
join_addresses(char **list, size_t count, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count; i++)
        o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", i ? "," : "", list[i]);
}

static void
test_addresses(void **state)
{
    const address_row_t *row = *state;
    char *list[16], joined[1024];
    size_t count = 0;
    int added = header_addresses(row->raw, list, &count, row->max);
    join_addresses(list, count, joined, sizeof(joined));
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    assert_int_equal(added, (int)count);
    assert_string_equal(joined, row->want);
}

/* From, To and Cc into one list: an address already there is not added again. */
static void
test_addresses_across_headers(void **state)
{
    char *list[8], joined[256];
    size_t count = 0;
    assert_int_equal(header_addresses("Alice <alice@x.test>", list, &count, 8), 1);
    assert_int_equal(header_addresses("bob@x.test, ALICE@x.test", list, &count, 8), 1);
    assert_int_equal(header_addresses(NULL, list, &count, 8), 0);
    assert_int_equal(header_addresses("carol@x.test, alice@x.test", list, &count, 8), 1);
    join_addresses(list, count, joined, sizeof(joined));
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    assert_string_equal(joined, "alice@x.test,bob@x.test,carol@x.test");
}

/* Random bytes with address syntax mixed in: never more than max, every
 * entry a valid lower-case local@domain in valid UTF-8. */
static void
test_random_addresses(void **state)
{
    static const char *const pieces[] = { "a@x.test", "<", ">", ",", ";", ":", "\"", "(", ")", "@", "\xff", "\xc3\xa9",
                                          "=?utf-8?q?", "?=", " ", "\r\n ", "B@Y.TEST", "grp:", "\\", "." };
    unsigned long seed = 11;
    char raw[256];
    for (int iter = 0; iter < 3000; iter++) {
        char *list[8];
        size_t count = 0, o = 0;
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        int n = (int)((seed >> 33) % 30);
        for (int k = 0; k < n; k++) {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            const char *p = pieces[(seed >> 33) % UNIT_ROWS(pieces)];
            size_t pl = strlen(p);
            if (o + pl >= sizeof(raw))
                break;
            memcpy(raw + o, p, pl);
            o += pl;
        }
        raw[o] = '\0';
        int added = header_addresses(raw, list, &count, 4);
        assert_true(added >= 0 && (size_t)added == count && count <= 4);
        for (size_t i = 0; i < count; i++) {
            const char *at = strchr(list[i], '@');
            assert_non_null(at);
            assert_true(at > list[i] && at[1] != '\0');
            if (!unit_utf8_valid(list[i], strlen(list[i])))
                fail_msg("entry is not valid UTF-8");
            for (const char *p = list[i]; *p; p++)
                assert_false(*p >= 'A' && *p <= 'Z');
            free(list[i]);
        }
    }
}

static int
group_setup(void **state)
{
    header_init();
    return 0;
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_header, header_rows, sizeof(header_rows[0]), UNIT_ROWS(header_rows));
    unit_add(&suite, "NULL header is empty", test_null_is_empty, NULL);
    unit_add(&suite, "1 MB header cut to the limit", test_megabyte_header, NULL);
    unit_add(&suite, "random headers give safe text", test_random_headers, NULL);
    unit_add_rows(&suite, test_addresses, address_rows, sizeof(address_rows[0]), UNIT_ROWS(address_rows));
    unit_add(&suite, "addresses: one list across headers", test_addresses_across_headers, NULL);
    unit_add(&suite, "addresses: random input gives valid entries", test_random_addresses, NULL);
    return unit_run("header", &suite, group_setup, NULL);
}
