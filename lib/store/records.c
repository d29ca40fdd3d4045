/*
 * records.c -- row objects.  See records.h.
 */
#include "records.h"

#include <stdio.h>
#include <time.h>

static const pgjson_field_t inbox_fields[] = {
    { "id", 't' }, { "address", 't' }, { "displayName", 't' }, { "accountId", 't' }, { "domainId", 't' },
    { "kind", 't' }, { "status", 't' }, { "statusReason", 't' }, { "statusBy", 't' },
    { "dailySendLimit", 'i' }, { "burstLimit", 'i' },
};
static const pgjson_field_t inbox_tail_fields[] = {
    { "totalSent", 'i' }, { "bounceCount", 'i' }, { "complaintCount", 'i' }, { "labels", 'j' },
    { "createdAt", 't' }, { "updatedAt", 't' }, { "tracking", 'j' }, { "trackingOverride", 'j' },
};

json_t *
records_inbox_json(const PGresult *res, int row, const limit_result_t *usage)
{
    json_t *obj = json_object();
    int col = PGJSON_FIELDS(obj, res, row, 0, inbox_fields);

    json_object_set_new(obj, "sendsToday", usage ? json_integer(usage->sends_today) : json_null());
    json_object_set_new(obj, "burstUsed", usage ? json_integer(usage->burst_used) : json_null());
    PGJSON_FIELDS(obj, res, row, col, inbox_tail_fields);
    return obj;
}

void
records_inbox_usage(json_t *inbox, const limit_result_t *usage)
{
    char reset[32];
    struct tm tm;
    time_t at;
    json_int_t daily = json_integer_value(json_object_get(inbox, "dailySendLimit"));

    if (usage == NULL) {
        json_object_set_new(inbox, "remaining", json_null());
        json_object_set_new(inbox, "resetAt", json_null());
        return;
    }
    json_object_set_new(inbox, "remaining",
                        json_integer(daily > usage->sends_today ? daily - usage->sends_today : 0));
    /* the next 00:00 UTC: the limiter's own value, else the clock's */
    at = usage->reset_epoch > 0 ? (time_t)usage->reset_epoch : (time(NULL) / 86400 + 1) * 86400;
    gmtime_r(&at, &tm);
    strftime(reset, sizeof(reset), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    json_object_set_new(inbox, "resetAt", json_string(reset));
}

static const pgjson_field_t message_fields[] = {
    { "id", 't' }, { "inboxId", 't' }, { "threadId", 't' }, { "direction", 't' }, { "queueId", 't' },
    { "messageId", 't' }, { "inReplyTo", 't' }, { "references", 't' }, { "from", 't' }, { "to", 't' },
    { "cc", 't' }, { "subject", 't' }, { "size", 'i' }, { "status", 't' }, { "envelopeFrom", 't' },
    { "envelopeTo", 'j' }, { "preview", 't' }, { "createdAt", 't' }, { "updatedAt", 't' },
    { "referenceIds", 'j' },
};

json_t *
records_message_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    PGJSON_FIELDS(obj, res, row, 0, message_fields);
    return obj;
}

/* After message_fields; replyText is also given as extractedText. */
static const pgjson_field_t message_body_fields[] = {
    { "textBody", 't' }, { "htmlBody", 't' }, { "replyText", 't' },
};
static const pgjson_field_t message_detail_fields[] = {
    { "extractedText", 't' }, { "attachments", 'j' }, { "report", 'j' }, { "contentTruncated", 'b' },
    { "parseDefects", 'i' }, { "recipients", 'j' },
};

json_t *
records_message_detail_json(const PGresult *res, int row)
{
    json_t *obj = records_message_json(res, row);
    int col = PGJSON_FIELDS(obj, res, row, 20, message_body_fields);
    PGJSON_FIELDS(obj, res, row, col - 1, message_detail_fields);
    return obj;
}

static const pgjson_field_t thread_fields[] = {
    { "id", 't' }, { "inboxId", 't' }, { "subject", 't' }, { "rawSubject", 't' }, { "messageCount", 'i' },
    { "participants", 'j' }, { "firstMessageAt", 't' }, { "lastMessageAt", 't' },
};

json_t *
records_thread_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    PGJSON_FIELDS(obj, res, row, 0, thread_fields);
    return obj;
}

static const pgjson_field_t event_fields[] = {
    { "id", 't' }, { "inboxId", 't' }, { "messageId", 't' }, { "type", 't' }, { "payload", 'j' },
    { "createdAt", 't' },
};

json_t *
records_event_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    PGJSON_FIELDS(obj, res, row, 0, event_fields);
    return obj;
}

static const pgjson_field_t endpoint_fields[] = {
    { "id", 't' }, { "url", 't' }, { "events", 'j' }, { "enabled", 'b' }, { "disabledReason", 't' },
    { "failingSince", 't' }, { "inboxId", 't' }, { "inboxAddress", 't' }, { "accountId", 't' },
    { "previousSecretExpiresAt", 't' }, { "createdAt", 't' }, { "updatedAt", 't' },
};

json_t *
records_endpoint_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    PGJSON_FIELDS(obj, res, row, 0, endpoint_fields);
    return obj;
}

static const pgjson_field_t delivery_fields[] = {
    { "id", 'i' }, { "eventId", 't' }, { "eventType", 't' }, { "status", 't' }, { "attempts", 'i' },
    { "nextAttemptAt", 't' }, { "lastStatusCode", 'i' }, { "lastError", 't' }, { "lastLatencyMs", 'i' },
    { "deliveredAt", 't' }, { "createdAt", 't' }, { "attemptsLog", 'j' },
};

json_t *
records_delivery_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    PGJSON_FIELDS(obj, res, row, 0, delivery_fields);
    return obj;
}
