/*
 * tracking.c -- the tracking listener.  See tracking.h.
 */
#include "tracking.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cidr.h"
#include "httpd.h"
#include "log.h"
#include "runtime.h"
#include "track_agent.h"
#include "track_token.h"

#define TRACKING_FIND_SQL                                                                              \
    "SELECT url, recipient, extract(epoch FROM coalesce(delivered_at, sent_at))::float8"               \
    " FROM postinbox.tracking_find($1::bytea, $2::integer)"
#define TRACKING_HIT_SQL                                                                               \
    "SELECT postinbox.tracking_hit($1::bytea, $2, $3::integer, $4::boolean, $5, $6, $7::inet, $8::integer)::text"
#define TRACKING_UNSUBSCRIBE_SQL "SELECT postinbox.tracking_unsubscribe($1::bytea, $2, $3::inet)::text"

/* A 1x1 transparent GIF (43 bytes). */
static const unsigned char tracking_gif[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
};

static httpd_t *tracking_server;

/* One request: what the path named, and who asked. */
typedef struct {
    runtime_t *rt;
    const httpd_request_t *req;
    httpd_response_t *resp;
    track_kind_t kind;
    const char *token;
    size_t token_len;
    char tid_hex[2 + 2 * TRACK_ID_LEN + 1];   /* "\x" + hex: a bytea literal */
    unsigned link;
    char ip[64];            /* the client, as tracking_store_ip keeps it; "" none */
    track_agent_t agent;
} tracking_req_t;

