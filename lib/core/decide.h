/*
 * decide.h -- the decision engine: the SMTP table of DESIGN.md as code.
 *
 * Public: decision_t, decide_sender, decide_recipient, decide_suppressed,
 * decide_limit, decide_backend_error, decide_record_failed, decide_sign_failed, decide_malformed,
 * decide_continue,
 * decide_reasons, decide_actions, decide_action_word, REASON.
 * Pure functions of the config, the lookups and the limiter's verdict:
 * no sockets, no backends, so every row of the table is a unit test.
 * The milter and the policy service only translate a decision into
 * their protocol.  Logs nothing: callers log the decision.
 */
#ifndef POSTINBOX_DECIDE_H
#define POSTINBOX_DECIDE_H

#include "config.h"
#include "inbox.h"
#include "limit.h"

typedef enum {
    DECISION_CONTINUE = 0,  /* no objection */
    DECISION_REJECT,        /* permanent: 5xx */
    DECISION_TEMPFAIL       /* temporary: 4xx */
} decision_action_t;

/* Every reason a decision may carry, defined once: the core sets them
 * as REASON(name), which fails to compile for a name not listed here,
 * and decide_reasons[] (the metrics' label values) is made from the
 * same list. */
#define DECIDE_REASON_LIST(X)                                                                             \
    /* decide_sender */                                                                                   \
    X(inbound) X(spoof) X(null_sender) X(not_an_inbox) X(not_granted) X(sender_disabled)                  \
    X(sender_suspended) X(domain_dns_failed) X(sender_ok)                                                 \
    /* decide_recipient, decide_suppressed, decide_limit */                                               \
    X(unknown) X(foreign) X(disabled) X(suspended) X(active) X(suppressed) X(burst) X(daily) X(reserved)  \
    /* decide_backend_error, decide_record_failed, decide_malformed, decide_sign_failed */                \
    X(backend_error_accepted) X(backend) X(malformed) X(dkim_key_missing) X(dkim_failed)                  \
    /* the transaction sequence (lib/core/check): a milter that sees the whole transaction */             \
    X(unchecked) X(accepted) X(non_smtp)                                                                  \
    /* ... and a policy service, which checks at RCPT and charges at end of message */                    \
    X(fits) X(no_recipients) X(charged) X(already_charged) X(not_our_stage)
#define DECIDE_REASON_DECLARE(name) extern const char decide_reason_##name[];
DECIDE_REASON_LIST(DECIDE_REASON_DECLARE)
#undef DECIDE_REASON_DECLARE
#define REASON(name) decide_reason_##name

typedef struct {
    decision_action_t action;
    const char *reason;     /* one of decide_reasons: REASON(disabled), REASON(burst), ... */
    int code;               /* SMTP code when not CONTINUE */
    char xcode[16];         /* enhanced status code */
    char text[512];         /* human text naming the inbox */
} decision_t;

/* Every reason of DECIDE_REASON_LIST, then "other"; NULL-terminated.  The
 * metrics take their "reason" label values from here, so no input can add
 * a time series. */
extern const char *const decide_reasons[];
/* The action words, "continue", "reject", "tempfail" (NULL-terminated),
 * and the one for a decision: the log's action= and the metrics' label. */
extern const char *const decide_actions[];
const char *decide_action_word(const decision_t *d);

/* MAIL FROM.  outbound: SASL-authenticated or from trusted_networks;
 * authenticated: SASL login present (grant required); sender_null: "<>". */
void decide_sender(const pi_config_t *cfg, int outbound, int authenticated, int sender_null,
                   const inbox_lookup_t *sender, const char *sender_address, decision_t *out);
/* RCPT TO, inbox status part (both directions). */
void decide_recipient(const pi_config_t *cfg, const inbox_lookup_t *rcpt, const char *rcpt_address,
                      decision_t *out);
/* RCPT TO, outbound: rcpt_address is on the sender inbox's suppression
 * list for the reason in sup (reply_rcpt_suppressed). */
void decide_suppressed(const pi_config_t *cfg, const inbox_lookup_t *sender, const char *rcpt_address,
                       const suppression_t *sup, decision_t *out);
/* RCPT TO, cap part for outbound mail: the limiter's verdict. */
void decide_limit(const pi_config_t *cfg, const inbox_lookup_t *sender, const limit_result_t *limit,
                  decision_t *out);
/* A backend failed or timed out while deciding about address (NULL if
 * none yet): 451 4.3.0 or continue, per on_backend_error. */
void decide_backend_error(const pi_config_t *cfg, const char *address, decision_t *out);
/* The end-of-message record could not be written: always 451 4.3.0,
 * since no message may be accepted without its record. */
void decide_record_failed(const pi_config_t *cfg, const char *address, decision_t *out);
/* The DKIM signature of mail from inbox address could not be made:
 * reply_sign_failed (451 4.3.0), whatever on_backend_error says;
 * key_missing: the domain has no active key (reason dkim_key_missing),
 * else dkim_failed. */
void decide_sign_failed(const pi_config_t *cfg, const char *address, int key_missing, decision_t *out);
/* No objection, for reason (one of decide_reasons). */
void decide_continue(decision_t *out, const char *reason);
/* An address that does not parse. */
void decide_malformed(const pi_config_t *cfg, decision_t *out);

#endif
