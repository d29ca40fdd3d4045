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
 */
#include "httpd.h"

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
};

typedef struct {
    char *body;
    size_t len;
    int too_large;
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
        return MHD_NO;
    }
    out->body = NULL; /* MHD owns it now */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            out->content_type ? out->content_type : "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    for (int i = 0; i < HTTPD_MAX_HEADERS && out->headers[i][0]; i++)
        MHD_add_response_header(r, out->headers[i][0], out->headers[i][1]);
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

/* The 413 answer; the connection is closed after it. */
static enum MHD_Result
httpd_too_large(struct MHD_Connection *conn)
{
    httpd_response_t out = { 0 };
    httpd_respond_json(&out, 413,
                       json_pack("{s:{s:s,s:s}}", "error", "code", "payload_too_large", "message",
                                 "the request body is too large"));
    httpd_add_header(&out, MHD_HTTP_HEADER_CONNECTION, "close");
    return httpd_send(conn, &out);
}

static enum MHD_Result
httpd_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
             const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    httpd_t *h = cls;
    request_state_t *st = *con_cls;
    (void)version;

    if (st == NULL) {
        /* Headers only: a declared length over the limit is refused
         * before a byte of the body is read. */
        const char *declared = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if ((st = calloc(1, sizeof(*st))) == NULL)
            return MHD_NO;
        *con_cls = st;
        if (declared != NULL && strtoull(declared, NULL, 10) > h->max_body) {
            st->too_large = 1;
            return httpd_too_large(conn);
        }
        return MHD_YES;
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
        return st->discarded > 0 ? httpd_too_large(conn) : MHD_YES; /* by Content-Length: answered already */

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
    request_state_t *st = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (st != NULL) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
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
httpd_start(const char *listen, size_t max_body, int threads, int timeout_seconds, httpd_handler_t handler,
            void *ctx, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    httpd_t *h;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;

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
    h->max_body = max_body;
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, httpd_access, h,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(threads > 0 ? threads : 1),
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)timeout_seconds,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                                 MHD_OPTION_NOTIFY_COMPLETED, httpd_completed, NULL,
                                 MHD_OPTION_END);
    if (h->daemon == NULL) {
        snprintf(err, errlen, "cannot listen on %s (address in use, or not ours)", listen);
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
    MHD_stop_daemon(h->daemon);
    free(h);
}
