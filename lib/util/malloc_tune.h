/*
 * malloc_tune.h -- how the daemons ask glibc's allocator to give memory back.
 *
 * Public: malloc_tune_daemon, malloc_tune_start_trimmer.
 * A daemon with many worker threads (libmilter starts one per SMTP
 * session) gets up to 8 malloc arenas per core, and glibc raises its mmap
 * threshold each time a large block is freed, after which large blocks (a
 * message body kept for inbound parsing, up to its size limit) come from
 * the arenas and their memory stays with the process when freed.  An hour
 * under 200 sessions grew the milter's RSS by a third that way while the
 * memory in use stayed flat (README, Soak).  malloc_tune_daemon fixes the
 * mmap threshold, so every block of MALLOC_TUNE_MMAP_BYTES or more is its
 * own mapping, returned to the kernel by free, and caps the arenas at
 * MALLOC_TUNE_ARENAS.  Freed memory in the middle of an arena still
 * stays with the process: after a burst (many large messages at once on a
 * slow machine) the RSS kept the burst's high-water mark.  So
 * malloc_tune_start_trimmer runs malloc_trim(0) every
 * MALLOC_TUNE_TRIM_SECONDS in a thread of its own, which hands the free
 * pages of every arena back to the kernel (a few milliseconds, each arena
 * locked in turn).  A no-op where the allocator is not glibc's (under
 * AddressSanitizer mallopt is ASan's and ignores both).
 */
#ifndef POSTINBOX_MALLOC_TUNE_H
#define POSTINBOX_MALLOC_TUNE_H

#define MALLOC_TUNE_MMAP_BYTES (128 * 1024)
#define MALLOC_TUNE_ARENAS 4

#define MALLOC_TUNE_TRIM_SECONDS 10

/* Call once at start, before any thread is started. */
void malloc_tune_daemon(void);
/* Starts the detached trim thread (after daemonising: a thread does not
 * survive fork; with the daemon's signals blocked).  0, or -1 when it
 * could not be started (the daemon runs on without it). */
int malloc_tune_start_trimmer(unsigned seconds);

#endif
