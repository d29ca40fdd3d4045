/*
 * test_record_batch.c -- the group commit of lib/store/record_batch.c, against a
 * stand-in for the two store calls it makes (defined here, so the
 * archive's store.o is not linked).  What PostgreSQL does with the
 * documents is tested against a real server in t_record_batch.sh; this
 * checks the batching: who writes what, in which call, and which verdict
 * every caller gets; and the gather window: who waits for whom, how long.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "record_batch.h"
#include "unit.h"

/* ---- the stand-in store: a log of calls and scripted answers ------------ */

#define MAX_CALLS 64

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cond = PTHREAD_COND_INITIALIZER;
static char fake_calls[MAX_CALLS][512];   /* "fast:[...]" or "one:{...}" */
static int fake_ncalls;
static int fake_hold;                      /* fast calls block while set */
static int fake_fast_rc;                   /* what store_record_fast returns */
static int fake_others[8];                 /* ...and the positions it leaves */
static size_t fake_nothers;
static const char *fake_refuse;            /* store_record_message refuses docs containing this */
static int fake_last_timeout;

static void
fake_reset(void)
{
    pthread_mutex_lock(&fake_lock);
    fake_ncalls = 0;
    fake_hold = 0;
    fake_fast_rc = 0;
    fake_nothers = 0;
    fake_refuse = NULL;
    fake_last_timeout = 0;
    pthread_mutex_unlock(&fake_lock);
}

static void
fake_log(const char *kind, const char *json)
{
    if (fake_ncalls < MAX_CALLS)
        snprintf(fake_calls[fake_ncalls++], sizeof(fake_calls[0]), "%s:%s", kind, json);
    pthread_cond_broadcast(&fake_cond);
}

int
store_record_fast(store_t *store, const char *docs, int timeout_ms, int *others, size_t max_others,
                  size_t *nothers, char *err, size_t errlen)
{
    (void)store;
    pthread_mutex_lock(&fake_lock);
    fake_log("fast", docs);
    fake_last_timeout = timeout_ms;
    while (fake_hold)
        pthread_cond_wait(&fake_cond, &fake_lock);
    int rc = fake_fast_rc;
    *nothers = 0;
    for (size_t i = 0; rc == 0 && i < fake_nothers && i < max_others; i++)
        others[(*nothers)++] = fake_others[i];
    pthread_mutex_unlock(&fake_lock);
    if (rc != 0)
        snprintf(err, errlen, "%s", rc == STORE_REFUSED ? "refused" : "database unreachable");
    return rc;
}

int
store_record_message(store_t *store, const char *doc, int timeout_ms, char *err, size_t errlen)
{
    (void)store;
    (void)timeout_ms;
    pthread_mutex_lock(&fake_lock);
    fake_log("one", doc);
    int refuse = fake_refuse && strstr(doc, fake_refuse);
    pthread_mutex_unlock(&fake_lock);
    if (refuse) {
        snprintf(err, errlen, "record_message: inbox vanished");
        return STORE_REFUSED;
    }
    return 0;
}

/* ---- callers on threads ------------------------------------------------- */

typedef struct {
    record_batch_t *rb;
    const char *doc;
    int rc;
    char err[256];
    long long took_us;   /* the call of record_batch_write */
    pthread_t thread;
} caller_t;

static void *
caller_run(void *arg)
{
    caller_t *c = arg;
    long long t0 = clock_us();
    c->rc = record_batch_write(c->rb, c->doc, c->err, sizeof(c->err));
    c->took_us = clock_us() - t0;
    return NULL;
}

static void
caller_start(caller_t *c, record_batch_t *rb, const char *doc)
{
    c->rb = rb;
    c->doc = doc;
    c->rc = 99;
    c->err[0] = '\0';
    assert_int_equal(pthread_create(&c->thread, NULL, caller_run, c), 0);
}

/* Waits (5 s at most) until the stand-in has seen n calls. */
static void
wait_calls(int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&fake_lock);
    while (fake_ncalls < n)
        if (pthread_cond_timedwait(&fake_cond, &fake_lock, &until) != 0)
            break;
    pthread_mutex_unlock(&fake_lock);
    assert_true(fake_ncalls >= n);
}

