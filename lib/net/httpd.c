/*
 * httpd.c -- the admin API's and /metrics' HTTP server.  See httpd.h.
 *
 * libmicrohttpd calls the access handler several times per request:
 * first with no body (we allocate the request state), then once per
 * body chunk (we append, up to max_body), then once with no more body
 * (we call the handler and queue its response).  A body over max_body is
 * answered 413 without calling the handler: at once when Content-Length
 * says so (libmicrohttpd accepts a response only before the body or after
 * all of it), else (chunked) once the body has ended, its excess read and
 * dropped; a client that goes on for HTTPD_DISCARD_MAX bytes more is
 * disconnected.  The connection is closed after a 413.
 *
 * What libmicrohttpd (0.9.75) does itself, and why the framing check is
 * ours: of two Content-Length headers it takes the first, with both
 * Content-Length and Transfer-Encoding it reads chunked, "Content-Length :"
 * (a space before the colon) is a header of another name, so no body at
 * all, and Transfer-Encoding on HTTP/1.0 is honoured -- each a way for a
 * proxy and us to disagree on where a body ends.  So the first call of
 * the access handler, which comes once the headers are in and before the
 * body is read, runs every header through lib/net/http_framing and
 * answers 400 (or 501) and closes.  A malformed Content-Length value
 * ("5, 5", "+5") is answered 400 by libmicrohttpd before we see it (its
 * own HTML body: it has no hook for that answer).
 *
 * The connection callbacks feed lib/net/httpd_conns: the accept policy
 * refuses an address over its limit (libmicrohttpd's own per-IP limit,
 * one higher, backs it against two threads accepting at once), the
 * connection notifier tracks the descriptor, the URI logger marks a
 * keep-alive connection's next request line and the completion notifier
 * the end of a request.
 */
#include "httpd.h"

#include "http_framing.h"
#include "httpd_conns.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a too-large chunked body read and dropped before giving up. */
#define HTTPD_DISCARD_MAX (1024 * 1024)

struct httpd {
    struct MHD_Daemon *daemon;
    httpd_handler_t handler;
    void *ctx;
    size_t max_body;
    httpd_conns_t *conns;
};

typedef struct {
    char *body;
    size_t len;
    int too_large;
    int answered;       /* refused at the headers: read nothing more, answer nothing more */
    size_t discarded;   /* bytes of a too-large body dropped */
} request_state_t;

const char *
httpd_header(const httpd_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
httpd_query(const httpd_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void
httpd_respond(httpd_response_t *resp, int status, const char *content_type, const char *body, size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->body = malloc(len + 1);
    resp->body_len = resp->body ? len : 0;
    if (resp->body) {
        memcpy(resp->body, body, len);
        resp->body[len] = '\0';
    }
}

void
httpd_respond_json(httpd_response_t *resp, int status, json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    free(resp->body);
    resp->status = text ? status : 500;
    resp->content_type = "application/json";
    resp->body = text ? text : strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
    resp->body_len = resp->body ? strlen(resp->body) : 0;
}

void
httpd_add_header(httpd_response_t *resp, const char *name, const char *fmt, ...)
{
    for (int i = 0; i < HTTPD_MAX_HEADERS; i++) {
        if (resp->headers[i][0] != NULL)
            continue;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(resp->header_buf[i], sizeof(resp->header_buf[i]), fmt, ap);
        va_end(ap);
        resp->headers[i][0] = name;
        resp->headers[i][1] = resp->header_buf[i];
        return;
    }
}

static enum MHD_Result
httpd_send(struct MHD_Connection *conn, httpd_response_t *out)
{
    struct MHD_Response *r;
    enum MHD_Result rc;

    if (out->body == NULL)
        httpd_respond(out, out->status ? out->status : 500, out->content_type, "", 0);
    r = MHD_create_response_from_buffer(out->body_len, out->body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(out->body);
        free(out->location);
        out->location = NULL;
        return MHD_NO;
    }
    out->body = NULL; /* MHD owns it now */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            out->content_type ? out->content_type : "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    for (int i = 0; i < HTTPD_MAX_HEADERS && out->headers[i][0]; i++)
        MHD_add_response_header(r, out->headers[i][0], out->headers[i][1]);
    if (out->location != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, out->location);
    free(out->location);
    out->location = NULL;
    rc = MHD_queue_response(conn, (unsigned)(out->status ? out->status : 500), r);
    MHD_destroy_response(r);
    return rc;
}

static void
httpd_peer(struct MHD_Connection *conn, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, outlen, "unknown");
    if (info == NULL || info->client_addr == NULL)
        return;
    if (info->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)info->client_addr)->sin_addr, out,
                  (socklen_t)outlen);
    else if (info->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)info->client_addr)->sin6_addr, out,
                  (socklen_t)outlen);
}

