/*
 * api.c -- the HTTP admin API: routes, the order of checks, the error
 * format, JSON bodies, and one log line per request.  See api.h.
 *
 * Logs: "api: method=GET path=/v1/inboxes status=200 key=<key id> us=812"
 * at info for every request (key=- before a key was accepted; the key
 * itself never), and backend failures at warn.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api_auth.h"
#include "log.h"
#include "utf8.h"
#include "validate.h"

typedef void (*api_handler_t)(api_call_t *c);

typedef struct {
    const char *pattern;
    const char *method;
    api_handler_t handler;
    unsigned flags;
} api_route_t;

#define ROUTE_ACCOUNT 1u /* an account's resource (not an inbox's): account keys only */
#define ROUTE_NO_BODY 2u /* a POST that takes no body (any body is ignored) */

/* Every operation; contrib/openapi.json describes exactly these. */
static const api_route_t api_routes[] = {
    { "/v1/inboxes", "GET", api_inboxes_list, 0 },
    { "/v1/inboxes", "POST", api_inboxes_create, 0 },
    { "/v1/inboxes/*", "GET", api_inboxes_get, 0 },
    { "/v1/inboxes/*", "PATCH", api_inboxes_update, 0 },
    { "/v1/inboxes/*", "DELETE", api_inboxes_delete, 0 },
    { "/v1/inboxes/*/messages", "GET", api_history_messages, 0 },
    { "/v1/inboxes/*/messages", "POST", api_send_message, 0 },
    { "/v1/inboxes/*/messages/*", "GET", api_history_message, 0 },
    { "/v1/inboxes/*/threads", "GET", api_history_threads, 0 },
    { "/v1/inboxes/*/threads/*", "GET", api_history_thread, 0 },
    { "/v1/inboxes/*/events", "GET", api_history_events, 0 },
    { "/v1/inboxes/*/webhooks", "GET", api_webhooks_list, 0 },
    { "/v1/inboxes/*/webhooks", "POST", api_webhooks_create, 0 },
    { "/v1/inboxes/*/webhooks/*", "GET", api_webhooks_get, 0 },
    { "/v1/inboxes/*/webhooks/*", "PATCH", api_webhooks_update, 0 },
    { "/v1/inboxes/*/webhooks/*", "DELETE", api_webhooks_delete, 0 },
    { "/v1/inboxes/*/webhooks/*/deliveries", "GET", api_webhooks_deliveries, 0 },
    { "/v1/inboxes/*/suppressions", "GET", api_suppressions_list, 0 },
    { "/v1/inboxes/*/suppressions", "POST", api_suppressions_create, 0 },
    { "/v1/inboxes/*/suppressions/+", "DELETE", api_suppressions_delete, 0 },
    { "/v1/domains", "GET", api_domains_list, ROUTE_ACCOUNT },
    { "/v1/domains", "POST", api_domains_create, ROUTE_ACCOUNT },
    { "/v1/domains/*", "GET", api_domains_get, ROUTE_ACCOUNT },
    { "/v1/domains/*", "DELETE", api_domains_delete, ROUTE_ACCOUNT },
    { "/v1/domains/*/verify", "POST", api_domains_verify, ROUTE_ACCOUNT | ROUTE_NO_BODY },
};

#define API_NROUTES (sizeof(api_routes) / sizeof(api_routes[0]))

static httpd_t *api_server;

