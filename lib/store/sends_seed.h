/*
 * sends_seed.h -- an inbox's sends of one UTC day as PostgreSQL knows
 * them, the seeder the limiter rebuilds lost Redis counters from.
 *
 * Public: sends_seed.
 * Counts the envelope recipients of the inbox's outbound messages created
 * on the day Redis asked about (00:00 to 24:00 UTC of day number day, not
 * the database's today: the two clocks may be on either side of midnight)
 * and those of the 61 s before Redis's now_ms in per-second buckets,
 * rounded up so a seeded send leaves the burst window no earlier than the
 * real one.  The rows' times are the database's clock, which must agree
 * with Redis's within a fraction of a second for a send near midnight to
 * be counted in the right day.  Two parameterised statements, each within
 * the store's deadline.  Thread-safe (the store is a pool).  Logs nothing.
 */
#ifndef POSTINBOX_SENDS_SEED_H
#define POSTINBOX_SENDS_SEED_H

#include <stddef.h>

#include "limiter.h"

/* A limiter_seeder_fn; ctx is the store_t.  0, or -1 with err. */
int sends_seed(void *ctx, const char *inbox_id, long day, long long now_ms, limiter_seed_t *out, char *err,
               size_t errlen);

#endif
