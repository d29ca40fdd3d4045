/*
 * check.c -- the transaction sequence.  See check.h.
 */
#include "check.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "analyzer.h"
#include "clock.h"
#include "log.h"

#define NOQUEUE "NOQUEUE"
#define HEADER_RAW_MAX (64 * 1024)   /* raw bytes kept per header of interest */
/* Recipients remembered per transaction in CHECK_CHARGE; past it the
 * check counts on (recipients are not told apart any more), so it only
 * gets stricter. */
#define CHARGE_RCPTS_MAX 10000
/* Room for a DKIM-Signature value (lib/mail/dkim_signer.h's
 * DKIM_SIGNER_HEADER_MAX: core includes no mail header). */
#define CHECK_SIGNATURE_MAX 4096

const char *const check_header_names[CHECK_HDR_COUNT] = {
    "Message-ID", "In-Reply-To", "References", "From", "To", "Cc", "Subject"
};

struct check {
    check_env_t env;
    char client[64];
    int trusted;
    int non_smtp;               /* CHECK_NON_SMTP */
    /* the current transaction */
    int unchecked;              /* a backend failed and on_backend_error=accept */
    int outbound;
    int authenticated;
    char queue_id[32];
    char sender[ADDRESS_MAX + 1];
    inbox_lookup_t sender_inbox;
    char who[700];              /* "direction=.. sender=<..> [login=..]" */
    check_list_t tokens;        /* CHECK_RESERVE: reservations on the sender inbox */
    check_list_t charged;       /* recipients charged (RESERVE) or let through (CHARGE) */
    check_rcpt_inbox_t *rcpt_inboxes;
    size_t rcpt_inbox_count;
    char *headers[CHECK_HDR_COUNT];
    size_t header_len[CHECK_HDR_COUNT];
    size_t size;
    int content_decided;        /* whether to keep a copy is decided at the first header */
    int keep_content;
    msgbuf_t content;
    /* the DKIM signature (outbound mail from an inbox) */
    int sign_decided;           /* decided at the first header */
    int sign_result;            /* sign_start's answer: 0 signing (signer) or not signed, 1 no key, -1 failed */
    void *signer;
    char sign_error[300];       /* why sign_result is not 0, or a feed failed */
    /* tracking (outbound mail from an inbox with tracking on): the whole
     * message kept, its body fed to the signer only at the end, as
     * rewritten */
    int tracking;
    msgbuf_t track_copy;        /* header and body, at most tracking_max_size */
    size_t track_body_at;       /* where the body starts in it */
    int own_list_unsubscribe;   /* the message has a List-Unsubscribe field */
    check_track_t track;        /* the backend's answer, until the record */
};

static atomic_ullong check_token_counter;

/* ---- small helpers ----------------------------------------------------------------------------- */

/* The copy is freed by check_list_clear (the analyzer loses it when the
 * list is an element of c->rcpt_inboxes, a realloc'd array). */
ANALYZER_NO_LEAK_BEGIN
static int
check_list_add(check_list_t *list, const char *item)
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
ANALYZER_NO_LEAK_END

static int
check_list_has(const check_list_t *list, const char *item)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i], item) == 0)
            return 1;
    return 0;
}

static void
check_list_clear(check_list_t *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static const char *
check_qid(const check_t *c, const char *queue_id)
{
    if (queue_id && *queue_id)
        return queue_id;
    return c->queue_id[0] ? c->queue_id : NOQUEUE;
}

static void
check_note_queue_id(check_t *c, const char *queue_id)
{
    if (queue_id && *queue_id)
        snprintf(c->queue_id, sizeof(c->queue_id), "%s", queue_id);
}

/* A reservation or charge name unique across processes and hosts' pids
 * (time, pid, counter); a given one keeps only [0-9A-Za-z./-]. */
static void
check_token(const char *given, char *out, size_t outlen)
{
    if (given && *given)
        snprintf(out, outlen, "%s", given);
    else
        snprintf(out, outlen, "%ld.%d.%llu", (long)time(NULL), (int)getpid(),
                 (unsigned long long)atomic_fetch_add(&check_token_counter, 1));
    for (char *p = out; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '.' ||
              ch == '/' || ch == '-'))
            *p = '_';
    }
}

/* A backend failed: 451 4.3.0 or continue per on_backend_error, one line.
 * With "continue" a milter lets the rest of the transaction through
 * unchecked (and unrecorded); a policy service asks again next request. */
static void
check_backend_error(check_t *c, const char *stage, const char *address, const char *what, const char *err,
                    const char *queue_id, long long started_us, decision_t *out)
{
    decide_backend_error(c->env.cfg, address, out);
    if (out->action == DECISION_CONTINUE && c->env.mode == CHECK_RESERVE)
        c->unchecked = 1;
    log_error("%s: stage=%s %s action=%s reason=backend error=\"%s\" us=%lld", check_qid(c, queue_id), stage, what,
              out->action == DECISION_CONTINUE ? "accept" : "tempfail", err, clock_us() - started_us);
}

