/*
 * malloc_tune.c -- mallopt settings of the daemons and the periodic trim
 * (malloc_tune.h).
 */
#include "malloc_tune.h"

/* Any libc header defines __GLIBC__ (features.h); it must come first. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

void
malloc_tune_daemon(void)
{
#ifdef __GLIBC__
    /* Setting it also stops glibc's dynamic raising of the threshold. */
    mallopt(M_MMAP_THRESHOLD, MALLOC_TUNE_MMAP_BYTES);
    mallopt(M_ARENA_MAX, MALLOC_TUNE_ARENAS);
#endif
}

#ifdef __GLIBC__
static void *
malloc_tune_trimmer(void *arg)
{
    struct timespec every = { .tv_sec = (time_t)(uintptr_t)arg, .tv_nsec = 0 };
    for (;;) {
        nanosleep(&every, NULL);
        malloc_trim(0);
    }
    return NULL;
}
#endif

int
malloc_tune_start_trimmer(unsigned seconds)
{
#ifdef __GLIBC__
    pthread_t tid;
    pthread_attr_t attr;
    int rc;

    if (seconds == 0 || pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &attr, malloc_tune_trimmer, (void *)(uintptr_t)seconds);
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : -1;
#else
    (void)seconds;
    return 0;
#endif
}
