/*
 * http.h -- many outbound HTTP POSTs in flight on one thread (libcurl multi).
 *
 * Public: http_client_new, http_client_free, http_client_start,
 * http_client_poll, http_client_done, http_client_abandon,
 * http_client_running.
 * Every request: no redirects, only http/https (http only when allowed,
 * refused before any connection otherwise), TLS verified, no proxy from
 * the environment, no signals, a total deadline, and the SSRF check
 * (lib/net/ssrf.h) on each address libcurl is about to connect to, so a name
 * that resolves (or rebinds) to an internal address is refused.  The
 * response body is read and dropped (at most 64 KiB).
 * Logs nothing: the outcome is in the request.
 */
#ifndef POSTINBOX_HTTP_H
#define POSTINBOX_HTTP_H

#include <curl/curl.h>
#include <poll.h>
#include <stddef.h>

#include "cidr.h"

#define HTTP_ERROR_LEN 256

typedef struct http_request {
    /* Set by the caller; must stay valid until the request is done. */
    const char *url;
    const char *body;
    size_t body_len;
    struct curl_slist *headers;
    long timeout_ms;
    int allow_http;
    const cidr_list_t *allow_networks;
    /* Set when done. */
    int status;                     /* HTTP status; 0 when there was no answer */
    long latency_ms;
    long retry_after_ms;            /* Retry-After (seconds or HTTP date); -1 if none */
    char error[HTTP_ERROR_LEN];     /* "" on a 2xx */
    /* Private to http.c. */
    CURL *easy;
    long long started_ms;
    size_t received;
    char refused[HTTP_ERROR_LEN];
    char curl_error[CURL_ERROR_SIZE];
} http_request_t;

typedef struct http_client http_client_t;

/* max_connections: connections kept open for reuse. */
http_client_t *http_client_new(int max_connections, char *err, size_t errlen);
/* Every request must be done or abandoned first. */
void http_client_free(http_client_t *client);

/* Starts a POST.  0 when it is under way; -1 when it failed at once (bad
 * or refused URL): req->error is set and the request is done already
 * (never returned by http_client_done). */
int http_client_start(http_client_t *client, http_request_t *req);
/* Waits up to timeout_ms for transfer activity or for one of extra (their
 * revents are set), then moves the transfers on. */
void http_client_poll(http_client_t *client, struct pollfd *extra, int nextra, int timeout_ms);
/* A request that has finished since the last call, or NULL. */
http_request_t *http_client_done(http_client_t *client);
/* Stops a request under way (shutdown); it is never reported done. */
void http_client_abandon(http_client_t *client, http_request_t *req);
int http_client_running(const http_client_t *client);
/* Keeps at most max_connections open for reuse (after a reload). */
void http_client_set_max_connections(http_client_t *client, int max_connections);

#endif
