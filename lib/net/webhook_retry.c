/*
 * webhook_retry.c -- webhook outcome and retry delay.  See webhook_retry.h.
 */
#include "webhook_retry.h"

long
webhook_retry_delay_ms(const duration_list_t *schedule, int made, long retry_after_ms, double rand01)
{
    long base, delay;
    if (made < 1 || made >= schedule->count)
        return -1;
    base = schedule->ms[made];
    if (rand01 < 0)
        rand01 = 0;
    if (rand01 >= 1)
        rand01 = 0.999999;
    delay = (long)((double)base * (0.9 + 0.2 * rand01));
    if (delay < 0)
        delay = 0;
    if (retry_after_ms > delay) {
        long cap = base > WEBHOOK_RETRY_AFTER_CAP_MS ? base : WEBHOOK_RETRY_AFTER_CAP_MS;
        long honoured = retry_after_ms < cap ? retry_after_ms : cap;
        if (honoured > delay)
            delay = honoured;
    }
    return delay;
}

webhook_outcome_t
webhook_outcome(const duration_list_t *schedule, int made, int status)
{
    if (status >= 200 && status <= 299)
        return WEBHOOK_DELIVERED;
    if (status == 410)
        return WEBHOOK_GONE;
    return made >= schedule->count ? WEBHOOK_FAILED : WEBHOOK_RETRY;
}