static void
check_hook_cap(const check_t *c, limit_verdict_t verdict)
{
    if (c->env.hooks && c->env.hooks->cap_hit && verdict != LIMIT_OK)
        c->env.hooks->cap_hit(verdict);
}

/* ---- session and transaction ------------------------------------------------------------------- */

void
check_use(check_t *c, const check_env_t *env, const char *client, int flags)
{
    c->env = *env;
    c->non_smtp = (flags & CHECK_NON_SMTP) != 0;
    c->trusted = (flags & CHECK_TRUSTED) != 0 && !c->non_smtp;
    snprintf(c->client, sizeof(c->client), "%s", client && *client ? client : "unknown");
}

check_t *
check_new(const check_env_t *env, const char *client, int flags)
{
    check_t *c = calloc(1, sizeof(*c));
    if (c != NULL)
        check_use(c, env, client, flags);
    return c;
}

/* Gives back one reservation or charge (n sends) -- also one whose call
 * failed, which may still run late.  Logs what the backend could not do
 * at once.  0 given back, else the backend's 1 (queued) or -1 (lost). */
static int
check_give_back(check_t *c, const inbox_lookup_t *inbox, const char *token, int n)
{
    char err[300];
    int rc = c->env.backend.refund(c->env.backend.ctx, inbox, token, n, err, sizeof(err));
    if (rc != 0)
        log_warn("%s: stage=refund inbox=%s token=%s action=%s reason=backend error=\"%s\"", check_qid(c, NULL),
                 inbox->address, token, rc > 0 ? "queued" : "lost", err);
    return rc;
}

/* Gives back every reservation of the current message. */
static void
check_refund(check_t *c)
{
    size_t refunded = 0;
    for (size_t i = 0; i < c->tokens.count; i++)
        refunded += check_give_back(c, &c->sender_inbox, c->tokens.items[i], 1) == 0;
    if (refunded)
        log_info("%s: stage=refund inbox=%s refunded=%zu", check_qid(c, NULL), c->sender_inbox.address, refunded);
    check_list_clear(&c->tokens);
}

/* Forgets the current message; reservations must be settled first. */
static void
check_clear(check_t *c)
{
    check_list_clear(&c->tokens);
    check_list_clear(&c->charged);
    for (size_t i = 0; i < c->rcpt_inbox_count; i++)
        check_list_clear(&c->rcpt_inboxes[i].addresses);
    free(c->rcpt_inboxes);
    c->rcpt_inboxes = NULL;
    c->rcpt_inbox_count = 0;
    for (int h = 0; h < CHECK_HDR_COUNT; h++) {
        free(c->headers[h]);
        c->headers[h] = NULL;
        c->header_len[h] = 0;
    }
    msgbuf_clear(&c->content);
    c->content_decided = c->keep_content = 0;
    if (c->signer != NULL)
        c->env.backend.sign_free(c->signer);
    c->signer = NULL;
    c->sign_decided = c->sign_result = 0;
    c->sign_error[0] = '\0';
    msgbuf_clear(&c->track_copy);
    if (c->env.backend.track_clear != NULL)
        c->env.backend.track_clear(&c->track);
    memset(&c->track, 0, sizeof(c->track));
    c->tracking = c->own_list_unsubscribe = 0;
    c->track_body_at = 0;
    c->unchecked = c->outbound = c->authenticated = 0;
    c->queue_id[0] = c->sender[0] = c->who[0] = '\0';
    memset(&c->sender_inbox, 0, sizeof(c->sender_inbox));
    c->size = 0;
}

void
check_abort(check_t *c)
{
    if (c == NULL)
        return;
    check_refund(c);
    check_clear(c);
}

void
check_free(check_t *c)
{
    if (c == NULL)
        return;
    check_abort(c);
    free(c);
}

/* Whether login is the service login the API submits with
 * (api_submission_login): it may send as any inbox, because only the
 * daemons know its password and they have checked the caller's key. */
static int
check_service_login(const check_t *c, const char *login)
{
    const char *service = c->env.cfg->api_submission_login;
    return login && *login && service && *service && strcasecmp(login, service) == 0;
}

/* ---- MAIL ------------------------------------------------------------------------------------------ */

/* A malformed address as the client gave it, for its log line: without
 * the brackets the milter's macro has and the policy service's has not,
 * at most 300 bytes (lib/util/log escapes what they hold). */
static int
check_given(const char *raw, const char **start)
{
    size_t len = raw ? strlen(raw) : 0;
    *start = raw ? raw : "";
    if (len >= 2 && raw[0] == '<' && raw[len - 1] == '>') {
        (*start)++;
        len -= 2;
    }
    return (int)(len > 300 ? 300 : len);
}

