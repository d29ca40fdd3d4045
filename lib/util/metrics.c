/*
 * metrics.c -- the registry and the text exposition.  See metrics.h.
 *
 * A family holds one slot per combination of its label values (the
 * product of the list lengths: a few hundred at most), so an update is
 * an index computation and an atomic add, never an allocation or a lock.
 * Histogram buckets are kept per bucket (not cumulative) and summed when
 * rendered; +Inf and _count are rendered from the same sum, so they
 * always agree even while other threads observe.  Gauges and histogram
 * sums are doubles kept as their bits in a 64-bit atomic (compare and
 * swap to add).
 */
#include "metrics.h"
#include "strbuf.h"
#include "clock.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_type_t;

typedef struct {
    const char *name;
    const char *const *values;
    size_t nvalues;
    int other;                      /* index of "other", -1 if none */
} label_def_t;

struct metric {
    metric_type_t type;
    const char *name, *help;
    label_def_t labels[METRICS_MAX_LABELS];
    int nlabels;
    size_t nseries;
    double bounds[METRICS_MAX_BUCKETS];
    int nbounds;
    atomic_bool *touched;            /* [nseries] */
    _Atomic uint64_t *values;        /* counter value, gauge bits, histogram sum bits: [nseries] */
    _Atomic uint64_t *buckets;       /* histograms: [nseries][nbounds + 1], the last for +Inf */
    struct metric *next;
};

struct metrics {
    metric_t *first, *last;
    void (*before_render)(void *);
    void *before_render_ctx;
};

metrics_t *
metrics_new(void)
{
    return calloc(1, sizeof(metrics_t));
}

void
metrics_free(metrics_t *m)
{
    if (m == NULL)
        return;
    for (metric_t *f = m->first, *next; f; f = next) {
        next = f->next;
        free(f->touched);
        free((void *)f->values);
        free((void *)f->buckets);
        free(f);
    }
    free(m);
}

static int
metrics_valid_name(const char *s, int label)
{
    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
        return 0;
    if (label && strncmp(s, "__", 2) == 0)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              (c == ':' && !label)))
            return 0;
    }
    return 1;
}

static uint64_t
metrics_bits(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits;
}

