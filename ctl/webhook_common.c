/*
 * webhook_common.c -- input checks, secrets and event lists for the
 * webhook commands.  See webhook_common.h.
 */
#include "webhook_common.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_db.h"
#include "output.h"

const char *const webhook_event_types[] = {
    "message.received", "message.parsed",   "message.sent",    "message.delivered",
    "message.deferred", "message.bounced",  "message.complained", "message.opened",
    "message.clicked",  "inbox.suspended",  "inbox.disabled",  "inbox.webhook_disabled",
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
webhook_url(const char *url, char out[WEBHOOK_URL_MAX + 1])
{
    size_t len = strlen(url), scheme, authority;

    if (len == 0)
        return output_usage("--url must not be empty");
    if (len > WEBHOOK_URL_MAX)
        return output_usage("--url is longer than %d bytes", WEBHOOK_URL_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f)
            return output_usage("--url must be printable ASCII without spaces (percent-encode the rest)");
    }
    if (strncasecmp(url, "https://", 8) == 0)
        scheme = 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        scheme = 7;
    else
        return output_usage("--url must start with https:// or http://");
    authority = strcspn(url + scheme, "/?#");
    if (memchr(url + scheme, '@', authority) != NULL)
        return output_usage("--url must not contain credentials (user@); the requests are signed");
    if (!webhook_host_port(url + scheme, authority))
        return output_usage("--url: \"%s\" has no valid host[:port]", url);
    memcpy(out, url, len + 1);
    for (size_t i = 0; i < scheme; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return 0;
}

int
webhook_events(const char *list, char *out, size_t outlen)
{
    int chosen[WEBHOOK_NTYPES] = { 0 };
    const char *p = list;
    size_t used;

    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, ","), i;
        const char *item = p;
        /* "a, b" is fine: spaces around an item are dropped */
        while (len > 0 && *item == ' ')
            item++, len--;
        while (len > 0 && item[len - 1] == ' ')
            len--;
        for (i = 0; i < WEBHOOK_NTYPES; i++)
            if (strlen(webhook_event_types[i]) == len && strncmp(webhook_event_types[i], item, len) == 0)
                break;
        if (i == WEBHOOK_NTYPES) {
            if (len == 0)
                return output_usage("--events: empty event type in \"%s\"", list);
            return output_usage("--events: \"%.*s\" is not an event type (message.received, message.parsed,"
                                " message.sent, message.delivered, message.deferred, message.bounced,"
                                " message.complained, message.opened, message.clicked, inbox.suspended,"
                                " inbox.disabled, inbox.webhook_disabled)",
                                (int)(len > 100 ? 100 : len), item);
        }
        chosen[i] = 1;
        p += strcspn(p, ",");
        if (*p == ',' && *++p == '\0')
            return output_usage("--events: empty event type in \"%s\"", list);
    }
    /* every name is [a-z._], so the literal needs no quoting */
    used = (size_t)snprintf(out, outlen, "{");
    for (size_t i = 0; i < WEBHOOK_NTYPES; i++)
        if (chosen[i] && used < outlen)
            used += (size_t)snprintf(out + used, outlen - used, "%s%s", used > 1 ? "," : "",
                                     webhook_event_types[i]);
    if (used + 1 >= outlen)
        return output_usage("--events: too long");
    strcat(out, "}");
    return 0;
}

int
webhook_new_secret(char out[WEBHOOK_SECRET_SIZE])
{
    unsigned char raw[32];

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return output_error("RAND_bytes: %s", ERR_error_string(ERR_get_error(), NULL));
    memcpy(out, "whsec_", 6);
    /* 32 bytes are 44 base64 characters with one '=' of padding, NUL added */
    EVP_EncodeBlock((unsigned char *)out + 6, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

/* Advances *p over n digits; whether there were n. */
static int
webhook_digits(const char **p, int n)
{
    for (int i = 0; i < n; i++, (*p)++)
        if (!isdigit((unsigned char)**p))
            return 0;
    return 1;
}

int
webhook_timestamp(const char *name, const char *value, char *out, size_t outlen)
{
    const char *p = value;
    int ok, offset = 0;

    ok = webhook_digits(&p, 4) && *p++ == '-' && webhook_digits(&p, 2) && *p++ == '-' && webhook_digits(&p, 2);
    if (ok && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        ok = webhook_digits(&p, 2) && *p++ == ':' && webhook_digits(&p, 2);
        if (ok && *p == ':') {
            p++;
            ok = webhook_digits(&p, 2);
            if (ok && *p == '.') {
                p++;
                ok = isdigit((unsigned char)*p);
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
        if (ok && (*p == '+' || *p == '-')) {
            p++;
            offset = 1;
            ok = webhook_digits(&p, 2);
            if (ok && *p == ':')
                p++, ok = webhook_digits(&p, 2);
            else if (ok && *p != '\0')
                ok = webhook_digits(&p, 2);
        }
    }
    if (ok && !offset && (*p == 'Z' || *p == 'z'))
        p++, offset = 1;
    if (!ok || *p != '\0' || strlen(value) + 2 > outlen)
        return output_usage("--%s: \"%s\" is not an ISO-8601 timestamp (e.g. 2024-05-01T12:00:00Z)", name,
                            value);
    snprintf(out, outlen, "%s%s", value, offset ? "" : "Z");
    return 0;
}

int
webhook_id_arg(const args_t *args, const char **id)
{
    *id = args->pos[0];
    if (!valid_uuid(*id))
        return output_usage("\"%s\" is not a webhook endpoint id (uuid)", *id);
    return 0;
}

json_t *
webhook_events_json(const PGresult *res, int row, int col)
{
    json_t *events = ctl_json_parsed(res, row, col);
    if (!output_json() && json_is_array(events) && json_array_size(events) == 0) {
        json_decref(events);
        return json_string("all");
    }
    return events;
}
