/*
 * webhook_input.c -- endpoint input checks and secrets.  See webhook_input.h.
 */
#include "webhook_input.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const webhook_event_types[] = {
    "message.received", "message.parsed",   "message.sent",    "message.delivered",
    "message.deferred", "message.bounced",  "message.complained", "message.opened",
    "message.clicked",  "message.unsubscribed", "inbox.suspended",  "inbox.disabled",  "inbox.webhook_disabled",
    "inbox.reputation_warning",
    NULL,
};

#define WEBHOOK_NTYPES (sizeof(webhook_event_types) / sizeof(webhook_event_types[0]) - 1)

/* The host[:port] part of a URL, authority of length len (no userinfo). */
static int
webhook_host_port(const char *authority, size_t len)
{
    const char *end = authority + len, *p = authority, *port;

    if (len == 0)
        return 0;
    if (*p == '[') { /* IPv6 literal */
        const char *close = memchr(p, ']', len);
        if (close == NULL || close == p + 1)
            return 0;
        for (p++; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return 0;
        port = close + 1;
        if (port != end && *port != ':')
            return 0;
    } else {
        port = memchr(p, ':', len);
        if (port == NULL)
            port = end;
        if (port == p || *p == '.' || *p == '-')
            return 0;
        for (; p < port; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
                return 0;
    }
    if (port == end)
        return 1;
    /* ":" then 1..65535 */
    long value = 0;
    if (++port == end || end - port > 5)
        return 0;
    for (p = port; p < end; p++) {
        if (!isdigit((unsigned char)*p))
            return 0;
        value = value * 10 + (*p - '0');
    }
    return value >= 1 && value <= 65535;
}

int
webhook_input_url(const char *url, char out[WEBHOOK_URL_MAX + 1], char *err, size_t errlen)
{
    size_t len = strlen(url), scheme, authority;

    if (len == 0) {
        snprintf(err, errlen, "must not be empty");
        return -1;
    }
    if (len > WEBHOOK_URL_MAX) {
        snprintf(err, errlen, "is longer than %d bytes", WEBHOOK_URL_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f) {
            snprintf(err, errlen, "must be printable ASCII without spaces (percent-encode the rest)");
            return -1;
        }
    }
    if (strncasecmp(url, "https://", 8) == 0)
        scheme = 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        scheme = 7;
    else {
        snprintf(err, errlen, "must start with https:// or http://");
        return -1;
    }
    authority = strcspn(url + scheme, "/?#");
    if (memchr(url + scheme, '@', authority) != NULL) {
        snprintf(err, errlen, "must not contain credentials (user@); the requests are signed");
        return -1;
    }
    if (!webhook_host_port(url + scheme, authority)) {
        snprintf(err, errlen, "has no valid host[:port]");
        return -1;
    }
    memcpy(out, url, len + 1);
    for (size_t i = 0; i < scheme; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return 0;
}

const char *
webhook_input_private_host(const char *url, const cidr_list_t *allow, char text[SSRF_ADDRESS_LEN])
{
    int https = strncasecmp(url, "https://", 8) == 0;
    const char *authority = url + (https ? 8 : 7), *host_end;
    size_t len = strcspn(authority, "/?#");
    int port = https ? 443 : 80;

    text[0] = '\0';
    if (authority[0] == '[') { /* [v6] keeps its brackets for ssrf_literal_host */
        host_end = memchr(authority, ']', len);
        host_end = host_end ? host_end + 1 : authority + len;
    } else {
        host_end = memchr(authority, ':', len);
        if (host_end == NULL)
            host_end = authority + len;
    }
    if (host_end < authority + len && *host_end == ':')
        port = atoi(host_end + 1);
    return ssrf_literal_host(authority, (size_t)(host_end - authority), port, allow, text);
}

int
webhook_input_event_index(const char *type, size_t len)
{
    for (size_t i = 0; i < WEBHOOK_NTYPES; i++)
        if (strlen(webhook_event_types[i]) == len && strncmp(webhook_event_types[i], type, len) == 0)
            return (int)i;
    return -1;
}

int
webhook_input_events(const int *chosen, char *out, size_t outlen)
{
    size_t used;

    /* every name is [a-z._], so the literal needs no quoting */
    used = (size_t)snprintf(out, outlen, "{");
    for (size_t i = 0; i < WEBHOOK_NTYPES; i++)
        if (chosen[i] && used < outlen)
            used += (size_t)snprintf(out + used, outlen - used, "%s%s", used > 1 ? "," : "",
                                     webhook_event_types[i]);
    if (used + 1 >= outlen)
        return -1;
    strcat(out, "}");
    return 0;
}

int
webhook_input_new_secret(char out[WEBHOOK_SECRET_SIZE], char *err, size_t errlen)
{
    unsigned char raw[32];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        snprintf(err, errlen, "RAND_bytes: %s", ERR_error_string(ERR_get_error(), NULL));
        return -1;
    }
    memcpy(out, "whsec_", 6);
    /* 32 bytes are 44 base64 characters with one '=' of padding, NUL added */
    EVP_EncodeBlock((unsigned char *)out + 6, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}
