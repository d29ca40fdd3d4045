/*
 * metrics_http.c -- the /metrics listener.  See metrics_http.h.
 */
#include "metrics_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
metrics_http_handle(void *ctx, const httpd_request_t *req, httpd_response_t *resp)
{
    metrics_t *m = ctx;
    size_t len;
    char *text;

    if (strcmp(req->path, "/metrics") != 0) {
        httpd_respond(resp, 404, "text/plain; charset=utf-8", "not found: try /metrics\n", 24);
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        httpd_add_header(resp, "Allow", "GET, HEAD");
        httpd_respond(resp, 405, "text/plain; charset=utf-8", "method not allowed\n", 19);
        return;
    }
    metrics_before_render(m);
    if ((text = metrics_render(m, &len)) == NULL) {
        httpd_respond(resp, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
        return;
    }
    free(resp->body);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp->body = text;
    resp->body_len = len;
}

httpd_t *
metrics_http_listen(metrics_t *m, const char *listen, const httpd_limits_t *limits, void (*before_render)(void *),
                    void *ctx, char *err, size_t errlen)
{
    /* One thread: a scrape every few seconds; a 10 s idle timeout. */
    httpd_options_t opts = { .name = "metrics", .max_body = 1024, .threads = 1, .idle_timeout_s = 10 };
    if (m == NULL) {
        snprintf(err, errlen, "no metrics registry");
        return NULL;
    }
    metrics_set_before_render(m, before_render, ctx);
    if (limits != NULL)
        opts.limits = *limits;
    return httpd_start(listen, &opts, metrics_http_handle, m, err, errlen);
}