/* An error answer in the API's form; the connection is closed after it. */
static enum MHD_Result
httpd_refuse(struct MHD_Connection *conn, int status, const char *code, const char *message)
{
    httpd_response_t out = { 0 };
    httpd_respond_json(&out, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
    httpd_add_header(&out, MHD_HTTP_HEADER_CONNECTION, "close");
    return httpd_send(conn, &out);
}

static enum MHD_Result
httpd_too_large(struct MHD_Connection *conn)
{
    return httpd_refuse(conn, 413, "payload_too_large", "the request body is too large");
}

static enum MHD_Result
httpd_framing_each(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size, const char *value,
                   size_t value_size)
{
    (void)kind;
    (void)value_size;
    http_framing_header(cls, key, key_size, value);
    return MHD_YES;
}

/* The connection's entry in h->conns, or NULL. */
static httpd_conn_t *
httpd_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static enum MHD_Result
httpd_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
             const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    httpd_t *h = cls;
    request_state_t *st = *con_cls;

    if (st == NULL) {
        /* Headers only: a body without a single end, or a declared
         * length over the limit, is refused before a byte of it is read. */
        const char *declared = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        http_framing_t framing = { 0 };
        const char *code, *message;
        int status;
        if ((st = calloc(1, sizeof(*st))) == NULL)
            return MHD_NO;
        *con_cls = st;
        MHD_get_connection_values_n(conn, MHD_HEADER_KIND, httpd_framing_each, &framing);
        if ((status = http_framing_verdict(&framing, version, &code, &message)) != 0) {
            st->answered = 1;
            return httpd_refuse(conn, status, code, message);
        }
        if (declared != NULL && strtoull(declared, NULL, 10) > h->max_body) {
            st->too_large = st->answered = 1;
            return httpd_too_large(conn);
        }
        return MHD_YES;
    }
    if (st->answered) {
        /* Answered at the headers (the connection closes after it). */
        st->discarded += *upload_data_size;
        *upload_data_size = 0;
        return st->discarded > HTTPD_DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->too_large || st->len + n > h->max_body) {
            /* Chunked: drop the rest, answer when it has ended. */
            st->too_large = 1;
            st->discarded += n;
            return st->discarded > HTTPD_DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        char *grown = realloc(st->body, st->len + n + 1);
        if (grown == NULL)
            return MHD_NO;
        st->body = grown;
        memcpy(st->body + st->len, upload_data, n);
        st->len += n;
        st->body[st->len] = '\0';
        return MHD_YES;
    }
    if (st->too_large)
        return httpd_too_large(conn); /* chunked, its excess dropped */

    httpd_conns_request_received(h->conns, httpd_conn_of(conn));
    httpd_request_t req = {
        .method = method, .path = url, .body = st->body ? st->body : "", .body_len = st->len, .conn = conn,
    };
    httpd_response_t out = { 0 };
    httpd_peer(conn, req.peer, sizeof(req.peer));
    h->handler(h->ctx, &req, &out);
    return httpd_send(conn, &out);
}

