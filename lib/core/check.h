/*
 * check.h -- the one transaction sequence of both front doors: what
 * happens at MAIL, RCPT, the content, end of message and abort, for the
 * milter and for the policy service alike.
 *
 * Public: check_backend_t, check_hooks_t, check_env_t, check_mode_t,
 * check_message_t, check_list_t, check_rcpt_inbox_t, check_header_id_t,
 * check_header_names, check_new, check_use, check_free, check_mail,
 * check_sender, check_outbound, check_rcpt, check_header, check_body, check_end,
 * check_abort.
 *
 * The sequence (lookups, decisions of lib/core/decide, the suppression
 * list, the caps, refunds, the record) is written here once; the backends
 * sit behind a small table of function pointers (check_backend_t, filled
 * over PostgreSQL, Redis and GMime by lib/runtime/check_backend), so the
 * whole sequence runs in a unit test against a fake one.  milter/ and
 * policyd/ only translate their protocol to these calls and the
 * decision_t back.
 *
 * Two modes, because the two doors see different things:
 *   CHECK_RESERVE  (the milter: it sees every stage, abort and the end)
 *                  RCPT reserves one send, end of message settles the
 *                  reservations (one backend call), signs outbound mail
 *                  from an inbox and then records the message, and the
 *                  reservations stand; every other way
 *                  out (a failed record too) refunds them.  A reservation
 *                  never settled nor refunded (the milter was killed) is
 *                  given back by the backend after reservation_timeout.
 *   CHECK_CHARGE   (the policy service: it never sees an abandoned
 *                  transaction end) RCPT only checks that the recipients
 *                  let through so far, this one included, would fit;
 *                  end of message charges recipient_count sends at once,
 *                  all or nothing, idempotent by the token.
 * A backend failure answers per on_backend_error and charges nothing.
 *
 * Logs one line per decision, the queue id first (NOQUEUE before Postfix
 * has one), then key=value:
 *   QID: stage=mail direction=D sender=<S> [login=L] inbox=I action=A reason=R
 *   QID: stage=rcpt direction=D sender=<S> [login=L] rcpt=<R> inbox=I action=A reason=R
 *        [source=..] [pending=N] [sendsToday=N/LIMIT burst=N/LIMIT] us=N
 *   QID: stage=eom direction=D sender=<S> [login=L] inbox=I action=accept
 *        recipients=N inboxRecipients=N size=N us=N                   (CHECK_RESERVE)
 *   QID: stage=eom direction=D sender=<S> [login=L] inbox=I recipients=N
 *        action=A reason=R sendsToday=N/LIMIT burst=N/LIMIT us=N       (CHECK_CHARGE)
 *   QID: stage=mail client=C action=A reason=malformed sender=<as given, at most 300 bytes>
 *   QID: stage=rcpt direction=D sender=<S> [login=L] action=A reason=malformed rcpt=<as given ...>
 *   QID: stage=refund inbox=I refunded=N
 *   QID: stage=settle inbox=I tokens=N action=queued|lost reason=backend error="..."
 *   QID: stage=settle inbox=I tokens=N recharged=N sendsToday=N/LIMIT   (given back as leaked, charged again)
 *   QID: stage=eom direction=D sender=<S> [login=L] inbox=I action=tempfail reason=daily recharged=N
 *        sendsToday=N/LIMIT us=N         (given back as leaked, and the day has no room left for them)
 *   QID: stage=S ... action=accept|tempfail reason=backend error="..." us=N
 *   QID: stage=eom direction=outbound sender=<S> [login=L] inbox=I action=tempfail
 *        reason=dkim_key_missing|dkim_failed error="..." us=N       (CHECK_RESERVE)
 * Not thread-safe: one check_t per SMTP session or policy connection.
 */
#ifndef POSTINBOX_CHECK_H
#define POSTINBOX_CHECK_H

#include <stddef.h>

#include "config.h"
#include "decide.h"
#include "domain_cache.h"
#include "inbox.h"
#include "limit.h"
#include "msgbuf.h"

/* The header fields kept for the record, raw and bounded. */
typedef enum {
    CHECK_HDR_MESSAGE_ID = 0, CHECK_HDR_IN_REPLY_TO, CHECK_HDR_REFERENCES, CHECK_HDR_FROM, CHECK_HDR_TO,
    CHECK_HDR_CC, CHECK_HDR_SUBJECT, CHECK_HDR_COUNT
} check_header_id_t;
extern const char *const check_header_names[CHECK_HDR_COUNT];

typedef struct {
    char **items;
    size_t count;
} check_list_t;

/* An inbox among the recipients, with the recipient addresses it got. */
typedef struct {
    char id[40];
    check_list_t addresses;
} check_rcpt_inbox_t;

/* What the record of a finished message is made of (read-only for the
 * record backend). */