void
api_error(api_call_t *c, int status, const char *code, const char *fmt, ...)
{
    char message[512], *clean;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    /* The message may quote input: bytes of a path, or a name cut by
     * "%.64s" inside a character.  json_pack refuses invalid UTF-8, which
     * would turn the answer into a 500. */
    clean = utf8_sanitize(message, strlen(message), sizeof(message));
    httpd_respond_json(c->resp, status,
                       json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", clean ? clean : "(no message)"));
    free(clean);
}

/* A failed statement: logged by its first line (libpq's DETAIL can quote
 * a row), answered without it. */
static void
api_backend(api_call_t *c, const char *text)
{
    log_warn("api: %s %s: database: %.*s", c->req->method, c->req->path, (int)strcspn(text, "\n"), text);
    api_error(c, 503, "backend_unavailable", "the database is unavailable, try again later");
}

void
api_fail(api_call_t *c, const admin_error_t *err)
{
    static const int status[] = {
        [ADMIN_NOT_FOUND] = 404, [ADMIN_INVALID] = 400, [ADMIN_CONFLICT] = 409, [ADMIN_BACKEND] = 503,
        [ADMIN_FORBIDDEN] = 403,
    };

    if (strcmp(err->reason, "database") == 0)
        api_backend(c, err->message);
    else
        api_error(c, err->status > ADMIN_OK && err->status <= ADMIN_FORBIDDEN ? status[err->status] : 500, err->code,
                  "%s", err->message);
}

PGresult *
api_query(api_call_t *c, const char *sql, int nparams, const char *const *params)
{
    admin_error_t err;
    PGresult *res = admin_exec(&c->admin, sql, nparams, params, 0, &err);

    if (res == NULL)
        api_fail(c, &err);
    return res;
}

int
api_page(api_call_t *c, long *limit, long *offset)
{
    char err[160];
    if (valid_page(httpd_query(c->req, "limit"), httpd_query(c->req, "offset"), limit, offset, err, sizeof(err)) != 0) {
        api_error(c, 400, "invalid_parameter", "%s", err);
        return -1;
    }
    return 0;
}

void
api_list(api_call_t *c, admin_list_kind_t kind, const admin_filter_t *filter)
{
    admin_error_t err;
    long limit, offset;
    long long total;
    json_t *rows;

    if (api_page(c, &limit, &offset) != 0)
        return;
    if (admin_list(&c->admin, kind, filter, limit, offset, &rows, &total, &err) != ADMIN_OK) {
        api_fail(c, &err);
        return;
    }
    httpd_respond_json(c->resp, 200, json_pack("{s:o,s:I}", "data", rows, "total", (json_int_t)total));
}

int
api_time_param(api_call_t *c, const char *name, char buf[80], const char **out)
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

int
api_body_fields(api_call_t *c, const apiutil_field_t *spec)
{
    char code[16], err[256];
    if (apiutil_check_fields(c->body, spec, code, err, sizeof(err)) != 0) {
        api_error(c, 400, code, "%s", err);
        return -1;
    }
    return 0;
}

/* The first failed usage read of a request; the rest show null. */
static void
api_usage_warn(void *arg, const char *inbox_id, const char *err)
{
    (void)arg;
    log_warn("api: usage of inbox %s: redis: %s", inbox_id, err);
}

/* The key of the request into c, and the admin layer acting as its
 * account.  0, or -1 after answering 401 (or 503). */
static int
api_auth(api_call_t *c)
{
    char err[512];
    api_key_t key;

    switch (api_auth_key(c->rt->store, httpd_header(c->req, "x-api-key"), httpd_header(c->req, "Authorization"), &key,
                         err, sizeof(err))) {
    case API_AUTH_OK:
        break;
    case API_AUTH_MISSING:
        api_error(c, 401, "unauthorized", "an API key is required (x-api-key or Authorization: Bearer)");
        return -1;
    case API_AUTH_INVALID:
        api_error(c, 401, "unauthorized", "invalid API key");
        return -1;
    case API_AUTH_REVOKED:
        snprintf(c->key_id, sizeof(c->key_id), "%s", key.id);
        api_error(c, 401, "unauthorized", "this API key was revoked");
        return -1;
    case API_AUTH_BACKEND:
    default:
        api_backend(c, err);
        return -1;
    }
    snprintf(c->key_id, sizeof(c->key_id), "%s", key.id);
    snprintf(c->account_id, sizeof(c->account_id), "%s", key.account_id);
    snprintf(c->key_inbox_id, sizeof(c->key_inbox_id), "%s", key.inbox_id);
    snprintf(c->actor, sizeof(c->actor), "api:%s", c->key_id);
    admin_init(&c->admin, c->rt->store, c->rt->limiter, c->account_id, c->actor);
    c->admin.secrets = c->rt->secrets;
    c->admin.dkim_key_bits = c->rt->cfg->dkim_signing ? c->rt->cfg->dkim_key_bits : 0;
    c->admin.secrets_error = c->rt->secrets_error;
    c->admin.usage_warn = api_usage_warn;
    return 0;
}

/* Whether content_type is application/json (parameters allowed). */
static int
api_is_json(const char *content_type)
{
    size_t len;
    if (content_type == NULL)
        return 0;
    while (*content_type == ' ')
        content_type++;
    len = strcspn(content_type, "; ");
    return len == 16 && strncasecmp(content_type, "application/json", 16) == 0;
}

/* Everything between routing and the handler; the handler runs only if
 * this returns 0 (otherwise it answered). */
static int
api_prepare(api_call_t *c, const api_route_t *route, int ncaps)
{
    const char *pattern = route->pattern;
    char err[256];

    if (api_auth(c) != 0)
        return -1;
    for (int i = 0; i < ncaps; i++) {
        if (!apiutil_capture_is_id(pattern, i))
            continue; /* an address: its handler checks it */
        if (!valid_uuid(c->ids[i])) {
            api_error(c, 400, "invalid_id", "\"%.64s\" is not an id (uuid)", c->ids[i]);
            return -1;
        }
        ascii_lower(c->ids[i]);
    }
    if ((route->flags & ROUTE_ACCOUNT) && c->key_inbox_id[0]) {
        api_error(c, 403, "forbidden", "this needs an account key (an inbox key acts on its inbox only)");
        return -1;
    }
    /* an inbox key sees its own inbox only */
    if (!(route->flags & ROUTE_ACCOUNT) && ncaps > 0 && c->key_inbox_id[0] && strcmp(c->ids[0], c->key_inbox_id) != 0) {
        api_error(c, 403, "forbidden", "this key may only use inbox %s", c->key_inbox_id);
        return -1;
    }
    if ((strcmp(c->req->method, "POST") == 0 && !(route->flags & ROUTE_NO_BODY)) ||
        strcmp(c->req->method, "PATCH") == 0) {
        if (!api_is_json(httpd_header(c->req, "Content-Type"))) {
            api_error(c, 415, "unsupported_media_type", "the body must be application/json");
            return -1;
        }
        if ((c->body = apiutil_parse_object(c->req->body, c->req->body_len, err, sizeof(err))) == NULL) {
            api_error(c, 400, "invalid_json", "%s", err);
            return -1;
        }
    }
    return 0;
}

static void
api_route(api_call_t *c)
{
    const api_route_t *found = NULL;
    char allow[64] = "";
    int matched = 0, ncaps = 0;

    for (size_t i = 0; i < API_NROUTES; i++) {
        char caps[APIUTIL_MAX_CAPTURES][APIUTIL_CAPTURE_MAX];
        int n = apiutil_match(api_routes[i].pattern, c->req->path, caps);
        if (n < 0)
            continue;
        matched = 1;
        snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s", allow[0] ? ", " : "",
                 api_routes[i].method);
        if (found == NULL && strcmp(api_routes[i].method, c->req->method) == 0) {
            found = &api_routes[i];
            ncaps = n;
            memcpy(c->ids, caps, sizeof(caps));
        }
    }
    if (!matched) {
        api_error(c, 404, "not_found", "no such resource");
        return;
    }
    if (found == NULL) {
        api_error(c, 405, "method_not_allowed", "%s is not allowed here (allowed: %s)", c->req->method, allow);
        httpd_add_header(c->resp, "Allow", "%s", allow);
        return;
    }
    if (api_prepare(c, found, ncaps) == 0)
        found->handler(c);
}

