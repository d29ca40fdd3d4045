/*
 * recorder.c -- the result writer thread.  See recorder.h.
 */
#include "recorder.h"
#include "clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "runtime.h"

/* Consecutive failed writes before the queue is dropped (the pause doubles
 * from 400 ms up to RECORDER_PAUSE_MAX_MS: about a minute in all). */
#define RECORDER_TRIES 15
#define RECORDER_PAUSE_MAX_MS 5000L
/* Tries left for what is queued when the daemon stops. */
#define RECORDER_STOP_TRIES 3
/* A write slower than this is logged. */
#define RECORDER_SLOW_MS 1000LL

typedef struct {
    outbox_result_t *items;
    int count, cap;
} result_vec_t;

typedef struct {
    outbox_disable_t *items;
    int count, cap;
} disable_vec_t;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    int started, stopping;
    result_vec_t queued;        /* submitted, not yet taken by the thread */
    disable_vec_t queued_disable;
    int writing;                /* results the thread holds */
    void (*written)(void);      /* the backlog shrank */
} recorder = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* Makes room for need items of size bytes in *items (capacity *cap). */
static int
recorder_grow(void **items, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    void *grown = realloc(*items, (size_t)ncap * size);
    if (grown == NULL)
        return -1;
    *items = grown;
    *cap = ncap;
    return 0;
}

static void
recorder_add_disable(disable_vec_t *vec, const outbox_disable_t *e)
{
    for (int i = 0; i < vec->count; i++)
        if (strcmp(vec->items[i].endpoint_id, e->endpoint_id) == 0)
            return;
    if (recorder_grow((void **)&vec->items, &vec->cap, vec->count + 1, sizeof(*vec->items)) != 0) {
        log_error("webhooks: out of memory, endpoint=%s not disabled", e->endpoint_id);
        return;
    }
    vec->items[vec->count++] = *e;
}

void
recorder_submit(const outbox_result_t *results, int n, const outbox_disable_t *disable, int ndisable)
{
    if (n <= 0 && ndisable <= 0)
        return;
    pthread_mutex_lock(&recorder.lock);
    if (n > 0) {
        if (recorder_grow((void **)&recorder.queued.items, &recorder.queued.cap, recorder.queued.count + n,
                          sizeof(*results)) == 0) {
            memcpy(recorder.queued.items + recorder.queued.count, results, (size_t)n * sizeof(*results));
            recorder.queued.count += n;
        } else {
            log_error("webhooks: out of memory, %d results not recorded (retried when their leases run out)", n);
        }
    }
    for (int i = 0; i < ndisable; i++)
        recorder_add_disable(&recorder.queued_disable, &disable[i]);
    pthread_cond_signal(&recorder.cond);
    pthread_mutex_unlock(&recorder.lock);
}

int
recorder_backlog(void)
{
    pthread_mutex_lock(&recorder.lock);
    int n = recorder.queued.count + recorder.writing;
    pthread_mutex_unlock(&recorder.lock);
    return n;
}

/* Writes the results, then the disables (those found stale added).
 * 0, or -1 with err; on -1 nothing of what failed was written. */
