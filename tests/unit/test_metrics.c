/*
 * test_metrics.c -- lib/util/metrics: the exact exposition text of small
 * registries (one table row each), bad declarations, exact sums under
 * concurrent updates, and the /metrics listener over a socket.
 */
#define _GNU_SOURCE /* strcasestr, memmem */
#include "unit.h"

#include <pthread.h>
#include <string.h>

#include "http_client.h"
#include "metrics.h"
#include "metrics_http.h"

static const char *const actions[] = { "continue", "reject", "tempfail", NULL };
static const char *const reasons[] = { "burst", "daily", "other", NULL };
static const char *const backends[] = { "postgres", "redis", NULL };
static const char *const odd_values[] = { "a\"b", "back\\slash", "new\nline", NULL };

typedef struct {
    const char *name;
    void (*fill)(metrics_t *m);
    const char *expected;
} render_row_t;

static void
fill_plain_counter(metrics_t *m)
{
    metric_t *c = metrics_counter(m, "t_requests_total", "Requests served.", NULL, 0);
    metric_inc(c, NULL);
    metric_add(c, NULL, 41);
}

static void
fill_untouched(metrics_t *m)
{
    metrics_counter(m, "t_plain_total", "Shown at 0.", NULL, 0);
    metric_label_t l[] = { { "action", actions } };
    metrics_counter(m, "t_labelled_total", "No series yet.", l, 1);
}

static void
fill_labelled_counter(metrics_t *m)
{
    metric_label_t l[] = { { "action", actions }, { "reason", reasons } };
    metric_t *c = metrics_counter(m, "t_decisions_total", "Decisions.", l, 2);
    metric_inc(c, METRIC_LABELS("tempfail", "burst"));
    metric_inc(c, METRIC_LABELS("tempfail", "burst"));
    metric_inc(c, METRIC_LABELS("reject", "no-such-reason"));   /* -> other */
    metric_inc(c, METRIC_LABELS("no-such-action", "daily"));    /* no "other" action: dropped */
    metric_touch(c, METRIC_LABELS("continue", "daily"));        /* shown at 0 */
}

static void
fill_escaping(metrics_t *m)
{
    metric_label_t l[] = { { "v", odd_values } };
    metric_t *c = metrics_counter(m, "t_escaped_total", "Help with a \\ backslash\nand a \"newline\".", l, 1);
    for (int i = 0; odd_values[i]; i++)
        metric_inc(c, METRIC_LABELS(odd_values[i]));
}

static void
fill_gauges(metrics_t *m)
{
    metric_label_t l[] = { { "backend", backends } };
    metric_t *g = metrics_gauge(m, "t_value", "Numbers.", l, 1);
    metric_t *plain = metrics_gauge(m, "t_start_time_seconds", "Big.", NULL, 0);
    metric_set(g, METRIC_LABELS("postgres"), 0.1);
    metric_set(g, METRIC_LABELS("redis"), -1.0 / 0.0);
    metric_set(plain, NULL, 1700000000.25);
}

static void
fill_histogram(metrics_t *m)
{
    static const double bounds[] = { 0.1, 0.5, 1 };
    metric_t *h = metrics_histogram(m, "t_seconds", "Latency.", NULL, 0, bounds, 3);
    metric_observe(h, NULL, 0.25);
    metric_observe(h, NULL, 0.5);   /* le is inclusive */
    metric_observe(h, NULL, 20);
}

static void
fill_labelled_histogram(metrics_t *m)
{
    static const double bounds[] = { 0.001, 1 };
    metric_label_t l[] = { { "backend", backends } };
    metric_t *h = metrics_histogram(m, "t_call_seconds", "Calls.", l, 1, bounds, 2);
    metric_observe(h, METRIC_LABELS("redis"), 0.0005);
    metric_touch(h, METRIC_LABELS("postgres"));
}