static long
api_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static void
api_handle(void *ctx, const httpd_request_t *req, httpd_response_t *resp)
{
    api_call_t call = { .req = req, .resp = resp };
    long start = api_now_us();

    (void)ctx;
    call.rt = runtime_acquire();
    if (call.rt == NULL) {
        api_error(&call, 503, "unavailable", "the daemon is stopping");
    } else {
        api_route(&call);
        runtime_release(call.rt);
    }
    json_decref(call.body);
    if (resp->status == 0)
        api_error(&call, 500, "internal", "no answer");
    log_info("api: method=%s path=%.200s status=%d key=%s peer=%s us=%ld", req->method, req->path, resp->status,
             call.key_id[0] ? call.key_id : "-", req->peer, api_now_us() - start);
}

int
api_start(const pi_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->api_listen[0] == '\0')
        return 0;
    httpd_options_t opts = {
        .name = "api",
        .max_body = (size_t)cfg->api_max_body,
        .threads = cfg->api_threads,
        .idle_timeout_s = 30,
        .limits = { .request_timeout_ms = cfg->http_request_timeout_ms,
                    .max_connections_per_ip = cfg->http_max_connections_per_ip },
    };
    api_server = httpd_start(cfg->api_listen, &opts, api_handle, NULL, err, errlen);
    return api_server ? 0 : -1;
}

void
api_stop(void)
{
    httpd_stop(api_server);
    api_server = NULL;
}
