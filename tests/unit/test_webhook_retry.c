/*
 * test_webhook_retry.c -- outcomes of webhook attempts and the delay
 * before the next one: schedule steps, jitter bounds, Retry-After.
 */
#include "unit.h"

#include "webhook_retry.h"

#define S 1000L
#define MIN (60 * S)
#define HOUR (60 * MIN)

/* The default schedule: 0s,5s,5m,30m,2h,5h,10h,10h. */
static const duration_list_t default_schedule = { 8, { 0, 5 * S, 5 * MIN, 30 * MIN, 2 * HOUR, 5 * HOUR, 10 * HOUR,
                                                       10 * HOUR } };

typedef struct {
    const char *name;
    int made;               /* attempts made, this one included */
    long retry_after_ms;
    double rand01;
    long want;
} delay_row_t;

static const delay_row_t delay_rows[] = {
    { "after attempt 1: 5 s, no jitter at 0.5", 1, -1, 0.5, 5 * S },
    { "after attempt 1: -10 % at rand 0", 1, -1, 0.0, 4500 },
    { "after attempt 1: under +10 % at rand ~1", 1, -1, 0.9999999, 5499 },
    { "after attempt 2: 5 min", 2, -1, 0.5, 5 * MIN },
    { "after attempt 7: 10 h", 7, -1, 0.5, 10 * HOUR },
    { "after attempt 8 (the last): none", 8, -1, 0.5, -1 },
    { "after attempt 9 (schedule shortened by a reload): none", 9, -1, 0.5, -1 },
    { "attempt 0 is not an attempt", 0, -1, 0.5, -1 },
    { "Retry-After shorter than the step is ignored", 2, 10 * S, 0.5, 5 * MIN },
    { "Retry-After longer than the step is honoured", 1, 120 * S, 0.5, 120 * S },
    { "Retry-After of a day is capped at 1 h", 1, 24 * HOUR, 0.5, HOUR },
    { "Retry-After beyond a long step is capped at the step", 5, 24 * HOUR, 0.5, 5 * HOUR },
    { "Retry-After never shortens a long jittered step", 5, 24 * HOUR, 0.9, (long)(5 * HOUR * 1.08) },
    { "out-of-range random is clamped", 1, -1, 7.0, 5499 },
    { "negative random is clamped", 1, -1, -3.0, 4500 },
};

static void
test_delay(void **state)
{
    const delay_row_t *row = *state;
    assert_int_equal(webhook_retry_delay_ms(&default_schedule, row->made, row->retry_after_ms, row->rand01), row->want);
}

/* Jitter stays within +-10 % of the step and is never negative. */
static void
test_jitter_bounds(void **state)
{
    duration_list_t zero = { 3, { 0, 0, 0 } };
    (void)state;
    for (int i = 0; i < 1000; i++) {
        double r = i / 1000.0;
        for (int made = 1; made < default_schedule.count; made++) {
            long base = default_schedule.ms[made];
            long d = webhook_retry_delay_ms(&default_schedule, made, -1, r);
            if (d < base - base / 10 || d > base + base / 10)
                fail_msg("made %d rand %f: %ld outside %ld +-10%%", made, r, d, base);
        }
        assert_int_equal(webhook_retry_delay_ms(&zero, 1, -1, r), 0);
    }
}

typedef struct {
    const char *name;
    int made;
    int status;
    webhook_outcome_t want;
} outcome_row_t;

static const outcome_row_t outcome_rows[] = {
    { "200 delivered", 1, 200, WEBHOOK_DELIVERED },
    { "204 delivered", 3, 204, WEBHOOK_DELIVERED },
    { "299 delivered", 1, 299, WEBHOOK_DELIVERED },
    { "200 on the last attempt delivered", 8, 200, WEBHOOK_DELIVERED },
    { "301 is a failure (redirects not followed)", 1, 301, WEBHOOK_RETRY },
    { "302 is a failure", 1, 302, WEBHOOK_RETRY },
    { "400 retried", 1, 400, WEBHOOK_RETRY },
    { "404 retried", 1, 404, WEBHOOK_RETRY },
    { "410 gone", 1, 410, WEBHOOK_GONE },
    { "410 on the last attempt still gone", 8, 410, WEBHOOK_GONE },
    { "429 retried", 2, 429, WEBHOOK_RETRY },
    { "500 retried", 1, 500, WEBHOOK_RETRY },
    { "no answer retried", 1, 0, WEBHOOK_RETRY },
    { "100 is not success", 1, 100, WEBHOOK_RETRY },
    { "500 on attempt 7 retried", 7, 500, WEBHOOK_RETRY },
    { "500 on attempt 8 failed", 8, 500, WEBHOOK_FAILED },
    { "no answer on attempt 8 failed", 8, 0, WEBHOOK_FAILED },
};

static void
test_outcome(void **state)
{
    const outcome_row_t *row = *state;
    assert_int_equal(webhook_outcome(&default_schedule, row->made, row->status), row->want);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_delay, delay_rows, sizeof(delay_rows[0]), UNIT_ROWS(delay_rows));
    unit_add(&suite, "jitter bounds", test_jitter_bounds, NULL);
    unit_add_rows(&suite, test_outcome, outcome_rows, sizeof(outcome_rows[0]), UNIT_ROWS(outcome_rows));
    return unit_run("webhook_retry", &suite, NULL, NULL);
}
