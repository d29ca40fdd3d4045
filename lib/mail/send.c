/*
 * send.c -- sending as an inbox: request checks, compose, submit, and
 * Postfix's reply turned into an HTTP status.  See send.h for the mapping.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include "send.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose.h"
#include "secret_file.h"
#include "smtp_client.h"

#define SEND_RETRY_BACKEND 5      /* s, after 451 4.3.0 or an unreachable Postfix */
#define SEND_RETRY_RATE 60        /* s, a 4.7.1 whose text names no time */
#define SEND_RETRY_TEMPORARY 30   /* s, any other 4xx */

static int
send_fail(send_result_t *out, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
send_fail(send_result_t *out, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    out->http_status = status;
    snprintf(out->code, sizeof(out->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
    return status;
}

static const char *const send_fields[] = { "to", "cc", "subject", "text", "html", "inReplyTo", "references" };

/* A string member: absent (or null when optional) leaves *s empty.
 * 0, or -1 after filling out. */
static int
send_string(const json_t *req, const char *name, compose_str_t *s, send_result_t *out)
{
    const json_t *v = json_object_get(req, name);
    s->data = NULL;
    s->len = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        send_fail(out, 400, "invalid_type", "%s: must be a string", name);
        return -1;
    }
    s->data = json_string_value(v);
    s->len = json_string_length(v);
    return 0;
}

/* A member that is a string or an array of strings, as a list of at
 * most max entries (*list malloc'd, NULL when absent).  0 or -1. */
static int
send_string_list(const json_t *req, const char *name, size_t max, compose_str_t **list, size_t *count,
                 send_result_t *out)
{
    const json_t *v = json_object_get(req, name);
    size_t n;
    *list = NULL;
    *count = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) && !json_is_array(v)) {
        send_fail(out, 400, "invalid_type", "%s: must be a string or an array of strings", name);
        return -1;
    }
    n = json_is_string(v) ? 1 : json_array_size(v);
    if (n > max) {
        send_fail(out, 400, strcmp(name, "references") == 0 ? "too_large" : "too_many_recipients",
                  "%s: at most %zu entries", name, max);
        return -1;
    }
    if (n == 0)
        return 0;
    if ((*list = calloc(n, sizeof(**list))) == NULL) {
        send_fail(out, 500, "internal", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_is_string(v) ? v : json_array_get(v, i);
        if (!json_is_string(item)) {
            send_fail(out, 400, "invalid_type", "%s[%zu]: must be a string", name, i);
            free(*list);
            *list = NULL;
            return -1;
        }
        (*list)[i].data = json_string_value(item);
        (*list)[i].len = json_string_length(item);
    }
    *count = n;
    return 0;
}

/* Seconds until the "YYYY-MM-DDTHH:MM:SSZ" at the start of text, or -1. */
static long
send_seconds_until(const char *text)
{
    struct tm tm;
    char *end;
    time_t when, now = time(NULL);
    memset(&tm, 0, sizeof(tm));
    end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL)
        return -1;
    when = timegm(&tm);
    return when > now ? (long)(when - now) : 1;
}

/* 429 for a 4.7.1: the burst reply says "retry in N s", the daily one
 * "resets at <UTC time>" (lib/util/reply.c); a customised text naming neither
 * gets SEND_RETRY_RATE. */
static void
send_rate_limited(const smtp_reply_t *r, send_result_t *out)
{
    const char *p;
    long secs;
    if ((p = strstr(r->text, "retry in ")) != NULL && (secs = strtol(p + 9, NULL, 10)) > 0) {
        send_fail(out, 429, "burst_limit", "%s", r->text);
        out->retry_after = (int)(secs > 86400 ? 86400 : secs);
    } else if ((p = strstr(r->text, "resets at ")) != NULL && (secs = send_seconds_until(p + 10)) > 0) {
        send_fail(out, 429, "daily_limit", "%s", r->text);
        out->retry_after = (int)(secs > 2 * 86400 ? 2 * 86400 : secs);
    } else {
        send_fail(out, 429, "rate_limited", "%s", r->text);
        out->retry_after = SEND_RETRY_RATE;
    }
}

/* Postfix's refusal as an HTTP status (the table is in send.h). */
static void
send_refused(const smtp_outcome_t *o, send_result_t *out)
{
    const smtp_reply_t *r = &o->reply;
    const char *x = r->xcode;
    const char *text = r->text[0] ? r->text : "refused";

    if (r->code >= 400 && r->code < 500) {
        if (strncmp(x, "4.7.1", 5) == 0 && x[5] == '\0') {
            send_rate_limited(r, out);
        } else if (strncmp(x, "4.3.", 4) == 0) {
            send_fail(out, 503, "backend_unavailable", "%s", text);
            out->retry_after = SEND_RETRY_BACKEND;
        } else {
            send_fail(out, 503, "temporarily_refused", "%s", text);
            out->retry_after = SEND_RETRY_TEMPORARY;
        }
        return;
    }
    switch (o->stage) {
    case SMTP_STAGE_MAIL:
        if (strncmp(x, "5.7.", 4) == 0)
            send_fail(out, 403, "sender_refused", "%s", text);
        else
            send_fail(out, 502, "submission_refused", "MAIL: %s", text);
        return;
    case SMTP_STAGE_RCPT:
        send_fail(out, 422, "recipient_refused", "%s", text);
        return;
    case SMTP_STAGE_MESSAGE:
        send_fail(out, 422, "message_refused", "%s", text);
        return;
    default:
        /* greeting, EHLO, DATA: our own Postfix will not take mail at all */
        send_fail(out, 502, "submission_refused", "%s: %s", smtp_stage_name(o->stage), text);
        return;
    }
}

