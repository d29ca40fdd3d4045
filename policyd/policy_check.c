/*
 * policy_check.c -- the policy service's decisions, taken in the order
 * milter/session.c takes them and from the same lib/ functions, so both
 * give the same reply for the same transaction.  See policy_check.h.
 */
#include "policy_check.h"
#include "clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "cidr.h"
#include "log.h"

#define NOQUEUE "NOQUEUE"
/* Recipients remembered per transaction; past it the check counts on
 * (recipients are not told apart any more), so it only gets stricter. */
#define POLICY_TXN_RCPTS_MAX 10000

/* One request being decided. */
typedef struct {
    runtime_t *rt;
    const policy_request_t *req;
    const char *qid;
    const char *stage;              /* "mail", "rcpt", "eom" */
    const char *login;              /* sasl_username, "" without SASL */
    int authenticated;
    int outbound;
    address_status_t sender_status;
    char sender[ADDRESS_MAX + 1];
    inbox_lookup_t sender_inbox;
    char who[600];                  /* "direction=.. sender=<..> [login=..]" */
    long long started_us;
} policy_ctx_t;

static atomic_ullong policy_token_counter;

static const char *
policy_word(const decision_t *d)
{
    return d->action == DECISION_CONTINUE ? "continue" : d->action == DECISION_REJECT ? "reject" : "tempfail";
}

void
policy_txn_clear(policy_txn_t *txn)
{
    for (size_t i = 0; i < txn->count; i++)
        free(txn->rcpts[i]);
    free(txn->rcpts);
    txn->rcpts = NULL;
    txn->count = 0;
    txn->instance[0] = '\0';
}

/* Starts a new transaction when the instance changes.  A request without
 * an instance (not from Postfix) is a transaction of its own. */
static void
policy_txn_follow(policy_txn_t *txn, const char *instance)
{
    size_t len = strlen(instance);
    if (len > 0 && len < sizeof(txn->instance) && strcmp(txn->instance, instance) == 0)
        return;
    policy_txn_clear(txn);
    if (len > 0 && len < sizeof(txn->instance))
        memcpy(txn->instance, instance, len + 1);
}

static int
policy_txn_has(const policy_txn_t *txn, const char *rcpt)
{
    for (size_t i = 0; i < txn->count; i++)
        if (strcmp(txn->rcpts[i], rcpt) == 0)
            return 1;
    return 0;
}

static void
policy_txn_add(policy_txn_t *txn, const char *rcpt)
{
    if (txn->count >= POLICY_TXN_RCPTS_MAX || policy_txn_has(txn, rcpt))
        return;
    char **grown = realloc(txn->rcpts, (txn->count + 1) * sizeof(*grown));
    if (grown == NULL)
        return;
    txn->rcpts = grown;
    if ((grown[txn->count] = strdup(rcpt)) != NULL)
        txn->count++;
}

/* A backend failed: 451 4.3.0 or DUNNO per on_backend_error, one line. */
static void
policy_backend_error(policy_ctx_t *c, const char *address, const char *what, const char *err, decision_t *out)
{
    decide_backend_error(c->rt->cfg, address, out);
    log_error("%s: stage=%s %s action=%s reason=backend error=\"%s\" us=%lld", c->qid, c->stage, what,
              out->action == DECISION_CONTINUE ? "accept" : "tempfail", err, clock_us() - c->started_us);
}

/* The sender half (milter: session_mail).  1 if the recipient checks or
 * the charge come next; 0 if out is the answer. */