/* Starts one caller whose call is held in flight, then `queued` more that
 * pile up behind it; releases the first.  Returns after all finished. */
static void
run_held(record_batch_t *rb, caller_t *callers, const char *const *docs, int queued)
{
    pthread_mutex_lock(&fake_lock);
    fake_hold = 1;
    pthread_mutex_unlock(&fake_lock);
    caller_start(&callers[0], rb, docs[0]);
    wait_calls(1);
    for (int i = 1; i <= queued; i++)
        caller_start(&callers[i], rb, docs[i]);
    usleep(100 * 1000);   /* they queue: no call can start while one is held */
    assert_int_equal(fake_ncalls, 1);
    pthread_mutex_lock(&fake_lock);
    fake_hold = 0;
    pthread_cond_broadcast(&fake_cond);
    pthread_mutex_unlock(&fake_lock);
    for (int i = 0; i <= queued; i++)
        pthread_join(callers[i].thread, NULL);
}

static const char *const docs[] = { "{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}", "{\"n\":5}" };

/* ---- tests ------------------------------------------------------------ */

static void
test_alone(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 1000, 0);
    char err[256] = "";
    assert_int_equal(record_batch_write(rb, docs[0], err, sizeof(err)), 0);
    assert_int_equal(fake_ncalls, 1);
    assert_string_equal(fake_calls[0], "fast:[{\"n\":1}]");
    assert_true(fake_last_timeout > 900 && fake_last_timeout <= 1000);
    record_batch_free(rb);
}

static void
test_queued_become_one_batch(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 5000, 0);
    caller_t c[5];
    run_held(rb, c, docs, 4);
    assert_int_equal(fake_ncalls, 2);
    assert_string_equal(fake_calls[0], "fast:[{\"n\":1}]");
    /* the four that waited, in one call, in the order they came -- which
     * of them came first is up to the scheduler, so check the set */
    assert_int_equal(strncmp(fake_calls[1], "fast:[", 6), 0);
    for (int i = 1; i < 5; i++)
        assert_non_null(strstr(fake_calls[1], docs[i]));
    for (int i = 0; i < 5; i++)
        assert_int_equal(c[i].rc, 0);
    record_batch_free(rb);
}

static void
test_others_go_one_by_one(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 5000, 0);
    caller_t c[3];
    pthread_mutex_lock(&fake_lock);
    fake_others[0] = 1;   /* positions in the second (queued) batch */
    fake_others[1] = 2;
    fake_nothers = 2;
    pthread_mutex_unlock(&fake_lock);
    run_held(rb, c, docs, 2);
    /* call 1: doc 1 (its others, 1, is itself: written again alone);
     * then the batch of two and both of its docs alone */
    int ones = 0, fasts = 0;
    for (int i = 0; i < fake_ncalls; i++) {
        ones += strncmp(fake_calls[i], "one:", 4) == 0;
        fasts += strncmp(fake_calls[i], "fast:", 5) == 0;
    }
    assert_int_equal(fasts, 2);
    assert_int_equal(ones, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(c[i].rc, 0);
    record_batch_free(rb);
}

static void
test_refused_batch_is_written_one_by_one(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 5000, 0);
    caller_t c[4];
    pthread_mutex_lock(&fake_lock);
    fake_fast_rc = STORE_REFUSED;
    fake_refuse = "\"n\":3";
    pthread_mutex_unlock(&fake_lock);
    run_held(rb, c, docs, 3);
    /* only the document PostgreSQL will not take fails */
    for (int i = 0; i < 4; i++) {
        if (i == 2) {
            assert_int_equal(c[i].rc, -1);
            assert_string_equal(c[i].err, "record_message: inbox vanished");
        } else {
            assert_int_equal(c[i].rc, 0);
        }
    }
    record_batch_free(rb);
}

static void
test_unavailable_fails_the_batch(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 5000, 0);
    caller_t c[3];
    pthread_mutex_lock(&fake_lock);
    fake_fast_rc = STORE_UNAVAILABLE;
    pthread_mutex_unlock(&fake_lock);
    run_held(rb, c, docs, 2);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c[i].rc, -1);
        assert_string_equal(c[i].err, "database unreachable");
    }
    /* nothing was tried one by one: the database is the problem */
    for (int i = 0; i < fake_ncalls; i++)
        assert_int_equal(strncmp(fake_calls[i], "fast:", 5), 0);
    record_batch_free(rb);
}

