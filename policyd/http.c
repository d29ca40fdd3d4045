/*
 * http.c -- libcurl multi driver for webhook POSTs.  See http.h.
 * Easy handles are kept for reuse; open connections live in the multi
 * handle's cache, so consecutive calls to one receiver reuse them.
 */
#include "http.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "ssrf.h"

#define HTTP_MAX_RESPONSE_BYTES 65536
#define HTTP_USER_AGENT "postinbox-webhooks/" PACKAGE_VERSION_TEXT
#ifdef PACKAGE_VERSION
#define PACKAGE_VERSION_TEXT PACKAGE_VERSION
#else
#define PACKAGE_VERSION_TEXT "0"
#endif

struct http_client {
    CURLM *multi;
    int running;            /* requests added and not yet done */
    CURL **spare;           /* idle easy handles */
    int nspare, maxspare;
};

http_client_t *
http_client_new(int max_connections, char *err, size_t errlen)
{
    http_client_t *client = calloc(1, sizeof(*client));
    if (client == NULL || (client->multi = curl_multi_init()) == NULL) {
        free(client);
        snprintf(err, errlen, "curl_multi_init failed");
        return NULL;
    }
    client->maxspare = 64;
    client->spare = calloc((size_t)client->maxspare, sizeof(CURL *));
    if (client->spare == NULL) {
        curl_multi_cleanup(client->multi);
        free(client);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    http_client_set_max_connections(client, max_connections);
    return client;
}

void
http_client_set_max_connections(http_client_t *client, int max_connections)
{
    curl_multi_setopt(client->multi, CURLMOPT_MAXCONNECTS, (long)max_connections);
}

void
http_client_free(http_client_t *client)
{
    if (client == NULL)
        return;
    for (int i = 0; i < client->nspare; i++)
        curl_easy_cleanup(client->spare[i]);
    free(client->spare);
    curl_multi_cleanup(client->multi);
    free(client);
}

int
http_client_running(const http_client_t *client)
{
    return client->running;
}

/* libcurl's open-socket hook: every address, after DNS and for every
 * connection attempt, passes the SSRF check before a socket exists. */
static curl_socket_t
http_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
    http_request_t *req = clientp;
    (void)purpose;
    if (ssrf_refusal(&address->addr, address->addrlen, req->allow_networks) != NULL) {
        char text[SSRF_ADDRESS_LEN];
        ssrf_format_address(&address->addr, address->addrlen, text, sizeof(text));
        snprintf(req->refused, sizeof(req->refused), "ssrf: address %s refused", text);
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

static size_t
http_discard(char *data, size_t size, size_t nmemb, void *userdata)
{
    http_request_t *req = userdata;
    (void)data;
    req->received += size * nmemb;
    return req->received > HTTP_MAX_RESPONSE_BYTES ? 0 : size * nmemb;
}

/* 0 if url is http(s) and allowed, else -1 with req->error. */
static int
http_check_url(http_request_t *req)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    int rc = -1;
    if (u == NULL) {
        snprintf(req->error, sizeof(req->error), "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, req->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        snprintf(req->error, sizeof(req->error), "invalid URL");
    } else if (strcasecmp(scheme, "https") == 0) {
        rc = 0;
    } else if (strcasecmp(scheme, "http") == 0) {
        if (req->allow_http)
            rc = 0;
        else
            snprintf(req->error, sizeof(req->error), "http:// URL refused (webhook_allow_http = no)");
    } else {
        snprintf(req->error, sizeof(req->error), "URL scheme %.32s refused", scheme);
    }
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

int
http_client_start(http_client_t *client, http_request_t *req)
{
    CURL *easy;
    req->status = 0;
    req->latency_ms = 0;
    req->retry_after_ms = -1;
    req->error[0] = req->refused[0] = req->curl_error[0] = '\0';
    req->received = 0;
    req->started_ms = clock_ms();
    req->easy = NULL;
    if (http_check_url(req) != 0)
        return -1;
    easy = client->nspare > 0 ? client->spare[--client->nspare] : curl_easy_init();
    if (easy == NULL) {
        snprintf(req->error, sizeof(req->error), "curl_easy_init failed");
        return -1;
    }
    curl_easy_setopt(easy, CURLOPT_URL, req->url);
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->headers);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, HTTP_USER_AGENT);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, req->allow_http ? "http,https" : "https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS, req->allow_http ? (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)
                                                                : (long)CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, http_opensocket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, req);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_discard);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->curl_error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
    if (curl_multi_add_handle(client->multi, easy) != CURLM_OK) {
        curl_easy_cleanup(easy);
        snprintf(req->error, sizeof(req->error), "curl_multi_add_handle failed");
        return -1;
    }
    req->easy = easy;
    client->running++;
    return 0;
}

