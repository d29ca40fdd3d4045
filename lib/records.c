/*
 * records.c -- row objects.  See records.h.
 */
#include "records.h"

#include <stdio.h>
#include <time.h>

json_t *
records_inbox_json(const PGresult *res, int row, const limit_result_t *usage)
{
    json_t *obj = json_object();

    json_object_set_new(obj, "id", pgjson_text(res, row, 0));
    json_object_set_new(obj, "address", pgjson_text(res, row, 1));
    json_object_set_new(obj, "displayName", pgjson_text(res, row, 2));
    json_object_set_new(obj, "accountId", pgjson_text(res, row, 3));
    json_object_set_new(obj, "domainId", pgjson_text(res, row, 4));
    json_object_set_new(obj, "kind", pgjson_text(res, row, 5));
    json_object_set_new(obj, "status", pgjson_text(res, row, 6));
    json_object_set_new(obj, "statusReason", pgjson_text(res, row, 7));
    json_object_set_new(obj, "dailySendLimit", pgjson_int(res, row, 8));
    json_object_set_new(obj, "burstLimit", pgjson_int(res, row, 9));
    json_object_set_new(obj, "sendsToday", usage ? json_integer(usage->sends_today) : json_null());
    json_object_set_new(obj, "burstUsed", usage ? json_integer(usage->burst_used) : json_null());
    json_object_set_new(obj, "totalSent", pgjson_int(res, row, 10));
    json_object_set_new(obj, "bounceCount", pgjson_int(res, row, 11));
    json_object_set_new(obj, "complaintCount", pgjson_int(res, row, 12));
    json_object_set_new(obj, "labels", pgjson_parsed(res, row, 13));
    json_object_set_new(obj, "createdAt", pgjson_text(res, row, 14));
    json_object_set_new(obj, "updatedAt", pgjson_text(res, row, 15));
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

json_t *
records_message_json(const PGresult *res, int row)
{
    static const char *const text_fields[] = { "id", "inboxId", "threadId", "direction", "queueId", "messageId",
                                                "inReplyTo", "references", "from", "to", "cc", "subject" };
    json_t *obj = json_object();
    int col = 0;

    for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++)
        json_object_set_new(obj, text_fields[i], pgjson_text(res, row, col++));
    json_object_set_new(obj, "size", pgjson_int(res, row, col++));
    json_object_set_new(obj, "status", pgjson_text(res, row, col++));
    json_object_set_new(obj, "envelopeFrom", pgjson_text(res, row, col++));
    json_object_set_new(obj, "envelopeTo", pgjson_parsed(res, row, col++));
    json_object_set_new(obj, "preview", pgjson_text(res, row, col++));
    json_object_set_new(obj, "createdAt", pgjson_text(res, row, col++));
    json_object_set_new(obj, "updatedAt", pgjson_text(res, row, col++));
    json_object_set_new(obj, "referenceIds", pgjson_parsed(res, row, col++));
    return obj;
}

json_t *
records_message_detail_json(const PGresult *res, int row)
{
    json_t *obj = records_message_json(res, row);
    int col = 20;

    json_object_set_new(obj, "textBody", pgjson_text(res, row, col++));
    json_object_set_new(obj, "htmlBody", pgjson_text(res, row, col++));
    json_object_set_new(obj, "replyText", pgjson_text(res, row, col));
    json_object_set_new(obj, "extractedText", pgjson_text(res, row, col++));
    json_object_set_new(obj, "attachments", pgjson_parsed(res, row, col++));
    json_object_set_new(obj, "report", pgjson_parsed(res, row, col++));
    json_object_set_new(obj, "contentTruncated", pgjson_bool(res, row, col++));
    json_object_set_new(obj, "parseDefects", pgjson_int(res, row, col++));
    json_object_set_new(obj, "recipients", pgjson_parsed(res, row, col++));
    return obj;
}

json_t *
records_thread_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "id", pgjson_text(res, row, 0));
    json_object_set_new(obj, "inboxId", pgjson_text(res, row, 1));
    json_object_set_new(obj, "subject", pgjson_text(res, row, 2));
    json_object_set_new(obj, "rawSubject", pgjson_text(res, row, 3));
    json_object_set_new(obj, "messageCount", pgjson_int(res, row, 4));
    json_object_set_new(obj, "participants", pgjson_parsed(res, row, 5));
    json_object_set_new(obj, "firstMessageAt", pgjson_text(res, row, 6));
    json_object_set_new(obj, "lastMessageAt", pgjson_text(res, row, 7));
    return obj;
}

json_t *
records_event_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "id", pgjson_text(res, row, 0));
    json_object_set_new(obj, "inboxId", pgjson_text(res, row, 1));
    json_object_set_new(obj, "messageId", pgjson_text(res, row, 2));
    json_object_set_new(obj, "type", pgjson_text(res, row, 3));
    json_object_set_new(obj, "payload", pgjson_parsed(res, row, 4));
    json_object_set_new(obj, "createdAt", pgjson_text(res, row, 5));
    return obj;
}

json_t *
records_endpoint_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "id", pgjson_text(res, row, 0));
    json_object_set_new(obj, "url", pgjson_text(res, row, 1));
    json_object_set_new(obj, "events", pgjson_parsed(res, row, 2));
    json_object_set_new(obj, "enabled", pgjson_bool(res, row, 3));
    json_object_set_new(obj, "disabledReason", pgjson_text(res, row, 4));
    json_object_set_new(obj, "failingSince", pgjson_text(res, row, 5));
    json_object_set_new(obj, "inboxId", pgjson_text(res, row, 6));
    json_object_set_new(obj, "inboxAddress", pgjson_text(res, row, 7));
    json_object_set_new(obj, "accountId", pgjson_text(res, row, 8));
    json_object_set_new(obj, "previousSecretExpiresAt", pgjson_text(res, row, 9));
    json_object_set_new(obj, "createdAt", pgjson_text(res, row, 10));
    json_object_set_new(obj, "updatedAt", pgjson_text(res, row, 11));
    return obj;
}

json_t *
records_delivery_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "id", pgjson_int(res, row, 0));
    json_object_set_new(obj, "eventId", pgjson_text(res, row, 1));
    json_object_set_new(obj, "eventType", pgjson_text(res, row, 2));
    json_object_set_new(obj, "status", pgjson_text(res, row, 3));
    json_object_set_new(obj, "attempts", pgjson_int(res, row, 4));
    json_object_set_new(obj, "nextAttemptAt", pgjson_text(res, row, 5));
    json_object_set_new(obj, "lastStatusCode", pgjson_int(res, row, 6));
    json_object_set_new(obj, "lastError", pgjson_text(res, row, 7));
    json_object_set_new(obj, "lastLatencyMs", pgjson_int(res, row, 8));
    json_object_set_new(obj, "deliveredAt", pgjson_text(res, row, 9));
    json_object_set_new(obj, "createdAt", pgjson_text(res, row, 10));
    json_object_set_new(obj, "attemptsLog", pgjson_parsed(res, row, 11));
    return obj;
}
