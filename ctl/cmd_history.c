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
#include "records.h"

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
                    RECORDS_MESSAGE_SELECT " WHERE inbox_id = $1::uuid"
                    " ORDER BY created_at DESC, id DESC LIMIT $2::integer OFFSET $3::integer",
                    1, filter, limit, offset, records_message_json, message_columns);
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
                    RECORDS_THREAD_SELECT " WHERE inbox_id = $1::uuid"
                    " ORDER BY last_message_at DESC, id DESC LIMIT $2::integer OFFSET $3::integer",
                    1, filter, limit, offset, records_thread_json, thread_columns);
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
    res = ctl_query(ctl, RECORDS_THREAD_SELECT " WHERE id = $1::uuid", 1, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return output_error("no thread %s", args->pos[0]);
    }
    thread = records_thread_json(res, 0);
    PQclear(res);
    if ((rc = ctl_count(ctl, "SELECT count(*) FROM postinbox.message WHERE thread_id = $1::uuid", 1, params,
                        &total)) != 0) {
        json_decref(thread);
        return rc;
    }
    res = ctl_query(ctl,
                    RECORDS_MESSAGE_SELECT " WHERE thread_id = $1::uuid"
                    " ORDER BY created_at, id LIMIT $2::integer OFFSET $3::integer",
                    3, params);
    if (res == NULL) {
        json_decref(thread);
        return CTL_EXIT_ERROR;
    }
    rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(rows, records_message_json(res, r));
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

int
cmd_events(ctl_t *ctl, const args_t *args)
{
    char id[40];
    const char *type = args_value(args, "type");
    const char *filter[2] = { id, type };
    long limit, offset;
    int rc;

    if (type != NULL && !valid_event_type(type))
        return output_usage("--type: \"%s\" is not an event type (e.g. message.sent, inbox.suspended)", type);
    if ((rc = history_page(ctl, args, id, &limit, &offset)) != 0)
        return rc;
    return ctl_list(ctl,
                    "SELECT count(*) FROM postinbox.event"
                    " WHERE inbox_id = $1::uuid AND ($2::text IS NULL OR type = $2)",
                    RECORDS_EVENT_SELECT " WHERE inbox_id = $1::uuid AND ($2::text IS NULL OR type = $2)"
                    " ORDER BY created_at DESC, id DESC LIMIT $3::integer OFFSET $4::integer",
                    2, filter, limit, offset, records_event_json, event_columns);
}
