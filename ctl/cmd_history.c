/*
 * cmd_history.c -- an inbox's message rows, threads and events.
 *
 * Public: cmd_messages, cmd_events, cmd_threads, cmd_thread_show (see cmd.h).
 * Read-only.  The lists are newest first and page with --limit (1..100,
 * default 20) and --offset; "total" counts every row of the inbox
 * (matching --type for events).  thread show prints one thread and its
 * messages oldest first (--limit default 100, --offset).
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
    { "THREAD", "threadId", 0 },
    { "FROM", "from", 40 },
    { "SUBJECT", "subject", 50 },
    { NULL, NULL, 0 },
};

/* A thread's messages: the thread id is in the heading. */
static const output_column_t thread_message_columns[] = {
    { "CREATED", "createdAt", 0 },
    { "DIRECTION", "direction", 0 },
    { "STATUS", "status", 0 },
    { "ID", "id", 0 },
    { "FROM", "from", 40 },
    { "SUBJECT", "subject", 50 },
    { NULL, NULL, 0 },
};

static const output_column_t thread_columns[] = {
    { "LAST MESSAGE", "lastMessageAt", 0 },
    { "MESSAGES", "messageCount", 0 },
    { "ID", "id", 0 },
    { "SUBJECT", "subject", 40 },
    { "PARTICIPANTS", "participants", 60 },
    { NULL, NULL, 0 },
};

/* The columns message_json reads, in its order. */
#define MESSAGE_SELECT                                                                                  \
    "SELECT id, inbox_id, thread_id, direction, queue_id, message_id_header, in_reply_to,"             \
    " references_header, from_header, to_header, cc_header, subject, size, status,"                    \
    " envelope_from, to_json(envelope_to)::text, preview,"                                             \
    " " CTL_ISO("created_at") ", " CTL_ISO("updated_at") ", to_json(reference_ids)::text"              \
    " FROM postinbox.message"

/* The columns thread_json reads, in its order. */
#define THREAD_SELECT                                                                                   \
    "SELECT id, inbox_id, subject, raw_subject, message_count, to_json(participants)::text,"           \
    " " CTL_ISO("first_message_at") ", " CTL_ISO("last_message_at") " FROM postinbox.thread"

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
history_page(ctl_t *ctl, const args_t *args, char id[40], long *limit, long *offset)
{
    int rc = args_page(args, limit, offset);
    if (rc != 0)
        return rc;
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
    json_object_set_new(obj, "referenceIds", ctl_json_parsed(res, row, col++));
    return obj;
}

static json_t *
thread_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "id", ctl_json_text(res, row, 0));
    json_object_set_new(obj, "inboxId", ctl_json_text(res, row, 1));
    json_object_set_new(obj, "subject", ctl_json_text(res, row, 2));
    json_object_set_new(obj, "rawSubject", ctl_json_text(res, row, 3));
    json_object_set_new(obj, "messageCount", ctl_json_int(res, row, 4));
    json_object_set_new(obj, "participants", ctl_json_parsed(res, row, 5));
    json_object_set_new(obj, "firstMessageAt", ctl_json_text(res, row, 6));
    json_object_set_new(obj, "lastMessageAt", ctl_json_text(res, row, 7));
    return obj;
}

int
cmd_messages(ctl_t *ctl, const args_t *args)
{
    char id[40];
    const char *filter[1] = { id };
    long limit, offset;
    int rc;

    if ((rc = history_page(ctl, args, id, &limit, &offset)) != 0)
        return rc;
    return ctl_list(ctl, "SELECT count(*) FROM postinbox.message WHERE inbox_id = $1::uuid",
                    MESSAGE_SELECT " WHERE inbox_id = $1::uuid"
                    " ORDER BY created_at DESC, id DESC LIMIT $2::integer OFFSET $3::integer",
                    1, filter, limit, offset, message_json, message_columns);
}

