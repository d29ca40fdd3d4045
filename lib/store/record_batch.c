/*
 * record_batch.c -- group commit of message records.  See record_batch.h.
 *
 * Each caller queues an entry that lives on its own stack and waits on
 * the entry's own condition variable (so a finished batch wakes exactly
 * its callers, not every waiting thread).  An entry is QUEUED, then LEAD
 * (its thread writes batches from the head of the queue until its own
 * entry is done, then hands the lead to the next queued entry) or DONE.
 * All state changes happen under the batch's lock, and a leader never
 * touches an entry after marking it DONE.  A leader that gathers waits on
 * the batch's own condition variable (monotonic clock), which an arrival
 * signals only when it fills the batch.
 */
#include "record_batch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* Bounds of one batch: documents of inbound mail carry the parsed
 * bodies (up to parse_max_size each), so the bytes are capped too; a
 * single larger document still goes, alone. */
#define RECORD_BATCH_MAX_DOCS 64
#define RECORD_BATCH_MAX_BYTES (4u << 20)

enum { ENTRY_QUEUED, ENTRY_LEAD, ENTRY_DONE };

typedef struct entry {
    const char *doc;
    size_t len;
    long long queued_us;
    long long deadline_us;
    int close;              /* came within gather_us of the one before */
    int state;
    int rc;
    char err[256];
    pthread_cond_t wake;
    struct entry *next;
} entry_t;

struct record_batch {
    store_t *store;
    int timeout_ms;
    int gather_us;
    pthread_mutex_t lock;
    pthread_cond_t gather;  /* the gathering leader waits here */
    entry_t *head, *tail;   /* queued entries, oldest first */
    size_t queued, queued_bytes;
    int leading;            /* an entry is LEAD */
    int gathering;          /* ...and it waits on gather */
    size_t last_batch;      /* documents of the last call */
    long long last_arrival_us;
};

/* Process-wide, set once at start-up (record_batch_set_size_metric). */
static metric_t *record_batch_size_metric;

void
record_batch_set_size_metric(metric_t *size)
{
    record_batch_size_metric = size;
}

record_batch_t *
record_batch_new(store_t *store, int timeout_ms, int gather_us)
{
    record_batch_t *rb = calloc(1, sizeof(*rb));
    pthread_condattr_t attr;
    if (rb == NULL)
        return NULL;
    rb->store = store;
    rb->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
    rb->gather_us = gather_us > 0 ? gather_us : 0;
    pthread_mutex_init(&rb->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&rb->gather, &attr);
    pthread_condattr_destroy(&attr);
    return rb;
}

void
record_batch_free(record_batch_t *rb)
{
    if (rb == NULL)
        return;
    pthread_cond_destroy(&rb->gather);
    pthread_mutex_destroy(&rb->lock);
    free(rb);
}

/* Milliseconds left before e's deadline, or 0 when it has passed. */
static int
entry_time_left(const entry_t *e, long long now_us)
{
    long long left = (e->deadline_us - now_us) / 1000;
    return left > 0 ? (int)left : 0;
}

static void
entry_fail(entry_t *e, const char *why)
{
    e->rc = -1;
    snprintf(e->err, sizeof(e->err), "%s", why);
}

static const char entry_expired[] =
    "record not written: backend_timeout_ms passed while earlier records were written";

/* Writes one entry alone, within its own time left. */
static void
batch_write_one(record_batch_t *rb, entry_t *e)
{
    int left = entry_time_left(e, clock_us());
    if (left == 0) {
        entry_fail(e, entry_expired);
        return;
    }
    e->rc = store_record_message(rb->store, e->doc, left, e->err, sizeof(e->err)) == 0 ? 0 : -1;
}

/* Writes the n entries of batch (linked through next), setting each one's
 * rc and err.  Runs without the lock. */
static void
batch_write(record_batch_t *rb, entry_t *batch, size_t n)
{
    long long now = clock_us();
    entry_t *live[RECORD_BATCH_MAX_DOCS];
    size_t nlive = 0, bytes = 2;
    int left = 0;
    char *docs, *p;

    for (entry_t *e = batch; n > 0; e = e->next, n--) {
        int l = entry_time_left(e, now);
        if (l == 0) {
            entry_fail(e, entry_expired);
            continue;
        }
        if (nlive == 0 || l < left)
            left = l;
        live[nlive++] = e;
        bytes += e->len + 1;
    }
    if (nlive == 0)
        return;
    docs = malloc(bytes);
    if (docs == NULL) {
        for (size_t i = 0; i < nlive; i++)
            batch_write_one(rb, live[i]);
        return;
    }
    p = docs;
    *p++ = '[';
    for (size_t i = 0; i < nlive; i++) {
        if (i > 0)
            *p++ = ',';
        memcpy(p, live[i]->doc, live[i]->len);
        p += live[i]->len;
    }
    *p++ = ']';
    *p = '\0';

    char err[256];
    int others[RECORD_BATCH_MAX_DOCS];
    size_t nothers = 0;
    int rc = store_record_fast(rb->store, docs, left, others, RECORD_BATCH_MAX_DOCS, &nothers, err, sizeof(err));
    free(docs);
    if (rc == STORE_UNAVAILABLE) {
        for (size_t i = 0; i < nlive; i++)
            entry_fail(live[i], err);
        return;
    }
    if (rc == STORE_REFUSED) {
        /* Nothing written: each on its own, to find the one it refuses. */
        for (size_t i = 0; i < nlive; i++)
            batch_write_one(rb, live[i]);
        return;
    }
    /* Written, but for the documents that join a thread or carry a
     * report: those go through record_message(), in order. */
    for (size_t i = 0; i < nlive; i++)
        live[i]->rc = 0;
    for (size_t k = 0; k < nothers; k++)
        if (others[k] >= 1 && (size_t)others[k] <= nlive)
            batch_write_one(rb, live[others[k] - 1]);
}