static int
policy_sender(policy_ctx_t *c, decision_t *out)
{
    char err[256];
    const char *raw = policy_get(c->req, POLICY_ATTR_SENDER);

    c->sender_status = address_normalize(raw, c->sender, sizeof(c->sender));
    if (c->sender_status == ADDRESS_MALFORMED) {
        decide_malformed(c->rt->cfg, out);
        const char *client = policy_get(c->req, POLICY_ATTR_CLIENT_ADDRESS);
        log_info("%s: stage=%s client=%s action=%s reason=malformed", c->qid, c->stage, *client ? client : "unknown",
                 policy_word(out));
        return 0;
    }
    snprintf(c->who, sizeof(c->who), "direction=%s sender=<%s>%s%s", c->outbound ? "outbound" : "inbound",
             c->sender, c->authenticated ? " login=" : "", c->authenticated ? c->login : "");
    if (c->sender_status == ADDRESS_NULL_SENDER && !c->outbound) {
        out->reason = "null_sender";
        return 1;
    }
    if (c->sender_status != ADDRESS_NULL_SENDER &&
        store_lookup(c->rt->store, c->sender, c->authenticated ? c->login : NULL, &c->sender_inbox, err,
                     sizeof(err)) != 0) {
        policy_backend_error(c, c->sender, c->who, err, out);
        return 0;
    }
    decide_sender(c->rt->cfg, c->outbound, c->authenticated, c->sender_status == ADDRESS_NULL_SENDER,
                  &c->sender_inbox, c->sender, out);
    if (out->action != DECISION_CONTINUE) {
        log_info("%s: stage=%s %s inbox=%s action=%s reason=%s us=%lld", c->qid, c->stage, c->who,
                 c->sender_inbox.found ? c->sender_inbox.address : "-", policy_word(out), out->reason,
                 clock_us() - c->started_us);
        return 0;
    }
    return 1;
}

/* The recipient half (milter: session_rcpt), with a check of the caps in
 * place of the milter's reservation. */
static void
policy_recipient(policy_ctx_t *c, policy_txn_t *txn, decision_t *out)
{
    char rcpt[ADDRESS_MAX + 1], err[256], what[1200];
    inbox_lookup_t inbox;
    limit_result_t limit;
    const inbox_lookup_t *sender = &c->sender_inbox;

    if (address_normalize(policy_get(c->req, POLICY_ATTR_RECIPIENT), rcpt, sizeof(rcpt)) != ADDRESS_OK) {
        decide_malformed(c->rt->cfg, out);
        log_info("%s: stage=rcpt %s action=%s reason=malformed", c->qid, c->who, policy_word(out));
        return;
    }
    snprintf(what, sizeof(what), "%s rcpt=<%s>", c->who, rcpt);
    if (store_lookup(c->rt->store, rcpt, NULL, &inbox, err, sizeof(err)) != 0) {
        policy_backend_error(c, rcpt, what, err, out);
        return;
    }
    decide_recipient(c->rt->cfg, &inbox, rcpt, out);
    if (out->action != DECISION_CONTINUE || !c->outbound) {
        if (out->action != DECISION_CONTINUE || inbox.found)
            log_info("%s: stage=rcpt %s inbox=%s action=%s reason=%s us=%lld", c->qid, what,
                     inbox.found ? inbox.address : "-", policy_word(out), out->reason,
                     clock_us() - c->started_us);
        return;
    }
    /* Outbound: would this recipient and those already let through in
     * this transaction fit?  Nothing is reserved: the charge comes at
     * end of message, for the recipients Postfix actually accepted. */
    int n = (int)txn->count + (policy_txn_has(txn, rcpt) ? 0 : 1);
    if (n < 1)
        n = 1;
    snprintf(what, sizeof(what), "%s rcpt=<%s> inbox=%s", c->who, rcpt, sender->address);
    if (sender->suppressions) {
        suppression_t sup;
        int rc = store_suppressed(c->rt->store, sender->id, rcpt, &sup, err, sizeof(err));
        if (rc < 0) {
            policy_backend_error(c, sender->address, what, err, out);
            return;
        }
        if (rc == 1) {
            decide_suppressed(c->rt->cfg, sender, rcpt, &sup, out);
            log_info("%s: stage=rcpt %s action=%s reason=%s source=%s us=%lld", c->qid, what, policy_word(out),
                     out->reason, sup.source, clock_us() - c->started_us);
            return;
        }
    }
    if (limiter_check(c->rt->limiter, sender->id, sender->daily_limit, sender->burst_limit, n, &limit, err,
                      sizeof(err)) != 0) {
        policy_backend_error(c, sender->address, what, err, out);
        return;
    }
    decide_limit(c->rt->cfg, sender, &limit, out);
    if (out->action == DECISION_CONTINUE) {
        out->reason = "fits";
        policy_txn_add(txn, rcpt);
    }
    log_info("%s: stage=rcpt %s action=%s reason=%s pending=%d sendsToday=%ld/%d burst=%ld/%d us=%lld", c->qid,
             what, policy_word(out), out->reason, n, limit.sends_today, sender->daily_limit, limit.burst_used,
             sender->burst_limit, clock_us() - c->started_us);
}

