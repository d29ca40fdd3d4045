/*
 * policy_check.h -- what the policy service answers to one request: the
 * transaction sequence of lib/core/check in its CHECK_CHARGE mode, the
 * one the milter runs too, so both doors give the same replies and log
 * lines for the same transaction.
 *
 * Public: policy_txn_t, policy_txn_clear, policy_check.
 *
 *   MAIL            sender checks (Postfix with smtpd_delay_reject = no)
 *   RCPT            sender checks, then recipient checks; outbound: would
 *                   this recipient, with those already accepted in the
 *                   same transaction, still fit the caps?
 *   END-OF-MESSAGE  outbound: sender checks again, then charge
 *                   recipient_count sends at once, all or nothing, named
 *                   by queue id + instance so a retried request is not
 *                   charged twice
 *   anything else   DUNNO
 * Outbound: sasl_username set, or client_address in trusted_networks.
 * Logs nothing itself: the lines are lib/core/check's.
 */
#ifndef POLICYD_POLICY_CHECK_H
#define POLICYD_POLICY_CHECK_H

#include <stddef.h>

#include "check.h"
#include "decide.h"
#include "policy_proto.h"
#include "runtime.h"

/* What one policy connection remembers of the transaction in progress
 * (Postfix keeps one transaction's requests on one connection and tells
 * them apart by the "instance" attribute). */
typedef struct {
    char instance[64];
    check_t *check;
} policy_txn_t;

/* Forgets the transaction (at the end of the connection). */
void policy_txn_clear(policy_txn_t *txn);

/* Decides about req with the runtime rt; fills out (CONTINUE = DUNNO). */
void policy_check(runtime_t *rt, const policy_request_t *req, policy_txn_t *txn, decision_t *out);

#endif
