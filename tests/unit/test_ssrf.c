/*
 * test_ssrf.c -- which webhook destinations are refused: every internal
 * range, its IPv6 embeddings, public addresses that must pass, and
 * webhook_allow_networks opening exactly what it lists.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "ssrf.h"

typedef struct {
    const char *name;
    const char *addr;       /* IPv4 or IPv6 text; NULL: an AF_UNIX address */
    const char *allow;      /* webhook_allow_networks */
    const char *want;       /* refusal class, NULL: allowed */
    int port;               /* the port connected to; 0: 443 */
} ssrf_row_t;

static const ssrf_row_t ssrf_rows[] = {
    /* IPv4 internal ranges */
    { "v4 loopback 127.0.0.1", "127.0.0.1", "none", "loopback", 0 },
    { "v4 loopback 127.255.255.254", "127.255.255.254", "none", "loopback", 0 },
    { "v4 private 10.0.0.1", "10.0.0.1", "none", "private", 0 },
    { "v4 private 10.255.255.255", "10.255.255.255", "none", "private", 0 },
    { "v4 private 172.16.0.1", "172.16.0.1", "none", "private", 0 },
    { "v4 private 172.31.255.255", "172.31.255.255", "none", "private", 0 },
    { "v4 public 172.15.255.255", "172.15.255.255", "none", NULL, 0 },
    { "v4 public 172.32.0.0", "172.32.0.0", "none", NULL, 0 },
    { "v4 private 192.168.1.1", "192.168.1.1", "none", "private", 0 },
    { "v4 link-local 169.254.169.254 (cloud metadata)", "169.254.169.254", "none", "link-local", 0 },
    { "v4 cgnat 100.64.0.1", "100.64.0.1", "none", "cgnat", 0 },
    { "v4 cgnat 100.127.255.255", "100.127.255.255", "none", "cgnat", 0 },
    { "v4 public 100.128.0.0", "100.128.0.0", "none", NULL, 0 },
    { "v4 public 100.63.255.255", "100.63.255.255", "none", NULL, 0 },
    { "v4 multicast 224.0.0.1", "224.0.0.1", "none", "multicast", 0 },
    { "v4 multicast 239.255.255.255", "239.255.255.255", "none", "multicast", 0 },
    { "v4 reserved 240.0.0.1", "240.0.0.1", "none", "reserved", 0 },
    { "v4 broadcast 255.255.255.255", "255.255.255.255", "none", "broadcast", 0 },
    { "v4 unspecified 0.0.0.0", "0.0.0.0", "none", "unspecified", 0 },
    { "v4 this-network 0.1.2.3", "0.1.2.3", "none", "reserved", 0 },
    { "v4 IETF 192.0.0.8", "192.0.0.8", "none", "reserved", 0 },
    { "v4 documentation 192.0.2.1", "192.0.2.1", "none", "documentation", 0 },
    { "v4 documentation 198.51.100.7", "198.51.100.7", "none", "documentation", 0 },
    { "v4 documentation 203.0.113.200", "203.0.113.200", "none", "documentation", 0 },
    { "v4 benchmarking 198.18.0.1", "198.18.0.1", "none", "reserved", 0 },
    { "v4 benchmarking 198.19.255.255", "198.19.255.255", "none", "reserved", 0 },
    { "v4 public 198.20.0.0", "198.20.0.0", "none", NULL, 0 },
    { "v4 6to4 relay 192.88.99.1", "192.88.99.1", "none", "reserved", 0 },
    { "v4 public 8.8.8.8", "8.8.8.8", "none", NULL, 0 },
    { "v4 public 1.1.1.1", "1.1.1.1", "none", NULL, 0 },
    { "v4 public 192.0.3.1", "192.0.3.1", "none", NULL, 0 },
    { "v4 public 223.255.255.255", "223.255.255.255", "none", NULL, 0 },
    /* IPv6 internal ranges */
    { "v6 loopback ::1", "::1", "none", "loopback", 0 },
    { "v6 unspecified ::", "::", "none", "unspecified", 0 },
    { "v6 link-local fe80::1", "fe80::1", "none", "link-local", 0 },
    { "v6 link-local febf::1", "febf::1", "none", "link-local", 0 },
    { "v6 site-local fec0::1", "fec0::1", "none", "private", 0 },
    { "v6 ULA fc00::1", "fc00::1", "none", "private", 0 },
    { "v6 ULA fd12:3456::1", "fd12:3456::1", "none", "private", 0 },
    { "v6 multicast ff02::1", "ff02::1", "none", "multicast", 0 },
    { "v6 multicast ff0e::1", "ff0e::1", "none", "multicast", 0 },
    { "v6 documentation 2001:db8::1", "2001:db8::1", "none", "documentation", 0 },
    { "v6 documentation 3fff::1", "3fff::1", "none", "documentation", 0 },
    { "v6 discard 100::1", "100::1", "none", "reserved", 0 },
    { "v6 Teredo 2001::1", "2001::1", "none", "reserved", 0 },
    { "v6 benchmarking 2001:2::1", "2001:2::1", "none", "reserved", 0 },
    { "v6 ORCHIDv2 2001:20::1", "2001:20::1", "none", "reserved", 0 },
    { "v6 unallocated 4000::1", "4000::1", "none", "reserved", 0 },
    { "v6 local-use NAT64 64:ff9b:1::1", "64:ff9b:1::1", "none", "reserved", 0 },
    { "v6 public 2606:4700::1111", "2606:4700::1111", "none", NULL, 0 },
    { "v6 public 2a00:1450:4001::1", "2a00:1450:4001::1", "none", NULL, 0 },
    { "v6 public 2001:4860::8888", "2001:4860::8888", "none", NULL, 0 },
    /* IPv4 hidden in IPv6 */
    { "mapped ::ffff:127.0.0.1", "::ffff:127.0.0.1", "none", "loopback", 0 },
    { "mapped ::ffff:10.1.2.3", "::ffff:10.1.2.3", "none", "private", 0 },
    { "mapped ::ffff:169.254.169.254", "::ffff:169.254.169.254", "none", "link-local", 0 },
    { "mapped ::ffff:100.64.0.1", "::ffff:100.64.0.1", "none", "cgnat", 0 },
    { "mapped ::ffff:0.0.0.0", "::ffff:0.0.0.0", "none", "unspecified", 0 },
    { "mapped ::ffff:255.255.255.255", "::ffff:255.255.255.255", "none", "broadcast", 0 },
    { "mapped ::ffff:203.0.113.1", "::ffff:203.0.113.1", "none", "documentation", 0 },
    { "mapped public ::ffff:8.8.8.8", "::ffff:8.8.8.8", "none", NULL, 0 },
    { "compatible ::127.0.0.1", "::127.0.0.1", "none", "loopback", 0 },
    { "compatible ::192.168.0.1", "::192.168.0.1", "none", "private", 0 },
    { "compatible public ::8.8.8.8 (deprecated form)", "::8.8.8.8", "none", "reserved", 0 },
    { "NAT64 64:ff9b::127.0.0.1", "64:ff9b::127.0.0.1", "none", "loopback", 0 },
    { "NAT64 64:ff9b::a9fe:a9fe (169.254.169.254)", "64:ff9b::a9fe:a9fe", "none", "link-local", 0 },
    { "NAT64 64:ff9b::172.16.0.1", "64:ff9b::172.16.0.1", "none", "private", 0 },
    { "NAT64 64:ff9b::224.0.0.1", "64:ff9b::224.0.0.1", "none", "multicast", 0 },
    { "NAT64 public 64:ff9b::8.8.8.8", "64:ff9b::8.8.8.8", "none", NULL, 0 },
    { "6to4 2002:7f00:1:: (127.0.0.1)", "2002:7f00:1::", "none", "loopback", 0 },
    { "6to4 2002:c0a8:101::1 (192.168.1.1)", "2002:c0a8:101::1", "none", "private", 0 },
    { "6to4 public 2002:808:808::1", "2002:808:808::1", "none", NULL, 0 },
    { "other ::/8 ::1:0:0:1", "::1:0:0:1", "none", "reserved", 0 },
    /* webhook_allow_networks */
    { "allow 127.0.0.0/8 lets 127.0.0.1 through", "127.0.0.1", "127.0.0.0/8", NULL, 0 },
    { "allow 127.0.0.0/8 lets mapped ::ffff:127.0.0.1 through", "::ffff:127.0.0.1", "127.0.0.0/8", NULL, 0 },
    /* an IPv4 entry is not an IPv6 one: only the mapped form is the IPv4 address */
    { "allow 127.0.0.0/8 keeps compatible ::127.0.0.1 refused", "::127.0.0.1", "127.0.0.0/8", "loopback", 0 },
    { "allow 127.0.0.0/8 keeps NAT64 64:ff9b::7f00:1 refused", "64:ff9b::7f00:1", "127.0.0.0/8", "loopback", 0 },
    { "allow 127.0.0.0/8 keeps 6to4 2002:7f00:1:: refused", "2002:7f00:1::", "127.0.0.0/8", "loopback", 0 },
    { "allow 10.0.0.0/8 keeps NAT64 64:ff9b::a00:1 refused", "64:ff9b::a00:1", "10.0.0.0/8", "private", 0 },
    { "allow 10.0.0.0/8 keeps 6to4 2002:a00:1::5 refused", "2002:a00:1::5", "10.0.0.0/8", "private", 0 },
    { "allow 10.0.0.0/8 keeps compatible ::10.0.0.1 refused", "::10.0.0.1", "10.0.0.0/8", "private", 0 },
    { "allow 0.0.0.0/0 keeps NAT64 64:ff9b::7f00:1 refused", "64:ff9b::7f00:1", "0.0.0.0/0", "loopback", 0 },
    { "allow ::127.0.0.1/128 lets compatible ::127.0.0.1 through", "::127.0.0.1", "::127.0.0.1/128", NULL, 0 },
    { "allow 64:ff9b::/96 lets NAT64 64:ff9b::7f00:1 through", "64:ff9b::7f00:1", "64:ff9b::/96", NULL, 0 },
    { "allow 2002:7f00::/24 lets 6to4 2002:7f00:1:: through", "2002:7f00:1::", "2002:7f00::/24", NULL, 0 },
    { "allow 64:ff9b::/96 keeps 127.0.0.1 refused", "127.0.0.1", "64:ff9b::/96", "loopback", 0 },
    { "allow ::ffff:127.0.0.0/104 lets 127.0.0.1 through", "127.0.0.1", "::ffff:127.0.0.0/104", NULL, 0 },
    /* entries with a port admit that port only */
    { "allow 127.0.0.1:8080 lets 127.0.0.1 port 8080 through", "127.0.0.1", "127.0.0.1:8080", NULL, 8080 },
    { "allow 127.0.0.1:8080 keeps 127.0.0.1 port 8081 refused", "127.0.0.1", "127.0.0.1:8080", "loopback", 8081 },
    { "allow 127.0.0.1:8080 keeps 127.0.0.1 port 443 refused", "127.0.0.1", "127.0.0.1:8080", "loopback", 0 },
    { "allow 127.0.0.1:8080 lets mapped ::ffff:127.0.0.1 port 8080 through", "::ffff:127.0.0.1",
      "127.0.0.1:8080", NULL, 8080 },
    { "allow 127.0.0.1:8080 keeps NAT64 port 8080 refused", "64:ff9b::7f00:1", "127.0.0.1:8080", "loopback",
      8080 },
    { "allow [::1]:9000 lets ::1 port 9000 through", "::1", "[::1]:9000", NULL, 9000 },
    { "allow [::1]:9000 keeps ::1 port 9001 refused", "::1", "[::1]:9000", "loopback", 9001 },
    { "allow 10.0.0.0/8:443 lets 10.9.9.9 port 443 through", "10.9.9.9", "10.0.0.0/8:443", NULL, 443 },
    { "allow 10.0.0.0/8:443 keeps 10.9.9.9 port 80 refused", "10.9.9.9", "10.0.0.0/8:443", "private", 80 },
    { "allow [fd00::]/8:8443 lets fd00::5 port 8443 through", "fd00::5", "[fd00::]/8:8443", NULL, 8443 },
    { "allow [fd00::/8]:8443 keeps fd00::5 port 443 refused", "fd00::5", "[fd00::/8]:8443", "private", 0 },
    { "allow a port entry and a bare one", "10.1.1.1", "10.0.0.0/8:443, 10.1.1.0/24", NULL, 25 },
    { "allow 127.0.0.0/8 keeps ::1 refused", "::1", "127.0.0.0/8", "loopback", 0 },
    { "allow 127.0.0.0/8 keeps 10.0.0.1 refused", "10.0.0.1", "127.0.0.0/8", "private", 0 },
    { "allow 127.0.0.1/32 keeps 127.0.0.2 refused", "127.0.0.2", "127.0.0.1/32", "loopback", 0 },
    { "allow ::1 lets ::1 through", "::1", "::1/128", NULL, 0 },
    { "allow 10.0.5.0/24 lets 10.0.5.9 through", "10.0.5.9", "10.0.5.0/24, ::1", NULL, 0 },
    { "allow 10.0.5.0/24 keeps 10.0.6.9 refused", "10.0.6.9", "10.0.5.0/24", "private", 0 },
    { "allow fd00::/8 lets fd00::5 through", "fd00::5", "fd00::/8", NULL, 0 },
    { "allow 0.0.0.0/0 lets every IPv4 address through", "169.254.169.254", "0.0.0.0/0", NULL, 0 },
    /* not IP at all */
    { "AF_UNIX is refused", NULL, "none", "not-ip", 0 },
    { "AF_UNIX is refused even with ::/0 allowed", NULL, "::/0 0.0.0.0/0", "not-ip", 0 },
};