int
check_sender(check_t *c, const char *stage, const char *sender_raw, const char *login, const char *queue_id,
             decision_t *out)
{
    char err[256];
    long long started_us = clock_us();
    address_status_t st;
    int service;

    check_note_queue_id(c, queue_id);
    c->authenticated = login && *login;
    c->outbound = check_outbound(c, login);
    st = address_normalize(sender_raw, c->sender, sizeof(c->sender));
    if (st == ADDRESS_MALFORMED) {
        decide_malformed(c->env.cfg, out);
        const char *given;
        int given_len = check_given(sender_raw, &given);
        log_info("%s: stage=%s client=%s action=%s reason=%s sender=<%.*s>", check_qid(c, queue_id), stage,
                 c->client, decide_action_word(out), out->reason, given_len, given);
        return 0;
    }
    snprintf(c->who, sizeof(c->who), "direction=%s sender=<%s>%s%s", c->outbound ? "outbound" : "inbound", c->sender,
             c->authenticated ? " login=" : "", c->authenticated ? login : "");
    memset(&c->sender_inbox, 0, sizeof(c->sender_inbox));
    if (st == ADDRESS_NULL_SENDER && !c->outbound) {
        decide_continue(out, REASON(null_sender));
        return 1;
    }
    service = check_service_login(c, login);
    if (st != ADDRESS_NULL_SENDER &&
        c->env.backend.lookup(c->env.backend.ctx, c->sender, c->authenticated && !service ? login : NULL,
                              &c->sender_inbox, err, sizeof(err)) != 0) {
        check_backend_error(c, stage, c->sender, c->who, err, queue_id, started_us, out);
        return 0;
    }
    if (service)
        c->sender_inbox.granted = c->sender_inbox.found && c->sender_inbox.managed ? 1 : 0;
    decide_sender(c->env.cfg, c->outbound, c->authenticated, st == ADDRESS_NULL_SENDER, &c->sender_inbox, c->sender,
                  out);
    if (out->action != DECISION_CONTINUE || (c->outbound && strcmp(stage, "mail") == 0))
        log_info("%s: stage=%s %s inbox=%s action=%s reason=%s us=%lld", check_qid(c, queue_id), stage, c->who,
                 c->sender_inbox.found ? c->sender_inbox.address : "-", decide_action_word(out), out->reason,
                 clock_us() - started_us);
    return out->action == DECISION_CONTINUE;
}

int
check_outbound(const check_t *c, const char *login)
{
    return (login && *login) || c->trusted;
}

void
check_mail(check_t *c, const char *sender, const char *login, const char *queue_id, decision_t *out)
{
    check_refund(c);
    check_clear(c);
    check_sender(c, "mail", sender, login, queue_id, out);
}

/* ---- RCPT ------------------------------------------------------------------------------------------ */