/* Takes the next batch off the queue (caller holds the lock). */
static entry_t *
record_batch_take(record_batch_t *rb, size_t *n)
{
    entry_t *batch = rb->head, *e = rb->head;
    size_t bytes = 0;

    *n = 0;
    while (e != NULL && *n < RECORD_BATCH_MAX_DOCS && (*n == 0 || bytes + e->len <= RECORD_BATCH_MAX_BYTES)) {
        bytes += e->len;
        (*n)++;
        rb->head = e->next;
        e = e->next;
    }
    if (rb->head == NULL)
        rb->tail = NULL;
    rb->queued -= *n;
    rb->queued_bytes -= bytes;
    return batch;
}

/* A batch is as big as it may get. */
static int
record_batch_full(const record_batch_t *rb)
{
    return rb->queued >= RECORD_BATCH_MAX_DOCS || rb->queued_bytes >= RECORD_BATCH_MAX_BYTES;
}

/* The leader, before it takes a batch (holding the lock): under load,
 * waits until the oldest queued document has waited gather_us, the batch
 * is full, or half of that document's time left has gone. */
static void
record_batch_gather(record_batch_t *rb)
{
    long long now, until, cap;
    struct timespec ts;

    if (rb->gather_us == 0 || rb->head == NULL)
        return;
    if (rb->last_batch <= 1 && rb->queued <= 1 && !rb->tail->close)
        return;   /* idle: the last call carried one document, this one came alone */
    now = clock_us();
    until = rb->head->queued_us + rb->gather_us;
    cap = now + (rb->head->deadline_us - now) / 2;
    if (until > cap)
        until = cap;
    ts.tv_sec = (time_t)(until / 1000000);
    ts.tv_nsec = (long)(until % 1000000) * 1000;
    rb->gathering = 1;
    while (!record_batch_full(rb) && clock_us() < until)
        if (pthread_cond_timedwait(&rb->gather, &rb->lock, &ts) != 0)
            break;
    rb->gathering = 0;
}

int
record_batch_write(record_batch_t *rb, const char *doc, char *err, size_t errlen)
{
    entry_t me = { .doc = doc, .len = strlen(doc), .state = ENTRY_QUEUED };

    me.queued_us = clock_us();
    me.deadline_us = me.queued_us + (long long)rb->timeout_ms * 1000;
    pthread_cond_init(&me.wake, NULL);
    pthread_mutex_lock(&rb->lock);
    me.close = rb->gather_us > 0 && rb->last_arrival_us > 0 && me.queued_us - rb->last_arrival_us < rb->gather_us;
    rb->last_arrival_us = me.queued_us;
    if (rb->tail)
        rb->tail->next = &me;
    else
        rb->head = &me;
    rb->tail = &me;
    rb->queued++;
    rb->queued_bytes += me.len;
    if (rb->gathering && record_batch_full(rb))
        pthread_cond_signal(&rb->gather);
    if (!rb->leading) {
        rb->leading = 1;
        me.state = ENTRY_LEAD;
    }
    while (me.state == ENTRY_QUEUED)
        pthread_cond_wait(&me.wake, &rb->lock);

    while (me.state == ENTRY_LEAD) {
        size_t n;
        entry_t *batch, *e;

        record_batch_gather(rb);
        batch = e = record_batch_take(rb, &n);
        rb->last_batch = n;
        pthread_mutex_unlock(&rb->lock);
        metric_observe(record_batch_size_metric, NULL, (double)n);
        batch_write(rb, batch, n);
        pthread_mutex_lock(&rb->lock);
        for (size_t i = 0; i < n; i++) {
            entry_t *next = e->next;
            e->state = ENTRY_DONE;
            if (e != &me)
                pthread_cond_signal(&e->wake);
            e = next;
        }
        if (me.state == ENTRY_DONE) {
            if (rb->head) {
                rb->head->state = ENTRY_LEAD;
                pthread_cond_signal(&rb->head->wake);
            } else {
                rb->leading = 0;
            }
        }
    }
    pthread_mutex_unlock(&rb->lock);
    pthread_cond_destroy(&me.wake);
    if (me.rc != 0)
        snprintf(err, errlen, "%s", me.err);
    return me.rc;
}
