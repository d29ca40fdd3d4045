/*
 * httpd.h -- a small HTTP server for the admin API and /metrics, on
 * libmicrohttpd.
 *
 * Public: httpd_t, httpd_options_t, httpd_limits_t, httpd_request_t,
 * httpd_response_t, httpd_handler_t, httpd_start, httpd_stop,
 * httpd_header, httpd_query, httpd_respond, httpd_respond_json,
 * httpd_add_header.
 * One handler sees every request whole: method, path, query and header
 * lookups, and the body (at most max_body bytes: a larger one is answered
 * 413 without calling the handler).  The handler fills a response; the
 * server sends it and frees its body.  Requests are served by a small
 * pool of threads (libmicrohttpd's internal polling), so the handler must
 * be thread-safe: share backends through pools (lib/store/pool.c).
 * Before the handler, and before a byte of the body is read, a request
 * whose body has no single end (two Content-Length, Content-Length with
 * Transfer-Encoding, ...: lib/net/http_framing.h) is answered 400 (501
 * for a transfer coding other than chunked) and the connection closed.
 * A slow client holds nothing for long: a connection silent for
 * idle_timeout_s is closed, and one whose request has not arrived whole
 * within request_timeout_ms (trickled headers or body) is cut off
 * (lib/net/httpd_conns.h); an address holding max_connections_per_ip
 * open connections has the next one refused.  The error bodies are the
 * API's {"error":{"code","message"}}.  Listens on "host:port" (IPv4, or
 * [IPv6]:port); nothing but the one address.  Logs (warn, rate-limited)
 * refused connections and cut-off requests; start errors come back in err.
 */
#ifndef POSTINBOX_HTTPD_H
#define POSTINBOX_HTTPD_H

#include <jansson.h>
#include <stddef.h>

typedef struct httpd httpd_t;

typedef struct {
    const char *method;     /* "GET", "POST", ... */
    const char *path;       /* the URL path, without the query */
    const char *body;       /* NUL-terminated (the body may hold NULs: use body_len) */
    size_t body_len;
    char peer[64];          /* the client's address */
    void *conn;             /* for httpd_header / httpd_query */
} httpd_request_t;

#define HTTPD_MAX_HEADERS 4

typedef struct {
    int status;                       /* 0 means 500 */
    char *body;                       /* malloc'd; freed by the server */
    size_t body_len;
    const char *content_type;         /* default application/json */
    const char *headers[HTTPD_MAX_HEADERS][2]; /* extra name/value pairs (static or request-lived strings) */
    char header_buf[HTTPD_MAX_HEADERS][128];   /* room for values built by the handler */
    char *location;                   /* malloc'd Location value (a redirect), or NULL; freed by the server */
} httpd_response_t;

typedef void (*httpd_handler_t)(void *ctx, const httpd_request_t *req, httpd_response_t *resp);

/* What a client may take of a listener (http_request_timeout_ms,
 * http_max_connections_per_ip in the config); 0 = no limit. */
typedef struct {
    int request_timeout_ms;       /* receiving one request: line, headers, body */
    int max_connections_per_ip;   /* open connections from one address */
} httpd_limits_t;

typedef struct {
    const char *name;             /* the listener in log lines: "api", "metrics" */
    size_t max_body;              /* bytes; a larger body is answered 413 */
    int threads;                  /* serving threads, at least 1 */
    int idle_timeout_s;           /* a connection silent this long is closed */
    httpd_limits_t limits;
} httpd_options_t;

/* Starts serving listen ("127.0.0.1:8080", "[::1]:8080").  NULL with err
 * on failure (bad address, port in use). */
httpd_t *httpd_start(const char *listen, const httpd_options_t *opts, httpd_handler_t handler, void *ctx,
                     char *err, size_t errlen);
/* Stops accepting, waits for the requests in progress, frees. */
void httpd_stop(httpd_t *h);

/* A request header (case-insensitive) or query argument, or NULL. */
const char *httpd_header(const httpd_request_t *req, const char *name);
const char *httpd_query(const httpd_request_t *req, const char *name);

/* Sets status and a copy of body (len bytes) with content_type. */
void httpd_respond(httpd_response_t *resp, int status, const char *content_type, const char *body, size_t len);
/* Sets status and the compact JSON of value (consumed). */
void httpd_respond_json(httpd_response_t *resp, int status, json_t *value);
/* Adds a header whose value is formatted into the response (at most
 * HTTPD_MAX_HEADERS; more are dropped). */
void httpd_add_header(httpd_response_t *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
