/*
 * test_cidr.c -- trusted_networks lists: parsing, membership by text and
 * by socket address (as libmilter's xxfi_connect hands it), bad entries.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "cidr.h"

/* ---- membership by text ------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *list;
    size_t count;           /* entries the list parses to */
    const char *in[4];      /* addresses that match */
    const char *out[4];     /* addresses that do not */
} match_row_t;

static const match_row_t match_rows[] = {
    { "IPv4 /8", "10.0.0.0/8", 1, { "10.0.0.0", "10.1.2.3", "10.255.255.255" },
      { "11.0.0.0", "9.255.255.255", "::1", "not-an-address" } },
    { "IPv4 /32", "192.0.2.1/32", 1, { "192.0.2.1" }, { "192.0.2.0", "192.0.2.2", "::ffff:192.0.2.2" } },
    { "IPv4 without prefix is /32", "192.0.2.1", 1, { "192.0.2.1" }, { "192.0.2.2" } },
    { "IPv4 /0 is every IPv4 address", "0.0.0.0/0", 1, { "0.0.0.0", "203.0.113.9", "255.255.255.255" },
      { "::1", "2001:db8::1" } },
    { "IPv4 /23 (prefix not on a byte)", "192.168.0.0/23", 1, { "192.168.0.1", "192.168.1.255" },
      { "192.168.2.0", "192.167.255.255" } },
    { "IPv4 host bits ignored", "10.1.2.3/8", 1, { "10.9.9.9" }, { "11.1.2.3" } },
    { "IPv6 ::1/128", "::1/128", 1, { "::1", "0:0:0:0:0:0:0:1" }, { "::2", "::", "127.0.0.1" } },
    { "IPv6 without prefix is /128", "2001:db8::5", 1, { "2001:db8::5" }, { "2001:db8::6" } },
    { "IPv6 /32", "2001:DB8::/32", 1, { "2001:db8::1", "2001:db8:ffff:ffff::1" }, { "2001:db9::1", "2001:db7::" } },
    { "IPv6 /0 is everything, IPv4 included", "::/0", 1, { "::1", "2001:db8::1", "127.0.0.1" }, { "garbage" } },
    { "IPv4-mapped text matches an IPv4 entry", "127.0.0.0/8", 1, { "127.0.0.1", "::ffff:127.0.0.1" },
      { "::ffff:128.0.0.1", "::127.0.0.1" } },
    { "list with commas, spaces and tabs", "127.0.0.0/8, ::1/128\t192.0.2.0/24,,2001:db8::/48", 4,
      { "127.0.0.2", "::1", "192.0.2.200", "2001:db8:0:ffff::1" }, { "192.0.3.1", "2001:db8:1::1" } },
    { "\"none\" is the empty list", "none", 0, { NULL }, { "127.0.0.1", "::1" } },
    { "\"\" is the empty list", "", 0, { NULL }, { "127.0.0.1", "::1" } },
    { "only separators is the empty list", " , ,\t", 0, { NULL }, { "127.0.0.1" } },
};

static void
test_match(void **state)
{
    const match_row_t *row = *state;
    char err[160] = "";
    cidr_list_t *list = cidr_list_parse(row->list, err, sizeof(err));
    if (list == NULL)
        fail_msg("\"%s\" refused: %s", row->list, err);
    assert_int_equal(cidr_list_count(list), row->count);
    for (int i = 0; i < 4 && row->in[i]; i++)
        if (cidr_list_match_text(list, row->in[i]) != 1)
            fail_msg("%s should be in %s", row->in[i], row->list);
    for (int i = 0; i < 4 && row->out[i]; i++)
        if (cidr_list_match_text(list, row->out[i]) != 0)
            fail_msg("%s should not be in %s", row->out[i], row->list);
    cidr_list_free(list);
}

/* ---- bad entries ------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *list;
    const char *want[2];    /* the error names the entry */
} bad_row_t;

