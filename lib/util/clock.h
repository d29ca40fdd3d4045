/*
 * clock.h -- monotonic time for deadlines and latency figures.
 *
 * Public: clock_ms, clock_us, clock_realtime_after.  CLOCK_MONOTONIC, so
 * a wall-clock step never stretches or cuts a deadline.  Logs nothing.
 */
#ifndef POSTINBOX_CLOCK_H
#define POSTINBOX_CLOCK_H

#include <time.h>

/* Monotonic milliseconds. */
long long clock_ms(void);
/* Monotonic microseconds. */
long long clock_us(void);
/* CLOCK_REALTIME ms from now, as pthread_cond_timedwait on a condition
 * variable with the default clock wants it. */
struct timespec clock_realtime_after(long long ms);

#endif
