/*
 * policyd_metrics.h -- postinbox-policyd's Prometheus figures (lib/util/metrics).
 *
 * Public: policyd_metrics_init, policyd_metrics_start, policyd_metrics_stop,
 * policyd_metrics_attempt, policyd_metrics_policy_decision,
 * policyd_metrics_log_line, policyd_metrics_log_backend_error.
 * Every name starts with postinbox_policyd_ (the table is in README.md).
 * init declares the families and hands the backend ones to lib/runtime/runtime;
 * start serves them on policyd_metrics_listen.  The pending-deliveries
 * gauge is a count query run by a scrape, at most every
 * POLICYD_METRICS_PENDING_MS, so an unscraped daemon never runs it.
 * Updates are lock-free, from any thread; before init they do nothing.
 * Logs nothing.
 */
#ifndef POSTINBOX_POLICYD_METRICS_H
#define POSTINBOX_POLICYD_METRICS_H

#include <stddef.h>

#include "decide.h"
#include "httpd.h"
#include "webhook_retry.h"

#define POLICYD_METRICS_PENDING_MS 5000

/* Declares everything (before the first runtime_new).  0, or -1 out of memory. */
int policyd_metrics_init(void);
/* Serves /metrics on listen ("host:port") within limits.  0 or -1 with err. */
int policyd_metrics_start(const char *listen, const httpd_limits_t *limits, char *err, size_t errlen);
void policyd_metrics_stop(void);

/* One webhook attempt: HTTP status (0: none) and error text, latency,
 * what it means, and the event's creation time (Unix seconds) for the
 * delivery lag of a first success. */
void policyd_metrics_attempt(int status, const char *error, long latency_ms, webhook_outcome_t outcome,
                             double event_created_at);
/* One policy service answer at stage "mail", "rcpt", "eom" or "other". */
void policyd_metrics_policy_decision(const char *stage, const decision_t *decision);
/* One line of the Postfix log done with: kind "sent", "deferred",
 * "bounced", "expired" or "removed" (a line that says something about a
 * queue id), or NULL for a line of no interest. */
void policyd_metrics_log_line(const char *status);
/* A log line's statement failed (it is retried or skipped). */
void policyd_metrics_log_backend_error(void);

#endif