/* "queued as 4Bx9Qz1kHrz" in Postfix's 250 reply. */
static void
send_queue_id(const char *text, char *out, size_t outlen)
{
    const char *p = strstr(text, "queued as ");
    size_t n = 0;
    out[0] = '\0';
    if (p == NULL)
        return;
    for (p += 10; n + 1 < outlen && ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'));
         p++)
        out[n++] = *p;
    out[n] = '\0';
}

/* Checks the request's members; fills req (lists malloc'd).  0 or -1. */
static int
send_parse_request(const json_t *request, compose_request_t *req, compose_str_t **to, compose_str_t **cc,
                   compose_str_t **refs, send_result_t *out)
{
    const char *key;
    const json_t *value;
    size_t to_count, cc_count, refs_count;

    if (!json_is_object(request)) {
        send_fail(out, 400, "invalid_request", "the request must be a JSON object");
        return -1;
    }
    json_object_foreach((json_t *)request, key, value) {
        int known = 0;
        (void)value;
        for (size_t i = 0; i < sizeof(send_fields) / sizeof(send_fields[0]) && !known; i++)
            known = strcmp(key, send_fields[i]) == 0;
        if (!known) {
            send_fail(out, 400, "unknown_field", "unknown field \"%.64s\"", key);
            return -1;
        }
    }
    if (send_string_list(request, "to", COMPOSE_MAX_RECIPIENTS, to, &to_count, out) != 0 ||
        send_string_list(request, "cc", COMPOSE_MAX_RECIPIENTS, cc, &cc_count, out) != 0 ||
        send_string_list(request, "references", COMPOSE_MAX_REFERENCES, refs, &refs_count, out) != 0 ||
        send_string(request, "subject", &req->subject, out) != 0 || send_string(request, "text", &req->text, out) != 0 ||
        send_string(request, "html", &req->html, out) != 0 ||
        send_string(request, "inReplyTo", &req->in_reply_to, out) != 0)
        return -1;
    req->to = *to;
    req->to_count = to_count;
    req->cc = *cc;
    req->cc_count = cc_count;
    req->references = *refs;
    req->references_count = refs_count;
    return 0;
}

int
send_as_inbox(const pi_config_t *cfg, const char *from_address, const char *display_name, const json_t *request,
              send_result_t *out)
{
    compose_request_t req = { .from_address = from_address, .display_name = display_name };
    compose_str_t *to = NULL, *cc = NULL, *refs = NULL;
    compose_message_t msg = { 0 };
    compose_error_t cerr;
    smtp_submission_t sub;
    smtp_outcome_t outcome;
    char host[64], password[256] = "";
    int port;

    memset(out, 0, sizeof(*out));
    if (send_parse_request(request, &req, &to, &cc, &refs, out) != 0)
        goto done;
    if (compose_build(&req, &msg, &cerr) != 0) {
        send_fail(out, strcmp(cerr.code, "internal") == 0 ? 500 : 400, cerr.code, "%s", cerr.message);
        goto done;
    }
    snprintf(out->message_id, sizeof(out->message_id), "%s", msg.message_id);
    if (config_parse_hostport(cfg->api_submission, host, sizeof(host), &port) != 0) {
        send_fail(out, 500, "internal", "api_submission \"%s\" is not IP:port", cfg->api_submission);
        goto done;
    }
    if (*cfg->api_submission_login) {
        char perr[300];
        if (secret_file_read(cfg->api_submission_password_file, password, sizeof(password), perr, sizeof(perr)) < 0) {
            send_fail(out, 500, "internal", "api_submission_password_file: %s", perr);
            goto done;
        }
    }
    sub = (smtp_submission_t){
        .host = host,
        .port = port,
        .timeout_ms = (int)cfg->api_submission_timeout_ms,
        .helo = cfg->api_helo,
        .login = cfg->api_submission_login,
        .password = password,
        .from = from_address,
        .rcpts = (const char *const *)msg.rcpts,
        .rcpt_count = msg.rcpt_count,
        .data = msg.data,
        .data_len = msg.len,
    };
    switch (smtp_submit(&sub, &outcome)) {
    case SMTP_QUEUED:
        out->http_status = 202;
        send_queue_id(outcome.reply.text, out->queue_id, sizeof(out->queue_id));
        snprintf(out->message, sizeof(out->message), "%.*s", (int)sizeof(out->message) - 1, outcome.reply.text);
        break;
    case SMTP_REFUSED:
        send_refused(&outcome, out);
        break;
    case SMTP_TRANSPORT:
        if (outcome.stage == SMTP_STAGE_MESSAGE) {
            /* The message was sent but its reply never came: Postfix may
             * have queued it.  Not a plain 503, so a client does not blindly
             * send it twice; message_id lets it look the message up. */
            send_fail(out, 504, "submission_outcome_unknown", "no reply after the message (%s); it may have been queued",
                      outcome.error);
        } else {
            send_fail(out, 503, "submission_unavailable", "Postfix submission %s failed at %s: %s",
                      cfg->api_submission, smtp_stage_name(outcome.stage), outcome.error);
            out->retry_after = SEND_RETRY_BACKEND;
        }
        break;
    }
    if (outcome.reply.code != 0)
        snprintf(out->smtp_reply, sizeof(out->smtp_reply), "%d%s%s %.400s", outcome.reply.code,
                 outcome.reply.xcode[0] ? " " : "", outcome.reply.xcode, outcome.reply.text);
done:
    explicit_bzero(password, sizeof(password));
    compose_message_free(&msg);
    free(to);
    free(cc);
    free(refs);
    return out->http_status;
}
