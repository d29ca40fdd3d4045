/*
 * malloc_tune.c -- mallopt settings of the daemons (malloc_tune.h).
 */
#include "malloc_tune.h"

/* Any libc header defines __GLIBC__ (features.h); it must come first. */
#include <stdlib.h>
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
