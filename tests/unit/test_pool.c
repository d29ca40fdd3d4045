/*
 * test_pool.c -- lib/store/pool.c with stand-in handles: an idle handle
 * the backend closed meanwhile (ops->alive says so) is closed and
 * replaced before it is handed out, and the pool never holds more than
 * its size.  Against a real PostgreSQL restart: t_faults.sh.
 */
#include <stdlib.h>

#include "pool.h"
#include "unit.h"

typedef struct {
    int id;
    int dead;      /* the backend closed it */
} fake_handle_t;

static int opened, closed;

static void *
fake_open(void *arg, int timeout_ms, char *err, size_t errlen)
{
    fake_handle_t *h = calloc(1, sizeof(*h));
    (void)arg;
    (void)timeout_ms;
    (void)err;
    (void)errlen;
    h->id = ++opened;
    return h;
}

static void
fake_close(void *handle)
{
    closed++;
    free(handle);
}

static int
fake_alive(void *handle)
{
    return !((fake_handle_t *)handle)->dead;
}

static const pool_ops_t fake_ops = { .open = fake_open, .close = fake_close, .alive = fake_alive };
static const pool_ops_t fake_ops_unchecked = { .open = fake_open, .close = fake_close };

static void
test_live_idle_handle_is_reused(void **state)
{
    char err[128];
    pool_t *pool = pool_new(&fake_ops, NULL, 4);
    (void)state;
    opened = closed = 0;
    fake_handle_t *a = pool_get(pool, 100, err, sizeof(err));
    pool_put(pool, a, 0);
    fake_handle_t *b = pool_get(pool, 100, err, sizeof(err));
    assert_ptr_equal(a, b);
    assert_int_equal(opened, 1);
    pool_put(pool, b, 0);
    pool_free(pool);
}

static void
test_stale_idle_handles_are_replaced(void **state)
{
    char err[128];
    pool_t *pool = pool_new(&fake_ops, NULL, 3);
    fake_handle_t *h[3];
    (void)state;
    opened = closed = 0;
    for (int i = 0; i < 3; i++)
        h[i] = pool_get(pool, 100, err, sizeof(err));
    for (int i = 0; i < 3; i++) {
        h[i]->dead = 1;    /* the server restarted under the idle pool */
        pool_put(pool, h[i], 0);
    }
    /* The pool is full of stale handles: the next caller gets a fresh one,
     * not an error, and the stale ones are closed on the way. */
    fake_handle_t *fresh = pool_get(pool, 100, err, sizeof(err));
    assert_non_null(fresh);
    assert_false(fresh->dead);
    assert_int_equal(opened, 4);
    assert_int_equal(closed, 3);
    /* ...and their places are free: two more can be opened. */
    fake_handle_t *x = pool_get(pool, 100, err, sizeof(err));
    fake_handle_t *y = pool_get(pool, 100, err, sizeof(err));
    assert_non_null(x);
    assert_non_null(y);
    assert_null(pool_get(pool, 20, err, sizeof(err)));   /* size 3: all out */
    pool_put(pool, fresh, 0);
    pool_put(pool, x, 0);
    pool_put(pool, y, 0);
    pool_free(pool);
}

static void
test_without_alive_op_handles_are_not_checked(void **state)
{
    char err[128];
    pool_t *pool = pool_new(&fake_ops_unchecked, NULL, 2);
    (void)state;
    opened = closed = 0;
    fake_handle_t *a = pool_get(pool, 100, err, sizeof(err));
    a->dead = 1;
    pool_put(pool, a, 0);
    assert_ptr_equal(pool_get(pool, 100, err, sizeof(err)), a);
    pool_put(pool, a, 1);
    assert_int_equal(closed, 1);
    pool_free(pool);
}

int
main(void)
{
    unit_suite_t suite = { .count = 0 };
    unit_add(&suite, "a live idle handle is handed out again", test_live_idle_handle_is_reused, NULL);
    unit_add(&suite, "stale idle handles are closed and replaced, no error", test_stale_idle_handles_are_replaced,
             NULL);
    unit_add(&suite, "without an alive op idle handles are handed out as they are",
             test_without_alive_op_handles_are_not_checked, NULL);
    return unit_run("pool", &suite, NULL, NULL);
}
