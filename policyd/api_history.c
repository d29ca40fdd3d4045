/*
 * api_history.c -- an inbox's messages, threads and events.
 *
 * Public: api_history_messages, api_history_message, api_history_threads,
 * api_history_thread, api_history_events (see api.h).
 * Read-only.  Lists are newest first ({data, total}, ?limit 1..100,
 * default 20, ?offset); a thread's messages oldest first (at most 100,
 * ?limit/?offset page them, "messagesTotal" counts them).  Events filter
 * by ?type= (an event type), ?after= and ?before= (ISO-8601; after is
 * inclusive, before exclusive).  The inbox must be the key's account's
 * (404 otherwise), and every statement says so again in its WHERE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "records.h"
#include "validate.h"

void
api_history_messages(api_call_t *c)
{
    const char *filter[2] = { c->ids[0], c->account_id };
    long limit, offset;

    if (api_page(c, &limit, &offset) != 0 || api_owned_inbox(c, c->ids[0]) != 1)
        return;
    api_list(c, "SELECT count(*) FROM postinbox.message WHERE inbox_id = $1::uuid" API_OWNED("inbox_id"),
             RECORDS_MESSAGE_SELECT " WHERE inbox_id = $1::uuid" API_OWNED("inbox_id")
             " ORDER BY created_at DESC, id DESC LIMIT $3::integer OFFSET $4::integer",
             2, filter, limit, offset, records_message_json);
}

void
api_history_message(api_call_t *c)
{
    const char *params[3] = { c->ids[0], c->account_id, c->ids[1] };
    PGresult *res;

    res = api_query(c,
                    RECORDS_MESSAGE_COLUMNS RECORDS_MESSAGE_DETAIL_COLUMNS " FROM postinbox.message"
                    " WHERE id = $3::uuid AND inbox_id = $1::uuid" API_OWNED("inbox_id"),
                    3, params);
    if (res == NULL)
        return;
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(c, 404, "not_found", "no message %s in inbox %s", c->ids[1], c->ids[0]);
        return;
    }
    httpd_respond_json(c->resp, 200, records_message_detail_json(res, 0));
    PQclear(res);
}

void
api_history_threads(api_call_t *c)
{
    const char *filter[2] = { c->ids[0], c->account_id };
    long limit, offset;

    if (api_page(c, &limit, &offset) != 0 || api_owned_inbox(c, c->ids[0]) != 1)
        return;
    api_list(c, "SELECT count(*) FROM postinbox.thread WHERE inbox_id = $1::uuid" API_OWNED("inbox_id"),
             RECORDS_THREAD_SELECT " WHERE inbox_id = $1::uuid" API_OWNED("inbox_id")
             " ORDER BY last_message_at DESC, id DESC LIMIT $3::integer OFFSET $4::integer",
             2, filter, limit, offset, records_thread_json);
}

void
api_history_thread(api_call_t *c)
{
    char limit_text[24], offset_text[24];
    const char *params[5] = { c->ids[0], c->account_id, c->ids[1], limit_text, offset_text };
    long limit, offset;
    PGresult *res;
    json_t *thread, *rows;

    if (api_page(c, &limit, &offset) != 0)
        return;
    if (httpd_query(c->req, "limit") == NULL)
        limit = VALID_PAGE_MAX;
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    snprintf(offset_text, sizeof(offset_text), "%ld", offset);
    res = api_query(c, RECORDS_THREAD_SELECT " WHERE id = $3::uuid AND inbox_id = $1::uuid" API_OWNED("inbox_id"), 3,
                    params);
    if (res == NULL)
        return;
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(c, 404, "not_found", "no thread %s in inbox %s", c->ids[1], c->ids[0]);
        return;
    }
    thread = records_thread_json(res, 0);
    PQclear(res);
    res = api_query(c,
                    RECORDS_MESSAGE_SELECT " WHERE thread_id = $3::uuid AND inbox_id = $1::uuid" API_OWNED("inbox_id")
                    " ORDER BY created_at, id LIMIT $4::integer OFFSET $5::integer",
                    5, params);
    if (res == NULL) {
        json_decref(thread);
        return;
    }
    rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(rows, records_message_json(res, r));
    PQclear(res);
    json_object_set_new(thread, "messages", rows);
    httpd_respond_json(c->resp, 200, thread);
}

/* ?after= / ?before=: an ISO-8601 time PostgreSQL will take.  0 with out
 * set (NULL when absent), or -1 after answering 400. */
static int
history_time(api_call_t *c, const char *name, char buf[80], const char **out)
{
    const char *value = httpd_query(c->req, name);
    *out = NULL;
    if (value == NULL)
        return 0;
    if (!valid_timestamp(value, buf, 80)) {
        api_error(c, 400, "invalid_parameter", "%s: not an ISO-8601 time (e.g. 2024-05-01T12:00:00Z)", name);
        return -1;
    }
    *out = buf;
    return 0;
}

void
api_history_events(api_call_t *c)
{
    const char *type = httpd_query(c->req, "type");
    char after_buf[80], before_buf[80];
    const char *filter[5] = { c->ids[0], c->account_id, type };
    long limit, offset;

    if (api_page(c, &limit, &offset) != 0)
        return;
    if (type != NULL && !valid_event_type(type)) {
        api_error(c, 400, "invalid_parameter", "type: not an event type (e.g. message.sent, inbox.suspended)");
        return;
    }
    if (history_time(c, "after", after_buf, &filter[3]) != 0 || history_time(c, "before", before_buf, &filter[4]) != 0)
        return;
    if (api_owned_inbox(c, c->ids[0]) != 1)
        return;
#define EVENTS_WHERE                                                                                    \
    " WHERE inbox_id = $1::uuid" API_OWNED("inbox_id") " AND ($3::text IS NULL OR type = $3::text)"      \
    " AND ($4::timestamptz IS NULL OR created_at >= $4::timestamptz)"                                   \
    " AND ($5::timestamptz IS NULL OR created_at < $5::timestamptz)"
    api_list(c, "SELECT count(*) FROM postinbox.event" EVENTS_WHERE,
             RECORDS_EVENT_SELECT EVENTS_WHERE " ORDER BY created_at DESC, id DESC LIMIT $6::integer OFFSET $7::integer",
             5, filter, limit, offset, records_event_json);
#undef EVENTS_WHERE
}
