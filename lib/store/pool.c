/*
 * pool.c -- idle stack + count of handles out, one mutex, one condvar.
 * See pool.h.
 */
#include "pool.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_HOLDOFF_MS 250

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    const pool_ops_t *ops;
    void *arg;
    int max;
    int open_count;        /* handles idle + handed out + being opened */
    int idle_count;
    void **idle;
    long long down_until;  /* monotonic ms; fail fast before it */
    char down_error[256];
};

pool_t *
pool_new(const pool_ops_t *ops, void *arg, int max_handles)
{
    pool_t *pool = calloc(1, sizeof(*pool));
    pthread_condattr_t attr;
    if (pool == NULL)
        return NULL;
    pool->idle = calloc((size_t)max_handles, sizeof(void *));
    if (pool->idle == NULL) {
        free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->freed, &attr);
    pthread_condattr_destroy(&attr);
    pool->ops = ops;
    pool->arg = arg;
    pool->max = max_handles;
    return pool;
}

void *
pool_get(pool_t *pool, int timeout_ms, char *err, size_t errlen)
{
    long long start = clock_ms(), deadline = start + timeout_ms;
    void *handle;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        if (pool->idle_count > 0) {
            handle = pool->idle[--pool->idle_count];
            pthread_mutex_unlock(&pool->lock);
            if (pool->ops->alive == NULL || pool->ops->alive(handle))
                return handle;
            /* Stale (the backend closed it while it was idle): gone, and
             * its place is free for a fresh one. */
            pool->ops->close(handle);
            pthread_mutex_lock(&pool->lock);
            pool->open_count--;
            continue;
        }
        if (pool->down_until > start) {
            snprintf(err, errlen, "%s", pool->down_error);
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        if (pool->open_count < pool->max)
            break;
        struct timespec ts = { .tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000 };
        if (pthread_cond_timedwait(&pool->freed, &pool->lock, &ts) == ETIMEDOUT) {
            snprintf(err, errlen, "all %d backend connections busy for %d ms", pool->max, timeout_ms);
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
    }
    pool->open_count++;
    pthread_mutex_unlock(&pool->lock);

    int left = (int)(deadline - clock_ms());
    handle = pool->ops->open(pool->arg, left > 0 ? left : 1, err, errlen);

    pthread_mutex_lock(&pool->lock);
    if (handle == NULL) {
        pool->open_count--;
        pool->down_until = clock_ms() + POOL_HOLDOFF_MS;
        snprintf(pool->down_error, sizeof(pool->down_error), "%s", err);
        pthread_cond_signal(&pool->freed);
    } else {
        pool->down_until = 0;
    }
    pthread_mutex_unlock(&pool->lock);
    return handle;
}

void
pool_put(pool_t *pool, void *handle, int broken)
{
    if (handle == NULL)
        return;
    if (broken)
        pool->ops->close(handle);
    pthread_mutex_lock(&pool->lock);
    if (broken)
        pool->open_count--;
    else
        pool->idle[pool->idle_count++] = handle;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

void
pool_free(pool_t *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->idle_count; i++)
        pool->ops->close(pool->idle[i]);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->freed);
    free(pool->idle);
    free(pool);
}
