/*
 * dsn.h -- recognising bounces and complaints that arrive by mail.
 *
 * Public: dsn_parse, dsn_parse_message, dsn_report_free, dsn_report_json, dsn_type_name.
 * Given a whole raw message, tells a delivery status notification
 * (RFC 3464 multipart/report; report-type=delivery-status) or an ARF
 * feedback report (RFC 5965) from ordinary mail, and extracts per
 * recipient what happened plus a reference to the original message.
 * Non-standard bounces are recognised by heuristics on the human-readable
 * part, only when the headers already look like a bounce (MAILER-DAEMON or
 * postmaster sender, a bounce-like Subject, Return-Path <>, or
 * X-Failed-Recipients): a table of format signatures in dsn.c (From,
 * Subject and body markers) names the MTA or provider -- Postfix, Exim,
 * sendmail (v8 and v5 text), qmail, Courier, Domino, OpenSMTPD, DragonFly,
 * Exchange 2003, Exchange 2007+, Office 365, IMail, InterScan MSS,
 * MXLogic, GMX, Zoho, Verizon, Yahoo, Gmail, Google Groups, Amazon SES,
 * WorkMail -- and one set of line rules reads the recipients from any of
 * them (an address alone on a line, "addr: reply", "550 <addr>... reply",
 * "Label: addr", an SMTP transcript's RCPT TO, a sentence naming the
 * recipient, X-Failed-Recipients), each with the lines that follow it as
 * its diagnostic (the remote server's reply, with its code).  An RFC 3464
 * recipient without a Diagnostic-Code gets its text from the
 * human-readable part the same way (OpenSMTPD writes only Status).
 *
 * A message that is clearly a bounce (a known format's signature, or a
 * report-type=delivery-status) but names no recipient we could read is
 * still a DSN: kind DSN, recipient_count 0, undetermined 1, so that the
 * caller records an undetermined failure and keeps the report.
 *
 * Auto-replies (RFC 3834, lib/mail/autoreply.h) are not bounces: a
 * message with an out-of-office responder's headers is never read by the
 * heuristics (only a real report part makes it a DSN), one with only
 * "Auto-Submitted: auto-replied" needs a known format's signature; when
 * the result is NONE, report.auto_reply names the header that made it an
 * auto-reply.
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
    char smtp_code[4]; /* the first 4xx/5xx reply code in diagnostic, or "" */
} dsn_recipient_t;

typedef struct {
    dsn_kind_t kind;
    /* How it was read: "rfc3464", "arf", or the text format that matched
     * (the same names as mta), "generic" when none did.  NULL for NONE. */
    const char *style;
    /* Kind DSN: the MTA or provider whose signature the bounce carries,
     * also for an RFC 3464 report: "postfix", "exim", "sendmail", "qmail", "courier",
     * "domino", "opensmtpd", "dragonfly", "exchange2003", "exchange",
     * "office365", "imail", "interscan", "mxlogic", "gmx", "zoho",
     * "verizon", "yahoo", "gmail", "googlegroups", "amazonses",
     * "workmail"; NULL when none matched. */
    const char *mta;
    /* Kind DSN with no recipient read: a bounce nonetheless (record it as
     * undetermined).  recipient_count is 0 whenever this is set. */
    int undetermined;
    /* Kind NONE only: the header that makes the message an RFC 3834
     * auto-reply (autoreply_check: "auto-submitted", "x-autoreply",
     * "x-autorespond", "x-autoresponder", "precedence",
     * "x-auto-response-suppress"), NULL for ordinary mail.  Never set on a
     * DSN or ARF report. */
    const char *auto_reply;
    dsn_recipient_t *recipients;
    size_t recipient_count;
    int truncated; /* recipients beyond DSN_MAX_RECIPIENTS were dropped */

    /* The original message, all optional (NULL). */
    char *original_message_id;  /* without angle brackets */
    char *original_queue_id;    /* X-Postfix-Queue-ID */
    char *original_envelope_id; /* Original-Envelope-Id */
    char *reporting_mta;

    /* ARF (RFC 5965) fields, all optional. */
    /* Lower case, the first word of the field: abuse, fraud, virus, other,
     * not-spam, ...  A report without the field (RFC 5965 requires it)
     * says "abuse", and feedback_type_assumed is set: a feedback loop
     * sends complaints, and "other" would hide one. */
    char *feedback_type;
    int feedback_type_assumed;
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
 * type: "hard"|"soft"|null, originalRecipient, remoteMta, smtpCode,
 * reason, bounceType, senderProblem (bounce_classify)}], originalMessageId,
 * undetermined: bool} for a DSN,
 * {feedbackType, originalMessageId, userAgent, originalMailFrom,
 * originalRcptTo, arrivalDate, sourceIp} for ARF; both with kind
 * ("dsn"|"arf"), style, mta, originalQueueId and reportingMta.  Missing values
 * are null.  NULL only if out of memory. */
json_t *dsn_report_json(const dsn_report_t *report);

/* "hard", "soft", or NULL for DSN_TYPE_NONE. */
const char *dsn_type_name(dsn_type_t type);

#endif
