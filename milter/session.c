/*
 * session.c -- per-session and per-message state of the milter, and the
 * order of lookups, checks, reservations and records.  See session.h.
 *
 * Log lines (one per decision):
 *   QUEUEID: stage=mail direction=outbound sender=... inbox=... action=... reason=...
 *   QUEUEID: stage=rcpt rcpt=... inbox=... action=... reason=... sendsToday=N/LIMIT
 *   QUEUEID: stage=eom direction=... inbox=... action=accept recipients=N records=N
 * QUEUEID is Postfix's {i}, or NOQUEUE before Postfix has assigned it.
 */
#include "session.h"
#include "clock.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "header.h"
#include "inbound.h"
#include "log.h"
#include "milter_metrics.h"
#include "msgbuf.h"
#include "suspend.h"

#define NOQUEUE "NOQUEUE"
#define HEADER_RAW_MAX (64 * 1024)   /* raw bytes kept per header of interest */
#define HEADER_TEXT_MAX 4096         /* decoded bytes stored per header */
#define REFERENCES_MAX 16384
#define MESSAGE_ID_MAX 998           /* RFC 5322's line limit; keeps the row within btree's entry size */

typedef enum {
    HDR_MESSAGE_ID = 0, HDR_IN_REPLY_TO, HDR_REFERENCES, HDR_FROM, HDR_TO, HDR_CC, HDR_SUBJECT, HDR_COUNT
} header_id_t;

static const char *const header_names[HDR_COUNT] = {
    "Message-ID", "In-Reply-To", "References", "From", "To", "Cc", "Subject"
};
static const char *const header_json_keys[HDR_COUNT] = {
    "messageId", "inReplyTo", "references", "from", "to", "cc", "subject"
};

/* A growable list of strings. */
typedef struct {
    char **items;
    size_t count;
} strlist_t;

/* An inbox among the recipients, with the recipient addresses it got. */
typedef struct {
    char id[40];
    strlist_t addresses;
} rcpt_inbox_t;

struct session {
    runtime_t *rt;
    char client[64];
    int trusted;
    /* the current message */
    int in_message;
    int unchecked;              /* a backend failed and on_backend_error=accept */
    int outbound;
    int authenticated;
    char queue_id[32];
    char sender[ADDRESS_MAX + 1];
    inbox_lookup_t sender_inbox;
    strlist_t tokens;           /* reservations on the sender inbox */
    strlist_t charged;          /* recipients charged to the sender inbox */
    rcpt_inbox_t *rcpt_inboxes;
    size_t rcpt_inbox_count;
    char *headers[HDR_COUNT];
    size_t header_len[HDR_COUNT];
    size_t size;
    int content_decided;        /* whether to keep a copy is decided at the first header */
    int keep_content;           /* a copy is kept for inbound_analyse */
    msgbuf_t content;
};

static atomic_ullong session_token_counter;

static int
strlist_add(strlist_t *list, const char *item)
{
    char **grown = realloc(list->items, (list->count + 1) * sizeof(char *));
    if (grown == NULL)
        return -1;
    list->items = grown;
    if ((list->items[list->count] = strdup(item)) == NULL)
        return -1;
    list->count++;
    return 0;
}