void
http_client_poll(http_client_t *client, struct pollfd *extra, int nextra, int timeout_ms)
{
    struct curl_waitfd waitfds[8];
    int still, numfds = 0;
    if (nextra > 8)
        nextra = 8;
    for (int i = 0; i < nextra; i++) {
        waitfds[i].fd = extra[i].fd;
        waitfds[i].events = extra[i].events;
        waitfds[i].revents = 0;
    }
    curl_multi_poll(client->multi, waitfds, (unsigned int)nextra, timeout_ms < 0 ? 0 : timeout_ms, &numfds);
    for (int i = 0; i < nextra; i++)
        extra[i].revents = waitfds[i].revents;
    curl_multi_perform(client->multi, &still);
}

/* Takes a finished handle off the multi handle and keeps it for reuse. */
static void
http_client_recycle(http_client_t *client, http_request_t *req)
{
    CURL *easy = req->easy;
    curl_multi_remove_handle(client->multi, easy);
    req->easy = NULL;
    client->running--;
    if (client->nspare < client->maxspare) {
        curl_easy_reset(easy);
        client->spare[client->nspare++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

static void
http_finish(http_request_t *req, CURLcode result)
{
    long code = 0;
    curl_off_t retry_after = 0;
    req->latency_ms = (long)(clock_ms() - req->started_ms);
    curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &code);
    /* A body past the limit ends the transfer, not the answer. */
    if (result == CURLE_WRITE_ERROR && code > 0 && req->received > HTTP_MAX_RESPONSE_BYTES)
        result = CURLE_OK;
    if (result == CURLE_OK) {
        req->status = (int)code;
        if (curl_easy_getinfo(req->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
            req->retry_after_ms = (long)(retry_after > 86400 * 30 ? 86400 * 30 : retry_after) * 1000;
        if (code < 200 || code > 299)
            snprintf(req->error, sizeof(req->error), "HTTP %ld", code);
    } else if (req->refused[0]) {
        snprintf(req->error, sizeof(req->error), "%s", req->refused);
    } else if (result == CURLE_OPERATION_TIMEDOUT) {
        snprintf(req->error, sizeof(req->error), "timeout after %ld ms", req->timeout_ms);
    } else {
        snprintf(req->error, sizeof(req->error), "%s",
                 req->curl_error[0] ? req->curl_error : curl_easy_strerror(result));
    }
}

http_request_t *
http_client_done(http_client_t *client)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(client->multi, &left)) != NULL) {
        char *priv = NULL;
        http_request_t *req;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv == NULL)
            continue;
        req = (http_request_t *)(void *)priv;
        http_finish(req, msg->data.result);
        http_client_recycle(client, req);
        return req;
    }
    return NULL;
}

void
http_client_abandon(http_client_t *client, http_request_t *req)
{
    if (req->easy == NULL)
        return;
    curl_multi_remove_handle(client->multi, req->easy);
    curl_easy_cleanup(req->easy);
    req->easy = NULL;
    client->running--;
}