static const render_row_t render_rows[] = {
    { "counter without labels", fill_plain_counter,
      "# HELP t_requests_total Requests served.\n"
      "# TYPE t_requests_total counter\n"
      "t_requests_total 42\n" },
    { "unlabelled series shown at 0, labelled ones only once used", fill_untouched,
      "# HELP t_plain_total Shown at 0.\n"
      "# TYPE t_plain_total counter\n"
      "t_plain_total 0\n"
      "# HELP t_labelled_total No series yet.\n"
      "# TYPE t_labelled_total counter\n" },
    { "labelled counter: listed values, other, dropped, touched", fill_labelled_counter,
      "# HELP t_decisions_total Decisions.\n"
      "# TYPE t_decisions_total counter\n"
      "t_decisions_total{action=\"continue\",reason=\"daily\"} 0\n"
      "t_decisions_total{action=\"reject\",reason=\"other\"} 1\n"
      "t_decisions_total{action=\"tempfail\",reason=\"burst\"} 2\n" },
    { "escaping of help text and label values", fill_escaping,
      "# HELP t_escaped_total Help with a \\\\ backslash\\nand a \"newline\".\n"
      "# TYPE t_escaped_total counter\n"
      "t_escaped_total{v=\"a\\\"b\"} 1\n"
      "t_escaped_total{v=\"back\\\\slash\"} 1\n"
      "t_escaped_total{v=\"new\\nline\"} 1\n" },
    { "gauges: shortest exact numbers, infinities", fill_gauges,
      "# HELP t_value Numbers.\n"
      "# TYPE t_value gauge\n"
      "t_value{backend=\"postgres\"} 0.1\n"
      "t_value{backend=\"redis\"} -Inf\n"
      "# HELP t_start_time_seconds Big.\n"
      "# TYPE t_start_time_seconds gauge\n"
      "t_start_time_seconds 1700000000.25\n" },
    { "histogram: cumulative buckets, +Inf, sum, count", fill_histogram,
      "# HELP t_seconds Latency.\n"
      "# TYPE t_seconds histogram\n"
      "t_seconds_bucket{le=\"0.1\"} 0\n"
      "t_seconds_bucket{le=\"0.5\"} 2\n"
      "t_seconds_bucket{le=\"1\"} 2\n"
      "t_seconds_bucket{le=\"+Inf\"} 3\n"
      "t_seconds_sum 20.75\n"
      "t_seconds_count 3\n" },
    { "labelled histogram: le after the labels", fill_labelled_histogram,
      "# HELP t_call_seconds Calls.\n"
      "# TYPE t_call_seconds histogram\n"
      "t_call_seconds_bucket{backend=\"postgres\",le=\"0.001\"} 0\n"
      "t_call_seconds_bucket{backend=\"postgres\",le=\"1\"} 0\n"
      "t_call_seconds_bucket{backend=\"postgres\",le=\"+Inf\"} 0\n"
      "t_call_seconds_sum{backend=\"postgres\"} 0\n"
      "t_call_seconds_count{backend=\"postgres\"} 0\n"
      "t_call_seconds_bucket{backend=\"redis\",le=\"0.001\"} 1\n"
      "t_call_seconds_bucket{backend=\"redis\",le=\"1\"} 1\n"
      "t_call_seconds_bucket{backend=\"redis\",le=\"+Inf\"} 1\n"
      "t_call_seconds_sum{backend=\"redis\"} 0.0005\n"
      "t_call_seconds_count{backend=\"redis\"} 1\n" },
};

static void
test_render(void **state)
{
    const render_row_t *row = *state;
    metrics_t *m = metrics_new();
    size_t len;
    row->fill(m);
    char *text = metrics_render(m, &len);
    assert_non_null(text);
    assert_string_equal(text, row->expected);
    assert_int_equal(len, strlen(row->expected));
    free(text);
    metrics_free(m);
}

typedef struct {
    const char *name;
    const char *metric;
    int nlabels;
    const char *label;
    int histogram;
    double b0, b1;
} bad_row_t;

static const bad_row_t bad_rows[] = {
    { "metric name starting with a digit", "9lives", 0, NULL, 0, 0, 0 },
    { "metric name with a dash", "a-b", 0, NULL, 0, 0, 0 },
    { "empty metric name", "", 0, NULL, 0, 0, 0 },
    { "label name with a colon", "ok_total", 1, "a:b", 0, 0, 0 },
    { "reserved label name", "ok_total", 1, "__name", 0, 0, 0 },
    { "le as a histogram label", "ok_seconds", 1, "le", 1, 1, 2 },
    { "buckets not increasing", "ok_seconds", 0, NULL, 1, 2, 1 },
    { "too many labels", "ok_total", METRICS_MAX_LABELS + 1, "x", 0, 0, 0 },
};

