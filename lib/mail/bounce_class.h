/*
 * bounce_class.h -- the one classifier of delivery failures: a reason from
 * a fixed vocabulary and a bounceType, from the enhanced status code, the
 * SMTP reply code, the diagnostic text and the DSN action together.
 *
 * Public: bounce_reason_t, bounce_type_t, bounce_class_t, bounce_classify,
 * bounce_class_extract, bounce_reason_name, bounce_reason_from_name,
 * bounce_type_name, bounce_reason_type, bounce_reason_sender_problem.
 *
 * Every path calls it: a Postfix log line (status=bounced -> action
 * "failed", deferred -> "delayed", expired -> "expired", with dsn= and the
 * text in parentheses), an RFC 3464 DSN (Status, the code and text of
 * Diagnostic-Code, Action), a text bounce (only words: the code and status
 * are pulled out of the text) and an ARF report's delivery part.
 *
 * The vocabulary is the list plus sender_rejected (the envelope
 * sender was refused: a sender problem, not the recipient's).
 *
 * bounceType means what the big senders mean by it:
 *   permanent     this address will not accept mail: suppress it.  Only the
 *                 reasons that say the address itself is gone (user_unknown,
 *                 host_unknown, has_moved, not_accepting_mail), and only when
 *                 the failure is final: a 4xx code, a 4.x.x status or a
 *                 delayed/expired action make even those transient.
 *   transient     try later, never suppress: every other reason, whatever
 *                 the code (mailbox full, disabled, expired, and every
 *                 refusal of this message or this sender).
 *   undetermined  nothing says why (reason undetermined or on_hold).
 *
 * How the evidence is weighed (the rules are tables in bounce_class.c,
 * matched case-insensitively, in time linear in the text):
 *   1. a strong text rule (words that say exactly what happened: "user
 *      unknown", "blocked using Spamhaus", "DMARC") -- over any status;
 *   2. a specific status (5.1.1, 5.2.2, 5.7.26, 4.4.7, ...);
 *   3. a weak text rule (words that need no status: "denied", "blocked");
 *   4. a generic status (X.7.1, X.2.1, X.4.x, ...);
 *   5. a hint (RFC 5321's stock "mailbox unavailable" with a 5xx code);
 *   6. the SMTP code alone (552, 521, 556, 5.0x).
 * A temporary failure that ended the delivery (action expired, or failed
 * with a 4.x.x status or 4xx code) is "expired" unless the evidence names
 * a more specific reason than a network or system error.
 *
 * Pure: no allocation, no I/O, no GMime, logs nothing; thread-safe.  The
 * text may be NULL, long (only its first BOUNCE_TEXT_MAX bytes after the
 * reply are read), in any case, with invalid UTF-8.
 */
#ifndef POSTINBOX_BOUNCE_CLASS_H
#define POSTINBOX_BOUNCE_CLASS_H

#include <stddef.h>

#define BOUNCE_STATUS_MAX 16   /* "5.7.650" and a NUL, with room */
#define BOUNCE_TEXT_MAX 4096   /* bytes of diagnostic text examined */

/* The vocabulary; the names (bounce_reason_name) are stable: they are
 * written to events, JSON and SQL.  Append only. */