static int
recorder_write(runtime_t *rt, result_vec_t *results, disable_vec_t *disable, char *err, size_t errlen)
{
    if (results->count > 0) {
        outbox_disable_t *stale = calloc((size_t)results->count, sizeof(*stale));
        long long start = clock_ms();
        int nstale = 0, rc;
        if (stale == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        rc = outbox_record(rt->store, results->items, results->count, rt->cfg->webhook_disable_after_ms, stale,
                           &nstale, err, errlen);
        if (clock_ms() - start >= RECORDER_SLOW_MS)
            log_info("webhooks: recording %d results took %lld ms", results->count, clock_ms() - start);
        if (rc != 0) {
            free(stale);
            return -1;
        }
        results->count = 0;
        for (int i = 0; i < nstale; i++) {
            snprintf(stale[i].reason, sizeof(stale[i].reason),
                     "failing for longer than webhook_disable_after (%ld s)", rt->cfg->webhook_disable_after_ms / 1000);
            recorder_add_disable(disable, &stale[i]);
        }
        free(stale);
    }
    if (disable->count > 0) {
        if (outbox_disable(rt->store, disable->items, disable->count, err, errlen) < 0)
            return -1;
        for (int i = 0; i < disable->count; i++)
            log_warn("endpoint=%s disabled reason=\"%s\"", disable->items[i].endpoint_id, disable->items[i].reason);
        disable->count = 0;
    }
    return 0;
}

/* Moves everything queued behind what the thread already holds. */
static void
recorder_take(result_vec_t *results, disable_vec_t *disable)
{
    if (recorder.queued.count > 0 && recorder_grow((void **)&results->items, &results->cap,
                                                   results->count + recorder.queued.count, sizeof(*results->items)) == 0) {
        memcpy(results->items + results->count, recorder.queued.items,
               (size_t)recorder.queued.count * sizeof(*results->items));
        results->count += recorder.queued.count;
        recorder.queued.count = 0;
    }
    for (int i = 0; i < recorder.queued_disable.count; i++)
        recorder_add_disable(disable, &recorder.queued_disable.items[i]);
    recorder.queued_disable.count = 0;
    recorder.writing = results->count;
}

static void *
recorder_main(void *arg)
{
    result_vec_t results = { 0 };
    disable_vec_t disable = { 0 };
    int failures = 0, stop_tries = 0;
    long long pause_until = 0;  /* after a failed write: no new try before */
    char err[512];
    (void)arg;

    pthread_mutex_lock(&recorder.lock);
    for (;;) {
        /* Submissions wake the thread; they do not cut a pause short. */
        long long left = pause_until - clock_ms();
        if (left > 0 && !recorder.stopping) {
            struct timespec until = clock_realtime_after(left);
            pthread_cond_timedwait(&recorder.cond, &recorder.lock, &until);
            continue;
        }
        while (!recorder.stopping && recorder.queued.count == 0 && recorder.queued_disable.count == 0 &&
               results.count == 0 && disable.count == 0)
            pthread_cond_wait(&recorder.cond, &recorder.lock);
        recorder_take(&results, &disable);
        if (results.count == 0 && disable.count == 0) {
            if (recorder.stopping)
                break;
            continue;
        }
        if (recorder.stopping && stop_tries++ >= RECORDER_STOP_TRIES) {
            log_error("webhooks: %d results not recorded at shutdown (retried when their leases run out)",
                      results.count);
            break;
        }
        pthread_mutex_unlock(&recorder.lock);

        runtime_t *rt = runtime_acquire();
        int rc = recorder_write(rt, &results, &disable, err, sizeof(err));
        runtime_release(rt);

        pthread_mutex_lock(&recorder.lock);
        recorder.writing = results.count;
        if (rc == 0) {
            if (failures > 0)
                log_info("webhooks: recording results works again");
            failures = 0;
            if (recorder.written)
                recorder.written();
            continue;
        }
        if (failures++ == 0)
            log_warn("webhooks: recording results failed (retrying): %s", err);
        if (failures >= RECORDER_TRIES) {
            log_error("webhooks: dropping %d results after %d failed writes (their deliveries are retried when"
                      " the leases run out): %s",
                      results.count, failures, err);
            results.count = disable.count = recorder.writing = 0;
            failures = 0;
            if (recorder.written)
                recorder.written();
            continue;
        }
        long pause_ms = 200L << (failures < 6 ? failures : 6);
        pause_until = clock_ms() + (pause_ms > RECORDER_PAUSE_MAX_MS ? RECORDER_PAUSE_MAX_MS : pause_ms);
    }
    recorder.writing = 0;
    pthread_mutex_unlock(&recorder.lock);
    free(results.items);
    free(disable.items);
    return NULL;
}

int
recorder_start(void (*written)(void), char *err, size_t errlen)
{
    recorder.stopping = 0;
    recorder.written = written;
    if (pthread_create(&recorder.thread, NULL, recorder_main, NULL) != 0) {
        snprintf(err, errlen, "webhook recorder: cannot start its thread");
        return -1;
    }
    recorder.started = 1;
    return 0;
}

void
recorder_stop(void)
{
    if (!recorder.started)
        return;
    pthread_mutex_lock(&recorder.lock);
    recorder.stopping = 1;
    pthread_cond_signal(&recorder.cond);
    pthread_mutex_unlock(&recorder.lock);
    pthread_join(recorder.thread, NULL);
    recorder.started = 0;
    free(recorder.queued.items);
    free(recorder.queued_disable.items);
    memset(&recorder.queued, 0, sizeof(recorder.queued));
    memset(&recorder.queued_disable, 0, sizeof(recorder.queued_disable));
}