static void
test_ssrf(void **state)
{
    const ssrf_row_t *row = *state;
    char err[160] = "", text[SSRF_ADDRESS_LEN];
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
    } addr;
    socklen_t len;
    memset(&addr, 0, sizeof(addr));
    if (row->addr == NULL) {
        addr.un.sun_family = AF_UNIX;
        strcpy(addr.un.sun_path, "/run/webhook.sock");
        len = sizeof(addr.un);
    } else if (strchr(row->addr, ':') == NULL) {
        addr.in4.sin_family = AF_INET;
        addr.in4.sin_port = htons(row->port ? (uint16_t)row->port : 443);
        assert_int_equal(inet_pton(AF_INET, row->addr, &addr.in4.sin_addr), 1);
        len = sizeof(addr.in4);
    } else {
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons(row->port ? (uint16_t)row->port : 443);
        assert_int_equal(inet_pton(AF_INET6, row->addr, &addr.in6.sin6_addr), 1);
        len = sizeof(addr.in6);
    }
    cidr_list_t *allow = cidr_list_parse_ports(row->allow, err, sizeof(err));
    if (allow == NULL)
        fail_msg("allow list \"%s\" refused: %s", row->allow, err);
    const char *got = ssrf_refusal(&addr.sa, len, allow);
    cidr_list_free(allow);
    if (row->want == NULL && got != NULL)
        fail_msg("%s refused as %s, should be allowed", row->addr, got);
    if (row->want != NULL && (got == NULL || strcmp(got, row->want) != 0))
        fail_msg("%s: got %s, want %s", row->addr ? row->addr : "AF_UNIX", got ? got : "allowed", row->want);
    if (row->addr) {
        /* The text the refusal error shows is the address itself. */
        ssrf_format_address(&addr.sa, len, text, sizeof(text));
        unsigned char a[16], b[16];
        int family = strchr(row->addr, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(family, text, a), 1);
        assert_int_equal(inet_pton(family, row->addr, b), 1);
        assert_memory_equal(a, b, family == AF_INET ? 4 : 16);
    }
}