typedef struct {
    const char *queue_id;
    const char *sender;                 /* normalised envelope sender, "" for <> */
    int outbound;
    const inbox_lookup_t *sender_inbox; /* found = 0 when the sender is no inbox */
    const check_list_t *charged;        /* recipients charged to the sender inbox */
    const check_rcpt_inbox_t *rcpt_inboxes;
    size_t rcpt_inbox_count;
    const char *const *headers;         /* CHECK_HDR_COUNT raw values, NULL when absent */
    size_t size;
    const msgbuf_t *content;            /* the copy of a message to an inbox, or NULL */
    const char *tracking_id;            /* hex, of a message tracking rewrote (check_track_t), or NULL */
    const char *const *links;           /* the URLs of its rewritten links */
    size_t link_count;
} check_message_t;

/* What tracking made of an outbound message (the track backend's answer;
 * all NULL / "" / 0: nothing). */
typedef struct {
    char *body;                         /* the new body (CRLF), NULL: unchanged */
    size_t body_len;
    char tracking_id[25];               /* hex; "" when the message was not changed */
    char **links;                       /* URL of link n at links[n - 1] */
    size_t link_count;
    char *unsubscribe;                  /* the List-Unsubscribe value to add, or NULL ... */
    char *unsubscribe_post;             /* ... with this List-Unsubscribe-Post value */
    char summary[128];                  /* for the log line: what was done */
} check_track_t;

/* The backends.  Each returns 0 (or as said), -1 with err on failure; each
 * has its own deadline.  ctx is passed back as given. */
typedef struct {
    void *ctx;
    /* The address's inbox (and, when login is not NULL, whether login may
     * send as it). */
    int (*lookup)(void *ctx, const char *address, const char *login, inbox_lookup_t *out, char *err, size_t errlen);
    /* 1 with out filled when address is on inbox_id's suppression list, 0 not. */
    int (*suppressed)(void *ctx, const char *inbox_id, const char *address, suppression_t *out, char *err,
                      size_t errlen);
    /* CHECK_RESERVE: reserves one send under token. */
    int (*reserve)(void *ctx, const inbox_lookup_t *inbox, const char *token, limit_result_t *res, char *err,
                   size_t errlen);
    /* CHECK_RESERVE, end of message: settles the message's reservations
     * tokens[0..n) at once, so they are not given back as leaked once the
     * reservation timeout passes (a refund still gives them back).  Those
     * given back meanwhile (a transaction slower than the timeout) are
     * charged again if the daily cap still has room for them (res->
     * recharged), else res->verdict is LIMIT_DAILY and nothing is.  0 done
     * (res filled), 1 queued until the backend answers again (err says
     * why), -1 lost (err). */
    int (*settle)(void *ctx, const inbox_lookup_t *inbox, const char *const *tokens, size_t n, limit_result_t *res,
                  char *err, size_t errlen);
    /* Gives back a reservation (n 1) or a charge of n, also one whose
     * reserve or charge call failed: it may still run late, and must then
     * charge nothing.  0 done, 1 queued until the backend answers again
     * (err says why), -1 lost (err). */
    int (*refund)(void *ctx, const inbox_lookup_t *inbox, const char *token, int n, char *err, size_t errlen);
    /* CHECK_CHARGE: would n more sends fit?  Reserves nothing. */
    int (*fits)(void *ctx, const inbox_lookup_t *inbox, int n, limit_result_t *res, char *err, size_t errlen);
    /* CHECK_CHARGE: charges n sends at once, all or nothing, once per token. */
    int (*charge)(void *ctx, const inbox_lookup_t *inbox, int n, const char *token, limit_result_t *res,
                  char *err, size_t errlen);
    /* CHECK_RESERVE: writes the message's record; report gets the kind
     * of content read ("dsn", "arf", "none", "unparsed") or "" when the
     * content was not read. */
    int (*record)(void *ctx, const check_message_t *msg, char report[16], char *err, size_t errlen);
    /* CHECK_RESERVE, outbound mail from an inbox, at its first header
     * (sign_start NULL: nothing is ever signed): a signer for the inbox's
     * domain.  0 with *signer (NULL: this message is not signed), 1 the
     * domain has no active key, -1 any other failure; err says why. */
    int (*sign_start)(void *ctx, const inbox_lookup_t *inbox, const char *queue_id, void **signer, char *err,
                      size_t errlen);
    /* A header field or body chunk into the signature: 0, -1 with err. */
    int (*sign_header)(void *signer, const char *name, const char *value, char *err, size_t errlen);
    int (*sign_body)(void *signer, const unsigned char *chunk, size_t len, char *err, size_t errlen);
    /* The DKIM-Signature field's value into out: 0, -1 with err. */
    int (*sign_finish)(void *signer, char *out, size_t outlen, char *err, size_t errlen);
    void (*sign_free)(void *signer);
    /* CHECK_RESERVE, outbound mail from an inbox with some tracking bit
     * set and cfg->tracking_base_url not empty (track NULL: never): the
     * whole message[0..len) as it came (header, empty line, body, CRLF),
     * the recipients charged, and whether it has a List-Unsubscribe of its
     * own.  0 with *out (track_clear frees it), -1 with err: the message
     * then goes as it came. */
    int (*track)(void *ctx, const inbox_lookup_t *inbox, const char *message, size_t len,
                 const check_list_t *recipients, int own_list_unsubscribe, check_track_t *out, char *err,
                 size_t errlen);
    void (*track_clear)(check_track_t *t);
} check_backend_t;