static void
strlist_clear(strlist_t *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static const char *
session_qid(const session_t *s, const char *queue_id)
{
    if (queue_id && *queue_id)
        return queue_id;
    return s->queue_id[0] ? s->queue_id : NOQUEUE;
}

static void
session_note_queue_id(session_t *s, const char *queue_id)
{
    if (queue_id && *queue_id)
        snprintf(s->queue_id, sizeof(s->queue_id), "%s", queue_id);
}

session_t *
session_new(runtime_t *rt, const struct sockaddr *client, const char *client_text)
{
    session_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->rt = rt;
    snprintf(s->client, sizeof(s->client), "%s", client_text ? client_text : "unknown");
    s->trusted = cidr_list_match_sockaddr(rt->cfg->trusted_networks, client);
    return s;
}

runtime_t *
session_runtime(session_t *s)
{
    return s->rt;
}

/* Gives back every reservation of the current message. */
static void
session_refund(session_t *s)
{
    char err[256];
    for (size_t i = 0; i < s->tokens.count; i++) {
        if (limiter_refund(s->rt->limiter, s->sender_inbox.id, s->tokens.items[i], err, sizeof(err)) != 0)
            log_warn("%s: stage=refund inbox=%s token=%s action=lost reason=backend error=\"%s\"",
                     session_qid(s, NULL), s->sender_inbox.address, s->tokens.items[i], err);
    }
    if (s->tokens.count)
        log_info("%s: stage=refund inbox=%s refunded=%zu", session_qid(s, NULL), s->sender_inbox.address,
                 s->tokens.count);
    strlist_clear(&s->tokens);
}

/* Forgets the current message; reservations must be settled first. */
static void
session_clear_message(session_t *s)
{
    strlist_clear(&s->tokens);
    strlist_clear(&s->charged);
    for (size_t i = 0; i < s->rcpt_inbox_count; i++)
        strlist_clear(&s->rcpt_inboxes[i].addresses);
    free(s->rcpt_inboxes);
    s->rcpt_inboxes = NULL;
    s->rcpt_inbox_count = 0;
    for (int h = 0; h < HDR_COUNT; h++) {
        free(s->headers[h]);
        s->headers[h] = NULL;
        s->header_len[h] = 0;
    }
    msgbuf_clear(&s->content);
    s->content_decided = s->keep_content = 0;
    s->in_message = s->unchecked = s->outbound = s->authenticated = 0;
    s->queue_id[0] = s->sender[0] = '\0';
    memset(&s->sender_inbox, 0, sizeof(s->sender_inbox));
    s->size = 0;
}

void
session_abort_message(session_t *s)
{
    if (s == NULL)
        return;
    session_refund(s);
    session_clear_message(s);
}

void
session_free(session_t *s)
{
    if (s == NULL)
        return;
    session_abort_message(s);
    free(s);
}

static void
session_backend_error(session_t *s, const char *stage, const char *address, const char *what, const char *err,
                      const char *queue_id, decision_t *out)
{
    decide_backend_error(s->rt->cfg, address, out);
    if (out->action == DECISION_CONTINUE)
        s->unchecked = 1;
    log_error("%s: stage=%s %s action=%s reason=backend error=\"%s\"", session_qid(s, queue_id), stage, what,
              out->action == DECISION_CONTINUE ? "accept" : "tempfail", err);
}

static const char *
decision_word(const decision_t *d)
{
    return d->action == DECISION_CONTINUE ? "continue" : d->action == DECISION_REJECT ? "reject" : "tempfail";
}

void
session_mail(session_t *s, const char *sender, const char *login, const char *queue_id, decision_t *out)
{
    char err[256], what[600];
    address_status_t st;

    session_abort_message(s);
    s->in_message = 1;
    session_note_queue_id(s, queue_id);
    s->authenticated = login && *login;
    s->outbound = s->authenticated || s->trusted;

    st = address_normalize(sender, s->sender, sizeof(s->sender));
    if (st == ADDRESS_MALFORMED) {
        decide_malformed(s->rt->cfg, out);
        log_info("%s: stage=mail client=%s action=%s reason=malformed", session_qid(s, queue_id), s->client,
                 decision_word(out));
        return;
    }
    if (st == ADDRESS_NULL_SENDER && !s->outbound) {
        memset(out, 0, sizeof(*out));
        out->action = DECISION_CONTINUE;
        out->reason = "null_sender";
        return;
    }
    snprintf(what, sizeof(what), "direction=%s sender=<%s>%s%s", s->outbound ? "outbound" : "inbound", s->sender,
             s->authenticated ? " login=" : "", s->authenticated ? login : "");
    if (st == ADDRESS_NULL_SENDER) {
        memset(&s->sender_inbox, 0, sizeof(s->sender_inbox));
    } else if (store_lookup(s->rt->store, s->sender, s->authenticated ? login : NULL, &s->sender_inbox, err,
                            sizeof(err)) != 0) {
        session_backend_error(s, "mail", s->sender, what, err, queue_id, out);
        return;
    }
    decide_sender(s->rt->cfg, s->outbound, s->authenticated, st == ADDRESS_NULL_SENDER, &s->sender_inbox,
                  s->sender, out);
    if (out->action != DECISION_CONTINUE || s->outbound)
        log_info("%s: stage=mail %s inbox=%s action=%s reason=%s", session_qid(s, queue_id), what,
                 s->sender_inbox.found ? s->sender_inbox.address : "-", decision_word(out), out->reason);
}

/* Notes an accepted recipient that is one of our inboxes. */
static int
session_add_rcpt_inbox(session_t *s, const inbox_lookup_t *inbox)
{
    for (size_t i = 0; i < s->rcpt_inbox_count; i++)
        if (strcmp(s->rcpt_inboxes[i].id, inbox->id) == 0)
            return strlist_add(&s->rcpt_inboxes[i].addresses, inbox->address);
    rcpt_inbox_t *grown = realloc(s->rcpt_inboxes, (s->rcpt_inbox_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    s->rcpt_inboxes = grown;
    memset(&grown[s->rcpt_inbox_count], 0, sizeof(*grown));
    snprintf(grown[s->rcpt_inbox_count].id, sizeof(grown->id), "%s", inbox->id);
    s->rcpt_inbox_count++;
    return strlist_add(&grown[s->rcpt_inbox_count - 1].addresses, inbox->address);
}

/* Whether rcpt is on the sender inbox's suppression list: 1 when that
 * decided the recipient (refused, or a backend error), 0 to go on.
 * Asked before the reservation, so a refused recipient costs nothing. */
static int
session_suppressed(session_t *s, const char *rcpt, const char *queue_id, long long started_us, decision_t *out)
{
    char err[256], what[600];
    suppression_t sup;
    int rc = store_suppressed(s->rt->store, s->sender_inbox.id, rcpt, &sup, err, sizeof(err));

    snprintf(what, sizeof(what), "rcpt=<%s> inbox=%s", rcpt, s->sender_inbox.address);
    if (rc < 0) {
        session_backend_error(s, "rcpt", s->sender_inbox.address, what, err, queue_id, out);
        return 1;
    }
    if (rc == 0)
        return 0;
    decide_suppressed(s->rt->cfg, &s->sender_inbox, rcpt, &sup, out);
    log_info("%s: stage=rcpt direction=outbound %s action=%s reason=%s source=%s us=%lld", session_qid(s, queue_id),
             what, decision_word(out), out->reason, sup.source, clock_us() - started_us);
    return 1;
}

/* Reserves one send of the sender inbox for rcpt; fills out. */
static void
session_reserve(session_t *s, const char *rcpt, const char *queue_id, long long started_us, decision_t *out)
{
    char token[96], err[256], what[600];
    limit_result_t limit;
    unsigned long long n = atomic_fetch_add(&session_token_counter, 1);

    snprintf(token, sizeof(token), "%ld.%d.%llu", (long)time(NULL), (int)getpid(), n);
    snprintf(what, sizeof(what), "rcpt=<%s> inbox=%s", rcpt, s->sender_inbox.address);
    if (limiter_reserve(s->rt->limiter, s->sender_inbox.id, s->sender_inbox.daily_limit,
                        s->sender_inbox.burst_limit, token, &limit, err, sizeof(err)) != 0) {
        session_backend_error(s, "rcpt", s->sender_inbox.address, what, err, queue_id, out);
        return;
    }
    decide_limit(s->rt->cfg, &s->sender_inbox, &limit, out);
    milter_metrics_cap_hit(limit.verdict);
    if (out->action == DECISION_CONTINUE && (strlist_add(&s->tokens, token) != 0 ||
                                             strlist_add(&s->charged, rcpt) != 0)) {
        /* Out of memory: give the send back rather than lose track of it. */
        limiter_refund(s->rt->limiter, s->sender_inbox.id, token, err, sizeof(err));
        decide_record_failed(s->rt->cfg, s->sender_inbox.address, out);
    }
    log_info("%s: stage=rcpt direction=outbound %s action=%s reason=%s sendsToday=%ld/%d burst=%ld/%d us=%lld",
             session_qid(s, queue_id), what, decision_word(out), out->reason, limit.sends_today,
             s->sender_inbox.daily_limit, limit.burst_used, s->sender_inbox.burst_limit,
             clock_us() - started_us);
}

void
session_rcpt(session_t *s, const char *rcpt_raw, const char *queue_id, decision_t *out)
{
    char rcpt[ADDRESS_MAX + 1], err[256];
    inbox_lookup_t inbox;
    long long started_us = clock_us();

    session_note_queue_id(s, queue_id);
    if (s->unchecked) {
        memset(out, 0, sizeof(*out));
        out->reason = "unchecked";
        return;
    }
    if (address_normalize(rcpt_raw, rcpt, sizeof(rcpt)) != ADDRESS_OK) {
        decide_malformed(s->rt->cfg, out);
        log_info("%s: stage=rcpt action=%s reason=malformed", session_qid(s, queue_id), decision_word(out));
        return;
    }
    const char *domain = address_domain(rcpt);
    if (domain_cache_is_foreign(s->rt->foreign_domains, domain)) {
        memset(&inbox, 0, sizeof(inbox));
    } else if (store_lookup(s->rt->store, rcpt, NULL, &inbox, err, sizeof(err)) != 0) {
        char what[300];
        snprintf(what, sizeof(what), "rcpt=<%s>", rcpt);
        session_backend_error(s, "rcpt", rcpt, what, err, queue_id, out);
        return;
    }
    decide_recipient(s->rt->cfg, &inbox, rcpt, out);
    if (!inbox.found && out->action == DECISION_CONTINUE)
        domain_cache_note_foreign(s->rt->foreign_domains, domain);
    if (out->action != DECISION_CONTINUE || !s->outbound) {
        if (out->action != DECISION_CONTINUE || inbox.found)
            log_info("%s: stage=rcpt direction=%s rcpt=<%s> inbox=%s action=%s reason=%s us=%lld",
                     session_qid(s, queue_id), s->outbound ? "outbound" : "inbound", rcpt,
                     inbox.found ? inbox.address : "-", decision_word(out), out->reason, clock_us() - started_us);
        if (out->action != DECISION_CONTINUE)
            return;
    } else {
        if (s->sender_inbox.suppressions && session_suppressed(s, rcpt, queue_id, started_us, out))
            return;
        session_reserve(s, rcpt, queue_id, started_us, out);
        if (out->action != DECISION_CONTINUE || s->unchecked)
            return;
    }
    if (inbox.found && session_add_rcpt_inbox(s, &inbox) != 0)
        decide_record_failed(s->rt->cfg, rcpt, out);
}

static header_id_t
session_header_id(const char *name)
{
    for (int h = 0; h < HDR_COUNT; h++)
        if (strcasecmp(name, header_names[h]) == 0)
            return (header_id_t)h;
    return HDR_COUNT;
}

/* A copy of the message is kept when it goes to an inbox: bounces,
 * complaints and MIME structure are read from it at end of message. */
static void
session_decide_content(session_t *s)
{
    if (s->content_decided)
        return;
    s->content_decided = 1;
    s->keep_content = !s->unchecked && s->rcpt_inbox_count > 0 && s->rt->cfg->parse_max_size > 0;
    msgbuf_init(&s->content, s->keep_content ? (size_t)s->rt->cfg->parse_max_size : 0);
}

void
session_header(session_t *s, const char *name, const char *value)
{
    header_id_t h = session_header_id(name);
    size_t vlen = strlen(value);

    s->size += strlen(name) + 2 + vlen + 2;
    session_decide_content(s);
    if (s->keep_content)
        msgbuf_header(&s->content, name, value);
    if (h == HDR_COUNT || s->unchecked)
        return;
    /* First occurrence wins, except To and Cc, which accumulate. */
    if (s->headers[h] && h != HDR_TO && h != HDR_CC)
        return;
    if (s->header_len[h] >= HEADER_RAW_MAX)
        return;
    size_t keep = vlen;
    if (s->header_len[h] + 2 + keep > HEADER_RAW_MAX)
        keep = HEADER_RAW_MAX - s->header_len[h] - 2;
    char *grown = realloc(s->headers[h], s->header_len[h] + 2 + keep + 1);
    if (grown == NULL)
        return;
    if (s->header_len[h]) {
        memcpy(grown + s->header_len[h], ", ", 2);
        s->header_len[h] += 2;
    }
    memcpy(grown + s->header_len[h], value, keep);
    s->header_len[h] += keep;
    grown[s->header_len[h]] = '\0';
    s->headers[h] = grown;
}

void
session_body(session_t *s, const unsigned char *chunk, size_t len)
{
    s->size += len;
    session_decide_content(s);
    if (s->keep_content)
        msgbuf_body(&s->content, chunk, len);
}

static json_t *
session_strlist_json(const strlist_t *list)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(arr, json_string(list->items[i]));
    return arr;
}

/* What the kept copy says (bodies, attachments, a bounce or complaint
 * report), into doc. */
static void
session_analyse_content(session_t *s, json_t *doc, const char *queue_id)
{
    long long started_us = clock_us();
    json_t *found;

    msgbuf_finish(&s->content);
    found = inbound_analyse(s->content.data, s->content.len, s->content.truncated);
    if (found == NULL) {
        milter_metrics_report("unparsed");
        log_info("%s: stage=eom content=unparsed size=%zu", queue_id, s->content.seen);
        return;
    }
    json_t *report = json_object_get(found, "report");
    milter_metrics_report(report ? json_string_value(json_object_get(report, "kind")) : "none");
    if (report != NULL) {
        char policy[SUSPEND_POLICY_MAX];
        json_object_set(doc, "report", report);
        /* A bounce or complaint may suspend the inbox (check_suspension). */
        if (suspend_policy_json(s->rt->cfg, policy, sizeof(policy)) > 0)
            json_object_set_new(doc, "policy", json_loads(policy, 0, NULL));
        log_info("%s: stage=eom content=%s style=%s originalMessageId=%s us=%lld", queue_id,
                 json_string_value(json_object_get(report, "kind")),
                 json_string_value(json_object_get(report, "style")),
                 json_string_value(json_object_get(report, "originalMessageId")) ?: "-", clock_us() - started_us);
    }
    json_object_set(doc, "parsed", json_object_get(found, "parsed"));
    json_object_set(doc, "contentTruncated", json_object_get(found, "truncated"));
    json_decref(found);
}

/* The document record_message() takes (sql/001_schema.sql; "participants": sql/004_threads.sql;
 * "parsed", "report", "contentTruncated", "policy": sql/006_inbound.sql). */
static char *
session_record_doc(session_t *s, const char *queue_id)
{
    json_t *doc = json_object(), *rcpts = json_array();
    char *text;

    json_object_set_new(doc, "queueId", json_string(queue_id));
    json_object_set_new(doc, "envelopeFrom", json_string(s->sender));
    json_object_set_new(doc, "size", json_integer((json_int_t)(s->size > 0x7fffffff ? 0x7fffffff : s->size)));
    for (int h = 0; h < HDR_COUNT; h++) {
        if (s->headers[h] == NULL)
            continue;
        char *decoded = header_decode(s->headers[h], h == HDR_REFERENCES                          ? REFERENCES_MAX
                                                     : h == HDR_MESSAGE_ID || h == HDR_IN_REPLY_TO ? MESSAGE_ID_MAX
                                                                                                   : HEADER_TEXT_MAX);
        if (decoded == NULL)
            continue;
        /* Message-ID style headers are kept as the bare <id>. */
        if (h == HDR_MESSAGE_ID || h == HDR_IN_REPLY_TO) {
            char *p = decoded;
            while (*p == ' ' || *p == '\t')
                p++;
            char *end = strchr(p, '>');
            if (*p == '<' && end)
                end[1] = '\0';
            json_object_set_new(doc, header_json_keys[h], json_string(p));
        } else {
            json_object_set_new(doc, header_json_keys[h], json_string(decoded));
        }
        free(decoded);
    }
    /* The addresses of From, To and Cc: the thread's participants. */
    char *people[100];
    size_t npeople = 0;
    json_t *participants = json_array();
    for (int h = HDR_FROM; h <= HDR_CC; h++)
        if (s->headers[h] != NULL)
            header_addresses(s->headers[h], people, &npeople, sizeof(people) / sizeof(people[0]));
    for (size_t i = 0; i < npeople; i++) {
        json_array_append_new(participants, json_string(people[i]));
        free(people[i]);
    }
    json_object_set_new(doc, "participants", participants);
    if (s->outbound && s->sender_inbox.found && s->charged.count > 0) {
        json_object_set_new(doc, "sender", json_string(s->sender_inbox.id));
        json_object_set_new(doc, "senderRecipients", session_strlist_json(&s->charged));
    }
    for (size_t i = 0; i < s->rcpt_inbox_count; i++) {
        json_t *r = json_object();
        json_object_set_new(r, "inbox", json_string(s->rcpt_inboxes[i].id));
        json_object_set_new(r, "addresses", session_strlist_json(&s->rcpt_inboxes[i].addresses));
        json_array_append_new(rcpts, r);
    }
    json_object_set_new(doc, "recipients", rcpts);
    if (s->keep_content && s->rcpt_inbox_count > 0)
        session_analyse_content(s, doc, queue_id);
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

void
session_end_of_message(session_t *s, const char *queue_id_macro, decision_t *out)
{
    char err[256];
    const char *queue_id;
    char *doc;
    size_t records;

    session_note_queue_id(s, queue_id_macro);
    queue_id = session_qid(s, NULL);
    memset(out, 0, sizeof(*out));
    out->reason = "accepted";
    records = s->rcpt_inbox_count + (s->tokens.count > 0 ? 1 : 0);
    if (s->unchecked || records == 0) {
        session_clear_message(s);
        return;
    }
    doc = session_record_doc(s, queue_id);
    if (doc == NULL || record_batch_write(s->rt->records, doc, err, sizeof(err)) != 0) {
        /* Never accept a message whose record is missing, whatever
         * on_backend_error says. */
        decide_record_failed(s->rt->cfg, s->sender_inbox.found ? s->sender_inbox.address : s->sender, out);
        log_error("%s: stage=eom direction=%s inbox=%s action=tempfail reason=backend error=\"%s\"", queue_id,
                  s->outbound ? "outbound" : "inbound", s->sender_inbox.found ? s->sender_inbox.address : "-",
                  doc ? err : "out of memory");
        free(doc);
        session_abort_message(s);
        return;
    }
    free(doc);
    milter_metrics_recorded("outbound", s->outbound && s->sender_inbox.found && s->charged.count > 0);
    milter_metrics_recorded("inbound", s->rcpt_inbox_count);
    log_info("%s: stage=eom direction=%s inbox=%s action=accept recipients=%zu inboxRecipients=%zu size=%zu",
             queue_id, s->outbound ? "outbound" : "inbound", s->sender_inbox.found ? s->sender_inbox.address : "-",
             s->charged.count, s->rcpt_inbox_count, s->size);
    strlist_clear(&s->tokens); /* the reservations stand: nothing to refund */
    session_clear_message(s);
}
