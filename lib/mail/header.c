/*
 * header.c -- RFC 2047 decoding and address lists through GMime, then
 * utf8_sanitize / address_normalize; values through lib/mail/gmime_guard
 * first.  See header.h.
 */
#include "header.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "gmime_guard.h"
#include "utf8.h"

/* Groups inside groups are not RFC 5322, but a parser may build them. */
#define HEADER_GROUP_DEPTH 4

void
header_init(void)
{
    g_mime_init();
}

/* A malloc'd copy of raw without CR and LF: a folded line, unfolded
 * (the whitespace after the line break stays).  *len gets its length. */
static char *
header_unfold(const char *raw, size_t *len)
{
    char *unfolded = strdup(raw ? raw : "");
    size_t o = 0;
    if (unfolded == NULL)
        return NULL;
    for (size_t i = 0; unfolded[i]; i++) {
        if (unfolded[i] == '\r' || unfolded[i] == '\n')
            continue;
        unfolded[o++] = unfolded[i];
    }
    unfolded[o] = '\0';
    *len = o;
    return unfolded;
}

char *
header_decode(const char *raw, size_t max_bytes)
{
    char *decoded, *out;
    size_t o;
    char *unfolded = header_unfold(raw, &o);
    if (unfolded == NULL)
        return NULL;
    decoded = g_mime_utils_header_decode_text(NULL, unfolded);
    if (decoded) {
        out = utf8_sanitize(decoded, strlen(decoded), max_bytes);
        g_free(decoded);
    } else {
        out = utf8_sanitize(unfolded, o, max_bytes);
    }
    free(unfolded);
    return out;
}

/* Adds one addr-spec to list unless it is malformed or already there.
 * 1 added, 0 skipped, -1 out of memory. */
static int
header_add_address(const char *addr, char **list, size_t *count, size_t max)
{
    char normalized[ADDRESS_MAX + 1];
    char *checked;

    if (addr == NULL || *count >= max || address_normalize(addr, normalized, sizeof(normalized)) != ADDRESS_OK)
        return 0;
    for (size_t i = 0; i < *count; i++)
        if (strcmp(list[i], normalized) == 0)
            return 0;
    /* utf8_sanitize changes exactly what is not valid UTF-8 or a control */
    checked = utf8_sanitize(normalized, strlen(normalized), sizeof(normalized));
    if (checked == NULL)
        return -1;
    if (strcmp(checked, normalized) != 0) {
        free(checked);
        return 0;
    }
    list[(*count)++] = checked;
    return 1;
}

/* The mailboxes of a parsed list, groups flattened. */
static int
header_add_list(InternetAddressList *addresses, int depth, char **list, size_t *count, size_t max)
{
    int added = 0, n = internet_address_list_length(addresses);

    for (int i = 0; i < n && *count < max; i++) {
        InternetAddress *ia = internet_address_list_get_address(addresses, i);
        int rc = 0;
        if (INTERNET_ADDRESS_IS_MAILBOX(ia))
            rc = header_add_address(internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia)), list,
                                    count, max);
        else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < HEADER_GROUP_DEPTH)
            rc = header_add_list(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), depth + 1, list,
                                 count, max);
        if (rc < 0)
            return -1;
        added += rc;
    }
    return added;
}

int
header_addresses(const char *raw, char **list, size_t *count, size_t max)
{
    InternetAddressList *addresses;
    size_t len;
    int added;
    char *unfolded;

    if (raw == NULL || *count >= max)
        return 0;
    if ((unfolded = header_unfold(raw, &len)) == NULL)
        return -1;
    gmime_guard_value(unfolded, len); /* GMime 3.2.13 would leak on some values */
    addresses = internet_address_list_parse(NULL, unfolded);
    free(unfolded);
    if (addresses == NULL)
        return 0;
    added = header_add_list(addresses, 0, list, count, max);
    g_object_unref(addresses);
    return added;
}
