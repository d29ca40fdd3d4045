/*
 * policy_check.c -- a policy request as calls of the transaction core.
 * See policy_check.h.
 */
#include "policy_check.h"

#include <stdio.h>
#include <string.h>

#include "check_backend.h"
#include "cidr.h"
#include "log.h"

void
policy_txn_clear(policy_txn_t *txn)
{
    check_free(txn->check);
    txn->check = NULL;
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
    check_abort(txn->check);
    txn->instance[0] = '\0';
    if (len > 0 && len < sizeof(txn->instance))
        memcpy(txn->instance, instance, len + 1);
}

void
policy_check(runtime_t *rt, const policy_request_t *req, policy_txn_t *txn, decision_t *out)
{
    check_env_t env;
    policy_state_t state = policy_state(req);
    const char *client = policy_get(req, POLICY_ATTR_CLIENT_ADDRESS);
    const char *login = policy_get(req, POLICY_ATTR_SASL_USERNAME);
    const char *qid = policy_get(req, POLICY_ATTR_QUEUE_ID);
    const char *instance = policy_get(req, POLICY_ATTR_INSTANCE);
    int trusted = cidr_list_match_text(rt->cfg->trusted_networks, client) ? CHECK_TRUSTED : 0;
    char token[160];

    memset(out, 0, sizeof(*out));
    out->action = DECISION_CONTINUE;
    out->reason = REASON(not_our_stage);
    check_backend_env(rt, CHECK_CHARGE, NULL, &env);
    if (txn->check == NULL && (txn->check = check_new(&env, client, trusted)) == NULL) {
        decide_record_failed(rt->cfg, NULL, out);
        log_error("policy: out of memory; answering %d %s", out->code, out->xcode);
        return;
    }
    check_use(txn->check, &env, client, trusted);
    policy_txn_follow(txn, instance);
    if (state == POLICY_STATE_OTHER)
        return;
    if (state == POLICY_STATE_END_OF_MESSAGE && !check_outbound(txn->check, login)) {
        out->reason = REASON(inbound);
        return;
    }
    if (!check_sender(txn->check, state == POLICY_STATE_MAIL ? "mail" : state == POLICY_STATE_RCPT ? "rcpt" : "eom",
                      policy_get(req, POLICY_ATTR_SENDER), login, qid, out))
        return;
    switch (state) {
    case POLICY_STATE_RCPT:
        check_rcpt(txn->check, policy_get(req, POLICY_ATTR_RECIPIENT), qid, out);
        return;
    case POLICY_STATE_END_OF_MESSAGE:
        /* Queue id and instance name the transaction: Postfix asking
         * twice about the same message charges it once. */
        if (*instance)
            snprintf(token, sizeof(token), "%s/%s", qid, instance);
        else
            token[0] = '\0';
        check_end(txn->check, qid, req->recipient_count, token, out);
        check_abort(txn->check);
        return;
    case POLICY_STATE_MAIL:
    case POLICY_STATE_OTHER:
        return;
    }
}
