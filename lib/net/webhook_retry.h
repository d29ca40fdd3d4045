/*
 * webhook_retry.h -- what happens after a webhook attempt.
 *
 * Public: webhook_outcome, webhook_retry_delay_ms, WEBHOOK_RETRY_AFTER_CAP_MS.
 * 2xx is delivered; 410 Gone is final and disables the endpoint; anything
 * else (3xx included: redirects are never followed, 4xx, 5xx, no answer)
 * is a failed attempt, retried on webhook_retry_schedule.  Logs nothing.
 */
#ifndef POSTINBOX_WEBHOOK_RETRY_H
#define POSTINBOX_WEBHOOK_RETRY_H

#include "config.h"

typedef enum {
    WEBHOOK_DELIVERED = 0,
    WEBHOOK_RETRY,              /* failed; another attempt is scheduled */
    WEBHOOK_FAILED,             /* failed; no attempt left */
    WEBHOOK_GONE,               /* 410: endpoint disabled, delivery failed */
} webhook_outcome_t;

/* A Retry-After longer than the scheduled delay is honoured up to this
 * (1 h), or up to the scheduled delay itself when that is longer: one
 * endpoint cannot park its deliveries for days, nor shorten the schedule. */
#define WEBHOOK_RETRY_AFTER_CAP_MS 3600000L

/* Delay before the next attempt after attempt number made (1-based) has
 * failed, or -1 when the schedule has no attempt left.  schedule->ms[k]
 * is the delay before attempt k+1, so ms[0] (the first attempt, due when
 * the event is written) is not used here and count is the number of
 * attempts.  The delay is jittered by +-10 % (rand01 in [0, 1)), then
 * raised to retry_after_ms (-1: none) within WEBHOOK_RETRY_AFTER_CAP_MS. */
long webhook_retry_delay_ms(const duration_list_t *schedule, int made, long retry_after_ms, double rand01);

/* The outcome of attempt number made with HTTP status (0: no answer). */
webhook_outcome_t webhook_outcome(const duration_list_t *schedule, int made, int status);

#endif
