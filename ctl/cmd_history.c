/*
 * cmd_history.c -- an inbox's message rows, threads and events.
 *
 * Public: cmd_messages, cmd_events, cmd_threads, cmd_thread_show (see cmd.h).
 * Read-only; the lists and the thread are lib/admin's (admin_list,
 * admin_thread_show), as the HTTP API serves them.  The lists are newest
 * first and page with --limit (1..100, default 20) and --offset; "total"
 * counts every row of the inbox (matching --type, --after and --before
 * for events: after inclusive, before exclusive).  thread show prints one
 * thread and its messages oldest first (--limit default 100, --offset).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "output.h"
#include "admin_thread.h"

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
    long limit, offset;
    int rc;

    if ((rc = history_page(ctl, args, id, &limit, &offset)) != 0)
        return rc;
    return ctl_list(ctl, ADMIN_LIST_MESSAGES, &(admin_filter_t){ .inbox_id = id }, limit, offset, NULL,
                    message_columns);
}

int
cmd_threads(ctl_t *ctl, const args_t *args)
{
    char id[40];
    long limit, offset;
    int rc;

    if ((rc = history_page(ctl, args, id, &limit, &offset)) != 0)
        return rc;
    return ctl_list(ctl, ADMIN_LIST_THREADS, &(admin_filter_t){ .inbox_id = id }, limit, offset, NULL,
                    thread_columns);
}

int
cmd_thread_show(ctl_t *ctl, const args_t *args)
{
    admin_t *admin;
    admin_error_t err;
    long limit, offset;
    long long total;
    json_t *thread, *rows;
    int rc;

    if (!valid_uuid(args->pos[0]))
        return output_usage("\"%s\" is not a thread id (uuid)", args->pos[0]);
    if ((rc = args_int(args, "limit", 1, VALID_PAGE_MAX, VALID_PAGE_MAX, &limit, NULL)) != 0 ||
        (rc = args_int(args, "offset", 0, VALID_OFFSET_MAX, 0, &offset, NULL)) != 0)
        return rc;
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    if (admin_thread_show(admin, NULL, args->pos[0], limit, offset, &thread, &rows, &total, &err) != ADMIN_OK)
        return ctl_fail(&err);
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
    admin_filter_t filter = { .type = args_value(args, "type") };
    char id[40], after[80], before[80];
    long limit, offset;
    int rc;

    if (filter.type != NULL && !valid_event_type(filter.type))
        return output_usage("--type: \"%s\" is not an event type (e.g. message.sent, inbox.suspended)", filter.type);
    if ((rc = history_page(ctl, args, id, &limit, &offset)) != 0 ||
        (rc = ctl_time_arg(ctl, args, "after", after, &filter.after)) != 0 ||
        (rc = ctl_time_arg(ctl, args, "before", before, &filter.before)) != 0)
        return rc;
    filter.inbox_id = id;
    return ctl_list(ctl, ADMIN_LIST_EVENTS, &filter, limit, offset, NULL, event_columns);
}
