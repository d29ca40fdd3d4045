/*
 * pool.h -- a bounded pool of backend handles shared by threads.
 *
 * Public: pool_new, pool_get, pool_put, pool_free.
 * No handle is ever used by two threads at once: pool_get hands one out
 * exclusively until pool_put.  Handles are opened lazily, outside the
 * lock, and a broken handle is closed on return.  An idle handle is
 * checked (ops->alive, when given) before it is handed out: one the
 * backend has closed meanwhile (a restart) is closed and the next one
 * taken, so a backend that is back costs no caller a failed call.  After
 * a failed open the pool fails fast for a short hold-off, so a dead
 * backend costs each caller one quick error instead of one full timeout.
 * Logs nothing.
 */
#ifndef POSTINBOX_POOL_H
#define POSTINBOX_POOL_H

#include <stddef.h>

typedef struct {
    /* Opens a handle within timeout_ms; NULL with err on failure. */
    void *(*open)(void *arg, int timeout_ms, char *err, size_t errlen);
    void (*close)(void *handle);
    /* Optional: whether an idle handle may still be used (no blocking
     * I/O: a look at its socket).  0 closes it instead of handing it out. */
    int (*alive)(void *handle);
} pool_ops_t;

typedef struct pool pool_t;

pool_t *pool_new(const pool_ops_t *ops, void *arg, int max_handles);
/* Returns a handle within timeout_ms (waiting for a free one if all are
 * in use), or NULL with err. */
void *pool_get(pool_t *pool, int timeout_ms, char *err, size_t errlen);
/* Returns a handle; broken != 0 closes it instead of keeping it. */
void pool_put(pool_t *pool, void *handle, int broken);
/* Closes every idle handle; all handles must have been returned. */
void pool_free(pool_t *pool);

#endif
