/*
 * limiter.h -- per-inbox daily cap and burst guard in Redis.
 *
 * Public: limiter_new, limiter_ping, limiter_reserve, limiter_settle, limiter_refund,
 * limiter_pending, limiter_set_seeder, limiter_seed_t,
 * limiter_set_reservation_timeout, limiter_usage, limiter_check,
 * limiter_reserve_n, limiter_free, limiter_set_metrics, limiter_set_wait_replicas.
 *
 * One Lua script decides both windows and reserves atomically, on the
 * Redis server's clock, so any number of milters on any number of hosts
 * enforce one cap.  Keys are hash-tagged by inbox id ("pi:{uuid}:...") so
 * every key of an inbox lives in one Redis Cluster slot:
 *   pi:{id}:burst    ZSET token -> reservation time (ms), last 60 s
 *   pi:{id}:daily    HASH UTC day number -> sends (reserved + final)
 *   pi:{id}:unsettled ZSET token -> reservation time (ms), reservations
 *                    whose transaction has not ended (or whose milter died);
 *                    older milters' pi:{id}:held is not read
 *   pi:{id}:settled  ZSET token -> reservation time (ms), reservations of
 *                    messages that reached end of message (last hour), which
 *                    a refund can still give back (a record that failed)
 *   pi:{id}:charged  ZSET token -> time (ms), charges of limiter_reserve_n
 *                    in the last 15 minutes (so a retried one is not doubled)
 *   pi:{id}:void     ZSET token -> time (ms), tokens given back (last hour):
 *                    a late reserve or settle of one charges nothing
 * A reservation counts at once.  At end of message the milter settles the
 * message's tokens (limiter_settle, one call for all of them) before the
 * record is written: the charge then stands unless refunded.  A
 * reservation still unsettled after the reservation timeout
 * (limiter_set_reservation_timeout; reservation_timeout in the config) is
 * leaked -- its milter was killed in the transaction -- and the scripts
 * that decide or show the counters (reserve, reserve_n, check, usage) give
 * it back first, off the day it was reserved on and off the burst window.
 * A settle that finds its token given back that way (a transaction slower
 * than the timeout) or lost with Redis's data charges it again if the day
 * has room (else the message is refused), so the count stays exact and
 * the cap holds.  A refund removes an unsettled or settled
 * reservation from both windows, once, within an hour (after that the
 * reservation stands).  A refund or settle Redis does not answer is queued
 * and retried in order by a thread of the limiter every second (for an
 * hour), so a reservation given up on while Redis was frozen comes back
 * once Redis does; the queue is the process's, so a milter that dies
 * loses it (an unsettled reservation is then given back as leaked, a
 * settled one whose refund was lost stands: the cap errs on the side of
 * sending less).
 * The policy service, which cannot see a transaction end, instead checks
 * without reserving at RCPT (limiter_check) and charges all recipients at
 * once, for good, at end of message (limiter_reserve_n).
 * A connection authenticates (AUTH [user] password, lib/util/redis_addr.h)
 * right after connecting, within the same deadline; a refused AUTH fails
 * the call as Redis being down would, with an error naming the address
 * and the user, never the password.
 * Every call has a deadline (hiredis socket timeout) and is timed (and
 * counted when it fails) in the metrics given to limiter_set_metrics, as
 * backend "redis", call reserve, settle, refund, usage, check or
 * reserve_n.  Logs nothing.
 */
#ifndef POSTINBOX_LIMITER_H
#define POSTINBOX_LIMITER_H

#include <stddef.h>

#include "limit.h"
#include "metrics.h"

typedef struct limiter limiter_t;

/* An inbox's sends of one UTC day as the database knows them, to rebuild
 * counters Redis lost (restarted empty, failed over to an empty replica,
 * flushed): the sends of that day, and the minute before a moment in
 * per-second buckets (time ms rounded up, count).  The day and the moment
 * are Redis's (its TIME when a script found the counters missing), never
 * the database's own clock: the two may disagree at midnight. */
#define LIMITER_SEED_BURST_MAX 64
typedef struct {
    long sends_today;
    struct {
        long long ms;
        int sends;
    } burst[LIMITER_SEED_BURST_MAX];
    int nburst;
} limiter_seed_t;
/* Fills out with the sends of UTC day number day (00:00 to 24:00 UTC) and
 * the 61 s before now_ms (epoch ms).  0, or -1 with err. */
typedef int (*limiter_seeder_fn)(void *ctx, const char *inbox_id, long day, long long now_ms, limiter_seed_t *out,
                                 char *err, size_t errlen);


/* spec is the redis config value (lib/util/redis_addr.h); password_file
 * (NULL or "" = none) holds the password instead, read here once
 * (lib/util/secret_file.h).  NULL with err if either is unusable.
 * Connections are opened lazily. */
limiter_t *limiter_new(const char *spec, const char *password_file, int pool_size, int timeout_ms, char *err,
                       size_t errlen);
void limiter_free(limiter_t *lim);
/* redis_wait_replicas: n > 0 makes every reservation wait (WAIT n, half
 * the backend deadline) until n replicas hold it; one they do not confirm
 * is refunded and the call fails (the caller answers as for a Redis
 * fault).  0: none (the default). */
