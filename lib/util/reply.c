/*
 * reply.c -- default replies and template expansion.  See reply.h.
 */
#include "reply.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int code;
    const char *xcode;
    const char *text;
    const char *when;
} reply_table[REPLY_COUNT] = {
    [REPLY_RCPT_DISABLED] = { "rcpt_disabled", 550, "5.2.1", "inbox {inbox} is disabled", "RCPT to a disabled inbox" },
    [REPLY_RCPT_SUSPENDED] = { "rcpt_suspended", 450, "4.2.1", "inbox {inbox} is suspended, try again later",
                               "RCPT to a suspended inbox" },
    [REPLY_RCPT_UNKNOWN] = { "rcpt_unknown", 550, "5.1.1", "no such inbox {inbox}",
                             "RCPT to an address on a managed domain that is no inbox" },
    [REPLY_SENDER_NOT_GRANTED] = { "sender_not_granted", 553, "5.7.1", "login may not send as {inbox}",
                                   "the authenticated login may not send as the sender inbox" },
    [REPLY_SENDER_INACTIVE] = { "sender_inactive", 550, "5.7.1", "sending inbox {inbox} is {status}",
                                "the sender inbox is disabled or suspended" },
    [REPLY_SPOOF] = { "spoof", 550, "5.7.1", "{inbox} may only send with authentication",
                      "unauthenticated MAIL FROM an inbox address from a client outside trusted_networks" },
    [REPLY_BURST] = { "burst", 451, "4.7.1", "inbox {inbox} sent too many messages in 60 seconds, retry in {retry} s",
                      "the sender inbox's burst guard (sends in the last 60 seconds)" },
    [REPLY_DAILY] = { "daily", 451, "4.7.1", "inbox {inbox} reached its daily send limit, resets at {reset}",
                      "the sender inbox's daily cap" },
    [REPLY_BACKEND] = { "backend", 451, "4.3.0", "temporary failure looking up {inbox}, try again later",
                        "PostgreSQL or Redis failed or did not answer within backend_timeout_ms "
                        "(on_backend_error = tempfail)" },
    [REPLY_MALFORMED] = { "malformed", 553, "5.1.3", "malformed address", "an envelope address that cannot be parsed" },
    [REPLY_RCPT_SUPPRESSED] = { "rcpt_suppressed", 550, "5.1.1",
                                "recipient <{recipient}> is on the suppression list of {inbox}: {reason}",
                                "RCPT to an address on the sender inbox's suppression list" },
    [REPLY_SIGN_FAILED] = { "sign_failed", 451, "4.3.0", "temporary failure signing mail from {inbox}, try again later",
                            "the DKIM signature of mail from an inbox could not be made" },
    [REPLY_DOMAIN_HELD] = { "domain_held", 451, "4.7.0",
                            "the DNS records of {inbox}'s domain failed their check; its mail waits until they pass",
                            "MAIL FROM an inbox whose domain failed its DNS checks, with domain_dns_failed = hold" },
};

void
reply_default(reply_id_t id, reply_t *out)
{
    out->code = reply_table[id].code;
    snprintf(out->xcode, sizeof(out->xcode), "%s", reply_table[id].xcode);
    snprintf(out->text, sizeof(out->text), "%s", reply_table[id].text);
}

const char *
reply_name(reply_id_t id)
{
    return reply_table[id].name;
}

const char *
reply_when(reply_id_t id)
{
    return reply_table[id].when;
}

int
reply_parse(const char *value, reply_t *out, char *err, size_t errlen)
{
    char *end;
    long code = strtol(value, &end, 10);
    const char *x, *xend, *text;
    int dots = 0;

    if (end != value + 3 || *end != ' ' || code < 400 || code > 599) {
        snprintf(err, errlen, "reply must start with a 4xx or 5xx code");
        return -1;
    }
    x = end + 1;
    for (xend = x; *xend && *xend != ' '; xend++) {
        if (*xend == '.' && xend > x && xend[-1] != '.')
            dots++;
        else if (!isdigit((unsigned char)*xend)) {
            dots = -1;
            break;
        }
    }
    /* RFC 3463: class.subject.detail, each part digits, none empty. */
    if (dots != 2 || xend[-1] == '.' || (size_t)(xend - x) >= sizeof(out->xcode) || x[0] != value[0] ||
        x[1] != '.') {
        snprintf(err, errlen, "reply needs an enhanced status code of the same class, e.g. %c.7.1", value[0]);
        return -1;
    }
    text = *xend ? xend + 1 : "";
    if (strpbrk(text, "\r\n") || strlen(text) >= sizeof(out->text) || *text == '\0') {
        snprintf(err, errlen, "reply text must be one line of 1..%zu characters", sizeof(out->text) - 1);
        return -1;
    }
    out->code = (int)code;
    memcpy(out->xcode, x, (size_t)(xend - x));
    out->xcode[xend - x] = '\0';
    snprintf(out->text, sizeof(out->text), "%s", text);
    return 0;
}

/* Appends src to out, dropping characters that must not reach an SMTP
 * reply: CR, LF, other controls, and '%' (libmilter treats it as a format). */
static size_t
reply_append(char *out, size_t pos, size_t outlen, const char *src)
{
    for (; src && *src && pos + 1 < outlen; src++) {
        unsigned char c = (unsigned char)*src;
        if (c < 0x20 || c == 0x7f || c == '%')
            continue;
        out[pos++] = (char)c;
    }
    out[pos] = '\0';
    return pos;
}

void
reply_format(const reply_t *reply, const reply_vars_t *vars, char *out, size_t outlen)
{
    size_t pos = 0;
    const char *p = reply->text;
    if (outlen == 0)
        return;
    out[0] = '\0';
    while (*p && pos + 1 < outlen) {
        char num[32];
        const char *val = NULL;
        size_t skip = 0;
        if (strncmp(p, "{inbox}", 7) == 0) {
            val = vars && vars->inbox ? vars->inbox : "";
            skip = 7;
        } else if (strncmp(p, "{status}", 8) == 0) {
            val = vars && vars->status ? vars->status : "";
            skip = 8;
        } else if (strncmp(p, "{retry}", 7) == 0) {
            snprintf(num, sizeof(num), "%ld", vars ? vars->retry_seconds : 0L);
            val = num;
            skip = 7;
        } else if (strncmp(p, "{reset}", 7) == 0) {
            val = vars && vars->reset ? vars->reset : "";
            skip = 7;
        } else if (strncmp(p, "{recipient}", 11) == 0) {
            val = vars && vars->recipient ? vars->recipient : "";
            skip = 11;
        } else if (strncmp(p, "{reason}", 8) == 0) {
            val = vars && vars->reason ? vars->reason : "";
            skip = 8;
        }
        if (val) {
            pos = reply_append(out, pos, outlen, val);
            p += skip;
        } else {
            char one[2] = { *p++, '\0' };
            pos = reply_append(out, pos, outlen, one);
        }
    }
}