/* ---- literal hosts of a URL, refused when an endpoint is added ---- */

typedef struct {
    const char *name;
    const char *host;       /* as in the URL */
    int port;
    const char *allow;
    const char *want;       /* class, NULL: not refused */
    const char *text;       /* the address named in the refusal */
} literal_row_t;

static const literal_row_t literal_rows[] = {
    { "literal 127.0.0.1", "127.0.0.1", 443, "none", "loopback", "127.0.0.1" },
    { "literal decimal 2130706433", "2130706433", 443, "none", "loopback", "127.0.0.1" },
    { "literal hex 0x7f.1", "0x7f.1", 443, "none", "loopback", "127.0.0.1" },
    { "literal short 127.1", "127.1", 443, "none", "loopback", "127.0.0.1" },
    { "literal octal 0177.0.0.1", "0177.0.0.1", 443, "none", "loopback", "127.0.0.1" },
    { "literal hex 0x7f000001", "0x7f000001", 443, "none", "loopback", "127.0.0.1" },
    { "literal trailing dot 127.0.0.1.", "127.0.0.1.", 443, "none", "loopback", "127.0.0.1" },
    { "literal 10.1.2.3", "10.1.2.3", 443, "none", "private", "10.1.2.3" },
    { "literal 169.254.169.254", "169.254.169.254", 80, "none", "link-local", "169.254.169.254" },
    { "literal 0", "0", 443, "none", "unspecified", "0.0.0.0" },
    { "literal [::1]", "[::1]", 443, "none", "loopback", "::1" },
    { "literal [::ffff:127.0.0.1]", "[::ffff:127.0.0.1]", 443, "none", "loopback", "::ffff:127.0.0.1" },
    { "literal [::127.0.0.1]", "[::127.0.0.1]", 443, "none", "loopback", "::127.0.0.1" },
    { "literal [64:ff9b::7f00:1]", "[64:ff9b::7f00:1]", 443, "none", "loopback", "64:ff9b::7f00:1" },
    { "literal [2002:7f00:1::]", "[2002:7f00:1::]", 443, "none", "loopback", "2002:7f00:1::" },
    { "literal [fd00::1]", "[fd00::1]", 443, "none", "private", "fd00::1" },
    { "literal [fe80::1]", "[fe80::1]", 443, "none", "link-local", "fe80::1" },
    { "literal allowed 127.0.0.1 by 127.0.0.0/8", "127.0.0.1", 443, "127.0.0.0/8", NULL, "127.0.0.1" },
    { "literal allowed 127.1 by 127.0.0.0/8", "127.1", 8080, "127.0.0.0/8", NULL, "127.0.0.1" },
    { "literal [::127.0.0.1] not allowed by 127.0.0.0/8", "[::127.0.0.1]", 443, "127.0.0.0/8", "loopback",
      "::127.0.0.1" },
    { "literal [64:ff9b::7f00:1] not allowed by 127.0.0.0/8", "[64:ff9b::7f00:1]", 443, "127.0.0.0/8",
      "loopback", "64:ff9b::7f00:1" },
    { "literal [2002:7f00:1::] not allowed by 127.0.0.0/8", "[2002:7f00:1::]", 443, "127.0.0.0/8", "loopback",
      "2002:7f00:1::" },
    { "literal 127.0.0.1:8080 allowed on 8080", "127.0.0.1", 8080, "127.0.0.1:8080", NULL, "127.0.0.1" },
    { "literal 127.0.0.1:8080 refused on 9090", "127.0.0.1", 9090, "127.0.0.1:8080", "loopback", "127.0.0.1" },
    { "literal public 8.8.8.8", "8.8.8.8", 443, "none", NULL, "8.8.8.8" },
    { "literal public [2606:4700::1111]", "[2606:4700::1111]", 443, "none", NULL, "2606:4700::1111" },
    { "name localhost (checked at connect time)", "localhost", 443, "none", NULL, "" },
    { "name hooks.example.com", "hooks.example.com", 443, "none", NULL, "" },
    { "name 127.0.0.1.nip.io", "127.0.0.1.nip.io", 443, "none", NULL, "" },
    { "name 1.2.3.4.5", "1.2.3.4.5", 443, "none", NULL, "" },
};

