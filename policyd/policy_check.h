/*
 * policy_check.h -- what the policy service answers to one request: the
 * milter's decisions (lib/core/decide.c) in the order the milter takes them,
 * with the caps split into a check at RCPT and one charge at end of
 * message.
 *
 * Public: policy_txn_t, policy_txn_clear, policy_check.
 *
 *   MAIL            sender checks (Postfix with smtpd_delay_reject = no)
 *   RCPT            sender checks, then recipient checks; outbound: would
 *                   this recipient, with those already accepted in the
 *                   same transaction, still fit the caps?  (limiter_check)
 *   END-OF-MESSAGE  outbound: sender checks again, then charge
 *                   recipient_count sends at once, all or nothing
 *                   (limiter_reserve_n), so a transaction that never ends
 *                   is never charged and the cap holds under concurrency
 *   anything else   DUNNO
 * Outbound: sasl_username set, or client_address in trusted_networks.
 *
 * Logs one line per decision about an inbox, in the milter's words:
 *   QUEUEID: stage=rcpt direction=outbound sender=<..> login=.. rcpt=<..>
 *            inbox=.. action=.. reason=fits|burst|daily pending=N
 *            sendsToday=N/LIMIT burst=N/LIMIT us=N
 *     (pending: sends this transaction would need, this one included;
 *     sendsToday, burst: already charged)
 *   QUEUEID: stage=eom direction=outbound sender=<..> inbox=.. action=..
 *            reason=charged recipients=N sendsToday=N/LIMIT burst=N/LIMIT us=N
 * QUEUEID is the request's queue_id, or NOQUEUE.
 */
#ifndef POLICYD_POLICY_CHECK_H
#define POLICYD_POLICY_CHECK_H

#include <stddef.h>

#include "decide.h"
#include "policy_proto.h"
#include "runtime.h"

/* What one policy connection remembers of the transaction in progress
 * (Postfix keeps one transaction's requests on one connection and tells
 * them apart by the "instance" attribute): the outbound recipients it
 * already let through at RCPT, so the cap check counts them too. */
typedef struct {
    char instance[64];
    char **rcpts;
    size_t count;
} policy_txn_t;

void policy_txn_clear(policy_txn_t *txn);

/* Decides about req with the runtime rt; fills out (CONTINUE = DUNNO). */
void policy_check(runtime_t *rt, const policy_request_t *req, policy_txn_t *txn, decision_t *out);

#endif
