/*
 * reply.h -- the SMTP replies postinbox gives, their defaults and parsing.
 *
 * Public: reply_id_t, reply_default, reply_name, reply_when, reply_parse,
 * reply_format.
 * Every reply is "CODE X.Y.Z text"; the text may name {inbox}, {status},
 * {retry} (seconds until a retry can succeed), {reset} (UTC time the
 * daily cap resets), {recipient} (the RCPT TO address) and {reason} (why
 * a recipient is suppressed: "hard bounce 5.1.1 (2026-11-22)").  Each can be overridden in postinbox.conf as
 * reply_<name> = CODE X.Y.Z text.  Logs nothing.
 */
#ifndef POSTINBOX_REPLY_H
#define POSTINBOX_REPLY_H

#include <stddef.h>

typedef enum {
    REPLY_RCPT_DISABLED = 0,   /* recipient inbox disabled */
    REPLY_RCPT_SUSPENDED,      /* recipient inbox suspended */
    REPLY_RCPT_UNKNOWN,        /* unknown address on a managed domain */
    REPLY_SENDER_NOT_GRANTED,  /* login may not send as this sender */
    REPLY_SENDER_INACTIVE,     /* sender inbox disabled or suspended */
    REPLY_SPOOF,               /* unauthenticated MAIL FROM a managed address */
    REPLY_BURST,               /* burst guard */
    REPLY_DAILY,               /* daily cap */
    REPLY_BACKEND,             /* PostgreSQL or Redis unreachable or slow */
    REPLY_MALFORMED,           /* address that cannot be parsed */
    REPLY_RCPT_SUPPRESSED,     /* recipient on the sender inbox's suppression list */
    REPLY_SIGN_FAILED,         /* the DKIM signature of mail from an inbox could not be made */
    REPLY_DOMAIN_HELD,         /* the sender's domain failed its DNS checks (domain_dns_failed = hold) */
    REPLY_COUNT
} reply_id_t;

typedef struct {
    int code;          /* 450, 550, ... */
    char xcode[16];    /* "5.2.1" */
    char text[256];    /* template with {inbox} etc. */
} reply_t;

/* Fills in the built-in default of a reply. */
void reply_default(reply_id_t id, reply_t *out);
/* Config key suffix: "rcpt_disabled" for reply_rcpt_disabled. */
const char *reply_name(reply_id_t id);
/* When the reply is given, for the documentation. */
const char *reply_when(reply_id_t id);
/* Parses "550 5.2.1 text"; checks the code is 4xx/5xx, the enhanced code
 * matches its class and the text has no CR/LF.  0 or -1 with err. */
int reply_parse(const char *value, reply_t *out, char *err, size_t errlen);

typedef struct {
    const char *inbox;
    const char *status;
    long retry_seconds;
    const char *reset;
    const char *recipient;
    const char *reason;
} reply_vars_t;

/* Expands the template into out (a single line, no CR/LF, no '%'). */
void reply_format(const reply_t *reply, const reply_vars_t *vars, char *out, size_t outlen);

#endif
