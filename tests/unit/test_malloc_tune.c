/*
 * test_malloc_tune.c -- malloc_tune_daemon really changes glibc's
 * allocator: after it, a block of MALLOC_TUNE_MMAP_BYTES or more is its own
 * mapping even after a larger block was freed (which, untuned, raises the
 * threshold so that the next such block comes from an arena and its memory
 * stays with the process).  Counted with mallinfo2's hblks (blocks
 * allocated by mmap).  And the trim thread gives freed pages in the
 * middle of the heap back (the process's resident size drops).  Under AddressSanitizer the allocator is ASan's and
 * the call does nothing (malloc_tune.h), so only its harmlessness is
 * checked there.
 */
#include "unit.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "malloc_tune.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNIT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNIT_ASAN 1
#endif
#endif

#ifndef UNIT_ASAN
static size_t
mmapped_blocks(void)
{
    return mallinfo2().hblks;
}

static void
test_threshold_fixed(void **state)
{
    (void)state;
    malloc_tune_daemon();
    /* Untuned, freeing this raises the dynamic threshold to about 1 MiB. */
    char *big = malloc(1024 * 1024);
    assert_non_null(big);
    memset(big, 1, 1024 * 1024);
    free(big);
    size_t before = mmapped_blocks();
    char *mid = malloc(MALLOC_TUNE_MMAP_BYTES + 64 * 1024);
    assert_non_null(mid);
    memset(mid, 1, MALLOC_TUNE_MMAP_BYTES + 64 * 1024);
    assert_int_equal(mmapped_blocks(), before + 1);
    free(mid);
    assert_int_equal(mmapped_blocks(), before);
    /* Below the threshold: from an arena, as before. */
    char *small = malloc(MALLOC_TUNE_MMAP_BYTES / 2);
    assert_non_null(small);
    assert_int_equal(mmapped_blocks(), before);
    free(small);
}

/* Resident pages of this process (/proc/self/statm), in KiB. */
static long
rss_kib(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#define TRIM_BLOCKS 20000
#define TRIM_BLOCK_BYTES 1000

static void
test_trimmer_returns_free_pages(void **state)
{
    (void)state;
    static char *blocks[TRIM_BLOCKS];
    /* 20 MB of small blocks, then one more on top, so that freeing the
     * 20 MB leaves them in the middle of the heap, where free() keeps them. */
    for (int i = 0; i < TRIM_BLOCKS; i++) {
        blocks[i] = malloc(TRIM_BLOCK_BYTES);
        assert_non_null(blocks[i]);
        memset(blocks[i], 1, TRIM_BLOCK_BYTES);
    }
    char *pin = malloc(64);
    assert_non_null(pin);
    for (int i = 0; i < TRIM_BLOCKS; i++)
        free(blocks[i]);
    long kept = rss_kib();
    assert_true(kept > 0);
    assert_int_equal(malloc_tune_start_trimmer(0), -1);
    assert_int_equal(malloc_tune_start_trimmer(1), 0);
    long now = kept;
    for (int i = 0; i < 40 && now > kept - 15000; i++) {
        usleep(100000);
        now = rss_kib();
    }
    /* Most of the 20 MB went back to the kernel within 4 s. */
    if (now > kept - 15000)
        fail_msg("RSS %ld KiB after the trims, %ld KiB before: not returned", now, kept);
    free(pin);
}
#endif

static void
test_twice_harmless(void **state)
{
    (void)state;
    malloc_tune_daemon();
    malloc_tune_daemon();
    char *p = malloc(3 * MALLOC_TUNE_MMAP_BYTES);
    assert_non_null(p);
    memset(p, 0, 3 * MALLOC_TUNE_MMAP_BYTES);
    free(p);
}

int
main(void)
{
    static unit_suite_t suite;
#ifndef UNIT_ASAN
    unit_add(&suite, "the mmap threshold stays fixed after a large free", test_threshold_fixed, NULL);
    unit_add(&suite, "the trim thread hands free pages in the middle of the heap back", test_trimmer_returns_free_pages,
             NULL);
#endif
    unit_add(&suite, "calling it twice is harmless", test_twice_harmless, NULL);
    return unit_run("malloc_tune", &suite, NULL, NULL);
}
