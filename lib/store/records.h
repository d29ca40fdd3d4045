/*
 * records.h -- the JSON objects of postinbox's rows, as postinboxctl
 * --json prints them and the HTTP API serves them.
 *
 * Public: RECORDS_*_COLUMNS (the select list a row function reads, in
 * its order), records_inbox_json, records_inbox_usage, records_message_json,
 * records_message_detail_json, records_thread_json, records_event_json,
 * records_endpoint_json, records_delivery_json.
 * One select list and one row function per object, so the two front
 * ends can never disagree on a field name.  Never a secret: endpoint
 * objects leave the signing secret out.  Thread-safe; logs nothing.
 */
#ifndef POSTINBOX_RECORDS_H
#define POSTINBOX_RECORDS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "limiter.h"
#include "pgjson.h"

/* inbox i, with its domain d and limits l */
#define RECORDS_INBOX_COLUMNS                                                                         \
    "SELECT i.id, i.address, i.display_name, i.account_id, i.domain_id, d.kind, i.status,"           \
    " i.status_reason, i.status_by, l.daily, l.burst, i.total_sent, i.bounce_count, i.complaint_count,"             \
    " to_json(i.labels)::text, " PGJSON_ISO("i.created_at") ", " PGJSON_ISO("i.updated_at") ","           \
    " postinbox.tracking_effective(i.tracking,"                                                       \
    "   (SELECT a.tracking FROM postinbox.account a WHERE a.id = i.account_id))::text, i.tracking::text"
#define RECORDS_INBOX_FROM                                                                            \
    " FROM postinbox.inbox i JOIN postinbox.domain d ON d.id = i.domain_id"                           \
    " CROSS JOIN LATERAL postinbox.inbox_limits(i) l"
#define RECORDS_INBOX_SELECT RECORDS_INBOX_COLUMNS RECORDS_INBOX_FROM

/* The inbox object; usage NULL (Redis unreachable) gives null usage
 * fields (sendsToday, burstUsed). */
json_t *records_inbox_json(const PGresult *res, int row, const limit_result_t *usage);
/* Adds the live usage of the API's GET /inboxes/{id} to an inbox object:
 * remaining (dailySendLimit - sendsToday, at least 0) and resetAt (the
 * next 00:00 UTC, ISO-8601); null when usage is NULL. */
void records_inbox_usage(json_t *inbox, const limit_result_t *usage);

/* message rows, no table alias */
#define RECORDS_MESSAGE_COLUMNS                                                                        \
    "SELECT id, inbox_id, thread_id, direction, queue_id, message_id_header, in_reply_to,"            \
    " references_header, from_header, to_header, cc_header, subject, size, status,"                   \
    " envelope_from, to_json(envelope_to)::text, preview,"                                            \
    " " PGJSON_ISO("created_at") ", " PGJSON_ISO("updated_at") ", to_json(reference_ids)::text"
#define RECORDS_MESSAGE_SELECT RECORDS_MESSAGE_COLUMNS " FROM postinbox.message"
/* Appended to RECORDS_MESSAGE_COLUMNS for one message with its content
 * and its recipients' delivery status (message_recipient). */
#define RECORDS_MESSAGE_DETAIL_COLUMNS                                                                 \
    ", text_body, html_body, reply_text, attachments::text, report::text, content_truncated,"          \
    " parse_defects,"                                                                                 \
    " coalesce((SELECT json_agg(json_build_object('address', r.address, 'state', r.state,"            \
    "    'dsn', r.dsn, 'diagnostic', r.diagnostic, 'relay', r.relay, 'deferrals', r.deferrals,"        \
    "    'complainedAt', " PGJSON_ISO("r.complained_at") ", 'updatedAt', " PGJSON_ISO("r.updated_at") ")" \
    "    ORDER BY r.address) FROM postinbox.message_recipient r WHERE r.message_id = message.id),"     \
    "  '[]')::text"

json_t *records_message_json(const PGresult *res, int row);
/* RECORDS_MESSAGE_COLUMNS RECORDS_MESSAGE_DETAIL_COLUMNS: the message
 * plus textBody, htmlBody, replyText (alias extractedText), attachments,
 * report, contentTruncated, parseDefects, recipients. */
json_t *records_message_detail_json(const PGresult *res, int row);

#define RECORDS_THREAD_SELECT                                                                          \
    "SELECT id, inbox_id, subject, raw_subject, message_count, to_json(participants)::text,"          \
    " " PGJSON_ISO("first_message_at") ", " PGJSON_ISO("last_message_at") " FROM postinbox.thread"
json_t *records_thread_json(const PGresult *res, int row);

#define RECORDS_EVENT_SELECT                                                                           \
    "SELECT id, inbox_id, message_id, type, payload::text, " PGJSON_ISO("created_at")                 \
    " FROM postinbox.event"
json_t *records_event_json(const PGresult *res, int row);

/* webhook_endpoint e, inbox i */
#define RECORDS_ENDPOINT_COLUMNS                                                                       \
    "SELECT e.id, e.url, to_json(e.event_types)::text, e.enabled, e.disabled_reason,"                 \
    " " PGJSON_ISO("e.failing_since") ", e.inbox_id, i.address, e.account_id,"                        \
    " " PGJSON_ISO("e.previous_secret_expires_at") ", " PGJSON_ISO("e.created_at") ", "               \
    PGJSON_ISO("e.updated_at")
#define RECORDS_ENDPOINT_FROM                                                                          \
    " FROM postinbox.webhook_endpoint e LEFT JOIN postinbox.inbox i ON i.id = e.inbox_id"
/* Delivery counts by status, a JSON column after RECORDS_ENDPOINT_COLUMNS. */
#define RECORDS_ENDPOINT_COUNTS                                                                        \
    "(SELECT json_build_object('pending', count(*) FILTER (WHERE d.status = 'pending'),"              \
    "   'delivered', count(*) FILTER (WHERE d.status = 'delivered'),"                                 \
    "   'failed', count(*) FILTER (WHERE d.status = 'failed'))"                                       \
    " FROM postinbox.webhook_delivery d WHERE d.endpoint_id = e.id)::text"
/* events: the array of subscribed types, [] for every type. */
json_t *records_endpoint_json(const PGresult *res, int row);

/* webhook_delivery d joined to event v, with the last 50 attempts */
#define RECORDS_DELIVERY_SELECT                                                                        \
    "SELECT d.id, d.event_id, v.type, d.status, d.attempts, " PGJSON_ISO("d.next_attempt_at") ","      \
    " d.last_status_code, d.last_error, d.last_latency_ms, " PGJSON_ISO("d.delivered_at") ","         \
    " " PGJSON_ISO("d.created_at") ","                                                                \
    " coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'statusCode', a.status_code,"  \
    "       'latencyMs', a.latency_ms, 'error', a.error, 'createdAt', " PGJSON_ISO("a.created_at") ")" \
    "       ORDER BY a.id)"                                                                           \
    "     FROM (SELECT * FROM postinbox.webhook_attempt WHERE delivery_id = d.id"                     \
    "            ORDER BY id DESC LIMIT 50) a), '[]')::text"                                          \
    " FROM postinbox.webhook_delivery d JOIN postinbox.event v ON v.id = d.event_id"
json_t *records_delivery_json(const PGresult *res, int row);

#endif