static void
test_deadline_passes_in_the_queue(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 50, 0);   /* 50 ms per document */
    caller_t c[2];
    pthread_mutex_lock(&fake_lock);
    fake_hold = 1;
    pthread_mutex_unlock(&fake_lock);
    caller_start(&c[0], rb, docs[0]);
    wait_calls(1);
    caller_start(&c[1], rb, docs[1]);
    usleep(150 * 1000);   /* the second waits past its deadline */
    pthread_mutex_lock(&fake_lock);
    fake_hold = 0;
    pthread_cond_broadcast(&fake_cond);
    pthread_mutex_unlock(&fake_lock);
    pthread_join(c[0].thread, NULL);
    pthread_join(c[1].thread, NULL);
    assert_int_equal(c[0].rc, 0);   /* the stand-in ignores its own deadline */
    assert_int_equal(c[1].rc, -1);
    assert_non_null(strstr(c[1].err, "backend_timeout_ms passed"));
    assert_int_equal(fake_ncalls, 1);   /* never sent */
    record_batch_free(rb);
}

static void
test_many_threads_all_answered(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 5000, 0);
    enum { N = 200 };
    static caller_t c[N];
    static char text[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(text[i], sizeof(text[i]), "{\"n\":%d}", i);
        caller_start(&c[i], rb, text[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(c[i].thread, NULL);
        assert_int_equal(c[i].rc, 0);
    }
    assert_true(fake_ncalls >= (N + 63) / 64);   /* at most 64 per call */
    assert_true(fake_ncalls <= N);
    record_batch_free(rb);
}

/* ---- the gather window ---------------------------------------------------- */

/* Leaves rb having just written a batch of five (as under load). */
static void
make_loaded(record_batch_t *rb)
{
    caller_t c[5];
    run_held(rb, c, docs, 4);
    assert_int_equal(fake_ncalls, 2);
    fake_reset();
}

static void
test_gather_idle_writer_does_not_wait(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 5000, 400 * 1000);   /* a 400 ms window */
    char err[256] = "";
    /* idle: documents far apart, the last call carried one */
    for (int i = 0; i < 3; i++) {
        long long t0 = clock_us();
        assert_int_equal(record_batch_write(rb, docs[i], err, sizeof(err)), 0);
        assert_true(clock_us() - t0 < 100 * 1000);
        usleep(450 * 1000);   /* longer than the window apart */
    }
    assert_int_equal(fake_ncalls, 3);
    assert_string_equal(fake_calls[2], "fast:[{\"n\":3}]");
    record_batch_free(rb);
}

static void
test_gather_concurrent_writers_form_one_batch(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 5000, 400 * 1000);
    caller_t c[3];
    make_loaded(rb);
    /* three writers, 50 ms apart, all within the first one's window */
    for (int i = 0; i < 3; i++) {
        caller_start(&c[i], rb, docs[i]);
        usleep(50 * 1000);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(c[i].thread, NULL);
        assert_int_equal(c[i].rc, 0);
    }
    assert_int_equal(fake_ncalls, 1);
    assert_string_equal(fake_calls[0], "fast:[{\"n\":1},{\"n\":2},{\"n\":3}]");
    /* the first waited out its window, and not much more */
    assert_true(c[0].took_us >= 390 * 1000);
    assert_true(c[0].took_us < 1000 * 1000);
    /* the leader's call gets the time its oldest document has left */
    assert_true(fake_last_timeout > 4000 && fake_last_timeout <= 4610);
    record_batch_free(rb);
}

static void
test_gather_close_arrivals_wait_for_each_other(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 5000, 300 * 1000);
    caller_t c[2];
    char err[256] = "";
    /* idle so far: the first is written alone at once */
    assert_int_equal(record_batch_write(rb, docs[0], err, sizeof(err)), 0);
    /* the next two come within the window of the one before: they gather */
    caller_start(&c[0], rb, docs[1]);
    usleep(50 * 1000);
    caller_start(&c[1], rb, docs[2]);
    pthread_join(c[0].thread, NULL);
    pthread_join(c[1].thread, NULL);
    assert_int_equal(c[0].rc, 0);
    assert_int_equal(c[1].rc, 0);
    assert_int_equal(fake_ncalls, 2);
    assert_string_equal(fake_calls[0], "fast:[{\"n\":1}]");
    assert_string_equal(fake_calls[1], "fast:[{\"n\":2},{\"n\":3}]");
    record_batch_free(rb);
}

