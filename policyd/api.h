/*
 * api.h -- the HTTP admin API of postinbox-policyd (/v1/inboxes ...).
 *
 * Public: api_start, api_stop (for main.c); api_call_t and the helpers
 * the handler modules share (api_error, api_fail, api_query, api_page,
 * api_list, api_time_param, api_body_fields).
 * Modules: api.c (routes, auth order, errors, JSON bodies, the request
 * log line), api_auth.c (keys, no HTTP), api_inboxes.c, api_history.c
 * (messages, threads, events), api_send.c (POST messages),
 * api_webhooks.c, api_suppressions.c, api_domains.c.  The handlers parse the request and render the answer;
 * what they do to the store is lib/admin's, with the key's account as
 * the acting account, the same functions postinboxctl calls.
 * A request goes: route (404, 405 with Allow) -> key (401) -> path ids
 * (400) -> an account resource asked with an inbox key, or the inbox
 * scope of an inbox key (403) -> Content-Type of a body
 * (415) -> JSON body (400) -> handler.  Every SQL statement carries the
 * key's account in its WHERE clause (lib/admin does so for every
 * statement of an acting account); an id of another account is 404,
 * exactly like an id that does not exist, so ids of other accounts
 * cannot be probed.  Backend failures are 503, never a crash.
 */
#ifndef POSTINBOX_POLICYD_API_H
#define POSTINBOX_POLICYD_API_H

#include <jansson.h>
#include <libpq-fe.h>

#include "admin.h"
#include "admin_list.h"
#include "apiutil.h"
#include "httpd.h"
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
    admin_t admin;                   /* the key's account acting, once the key is known */
} api_call_t;

/* Starts the API on cfg->api_listen (nothing if empty).  0, or -1 with err. */
int api_start(const pi_config_t *cfg, char *err, size_t errlen);
/* Stops it, waiting for requests under way. */
void api_stop(void);

/* Answers {"error": {"code", "message"}} with status. */
void api_error(api_call_t *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answers an admin error: not found 404, invalid 400 (its code),
 * conflict 409, backend 503 (a failed statement logged, and answered
 * without the server's text). */
void api_fail(api_call_t *c, const admin_error_t *err);
/* admin_exec with the call's admin; on failure answers 503 (logged) and
 * returns NULL. */
PGresult *api_query(api_call_t *c, const char *sql, int nparams, const char *const *params);
/* ?limit= and ?offset=; 0, or -1 after answering 400. */
int api_page(api_call_t *c, long *limit, long *offset);
/* Answers 200 {data, total}: one page of kind (lib/admin's list) with
 * filter, ?limit and ?offset; or the error. */
void api_list(api_call_t *c, admin_list_kind_t kind, const admin_filter_t *filter);
/* ?NAME= as an ISO-8601 time PostgreSQL will take (valid_timestamp)
 * into buf; 0 with *out set (NULL when absent), or -1 after answering 400. */
int api_time_param(api_call_t *c, const char *name, char buf[80], const char **out);
/* Checks c->body against spec; 0, or -1 after answering 400. */
int api_body_fields(api_call_t *c, const apiutil_field_t *spec);

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
void api_suppressions_list(api_call_t *c);
void api_suppressions_create(api_call_t *c);
void api_suppressions_delete(api_call_t *c);
void api_domains_list(api_call_t *c);
void api_domains_create(api_call_t *c);
void api_domains_get(api_call_t *c);
void api_domains_verify(api_call_t *c);
void api_domains_delete(api_call_t *c);

#endif
