/*
 * policy_proto.c -- framing, parsing and answers of the Postfix policy
 * protocol.  See policy_proto.h.
 */
#include "policy_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const policy_attr_names[POLICY_ATTR_COUNT] = {
    [POLICY_ATTR_REQUEST] = "request",
    [POLICY_ATTR_PROTOCOL_STATE] = "protocol_state",
    [POLICY_ATTR_SENDER] = "sender",
    [POLICY_ATTR_RECIPIENT] = "recipient",
    [POLICY_ATTR_RECIPIENT_COUNT] = "recipient_count",
    [POLICY_ATTR_CLIENT_ADDRESS] = "client_address",
    [POLICY_ATTR_SASL_USERNAME] = "sasl_username",
    [POLICY_ATTR_QUEUE_ID] = "queue_id",
    [POLICY_ATTR_INSTANCE] = "instance",
};

ssize_t
policy_frame(policy_framer_t *f, const char *buf, size_t len, char *err, size_t errlen)
{
    for (size_t i = f->scanned; i < len; i++) {
        if (buf[i] != '\n') {
            /* A line may run to POLICY_LINE_MAX bytes plus a '\r'. */
            if (i - f->line_start >= POLICY_LINE_MAX + 1) {
                snprintf(err, errlen, "line %zu longer than %d bytes", f->lines + 1, POLICY_LINE_MAX);
                return -1;
            }
            continue;
        }
        size_t linelen = i - f->line_start;
        if (linelen > 0 && buf[i - 1] == '\r')
            linelen--;
        if (linelen > POLICY_LINE_MAX) {
            snprintf(err, errlen, "line %zu longer than %d bytes", f->lines + 1, POLICY_LINE_MAX);
            return -1;
        }
        if (linelen == 0) {
            if (i + 1 > POLICY_REQUEST_MAX) {
                snprintf(err, errlen, "request longer than %d bytes", POLICY_REQUEST_MAX);
                return -1;
            }
            return (ssize_t)(i + 1);
        }
        if (++f->lines > POLICY_ATTRS_MAX) {
            snprintf(err, errlen, "request of more than %d lines", POLICY_ATTRS_MAX);
            return -1;
        }
        f->line_start = i + 1;
    }
    f->scanned = len;
    if (len >= POLICY_REQUEST_MAX) {
        snprintf(err, errlen, "request longer than %d bytes", POLICY_REQUEST_MAX);
        return -1;
    }
    return 0;
}

/* 1 if s is strict UTF-8 (no overlongs, surrogates, or beyond U+10FFFF)
 * without C0 controls or DEL. */
static int
policy_text_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        unsigned char lo = 0x80, hi = 0xbf;
        int n;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return 0;
        }
        if (p[1] < lo || p[1] > hi)
            return 0; /* also catches the terminating NUL */
        for (int k = 2; k <= n; k++)
            if ((p[k] & 0xc0) != 0x80)
                return 0;
        p += n + 1;
    }
    return 1;
}

static int
policy_attr_lookup(const char *name)
{
    for (int a = 0; a < POLICY_ATTR_COUNT; a++)
        if (strcmp(name, policy_attr_names[a]) == 0)
            return a;
    return -1;
}

int
policy_parse(const char *buf, size_t len, policy_request_t *req, char *err, size_t errlen)
{
    char *p, *end;
    size_t lineno = 0;
    int terminated = 0;

    memset(req->value, 0, sizeof(req->value));
    req->lines = 0;
    req->recipient_count = 0;
    if (len > sizeof(req->text)) {
        snprintf(err, errlen, "request longer than %d bytes", POLICY_REQUEST_MAX);
        return -1;
    }
    if (memchr(buf, '\0', len) != NULL) {
        snprintf(err, errlen, "NUL byte in request");
        return -1;
    }
    memcpy(req->text, buf, len);
    p = req->text;
    end = req->text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        *nl = '\0';
        if (nl > p && nl[-1] == '\r')
            nl[-1] = '\0';
        lineno++;
        if (*p == '\0') {
            terminated = nl + 1 == end;
            break;
        }
        char *eq = strchr(p, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "line %zu has no '='", lineno);
            return -1;
        }
        if (eq == p) {
            snprintf(err, errlen, "line %zu has an empty attribute name", lineno);
            return -1;
        }
        *eq = '\0';
        int attr = policy_attr_lookup(p);
        const char *value = eq + 1;
        req->lines++;
        p = nl + 1;
        if (attr < 0)
            continue;
        if (!policy_text_valid(value)) {
            snprintf(err, errlen, "%s is not valid UTF-8 text", policy_attr_names[attr]);
            return -1;
        }
        if (req->value[attr] != NULL && strcmp(req->value[attr], value) != 0) {
            /* The protocol lets a server keep either value; Postfix never
             * sends two, so whoever did is not to be trusted with either. */
            snprintf(err, errlen, "%s sent twice with different values", policy_attr_names[attr]);
            return -1;
        }
        req->value[attr] = value;
    }
    if (!terminated) {
        snprintf(err, errlen, "request not ended by one empty line");
        return -1;
    }
    if (req->value[POLICY_ATTR_REQUEST] == NULL) {
        snprintf(err, errlen, "no request attribute");
        return -1;
    }
    if (strcmp(req->value[POLICY_ATTR_REQUEST], "smtpd_access_policy") != 0) {
        snprintf(err, errlen, "request type is not smtpd_access_policy");
        return -1;
    }
    const char *count = req->value[POLICY_ATTR_RECIPIENT_COUNT];
    if (count != NULL && *count != '\0') {
        long n = 0;
        for (const char *c = count; *c; c++) {
            if (*c < '0' || *c > '9' || n > POLICY_RECIPIENT_COUNT_MAX) {
                snprintf(err, errlen, "recipient_count is not a number up to %d", POLICY_RECIPIENT_COUNT_MAX);
                return -1;
            }
            n = n * 10 + (*c - '0');
        }
        if (n > POLICY_RECIPIENT_COUNT_MAX) {
            snprintf(err, errlen, "recipient_count is not a number up to %d", POLICY_RECIPIENT_COUNT_MAX);
            return -1;
        }
        req->recipient_count = n;
    }
    return 0;
}

const char *
policy_get(const policy_request_t *req, policy_attr_t attr)
{
    return req->value[attr] ? req->value[attr] : "";
}

policy_state_t
policy_state(const policy_request_t *req)
{
    const char *state = policy_get(req, POLICY_ATTR_PROTOCOL_STATE);
    if (strcasecmp(state, "RCPT") == 0)
        return POLICY_STATE_RCPT;
    if (strcasecmp(state, "MAIL") == 0)
        return POLICY_STATE_MAIL;
    if (strcasecmp(state, "END-OF-MESSAGE") == 0)
        return POLICY_STATE_END_OF_MESSAGE;
    return POLICY_STATE_OTHER;
}

size_t
policy_format_reply(const decision_t *d, char *out, size_t outlen)
{
    int n;
    if (d->action == DECISION_CONTINUE)
        n = snprintf(out, outlen, "action=DUNNO\n\n");
    else if (d->xcode[0])
        n = snprintf(out, outlen, "action=%d %s %s\n\n", d->code, d->xcode, d->text);
    else
        n = snprintf(out, outlen, "action=%d %s\n\n", d->code, d->text);
    if (n < 0 || (size_t)n >= outlen)
        return 0;
    /* One line whatever the text holds: only the final "\n\n" may end it. */
    for (int i = 0; i < n - 2; i++)
        if (out[i] == '\r' || out[i] == '\n')
            out[i] = ' ';
    return (size_t)n;
}