static void
test_gather_ends_when_the_batch_is_full(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 20000, 3000 * 1000);   /* a 3 s window */
    enum { N = 64 };
    static caller_t c[N];
    static char text[N][32];
    long long t0;
    make_loaded(rb);
    t0 = clock_us();
    for (int i = 0; i < N; i++) {
        snprintf(text[i], sizeof(text[i]), "{\"n\":%d}", i);
        caller_start(&c[i], rb, text[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(c[i].thread, NULL);
        assert_int_equal(c[i].rc, 0);
    }
    assert_true(clock_us() - t0 < 2000 * 1000);   /* 64 documents: no need to wait on */
    assert_int_equal(fake_ncalls, 1);
    record_batch_free(rb);
}

static void
test_gather_never_past_a_deadline(void **state)
{
    (void)state;
    fake_reset();
    /* a window far longer than the 200 ms a document may take */
    record_batch_t *rb = record_batch_new(NULL, 200, 5000 * 1000);
    caller_t c[1];
    make_loaded(rb);
    caller_start(&c[0], rb, docs[0]);
    pthread_join(c[0].thread, NULL);
    assert_int_equal(c[0].rc, 0);
    /* it waited half its time, then went with the half left */
    assert_true(c[0].took_us >= 90 * 1000 && c[0].took_us < 180 * 1000);
    assert_true(fake_last_timeout > 50 && fake_last_timeout <= 110);
    assert_int_equal(fake_ncalls, 1);
    record_batch_free(rb);
}

static void
test_gather_zero_is_no_wait(void **state)
{
    (void)state;
    fake_reset();
    record_batch_t *rb = record_batch_new(NULL, 5000, 0);
    caller_t c[2];
    make_loaded(rb);
    caller_start(&c[0], rb, docs[0]);
    pthread_join(c[0].thread, NULL);
    caller_start(&c[1], rb, docs[1]);
    pthread_join(c[1].thread, NULL);
    assert_true(c[0].took_us < 100 * 1000 && c[1].took_us < 100 * 1000);
    assert_int_equal(fake_ncalls, 2);
    record_batch_free(rb);
}

int
main(void)
{
    unit_suite_t suite = { .count = 0 };
    unit_add(&suite, "alone: one document, one call, the whole timeout", test_alone, NULL);
    unit_add(&suite, "documents queued behind a call go in the next one", test_queued_become_one_batch, NULL);
    unit_add(&suite, "documents record_fast leaves go through record_message", test_others_go_one_by_one, NULL);
    unit_add(&suite, "a refused batch is written one by one; only the bad document fails",
             test_refused_batch_is_written_one_by_one, NULL);
    unit_add(&suite, "database unreachable: every document of the batch fails", test_unavailable_fails_the_batch,
             NULL);
    unit_add(&suite, "a document whose deadline passes in the queue fails unsent", test_deadline_passes_in_the_queue,
             NULL);
    unit_add(&suite, "200 threads at once: every one answered", test_many_threads_all_answered, NULL);
    unit_add(&suite, "gather: an idle writer is written at once, whatever the window",
             test_gather_idle_writer_does_not_wait, NULL);
    unit_add(&suite, "gather: under load, writers within the window form one batch",
             test_gather_concurrent_writers_form_one_batch, NULL);
    unit_add(&suite, "gather: documents that come close together wait for each other",
             test_gather_close_arrivals_wait_for_each_other, NULL);
    unit_add(&suite, "gather: a full batch goes without waiting out the window", test_gather_ends_when_the_batch_is_full,
             NULL);
    unit_add(&suite, "gather: never more than half of a document's time left", test_gather_never_past_a_deadline, NULL);
    unit_add(&suite, "gather: record_gather_us = 0 never waits", test_gather_zero_is_no_wait, NULL);
    return unit_run("record_batch", &suite, NULL, NULL);
}
