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

cidr_list_t *
cidr_list_parse(const char *text, char *err, size_t errlen)
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
        char *slash = strchr(tok, '/');
        int family, max, prefix;
        if (slash)
            *slash = '\0';
        family = cidr_addr_parse(tok, e.addr);
        if (family == 0) {
            snprintf(err, errlen, "bad network address \"%s\"", tok);
            goto fail;
        }
        max = family == 4 ? 32 : 128;
        prefix = max;
        if (slash) {
            char *end;
            long p = strtol(slash + 1, &end, 10);
            if (*end != '\0' || end == slash + 1 || p < 0 || p > max) {
                snprintf(err, errlen, "bad prefix length \"/%s\" for %s", slash + 1, tok);
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

static int
cidr_list_match_bytes(const cidr_list_t *list, const unsigned char addr[16])
{
    for (size_t i = 0; list && i < list->count; i++)
        if (cidr_entry_match(&list->entries[i], addr))
            return 1;
    return 0;
}

int
cidr_list_match_text(const cidr_list_t *list, const char *text)
{
    unsigned char addr[16];
    if (text == NULL || cidr_addr_parse(text, addr) == 0)
        return 0;
    return cidr_list_match_bytes(list, addr);
}

int
cidr_list_match_sockaddr(const cidr_list_t *list, const struct sockaddr *sa)
{
    unsigned char addr[16];
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET) {
        memcpy(addr, v4mapped_prefix, 12);
        memcpy(addr + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    } else {
        return 0;
    }
    return cidr_list_match_bytes(list, addr);
}
