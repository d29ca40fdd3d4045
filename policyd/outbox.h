/*
 * outbox.h -- the webhook delivery outbox in PostgreSQL (sql/002).
 *
 * Public: outbox_claim, outbox_jobs_free, outbox_renew, outbox_record,
 * outbox_disable, outbox_release.
 * Each function is one parameterised statement through the store (so one
 * transaction with the store's deadline); batches travel as arrays and
 * are unnested by the server.
 *
 * Leases: a claim sets lease_until on its rows; every row of one claim
 * gets the same value (now() is per transaction), which the caller keeps
 * as the row's token.  A renewal moves lease_until on, and so replaces
 * the token, only while the row still carries the caller's one.  A failed
 * attempt is recorded only while the row still carries the token (if the
 * lease ran out and another daemon took the row, its attempt counts, not
 * ours); a 2xx is recorded as long as the row is still pending, since the
 * receiver has the event either way.
 * Logs nothing.
 */
#ifndef POSTINBOX_OUTBOX_H
#define POSTINBOX_OUTBOX_H

#include <stddef.h>

#include "store.h"

#define OUTBOX_UUID_LEN 37
#define OUTBOX_LEASE_LEN 48
#define OUTBOX_ERROR_LEN 256

/* One claimed delivery. */
typedef struct {
    long long id;
    int attempts;                       /* made before this claim */
    int enabled;                        /* 0: endpoint disabled, row already failed by the claim */
    char event_id[OUTBOX_UUID_LEN];     /* the webhook-id */
    char endpoint_id[OUTBOX_UUID_LEN];
    char inbox_id[OUTBOX_UUID_LEN];
    char lease[OUTBOX_LEASE_LEN];       /* lease_until as the server printed it */
    char *url;
    char *secret;
    char *previous_secret;              /* NULL unless within its grace period */
    char *body;                         /* {"type": .., "timestamp": .., "data": ..} */
    size_t body_len;
    double created_at;                  /* the event's, Unix seconds (delivery lag) */
} outbox_job_t;

/* The result of one attempt. */
typedef struct {
    long long id;
    char inbox_id[OUTBOX_UUID_LEN];
    char endpoint_id[OUTBOX_UUID_LEN];
    char lease[OUTBOX_LEASE_LEN];
    int attempt;                        /* number of this attempt, 1-based */
    int status_code;                    /* 0: no HTTP answer */
    long latency_ms;
    long retry_ms;                      /* delay to the next attempt; -1: none (final) */
    char error[OUTBOX_ERROR_LEN];       /* "" when there is none */
} outbox_result_t;

/* An endpoint to disable, with the reason stored and reported. */
typedef struct {
    char endpoint_id[OUTBOX_UUID_LEN];
    char reason[128];
} outbox_disable_t;

/* Claims up to limit due deliveries, leasing them for lease_ms, skipping
 * the nskip endpoints in skip (ids; the caller's slow endpoints).  Returns
 * the number claimed (*jobs: an array the caller frees with
 * outbox_jobs_free), or -1 with err.  Rows of disabled endpoints are
 * failed by the same statement and come back with enabled = 0. */
int outbox_claim(store_t *store, int limit, long lease_ms, const char *const *skip, int nskip, outbox_job_t **jobs,
                 char *err, size_t errlen);
void outbox_jobs_free(outbox_job_t *jobs, int n);

/* Extends the leases of n deliveries still under way to now + lease_ms,
 * each only while the row is pending and still carries leases[i].  The
 * renewed rows' tokens are replaced in leases (in place); renewed[i] is
 * set to 1 for those, 0 for rows whose lease passed to another daemon (or
 * that were settled meanwhile).  Returns the number renewed, or -1 with
 * err (nothing changed). */
int outbox_renew(store_t *store, const long long *ids, char (*leases)[OUTBOX_LEASE_LEN], int *renewed, int n,
                 long lease_ms, char *err, size_t errlen);

/* Records n attempt results: delivery rows, one webhook_attempt row each,
 * and the endpoints' failing_since (a success clears it, a failure starts
 * it).  Endpoints failing for longer than disable_after_ms are written to
 * stale (room for n) and counted in *nstale.  0, or -1 with err (nothing
 * written). */
int outbox_record(store_t *store, const outbox_result_t *results, int n, long disable_after_ms,
                  outbox_disable_t *stale, int *nstale, char *err, size_t errlen);

/* Disables endpoints: enabled = false with the reason, their pending
 * deliveries failed, and an inbox.webhook_disabled event for each one
 * that belongs to an inbox.  Returns how many were disabled now (not
 * before), or -1 with err. */
int outbox_disable(store_t *store, const outbox_disable_t *endpoints, int n, char *err, size_t errlen);

/* Clears the leases of deliveries claimed but not finished (shutdown), so
 * they are due again at once.  Rows whose lease has since passed to
 * another daemon are left alone.  Returns the number released, or -1. */
int outbox_release(store_t *store, const long long *ids, const char (*leases)[OUTBOX_LEASE_LEN], int n, char *err,
                   size_t errlen);

#endif
