/*
 * api.h -- the HTTP admin API of postinbox-policyd (/v1/inboxes ...).
 *
 * Public: api_start, api_stop (for main.c); api_call_t and the helpers
 * the handler modules share (api_error, api_query, api_page, api_list,
 * api_owned_inbox, api_body_fields, api_usage).
 * Modules: api.c (routes, auth order, errors, JSON bodies, the request
 * log line), api_auth.c (keys), api_inboxes.c, api_history.c (messages,
 * threads, events), api_send.c (POST messages), api_webhooks.c.
 * A request goes: route (404, 405 with Allow) -> key (401) -> path ids
 * (400) -> inbox scope of an inbox key (403) -> Content-Type of a body
 * (415) -> JSON body (400) -> handler.  Every SQL statement carries the
 * key's account in its WHERE clause; an id of another account is 404,
 * exactly like an id that does not exist, so ids of other accounts
 * cannot be probed.  Backend failures are 503, never a crash.
 */
#ifndef POSTINBOX_POLICYD_API_H
#define POSTINBOX_POLICYD_API_H

#include <jansson.h>
#include <libpq-fe.h>

#include "apiutil.h"
#include "httpd.h"
#include "limiter.h"
#include "runtime.h"

/* One request being served. */
typedef struct {
    const httpd_request_t *req;
    httpd_response_t *resp;
    runtime_t *rt;
    char key_id[40];
    char account_id[40];
    char key_inbox_id[40];           /* "" for an account key */
    char actor[64];                  /* "api:<key id>" for audit rows */
    char ids[APIUTIL_MAX_CAPTURES][APIUTIL_CAPTURE_MAX]; /* path parameters */
    json_t *body;                    /* POST/PATCH: the parsed object */
    int redis_down;                  /* usage failed once: not asked again */
} api_call_t;

/* Starts the API on cfg->api_listen (nothing if empty).  0, or -1 with err. */
int api_start(const pi_config_t *cfg, char *err, size_t errlen);
/* Stops it, waiting for requests under way. */
void api_stop(void);

/* Answers {"error": {"code", "message"}} with status. */
void api_error(api_call_t *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* store_exec with the runtime's store; on failure answers 503 (logged)
 * and returns NULL. */
PGresult *api_query(api_call_t *c, const char *sql, int nparams, const char *const *params);
/* ?limit= and ?offset=; 0, or -1 after answering 400. */
int api_page(api_call_t *c, long *limit, long *offset);
/* Answers 200 {data, total}: count_sql over the nfilter parameters, then
 * page_sql with $nfilter+1 = limit and $nfilter+2 = offset. */
void api_list(api_call_t *c, const char *count_sql, const char *page_sql, int nfilter, const char *const *filter,
              long limit, long offset, json_t *(*to_json)(const PGresult *res, int row));
/* Whether inbox id (already a valid uuid) is one of the key's account:
 * 1 yes; 0 after answering 404; -1 after answering 503. */
int api_owned_inbox(api_call_t *c, const char *id);
/* Checks c->body against spec; 0, or -1 after answering 400. */
int api_body_fields(api_call_t *c, const apiutil_field_t *spec);
/* An inbox's usage from Redis; NULL when Redis is unreachable (logged
 * once per request; the rest of the request does not ask again). */
const limit_result_t *api_usage(api_call_t *c, const char *inbox_id, limit_result_t *buf);

/* SQL: $1 inbox id, $2 account: the inbox only if it is the account's. */
#define API_OWNED(col) " AND " col " IN (SELECT id FROM postinbox.inbox WHERE id = $1::uuid AND account_id = $2::uuid)"

/* api_auth.c: fills the key fields of c from the request's key.  0, or
 * -1 after answering 401 (or 503). */
int api_auth(api_call_t *c);

/* handlers */
void api_inboxes_list(api_call_t *c);
void api_inboxes_create(api_call_t *c);
void api_inboxes_get(api_call_t *c);
void api_inboxes_update(api_call_t *c);
void api_inboxes_delete(api_call_t *c);
void api_history_messages(api_call_t *c);
void api_history_message(api_call_t *c);
void api_history_threads(api_call_t *c);
void api_history_thread(api_call_t *c);
void api_history_events(api_call_t *c);
void api_send_message(api_call_t *c);
void api_webhooks_list(api_call_t *c);
void api_webhooks_create(api_call_t *c);
void api_webhooks_get(api_call_t *c);
void api_webhooks_update(api_call_t *c);
void api_webhooks_delete(api_call_t *c);
void api_webhooks_deliveries(api_call_t *c);

#endif