static const bad_row_t bad_rows[] = {
    { "bad: 300.1.1.1", "300.1.1.1", { "300.1.1.1" } },
    { "bad: 10.0.0.0/33", "10.0.0.0/33", { "10.0.0.0", "/33" } },
    { "bad: fe80::/129", "fe80::/129", { "fe80::", "/129" } },
    { "bad: abc", "abc", { "\"abc\"" } },
    { "bad: one bad entry among good ones", "127.0.0.0/8, abc, ::1", { "\"abc\"" } },
    { "bad: empty prefix", "10.0.0.0/", { "10.0.0.0", "\"/\"" } },
    { "bad: prefix with junk", "10.0.0.0/8x", { "/8x" } },
    { "bad: negative prefix", "10.0.0.0/-1", { "/-1" } },
    { "bad: hostname", "localhost", { "localhost" } },
    { "bad: short IPv4", "10.1/16", { "10.1" } },
    { "bad: \"none\" among entries", "none, 10.0.0.0/8", { "none" } },
    { "bad: IPv6 zone", "fe80::1%eth0", { "fe80::1%eth0" } },
    { "bad: a port in an address-only list", "127.0.0.1:25", { "127.0.0.1", "port is not allowed" } },
    { "bad: a bracketed port in an address-only list", "[::1]:25", { "::1", "port is not allowed" } },
};

/* ---- lists with ports (webhook_allow_networks) --------------------------------- */

typedef struct {
    const char *name;
    const char *list;       /* NULL want: refused, err naming bad */
    const char *bad;
} port_row_t;

static const port_row_t port_rows[] = {
    { "ports: IPv4 host", "127.0.0.1:8080", NULL },
    { "ports: IPv4 network", "10.0.0.0/8:443", NULL },
    { "ports: IPv6 host", "[::1]:9000", NULL },
    { "ports: IPv6 network, prefix outside", "[fd00::]/8:443", NULL },
    { "ports: IPv6 network, prefix inside", "[fd00::/8]:443", NULL },
    { "ports: bracketed IPv6 without port", "[::1]", NULL },
    { "ports: mixed", "127.0.0.0/8, [::1]:9000 10.0.0.0/8:443", NULL },
    { "ports: port 0", "127.0.0.1:0", "\":0\"" },
    { "ports: port 65536", "127.0.0.1:65536", "\":65536\"" },
    { "ports: empty port", "127.0.0.1:", "\":\"" },
    { "ports: junk port", "[::1]:9x", "\":9x\"" },
    { "ports: unclosed bracket", "[::1:9000", "no closing ]" },
    { "ports: IPv4 in brackets with a bad address", "[300.1.1.1]:80", "300.1.1.1" },
};

static void
test_ports(void **state)
{
    const port_row_t *row = *state;
    char err[160] = "";
    cidr_list_t *list = cidr_list_parse_ports(row->list, err, sizeof(err));
    if (row->bad == NULL && list == NULL)
        fail_msg("\"%s\" refused: %s", row->list, err);
    if (row->bad != NULL && list != NULL) {
        cidr_list_free(list);
        fail_msg("\"%s\" accepted", row->list);
    }
    if (row->bad != NULL && strstr(err, row->bad) == NULL)
        fail_msg("error \"%s\" lacks %s", err, row->bad);
    cidr_list_free(list);
}

/* An entry with a port matches only a socket address with that port, and
 * never an address given as text. */
static void
test_port_match(void **state)
{
    char err[160] = "";
    struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(8080) };
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(9000) };
    (void)state;
    inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
    inet_pton(AF_INET6, "::1", &in6.sin6_addr);
    cidr_list_t *list = cidr_list_parse_ports("127.0.0.1:8080 [::1]:9000", err, sizeof(err));
    assert_non_null(list);
    assert_int_equal(cidr_list_match_sockaddr(list, (struct sockaddr *)&in4), 1);
    assert_int_equal(cidr_list_match_sockaddr(list, (struct sockaddr *)&in6), 1);
    in4.sin_port = htons(8081);
    in6.sin6_port = htons(9001);
    assert_int_equal(cidr_list_match_sockaddr(list, (struct sockaddr *)&in4), 0);
    assert_int_equal(cidr_list_match_sockaddr(list, (struct sockaddr *)&in6), 0);
    assert_int_equal(cidr_list_match_text(list, "127.0.0.1"), 0);
    cidr_list_free(list);
}

static void
test_bad(void **state)
{
    const bad_row_t *row = *state;
    char err[160] = "";
    cidr_list_t *list = cidr_list_parse(row->list, err, sizeof(err));
    if (list != NULL) {
        cidr_list_free(list);
        fail_msg("\"%s\" accepted", row->list);
    }
    for (int i = 0; i < 2 && row->want[i]; i++)
        if (strstr(err, row->want[i]) == NULL)
            fail_msg("error \"%s\" lacks \"%s\"", err, row->want[i]);
}

/* ---- membership by socket address ------------------------------------------------ */