static void
tracking_text(httpd_response_t *resp, int status, const char *text)
{
    httpd_respond(resp, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void
tracking_not_found(httpd_response_t *resp)
{
    tracking_text(resp, 404, "not found\n");
}

static void
tracking_unavailable(httpd_response_t *resp)
{
    tracking_text(resp, 503, "try again later\n");
    httpd_add_header(resp, "Retry-After", "30");
}

static void
tracking_html(httpd_response_t *resp, int status, const char *html)
{
    httpd_respond(resp, status, "text/html; charset=utf-8", html, strlen(html));
}

/* The client: the peer, or behind a proxy of tracking_proxy_networks the
 * last address of X-Forwarded-For (the one that proxy saw). */
static void
tracking_client(const pi_config_t *cfg, const httpd_request_t *req, char *out, size_t outlen)
{
    const char *fwd = httpd_header(req, "X-Forwarded-For");
    snprintf(out, outlen, "%s", req->peer);
    if (fwd != NULL && cidr_list_match_text(cfg->tracking_proxy_networks, req->peer)) {
        const char *last = strrchr(fwd, ',');
        char addr[64];
        unsigned char probe[16];
        last = last ? last + 1 : fwd;
        while (*last == ' ' || *last == '\t')
            last++;
        snprintf(addr, sizeof(addr), "%s", last);
        addr[strcspn(addr, " \t")] = '\0';
        if (inet_pton(AF_INET, addr, probe) == 1 || inet_pton(AF_INET6, addr, probe) == 1)
            snprintf(out, outlen, "%s", addr);
    }
}

/* ".../o/TOKEN" and the like (whatever path tracking_base_url has
 * before it): 0 with kind, token, id and link; -1 not ours. */
static int
tracking_parse_path(tracking_req_t *t)
{
    const char *path = t->req->path;
    size_t n = strlen(path);
    unsigned char id[TRACK_ID_LEN];
    const char *p;

    if (n < 3 + TRACK_TOKEN_LEN)
        return -1;
    p = path + n - 3 - TRACK_TOKEN_LEN;
    if (p[0] != '/' || (p[1] != 'o' && p[1] != 'c' && p[1] != 'u') || p[2] != '/')
        return -1;
    t->kind = (track_kind_t)p[1];
    t->token = p + 3;
    t->token_len = TRACK_TOKEN_LEN;
    if (track_token_parse(t->token, t->token_len, id, &t->link) != 0 || (t->kind != TRACK_CLICK && t->link != 0) ||
        (t->kind == TRACK_CLICK && t->link == 0))
        return -1;
    memcpy(t->tid_hex, "\\x", 2);
    for (int i = 0; i < TRACK_ID_LEN; i++)
        snprintf(t->tid_hex + 2 + 2 * i, 3, "%02x", id[i]);
    return 0;
}

/* tracking_find(): 1 with the link's URL or the recipient (malloc'd) and
 * when the message was delivered (else sent), 0 no such message, -1 the
 * backend failed. */
static int
tracking_find(tracking_req_t *t, char **subject, double *delivered)
{
    char link[16], err[256];
    const char *params[2] = { t->tid_hex, link };
    PGresult *res;
    int col = t->kind == TRACK_CLICK ? 0 : 1;

    snprintf(link, sizeof(link), "%u", t->link);
    *subject = NULL;
    if ((res = store_exec(t->rt->store, TRACKING_FIND_SQL, 2, params, err, sizeof(err))) == NULL) {
        log_warn("tracking: /%c/ lookup failed: %s", (char)t->kind, err);
        return -1;
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, col)) {
        PQclear(res);
        return 0;
    }
    *subject = strdup(PQgetvalue(res, 0, col));
    *delivered = PQgetisnull(res, 0, 2) ? 0 : atof(PQgetvalue(res, 0, 2));
    PQclear(res);
    return *subject != NULL ? 1 : -1;
}

/* tracking_hit(): 1 counted, 0 no such message, -1 the backend failed. */
static int
tracking_count(tracking_req_t *t)
{
    char link[16], interval[24], err[256];
    const pi_config_t *cfg = t->rt->cfg;
    const char *params[8] = { t->tid_hex, t->kind == TRACK_OPEN ? "open" : "click", link,
                              t->agent.machine ? "true" : "false", t->agent.reason, t->agent.agent_class,
                              t->ip[0] ? t->ip : NULL, interval };
    PGresult *res;
    int found;

    snprintf(link, sizeof(link), "%u", t->link);
    snprintf(interval, sizeof(interval), "%ld", cfg->tracking_event_interval_ms / 1000);
    if ((res = store_exec(t->rt->store, TRACKING_HIT_SQL, 8, params, err, sizeof(err))) == NULL) {
        log_warn("tracking: /%c/ not counted: %s", (char)t->kind, err);
        return -1;
    }
    found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
    if (found)
        log_debug("tracking: /%c/ link=%u agent=%s machine=%d %s", (char)t->kind, t->link, t->agent.agent_class,
                  t->agent.machine, PQgetvalue(res, 0, 0));
    PQclear(res);
    return found;
}

static void
tracking_open(tracking_req_t *t)
{
    if (!track_token_verify(t->rt->track_keys, TRACK_OPEN, t->token, t->token_len, "")) {
        tracking_not_found(t->resp);
        return;
    }
    if (tracking_count(t) == 0) {
        tracking_not_found(t->resp);
        return;
    }
    /* counted, or the database is away: the reader sees an image either way */
    httpd_respond(t->resp, 200, "image/gif", (const char *)tracking_gif, sizeof(tracking_gif));
    httpd_add_header(t->resp, "Pragma", "no-cache");
    httpd_add_header(t->resp, "Expires", "0");
}

static void
tracking_click(tracking_req_t *t)
{
    char *url = NULL;
    double delivered = 0;
    struct timeval now;
    int rc = tracking_find(t, &url, &delivered);

    if (rc < 0) {
        tracking_unavailable(t->resp);
    } else if (rc == 0 || !track_token_verify(t->rt->track_keys, TRACK_CLICK, t->token, t->token_len, url) ||
               strpbrk(url, "\r\n") != NULL) {
        tracking_not_found(t->resp);
    } else {
        gettimeofday(&now, NULL);
        if (!t->agent.machine && t->rt->cfg->tracking_scanner_window_ms > 0 && delivered > 0 &&
            (now.tv_sec + now.tv_usec / 1e6 - delivered) * 1000 < (double)t->rt->cfg->tracking_scanner_window_ms) {
            t->agent.machine = 1;
            t->agent.reason = "too_soon";
        }
        if (tracking_count(t) == 0) {
            tracking_not_found(t->resp);
        } else {
            /* counted or not (logged), the reader goes where the link went */
            tracking_text(t->resp, 302, "redirecting\n");
            t->resp->location = url;
            url = NULL;
        }
    }
    free(url);
}

static const char tracking_unsubscribe_page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">"
    "<title>Unsubscribe</title></head>\n<body><p>Stop receiving mail from this sender?</p>\n"
    "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
    "<button type=\"submit\">Unsubscribe</button></form></body></html>\n";
static const char tracking_unsubscribed_page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">"
    "<title>Unsubscribed</title></head>\n<body><p>You are unsubscribed: this sender will not mail you "
    "again.</p></body></html>\n";

static void
tracking_unsubscribe(tracking_req_t *t)
{
    char *recipient = NULL, err[256];
    double delivered = 0;
    int post = strcmp(t->req->method, "POST") == 0;
    int rc = tracking_find(t, &recipient, &delivered);

    if (rc < 0) {
        tracking_unavailable(t->resp);
    } else if (rc == 0 || !track_token_verify(t->rt->track_keys, TRACK_UNSUBSCRIBE, t->token, t->token_len,
                                              recipient)) {
        tracking_not_found(t->resp);
    } else if (!post) {
        /* a GET changes nothing: a scanner following the link unsubscribes nobody */
        tracking_html(t->resp, 200, tracking_unsubscribe_page);
    } else {
        const char *params[3] = { t->tid_hex, t->agent.agent_class, t->ip[0] ? t->ip : NULL };
        PGresult *res = store_exec(t->rt->store, TRACKING_UNSUBSCRIBE_SQL, 3, params, err, sizeof(err));
        if (res == NULL) {
            log_warn("tracking: /u/ not applied: %s", err);
            tracking_unavailable(t->resp);
        } else if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
            tracking_not_found(t->resp);
        } else {
            log_info("tracking: one-click unsubscribe %s", PQgetvalue(res, 0, 0));
            tracking_html(t->resp, 200, tracking_unsubscribed_page);
        }
        if (res != NULL)
            PQclear(res);
    }
    free(recipient);
}