static void
test_literal(void **state)
{
    const literal_row_t *row = *state;
    char err[160] = "", text[SSRF_ADDRESS_LEN];
    cidr_list_t *allow = cidr_list_parse_ports(row->allow, err, sizeof(err));
    if (allow == NULL)
        fail_msg("allow list \"%s\" refused: %s", row->allow, err);
    const char *got = ssrf_literal_host(row->host, strlen(row->host), row->port, allow, text);
    cidr_list_free(allow);
    if ((got == NULL) != (row->want == NULL) || (got && strcmp(got, row->want) != 0))
        fail_msg("%s: got %s, want %s", row->host, got ? got : "allowed", row->want ? row->want : "allowed");
    assert_string_equal(text, row->text);
}

/* Short or missing addresses never read past the end. */
static void
test_short_sockaddr(void **state)
{
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
    struct sockaddr_in in4 = { .sin_family = AF_INET };
    char text[SSRF_ADDRESS_LEN];
    (void)state;
    assert_string_equal(ssrf_classify(NULL, 0), "not-ip");
    assert_string_equal(ssrf_classify((struct sockaddr *)&in6, sizeof(in4)), "not-ip");
    assert_string_equal(ssrf_classify((struct sockaddr *)&in4, 2), "not-ip");
    assert_string_equal(ssrf_refusal((struct sockaddr *)&in4, 2, NULL), "not-ip");
    ssrf_format_address((struct sockaddr *)&in6, 4, text, sizeof(text));
    assert_string_equal(text, "?");
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_ssrf, ssrf_rows, sizeof(ssrf_rows[0]), UNIT_ROWS(ssrf_rows));
    unit_add_rows(&suite, test_literal, literal_rows, sizeof(literal_rows[0]), UNIT_ROWS(literal_rows));
    unit_add(&suite, "short sockaddr", test_short_sockaddr, NULL);
    return unit_run("ssrf", &suite, NULL, NULL);
}