typedef struct {
    const char *name;
    const char *list;
    int family;             /* AF_INET, AF_INET6 or AF_UNIX */
    const char *addr;
    int want;
} sockaddr_row_t;

static const sockaddr_row_t sockaddr_rows[] = {
    { "sockaddr_in 127.0.0.1 in 127.0.0.0/8", "127.0.0.0/8", AF_INET, "127.0.0.1", 1 },
    { "sockaddr_in 128.0.0.1 not in 127.0.0.0/8", "127.0.0.0/8", AF_INET, "128.0.0.1", 0 },
    { "sockaddr_in6 ::ffff:127.0.0.1 in 127.0.0.0/8", "127.0.0.0/8", AF_INET6, "::ffff:127.0.0.1", 1 },
    { "sockaddr_in6 ::ffff:10.0.0.1 not in 127.0.0.0/8", "127.0.0.0/8", AF_INET6, "::ffff:10.0.0.1", 0 },
    { "sockaddr_in6 ::1 in ::1/128", "::1/128", AF_INET6, "::1", 1 },
    { "sockaddr_in6 ::1 not in 127.0.0.0/8", "127.0.0.0/8", AF_INET6, "::1", 0 },
    { "sockaddr_in 127.0.0.1 not in ::1/128", "::1/128", AF_INET, "127.0.0.1", 0 },
    { "sockaddr_in6 2001:db8::9 in 2001:db8::/32", "10.0.0.0/8 2001:db8::/32", AF_INET6, "2001:db8::9", 1 },
    { "sockaddr_un never matches", "0.0.0.0/0 ::/0", AF_UNIX, NULL, 0 },
    { "empty list matches nothing", "none", AF_INET, "127.0.0.1", 0 },
};

static void
test_sockaddr(void **state)
{
    const sockaddr_row_t *row = *state;
    char err[160] = "";
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
    } addr;
    memset(&addr, 0, sizeof(addr));
    if (row->family == AF_INET) {
        addr.in4.sin_family = AF_INET;
        addr.in4.sin_port = htons(25);
        assert_int_equal(inet_pton(AF_INET, row->addr, &addr.in4.sin_addr), 1);
    } else if (row->family == AF_INET6) {
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons(25);
        assert_int_equal(inet_pton(AF_INET6, row->addr, &addr.in6.sin6_addr), 1);
    } else {
        addr.un.sun_family = AF_UNIX;
        strcpy(addr.un.sun_path, "/run/postfix/smtpd");
    }
    cidr_list_t *list = cidr_list_parse(row->list, err, sizeof(err));
    if (list == NULL)
        fail_msg("\"%s\" refused: %s", row->list, err);
    assert_int_equal(cidr_list_match_sockaddr(list, &addr.sa), row->want);
    cidr_list_free(list);
}

/* NULL arguments are "no match", never a crash. */
static void
test_null_arguments(void **state)
{
    char err[160] = "";
    struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_addr = { htonl(INADDR_LOOPBACK) } };
    cidr_list_t *list = cidr_list_parse(NULL, err, sizeof(err));
    assert_non_null(list);
    assert_int_equal(cidr_list_count(list), 0);
    cidr_list_free(list);
    list = cidr_list_parse("127.0.0.0/8", err, sizeof(err));
    assert_non_null(list);
    assert_int_equal(cidr_list_match_sockaddr(list, NULL), 0);
    assert_int_equal(cidr_list_match_text(list, NULL), 0);
    assert_int_equal(cidr_list_match_sockaddr(NULL, (const struct sockaddr *)&in4), 0);
    assert_int_equal(cidr_list_match_text(NULL, "127.0.0.1"), 0);
    assert_int_equal(cidr_list_count(NULL), 0);
    cidr_list_free(list);
    cidr_list_free(NULL);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_match, match_rows, sizeof(match_rows[0]), UNIT_ROWS(match_rows));
    unit_add_rows(&suite, test_bad, bad_rows, sizeof(bad_rows[0]), UNIT_ROWS(bad_rows));
    unit_add_rows(&suite, test_sockaddr, sockaddr_rows, sizeof(sockaddr_rows[0]), UNIT_ROWS(sockaddr_rows));
    unit_add_rows(&suite, test_ports, port_rows, sizeof(port_rows[0]), UNIT_ROWS(port_rows));
    unit_add(&suite, "a port entry matches its port only", test_port_match, NULL);
    unit_add(&suite, "NULL arguments", test_null_arguments, NULL);
    return unit_run("cidr", &suite, NULL, NULL);
}