typedef enum {
    BOUNCE_UNDETERMINED = 0,   /* undetermined */
    BOUNCE_USER_UNKNOWN,       /* user_unknown: no such mailbox */
    BOUNCE_MAILBOX_FULL,       /* mailbox_full: the recipient's quota */
    BOUNCE_HOST_UNKNOWN,       /* host_unknown: no such domain, no MX, null MX (RFC 7505) */
    BOUNCE_HAS_MOVED,          /* has_moved: 5.1.6, 551 user not local */
    BOUNCE_MAILBOX_DISABLED,   /* mailbox_disabled: disabled, suspended, inactive */
    BOUNCE_NOT_ACCEPTING_MAIL, /* not_accepting_mail: the address or host accepts no mail */
    BOUNCE_CONTENT_REJECTED,   /* content_rejected: content or spam filter, message format */
    BOUNCE_VIRUS,              /* virus: malware found */
    BOUNCE_POLICY_VIOLATION,   /* policy_violation: a local policy refused it */
    BOUNCE_BLOCKED,            /* blocked: IP or domain reputation, RBL, complaints */
    BOUNCE_AUTH_FAILURE,       /* auth_failure: SPF, DKIM, DMARC, spoofing, SMTP AUTH */
    BOUNCE_NO_PTR,             /* no_ptr: no or mismatched reverse DNS of the sending IP */
    BOUNCE_TLS_REQUIRED,       /* tls_required: TLS or another security feature required */
    BOUNCE_RATE_LIMITED,       /* rate_limited: too many connections or messages, greylisting */
    BOUNCE_MESSAGE_TOO_BIG,    /* message_too_big */
    BOUNCE_QUOTA_EXCEEDED,     /* quota_exceeded: a sending limit (recipients, messages per day) */
    BOUNCE_EXPIRED,            /* expired: queue lifetime ran out */
    BOUNCE_NETWORK_ERROR,      /* network_error: connection, timeout, DNS failure */
    BOUNCE_SYSTEM_ERROR,       /* system_error: the receiving system failed (disk, loop, config) */
    BOUNCE_SYNTAX_ERROR,       /* syntax_error: SMTP command or protocol error */
    BOUNCE_RELAYING_DENIED,    /* relaying_denied */
    BOUNCE_SENDER_REJECTED,    /* sender_rejected: the envelope sender address was refused */
    BOUNCE_ON_HOLD,            /* on_hold: held or quarantined for review, not failed yet */
    BOUNCE_REASON_COUNT
} bounce_reason_t;

typedef enum {
    BOUNCE_TYPE_UNDETERMINED = 0,
    BOUNCE_TYPE_PERMANENT,
    BOUNCE_TYPE_TRANSIENT
} bounce_type_t;

typedef struct {
    bounce_reason_t reason;
    bounce_type_t type;
    int code;                       /* the SMTP code used (given or found), 0 if none */
    char status[BOUNCE_STATUS_MAX]; /* the X.Y.Z used (given or found), "" if none */
    const char *decided_by;         /* "text", "status", "code", "action" or "none" */
} bounce_class_t;

/* Classifies one recipient's failure into *out (always filled).  status:
 * "X.Y.Z" (trailing text ignored) or NULL; code: 0 if unknown; text: the
 * diagnostic ("smtp; 550 5.1.1 ...", "host mx said: ...", a text bounce's
 * words) or NULL; action: "failed", "delayed", "expired" or NULL (not
 * known, as in a text bounce: the failure is then not taken for an expiry).
 * A missing code or status is taken from the text when it has one. */
void bounce_classify(const char *status, int code, const char *text, const char *action, bounce_class_t *out);

/* Pulls the SMTP code and enhanced status out of a diagnostic text
 * ("host mx said: 550-5.1.1 The email account...", "smtp; 552 5.2.2 ...",
 * "... (#5.1.1)").  *code is 0 and status "" when absent (either may be
 * absent alone).  Returns the offset where the reply starts in text (the
 * code, else the status), or -1 when neither was found. */
long bounce_class_extract(const char *text, int *code, char status[BOUNCE_STATUS_MAX]);

/* "user_unknown", ...; "undetermined" for out-of-range values. */
const char *bounce_reason_name(bounce_reason_t reason);
/* 0 and *out set if name is one of the names, -1 otherwise. */
int bounce_reason_from_name(const char *name, bounce_reason_t *out);
/* "permanent", "transient", "undetermined". */
const char *bounce_type_name(bounce_type_t type);
/* The type of a reason when the failure is final (permanent for the four
 * address-is-gone reasons, undetermined for undetermined/on_hold,
 * transient otherwise). */
bounce_type_t bounce_reason_type(bounce_reason_t reason);
/* 1 if the reason says the *sender* has a problem (reputation, content,
 * authentication, infrastructure): blocked, content_rejected, virus,
 * policy_violation, auth_failure, no_ptr, tls_required, sender_rejected.
 * These count in the block rate, not the bounce rate. */
int bounce_reason_sender_problem(bounce_reason_t reason);

#endif
