/*
 * metrics_http.h -- the /metrics listener: a registry of lib/util/metrics
 * served over lib/net/httpd.
 *
 * Public: metrics_http_listen.
 * Logs what lib/net/httpd logs (refused connections, cut-off requests).
 */
#ifndef POSTINBOX_METRICS_HTTP_H
#define POSTINBOX_METRICS_HTTP_H

#include <stddef.h>

#include "httpd.h"
#include "metrics.h"

/* Serves GET /metrics on listen ("host:port") from a thread of its own;
 * every other path is 404, other methods 405.  limits (NULL: none) bound
 * what one client may take (lib/net/httpd.h).  before_render (may be
 * NULL) runs before each rendering (refresh gauges).  NULL with err. */
httpd_t *metrics_http_listen(metrics_t *m, const char *listen, const httpd_limits_t *limits,
                             void (*before_render)(void *), void *ctx, char *err, size_t errlen);

#endif