int
cmd_threads(ctl_t *ctl, const args_t *args)
{
    char id[40];
    const char *filter[1] = { id };
    long limit, offset;
    int rc;

    if ((rc = history_page(ctl, args, id, &limit, &offset)) != 0)
        return rc;
    return ctl_list(ctl, "SELECT count(*) FROM postinbox.thread WHERE inbox_id = $1::uuid",
                    THREAD_SELECT " WHERE inbox_id = $1::uuid"
                    " ORDER BY last_message_at DESC, id DESC LIMIT $2::integer OFFSET $3::integer",
                    1, filter, limit, offset, thread_json, thread_columns);
}

int
cmd_thread_show(ctl_t *ctl, const args_t *args)
{
    char limit_text[24], offset_text[24];
    const char *params[3] = { args->pos[0], limit_text, offset_text };
    long limit, offset;
    long long total;
    PGresult *res;
    json_t *thread, *rows;
    int rc;

    if (!valid_uuid(args->pos[0]))
        return output_usage("\"%s\" is not a thread id (uuid)", args->pos[0]);
    if ((rc = args_int(args, "limit", 1, 100, 100, &limit, NULL)) != 0 ||
        (rc = args_int(args, "offset", 0, 2147483647L, 0, &offset, NULL)) != 0)
        return rc;
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    snprintf(offset_text, sizeof(offset_text), "%ld", offset);
    res = ctl_query(ctl, THREAD_SELECT " WHERE id = $1::uuid", 1, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return output_error("no thread %s", args->pos[0]);
    }
    thread = thread_json(res, 0);
    PQclear(res);
    if ((rc = ctl_count(ctl, "SELECT count(*) FROM postinbox.message WHERE thread_id = $1::uuid", 1, params,
                        &total)) != 0) {
        json_decref(thread);
        return rc;
    }
    res = ctl_query(ctl,
                    MESSAGE_SELECT " WHERE thread_id = $1::uuid"
                    " ORDER BY created_at, id LIMIT $2::integer OFFSET $3::integer",
                    3, params);
    if (res == NULL) {
        json_decref(thread);
        return CTL_EXIT_ERROR;
    }
    rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(rows, message_json(res, r));
    PQclear(res);
    if (output_json()) {
        json_object_set_new(thread, "messages", rows);
        output_object(thread, NULL);
    } else {
        output_object(thread, NULL);
        output_line("%s", "");
        output_list(rows, total, offset, thread_message_columns);
    }
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

static json_t *
event_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "id", ctl_json_text(res, row, 0));
    json_object_set_new(obj, "inboxId", ctl_json_text(res, row, 1));
    json_object_set_new(obj, "messageId", ctl_json_text(res, row, 2));
    json_object_set_new(obj, "type", ctl_json_text(res, row, 3));
    json_object_set_new(obj, "payload", ctl_json_parsed(res, row, 4));
    json_object_set_new(obj, "createdAt", ctl_json_text(res, row, 5));
    return obj;
}

int
cmd_events(ctl_t *ctl, const args_t *args)
{
    char id[40];
    const char *type = args_value(args, "type");
    const char *filter[2] = { id, type };
    long limit, offset;
    int rc;

    if (type != NULL && !events_valid_type(type))
        return output_usage("--type: \"%s\" is not an event type (e.g. message.sent, inbox.suspended)", type);
    if ((rc = history_page(ctl, args, id, &limit, &offset)) != 0)
        return rc;
    return ctl_list(ctl,
                    "SELECT count(*) FROM postinbox.event"
                    " WHERE inbox_id = $1::uuid AND ($2::text IS NULL OR type = $2)",
                    "SELECT id, inbox_id, message_id, type, payload::text, " CTL_ISO("created_at")
                    " FROM postinbox.event WHERE inbox_id = $1::uuid AND ($2::text IS NULL OR type = $2)"
                    " ORDER BY created_at DESC, id DESC LIMIT $3::integer OFFSET $4::integer",
                    2, filter, limit, offset, event_json, event_columns);
}
