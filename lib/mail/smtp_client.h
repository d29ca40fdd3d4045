/*
 * smtp_client.h -- a minimal SMTP client for handing one message to the
 * local Postfix.
 *
 * Public: smtp_stage_t, smtp_reply_t, smtp_submission_t, smtp_outcome_t,
 * smtp_submit, smtp_stage_name, smtp_parse_reply_line.
 * One call is one connection: connect (non-blocking, then poll), the
 * greeting, EHLO (HELO if EHLO is refused), AUTH PLAIN (RFC 4954) when a
 * login is given -- an EHLO reply without AUTH PLAIN is a refusal at
 * SMTP_STAGE_AUTH with reply code 0 -- MAIL FROM, one RCPT TO per
 * recipient, DATA with CRLF line ends and dot-stuffing, QUIT.  Nothing is
 * pipelined, so each reply belongs to the command just sent.  The whole
 * submission has one deadline (timeout_ms) and every blocking step --
 * connect, each write, each reply -- waits at most until it, with poll(2),
 * as lib/store/pgconn.c does; nothing is resolved (numeric addresses only).
 *
 * All or nothing: if any recipient is refused, the client sends RSET and
 * QUIT instead of DATA, and the outcome is that refusal.  Postfix then
 * discards the transaction, and the postinbox milter gives back the sends
 * it reserved at RCPT for the recipients it had accepted (it refunds on
 * RSET, abort and QUIT), so an API send is either queued for every
 * recipient and charged for each, or not queued and not charged at all.
 *
 * The outcome names the failing stage and keeps the server's whole reply:
 * code, enhanced status code (RFC 3463, when given) and text, the lines
 * of a multi-line reply joined by a space.  A connection that fails,
 * closes, times out or answers something that is not an SMTP reply is a
 * transport failure with the reason in error.  Thread-safe; SIGPIPE is
 * avoided with MSG_NOSIGNAL.  Logs nothing.
 */
#ifndef POSTINBOX_SMTP_CLIENT_H
#define POSTINBOX_SMTP_CLIENT_H

#include <stddef.h>

typedef enum {
    SMTP_STAGE_CONNECT = 0,
    SMTP_STAGE_GREETING,
    SMTP_STAGE_EHLO,
    SMTP_STAGE_AUTH,        /* AUTH PLAIN, when a login is given */
    SMTP_STAGE_MAIL,
    SMTP_STAGE_RCPT,
    SMTP_STAGE_DATA,        /* the DATA command (354 expected) */
    SMTP_STAGE_MESSAGE,     /* the reply after the final "." */
    SMTP_STAGE_QUIT,
} smtp_stage_t;

#define SMTP_REPLY_TEXT_MAX 1024

typedef struct {
    int code;                          /* 250, 451, ...; 0 if none was read */
    char xcode[16];                    /* "4.7.1", or "" */
    char text[SMTP_REPLY_TEXT_MAX];    /* without code and enhanced code; lines joined by ' ' */
} smtp_reply_t;

typedef struct {
    const char *host;          /* numeric IPv4 or IPv6 address */
    int port;
    int timeout_ms;            /* the whole submission */
    const char *helo;
    const char *login;         /* SASL login for AUTH PLAIN, or NULL/"" for none */
    const char *password;      /* its password (never logged, never in the outcome) */
    const char *from;          /* envelope sender, without <> */
    const char *const *rcpts;  /* envelope recipients, without <> */
    size_t rcpt_count;
    const char *data;          /* the message; LF or CRLF line ends */
    size_t data_len;
} smtp_submission_t;

typedef enum {
    SMTP_QUEUED = 0,    /* 2xx after the message: the server took it */
    SMTP_REFUSED,       /* a 4xx/5xx reply (or an unexpected code) at stage */
    SMTP_TRANSPORT,     /* connect failed, connection closed, timeout, garbage */
} smtp_status_t;

typedef struct {
    smtp_status_t status;
    smtp_stage_t stage;        /* where it ended: SMTP_STAGE_MESSAGE when queued */
    smtp_reply_t reply;        /* the decisive reply (the refusal; or the 250 after the message) */
    long rcpt_index;           /* SMTP_STAGE_RCPT: which recipient was refused; else -1 */
    int timed_out;             /* SMTP_TRANSPORT because the deadline passed */
    char error[256];           /* SMTP_TRANSPORT: what went wrong, naming the call */
} smtp_outcome_t;

/* Submits one message.  Fills *out and returns out->status. */
smtp_status_t smtp_submit(const smtp_submission_t *sub, smtp_outcome_t *out);

/* "connect", "greeting", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "message", "QUIT". */
const char *smtp_stage_name(smtp_stage_t stage);

/* Parses one reply line (without CRLF): 1 if it is "NNN text" (the last
 * line), 0 if "NNN-text" (more follow), -1 if it is no reply line.
 * *code and *text (pointing into line) are set for 0 and 1. */
int smtp_parse_reply_line(const char *line, int *code, const char **text);

#endif
