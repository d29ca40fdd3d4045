/*
 * dsn.h -- recognising bounces and complaints that arrive by mail.
 *
 * Public: dsn_parse, dsn_parse_message, dsn_report_free, dsn_report_json, dsn_type_name.
 * Given a whole raw message, tells a delivery status notification
 * (RFC 3464 multipart/report; report-type=delivery-status) or an ARF
 * feedback report (RFC 5965) from ordinary mail, and extracts per
 * recipient what happened plus a reference to the original message.
 * Non-standard bounces (Exim, qmail, Yahoo, Exchange/Outlook NDR text,
 * Gmail text) are recognised by heuristics on the human-readable part,
 * only when the headers already look like a bounce (MAILER-DAEMON or
 * postmaster sender, a bounce-like Subject, or Return-Path <>).
 *
 * MIME is parsed by GMime (call header_init once first).  Every string in
 * a report is valid UTF-8 without control characters, bounded in size;
 * the work is linear in the input, and broken MIME, truncated reports,
 * invalid UTF-8 and NUL bytes give kind NONE or partial data, never a crash.
 * Logs nothing.
 */
#ifndef POSTINBOX_DSN_H
#define POSTINBOX_DSN_H

#include <gmime/gmime.h>
#include <jansson.h>
#include <stddef.h>

#define DSN_MAX_RECIPIENTS 1000 /* more are dropped, report.truncated set */
#define DSN_MAX_ADDRESS 320
#define DSN_MAX_DIAGNOSTIC 1024
#define DSN_MAX_FIELD 256       /* action, status, MTA names, ARF fields */
#define DSN_MAX_MESSAGE_ID 998

typedef enum {
    DSN_KIND_NONE = 0, /* not a bounce or complaint we could read */
    DSN_KIND_DSN,      /* delivery status: per-recipient results */
    DSN_KIND_ARF       /* abuse/feedback report */
} dsn_kind_t;

typedef enum {
    DSN_TYPE_NONE = 0, /* delivered, relayed, expanded: not a failure */
    DSN_TYPE_SOFT,     /* 4.x.x, or delayed: try again, do not suppress */
    DSN_TYPE_HARD      /* 5.x.x, or failed without a status */
} dsn_type_t;

typedef struct {
    char *address;    /* Final-Recipient without "rfc822;" (never NULL) */
    char *original;   /* Original-Recipient, or NULL */
    char *action;     /* failed|delayed|delivered|relayed|expanded, or NULL */
    char *status;     /* "X.Y.Z", or NULL */
    char *diagnostic; /* Diagnostic-Code without "smtp;", or bounce text; or NULL */
    char *remote_mta; /* Remote-MTA without "dns;", or NULL */
    dsn_type_t type;
} dsn_recipient_t;

typedef struct {
    dsn_kind_t kind;
    /* How it was read: "rfc3464", "arf", or the heuristic that matched:
     * "exim", "qmail", "yahoo", "exchange", "gmail", "generic".  NULL for NONE. */
    const char *style;
    dsn_recipient_t *recipients;
    size_t recipient_count;
    int truncated; /* recipients beyond DSN_MAX_RECIPIENTS were dropped */

    /* The original message, all optional (NULL). */
    char *original_message_id;  /* without angle brackets */
    char *original_queue_id;    /* X-Postfix-Queue-ID */
    char *original_envelope_id; /* Original-Envelope-Id */
    char *reporting_mta;

    /* ARF (RFC 5965) fields, all optional. */
    char *feedback_type; /* lower case: abuse, fraud, virus, other, not-spam, ... */
    char *user_agent;
    char *original_mail_from;
    char *original_rcpt_to;
    char *arrival_date;
    char *source_ip;
    char *reported_domain;
} dsn_report_t;

/* Classifies raw[0..len) and fills *report (always initialised; free it
 * with dsn_report_free whatever the result).  Returns report->kind. */
dsn_kind_t dsn_parse(const char *raw, size_t len, dsn_report_t *report);
/* The same for a message already parsed by GMime (not consumed). */
dsn_kind_t dsn_parse_message(GMimeMessage *msg, dsn_report_t *report);
void dsn_report_free(dsn_report_t *report);

/* The event payload: {recipients: [{address, status, action, diagnostic,
 * type: "hard"|"soft"|null, originalRecipient, remoteMta}],
 * originalMessageId} for a DSN,
 * {feedbackType, originalMessageId, userAgent, originalMailFrom,
 * originalRcptTo, arrivalDate, sourceIp} for ARF; both with kind
 * ("dsn"|"arf"), style, originalQueueId and reportingMta.  Missing values
 * are null.  NULL only if out of memory. */
json_t *dsn_report_json(const dsn_report_t *report);

/* "hard", "soft", or NULL for DSN_TYPE_NONE. */
const char *dsn_type_name(dsn_type_t type);

#endif