static double
metrics_double(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static metric_t *
metrics_declare(metrics_t *m, metric_type_t type, const char *name, const char *help, const metric_label_t *labels,
                int nlabels, const double *bounds, int nbounds)
{
    metric_t *f;

    if (m == NULL || !metrics_valid_name(name, 0) || help == NULL || nlabels < 0 || nlabels > METRICS_MAX_LABELS ||
        (nlabels > 0 && labels == NULL) || nbounds < 0 || nbounds > METRICS_MAX_BUCKETS)
        return NULL;
    for (int i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    if ((f = calloc(1, sizeof(*f))) == NULL)
        return NULL;
    f->type = type;
    f->name = name;
    f->help = help;
    f->nlabels = nlabels;
    f->nseries = 1;
    for (int i = 0; i < nlabels; i++) {
        label_def_t *l = &f->labels[i];
        l->name = labels[i].name;
        l->values = labels[i].values;
        l->other = -1;
        if (!metrics_valid_name(l->name, 1) || l->values == NULL || (type == METRIC_HISTOGRAM && !strcmp(l->name, "le")))
            goto fail;
        while (l->values[l->nvalues]) {
            if (strcmp(l->values[l->nvalues], "other") == 0)
                l->other = (int)l->nvalues;
            l->nvalues++;
        }
        if (l->nvalues == 0)
            goto fail;
        f->nseries *= l->nvalues;
    }
    f->nbounds = nbounds;
    if (nbounds > 0)
        memcpy(f->bounds, bounds, (size_t)nbounds * sizeof(*bounds));
    f->touched = calloc(f->nseries, sizeof(*f->touched));
    f->values = calloc(f->nseries, sizeof(*f->values));
    if (type == METRIC_HISTOGRAM)
        f->buckets = calloc(f->nseries * (size_t)(nbounds + 1), sizeof(*f->buckets));
    if (f->touched == NULL || f->values == NULL || (type == METRIC_HISTOGRAM && f->buckets == NULL))
        goto fail;
    for (size_t i = 0; i < f->nseries; i++) {
        atomic_init(&f->touched[i], nlabels == 0);
        atomic_init(&f->values[i], type == METRIC_COUNTER ? 0 : metrics_bits(0.0));
    }
    if (m->last)
        m->last->next = f;
    else
        m->first = f;
    m->last = f;
    return f;
fail:
    free(f->touched);
    free((void *)f->values);
    free((void *)f->buckets);
    free(f);
    return NULL;
}

metric_t *
metrics_counter(metrics_t *m, const char *name, const char *help, const metric_label_t *labels, int nlabels)
{
    return metrics_declare(m, METRIC_COUNTER, name, help, labels, nlabels, NULL, 0);
}

metric_t *
metrics_gauge(metrics_t *m, const char *name, const char *help, const metric_label_t *labels, int nlabels)
{
    return metrics_declare(m, METRIC_GAUGE, name, help, labels, nlabels, NULL, 0);
}

metric_t *
metrics_histogram(metrics_t *m, const char *name, const char *help, const metric_label_t *labels, int nlabels,
                  const double *buckets, int nbuckets)
{
    if (buckets == NULL || nbuckets < 1)
        return NULL;
    return metrics_declare(m, METRIC_HISTOGRAM, name, help, labels, nlabels, buckets, nbuckets);
}

/* The slot of a label combination, or -1 when a value is neither listed
 * nor mappable to "other". */
static long
metrics_series(const metric_t *f, const char *const *labels)
{
    size_t index = 0;
    for (int i = 0; i < f->nlabels; i++) {
        const label_def_t *l = &f->labels[i];
        const char *value = labels ? labels[i] : NULL;
        long pos = l->other;
        for (size_t k = 0; value && k < l->nvalues; k++) {
            if (strcmp(l->values[k], value) == 0) {
                pos = (long)k;
                break;
            }
        }
        if (pos < 0)
            return -1;
        index = index * l->nvalues + (size_t)pos;
    }
    return (long)index;
}

static void
metrics_mark(metric_t *f, long series)
{
    if (!atomic_load_explicit(&f->touched[series], memory_order_relaxed))
        atomic_store_explicit(&f->touched[series], 1, memory_order_relaxed);
}

void
metric_touch(metric_t *f, const char *const *labels)
{
    long s;
    if (f == NULL || (s = metrics_series(f, labels)) < 0)
        return;
    metrics_mark(f, s);
}

void
metric_add(metric_t *f, const char *const *labels, uint64_t n)
{
    long s;
    if (f == NULL || f->type != METRIC_COUNTER || (s = metrics_series(f, labels)) < 0)
        return;
    atomic_fetch_add_explicit(&f->values[s], n, memory_order_relaxed);
    metrics_mark(f, s);
}

void
metric_inc(metric_t *f, const char *const *labels)
{
    metric_add(f, labels, 1);
}

void
metric_set(metric_t *f, const char *const *labels, double value)
{
    long s;
    if (f == NULL || f->type != METRIC_GAUGE || (s = metrics_series(f, labels)) < 0)
        return;
    atomic_store_explicit(&f->values[s], metrics_bits(value), memory_order_relaxed);
    metrics_mark(f, s);
}

void
metric_observe(metric_t *f, const char *const *labels, double value)
{
    long s;
    int b = 0;
    if (f == NULL || f->type != METRIC_HISTOGRAM || isnan(value) || (s = metrics_series(f, labels)) < 0)
        return;
    while (b < f->nbounds && value > f->bounds[b])
        b++;
    atomic_fetch_add_explicit(&f->buckets[(size_t)s * (size_t)(f->nbounds + 1) + (size_t)b], 1,
                              memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&f->values[s], memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&f->values[s], &old, metrics_bits(metrics_double(old) + value),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    metrics_mark(f, s);
}

const char *const metrics_backends[] = { "postgres", "redis", NULL };
const char *const metrics_backend_calls[] = {
    "lookup", "suppressed", "record", "exec", "dkim_key",        /* lib/store/store.c */
    "reserve", "settle", "refund", "usage", "check", "reserve_n", /* lib/store/limiter.c */
    "other", NULL
};

void
metrics_backend_call(const metrics_backend_t *mb, const char *backend, const char *call, long long started_us,
                     int failed)
{
    if (mb == NULL)
        return;
    metric_observe(mb->seconds, METRIC_LABELS(backend, call), (double)(clock_us() - started_us) / 1e6);
    if (failed)
        metric_inc(mb->errors, METRIC_LABELS(backend, call));
}

/* ---- rendering ---------------------------------------------------------------------------- */

static void __attribute__((format(printf, 2, 3)))
metrics_printf(strbuf_t *b, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n >= 0)
        strbuf_add(b, small, (size_t)n < sizeof(small) ? (size_t)n : sizeof(small) - 1);
}

/* HELP text: backslash and newline escaped; label values: also '"'. */
static void
metrics_escaped(strbuf_t *b, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            strbuf_puts(b, "\\\\");
        else if (*s == '\n')
            strbuf_puts(b, "\\n");
        else if (*s == '"' && quote)
            strbuf_puts(b, "\\\"");
        else
            strbuf_add(b, s, 1);
    }
}

/* The shortest text that reads back as the same double; Prometheus'
 * spellings of the infinities and NaN. */
static void
metrics_number(strbuf_t *b, double v)
{
    char text[40];
    if (isnan(v)) {
        strbuf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        strbuf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(text, sizeof(text), "%.0f", v); /* 400000, not 4e+05 */
        strbuf_puts(b, text);
        return;
    }
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(text, sizeof(text), "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break;
    }
    strbuf_puts(b, text);
}

/* {a="x",b="y"[,le="..."]} of series index (nothing without labels). */
static void
metrics_labels(strbuf_t *b, const metric_t *f, size_t series, const char *le)
{
    size_t pos[METRICS_MAX_LABELS];
    if (f->nlabels == 0 && le == NULL)
        return;
    for (int i = f->nlabels - 1; i >= 0; i--) {
        pos[i] = series % f->labels[i].nvalues;
        series /= f->labels[i].nvalues;
    }
    strbuf_puts(b, "{");
    for (int i = 0; i < f->nlabels; i++) {
        metrics_printf(b, "%s%s=\"", i ? "," : "", f->labels[i].name);
        metrics_escaped(b, f->labels[i].values[pos[i]], 1);
        strbuf_puts(b, "\"");
    }
    if (le)
        metrics_printf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    strbuf_puts(b, "}");
}

static void
metrics_render_histogram(strbuf_t *b, const metric_t *f, size_t s)
{
    const _Atomic uint64_t *counts = f->buckets + s * (size_t)(f->nbounds + 1);
    uint64_t cumulative = 0;
    for (int i = 0; i <= f->nbounds; i++) {
        char le[40] = "+Inf";
        strbuf_t num = { 0 };
        cumulative += atomic_load_explicit(&counts[i], memory_order_relaxed);
        if (i < f->nbounds) {
            metrics_number(&num, f->bounds[i]);
            snprintf(le, sizeof(le), "%s", num.data ? num.data : "NaN");
            free(num.data);
        }
        metrics_printf(b, "%s_bucket", f->name);
        metrics_labels(b, f, s, le);
        metrics_printf(b, " %llu\n", (unsigned long long)cumulative);
    }
    metrics_printf(b, "%s_sum", f->name);
    metrics_labels(b, f, s, NULL);
    strbuf_puts(b, " ");
    metrics_number(b, metrics_double(atomic_load_explicit(&f->values[s], memory_order_relaxed)));
    metrics_printf(b, "\n%s_count", f->name);
    metrics_labels(b, f, s, NULL);
    metrics_printf(b, " %llu\n", (unsigned long long)cumulative);
}

char *
metrics_render(metrics_t *m, size_t *len)
{
    static const char *const type_names[] = { "counter", "gauge", "histogram" };
    strbuf_t b = { 0 };

    strbuf_add(&b, "", 0);
    for (const metric_t *f = m ? m->first : NULL; f; f = f->next) {
        metrics_printf(&b, "# HELP %s ", f->name);
        metrics_escaped(&b, f->help, 0);
        metrics_printf(&b, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
        for (size_t s = 0; s < f->nseries; s++) {
            if (!atomic_load_explicit(&f->touched[s], memory_order_relaxed))
                continue;
            if (f->type == METRIC_HISTOGRAM) {
                metrics_render_histogram(&b, f, s);
                continue;
            }
            uint64_t v = atomic_load_explicit(&f->values[s], memory_order_relaxed);
            strbuf_puts(&b, f->name);
            metrics_labels(&b, f, s, NULL);
            strbuf_puts(&b, " ");
            if (f->type == METRIC_COUNTER)
                metrics_printf(&b, "%llu", (unsigned long long)v);
            else
                metrics_number(&b, metrics_double(v));
            strbuf_puts(&b, "\n");
        }
    }
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.data;
}

/* ---- rendering hooks ------------------------------------------------------------------------ */

void
metrics_set_before_render(metrics_t *m, void (*before_render)(void *), void *ctx)
{
    m->before_render = before_render;
    m->before_render_ctx = ctx;
}

void
metrics_before_render(metrics_t *m)
{
    if (m->before_render)
        m->before_render(m->before_render_ctx);
}
