/*
 * api_history.c -- an inbox's messages, threads and events.
 *
 * Public: api_history_messages, api_history_message, api_history_threads,
 * api_history_thread, api_history_events (see api.h).
 * Read-only.  Lists are lib/admin's (admin_list, as postinboxctl's):
 * newest first ({data, total}, ?limit 1..100, default 20, ?offset); a
 * thread's messages oldest first (at most 100, ?limit/?offset page
 * them).  Events filter by ?type= (an event type), ?after= and ?before=
 * (ISO-8601; after is inclusive, before exclusive).  The inbox must be
 * the key's account's (404 otherwise), and every statement says so again
 * in its WHERE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_thread.h"
#include "api.h"
#include "records.h"
#include "validate.h"

void
api_history_messages(api_call_t *c)
{
    api_list(c, ADMIN_LIST_MESSAGES, &(admin_filter_t){ .inbox_id = c->ids[0] });
}

void
api_history_message(api_call_t *c)
{
    const char *params[3] = { c->account_id, c->ids[0], c->ids[1] };
    PGresult *res;

    res = api_query(c,
                    RECORDS_MESSAGE_COLUMNS RECORDS_MESSAGE_DETAIL_COLUMNS " FROM postinbox.message"
                    " WHERE id = $3::uuid AND inbox_id = $2::uuid" ADMIN_OWNED("inbox_id"),
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
    api_list(c, ADMIN_LIST_THREADS, &(admin_filter_t){ .inbox_id = c->ids[0] });
}

void
api_history_thread(api_call_t *c)
{
    admin_error_t err;
    long limit, offset;
    long long total;
    json_t *thread, *rows;

    if (api_page(c, &limit, &offset) != 0)
        return;
    if (httpd_query(c->req, "limit") == NULL)
        limit = VALID_PAGE_MAX;
    if (admin_thread_show(&c->admin, c->ids[0], c->ids[1], limit, offset, &thread, &rows, &total, &err) != ADMIN_OK) {
        api_fail(c, &err);
        return;
    }
    json_object_set_new(thread, "messages", rows);
    httpd_respond_json(c->resp, 200, thread);
}

void
api_history_events(api_call_t *c)
{
    admin_filter_t filter = { .inbox_id = c->ids[0], .type = httpd_query(c->req, "type") };
    char after_buf[80], before_buf[80];
    long limit, offset;

    if (api_page(c, &limit, &offset) != 0)
        return;
    if (filter.type != NULL && !valid_event_type(filter.type)) {
        api_error(c, 400, "invalid_parameter", "type: not an event type (e.g. message.sent, inbox.suspended)");
        return;
    }
    if (api_time_param(c, "after", after_buf, &filter.after) != 0 ||
        api_time_param(c, "before", before_buf, &filter.before) != 0)
        return;
    api_list(c, ADMIN_LIST_EVENTS, &filter);
}
