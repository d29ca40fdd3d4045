/*
 * postfix_log.h -- parses one line of Postfix's mail log.  Pure: no I/O,
 * no allocation, no logging, so it is unit-tested on real lines.
 *
 * Public: postfix_log_parse, postfix_log_classify, pfl_status_name.
 * Understands the lines that carry delivery status:
 *   [PREFIX] QUEUEID: to=<a>, [orig_to=<b>,] relay=..., ..., dsn=X.Y.Z,
 *            status=sent|deferred|bounced|expired|SOFTBOUNCE (diagnostic)
 *   [PREFIX] QUEUEID: from=<s>, status=expired, returned to sender
 *   [PREFIX] QUEUEID: removed
 * PREFIX is whatever precedes the queue id: a syslog or maillog_file
 * header ("Nov 22 17:28:10 host postfix/smtp[123]: "), an RFC 3339 stamp,
 * or nothing (journalctl -o cat).  Queue ids are short (hex) or long
 * (postconf enable_long_queue_ids).  Every other line is PFL_NONE.
 */
#ifndef POSTINBOX_POSTFIX_LOG_H
#define POSTINBOX_POSTFIX_LOG_H

#include <stddef.h>

#include "bounce_class.h"

typedef enum {
    PFL_NONE = 0,        /* not a line we care about */
    PFL_DELIVERY,        /* QUEUEID: to=<...>, ... status=... */
    PFL_EXPIRED,         /* QUEUEID: from=<...>, status=expired, returned to sender */
    PFL_REMOVED          /* QUEUEID: removed */
} pfl_kind_t;

typedef enum {
    PFL_STATUS_NONE = 0,
    PFL_STATUS_SENT,
    PFL_STATUS_DEFERRED,   /* also SOFTBOUNCE (soft_bounce = yes) */
    PFL_STATUS_BOUNCED,
    PFL_STATUS_EXPIRED
} pfl_status_t;

#define PFL_QUEUE_ID_MAX 32
#define PFL_ADDR_MAX 512
#define PFL_TEXT_MAX 1024

typedef struct {
    pfl_kind_t kind;
    pfl_status_t status;
    char queue_id[PFL_QUEUE_ID_MAX];
    char agent[32];                    /* "smtp", "lmtp", "local", ... ("" if no prefix) */
    char to[PFL_ADDR_MAX];             /* without the angle brackets */
    char orig_to[PFL_ADDR_MAX];        /* "" if absent */
    char relay[256];
    char dsn[16];                      /* "X.Y.Z", "" if absent */
    double delay;                      /* delay= seconds, -1 if absent */
    char diagnostic[PFL_TEXT_MAX];     /* text inside the parentheses after status= */
} pfl_line_t;

/* Parses line[0..len) (no newline needed).  Returns out->kind; out is
 * zeroed for PFL_NONE.  Values too long for their field are cut. */
pfl_kind_t postfix_log_parse(const char *line, size_t len, pfl_line_t *out);

/* Why a failed or deferred line failed, by the one classifier
 * (bounce_class.h): dsn=, the reply code in the text, the text in
 * parentheses and the action the status means (bounced -> "failed",
 * deferred -> "delayed", expired -> "expired").  A per-message
 * "status=expired, returned to sender" line has no text: its reason is
 * expired.  A sent line (or none) gives reason undetermined. */
void postfix_log_classify(const pfl_line_t *line, bounce_class_t *out);

/* "sent", "deferred", "bounced", "expired" or "". */
const char *pfl_status_name(pfl_status_t status);

#endif