static void
tracking_handle(void *ctx, const httpd_request_t *req, httpd_response_t *resp)
{
    tracking_req_t t = { .req = req, .resp = resp };
    char client[64];
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

    (void)ctx;
    if (tracking_parse_path(&t) != 0) {
        tracking_not_found(resp);
        return;
    }
    if (!get && !(t.kind == TRACK_UNSUBSCRIBE && strcmp(req->method, "POST") == 0)) {
        tracking_text(resp, 405, "method not allowed\n");
        httpd_add_header(resp, "Allow", "%s", t.kind == TRACK_UNSUBSCRIBE ? "GET, HEAD, POST" : "GET, HEAD");
        return;
    }
    if ((t.rt = runtime_acquire()) == NULL || t.rt->track_keys == NULL) {
        runtime_release(t.rt);
        tracking_unavailable(resp);
        return;
    }
    tracking_client(t.rt->cfg, req, client, sizeof(client));
    if (t.rt->cfg->tracking_store_ip)
        snprintf(t.ip, sizeof(t.ip), "%s", client);
    track_agent_classify(httpd_header(req, "User-Agent"),
                         cidr_list_match_text(t.rt->cfg->tracking_machine_networks, client), &t.agent);
    if (t.kind == TRACK_OPEN)
        tracking_open(&t);
    else if (t.kind == TRACK_CLICK)
        tracking_click(&t);
    else
        tracking_unsubscribe(&t);
    runtime_release(t.rt);
}

int
tracking_start(const pi_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->tracking_listen[0] == '\0')
        return 0;
    httpd_options_t opts = {
        .name = "tracking",
        .max_body = 4096,
        .threads = cfg->api_threads,
        .idle_timeout_s = 30,
        /* behind a reverse proxy every request comes from its address */
        .limits = { .request_timeout_ms = cfg->http_request_timeout_ms,
                    .max_connections_per_ip = cidr_list_count(cfg->tracking_proxy_networks) > 0
                                                  ? 0
                                                  : cfg->http_max_connections_per_ip },
    };
    tracking_server = httpd_start(cfg->tracking_listen, &opts, tracking_handle, NULL, err, errlen);
    return tracking_server ? 0 : -1;
}

void
tracking_stop(void)
{
    httpd_stop(tracking_server);
    tracking_server = NULL;
}