/* Notes an accepted recipient that is one of our inboxes. */
static int
check_add_rcpt_inbox(check_t *c, const inbox_lookup_t *inbox)
{
    for (size_t i = 0; i < c->rcpt_inbox_count; i++)
        if (strcmp(c->rcpt_inboxes[i].id, inbox->id) == 0)
            return check_list_add(&c->rcpt_inboxes[i].addresses, inbox->address);
    check_rcpt_inbox_t *grown = realloc(c->rcpt_inboxes, (c->rcpt_inbox_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    c->rcpt_inboxes = grown;
    memset(&grown[c->rcpt_inbox_count], 0, sizeof(*grown));
    snprintf(grown[c->rcpt_inbox_count].id, sizeof(grown->id), "%s", inbox->id);
    c->rcpt_inbox_count++;
    return check_list_add(&grown[c->rcpt_inbox_count - 1].addresses, inbox->address);
}

/* Whether rcpt is on the sender inbox's suppression list: 1 when that
 * decided the recipient (refused, or a backend error), 0 to go on.
 * Asked before the caps, so a refused recipient costs nothing. */
static int
check_suppressed(check_t *c, const char *rcpt, const char *what, const char *queue_id, long long started_us,
                 decision_t *out)
{
    char err[256];
    suppression_t sup;
    int rc = c->env.backend.suppressed(c->env.backend.ctx, c->sender_inbox.id, rcpt, &sup, err, sizeof(err));

    if (rc < 0) {
        check_backend_error(c, "rcpt", c->sender_inbox.address, what, err, queue_id, started_us, out);
        return 1;
    }
    if (rc == 0)
        return 0;
    decide_suppressed(c->env.cfg, &c->sender_inbox, rcpt, &sup, out);
    log_info("%s: stage=rcpt %s action=%s reason=%s source=%s us=%lld", check_qid(c, queue_id), what,
             decide_action_word(out), out->reason, sup.source, clock_us() - started_us);
    return 1;
}

/* CHECK_RESERVE: reserves one send of the sender inbox for rcpt. */
static void
check_reserve(check_t *c, const char *rcpt, const char *what, const char *queue_id, long long started_us,
              decision_t *out)
{
    char token[96], err[256];
    const inbox_lookup_t *sender = &c->sender_inbox;
    limit_result_t limit;

    check_token(NULL, token, sizeof(token));
    if (c->env.backend.reserve(c->env.backend.ctx, sender, token, &limit, err, sizeof(err)) != 0) {
        check_backend_error(c, "rcpt", sender->address, what, err, queue_id, started_us, out);
        /* The script may still run once the backend answers again: void it. */
        check_give_back(c, sender, token, 1);
        return;
    }
    decide_limit(c->env.cfg, sender, &limit, out);
    check_hook_cap(c, limit.verdict);
    if (out->action == DECISION_CONTINUE &&
        (check_list_add(&c->tokens, token) != 0 || check_list_add(&c->charged, rcpt) != 0)) {
        /* Out of memory: give the send back rather than lose track of it. */
        check_give_back(c, sender, token, 1);
        decide_record_failed(c->env.cfg, sender->address, out);
    }
    log_info("%s: stage=rcpt %s action=%s reason=%s sendsToday=%ld/%d burst=%ld/%d us=%lld", check_qid(c, queue_id),
             what, decide_action_word(out), out->reason, limit.sends_today, sender->daily_limit, limit.burst_used,
             sender->burst_limit, clock_us() - started_us);
}

/* CHECK_CHARGE: would this recipient and those already let through in
 * this transaction fit?  Nothing is reserved: the charge comes at end of
 * message, for the recipients Postfix actually accepted. */
static void
check_fits(check_t *c, const char *rcpt, const char *what, const char *queue_id, long long started_us,
           decision_t *out)
{
    char err[256];
    const inbox_lookup_t *sender = &c->sender_inbox;
    limit_result_t limit;
    int n = (int)c->charged.count + (check_list_has(&c->charged, rcpt) ? 0 : 1);

    if (n < 1)
        n = 1;
    if (c->env.backend.fits(c->env.backend.ctx, sender, n, &limit, err, sizeof(err)) != 0) {
        check_backend_error(c, "rcpt", sender->address, what, err, queue_id, started_us, out);
        return;
    }
    decide_limit(c->env.cfg, sender, &limit, out);
    check_hook_cap(c, limit.verdict);
    if (out->action == DECISION_CONTINUE) {
        out->reason = REASON(fits);
        if (c->charged.count < CHARGE_RCPTS_MAX && !check_list_has(&c->charged, rcpt))
            check_list_add(&c->charged, rcpt);
    }
    log_info("%s: stage=rcpt %s action=%s reason=%s pending=%d sendsToday=%ld/%d burst=%ld/%d us=%lld",
             check_qid(c, queue_id), what, decide_action_word(out), out->reason, n, limit.sends_today,
             sender->daily_limit, limit.burst_used, sender->burst_limit, clock_us() - started_us);
}

static void
check_rcpt_decide(check_t *c, const char *rcpt_raw, const char *queue_id, decision_t *out)
{
    char rcpt[ADDRESS_MAX + 1], err[256], what[1400];
    inbox_lookup_t inbox;
    long long started_us = clock_us();

    check_note_queue_id(c, queue_id);
    if (c->unchecked) {
        decide_continue(out, REASON(unchecked));
        return;
    }
    if (address_normalize(rcpt_raw, rcpt, sizeof(rcpt)) != ADDRESS_OK) {
        decide_malformed(c->env.cfg, out);
        const char *given;
        int given_len = check_given(rcpt_raw, &given);
        log_info("%s: stage=rcpt %s action=%s reason=%s rcpt=<%.*s>", check_qid(c, queue_id), c->who,
                 decide_action_word(out), out->reason, given_len, given);
        return;
    }
    snprintf(what, sizeof(what), "%s rcpt=<%s>", c->who, rcpt);
    const char *domain = address_domain(rcpt);
    if (c->env.foreign_domains && domain_cache_is_foreign(c->env.foreign_domains, domain)) {
        memset(&inbox, 0, sizeof(inbox));
    } else if (c->env.backend.lookup(c->env.backend.ctx, rcpt, NULL, &inbox, err, sizeof(err)) != 0) {
        check_backend_error(c, "rcpt", rcpt, what, err, queue_id, started_us, out);
        return;
    }
    decide_recipient(c->env.cfg, &inbox, rcpt, out);
    if (!inbox.found && out->action == DECISION_CONTINUE && c->env.foreign_domains)
        domain_cache_note_foreign(c->env.foreign_domains, domain);
    if (out->action != DECISION_CONTINUE || !c->outbound) {
        if (out->action != DECISION_CONTINUE || inbox.found)
            log_info("%s: stage=rcpt %s inbox=%s action=%s reason=%s us=%lld", check_qid(c, queue_id), what,
                     inbox.found ? inbox.address : "-", decide_action_word(out), out->reason,
                     clock_us() - started_us);
        if (out->action != DECISION_CONTINUE)
            return;
    } else {
        snprintf(what, sizeof(what), "%s rcpt=<%s> inbox=%s", c->who, rcpt, c->sender_inbox.address);
        if (c->sender_inbox.suppressions && check_suppressed(c, rcpt, what, queue_id, started_us, out))
            return;
        if (c->env.mode == CHECK_CHARGE) {
            check_fits(c, rcpt, what, queue_id, started_us, out);
            return;
        }
        check_reserve(c, rcpt, what, queue_id, started_us, out);
        if (out->action != DECISION_CONTINUE || c->unchecked)
            return;
    }
    if (c->env.mode == CHECK_RESERVE && inbox.found && check_add_rcpt_inbox(c, &inbox) != 0)
        decide_record_failed(c->env.cfg, rcpt, out);
}

void
check_rcpt(check_t *c, const char *rcpt_raw, const char *queue_id, decision_t *out)
{
    check_rcpt_decide(c, rcpt_raw, queue_id, out);
    if (c->non_smtp && out->action != DECISION_CONTINUE && out->reason != REASON(backend)) {
        const char *given;
        int given_len = check_given(rcpt_raw, &given);
        log_info("%s: stage=rcpt %s rcpt=<%.*s> action=continue reason=non_smtp refused=%s", check_qid(c, queue_id),
                 c->who, given_len, given, out->reason);
        decide_continue(out, REASON(non_smtp));
    }
}

/* ---- content --------------------------------------------------------------------------------------- */

/* A copy of the message is kept when it goes to an inbox: bounces,
 * complaints and MIME structure are read from it at end of message. */
static void
check_decide_content(check_t *c)
{
    if (c->content_decided)
        return;
    c->content_decided = 1;
    c->keep_content = !c->unchecked && c->rcpt_inbox_count > 0 && c->env.cfg->parse_max_size > 0;
    msgbuf_init(&c->content, c->keep_content ? (size_t)c->env.cfg->parse_max_size : 0);
}

static void check_sign_failed(check_t *c);

/* Outbound mail from an inbox is signed: the signer is made at the
 * first header (the sender is known by then); a failure is kept for
 * the end of message, which refuses it. */
static void
check_decide_signing(check_t *c)
{
    if (c->sign_decided)
        return;
    c->sign_decided = 1;
    if (c->env.mode != CHECK_RESERVE || c->env.backend.sign_start == NULL || c->unchecked || !c->outbound ||
        !c->sender_inbox.found)
        return;
    c->sign_result = c->env.backend.sign_start(c->env.backend.ctx, &c->sender_inbox, check_qid(c, NULL),
                                               &c->signer, c->sign_error, sizeof(c->sign_error));
    if (c->sign_result != 0 && c->signer != NULL) {
        c->env.backend.sign_free(c->signer);
        c->signer = NULL;
    }
}

/* Tracking is decided with signing: outbound mail from an inbox whose
 * settings switch something on, with a tracking_base_url.  The message
 * is then kept whole; its body reaches the signer at the end. */
static void
check_decide_tracking(check_t *c)
{
    if (c->sign_decided)
        return;
    c->tracking = c->env.mode == CHECK_RESERVE && c->env.backend.track != NULL && !c->unchecked && c->outbound &&
                  c->sender_inbox.found && c->sender_inbox.tracking != 0 && c->env.cfg->tracking_base_url[0];
    msgbuf_init(&c->track_copy, c->tracking ? (size_t)c->env.cfg->tracking_max_size : 0);
}

/* The message outgrew tracking_max_size: it goes as it came, and the
 * body kept so far goes to the signer now. */
static void
check_track_give_up(check_t *c)
{
    log_info("%s: stage=body %s inbox=%s tracking=skipped reason=too_large max=%d", check_qid(c, NULL), c->who,
             c->sender_inbox.address, c->env.cfg->tracking_max_size);
    if (c->signer != NULL && c->track_copy.len > c->track_body_at &&
        c->env.backend.sign_body(c->signer, (const unsigned char *)c->track_copy.data + c->track_body_at,
                                 c->track_copy.len - c->track_body_at, c->sign_error, sizeof(c->sign_error)) != 0)
        check_sign_failed(c);
    msgbuf_clear(&c->track_copy);
    c->tracking = 0;
}

/* Keeps a body chunk for the rewrite: 1 kept, 0 for the signer now. */
static int
check_track_keep(check_t *c, const unsigned char *chunk, size_t len)
{
    if (!c->tracking)
        return 0;
    if (!c->track_copy.in_body) {
        msgbuf_finish(&c->track_copy);
        c->track_body_at = c->track_copy.len;
    }
    if (c->track_copy.truncated || c->track_copy.len + len > c->track_copy.max) {
        check_track_give_up(c);
        return 0;
    }
    msgbuf_body(&c->track_copy, chunk, len);
    return 1;
}

/* At the end of the header: a message without a From field cannot carry
 * a DKIM signature (RFC 6376 5.4: From must be signed), and refusing it
 * for ever with a 451 would help nobody; it goes on unsigned, said once. */
static void
check_sign_need_from(check_t *c)
{
    if (c->signer == NULL || c->headers[CHECK_HDR_FROM] != NULL)
        return;
    c->env.backend.sign_free(c->signer);
    c->signer = NULL;
    log_warn("%s: stage=eoh %s inbox=%s dkim=unsigned reason=no_from_header", check_qid(c, NULL), c->who,
             c->sender_inbox.address);
}

/* A feed that failed spends the signer: the end of message refuses. */
static void
check_sign_failed(check_t *c)
{
    c->env.backend.sign_free(c->signer);
    c->signer = NULL;
    c->sign_result = -1;
}

void
check_header(check_t *c, const char *name, const char *value)
{
    int h;
    size_t vlen = strlen(value);

    c->size += strlen(name) + 2 + vlen + 2;
    check_decide_content(c);
    check_decide_tracking(c);
    check_decide_signing(c);
    if (c->tracking) {
        msgbuf_header(&c->track_copy, name, value);
        if (strcasecmp(name, "List-Unsubscribe") == 0)
            c->own_list_unsubscribe = 1;
    }
    if (c->signer != NULL &&
        c->env.backend.sign_header(c->signer, name, value, c->sign_error, sizeof(c->sign_error)) != 0)
        check_sign_failed(c);
    if (c->keep_content)
        msgbuf_header(&c->content, name, value);
    for (h = 0; h < CHECK_HDR_COUNT; h++)
        if (strcasecmp(name, check_header_names[h]) == 0)
            break;
    if (h == CHECK_HDR_COUNT || c->unchecked)
        return;
    /* First occurrence wins, except To and Cc, which accumulate. */
    if (c->headers[h] && h != CHECK_HDR_TO && h != CHECK_HDR_CC)
        return;
    if (c->header_len[h] >= HEADER_RAW_MAX)
        return;
    size_t keep = vlen;
    if (c->header_len[h] + 2 + keep > HEADER_RAW_MAX)
        keep = HEADER_RAW_MAX - c->header_len[h] - 2;
    char *grown = realloc(c->headers[h], c->header_len[h] + 2 + keep + 1);
    if (grown == NULL)
        return;
    if (c->header_len[h]) {
        memcpy(grown + c->header_len[h], ", ", 2);
        c->header_len[h] += 2;
    }
    memcpy(grown + c->header_len[h], value, keep);
    c->header_len[h] += keep;
    grown[c->header_len[h]] = '\0';
    c->headers[h] = grown;
}

void
check_body(check_t *c, const unsigned char *chunk, size_t len)
{
    c->size += len;
    check_decide_content(c);
    check_decide_tracking(c);
    check_decide_signing(c);
    check_sign_need_from(c);
    if (c->keep_content)
        msgbuf_body(&c->content, chunk, len);
    if (check_track_keep(c, chunk, len))
        return;
    if (c->signer != NULL &&
        c->env.backend.sign_body(c->signer, chunk, len, c->sign_error, sizeof(c->sign_error)) != 0)
        check_sign_failed(c);
}

/* CHECK_RESERVE, after the settle and before the record: the signature
 * of outbound mail from an inbox, made and handed to env.add_header (the
 * milter adds it to the message).  0 to go on (added, or nothing to
 * sign), -1 when the message is refused and refunded (out): no key, the
 * signature failed or was not taken -- nothing is recorded. */
static int
check_sign(check_t *c, const char *queue_id, long long started_us, decision_t *out)
{
    char *value = NULL;

    check_decide_signing(c);   /* a message without header or body */
    check_sign_need_from(c);
    if (c->signer == NULL && c->sign_result == 0)
        return 0;
    if (c->signer != NULL) {
        if ((value = malloc(CHECK_SIGNATURE_MAX)) == NULL) {
            snprintf(c->sign_error, sizeof(c->sign_error), "out of memory");
            c->sign_result = -1;
        } else if (c->env.backend.sign_finish(c->signer, value, CHECK_SIGNATURE_MAX, c->sign_error,
                                              sizeof(c->sign_error)) != 0) {
            c->sign_result = -1;
        } else if (c->env.add_header == NULL ||
                   c->env.add_header(c->env.add_header_arg, "DKIM-Signature", value) != 0) {
            snprintf(c->sign_error, sizeof(c->sign_error), "the MTA did not take the DKIM-Signature");
            c->sign_result = -1;
        } else {
            free(value);
            return 0;
        }
        free(value);
    }
    decide_sign_failed(c->env.cfg, c->sender_inbox.address, c->sign_result == 1, out);
    log_error("%s: stage=eom %s inbox=%s action=tempfail reason=%s error=\"%s\" us=%lld", queue_id, c->who,
              c->sender_inbox.address, out->reason, c->sign_error, clock_us() - started_us);
    check_abort(c);
    return -1;
}

/* CHECK_RESERVE, after the settle and before the signature: the
 * message kept for tracking is rewritten by the backend, its new fields
 * (List-Unsubscribe) and body go to the signer and to the MTA.  A rewrite
 * that fails sends the message as it came (said once); 0 to go on, -1
 * when the MTA did not take a change: refused and refunded (out). */
static int
check_track(check_t *c, const char *queue_id, long long started_us, decision_t *out)
{
    char err[256] = "";
    check_track_t *t = &c->track;
    const char *body;
    size_t body_len;

    check_decide_tracking(c);   /* a message without header or body */
    check_decide_signing(c);
    check_sign_need_from(c);
    if (!c->tracking)
        return 0;
    if (!c->track_copy.in_body) {
        msgbuf_finish(&c->track_copy);
        c->track_body_at = c->track_copy.len;
    }
    if (c->env.backend.track(c->env.backend.ctx, &c->sender_inbox, c->track_copy.data ? c->track_copy.data : "",
                             c->track_copy.len, &c->charged, c->own_list_unsubscribe, t, err, sizeof(err)) != 0) {
        log_warn("%s: stage=eom %s inbox=%s tracking=failed error=\"%s\"", queue_id, c->who,
                 c->sender_inbox.address, err);
        c->env.backend.track_clear(t);
        memset(t, 0, sizeof(*t));
    }
    if (t->body != NULL && c->env.replace_body == NULL) {
        free(t->body);   /* nothing can take it: the links stay as they were */
        t->body = NULL;
    }
    body = t->body ? t->body : c->track_copy.data + c->track_body_at;
    body_len = t->body ? t->body_len : c->track_copy.len - c->track_body_at;
    if (c->signer != NULL && t->unsubscribe != NULL &&
        (c->env.backend.sign_header(c->signer, "List-Unsubscribe", t->unsubscribe, c->sign_error,
                                    sizeof(c->sign_error)) != 0 ||
         c->env.backend.sign_header(c->signer, "List-Unsubscribe-Post", t->unsubscribe_post, c->sign_error,
                                    sizeof(c->sign_error)) != 0))
        check_sign_failed(c);
    if (c->signer != NULL && body_len > 0 &&
        c->env.backend.sign_body(c->signer, (const unsigned char *)body, body_len, c->sign_error,
                                 sizeof(c->sign_error)) != 0)
        check_sign_failed(c);
    if ((t->unsubscribe != NULL &&
         (c->env.add_header == NULL ||
          c->env.add_header(c->env.add_header_arg, "List-Unsubscribe-Post", t->unsubscribe_post) != 0 ||
          c->env.add_header(c->env.add_header_arg, "List-Unsubscribe", t->unsubscribe) != 0)) ||
        (t->body != NULL && c->env.replace_body(c->env.add_header_arg, t->body, t->body_len) != 0)) {
        decide_record_failed(c->env.cfg, c->sender_inbox.address, out);
        log_error("%s: stage=eom %s inbox=%s action=tempfail reason=%s error=\"the MTA did not take the tracked "
                  "message\" us=%lld", queue_id, c->who, c->sender_inbox.address, out->reason,
                  clock_us() - started_us);
        check_abort(c);
        return -1;
    }
    if (t->summary[0])
        log_info("%s: stage=eom %s inbox=%s tracking=%s", queue_id, c->who, c->sender_inbox.address, t->summary);
    /* the body has gone to the signer and the MTA; the links stay for the record */
    c->tracking = 0;
    msgbuf_clear(&c->track_copy);
    free(t->body);
    t->body = NULL;
    return 0;
}

/* ---- end of message -------------------------------------------------------------------------------- */

/* CHECK_RESERVE: settles the message's reservations, before the record,
 * so that a milter killed between the two leaves the sends charged (the
 * cap errs toward less) rather than a record Redis gives back.  0 to go
 * on (settled, or queued until the backend answers), -1 when the message
 * is refused and refunded (out): sends given back as leaked that the day
 * has no room for any more (451 4.7.1), or a settle lost (451 4.3.0),
 * whose sends would be given back as leaked. */
static int
check_settle(check_t *c, const char *queue_id, long long started_us, decision_t *out)
{
    char err[300];
    const inbox_lookup_t *sender = &c->sender_inbox;
    limit_result_t limit;
    int rc;

    if (c->tokens.count == 0)
        return 0;
    rc = c->env.backend.settle(c->env.backend.ctx, sender, (const char *const *)c->tokens.items, c->tokens.count,
                               &limit, err, sizeof(err));
    if (rc == 0 && limit.verdict != LIMIT_OK) {
        /* A transaction slower than reservation_timeout: its sends were
         * given back, and others have taken the day's room meanwhile. */
        decide_limit(c->env.cfg, sender, &limit, out);
        check_hook_cap(c, limit.verdict);
        log_info("%s: stage=eom %s inbox=%s action=%s reason=%s recharged=%ld sendsToday=%ld/%d us=%lld", queue_id,
                 c->who, sender->address, decide_action_word(out), out->reason, limit.recharged, limit.sends_today,
                 sender->daily_limit, clock_us() - started_us);
        check_abort(c);
        return -1;
    }
    if (rc == 0) {
        if (limit.recharged > 0)
            log_info("%s: stage=settle inbox=%s tokens=%zu recharged=%ld sendsToday=%ld/%d", queue_id,
                     sender->address, c->tokens.count, limit.recharged, limit.sends_today, sender->daily_limit);
        return 0;
    }
    log_warn("%s: stage=settle inbox=%s tokens=%zu action=%s reason=backend error=\"%s\"", queue_id,
             c->sender_inbox.address, c->tokens.count, rc > 0 ? "queued" : "lost", err);
    if (rc > 0)
        return 0;
    decide_record_failed(c->env.cfg, c->sender_inbox.address, out);
    log_error("%s: stage=eom %s inbox=%s action=tempfail reason=backend error=\"%s\" us=%lld", queue_id, c->who,
              c->sender_inbox.address, err, clock_us() - started_us);
    check_abort(c);
    return -1;
}

/* CHECK_RESERVE: the settle, then the record; the reservations then stand. */
static void
check_record(check_t *c, const char *queue_id, long long started_us, decision_t *out)
{
    char err[256], report[16] = "";
    const char *inbox = c->sender_inbox.found ? c->sender_inbox.address : "-";
    size_t records = c->rcpt_inbox_count + (c->tokens.count > 0 ? 1 : 0);

    decide_continue(out, REASON(accepted));
    if (check_settle(c, queue_id, started_us, out) != 0 || check_track(c, queue_id, started_us, out) != 0 ||
        check_sign(c, queue_id, started_us, out) != 0)
        return;
    if (c->unchecked || records == 0) {
        check_clear(c);
        return;
    }
    if (c->keep_content)
        msgbuf_finish(&c->content);
    check_message_t msg = {
        .queue_id = queue_id,
        .sender = c->sender,
        .outbound = c->outbound,
        .sender_inbox = &c->sender_inbox,
        .charged = &c->charged,
        .rcpt_inboxes = c->rcpt_inboxes,
        .rcpt_inbox_count = c->rcpt_inbox_count,
        .headers = (const char *const *)c->headers,
        .size = c->size,
        .content = c->keep_content ? &c->content : NULL,
        .tracking_id = c->track.tracking_id[0] ? c->track.tracking_id : NULL,
        .links = (const char *const *)c->track.links,
        .link_count = c->track.link_count,
    };
    if (c->env.backend.record(c->env.backend.ctx, &msg, report, err, sizeof(err)) != 0) {
        /* Never accept a message whose record is missing, whatever
         * on_backend_error says. */
        decide_record_failed(c->env.cfg, c->sender_inbox.found ? c->sender_inbox.address : c->sender, out);
        log_error("%s: stage=eom %s inbox=%s action=tempfail reason=backend error=\"%s\" us=%lld", queue_id, c->who,
                  inbox, err, clock_us() - started_us);
        check_abort(c);
        return;
    }
    if (c->env.hooks && c->env.hooks->report && report[0])
        c->env.hooks->report(report);
    if (c->env.hooks && c->env.hooks->recorded) {
        c->env.hooks->recorded("outbound", c->outbound && c->sender_inbox.found && c->charged.count > 0);
        c->env.hooks->recorded("inbound", c->rcpt_inbox_count);
    }
    log_info("%s: stage=eom %s inbox=%s action=accept recipients=%zu inboxRecipients=%zu size=%zu us=%lld", queue_id,
             c->who, inbox, c->charged.count, c->rcpt_inbox_count, c->size, clock_us() - started_us);
    check_list_clear(&c->tokens); /* settled: the reservations stand, nothing to refund */
    check_clear(c);
}

/* CHECK_CHARGE: every accepted recipient at once, outbound only. */
static void
check_charge(check_t *c, const char *queue_id, long n, const char *given_token, long long started_us,
             decision_t *out)
{
    char token[128], err[256], what[1100];
    const inbox_lookup_t *sender = &c->sender_inbox;
    limit_result_t limit;

    if (!c->outbound) {
        decide_continue(out, REASON(inbound));
        return;
    }
    if (n < 1) {
        decide_continue(out, REASON(no_recipients));
        log_info("%s: stage=eom %s inbox=%s action=continue reason=%s", check_qid(c, queue_id), c->who,
                 sender->address, out->reason);
        return;
    }
    check_token(given_token, token, sizeof(token));
    snprintf(what, sizeof(what), "%s inbox=%s recipients=%ld", c->who, sender->address, n);
    if (c->env.backend.charge(c->env.backend.ctx, sender, (int)n, token, &limit, err, sizeof(err)) != 0) {
        check_backend_error(c, "eom", sender->address, what, err, queue_id, started_us, out);
        /* Refused, so nothing may stay charged, even if the charge runs late. */
        check_give_back(c, sender, token, (int)n);
        return;
    }
    decide_limit(c->env.cfg, sender, &limit, out);
    check_hook_cap(c, limit.verdict);
    if (out->action == DECISION_CONTINUE)
        out->reason = limit.already_charged ? REASON(already_charged) : REASON(charged);
    log_info("%s: stage=eom %s action=%s reason=%s sendsToday=%ld/%d burst=%ld/%d us=%lld", check_qid(c, queue_id),
             what, out->action == DECISION_CONTINUE ? "accept" : decide_action_word(out), out->reason,
             limit.sends_today, sender->daily_limit, limit.burst_used, sender->burst_limit, clock_us() - started_us);
}

void
check_end(check_t *c, const char *queue_id, long recipient_count, const char *token, decision_t *out)
{
    long long started_us = clock_us();

    check_note_queue_id(c, queue_id);
    if (c->env.mode == CHECK_CHARGE)
        check_charge(c, check_qid(c, NULL), recipient_count, token, started_us, out);
    else
        check_record(c, check_qid(c, NULL), started_us, out);
}
