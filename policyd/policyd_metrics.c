/*
 * policyd_metrics.c -- policyd's families.  See policyd_metrics.h.
 */
#include "policyd_metrics.h"
#include "clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "metrics_http.h"
#include "runtime.h"

static const char *const stages[] = { "mail", "rcpt", "eom", "other", NULL };
static const char *const attempt_outcomes[] = {
    "2xx", "3xx", "4xx", "5xx", "timeout", "ssrf_refused", "url_refused", "network_error", "other", NULL
};
static const char *const results[] = { "delivered", "retry", "failed", "gone", NULL };
static const char *const log_statuses[] = { "sent", "deferred", "bounced", "expired", "removed", "other", NULL };
static const char *const versions[] = { PACKAGE_VERSION, NULL };

static struct {
    metrics_t *registry;
    httpd_t *server;
    metric_t *attempts, *attempt_seconds, *results, *lag, *pending;
    metric_t *decisions;
    metric_t *lines_read, *lines_parsed, *lines_ignored, *log_errors;
    atomic_llong pending_at;    /* clock_ms() of the last count query */
} pm;

int
policyd_metrics_init(void)
{
    static const double latency[] = { METRICS_LATENCY_BUCKETS };
    /* Event written -> receiver's 2xx: seconds when all is well, hours
     * when an endpoint was down and retries ran. */
    static const double lag[] = { 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400 };
    metric_label_t outcome_labels[] = { { "outcome", attempt_outcomes } };
    metric_label_t result_labels[] = { { "result", results } };
    metric_label_t decision_labels[] = { { "stage", stages }, { "action", decide_actions }, { "reason", decide_reasons } };
    metric_label_t status_labels[] = { { "status", log_statuses } };
    metric_label_t backend_labels[] = { { "backend", metrics_backends }, { "call", metrics_backend_calls } };
    metric_label_t version_labels[] = { { "version", versions } };
    metrics_backend_t backend;
    metrics_t *m;

    if ((m = pm.registry = metrics_new()) == NULL)
        return -1;
    pm.attempts = metrics_counter(m, "postinbox_policyd_webhook_attempts_total",
                                  "Webhook HTTP attempts by outcome: the status class, or why there was none.",
                                  outcome_labels, 1);
    pm.attempt_seconds = metrics_histogram(m, "postinbox_policyd_webhook_attempt_seconds",
                                           "Duration of webhook HTTP attempts.", NULL, 0, latency,
                                           (int)(sizeof(latency) / sizeof(latency[0])));
    pm.results = metrics_counter(m, "postinbox_policyd_webhook_deliveries_total",
                                 "Webhook attempts by what they meant: delivered (2xx), retry (another attempt "
                                 "scheduled), failed (no attempt left), gone (410, endpoint disabled).",
                                 result_labels, 1);
    pm.lag = metrics_histogram(m, "postinbox_policyd_webhook_delivery_lag_seconds",
                               "From the event's creation to the receiver's 2xx.", NULL, 0, lag,
                               (int)(sizeof(lag) / sizeof(lag[0])));
    pm.pending = metrics_gauge(m, "postinbox_policyd_webhook_pending_deliveries",
                               "Deliveries not yet delivered or failed (all daemons; counted at most every 5 s).",
                               NULL, 0);
    pm.decisions = metrics_counter(m, "postinbox_policyd_policy_decisions_total",
                                   "Policy service answers by stage, action and reason (lib/core/decide.h).",
                                   decision_labels, 3);
    pm.lines_read = metrics_counter(m, "postinbox_policyd_log_lines_read_total",
                                    "Lines of postfix_log read.", NULL, 0);
    pm.lines_parsed = metrics_counter(m, "postinbox_policyd_log_lines_parsed_total",
                                      "Lines of postfix_log about a queue id, by status.", status_labels, 1);
    pm.lines_ignored = metrics_counter(m, "postinbox_policyd_log_lines_ignored_total",
                                       "Lines of postfix_log of no interest (or over-long).", NULL, 0);
    pm.log_errors = metrics_counter(m, "postinbox_policyd_log_backend_errors_total",
                                    "Statements for postfix_log lines that failed (retried, or skipped after 3 refusals).",
                                    NULL, 0);
    backend.seconds = metrics_histogram(m, "postinbox_policyd_backend_call_seconds",
                                        "Duration of backend calls (pool wait included), by backend and call.",
                                        backend_labels, 2, latency, (int)(sizeof(latency) / sizeof(latency[0])));
    backend.errors = metrics_counter(m, "postinbox_policyd_backend_errors_total",
                                     "Backend calls that failed or timed out, by backend and call.", backend_labels, 2);
    metric_t *info = metrics_gauge(m, "postinbox_policyd_build_info", "Always 1; the version in a label.",
                                   version_labels, 1);
    metric_t *start = metrics_gauge(m, "postinbox_policyd_process_start_time_seconds",
                                    "Start time of the process since the Unix epoch.", NULL, 0);
    if (pm.attempts == NULL || pm.attempt_seconds == NULL || pm.results == NULL || pm.lag == NULL ||
        pm.pending == NULL || pm.decisions == NULL || pm.lines_read == NULL || pm.lines_parsed == NULL ||
        pm.lines_ignored == NULL || pm.log_errors == NULL || backend.seconds == NULL || backend.errors == NULL ||
        info == NULL || start == NULL)
        return -1;
    metric_set(info, METRIC_LABELS(PACKAGE_VERSION), 1);
    metric_set(start, NULL, (double)time(NULL));
    for (int i = 0; results[i]; i++)
        metric_touch(pm.results, METRIC_LABELS(results[i]));
    metric_touch(backend.errors, METRIC_LABELS("postgres", "exec"));
    runtime_set_backend_metrics(&backend);
    return 0;
}

