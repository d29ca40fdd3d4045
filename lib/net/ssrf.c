/*
 * ssrf.c -- refusing internal addresses for outbound webhooks.
 * See ssrf.h.  Two tables, first match wins (so the narrow entries come
 * before the wide ones); IPv6 forms that embed an IPv4 address are
 * unwrapped and judged by the IPv4 table, and IPv6 outside global
 * unicast (2000::/3) is refused as reserved.  The allow list is matched
 * on the address as it is (lib/util/cidr stores IPv4 entries as
 * IPv4-mapped), never on an unwrapped IPv4 address.
 */
#include "ssrf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    uint32_t net;
    int prefix;
    const char *class;
} ssrf_v4_range_t;

typedef struct {
    unsigned char net[16];
    int prefix;
    const char *class;
} ssrf_v6_range_t;

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static const ssrf_v4_range_t ssrf_v4_ranges[] = {
    { V4(0, 0, 0, 0), 32, "unspecified" },
    { V4(0, 0, 0, 0), 8, "reserved" },               /* "this network" */
    { V4(10, 0, 0, 0), 8, "private" },
    { V4(100, 64, 0, 0), 10, "cgnat" },
    { V4(127, 0, 0, 0), 8, "loopback" },
    { V4(169, 254, 0, 0), 16, "link-local" },
    { V4(172, 16, 0, 0), 12, "private" },
    { V4(192, 0, 0, 0), 24, "reserved" },            /* IETF protocol assignments */
    { V4(192, 0, 2, 0), 24, "documentation" },
    { V4(192, 88, 99, 0), 24, "reserved" },          /* former 6to4 relay anycast */
    { V4(192, 168, 0, 0), 16, "private" },
    { V4(198, 18, 0, 0), 15, "reserved" },           /* benchmarking */
    { V4(198, 51, 100, 0), 24, "documentation" },
    { V4(203, 0, 113, 0), 24, "documentation" },
    { V4(224, 0, 0, 0), 4, "multicast" },
    { V4(255, 255, 255, 255), 32, "broadcast" },
    { V4(240, 0, 0, 0), 4, "reserved" },
};

