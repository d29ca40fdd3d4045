/*
 * test_record_batch.c -- the group commit of lib/store/record_batch.c, against a
 * stand-in for the two store calls it makes (defined here, so the
 * archive's store.o is not linked).  What PostgreSQL does with the
 * documents is tested against a real server in t_record_batch.sh; this
 * checks the batching: who writes what, in which call, and which verdict
 * every caller gets.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

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
    pthread_t thread;
} caller_t;

static void *
caller_run(void *arg)
{
    caller_t *c = arg;
    c->rc = record_batch_write(c->rb, c->doc, c->err, sizeof(c->err));
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
    record_batch_t *rb = record_batch_new(NULL, 1000);
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
    record_batch_t *rb = record_batch_new(NULL, 5000);
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
    record_batch_t *rb = record_batch_new(NULL, 5000);
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
    record_batch_t *rb = record_batch_new(NULL, 5000);
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
    record_batch_t *rb = record_batch_new(NULL, 5000);
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
    record_batch_t *rb = record_batch_new(NULL, 50);   /* 50 ms per document */
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
    record_batch_t *rb = record_batch_new(NULL, 5000);
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
    return unit_run("record_batch", &suite, NULL, NULL);
}