/* Names an end-of-message charge so that Postfix asking twice about the
 * same message (a retried request, the check listed twice) charges it
 * once: queue id and instance identify the transaction. */
static void
policy_token(const policy_request_t *req, char *out, size_t outlen)
{
    const char *instance = policy_get(req, POLICY_ATTR_INSTANCE);
    if (*instance)
        snprintf(out, outlen, "%s/%s", policy_get(req, POLICY_ATTR_QUEUE_ID), instance);
    else
        snprintf(out, outlen, "p%ld.%d.%llu", (long)time(NULL), (int)getpid(),
                 (unsigned long long)atomic_fetch_add(&policy_token_counter, 1));
    for (char *p = out; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '.' ||
              ch == '/' || ch == '-'))
            *p = '_';
    }
}

/* End of message, outbound: charge every accepted recipient at once. */
static void
policy_charge(policy_ctx_t *c, decision_t *out)
{
    char token[128], err[256], what[1000];
    limit_result_t limit;
    const inbox_lookup_t *sender = &c->sender_inbox;
    long n = c->req->recipient_count;

    if (n < 1) {
        memset(out, 0, sizeof(*out));
        out->reason = "no_recipients";
        log_info("%s: stage=eom %s inbox=%s action=continue reason=no_recipients", c->qid, c->who,
                 sender->address);
        return;
    }
    policy_token(c->req, token, sizeof(token));
    snprintf(what, sizeof(what), "%s inbox=%s recipients=%ld", c->who, sender->address, n);
    if (limiter_reserve_n(c->rt->limiter, sender->id, sender->daily_limit, sender->burst_limit, (int)n, token,
                          &limit, err, sizeof(err)) != 0) {
        policy_backend_error(c, sender->address, what, err, out);
        return;
    }
    decide_limit(c->rt->cfg, sender, &limit, out);
    if (out->action == DECISION_CONTINUE)
        out->reason = limit.already_charged ? "already_charged" : "charged";
    log_info("%s: stage=eom %s action=%s reason=%s sendsToday=%ld/%d burst=%ld/%d us=%lld", c->qid, what,
             out->action == DECISION_CONTINUE ? "accept" : policy_word(out), out->reason, limit.sends_today,
             sender->daily_limit, limit.burst_used, sender->burst_limit, clock_us() - c->started_us);
}

void
policy_check(runtime_t *rt, const policy_request_t *req, policy_txn_t *txn, decision_t *out)
{
    policy_ctx_t c;
    policy_state_t state = policy_state(req);
    const char *qid = policy_get(req, POLICY_ATTR_QUEUE_ID);

    memset(out, 0, sizeof(*out));
    out->action = DECISION_CONTINUE;
    out->reason = "not_our_stage";
    policy_txn_follow(txn, policy_get(req, POLICY_ATTR_INSTANCE));
    if (state == POLICY_STATE_OTHER)
        return;

    memset(&c, 0, sizeof(c));
    c.rt = rt;
    c.req = req;
    c.started_us = clock_us();
    c.qid = *qid ? qid : NOQUEUE;
    c.stage = state == POLICY_STATE_MAIL ? "mail" : state == POLICY_STATE_RCPT ? "rcpt" : "eom";
    c.login = policy_get(req, POLICY_ATTR_SASL_USERNAME);
    c.authenticated = *c.login != '\0';
    c.outbound = c.authenticated ||
                 cidr_list_match_text(rt->cfg->trusted_networks, policy_get(req, POLICY_ATTR_CLIENT_ADDRESS));

    if (state == POLICY_STATE_END_OF_MESSAGE && !c.outbound) {
        out->reason = "inbound";
        return;
    }
    if (!policy_sender(&c, out))
        return;
    switch (state) {
    case POLICY_STATE_MAIL:
        if (c.outbound)
            log_info("%s: stage=mail %s inbox=%s action=continue reason=%s", c.qid, c.who,
                     c.sender_inbox.address, out->reason);
        return;
    case POLICY_STATE_RCPT:
        policy_recipient(&c, txn, out);
        return;
    case POLICY_STATE_END_OF_MESSAGE:
        policy_charge(&c, out);
        policy_txn_clear(txn);
        return;
    case POLICY_STATE_OTHER:
        return;
    }
}