static const ssrf_v6_range_t ssrf_v6_ranges[] = {
    { { 0 }, 128, "unspecified" },
    { { [15] = 1 }, 128, "loopback" },
    { { 0x01, 0x00 }, 64, "reserved" },              /* 100::/64 discard-only */
    { { 0x20, 0x01, 0x00, 0x00 }, 32, "reserved" },  /* Teredo (hides an IPv4 address) */
    { { 0x20, 0x01, 0x00, 0x02, 0x00, 0x00 }, 48, "reserved" }, /* benchmarking */
    { { 0x20, 0x01, 0x00, 0x10 }, 28, "reserved" },  /* ORCHID */
    { { 0x20, 0x01, 0x00, 0x20 }, 28, "reserved" },  /* ORCHIDv2 */
    { { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation" },
    { { 0x3f, 0xff }, 20, "documentation" },         /* 3fff::/20, RFC 9637 */
    { { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, "reserved" }, /* local-use NAT64 */
    { { 0xfc }, 7, "private" },                      /* unique local */
    { { 0xfe, 0x80 }, 10, "link-local" },
    { { 0xfe, 0xc0 }, 10, "private" },               /* deprecated site-local */
    { { 0xff }, 8, "multicast" },
};

static const unsigned char ssrf_mapped_prefix[12] = { [10] = 0xff, [11] = 0xff };
static const unsigned char ssrf_nat64_prefix[12] = { 0x00, 0x64, 0xff, 0x9b };

static const char *
ssrf_classify_v4(uint32_t addr)
{
    for (size_t i = 0; i < sizeof(ssrf_v4_ranges) / sizeof(ssrf_v4_ranges[0]); i++) {
        const ssrf_v4_range_t *r = &ssrf_v4_ranges[i];
        uint32_t mask = r->prefix == 0 ? 0 : 0xffffffffu << (32 - r->prefix);
        if ((addr & mask) == r->net)
            return r->class;
    }
    return NULL;
}

static int
ssrf_v6_match(const unsigned char *net, int prefix, const unsigned char *addr)
{
    int full = prefix / 8, rest = prefix % 8;
    if (memcmp(net, addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (net[full] & mask) == (addr[full] & mask);
}

static uint32_t
ssrf_load_v4(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* The IPv4 address an IPv6 address carries, if it is one of the forms
 * that reach an IPv4 host: 1 with *v4 set, else 0. */
static int
ssrf_embedded_v4(const unsigned char *a, uint32_t *v4)
{
    static const unsigned char zero[12];
    if (memcmp(a, ssrf_mapped_prefix, 12) == 0 || memcmp(a, ssrf_nat64_prefix, 12) == 0 ||
        memcmp(a, zero, 12) == 0) {
        *v4 = ssrf_load_v4(a + 12);
        return 1;
    }
    if (a[0] == 0x20 && a[1] == 0x02) { /* 6to4: 2002:AABB:CCDD::/48 */
        *v4 = ssrf_load_v4(a + 2);
        return 1;
    }
    return 0;
}

static const char *
ssrf_classify_v6(const unsigned char *a)
{
    uint32_t v4;
    for (size_t i = 0; i < sizeof(ssrf_v6_ranges) / sizeof(ssrf_v6_ranges[0]); i++) {
        const ssrf_v6_range_t *r = &ssrf_v6_ranges[i];
        if (ssrf_v6_match(r->net, r->prefix, a))
            return r->class;
    }
    if (ssrf_embedded_v4(a, &v4)) {
        const char *class = ssrf_classify_v4(v4);
        if (class)
            return class;
        /* A public IPv4 address in the deprecated IPv4-compatible form
         * (::a.b.c.d) is not a real destination either. */
        if (a[0] == 0 && memcmp(a, ssrf_mapped_prefix, 12) != 0 && memcmp(a, ssrf_nat64_prefix, 12) != 0)
            return "reserved";
        return NULL;
    }
    if ((a[0] & 0xe0) != 0x20) /* outside 2000::/3, global unicast */
        return "reserved";
    return NULL;
}

const char *
ssrf_classify(const struct sockaddr *sa, socklen_t len)
{
    if (sa == NULL)
        return "not-ip";
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        return ssrf_classify_v4(ntohl(sin->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        return ssrf_classify_v6(sin6->sin6_addr.s6_addr);
    }
    return "not-ip";
}

const char *
ssrf_refusal(const struct sockaddr *sa, socklen_t len, const cidr_list_t *allow)
{
    const char *class = ssrf_classify(sa, len);
    if (class == NULL || strcmp(class, "not-ip") == 0)
        return class;
    /* ::ffff:a.b.c.d matches an IPv4 entry here (cidr keeps those
     * mapped); ::a.b.c.d, 64:ff9b::/96 and 2002::/16 only an IPv6 one. */
    if (cidr_list_match_sockaddr(allow, sa))
        return NULL;
    return class;
}

void
ssrf_format_address(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen)
{
    char text[INET6_ADDRSTRLEN] = "?";
    if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, text, sizeof(text));
    else if (sa && sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, text, sizeof(text));
    snprintf(out, outlen, "%s", text);
}

const char *
ssrf_literal_host(const char *host, size_t hostlen, int port, const cidr_list_t *allow, char text[SSRF_ADDRESS_LEN])
{
    char name[256];
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } addr;
    socklen_t len;

    text[0] = '\0';
    if (hostlen == 0 || hostlen >= sizeof(name))
        return NULL;
    memset(&addr, 0, sizeof(addr));
    if (host[0] == '[') {
        if (hostlen < 3 || host[hostlen - 1] != ']')
            return NULL;
        memcpy(name, host + 1, hostlen - 2);
        name[hostlen - 2] = '\0';
        if (inet_pton(AF_INET6, name, &addr.in6.sin6_addr) != 1)
            return NULL;
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons((uint16_t)port);
        len = sizeof(addr.in6);
    } else {
        memcpy(name, host, hostlen);
        name[hostlen] = '\0';
        /* "127.0.0.1." is the same address to a resolver */
        if (hostlen > 1 && name[hostlen - 1] == '.')
            name[hostlen - 1] = '\0';
        /* inet_aton takes the old BSD forms (one to four parts, each
         * decimal, 0x hex or 0 octal), as libcurl and getaddrinfo do */
        if (inet_aton(name, &addr.in4.sin_addr) == 0)
            return NULL;
        addr.in4.sin_family = AF_INET;
        addr.in4.sin_port = htons((uint16_t)port);
        len = sizeof(addr.in4);
    }
    ssrf_format_address(&addr.sa, len, text, SSRF_ADDRESS_LEN);
    return ssrf_refusal(&addr.sa, len, allow);
}
