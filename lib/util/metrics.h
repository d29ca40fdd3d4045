/*
 * metrics.h -- a tiny Prometheus registry: counters, gauges and
 * histograms with fixed label values, rendered as text format 0.0.4.
 *
 * Public: metrics_t, metric_t, metric_label_t, metrics_new, metrics_free,
 * metrics_counter, metrics_gauge, metrics_histogram, metric_inc,
 * metric_add, metric_set, metric_observe, metric_touch, metrics_render,
 * metrics_set_before_render, metrics_before_render, metrics_backend_t,
 * metrics_backend_call, METRIC_LABELS, METRICS_LATENCY_BUCKETS.
 * Served over HTTP by lib/net/metrics_http.
 *
 * Families are declared once at start-up (not thread-safe); after that
 * every update is lock-free: a series is a slot in an array indexed by
 * the positions of its label values, updated with C11 atomics, so the
 * milter's hot path pays a few strcmp()s and atomic adds.  Label values
 * come from a fixed list given at declaration (the reasons of
 * lib/core/decide.h, the backend calls, ...): a value not in the list counts
 * as "other" when the list has it and is dropped otherwise, so no input
 * (an address, an inbox id) can ever grow the output.
 * A labelled series appears in the output once it has been updated or
 * touched (metric_touch: make it visible at 0); unlabelled ones always.
 * Every update on a NULL metric is a no-op, so a module can be used
 * without metrics.  Logs nothing.
 */
#ifndef POSTINBOX_METRICS_H
#define POSTINBOX_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_LABELS 3
#define METRICS_MAX_BUCKETS 24

/* Seconds, for backend and HTTP latencies: 100 µs to 10 s. */
#define METRICS_LATENCY_BUCKETS \
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10

typedef struct metrics metrics_t;
typedef struct metric metric_t;

/* A label: its name and the NULL-terminated list of values it may take. */
typedef struct {
    const char *name;
    const char *const *values;
} metric_label_t;

/* The label values of one update, in the family's label order. */
#define METRIC_LABELS(...) ((const char *const[]){ __VA_ARGS__ })

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m);

/* Declare a family (name and help are kept by pointer: use literals).
 * NULL on a bad declaration (name, too many labels or buckets, buckets
 * not increasing) or out of memory. */
metric_t *metrics_counter(metrics_t *m, const char *name, const char *help, const metric_label_t *labels,
                          int nlabels);
metric_t *metrics_gauge(metrics_t *m, const char *name, const char *help, const metric_label_t *labels,
                        int nlabels);
metric_t *metrics_histogram(metrics_t *m, const char *name, const char *help, const metric_label_t *labels,
                            int nlabels, const double *buckets, int nbuckets);

/* Counters: add 1 / n.  labels: NULL for an unlabelled family. */
void metric_inc(metric_t *f, const char *const *labels);
void metric_add(metric_t *f, const char *const *labels, uint64_t n);
/* Gauges: set the value. */
void metric_set(metric_t *f, const char *const *labels, double value);
/* Histograms: one observation. */
void metric_observe(metric_t *f, const char *const *labels, double value);
/* Shows the series in the output even while it is 0. */
void metric_touch(metric_t *f, const char *const *labels);

/* What a backend module (lib/store/store.c, lib/store/limiter.c) reports about each
 * of its calls: seconds, a histogram labelled (backend, call), and
 * errors, a counter labelled the same way; either may be NULL.  The
 * label values are metrics_backends and metrics_backend_calls. */
typedef struct {
    metric_t *seconds;
    metric_t *errors;
} metrics_backend_t;

extern const char *const metrics_backends[];       /* postgres, redis */
extern const char *const metrics_backend_calls[];  /* lookup, suppressed, record, exec, reserve, ... */

/* One call of backend/call that started at started_us (clock_us()). */
void metrics_backend_call(const metrics_backend_t *mb, const char *backend, const char *call, long long started_us,
                          int failed);

/* The text exposition of every family, malloc'd (*len bytes, NUL
 * terminated); NULL out of memory. */
char *metrics_render(metrics_t *m, size_t *len);

/* before_render (may be NULL) runs before each scrape's rendering (to
 * refresh gauges); metrics_before_render runs it.  Set once, before the
 * listener starts. */
void metrics_set_before_render(metrics_t *m, void (*before_render)(void *), void *ctx);
void metrics_before_render(metrics_t *m);

#endif