void limiter_set_wait_replicas(limiter_t *lim, int n);
/* PING within the deadline (a pooled connection, opened and authenticated
 * if need be; a NOPERM answer counts: the server is there): 0, or -1 with
 * err. */
int limiter_ping(limiter_t *lim, char *err, size_t errlen);
/* Where counters Redis does not know come from.  Every script asks for
 * the day's seed mark.  A new day whose previous day Redis knew (its mark
 * is there) needs nothing: Redis has counted every send since, so the
 * script marks the new day itself, and the last minute's reservations stay
 * in the burst window as they are.  Otherwise (Redis lost its data, or the
 * inbox's first send in two days) the limiter calls fn once with the day
 * and time the script saw, seeds Redis with what it returns (once,
 * whoever comes first), and runs the call again, so no decision is ever
 * made from an empty counter.  Without a seeder, or when fn fails, the
 * call fails (451 4.3.0).  Sends reserved but not yet recorded when Redis
 * lost its data are not in the database: a cap can be passed by at most
 * the transactions in flight at that moment. */
void limiter_set_seeder(limiter_t *lim, limiter_seeder_fn fn, void *ctx);
/* How long a reservation may stay unsettled (not settled, not refunded) before
 * it counts as leaked and is given back (ms > 0; default 900 s).  It must
 * exceed the longest SMTP transaction Postfix allows, or the sends of a
 * slow one are given back while it runs (the settle charges them again, so
 * the count stays exact, but others may take their place under the cap
 * meanwhile).  Every process sharing a Redis should use the same value:
 * the shortest wins. */
void limiter_set_reservation_timeout(limiter_t *lim, long ms);
/* Times every later call into metrics (copied; its families must outlive
 * the limiter). */
void limiter_set_metrics(limiter_t *lim, const metrics_backend_t *metrics);

/* Reserves one send.  0 with res filled (see verdict), -1 on backend error. */
int limiter_reserve(limiter_t *lim, const char *inbox_id, int daily_limit, int burst_limit,
                    const char *token, limit_result_t *res, char *err, size_t errlen);
/* End of message: settles the reservations tokens[0..n) of one message,
 * in one script call: they are no longer unsettled, so never given back as
 * leaked; a refund still gives them back.  Tokens given back as leaked
 * meanwhile (a transaction slower than the reservation timeout) or lost
 * with Redis's data are charged again (res->recharged of them) if they
 * all fit under daily_limit (< 0: no check); if not, none is, and
 * res->verdict is LIMIT_DAILY (sends_today, reset_epoch as for a reserve):
 * the caller refuses the message and refunds its tokens.  Returns 0 when
 * Redis answered, 1 when it did not and each token's settle waits in the
 * queue the refunds wait in, retried without a cap check (err says why),
 * -1 when they cannot be queued (err). */
int limiter_settle(limiter_t *lim, const char *inbox_id, int daily_limit, const char *const *tokens, size_t n,
                   limit_result_t *res, char *err, size_t errlen);
/* Gives back a reservation (limiter_reserve; n is 1) or a charge of n
 * sends (limiter_reserve_n), once.  A token whose script has not run --
 * a call that timed out while Redis was frozen, whose script still waits
 * in Redis's socket -- is voided: when it runs late it charges nothing.
 * So a caller that gave up on a reserve or charge refunds its token.
 * Returns 0 when Redis answered (given back, voided, or already refunded
 * or older than an hour), 1 when Redis did not answer and the refund waits
 * in a queue a thread retries every second until it is made (err says
 * why), -1 when it cannot even be queued (err). */
int limiter_refund(limiter_t *lim, const char *inbox_id, const char *token, int n, char *err, size_t errlen);
/* Refunds and settles waiting for Redis (for tests and metrics). */
size_t limiter_pending(limiter_t *lim);
/* Current usage without reserving (leaked reservations given back first). */
int limiter_usage(limiter_t *lim, const char *inbox_id, limit_result_t *res, char *err, size_t errlen);

/* Would n (>= 1) more sends fit in both windows?  Reserves nothing.  0 with
 * res filled (verdict as by limiter_reserve; the counts are those already
 * charged; BURST: retry_ms until n more would fit, the whole window if n
 * exceeds the burst limit), -1 on backend error. */
int limiter_check(limiter_t *lim, const char *inbox_id, int daily_limit, int burst_limit, int n,
                  limit_result_t *res, char *err, size_t errlen);
/* Charges n (>= 1) sends at once, all or nothing, in one script: nothing
 * is charged unless all n fit in both windows (OK: the counts include the
 * n; refused: as limiter_check).  The charge is final (no
 * commit, no refund); the burst window gets members token:1 .. token:n.
 * A token charged within the last 15 minutes is not charged again:
 * res->already_charged is set and the verdict is OK.  0 or -1. */
int limiter_reserve_n(limiter_t *lim, const char *inbox_id, int daily_limit, int burst_limit, int n,
                      const char *token, limit_result_t *res, char *err, size_t errlen);

#endif
