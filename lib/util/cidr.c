/*
 * cidr.c -- network lists and membership tests.  See cidr.h.
 * Addresses are kept as 16-byte IPv6 form; IPv4 is stored IPv4-mapped
 * (::ffff:a.b.c.d) with the prefix shifted by 96, so one compare serves both.
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char addr[16];
    int prefix;
    int port;               /* 0: any port */
} cidr_entry_t;

struct cidr_list {
    size_t count;
    cidr_entry_t *entries;
};

static const unsigned char v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Text address to 16-byte form; returns 4 or 6 for the family, 0 if invalid. */
static int
cidr_addr_parse(const char *text, unsigned char out[16])
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, text, &a4) == 1) {
        memcpy(out, v4mapped_prefix, 12);
        memcpy(out + 12, &a4, 4);
        return 4;
    }
    if (inet_pton(AF_INET6, text, &a6) == 1) {
        memcpy(out, &a6, 16);
        return 6;
    }
    return 0;
}

static int
cidr_entry_match(const cidr_entry_t *e, const unsigned char addr[16])
{
    int full = e->prefix / 8, rest = e->prefix % 8;
    if (memcmp(e->addr, addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (e->addr[full] & mask) == (addr[full] & mask);
}

/* ":PORT" at p (1-65535) into *port; 0, or -1. */
static int
cidr_port_parse(const char *p, int *port)
{
    char *end;
    long value;
    if (p[0] != ':' || p[1] < '0' || p[1] > '9')
        return -1;
    value = strtol(p + 1, &end, 10);
    if (*end != '\0' || value < 1 || value > 65535)
        return -1;
    *port = (int)value;
    return 0;
}

/* Splits one entry in place into address, prefix text (NULL: none) and
 * port (0: none).  Forms: ADDR, ADDR/LEN, IPV4:PORT, IPV4/LEN:PORT,
 * [IPV6], [IPV6]:PORT, [IPV6]/LEN[:PORT], [IPV6/LEN][:PORT].  A bare IPv6
 * address has colons of its own, so only a bracketed one takes a port.
 * 0, or -1 with err. */
static int
cidr_entry_split(char *tok, char **addr, char **prefix, int *port, char *err, size_t errlen)
{
    char *rest, *colon;
    *prefix = NULL;
    *port = 0;
    if (tok[0] == '[') {
        char *close = strchr(tok, ']');
        if (close == NULL) {
            snprintf(err, errlen, "bad network address \"%s\" (no closing ])", tok);
            return -1;
        }
        *close = '\0';
        *addr = tok + 1;
        rest = close + 1;
        if ((*prefix = strchr(*addr, '/')) != NULL)
            *(*prefix)++ = '\0';
        if (*rest == '/' && *prefix == NULL) {
            *prefix = rest + 1;
            rest = strchr(*prefix, ':');
            if (rest == NULL)
                return 0;
        }
        if (*rest == '\0')
            return 0;
        if (cidr_port_parse(rest, port) != 0) {
            snprintf(err, errlen, "bad port \"%s\" for %s", rest, *addr);
            return -1;
        }
        *rest = '\0';
        return 0;
    }
    *addr = tok;
    colon = strchr(tok, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL) { /* one colon: IPv4 with a port */
        if (cidr_port_parse(colon, port) != 0) {
            snprintf(err, errlen, "bad port \"%s\" for %.*s", colon, (int)(colon - tok), tok);
            return -1;
        }
        *colon = '\0';
    }
    if ((*prefix = strchr(tok, '/')) != NULL)
        *(*prefix)++ = '\0';
    return 0;
}

static cidr_list_t *
cidr_list_parse_any(const char *text, int ports, char *err, size_t errlen)
{
    cidr_list_t *list = calloc(1, sizeof(*list));
    char *copy = strdup(text ? text : "");
    char *save = NULL;
    if (list == NULL || copy == NULL)
        goto fail_nomem;
    if (strcmp(copy, "none") == 0)
        copy[0] = '\0';
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        cidr_entry_t e;
        char *addr, *prefix_text;
        int family, max, prefix;
        if (cidr_entry_split(tok, &addr, &prefix_text, &e.port, err, errlen) != 0)
            goto fail;
        if (e.port != 0 && !ports) {
            snprintf(err, errlen, "\"%s\": a port is not allowed in this list", addr);
            goto fail;
        }
        family = cidr_addr_parse(addr, e.addr);
        if (family == 0) {
            snprintf(err, errlen, "bad network address \"%s\"", addr);
            goto fail;
        }
        max = family == 4 ? 32 : 128;
        prefix = max;
        if (prefix_text) {
            char *end;
            long p = strtol(prefix_text, &end, 10);
            if (*end != '\0' || end == prefix_text || p < 0 || p > max) {
                snprintf(err, errlen, "bad prefix length \"/%s\" for %s", prefix_text, addr);
                goto fail;
            }
            prefix = (int)p;
        }
        e.prefix = family == 4 ? prefix + 96 : prefix;
        cidr_entry_t *grown = realloc(list->entries, (list->count + 1) * sizeof(*grown));
        if (grown == NULL)
            goto fail_nomem;
        list->entries = grown;
        list->entries[list->count++] = e;
    }
    free(copy);
    return list;
fail_nomem:
    snprintf(err, errlen, "out of memory");
fail:
    free(copy);
    cidr_list_free(list);
    return NULL;
}

cidr_list_t *
cidr_list_parse(const char *text, char *err, size_t errlen)
{
    return cidr_list_parse_any(text, 0, err, errlen);
}

cidr_list_t *
cidr_list_parse_ports(const char *text, char *err, size_t errlen)
{
    return cidr_list_parse_any(text, 1, err, errlen);
}

void
cidr_list_free(cidr_list_t *list)
{
    if (list == NULL)
        return;
    free(list->entries);
    free(list);
}

size_t
cidr_list_count(const cidr_list_t *list)
{
    return list ? list->count : 0;
}

/* port 0: the address has none, so entries with a port do not match. */
static int
cidr_list_match_bytes(const cidr_list_t *list, const unsigned char addr[16], int port)
{
    for (size_t i = 0; list && i < list->count; i++)
        if (cidr_entry_match(&list->entries[i], addr) &&
            (list->entries[i].port == 0 || list->entries[i].port == port))
            return 1;
    return 0;
}

int
cidr_list_match_text(const cidr_list_t *list, const char *text)
{
    unsigned char addr[16];
    if (text == NULL || cidr_addr_parse(text, addr) == 0)
        return 0;
    return cidr_list_match_bytes(list, addr, 0);
}

int
cidr_list_match_sockaddr(const cidr_list_t *list, const struct sockaddr *sa)
{
    unsigned char addr[16];
    int port;
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        memcpy(addr, v4mapped_prefix, 12);
        memcpy(addr + 12, &sin->sin_addr, 4);
        port = ntohs(sin->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(addr, &sin6->sin6_addr, 16);
        port = ntohs(sin6->sin6_port);
    } else {
        return 0;
    }
    return cidr_list_match_bytes(list, addr, port);
}