static void
httpd_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    httpd_t *h = cls;
    request_state_t *st = *con_cls;
    (void)toe;
    if (st != NULL) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
    httpd_conns_request_done(h->conns, httpd_conn_of(conn));
}

static enum MHD_Result
httpd_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    httpd_t *h = cls;
    (void)addrlen;
    return httpd_conns_admit(h->conns, addr) ? MHD_YES : MHD_NO;
}

static void
httpd_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                 enum MHD_ConnectionNotificationCode toe)
{
    httpd_t *h = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        *socket_context = fd ? httpd_conns_opened(h->conns, fd->connect_fd, addr ? addr->client_addr : NULL) : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        httpd_conns_closed(h->conns, *socket_context);
        *socket_context = NULL;
    }
}

/* Called once per request line: a keep-alive connection's next request
 * starts its deadline here.  Returns the request's initial state: none. */
static void *
httpd_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    httpd_t *h = cls;
    (void)uri;
    httpd_conns_request_line(h->conns, httpd_conn_of(conn));
    return NULL;
}

/* "host:port" or "[v6]:port" into a socket address. */
static int
httpd_address(const char *listen, struct sockaddr_storage *out, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    const char *h = listen;
    size_t hlen;
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;

    if (colon == NULL || colon[1] == '\0') {
        snprintf(err, errlen, "\"%s\": want host:port", listen);
        return -1;
    }
    hlen = (size_t)(colon - listen);
    if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
        h = listen + 1;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof(host)) {
        snprintf(err, errlen, "\"%s\": want host:port", listen);
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    /* getaddrinfo takes "70000" and wraps it to 4464. */
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        snprintf(err, errlen, "\"%s\": not a numeric address and port", listen);
        return -1;
    }
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
        snprintf(err, errlen, "\"%s\": not a numeric address and port", listen);
        return -1;
    }
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

httpd_t *
httpd_start(const char *listen, const httpd_options_t *opts, httpd_handler_t handler, void *ctx, char *err,
            size_t errlen)
{
    struct sockaddr_storage addr;
    httpd_t *h;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;
    int per_ip = opts->limits.max_connections_per_ip;

    if (httpd_address(listen, &addr, err, errlen) != 0)
        return NULL;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if ((h = calloc(1, sizeof(*h))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->handler = handler;
    h->ctx = ctx;
    h->max_body = opts->max_body;
    h->conns = httpd_conns_new(opts->name, opts->limits.request_timeout_ms, opts->idle_timeout_s * 1000, per_ip);
    if (h->conns == NULL) {
        snprintf(err, errlen, "out of memory, or no thread for request deadlines");
        free(h);
        return NULL;
    }
    h->daemon = MHD_start_daemon(flags, 0, httpd_accept, h, httpd_access, h,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(opts->threads > 0 ? opts->threads : 1),
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)opts->idle_timeout_s,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
                                 /* a backstop one over ours (0: none) */
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)(per_ip > 0 ? per_ip + 1 : 0),
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                                 MHD_OPTION_NOTIFY_COMPLETED, httpd_completed, h,
                                 MHD_OPTION_NOTIFY_CONNECTION, httpd_connection, h,
                                 MHD_OPTION_URI_LOG_CALLBACK, httpd_request_line, h,
                                 MHD_OPTION_END);
    if (h->daemon == NULL) {
        snprintf(err, errlen, "cannot listen on %s (address in use, or not ours)", listen);
        httpd_conns_free(h->conns);
        free(h);
        return NULL;
    }
    return h;
}

void
httpd_stop(httpd_t *h)
{
    if (h == NULL)
        return;
    /* The daemon first: it closes every connection (closed frees its
     * entry) while the deadline thread may still shut some down. */
    MHD_stop_daemon(h->daemon);
    httpd_conns_free(h->conns);
    free(h);
}
