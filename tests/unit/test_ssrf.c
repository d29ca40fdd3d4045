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
} ssrf_row_t;

static const ssrf_row_t ssrf_rows[] = {
    /* IPv4 internal ranges */
    { "v4 loopback 127.0.0.1", "127.0.0.1", "none", "loopback" },
    { "v4 loopback 127.255.255.254", "127.255.255.254", "none", "loopback" },
    { "v4 private 10.0.0.1", "10.0.0.1", "none", "private" },
    { "v4 private 10.255.255.255", "10.255.255.255", "none", "private" },
    { "v4 private 172.16.0.1", "172.16.0.1", "none", "private" },
    { "v4 private 172.31.255.255", "172.31.255.255", "none", "private" },
    { "v4 public 172.15.255.255", "172.15.255.255", "none", NULL },
    { "v4 public 172.32.0.0", "172.32.0.0", "none", NULL },
    { "v4 private 192.168.1.1", "192.168.1.1", "none", "private" },
    { "v4 link-local 169.254.169.254 (cloud metadata)", "169.254.169.254", "none", "link-local" },
    { "v4 cgnat 100.64.0.1", "100.64.0.1", "none", "cgnat" },
    { "v4 cgnat 100.127.255.255", "100.127.255.255", "none", "cgnat" },
    { "v4 public 100.128.0.0", "100.128.0.0", "none", NULL },
    { "v4 public 100.63.255.255", "100.63.255.255", "none", NULL },
    { "v4 multicast 224.0.0.1", "224.0.0.1", "none", "multicast" },
    { "v4 multicast 239.255.255.255", "239.255.255.255", "none", "multicast" },
    { "v4 reserved 240.0.0.1", "240.0.0.1", "none", "reserved" },
    { "v4 broadcast 255.255.255.255", "255.255.255.255", "none", "broadcast" },
    { "v4 unspecified 0.0.0.0", "0.0.0.0", "none", "unspecified" },
    { "v4 this-network 0.1.2.3", "0.1.2.3", "none", "reserved" },
    { "v4 IETF 192.0.0.8", "192.0.0.8", "none", "reserved" },
    { "v4 documentation 192.0.2.1", "192.0.2.1", "none", "documentation" },
    { "v4 documentation 198.51.100.7", "198.51.100.7", "none", "documentation" },
    { "v4 documentation 203.0.113.200", "203.0.113.200", "none", "documentation" },
    { "v4 benchmarking 198.18.0.1", "198.18.0.1", "none", "reserved" },
    { "v4 benchmarking 198.19.255.255", "198.19.255.255", "none", "reserved" },
    { "v4 public 198.20.0.0", "198.20.0.0", "none", NULL },
    { "v4 6to4 relay 192.88.99.1", "192.88.99.1", "none", "reserved" },
    { "v4 public 8.8.8.8", "8.8.8.8", "none", NULL },
    { "v4 public 1.1.1.1", "1.1.1.1", "none", NULL },
    { "v4 public 192.0.3.1", "192.0.3.1", "none", NULL },
    { "v4 public 223.255.255.255", "223.255.255.255", "none", NULL },
    /* IPv6 internal ranges */
    { "v6 loopback ::1", "::1", "none", "loopback" },
    { "v6 unspecified ::", "::", "none", "unspecified" },
    { "v6 link-local fe80::1", "fe80::1", "none", "link-local" },
    { "v6 link-local febf::1", "febf::1", "none", "link-local" },
    { "v6 site-local fec0::1", "fec0::1", "none", "private" },
    { "v6 ULA fc00::1", "fc00::1", "none", "private" },
    { "v6 ULA fd12:3456::1", "fd12:3456::1", "none", "private" },
    { "v6 multicast ff02::1", "ff02::1", "none", "multicast" },
    { "v6 multicast ff0e::1", "ff0e::1", "none", "multicast" },
    { "v6 documentation 2001:db8::1", "2001:db8::1", "none", "documentation" },
    { "v6 documentation 3fff::1", "3fff::1", "none", "documentation" },
    { "v6 discard 100::1", "100::1", "none", "reserved" },
    { "v6 Teredo 2001::1", "2001::1", "none", "reserved" },
    { "v6 benchmarking 2001:2::1", "2001:2::1", "none", "reserved" },
    { "v6 ORCHIDv2 2001:20::1", "2001:20::1", "none", "reserved" },
    { "v6 unallocated 4000::1", "4000::1", "none", "reserved" },
    { "v6 local-use NAT64 64:ff9b:1::1", "64:ff9b:1::1", "none", "reserved" },
    { "v6 public 2606:4700::1111", "2606:4700::1111", "none", NULL },
    { "v6 public 2a00:1450:4001::1", "2a00:1450:4001::1", "none", NULL },
    { "v6 public 2001:4860::8888", "2001:4860::8888", "none", NULL },
    /* IPv4 hidden in IPv6 */
    { "mapped ::ffff:127.0.0.1", "::ffff:127.0.0.1", "none", "loopback" },
    { "mapped ::ffff:10.1.2.3", "::ffff:10.1.2.3", "none", "private" },
    { "mapped ::ffff:169.254.169.254", "::ffff:169.254.169.254", "none", "link-local" },
    { "mapped ::ffff:100.64.0.1", "::ffff:100.64.0.1", "none", "cgnat" },
    { "mapped ::ffff:0.0.0.0", "::ffff:0.0.0.0", "none", "unspecified" },
    { "mapped ::ffff:255.255.255.255", "::ffff:255.255.255.255", "none", "broadcast" },
    { "mapped ::ffff:203.0.113.1", "::ffff:203.0.113.1", "none", "documentation" },
    { "mapped public ::ffff:8.8.8.8", "::ffff:8.8.8.8", "none", NULL },
    { "compatible ::127.0.0.1", "::127.0.0.1", "none", "loopback" },
    { "compatible ::192.168.0.1", "::192.168.0.1", "none", "private" },
    { "compatible public ::8.8.8.8 (deprecated form)", "::8.8.8.8", "none", "reserved" },
    { "NAT64 64:ff9b::127.0.0.1", "64:ff9b::127.0.0.1", "none", "loopback" },
    { "NAT64 64:ff9b::a9fe:a9fe (169.254.169.254)", "64:ff9b::a9fe:a9fe", "none", "link-local" },
    { "NAT64 64:ff9b::172.16.0.1", "64:ff9b::172.16.0.1", "none", "private" },
    { "NAT64 64:ff9b::224.0.0.1", "64:ff9b::224.0.0.1", "none", "multicast" },
    { "NAT64 public 64:ff9b::8.8.8.8", "64:ff9b::8.8.8.8", "none", NULL },
    { "6to4 2002:7f00:1:: (127.0.0.1)", "2002:7f00:1::", "none", "loopback" },
    { "6to4 2002:c0a8:101::1 (192.168.1.1)", "2002:c0a8:101::1", "none", "private" },
    { "6to4 public 2002:808:808::1", "2002:808:808::1", "none", NULL },
    { "other ::/8 ::1:0:0:1", "::1:0:0:1", "none", "reserved" },
    /* webhook_allow_networks */
    { "allow 127.0.0.0/8 lets 127.0.0.1 through", "127.0.0.1", "127.0.0.0/8", NULL },
    { "allow 127.0.0.0/8 lets mapped ::ffff:127.0.0.1 through", "::ffff:127.0.0.1", "127.0.0.0/8", NULL },
    { "allow 127.0.0.0/8 lets NAT64 64:ff9b::127.0.0.1 through", "64:ff9b::127.0.0.1", "127.0.0.0/8", NULL },
    { "allow 127.0.0.0/8 keeps ::1 refused", "::1", "127.0.0.0/8", "loopback" },
    { "allow 127.0.0.0/8 keeps 10.0.0.1 refused", "10.0.0.1", "127.0.0.0/8", "private" },
    { "allow 127.0.0.1/32 keeps 127.0.0.2 refused", "127.0.0.2", "127.0.0.1/32", "loopback" },
    { "allow ::1 lets ::1 through", "::1", "::1/128", NULL },
    { "allow 10.0.5.0/24 lets 10.0.5.9 through", "10.0.5.9", "10.0.5.0/24, ::1", NULL },
    { "allow 10.0.5.0/24 keeps 10.0.6.9 refused", "10.0.6.9", "10.0.5.0/24", "private" },
    { "allow fd00::/8 lets fd00::5 through", "fd00::5", "fd00::/8", NULL },
    { "allow 0.0.0.0/0 lets every IPv4 address through", "169.254.169.254", "0.0.0.0/0", NULL },
    /* not IP at all */
    { "AF_UNIX is refused", NULL, "none", "not-ip" },
    { "AF_UNIX is refused even with ::/0 allowed", NULL, "::/0 0.0.0.0/0", "not-ip" },
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
        addr.in4.sin_port = htons(443);
        assert_int_equal(inet_pton(AF_INET, row->addr, &addr.in4.sin_addr), 1);
        len = sizeof(addr.in4);
    } else {
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons(443);
        assert_int_equal(inet_pton(AF_INET6, row->addr, &addr.in6.sin6_addr), 1);
        len = sizeof(addr.in6);
    }
    cidr_list_t *allow = cidr_list_parse(row->allow, err, sizeof(err));
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
    unit_add(&suite, "short sockaddr", test_short_sockaddr, NULL);
    return unit_run("ssrf", &suite, NULL, NULL);
}
