/*
 * session.h -- the state of one SMTP session and its current message,
 * and what the milter does with it at each stage.
 *
 * Public: session_new, session_runtime, session_free, session_mail, session_rcpt,
 * session_header, session_body, session_end_of_message,
 * session_abort_message.
 *
 * Knows nothing of libmilter: callbacks.c passes in plain strings and
 * turns the decision_t it gets back into smfi_setreply + SMFIS_*.  Each
 * stage logs exactly one line (queue id first, key=value) when it
 * decides something.  Reservations made at RCPT stand once the message
 * is recorded at end of message and are refunded on every other way out (abort, RSET, a new MAIL,
 * QUIT, a failed record), so a transaction that does not finish charges
 * nothing.
 */
#ifndef POSTINBOX_SESSION_H
#define POSTINBOX_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include "decide.h"
#include "runtime.h"

typedef struct session session_t;

/* A new SMTP connection from client (NULL for a local/unknown client). */
session_t *session_new(runtime_t *rt, const struct sockaddr *client, const char *client_text);
/* The runtime the session was created with (the caller releases it). */
runtime_t *session_runtime(session_t *s);
/* Refunds anything outstanding and frees the session. */
void session_free(session_t *s);

/* MAIL FROM.  login is {auth_authen} or NULL; queue_id {i} or NULL. */
void session_mail(session_t *s, const char *sender, const char *login, const char *queue_id,
                  decision_t *out);
/* RCPT TO. */
void session_rcpt(session_t *s, const char *rcpt, const char *queue_id, decision_t *out);
/* One header field, as libmilter gives it (value without the name). */
void session_header(session_t *s, const char *name, const char *value);
/* A body chunk of len bytes. */
void session_body(session_t *s, const unsigned char *chunk, size_t len);
/* End of message: writes the records; the reservations then stand. */
void session_end_of_message(session_t *s, const char *queue_id, decision_t *out);
/* The message ended any other way: refund and forget it. */
void session_abort_message(session_t *s);

#endif
