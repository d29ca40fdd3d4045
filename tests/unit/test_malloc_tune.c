/*
 * test_malloc_tune.c -- malloc_tune_daemon really changes glibc's
 * allocator: after it, a block of MALLOC_TUNE_MMAP_BYTES or more is its own
 * mapping even after a larger block was freed (which, untuned, raises the
 * threshold so that the next such block comes from an arena and its memory
 * stays with the process).  Counted with mallinfo2's hblks (blocks
 * allocated by mmap).  Under AddressSanitizer the allocator is ASan's and
 * the call does nothing (malloc_tune.h), so only its harmlessness is
 * checked there.
 */
#include "unit.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

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
#endif
    unit_add(&suite, "calling it twice is harmless", test_twice_harmless, NULL);
    return unit_run("malloc_tune", &suite, NULL, NULL);
}