/* Before a scrape: the pending count, if the last one is old enough.
 * Concurrent scrapes: one of them runs the query. */
static void
policyd_metrics_refresh(void *ctx)
{
    long long now = clock_ms(), last = atomic_load(&pm.pending_at);
    char err[256];
    (void)ctx;
    if (last != 0 && now - last < POLICYD_METRICS_PENDING_MS)
        return;
    if (!atomic_compare_exchange_strong(&pm.pending_at, &last, now))
        return;
    runtime_t *rt = runtime_acquire();
    if (rt == NULL)
        return;
    PGresult *res = store_exec(rt->store, "SELECT count(*) FROM postinbox.webhook_delivery WHERE status = 'pending'",
                               0, NULL, err, sizeof(err));
    runtime_release(rt);
    if (res == NULL)
        return; /* counted in postinbox_policyd_backend_errors_total{call="exec"} */
    if (PQntuples(res) == 1)
        metric_set(pm.pending, NULL, strtod(PQgetvalue(res, 0, 0), NULL));
    PQclear(res);
}

int
policyd_metrics_start(const char *listen, const httpd_limits_t *limits, char *err, size_t errlen)
{
    pm.server = metrics_http_listen(pm.registry, listen, limits, policyd_metrics_refresh, NULL, err, errlen);
    return pm.server ? 0 : -1;
}

void
policyd_metrics_stop(void)
{
    httpd_stop(pm.server);
    pm.server = NULL;
}

/* The outcome label of an attempt (http.c's error texts when there was
 * no HTTP answer). */
static const char *
policyd_metrics_outcome(int status, const char *error)
{
    static const char *const classes[] = { "2xx", "3xx", "4xx", "5xx" };
    if (status >= 200 && status <= 599)
        return classes[status / 100 - 2];
    if (status > 0)
        return "other";
    if (strncmp(error, "ssrf:", 5) == 0)
        return "ssrf_refused";
    if (strncmp(error, "timeout", 7) == 0)
        return "timeout";
    if (strstr(error, "URL") != NULL)
        return "url_refused";
    if (strncmp(error, "signing:", 8) == 0 || strcmp(error, "out of memory") == 0 || strstr(error, "failed") != NULL)
        return "other";
    return "network_error";
}

void
policyd_metrics_attempt(int status, const char *error, long latency_ms, webhook_outcome_t outcome,
                        double event_created_at)
{
    static const char *const meaning[] = { [WEBHOOK_DELIVERED] = "delivered", [WEBHOOK_RETRY] = "retry",
                                           [WEBHOOK_FAILED] = "failed", [WEBHOOK_GONE] = "gone" };
    metric_inc(pm.attempts, METRIC_LABELS(policyd_metrics_outcome(status, error ? error : "")));
    metric_observe(pm.attempt_seconds, NULL, (double)latency_ms / 1000.0);
    metric_inc(pm.results, METRIC_LABELS(meaning[outcome]));
    if (outcome == WEBHOOK_DELIVERED && event_created_at > 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        double lag = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - event_created_at;
        metric_observe(pm.lag, NULL, lag > 0 ? lag : 0);
    }
}

void
policyd_metrics_policy_decision(const char *stage, const decision_t *decision)
{
    metric_inc(pm.decisions, METRIC_LABELS(stage, decide_action_word(decision), decision->reason));
}

void
policyd_metrics_log_line(const char *status)
{
    metric_inc(pm.lines_read, NULL);
    if (status)
        metric_inc(pm.lines_parsed, METRIC_LABELS(status));
    else
        metric_inc(pm.lines_ignored, NULL);
}

void
policyd_metrics_log_backend_error(void)
{
    metric_inc(pm.log_errors, NULL);
}
