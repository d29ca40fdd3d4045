/*
 * clock.h -- monotonic time for deadlines and latency figures.
 *
 * Public: clock_ms, clock_us.  CLOCK_MONOTONIC, so a wall-clock step
 * never stretches or cuts a deadline.  Logs nothing.
 */
#ifndef POSTINBOX_CLOCK_H
#define POSTINBOX_CLOCK_H

/* Monotonic milliseconds. */
long long clock_ms(void);
/* Monotonic microseconds. */
long long clock_us(void);

#endif