/* What the owner counts (any member may be NULL). */
typedef struct {
    void (*cap_hit)(limit_verdict_t verdict);
    void (*recorded)(const char *direction, size_t n);
    void (*report)(const char *kind);
} check_hooks_t;

typedef enum { CHECK_RESERVE = 0, CHECK_CHARGE } check_mode_t;

/* Everything a check works with; copied by check_new / check_use. */
typedef struct {
    const pi_config_t *cfg;
    check_backend_t backend;
    domain_cache_t *foreign_domains;    /* may be NULL: every recipient is looked up */
    const check_hooks_t *hooks;         /* may be NULL */
    check_mode_t mode;
    /* CHECK_RESERVE with signing (backend.sign_start): adds a header
     * field at the top of the message being ended, 0 or -1; called at end
     * of message after the signature is made and before the record, so a
     * field not taken leaves no record.  NULL: a signature cannot be
     * added, and mail to sign is refused. */
    int (*add_header)(void *arg, const char *name, const char *value);
    /* CHECK_RESERVE with tracking (backend.track): replaces the body of the
     * message being ended, 0 or -1; called, as add_header, at end of
     * message before the signature and the record.  NULL: no message is
     * rewritten (tracking only adds List-Unsubscribe, if that). */
    int (*replace_body)(void *arg, const char *body, size_t len);
    void *add_header_arg;               /* given to add_header and replace_body */
} check_env_t;

typedef struct check check_t;

/* What is known of a session's client (check_new's flags). */
#define CHECK_TRUSTED 1  /* in trusted_networks */
/* Postfix's non-SMTP mail (non_smtpd_milters: sendmail(1) and its own
 * bounces).  Never trusted, whatever CHECK_TRUSTED says; and Postfix
 * cannot refuse one recipient of such mail (it would retry the whole
 * message, its own bounce too, for ever), so a recipient check_rcpt would
 * refuse passes instead (reason non_smtp), as a recipient that is none of
 * our inboxes: nothing is recorded for it.  A backend failure still
 * tempfails (Postfix retries the message later). */
#define CHECK_NON_SMTP 2

/* A new session from client (text for the log); flags: CHECK_TRUSTED,
 * CHECK_NON_SMTP.  NULL out of memory. */
check_t *check_new(const check_env_t *env, const char *client, int flags);
/* CHECK_CHARGE only (nothing is held between requests): the next
 * requests use env (e.g. after a reload) and come from client. */
void check_use(check_t *c, const check_env_t *env, const char *client, int flags);
/* Refunds anything outstanding and frees c (NULL is fine). */
void check_free(check_t *c);

/* MAIL FROM: the previous message is dropped (refunded), a new one starts,
 * and the sender is checked.  login is the SASL login or NULL/""; queue_id
 * Postfix's id or NULL. */
void check_mail(check_t *c, const char *sender, const char *login, const char *queue_id, decision_t *out);
/* The sender checks alone, within the current transaction (the policy
 * service asks them with every request).  stage is "mail", "rcpt" or
 * "eom", for the log.  1 when the request may go on (out says why),
 * 0 when out is the answer (a refusal, or a backend error either way). */
int check_sender(check_t *c, const char *stage, const char *sender, const char *login, const char *queue_id,
                 decision_t *out);
/* Whether a transaction with this login is outbound: SASL-authenticated,
 * or from trusted_networks. */
int check_outbound(const check_t *c, const char *login);
/* RCPT TO (after check_mail or check_sender). */
void check_rcpt(check_t *c, const char *rcpt, const char *queue_id, decision_t *out);
/* One header field (value without the name), a body chunk. */
void check_header(check_t *c, const char *name, const char *value);
void check_body(check_t *c, const unsigned char *chunk, size_t len);
/* End of message.  CHECK_RESERVE: settles, signs (outbound mail from an
 * inbox: the signature is made and given to env.add_header before the
 * record, so a failure to sign leaves no record and refunds), records it
 * (recipient_count and token unused).  CHECK_CHARGE: charges recipient_count sends under token
 * (NULL or "": a fresh one), after check_sender. */
void check_end(check_t *c, const char *queue_id, long recipient_count, const char *token, decision_t *out);
/* The message ended any other way (abort, RSET, QUIT, a new transaction):
 * refund and forget it. */
void check_abort(check_t *c);

#endif
