/*
 * sends_seed.h -- an inbox's sends of today as PostgreSQL knows them, the
 * seeder the limiter rebuilds lost Redis counters from.
 *
 * Public: sends_seed.
 * Counts the envelope recipients of the inbox's outbound messages since
 * 00:00 UTC (by PostgreSQL's clock, which must agree with Redis's within
 * the second) and the last 61 s of them in per-second buckets, rounded up
 * so a seeded send leaves the burst window no earlier than the real one.
 * Two parameterised statements, each within the store's deadline.
 * Thread-safe (the store is a pool).  Logs nothing.
 */
#ifndef POSTINBOX_SENDS_SEED_H
#define POSTINBOX_SENDS_SEED_H

#include <stddef.h>

#include "limiter.h"

/* A limiter_seeder_fn; ctx is the store_t.  0, or -1 with err. */
int sends_seed(void *ctx, const char *inbox_id, limiter_seed_t *out, char *err, size_t errlen);

#endif