static void
test_bad_declaration(void **state)
{
    const bad_row_t *row = *state;
    metric_label_t l[METRICS_MAX_LABELS + 1];
    double bounds[2] = { row->b0, row->b1 };
    metrics_t *m = metrics_new();
    for (int i = 0; i < METRICS_MAX_LABELS + 1; i++)
        l[i] = (metric_label_t){ row->label, actions };
    metric_t *f = row->histogram ? metrics_histogram(m, row->metric, "x", l, row->nlabels, bounds, 2)
                                 : metrics_counter(m, row->metric, "x", l, row->nlabels);
    assert_null(f);
    /* Updates of a family that was refused are no-ops, not crashes. */
    metric_inc(f, METRIC_LABELS("continue"));
    metric_observe(f, NULL, 1);
    char *text = metrics_render(m, NULL);
    assert_string_equal(text, "");
    free(text);
    metrics_free(m);
}

/* ---- concurrency -------------------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 200000

typedef struct {
    metric_t *counter, *histogram;
} shared_t;

static void *
hammer(void *arg)
{
    shared_t *s = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        metric_inc(s->counter, METRIC_LABELS(i % 2 ? "reject" : "tempfail", "burst"));
        metric_observe(s->histogram, METRIC_LABELS("redis"), 0.5);
    }
    return NULL;
}

static void
test_concurrent_sums(void **state)
{
    (void)state;
    static const double bounds[] = { 0.1, 1 };
    metrics_t *m = metrics_new();
    metric_label_t cl[] = { { "action", actions }, { "reason", reasons } };
    metric_label_t hl[] = { { "backend", backends } };
    shared_t s = { metrics_counter(m, "c_total", "c", cl, 2), metrics_histogram(m, "h_seconds", "h", hl, 1, bounds, 2) };
    pthread_t t[THREADS];
    char want[128], *text;

    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &s), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    text = metrics_render(m, NULL);
    snprintf(want, sizeof(want), "c_total{action=\"reject\",reason=\"burst\"} %d\n", THREADS * PER_THREAD / 2);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof(want), "c_total{action=\"tempfail\",reason=\"burst\"} %d\n", THREADS * PER_THREAD / 2);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof(want), "h_seconds_count{backend=\"redis\"} %d\n", THREADS * PER_THREAD);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof(want), "h_seconds_bucket{backend=\"redis\",le=\"1\"} %d\n", THREADS * PER_THREAD);
    assert_non_null(strstr(text, want));
    /* 0.5 is exact in binary, so the sum is too (CAS loop, no lost add). */
    snprintf(want, sizeof(want), "h_seconds_sum{backend=\"redis\"} %d\n", THREADS * PER_THREAD / 2);
    assert_non_null(strstr(text, want));
    free(text);
    metrics_free(m);
}

/* ---- the listener -------------------------------------------------------------------- */

static int refreshed;

static void
refresh(void *ctx)
{
    metric_set(ctx, NULL, ++refreshed);
}

static void
test_listener(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    metric_t *g = metrics_gauge(m, "t_refreshes", "Refreshed before each scrape.", NULL, 0);
    httpd_t *h = NULL;
    char listen[64], err[256];
    int port = 0;
    http_response_t r;

    for (int tries = 0; h == NULL && tries < 20; tries++) {
        port = http_free_port();
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        h = metrics_http_listen(m, listen, NULL, refresh, g, err, sizeof(err));
    }
    assert_non_null(h);

    static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(http_exchange(port, get, sizeof(get) - 1, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"));
    assert_string_equal(r.body, "# HELP t_refreshes Refreshed before each scrape.\n"
                                "# TYPE t_refreshes gauge\n"
                                "t_refreshes 1\n");
    free(r.body);

    static const char other[] = "GET /metricsx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(http_exchange(port, other, sizeof(other) - 1, &r), 0);
    assert_int_equal(r.status, 404);
    free(r.body);

    static const char post[] = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_int_equal(http_exchange(port, post, sizeof(post) - 1, &r), 0);
    assert_int_equal(r.status, 405);
    free(r.body);

    httpd_stop(h);
    metrics_free(m);
}

int
main(void)
{
    unit_suite_t suite = { 0 };
    unit_add_rows(&suite, test_render, render_rows, sizeof(render_rows[0]), UNIT_ROWS(render_rows));
    unit_add_rows(&suite, test_bad_declaration, bad_rows, sizeof(bad_rows[0]), UNIT_ROWS(bad_rows));
    unit_add(&suite, "4 threads: counters and histograms sum exactly", test_concurrent_sums, NULL);
    unit_add(&suite, "listener: /metrics 200 text 0.0.4, other paths 404, POST 405", test_listener, NULL);
    return unit_run("metrics", &suite, NULL, NULL);
}
