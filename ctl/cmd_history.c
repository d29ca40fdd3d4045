/*
 * cmd_history.c -- an inbox's message rows and events, newest first.
 *
 * Public: cmd_messages, cmd_events (see cmd.h).
 * Read-only.  Both page with --limit (1..100, default 20) and --offset;
 * "total" counts every row of the inbox (matching --type for events).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "output.h"

static const output_column_t message_columns[] = {
    { "CREATED", "createdAt", 0 },
    { "DIRECTION", "direction", 0 },
    { "STATUS", "status", 0 },
    { "QUEUE ID", "queueId", 0 },
    { "FROM", "from", 40 },
    { "SUBJECT", "subject", 50 },
    { NULL, NULL, 0 },
};

static const output_column_t event_columns[] = {
    { "CREATED", "createdAt", 0 },
    { "TYPE", "type", 0 },
    { "ID", "id", 0 },
    { "MESSAGE", "messageId", 0 },
    { "PAYLOAD", "payload", 60 },
    { NULL, NULL, 0 },
};

/* Resolves the inbox (first positional) and reads --limit/--offset. */
static int
history_args(ctl_t *ctl, const args_t *args, char id[40], char limit_text[24], char offset_text[24],
             long *offset)
{
    long limit;
    int rc = args_page(args, &limit, offset);
    if (rc != 0)
        return rc;
    snprintf(limit_text, 24, "%ld", limit);
    snprintf(offset_text, 24, "%ld", *offset);
    return ctl_resolve_inbox(ctl, args->pos[0], id);
}

static json_t *
message_json(const PGresult *res, int row)
{
    static const char *const text_fields[] = { "id", "inboxId", "threadId", "direction", "queueId", "messageId",
                                                "inReplyTo", "references", "from", "to", "cc", "subject" };
    json_t *obj = json_object();
    int col = 0;

    for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++)
        json_object_set_new(obj, text_fields[i], ctl_json_text(res, row, col++));
    json_object_set_new(obj, "size", ctl_json_int(res, row, col++));
    json_object_set_new(obj, "status", ctl_json_text(res, row, col++));
    json_object_set_new(obj, "envelopeFrom", ctl_json_text(res, row, col++));
    json_object_set_new(obj, "envelopeTo", ctl_json_parsed(res, row, col++));
    json_object_set_new(obj, "preview", ctl_json_text(res, row, col++));
    json_object_set_new(obj, "createdAt", ctl_json_text(res, row, col++));
    json_object_set_new(obj, "updatedAt", ctl_json_text(res, row, col++));
    return obj;
}

int
cmd_messages(ctl_t *ctl, const args_t *args)
{
    char id[40], limit_text[24], offset_text[24];
    const char *params[3] = { id, limit_text, offset_text };
    long offset;
    long long total;
    PGresult *res;
    json_t *rows;
    int rc;

    if ((rc = history_args(ctl, args, id, limit_text, offset_text, &offset)) != 0)
        return rc;
    if ((rc = ctl_count(ctl, "SELECT count(*) FROM postinbox.message WHERE inbox_id = $1::uuid", 1, params,
                        &total)) != 0)
        return rc;
    res = ctl_query(ctl,
                    "SELECT id, inbox_id, thread_id, direction, queue_id, message_id_header, in_reply_to,"
                    " references_header, from_header, to_header, cc_header, subject, size, status,"
                    " envelope_from, to_json(envelope_to)::text, preview,"
                    " " CTL_ISO("created_at") ", " CTL_ISO("updated_at")
                    " FROM postinbox.message WHERE inbox_id = $1::uuid"
                    " ORDER BY created_at DESC, id DESC LIMIT $2::integer OFFSET $3::integer",
                    3, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(rows, message_json(res, r));
    PQclear(res);
    output_list(rows, total, offset, message_columns);
    return 0;
}

/* --type: an event type as the schema allows them, (message|inbox).name,
 * the name words of a-z joined by single underscores (webhook_disabled) */
static int
events_valid_type(const char *type)
{
    const char *word;
    if (strncmp(type, "message.", 8) == 0)
        word = type + 8;
    else if (strncmp(type, "inbox.", 6) == 0)
        word = type + 6;
    else
        return 0;
    if (*word == '\0')
        return 0;
    for (const char *p = word; *p; p++)
        if (!(*p >= 'a' && *p <= 'z') && !(*p == '_' && p > word && p[-1] != '_' && p[1] != '\0'))
            return 0;
    return 1;
}

int
cmd_events(ctl_t *ctl, const args_t *args)
{
    char id[40], limit_text[24], offset_text[24];
    const char *type = args_value(args, "type");
    const char *params[4] = { id, type, limit_text, offset_text };
    long offset;
    long long total;
    PGresult *res;
    json_t *rows;
    int rc;

    if (type != NULL && !events_valid_type(type))
        return output_usage("--type: \"%s\" is not an event type (e.g. message.sent, inbox.suspended)", type);
    if ((rc = history_args(ctl, args, id, limit_text, offset_text, &offset)) != 0)
        return rc;
    if ((rc = ctl_count(ctl,
                        "SELECT count(*) FROM postinbox.event"
                        " WHERE inbox_id = $1::uuid AND ($2::text IS NULL OR type = $2)",
                        2, params, &total)) != 0)
        return rc;
    res = ctl_query(ctl,
                    "SELECT id, inbox_id, message_id, type, payload::text, " CTL_ISO("created_at")
                    " FROM postinbox.event WHERE inbox_id = $1::uuid AND ($2::text IS NULL OR type = $2)"
                    " ORDER BY created_at DESC, id DESC LIMIT $3::integer OFFSET $4::integer",
                    4, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    rows = json_array();
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *obj = json_object();
        json_object_set_new(obj, "id", ctl_json_text(res, r, 0));
        json_object_set_new(obj, "inboxId", ctl_json_text(res, r, 1));
        json_object_set_new(obj, "messageId", ctl_json_text(res, r, 2));
        json_object_set_new(obj, "type", ctl_json_text(res, r, 3));
        json_object_set_new(obj, "payload", ctl_json_parsed(res, r, 4));
        json_object_set_new(obj, "createdAt", ctl_json_text(res, r, 5));
        json_array_append_new(rows, obj);
    }
    PQclear(res);
    output_list(rows, total, offset, event_columns);
    return 0;
}
