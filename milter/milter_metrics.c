/*
 * milter_metrics.c -- the milter's families.  See milter_metrics.h.
 */
#include "milter_metrics.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "metrics.h"
#include "metrics_http.h"
#include "record_batch.h"
#include "runtime.h"

static const char *const stages[] = { "mail", "rcpt", "eom", NULL };
static const char *const caps[] = { "burst", "daily", NULL };
static const char *const directions[] = { "outbound", "inbound", NULL };
static const char *const report_kinds[] = { "dsn", "arf", "none", "unparsed", "other", NULL };
static const char *const versions[] = { PACKAGE_VERSION, NULL };

static struct {
    metrics_t *registry;
    httpd_t *server;
    metric_t *decisions, *caps_hit, *recorded, *reports;
} mm;

int
milter_metrics_init(void)
{
    static const double latency[] = { METRICS_LATENCY_BUCKETS };
    static const double batch_sizes[] = { RECORD_BATCH_SIZE_BUCKETS };
    metric_label_t decision_labels[] = { { "stage", stages }, { "action", decide_actions }, { "reason", decide_reasons } };
    metric_label_t backend_labels[] = { { "backend", metrics_backends }, { "call", metrics_backend_calls } };
    metric_label_t cap_labels[] = { { "cap", caps } };
    metric_label_t direction_labels[] = { { "direction", directions } };
    metric_label_t kind_labels[] = { { "kind", report_kinds } };
    metric_label_t version_labels[] = { { "version", versions } };
    metrics_backend_t backend;
    metrics_t *m;

    if ((m = mm.registry = metrics_new()) == NULL)
        return -1;
    mm.decisions = metrics_counter(m, "postinbox_milter_decisions_total",
                                   "Decisions by SMTP stage, action and reason (lib/core/decide.h).", decision_labels, 3);
    backend.seconds = metrics_histogram(m, "postinbox_milter_backend_call_seconds",
                                        "Duration of backend calls (pool wait included), by backend and call.",
                                        backend_labels, 2, latency, (int)(sizeof(latency) / sizeof(latency[0])));
    backend.errors = metrics_counter(m, "postinbox_milter_backend_errors_total",
                                     "Backend calls that failed or timed out, by backend and call.", backend_labels, 2);
    mm.caps_hit = metrics_counter(m, "postinbox_milter_caps_hit_total",
                                  "Sends refused by a cap: burst (60 s window) or daily.", cap_labels, 1);
    mm.recorded = metrics_counter(m, "postinbox_milter_messages_recorded_total",
                                  "Message rows written at end of message, by direction.", direction_labels, 1);
    mm.reports = metrics_counter(m, "postinbox_milter_inbound_reports_total",
                                 "Messages to an inbox whose content was read, by what it was: dsn (bounce), arf "
                                 "(complaint), none (ordinary mail), unparsed.",
                                 kind_labels, 1);
    metric_t *batch = metrics_histogram(m, "postinbox_milter_record_batch_documents",
                                        "End-of-message records written per PostgreSQL call (group commit).", NULL, 0,
                                        batch_sizes, (int)(sizeof(batch_sizes) / sizeof(batch_sizes[0])));
    metric_t *info = metrics_gauge(m, "postinbox_milter_build_info", "Always 1; the version in a label.",
                                   version_labels, 1);
    metric_t *start = metrics_gauge(m, "postinbox_milter_process_start_time_seconds",
                                    "Start time of the process since the Unix epoch.", NULL, 0);
    if (mm.decisions == NULL || backend.seconds == NULL || backend.errors == NULL || mm.caps_hit == NULL ||
        mm.recorded == NULL || mm.reports == NULL || batch == NULL || info == NULL || start == NULL)
        return -1;
    metric_set(info, METRIC_LABELS(PACKAGE_VERSION), 1);
    metric_set(start, NULL, (double)time(NULL));
    /* Series that should read 0 rather than be missing before the first event. */
    for (int i = 0; caps[i]; i++)
        metric_touch(mm.caps_hit, METRIC_LABELS(caps[i]));
    for (int i = 0; directions[i]; i++)
        metric_touch(mm.recorded, METRIC_LABELS(directions[i]));
    for (int i = 0; metrics_backends[i]; i++)
        metric_touch(backend.errors, METRIC_LABELS(metrics_backends[i], i == 0 ? "lookup" : "reserve"));
    runtime_set_backend_metrics(&backend);
    record_batch_set_size_metric(batch);
    return 0;
}

int
milter_metrics_start(const char *listen, const httpd_limits_t *limits, char *err, size_t errlen)
{
    sigset_t block, saved;
    /* The listener's threads leave libmilter's signals (and the reload
     * thread's SIGUSR1) to the threads that sigwait for them. */
    sigemptyset(&block);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    mm.server = metrics_http_listen(mm.registry, listen, limits, NULL, NULL, err, errlen);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return mm.server ? 0 : -1;
}

void
milter_metrics_stop(void)
{
    httpd_stop(mm.server);
    mm.server = NULL;
}

void
milter_metrics_decision(const char *stage, const decision_t *decision)
{
    metric_inc(mm.decisions, METRIC_LABELS(stage, decide_action_word(decision), decision->reason));
}

void
milter_metrics_cap_hit(limit_verdict_t verdict)
{
    if (verdict == LIMIT_BURST || verdict == LIMIT_DAILY)
        metric_inc(mm.caps_hit, METRIC_LABELS(verdict == LIMIT_BURST ? "burst" : "daily"));
}

void
milter_metrics_recorded(const char *direction, size_t n)
{
    if (n > 0)
        metric_add(mm.recorded, METRIC_LABELS(direction), n);
}

void
milter_metrics_report(const char *kind)
{
    metric_inc(mm.reports, METRIC_LABELS(kind));
}
