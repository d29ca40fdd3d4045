/*
 * send.h -- sending a message as an inbox through the local Postfix
 * (POST /v1/inboxes/{id}/messages).
 *
 * Public: send_result_t, send_as_inbox.
 * The request is checked, composed into a MIME message (lib/mail/compose, GMime)
 * From the inbox, and submitted over SMTP (lib/mail/smtp_client) to the Postfix
 * smtpd at api_submission, as a client the milter treats as outbound for
 * that inbox, so the milter's status checks, suppression list and caps
 * apply exactly as to any other mail.  Postfix's reply decides the result.
 * Every network step has a deadline (api_submission_timeout, for the
 * whole submission).  Thread-safe.  Logs nothing.
 *
 * Credentials: with api_submission_login set, the submission
 * authenticates with AUTH PLAIN as that login, its password read from
 * api_submission_password_file at each send.  The milter and the policy
 * service let that login -- the service login -- send as any inbox
 * (lib/core/check.c); the caller (the API after checking the key,
 * postinboxctl run by the admin) has already decided which inbox may
 * send.  A local user without the password is an unauthenticated client
 * like any other, so trusted_networks can stay empty.  Without a login,
 * the submitting host must be in the milter's trusted_networks (the old
 * way, for hosts without local users).  Postfix must offer AUTH PLAIN at
 * api_submission (contrib/postfix/master.cf.snippet has a loopback
 * service for it); a missing AUTH, a refused login or a missing password
 * file is a 502 submission_refused / 500 internal, not a 403.

 * Nothing is sent and no connection is made when the request is bad (400).
 * A refused recipient refuses the whole send (RSET; the milter refunds
 * what it reserved), so the send is all or nothing.
 *
 * Result mapping (http_status, code):
 *   202 -            250 after the message; queue_id from "queued as X"
 *   400 invalid_request / unknown_field / invalid_type / missing_field /
 *       invalid_address / too_many_recipients / invalid_header /
 *       invalid_utf8 / invalid_body / invalid_message_id / too_large
 *                    the request; nothing was submitted
 *   403 sender_refused     5.7.x at MAIL: inbox disabled or suspended,
 *                          not granted, or the caller is not trusted
 *   422 recipient_refused  5xx at RCPT: suppressed recipient (550 5.1.1),
 *                          unknown or disabled local inbox (5.1.1, 5.2.1),
 *                          relay denied; the request cannot succeed as is
 *   422 message_refused    5xx after the message (size, content checks)
 *   429 burst_limit        451 4.7.1 "... retry in N s": retry_after = N
 *   429 daily_limit        451 4.7.1 "... resets at T": retry_after = T - now
 *   429 rate_limited       another 4.7.1 text: retry_after = 60
 *   502 submission_refused 5xx at greeting, EHLO, AUTH (or no AUTH PLAIN
 *                          offered), DATA, or a non-5.7 5xx at
 *                          MAIL: our own Postfix is misconfigured
 *   503 backend_unavailable  4.3.x (PostgreSQL/Redis down): retry_after = 5
 *   503 temporarily_refused  any other 4xx (e.g. 450 4.2.1 recipient
 *                          inbox suspended): retry_after = 30
 *   503 submission_unavailable  connect failed, closed, timed out or
 *                          garbage before the message was sent: retry_after = 5
 *   504 submission_outcome_unknown  the message was sent but no reply came
 *                          within the deadline: it may be queued; look it
 *                          up by message_id before sending again
 *   500 internal           out of memory, bad api_submission, unreadable
 *                          api_submission_password_file
 */
#ifndef POSTINBOX_SEND_H
#define POSTINBOX_SEND_H

#include <jansson.h>

#include "config.h"

typedef struct {
    int http_status;        /* see the table above */
    char code[48];          /* error code for {"error": {"code", "message"}}, "" on success */
    char message[512];      /* the human reason (Postfix's reply text when it refused: it
                               names the inbox and why); Postfix's 250 text on success */
    int retry_after;        /* seconds, for 429 and 503; 0 otherwise */
    char message_id[300];   /* the Message-ID header given to the message ("<...>"), set
                               whenever a message was composed */
    char queue_id[32];      /* Postfix's queue id, when queued */
    char smtp_reply[512];   /* the decisive SMTP reply "451 4.7.1 text", for logs and the error body;
                               "" when none was read */
} send_result_t;

/* request: {to: string|[string], cc?: string|[string], subject: string,
 * text?: string, html?: string, inReplyTo?: string, references?: string|[string]}
 * (null is the same as absent for the optional members).  Strings with
 * embedded NUL (jansson's JSON_ALLOW_NUL) are seen and refused.
 * from_address/display_name: the inbox.  Fills *out; returns out->http_status. */
int send_as_inbox(const pi_config_t *cfg, const char *from_address, const char *display_name,
                  const json_t *request, send_result_t *out);

#endif
