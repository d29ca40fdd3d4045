/*
 * limiter.h -- per-inbox daily cap and burst guard in Redis.
 *
 * Public: limiter_new, limiter_reserve, limiter_commit, limiter_refund,
 * limiter_usage, limiter_free.
 *
 * One Lua script decides both windows and reserves atomically, on the
 * Redis server's clock, so any number of milters on any number of hosts
 * enforce one cap.  Keys are hash-tagged by inbox id ("pi:{uuid}:...") so
 * every key of an inbox lives in one Redis Cluster slot:
 *   pi:{id}:burst    ZSET token -> reservation time (ms), last 60 s
 *   pi:{id}:daily    HASH UTC day number -> sends (reserved + committed)
 *   pi:{id}:pending  HASH token -> day, reservations not yet committed
 * A reservation counts at once; commit only forgets it is pending; a
 * refund removes it from both windows.  A reservation whose milter died is
 * never refunded: the cap errs on the side of sending less.
 * Every call has a deadline (hiredis socket timeout).  Logs nothing.
 */
#ifndef POSTINBOX_LIMITER_H
#define POSTINBOX_LIMITER_H

#include <stddef.h>

typedef enum { LIMIT_OK = 0, LIMIT_BURST, LIMIT_DAILY } limit_verdict_t;

typedef struct {
    limit_verdict_t verdict;
    long sends_today;   /* after this reservation when OK */
    long burst_used;    /* sends in the last 60 s, after this one when OK */
    long retry_ms;      /* LIMIT_BURST: until the oldest send leaves the window */
    long reset_epoch;   /* start of the next UTC day, seconds */
} limit_result_t;

typedef struct limiter limiter_t;

/* spec is "host:port" or "unix:/path"; NULL with err if unparsable.
 * Connections are opened lazily. */
limiter_t *limiter_new(const char *spec, int pool_size, int timeout_ms, char *err, size_t errlen);
void limiter_free(limiter_t *lim);

/* Reserves one send.  0 with res filled (see verdict), -1 on backend error. */
int limiter_reserve(limiter_t *lim, const char *inbox_id, int daily_limit, int burst_limit,
                    const char *token, limit_result_t *res, char *err, size_t errlen);
/* Makes reservations permanent.  0 or -1. */
int limiter_commit(limiter_t *lim, const char *inbox_id, const char *const *tokens, int ntokens,
                   char *err, size_t errlen);
/* Gives a reservation back; a token already committed or refunded is
 * left alone.  0 or -1. */
int limiter_refund(limiter_t *lim, const char *inbox_id, const char *token, char *err, size_t errlen);
/* Current usage without reserving. */
int limiter_usage(limiter_t *lim, const char *inbox_id, limit_result_t *res, char *err, size_t errlen);

#endif
