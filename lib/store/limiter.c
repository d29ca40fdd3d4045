/*
 * limiter.c -- Redis scripts for the caps, over a pool of hiredis
 * contexts.  See limiter.h.
 */
#include "limiter.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "clock.h"
#include "pool.h"
#include "redis_addr.h"
#include "secret_file.h"

#define LIMITER_WINDOW_MS 60000
#define LIMITER_CHARGED_MS (15 * 60000)   /* how long reserve_n remembers a token */
#define LIMITER_HOLD_MS (60 * 60000)      /* how long a reservation can be refunded, a voided token remembered */
#define LIMITER_VOID 3                    /* a script's verdict: the token was given back before it ran */
#define LIMITER_EVAL_ARGS (16 + 2 * LIMITER_SEED_BURST_MAX)
#define LIMITER_UNSEEDED 4                /* a script's verdict: today's counters are not known to Redis */
#define LIMITER_PENDING_MAX 100000        /* refunds and settles waiting for Redis to answer again */
#define LIMITER_RETRY_MS 1000             /* how often the waiting refunds and settles are tried */
#define LIMITER_LEAKS_PER_CALL 256        /* leaked reservations one script gives back at most */
#define LIMITER_DAILY_KEEP_S 172800       /* the daily hash (and unsettled) outlive two days of quiet */
#define LIMITER_RESERVATION_TIMEOUT_MS 900000 /* limiter_set_reservation_timeout's default */

/* Every script that reads today's counters first asks for the day's seed
 * mark (KEYS[2] is the daily hash; day and now are set).  A day whose
 * previous day's mark is there gets its own at once: Redis has counted
 * every send since it was seeded, so the new day starts from what Redis
 * has (the burst window keeps the last minute's reservations as they are,
 * and a send reserved before midnight and recorded after it is not counted
 * in both days, as a seed from the database's rows would).  Otherwise the
 * script returns UNSEEDED with the day and time it saw, which the seeder
 * is asked about. */
#define LIMITER_SEEDED_LUA(unseeded)                                                                  \
    "if redis.call('HEXISTS', KEYS[2], 's' .. day) == 0 then\n"                                      \
    "  if redis.call('HEXISTS', KEYS[2], 's' .. (day - 1)) == 0 then return " unseeded " end\n"     \
    "  redis.call('HSET', KEYS[2], 's' .. day, 1)\n"                                                 \
    "end\n"

/* The start of every script that decides or shows an inbox's counters:
 * gives back the leaked reservations, those still unsettled (never
 * settled, never refunded) longer than the reservation timeout -- their milter died
 * in the transaction.  Each is taken off the day it was reserved on and
 * off the burst window, at most LIMITER_LEAKS_PER_CALL per call (the next
 * call goes on), so a script's work stays bounded.  Needs `now`; its
 * arguments are the keys burst, daily, unsettled and the timeout in ms. */
#define LIMITER_LEAKED_LUA                                                                         \
    "local function give_back_leaked(burst_key, daily_key, unsettled_key, timeout)\n"                  \
    "  local old = redis.call('ZRANGEBYSCORE', unsettled_key, '-inf', now - tonumber(timeout),\n"      \
    "                         'WITHSCORES', 'LIMIT', 0, " LIMITER_STR(LIMITER_LEAKS_PER_CALL) ")\n" \
    "  for i = 1, #old, 2 do\n"                                                                    \
    "    local d = math.floor(tonumber(old[i + 1]) / 86400000)\n"                                  \
    "    local have = tonumber(redis.call('HGET', daily_key, d) or '0')\n"                         \
    "    if have > 0 then redis.call('HINCRBY', daily_key, d, -1) end\n"                           \
    "    redis.call('ZREM', burst_key, old[i])\n"                                                  \
    "    redis.call('ZREM', unsettled_key, old[i])\n"                                                   \
    "  end\n"                                                                                     \
    "end\n"
#define LIMITER_STR_(x) #x
#define LIMITER_STR(x) LIMITER_STR_(x)

/* KEYS: burst, daily, unsettled, void.  ARGV: daily limit, burst limit, token,
 * window ms, reservation timeout ms.  Returns {verdict, sends today, burst
 * used, retry ms, reset}; verdict 3 (LIMITER_VOID) when the token was given
 * back before the script ran (a reservation that arrived late).  A
 * reservation leaves unsettled when it is settled (settle_lua), refunded,
 * or given back as leaked; the key outlives two quiet days, as daily does.
 * (The key is new with the settle: `held`, which older milters write and
 * never empty at end of message, is not read, so their finished sends are
 * never taken for leaked ones during an upgrade.) */
static const char reserve_lua[] =
    "if redis.call('ZSCORE', KEYS[4], ARGV[3]) then return {3, 0, 0, 0, 0} end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local day = math.floor(tonumber(t[1]) / 86400)\n"
    LIMITER_SEEDED_LUA("{4, day, now, 0, 0}")
    LIMITER_LEAKED_LUA
    "give_back_leaked(KEYS[1], KEYS[2], KEYS[3], ARGV[5])\n"
    "local window = tonumber(ARGV[4])\n"
    "local reset = (day + 1) * 86400\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)\n"
    "local daily = tonumber(redis.call('HGET', KEYS[2], day) or '0')\n"
    "local burst = redis.call('ZCARD', KEYS[1])\n"
    "if daily >= tonumber(ARGV[1]) then return {2, daily, burst, 0, reset} end\n"
    "if burst >= tonumber(ARGV[2]) then\n"
    "  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "  return {1, daily, burst, tonumber(oldest[2]) + window - now, reset}\n"
    "end\n"
    "redis.call('ZADD', KEYS[1], now, ARGV[3])\n"
    "redis.call('PEXPIRE', KEYS[1], window + 1000)\n"
    "daily = redis.call('HINCRBY', KEYS[2], day, 1)\n"
    /* Housekeeping once a day, at the day's first send: drop old days
     * and push the key's expiry past the end of today. */
    "if daily == 1 then\n"
    "  for _, d in ipairs(redis.call('HKEYS', KEYS[2])) do\n"
    "    if (tonumber((string.gsub(d, '^s', ''))) or day) < day - 1 then redis.call('HDEL', KEYS[2], d) end\n"
    "  end\n"
    "  redis.call('EXPIRE', KEYS[2], 172800)\n"
    "end\n"
    "redis.call('ZADD', KEYS[3], now, ARGV[3])\n"
    "redis.call('EXPIRE', KEYS[3], " LIMITER_STR(LIMITER_DAILY_KEEP_S) ")\n"
    "return {0, daily, burst + 1, 0, reset}\n";

/* End of message: the message's reservations are settled, moved from
 * unsettled to settled with their reservation time, so they are never given back as
 * leaked (the charge stands) yet a refund still finds them (a record that
 * fails after the settle gives them back).  A token neither unsettled,
 * settled nor voided was given back meanwhile as leaked (a transaction slower than
 * the reservation timeout) or lost with Redis's data: it is charged again,
 * now, so the count stays exact -- if the day still has room for all of
 * them (daily limit ARGV[3]; "" = no check, for a settle retried after the
 * message was accepted), counted after the other leaked reservations are
 * given back (timeout ARGV[4]); else nothing is charged again and the
 * verdict is 2 (daily), and the caller refuses the message and refunds it.  A token
 * already settled or voided (refunded) is left alone, so a settle retried
 * after a lost answer changes nothing.  settled keeps the last hold ms.
 * KEYS: burst, daily, unsettled, settled, void.  ARGV: window ms, hold ms,
 * daily limit, reservation timeout ms, then the tokens.  Returns {verdict, sends today, tokens charged
 * again (or that would have been), reset}, or {4 (LIMITER_UNSEEDED), day,
 * now, 0} when one must be charged and Redis does not know today's
 * counters. */
static const char settle_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local day = math.floor(tonumber(t[1]) / 86400)\n"
    "local reset = (day + 1) * 86400\n"
    "local again = {}\n"
    "for i = 5, #ARGV do\n"
    "  local tok = ARGV[i]\n"
    "  local at = redis.call('ZSCORE', KEYS[3], tok)\n"
    "  if at then\n"
    "    redis.call('ZREM', KEYS[3], tok)\n"
    "    redis.call('ZADD', KEYS[4], at, tok)\n"
    "  elseif not redis.call('ZSCORE', KEYS[4], tok) and not redis.call('ZSCORE', KEYS[5], tok) then\n"
    "    again[#again + 1] = tok\n"
    "  end\n"
    "end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[2]))\n"
    "redis.call('PEXPIRE', KEYS[4], ARGV[2])\n"
    "if #again == 0 then return {0, 0, 0, reset} end\n"
    LIMITER_SEEDED_LUA("{4, day, now, 0}")
    LIMITER_LEAKED_LUA
    "give_back_leaked(KEYS[1], KEYS[2], KEYS[3], ARGV[4])\n"
    "local daily = tonumber(redis.call('HGET', KEYS[2], day) or '0')\n"
    "if ARGV[3] ~= '' and daily + #again > tonumber(ARGV[3]) then return {2, daily, #again, reset} end\n"
    "for _, tok in ipairs(again) do\n"
    "  redis.call('ZADD', KEYS[1], now, tok)\n"
    "  redis.call('ZADD', KEYS[4], now, tok)\n"
    "end\n"
    "redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 1000)\n"
    "daily = redis.call('HINCRBY', KEYS[2], day, #again)\n"
    "redis.call('EXPIRE', KEYS[2], " LIMITER_STR(LIMITER_DAILY_KEEP_S) ")\n"
    "return {0, daily, #again, reset}\n";

/* Gives back a reservation (unsettled, or settled at end of message) or a
 * charge of ARGV[2] sends (charged), once.  A reservation given back, and
 * a token that is none of these -- its script has not run yet, or never
 * will, or it was given back as leaked -- is voided, so that it charges
 * nothing if its reserve runs late or its settle comes after.
 * KEYS: burst, daily, unsettled, charged, void, settled.  ARGV: token, n, hold ms.
 * Returns 1 if something was given back, 0 if the token was only voided. */
static const char refund_lua[] =
    "local token, n = ARGV[1], tonumber(ARGV[2])\n"
    "local at = redis.call('ZSCORE', KEYS[3], token)\n"
    "local reservation = at\n"
    "if at then\n"
    "  redis.call('ZREM', KEYS[3], token)\n"
    "else\n"
    "  at = redis.call('ZSCORE', KEYS[6], token)\n"
    "  reservation = at\n"
    "  if at then redis.call('ZREM', KEYS[6], token) end\n"
    "end\n"
    "if at then\n"
    "  redis.call('ZREM', KEYS[1], token)\n"
    "  n = 1\n"
    "else\n"
    "  at = redis.call('ZSCORE', KEYS[4], token)\n"
    "  if at then\n"
    "    redis.call('ZREM', KEYS[4], token)\n"
    "    for i = 1, n do redis.call('ZREM', KEYS[1], token .. ':' .. i) end\n"
    "  end\n"
    "end\n"
    "if reservation or not at then\n"
    "  local t = redis.call('TIME')\n"
    "  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[3]))\n"
    "  redis.call('ZADD', KEYS[5], now, token)\n"
    "  redis.call('PEXPIRE', KEYS[5], ARGV[3])\n"
    "end\n"
    "if not at then return 0 end\n"
    "local day = math.floor(tonumber(at) / 86400000)\n"
    "local have = tonumber(redis.call('HGET', KEYS[2], day) or '0')\n"
    "if have > 0 then redis.call('HINCRBY', KEYS[2], day, -math.min(n, have)) end\n"
    "return 1\n";

/* KEYS: burst, daily, unsettled.  ARGV: window ms, reservation timeout ms.
 * Gives back the leaked reservations first (the only write).  Returns
 * {0, sends today, burst used, 0, reset}. */
static const char usage_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local day = math.floor(tonumber(t[1]) / 86400)\n"
    LIMITER_SEEDED_LUA("{4, day, now, 0, 0}")
    LIMITER_LEAKED_LUA
    "give_back_leaked(KEYS[1], KEYS[2], KEYS[3], ARGV[2])\n"
    "local daily = tonumber(redis.call('HGET', KEYS[2], day) or '0')\n"
    "local burst = redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')\n"
    "return {0, daily, burst, 0, (day + 1) * 86400}\n";

/* KEYS: burst, daily, charged, void, unsettled.  ARGV: daily limit, burst limit,
 * n, window ms, token ("" = only check), charged memory ms, reservation
 * timeout ms (the leaked reservations are given back first).  Returns {verdict,
 * sends today, burst used, retry ms, reset, already charged}; verdict 3
 * (LIMITER_VOID) for a token given back before the script ran.  Nothing
 * is written unless all n fit (besides trimming expired window entries). */
static const char reserve_n_lua[] =
    "if ARGV[5] ~= '' and redis.call('ZSCORE', KEYS[4], ARGV[5]) then return {3, 0, 0, 0, 0, 0} end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local day = math.floor(tonumber(t[1]) / 86400)\n"
    LIMITER_SEEDED_LUA("{4, day, now, 0, 0, 0}")
    LIMITER_LEAKED_LUA
    "give_back_leaked(KEYS[1], KEYS[2], KEYS[5], ARGV[7])\n"
    "local n = tonumber(ARGV[3])\n"
    "local window = tonumber(ARGV[4])\n"
    "local token = ARGV[5]\n"
    "local reset = (day + 1) * 86400\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)\n"
    "local daily = tonumber(redis.call('HGET', KEYS[2], day) or '0')\n"
    "local burst = redis.call('ZCARD', KEYS[1])\n"
    "if token ~= '' then\n"
    "  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[6]))\n"
    "  if redis.call('ZSCORE', KEYS[3], token) then return {0, daily, burst, 0, reset, 1} end\n"
    "end\n"
    "if daily + n > tonumber(ARGV[1]) then return {2, daily, burst, 0, reset, 0} end\n"
    "local over = burst + n - tonumber(ARGV[2])\n"
    "if over > 0 then\n"
    "  local retry = window\n"
    "  if over <= burst then\n"
    "    local e = redis.call('ZRANGE', KEYS[1], over - 1, over - 1, 'WITHSCORES')\n"
    "    retry = tonumber(e[2]) + window - now\n"
    "  end\n"
    "  return {1, daily, burst, retry, reset, 0}\n"
    "end\n"
    "if token == '' then return {0, daily, burst, 0, reset, 0} end\n"
    "for i = 1, n do redis.call('ZADD', KEYS[1], now, token .. ':' .. i) end\n"
    "redis.call('PEXPIRE', KEYS[1], window + 1000)\n"
    "daily = redis.call('HINCRBY', KEYS[2], day, n)\n"
    "if redis.call('HLEN', KEYS[2]) > 1 then\n"
    "  for _, d in ipairs(redis.call('HKEYS', KEYS[2])) do\n"
    "    if (tonumber((string.gsub(d, '^s', ''))) or day) < day - 1 then redis.call('HDEL', KEYS[2], d) end\n"
    "  end\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[2], 172800)\n"
    "redis.call('ZADD', KEYS[3], now, token)\n"
    "redis.call('PEXPIRE', KEYS[3], ARGV[6])\n"
    "return {0, daily, burst + n, 0, reset, 0}\n";

/* Today's counters rebuilt from the database, once: sets the day's count
 * and the last minute's sends, and the day's seed mark 's<day>' that the
 * other scripts ask for.  A second seeder of the same day changes nothing.
 * KEYS: burst, daily.  ARGV: day (UTC day number the count is for, the one
 * a script returned UNSEEDED for), count, window ms, then pairs (time ms,
 * sends) of the last window.  Returns 1 when it seeded, 0 when the day was
 * seeded already or is no longer Redis's today (midnight passed between the
 * two scripts: the caller asks again). */
static const char seed_lua[] =
    "local t = redis.call('TIME')\n"
    "local day = math.floor(tonumber(t[1]) / 86400)\n"
    "if tonumber(ARGV[1]) ~= day or redis.call('HEXISTS', KEYS[2], 's' .. day) == 1 then return 0 end\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('HSET', KEYS[2], day, ARGV[2], 's' .. day, 1)\n"
    "redis.call('EXPIRE', KEYS[2], 172800)\n"
    "for i = 4, #ARGV - 1, 2 do\n"
    "  local at = tonumber(ARGV[i])\n"
    "  if at > now - tonumber(ARGV[3]) then\n"
    "    for k = 1, tonumber(ARGV[i + 1]) do redis.call('ZADD', KEYS[1], at, 'seed:' .. at .. ':' .. k) end\n"
    "  end\n"
    "end\n"
    "redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 1000)\n"
    "return 1\n";

typedef struct {
    const char *source;
    char sha[41];
} limiter_script_t;

/* What a script that found today's counters missing saw: Redis's UTC day
 * and time, the day and moment the seeder is asked about. */
typedef struct {
    long day;
    long long now_ms;
} limiter_unseeded_t;

/* The calls that read today's counters (and so may need a seed). */
typedef enum { LIMITER_CALL_RESERVE, LIMITER_CALL_USAGE, LIMITER_CALL_CHECK, LIMITER_CALL_RESERVE_N } limiter_call_t;

/* The arguments of one of them. */
typedef struct {
    const char *inbox_id;
    int daily_limit, burst_limit, n;
    const char *token;
} limiter_args_t;

/* A refund (of n sends) or a settle (of one token) Redis did not answer. */
typedef struct {
    char inbox_id[40];
    char token[128];
    int n;
    int settle;
    long long since_ms;
} limiter_pending_t;

struct limiter {
    redis_addr_t addr;  /* where, and the credentials (the password never leaves it) */
    char who[400];      /* redis_addr_describe of addr, for errors */
    int timeout_ms;
    long reservation_timeout_ms; /* an unsettled reservation older than this is leaked */
    int wait_replicas;           /* > 0: a reservation is WAITed for by this many replicas */
    atomic_int first_sentinel;   /* sentinel form: the one that answered last, asked first */
    pool_t *pool;
    limiter_script_t reserve, refund, usage, reserve_n, seed, settle;
    metrics_backend_t metrics;  /* zero: none */
    limiter_seeder_fn seeder;   /* NULL: counters Redis lost are an error */
    void *seeder_ctx;
    /* Refunds and settles Redis did not answer, retried in order by a
     * thread until they are made (or older than LIMITER_HOLD_MS). */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    limiter_pending_t *pending;
    size_t npending, cap;
    int stopping, thread_started;
    pthread_t thread;
};

static struct timeval
limiter_timeval(int ms)
{
    return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

/* AUTH [user] password on a fresh connection, within the time left of
 * the open's deadline.  0, or -1 with err naming the user, never the
 * password. */
static int
limiter_auth(limiter_t *lim, redisContext *c, long long deadline_ms, char *err, size_t errlen)
{
    const char *argv[3] = { "AUTH" };
    size_t lens[3] = { 4 };
    int argc = 1;
    int left = (int)(deadline_ms - clock_ms());

    if (redisSetTimeout(c, limiter_timeval(left > 0 ? left : 1)) != REDIS_OK) {
        snprintf(err, errlen, "redis setsockopt timeout: %s", c->errstr);
        return -1;
    }
    if (lim->addr.user[0] != '\0') {
        argv[argc] = lim->addr.user;
        lens[argc++] = strlen(lim->addr.user);
    }
    argv[argc] = lim->addr.password;
    lens[argc++] = strlen(lim->addr.password);
    redisReply *reply = redisCommandArgv(c, argc, argv, lens);
    if (reply == NULL) {
        snprintf(err, errlen, "redis AUTH at %s: %s", lim->who, c->errstr[0] ? c->errstr : "no reply");
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        /* Redis does not echo the password; should one ever, it is cut. */
        char *echo = strstr(reply->str, lim->addr.password);
        if (echo != NULL)
            *echo = '\0';
        snprintf(err, errlen, "redis AUTH refused at %s: %s", lim->who, reply->str);
        freeReplyObject(reply);
        return -1;
    }
    freeReplyObject(reply);
    return 0;
}

/* A connection to host:port (port 0: a unix socket) within the time left
 * until deadline_ms, its socket timeout set to the same.  NULL with err. */
static redisContext *
limiter_connect(const char *host, int port, long long deadline_ms, char *err, size_t errlen)
{
    int left = (int)(deadline_ms - clock_ms());
    struct timeval tv = limiter_timeval(left > 0 ? left : 1);
    redisContext *c = port ? redisConnectWithTimeout(host, port, tv) : redisConnectUnixWithTimeout(host, tv);
    if (c == NULL || c->err) {
        snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, errlen, "setsockopt timeout: %s", c->errstr);
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Where one sentinel says master lim->addr.master is: 0 with host/port,
 * or -1 with err (it is down, or knows no such master). */
static int
limiter_ask_sentinel(limiter_t *lim, const redis_hostport_t *s, long long deadline_ms, char *host, size_t hostlen,
                     int *port, char *err, size_t errlen)
{
    char cerr[200];
    redisContext *c = limiter_connect(s->host, s->port, deadline_ms, cerr, sizeof(cerr));
    if (c == NULL) {
        snprintf(err, errlen, "sentinel %s:%d: %s", s->host, s->port, cerr);
        return -1;
    }
    redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", lim->addr.master);
    int rc = -1;
    if (r == NULL)
        snprintf(err, errlen, "sentinel %s:%d: %s", s->host, s->port, c->errstr[0] ? c->errstr : "no reply");
    else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
             r->element[1]->type == REDIS_REPLY_STRING && r->element[0]->len < hostlen) {
        snprintf(host, hostlen, "%s", r->element[0]->str);
        *port = atoi(r->element[1]->str);
        rc = *port > 0 && *port <= 65535 ? 0 : -1;
        if (rc != 0)
            snprintf(err, errlen, "sentinel %s:%d: a bad port for %s", s->host, s->port, lim->addr.master);
    } else if (r->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "sentinel %s:%d: %s", s->host, s->port, r->str);
    else
        snprintf(err, errlen, "sentinel %s:%d knows no master %s", s->host, s->port, lim->addr.master);
    freeReplyObject(r);
    redisFree(c);
    return rc;
}

/* 1 when c is the master (ROLE), 0 when it is not, -1 on no answer.  A
 * sentinel's answer can be stale for a moment around a failover: the
 * demoted master, now a replica, is not used. */
static int
limiter_is_master(redisContext *c)
{
    redisReply *r = redisCommand(c, "ROLE");
    int rc = r == NULL ? -1
             : r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_STRING
                 ? strcmp(r->element[0]->str, "master") == 0
             : r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6) == 0 ? 1 /* not ours to ask: trust it */
                                                                                   : 0;
    freeReplyObject(r);
    return rc;
}

/* A connection to the server at host:port, authenticated. */
static redisContext *
limiter_open_at(limiter_t *lim, const char *host, int port, long long deadline_ms, char *err, size_t errlen)
{
    char cerr[200];
    redisContext *c = limiter_connect(host, port, deadline_ms, cerr, sizeof(cerr));
    if (c == NULL) {
        if (lim->addr.nsentinels > 0)
            snprintf(err, errlen, "redis connect %s:%d (named by a sentinel): %s", host, port, cerr);
        else
            snprintf(err, errlen, "redis connect %s: %s", lim->who, cerr);
        return NULL;
    }
    if (lim->addr.has_password && limiter_auth(lim, c, deadline_ms, err, errlen) != 0) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* The sentinel form: each sentinel in turn (the one that answered last
 * first) is asked for the master, which must say it is one. */
static redisContext *
limiter_open_sentinel(limiter_t *lim, long long deadline_ms, char *err, size_t errlen)
{
    int n = lim->addr.nsentinels, first = atomic_load(&lim->first_sentinel);
    char host[256], why[700] = "no sentinel asked";
    for (int k = 0; k < n && clock_ms() < deadline_ms; k++) {
        int i = (first + k) % n, port;
        if (limiter_ask_sentinel(lim, &lim->addr.sentinel[i], deadline_ms, host, sizeof(host), &port, why,
                                 sizeof(why)) != 0)
            continue;
        redisContext *c = limiter_open_at(lim, host, port, deadline_ms, why, sizeof(why));
        if (c == NULL)
            continue;
        int master = limiter_is_master(c);
        if (master == 1) {
            atomic_store(&lim->first_sentinel, i);
            return c;
        }
        snprintf(why, sizeof(why), "sentinel %s:%d names %s:%d, which %s", lim->addr.sentinel[i].host,
                 lim->addr.sentinel[i].port, host, port, master == 0 ? "is not a master (a failover under way)"
                                                                      : "did not answer ROLE");
        redisFree(c);
    }
    snprintf(err, errlen, "redis: no reachable master %s (%s)", lim->addr.master, why);
    return NULL;
}

static void *
limiter_open(void *arg, int timeout_ms, char *err, size_t errlen)
{
    limiter_t *lim = arg;
    long long deadline_ms = clock_ms() + timeout_ms;
    redisContext *c = lim->addr.nsentinels > 0 ? limiter_open_sentinel(lim, deadline_ms, err, errlen)
                                               : limiter_open_at(lim, lim->addr.host, lim->addr.port, deadline_ms, err,
                                                                 errlen);
    if (c == NULL)
        return NULL;
    if (redisSetTimeout(c, limiter_timeval(lim->timeout_ms)) != REDIS_OK) {
        snprintf(err, errlen, "redis setsockopt timeout: %s", c->errstr);
        redisFree(c);
        return NULL;
    }
    return c;
}

static void
limiter_close(void *handle)
{
    redisFree(handle);
}

/* An idle connection with something to read was closed or reset by a
 * server that went away (a restart, a failover): replace it before use. */
static int
limiter_alive(void *handle)
{
    redisContext *c = handle;
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    return c->err == 0 && c->fd >= 0 && poll(&pfd, 1, 0) == 0;
}

static const pool_ops_t limiter_pool_ops = { .open = limiter_open, .close = limiter_close, .alive = limiter_alive };

/* SHA1 hex of a script, as Redis names it for EVALSHA. */
static void
limiter_script_init(limiter_script_t *s, const char *source)
{
    unsigned char md[20];
    s->source = source;
    SHA1((const unsigned char *)source, strlen(source), md);
    for (int i = 0; i < 20; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
}

limiter_t *
limiter_new(const char *spec, const char *password_file, int pool_size, int timeout_ms, char *err, size_t errlen)
{
    char perr[256];
    limiter_t *lim = calloc(1, sizeof(*lim));
    if (lim == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&lim->mu, NULL);
    pthread_cond_init(&lim->wake, NULL);
    if (redis_addr_parse(spec, &lim->addr, perr, sizeof(perr)) != 0) {
        snprintf(err, errlen, "redis %s", perr);
        free(lim);
        return NULL;
    }
    if (password_file != NULL && *password_file != '\0') {
        if (lim->addr.has_password) {
            snprintf(err, errlen, "redis has a password and redis_password_file is set: give one of them");
            limiter_free(lim);
            return NULL;
        }
        if (secret_file_read(password_file, lim->addr.password, sizeof(lim->addr.password), perr, sizeof(perr)) < 0) {
            snprintf(err, errlen, "redis_password_file %s", perr);
            limiter_free(lim);
            return NULL;
        }
        lim->addr.has_password = 1;
    } else if (lim->addr.user[0] != '\0' && !lim->addr.has_password) {
        snprintf(err, errlen, "redis names user %s but no password", lim->addr.user);
        limiter_free(lim);
        return NULL;
    }
    redis_addr_describe(&lim->addr, lim->who, sizeof(lim->who));
    lim->timeout_ms = timeout_ms;
    lim->reservation_timeout_ms = LIMITER_RESERVATION_TIMEOUT_MS;
    limiter_script_init(&lim->reserve, reserve_lua);
    limiter_script_init(&lim->refund, refund_lua);
    limiter_script_init(&lim->usage, usage_lua);
    limiter_script_init(&lim->reserve_n, reserve_n_lua);
    limiter_script_init(&lim->seed, seed_lua);
    limiter_script_init(&lim->settle, settle_lua);
    lim->pool = pool_new(&limiter_pool_ops, lim, pool_size);
    if (lim->pool == NULL) {
        snprintf(err, errlen, "out of memory");
        limiter_free(lim);
        return NULL;
    }
    return lim;
}

void
limiter_set_seeder(limiter_t *lim, limiter_seeder_fn fn, void *ctx)
{
    lim->seeder = fn;
    lim->seeder_ctx = ctx;
}

void
limiter_set_reservation_timeout(limiter_t *lim, long ms)
{
    if (lim && ms > 0)
        lim->reservation_timeout_ms = ms;
}

void
limiter_set_wait_replicas(limiter_t *lim, int n)
{
    lim->wait_replicas = n > 0 ? n : 0;
}

void
limiter_set_metrics(limiter_t *lim, const metrics_backend_t *metrics)
{
    if (lim && metrics)
        lim->metrics = *metrics;
}

void
limiter_free(limiter_t *lim)
{
    if (lim == NULL)
        return;
    if (lim->thread_started) {
        pthread_mutex_lock(&lim->mu);
        lim->stopping = 1;
        pthread_cond_signal(&lim->wake);
        pthread_mutex_unlock(&lim->mu);
        pthread_join(lim->thread, NULL);
    }
    pool_free(lim->pool);
    redis_addr_clear(&lim->addr);
    free(lim->pending);
    pthread_mutex_destroy(&lim->mu);
    pthread_cond_destroy(&lim->wake);
    free(lim);
}

/* Whether a failed command failed because the connection was already
 * dead (closed or reset by a server that went away), not because it timed
 * out: then it cannot have run. */
static int
limiter_stale(const redisContext *c)
{
    if (c->err == REDIS_ERR_EOF)
        return 1;
    return c->err == REDIS_ERR_IO && (c->errstr[0] == '\0' || strstr(c->errstr, "reset") != NULL ||
                                      strstr(c->errstr, "Broken pipe") != NULL);
}

/* After a durable script's reply on c: WAIT until lim->wait_replicas
 * replicas have it, for at most half the call's deadline (the socket's
 * timeout is the whole).  0, or -1 with err (the write is on the master
 * only: lost if it dies now); *broken when c is unusable. */
static int
limiter_wait_replicas(limiter_t *lim, redisContext *c, int *broken, char *err, size_t errlen)
{
    int wait_ms = lim->timeout_ms / 2 > 0 ? lim->timeout_ms / 2 : 1;
    redisReply *w = redisCommand(c, "WAIT %d %d", lim->wait_replicas, wait_ms);
    int rc = -1;
    if (w == NULL) {
        snprintf(err, errlen, "redis WAIT: %s", c->errstr[0] ? c->errstr : "no reply");
        *broken = 1;
    } else if (w->type == REDIS_REPLY_INTEGER && w->integer >= lim->wait_replicas)
        rc = 0;
    else if (w->type == REDIS_REPLY_INTEGER)
        snprintf(err, errlen, "redis: the reservation reached %lld of %d replicas within %d ms (redis_wait_replicas)",
                 w->integer, lim->wait_replicas, wait_ms);
    else
        snprintf(err, errlen, "redis WAIT: %s", w->type == REDIS_REPLY_ERROR ? w->str : "unexpected reply");
    freeReplyObject(w);
    return rc;
}

/* Runs a script by SHA, loading it on NOSCRIPT.  argv[0..] are the
 * arguments after EVALSHA; returns the reply or NULL with err.  With
 * unreplicated (a reservation) its write is WAITed for when
 * redis_wait_replicas is set; when the replicas did not confirm it, NULL
 * and *unreplicated = 1: the script ran on the master. */
static redisReply *
limiter_eval_on(limiter_t *lim, const limiter_script_t *script, int nkeys, int argc, const char **argv,
                int *unreplicated, char *err, size_t errlen)
{
    const char *small_full[LIMITER_EVAL_ARGS], **full = small_full;
    size_t small_lens[LIMITER_EVAL_ARGS], *lens = small_lens;
    char nkeys_text[8];
    redisReply *reply = NULL;
    redisContext *c;
    int broken = 0;

    if (argc + 3 > LIMITER_EVAL_ARGS) {
        /* a settle of a message with many recipients */
        full = malloc((size_t)(argc + 3) * sizeof(*full));
        lens = malloc((size_t)(argc + 3) * sizeof(*lens));
        if (full == NULL || lens == NULL) {
            free(full);
            free(lens);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
    }
    snprintf(nkeys_text, sizeof(nkeys_text), "%d", nkeys);
    full[0] = "EVALSHA";
    full[1] = script->sha;
    full[2] = nkeys_text;
    for (int i = 0; i < argc; i++)
        full[3 + i] = argv[i];
    for (int i = 0; i < argc + 3; i++)
        lens[i] = strlen(full[i]);

    c = pool_get(lim->pool, lim->timeout_ms, err, errlen);
    if (c == NULL)
        goto out;
    for (int attempt = 0, stale_retry = 1; attempt < 2; attempt++) {
        reply = redisCommandArgv(c, argc + 3, full, lens);
        /* Sent once more, on a connection to the master named now, when
         * the command reached no master: this one was demoted to replica
         * by a failover (READONLY: the script ran nowhere), or the server
         * this pooled handle knew is gone (restarted, failed over). */
        int readonly = reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "READONLY", 8) == 0;
        if (stale_retry && (readonly || (reply == NULL && limiter_stale(c)))) {
            if (reply != NULL)
                freeReplyObject(reply);
            reply = NULL;
            stale_retry = 0;
            pool_put(lim->pool, c, 1);
            if ((c = pool_get(lim->pool, lim->timeout_ms, err, errlen)) == NULL)
                goto out;
            attempt--;
            continue;
        }
        if (reply == NULL) {
            snprintf(err, errlen, "redis: %s", c->errstr[0] ? c->errstr : "no reply");
            broken = 1;
            break;
        }
        if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0 && attempt == 0) {
            freeReplyObject(reply);
            full[0] = "EVAL";
            full[1] = script->source;
            lens[0] = 4;
            lens[1] = strlen(script->source);
            continue;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            /* A connection that lost its authentication (Redis restarted
             * with a password, the ACL user reset) or whose server is a
             * replica now is opened again. */
            if (strncmp(reply->str, "NOAUTH", 6) == 0 || strncmp(reply->str, "READONLY", 8) == 0)
                broken = 1;
            snprintf(err, errlen, "redis script: %s", reply->str);
            freeReplyObject(reply);
            reply = NULL;
        } else if (unreplicated != NULL && lim->wait_replicas > 0 &&
                   limiter_wait_replicas(lim, c, &broken, err, errlen) != 0) {
            freeReplyObject(reply);
            reply = NULL;
            *unreplicated = 1;
        }
        break;
    }
    pool_put(lim->pool, c, broken);
out:
    if (full != small_full) {
        free(full);
        free(lens);
    }
    return reply;
}

static redisReply *
limiter_eval(limiter_t *lim, const limiter_script_t *script, int nkeys, int argc, const char **argv, char *err,
             size_t errlen)
{
    return limiter_eval_on(lim, script, nkeys, argc, argv, NULL, err, errlen);
}

int
limiter_ping(limiter_t *lim, char *err, size_t errlen)
{
    redisContext *c = pool_get(lim->pool, lim->timeout_ms, err, errlen);
    redisReply *reply;
    int ok;
    if (c == NULL)
        return -1;
    reply = redisCommand(c, "PING");
    /* NOPERM: Redis answered, as the ACL user postinbox runs as, which
     * need not be allowed PING (README, "Configuration") */
    ok = reply != NULL && (reply->type == REDIS_REPLY_STATUS ||
                           (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOPERM", 6) == 0));
    if (!ok)
        snprintf(err, errlen, "redis: %s",
                 reply == NULL ? (c->errstr[0] ? c->errstr : "no reply")
                               : reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply to PING");
    pool_put(lim->pool, c, reply == NULL || !ok);
    freeReplyObject(reply);
    return ok ? 0 : -1;
}

/* An inbox's keys (all in one hash slot: {id}) and the numbers every
 * script takes, formatted once per call. */
typedef struct {
    char burst[80], daily[80], unsettled[80], settled[80], voided[80], charged[80];
    char window[16], leak[24], hold[16], memory[16];
} limiter_keyset_t;

static void
limiter_keyset(const limiter_t *lim, const char *inbox_id, limiter_keyset_t *a)
{
    snprintf(a->burst, sizeof(a->burst), "pi:{%s}:burst", inbox_id);
    snprintf(a->daily, sizeof(a->daily), "pi:{%s}:daily", inbox_id);
    snprintf(a->unsettled, sizeof(a->unsettled), "pi:{%s}:unsettled", inbox_id);
    snprintf(a->settled, sizeof(a->settled), "pi:{%s}:settled", inbox_id);
    snprintf(a->voided, sizeof(a->voided), "pi:{%s}:void", inbox_id);
    snprintf(a->charged, sizeof(a->charged), "pi:{%s}:charged", inbox_id);
    snprintf(a->window, sizeof(a->window), "%d", LIMITER_WINDOW_MS);
    snprintf(a->leak, sizeof(a->leak), "%ld", lim->reservation_timeout_ms);
    snprintf(a->hold, sizeof(a->hold), "%d", LIMITER_HOLD_MS);
    snprintf(a->memory, sizeof(a->memory), "%d", LIMITER_CHARGED_MS);
}

/* Reads the {verdict, daily, burst, retry, reset[, already charged]}
 * array the scripts return. */
static int
limiter_read_result(redisReply *reply, limit_result_t *res, limiter_unseeded_t *unseeded, char *err, size_t errlen)
{
    if (reply->type != REDIS_REPLY_ARRAY || (reply->elements != 5 && reply->elements != 6)) {
        snprintf(err, errlen, "redis script: unexpected reply type %d", reply->type);
        return -1;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
            snprintf(err, errlen, "redis script: element %zu not an integer", i);
            return -1;
        }
    }
    if (reply->element[0]->integer == LIMITER_UNSEEDED) {
        snprintf(err, errlen, "redis does not know today's counters of this inbox");
        unseeded->day = (long)reply->element[1]->integer;
        unseeded->now_ms = reply->element[2]->integer;
        return LIMITER_UNSEEDED;
    }
    if (reply->element[0]->integer == LIMITER_VOID) {
        snprintf(err, errlen, "redis: the token was given back before its script ran");
        return -1;
    }
    res->verdict = (limit_verdict_t)reply->element[0]->integer;
    res->sends_today = (long)reply->element[1]->integer;
    res->burst_used = (long)reply->element[2]->integer;
    res->retry_ms = (long)reply->element[3]->integer;
    res->reset_epoch = (long)reply->element[4]->integer;
    res->already_charged = reply->elements == 6 && reply->element[5]->integer != 0;
    return 0;
}

/* A script that answers with a verdict array (limiter_read_result): 0,
 * LIMITER_UNSEEDED or -1 (err).  unreplicated: as limiter_eval_on. */
static int
limiter_eval_verdict(limiter_t *lim, const limiter_script_t *script, int nkeys, int argc, const char **argv,
                     int *unreplicated, limit_result_t *res, limiter_unseeded_t *unseeded, char *err, size_t errlen)
{
    redisReply *reply = limiter_eval_on(lim, script, nkeys, argc, argv, unreplicated, err, errlen);
    if (reply == NULL)
        return -1;
    int rc = limiter_read_result(reply, res, unseeded, err, errlen);
    freeReplyObject(reply);
    return rc;
}

static int limiter_refund_run(limiter_t *lim, const char *inbox_id, const char *token, int n, char *err,
                              size_t errlen);
static int limiter_queue(limiter_t *lim, const char *inbox_id, const char *token, int n, int settle);

/* A reservation the replicas did not confirm is given back at once (the
 * mail is refused with 451, so it must not count) and its token voided;
 * a refund Redis does not take goes to the retry queue. */
static void
limiter_void_unreplicated(limiter_t *lim, const char *inbox_id, const char *token, int n)
{
    char rerr[200];
    if (limiter_refund_run(lim, inbox_id, token, n, rerr, sizeof(rerr)) != 0)
        (void)limiter_queue(lim, inbox_id, token, n, 0);
}

static int
limiter_reserve_run(limiter_t *lim, const char *inbox_id, int daily_limit, int burst_limit, const char *token,
                    limit_result_t *res, limiter_unseeded_t *unseeded, char *err, size_t errlen)
{
    limiter_keyset_t a;
    char dl[16], bl[16];
    limiter_keyset(lim, inbox_id, &a);
    snprintf(dl, sizeof(dl), "%d", daily_limit);
    snprintf(bl, sizeof(bl), "%d", burst_limit);
    const char *argv[] = { a.burst, a.daily, a.unsettled, a.voided, dl, bl, token, a.window, a.leak };
    int unreplicated = 0;
    int rc = limiter_eval_verdict(lim, &lim->reserve, 4, 9, argv, &unreplicated, res, unseeded, err, errlen);
    if (unreplicated)
        limiter_void_unreplicated(lim, inbox_id, token, 1);
    return rc;
}

static int
limiter_refund_run(limiter_t *lim, const char *inbox_id, const char *token, int n, char *err, size_t errlen)
{
    limiter_keyset_t a;
    char nt[16];
    limiter_keyset(lim, inbox_id, &a);
    snprintf(nt, sizeof(nt), "%d", n < 1 ? 1 : n);
    const char *argv[] = { a.burst, a.daily, a.unsettled, a.charged, a.voided, a.settled, token, nt, a.hold };
    redisReply *reply = limiter_eval(lim, &lim->refund, 6, 9, argv, err, errlen);
    if (reply == NULL)
        return -1;
    freeReplyObject(reply);
    return 0;
}

static int
limiter_usage_run(limiter_t *lim, const char *inbox_id, limit_result_t *res, limiter_unseeded_t *unseeded, char *err,
                  size_t errlen)
{
    limiter_keyset_t a;
    limiter_keyset(lim, inbox_id, &a);
    const char *argv[] = { a.burst, a.daily, a.unsettled, a.window, a.leak };
    return limiter_eval_verdict(lim, &lim->usage, 3, 5, argv, NULL, res, unseeded, err, errlen);
}

/* The script behind limiter_check (token "") and limiter_reserve_n. */
static int
limiter_run_n(limiter_t *lim, const char *inbox_id, int daily_limit, int burst_limit, int n, const char *token,
              limit_result_t *res, limiter_unseeded_t *unseeded, char *err, size_t errlen)
{
    limiter_keyset_t a;
    char dl[16], bl[16], nt[16];
    if (n < 1) {
        snprintf(err, errlen, "limiter: %d sends asked for", n);
        return -1;
    }
    limiter_keyset(lim, inbox_id, &a);
    snprintf(dl, sizeof(dl), "%d", daily_limit);
    snprintf(bl, sizeof(bl), "%d", burst_limit);
    snprintf(nt, sizeof(nt), "%d", n);
    const char *argv[] = { a.burst, a.daily, a.charged, a.voided, a.unsettled, dl, bl, nt, a.window, token, a.memory, a.leak };
    int unreplicated = 0;
    int rc = limiter_eval_verdict(lim, &lim->reserve_n, 5, 12, argv, *token ? &unreplicated : NULL, res, unseeded,
                                  err, errlen);
    if (unreplicated)
        limiter_void_unreplicated(lim, inbox_id, token, n);
    return rc;
}

/* The settle script over tokens[0..n), with daily_limit (< 0: none).  0
 * with res (verdict OK or LIMIT_DAILY, sends_today only when tokens were
 * charged again or refused, recharged), LIMITER_UNSEEDED (unseeded
 * filled), or -1 (err). */
static int
limiter_settle_run(limiter_t *lim, const char *inbox_id, int daily_limit, const char *const *tokens, size_t n,
                   limit_result_t *res, limiter_unseeded_t *unseeded, char *err, size_t errlen)
{
    limiter_keyset_t a;
    char dl[16] = "";
    const char **argv = malloc((n + 9) * sizeof(*argv));
    int rc = -1;

    if (argv == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    limiter_keyset(lim, inbox_id, &a);
    if (daily_limit >= 0)
        snprintf(dl, sizeof(dl), "%d", daily_limit);
    const char *fixed[] = { a.burst, a.daily, a.unsettled, a.settled, a.voided, a.window, a.hold, dl, a.leak };
    memcpy(argv, fixed, sizeof(fixed));
    for (size_t i = 0; i < n; i++)
        argv[9 + i] = tokens[i];
    redisReply *reply = limiter_eval(lim, &lim->settle, 5, (int)(n + 9), argv, err, errlen);
    free(argv);
    if (reply == NULL)
        return -1;
    int shape = reply->type == REDIS_REPLY_ARRAY && reply->elements == 4;
    for (size_t i = 0; shape && i < 4; i++)
        shape = reply->element[i]->type == REDIS_REPLY_INTEGER;
    if (!shape) {
        snprintf(err, errlen, "redis script: unexpected settle reply type %d", reply->type);
    } else if (reply->element[0]->integer == LIMITER_UNSEEDED) {
        snprintf(err, errlen, "redis does not know today's counters of this inbox");
        unseeded->day = (long)reply->element[1]->integer;
        unseeded->now_ms = reply->element[2]->integer;
        rc = LIMITER_UNSEEDED;
    } else {
        memset(res, 0, sizeof(*res));
        res->verdict = reply->element[0]->integer == LIMIT_DAILY ? LIMIT_DAILY : LIMIT_OK;
        res->sends_today = (long)reply->element[1]->integer;
        res->recharged = (long)reply->element[2]->integer;
        res->reset_epoch = (long)reply->element[3]->integer;
        rc = 0;
    }
    freeReplyObject(reply);
    return rc;
}

/* Rebuilds an inbox's counters of the day a script found missing, from
 * the seeder.  0 or -1 (err). */
static int
limiter_seed(limiter_t *lim, const char *inbox_id, const limiter_unseeded_t *unseeded, char *err, size_t errlen)
{
    limiter_seed_t seed;
    limiter_keyset_t a;
    char day[24], count[24];
    char times[LIMITER_SEED_BURST_MAX][2][24];
    const char *argv[5 + 2 * LIMITER_SEED_BURST_MAX];
    int argc = 0;

    if (lim->seeder == NULL) {
        snprintf(err + strlen(err), errlen - strlen(err), ", and nothing to rebuild them from");
        return -1;
    }
    memset(&seed, 0, sizeof(seed));
    if (lim->seeder(lim->seeder_ctx, inbox_id, unseeded->day, unseeded->now_ms, &seed, err, errlen) != 0)
        return -1;
    limiter_keyset(lim, inbox_id, &a);
    snprintf(day, sizeof(day), "%ld", unseeded->day);
    snprintf(count, sizeof(count), "%ld", seed.sends_today);
    argv[argc++] = a.burst;
    argv[argc++] = a.daily;
    argv[argc++] = day;
    argv[argc++] = count;
    argv[argc++] = a.window;
    for (int i = 0; i < seed.nburst && i < LIMITER_SEED_BURST_MAX; i++) {
        snprintf(times[i][0], sizeof(times[i][0]), "%lld", seed.burst[i].ms);
        snprintf(times[i][1], sizeof(times[i][1]), "%d", seed.burst[i].sends);
        argv[argc++] = times[i][0];
        argv[argc++] = times[i][1];
    }
    redisReply *reply = limiter_eval(lim, &lim->seed, 2, argc, argv, err, errlen);
    if (reply == NULL)
        return -1;
    freeReplyObject(reply);
    return 0;
}

/* ---- refunds Redis did not answer ----------------------------------------------- */

/* One settle with the seed behind it: 0, or -1 (err). */
static int
limiter_settle_seeded(limiter_t *lim, const char *inbox_id, int daily_limit, const char *const *tokens, size_t n,
                      limit_result_t *res, char *err, size_t errlen)
{
    limiter_unseeded_t unseeded = { 0, 0 };
    int rc = limiter_settle_run(lim, inbox_id, daily_limit, tokens, n, res, &unseeded, err, errlen);
    for (int seeds = 0; rc == LIMITER_UNSEEDED && seeds < 2; seeds++) {
        if ((rc = limiter_seed(lim, inbox_id, &unseeded, err, errlen)) == 0)
            rc = limiter_settle_run(lim, inbox_id, daily_limit, tokens, n, res, &unseeded, err, errlen);
    }
    return rc != 0 ? -1 : 0;
}

/* Takes the waiting refunds and settles, tries each once in the order
 * they came (outside the lock), and puts back those Redis still does not
 * answer, unless older than LIMITER_HOLD_MS (by then a refund would find
 * nothing to give back).  After a failure the rest wait for the next
 * round: Redis is still away, and the order is kept (a message's settle
 * before its refund). */
static void
limiter_retry_pending(limiter_t *lim)
{
    limiter_pending_t *batch;
    size_t n, tried = 0, kept = 0;
    char err[256];

    pthread_mutex_lock(&lim->mu);
    batch = lim->pending;
    n = lim->npending;
    lim->pending = NULL;
    lim->npending = lim->cap = 0;
    pthread_mutex_unlock(&lim->mu);
    for (; tried < n; tried++) {
        limiter_pending_t *p = &batch[tried];
        if (clock_ms() - p->since_ms > LIMITER_HOLD_MS)
            continue;
        long long started_us = clock_us();
        const char *token = p->token;
        limit_result_t res;
        /* the message was accepted meanwhile: charged again without a cap check */
        int rc = p->settle ? limiter_settle_seeded(lim, p->inbox_id, -1, &token, 1, &res, err, sizeof(err))
                           : limiter_refund_run(lim, p->inbox_id, p->token, p->n, err, sizeof(err));
        metrics_backend_call(&lim->metrics, "redis", p->settle ? "settle" : "refund", started_us, rc != 0);
        if (rc != 0) {
            batch[kept++] = *p;
            tried++;
            break;
        }
    }
    memmove(batch + kept, batch + tried, (n - tried) * sizeof(*batch));
    kept += n - tried;
    pthread_mutex_lock(&lim->mu);
    if (kept > 0) {
        /* ours first, then what was queued meanwhile */
        limiter_pending_t *merged = realloc(batch, (kept + lim->npending) * sizeof(*batch));
        if (merged != NULL) {
            if (lim->npending > 0)
                memcpy(merged + kept, lim->pending, lim->npending * sizeof(*merged));
            free(lim->pending);
            lim->pending = merged;
            lim->npending += kept;
            lim->cap = lim->npending;
            batch = NULL;
        }
    }
    pthread_mutex_unlock(&lim->mu);
    free(batch);
}

static void *
limiter_retry_thread(void *arg)
{
    limiter_t *lim = arg;
    long long next = clock_ms() + LIMITER_RETRY_MS;

    pthread_mutex_lock(&lim->mu);
    while (!lim->stopping) {
        if (lim->npending == 0) {
            pthread_cond_wait(&lim->wake, &lim->mu);
            next = clock_ms() + LIMITER_RETRY_MS;
            continue;
        }
        long long left = next - clock_ms();
        if (left <= 0) {
            pthread_mutex_unlock(&lim->mu);
            limiter_retry_pending(lim);
            pthread_mutex_lock(&lim->mu);
            next = clock_ms() + LIMITER_RETRY_MS;
            continue;
        }
        struct timespec until = clock_realtime_after(left);
        pthread_cond_timedwait(&lim->wake, &lim->mu, &until);
    }
    pthread_mutex_unlock(&lim->mu);
    return NULL;
}

/* Queues a refund or settle Redis did not answer: 1, or -1 when the queue
 * is full or the thread cannot start (the refund is lost to the cap, as
 * before; a settle lost lets the reservation be given back as leaked). */
static int
limiter_queue(limiter_t *lim, const char *inbox_id, const char *token, int n, int settle)
{
    int rc = 1;

    pthread_mutex_lock(&lim->mu);
    if (!lim->thread_started) {
        if (pthread_create(&lim->thread, NULL, limiter_retry_thread, lim) == 0)
            lim->thread_started = 1;
        else
            rc = -1;
    }
    if (rc == 1 && lim->npending == lim->cap) {
        size_t cap = lim->cap ? lim->cap * 2 : 16;
        limiter_pending_t *grown = cap <= LIMITER_PENDING_MAX ? realloc(lim->pending, cap * sizeof(*grown)) : NULL;
        if (grown == NULL) {
            rc = -1;
        } else {
            lim->pending = grown;
            lim->cap = cap;
        }
    }
    if (rc == 1) {
        limiter_pending_t *p = &lim->pending[lim->npending++];
        snprintf(p->inbox_id, sizeof(p->inbox_id), "%s", inbox_id);
        snprintf(p->token, sizeof(p->token), "%s", token);
        p->n = n;
        p->settle = settle;
        p->since_ms = clock_ms();
        pthread_cond_signal(&lim->wake);
    }
    pthread_mutex_unlock(&lim->mu);
    return rc;
}

/* Says in err whether what Redis did not answer waits for it (rc 1). */
static void
limiter_note_queued(int rc, char *err, size_t errlen)
{
    size_t len = strlen(err);
    snprintf(err + len, errlen > len ? errlen - len : 0, "%s",
             rc == 1 ? "; retried until Redis answers" : "; not retried (queue full)");
}

size_t
limiter_pending(limiter_t *lim)
{
    size_t n;
    pthread_mutex_lock(&lim->mu);
    n = lim->npending;
    pthread_mutex_unlock(&lim->mu);
    return n;
}

/* ---- the public calls, timed -------------------------------------------------- */

/* One run of the script behind call. */
static int
limiter_run(limiter_t *lim, limiter_call_t call, const limiter_args_t *a, limit_result_t *res,
            limiter_unseeded_t *unseeded, char *err, size_t errlen)
{
    switch (call) {
    case LIMITER_CALL_RESERVE:
        return limiter_reserve_run(lim, a->inbox_id, a->daily_limit, a->burst_limit, a->token, res, unseeded, err,
                                   errlen);
    case LIMITER_CALL_USAGE:
        return limiter_usage_run(lim, a->inbox_id, res, unseeded, err, errlen);
    case LIMITER_CALL_CHECK:
        return limiter_run_n(lim, a->inbox_id, a->daily_limit, a->burst_limit, a->n, "", res, unseeded, err, errlen);
    case LIMITER_CALL_RESERVE_N:
        if (a->token == NULL || *a->token == '\0') {
            snprintf(err, errlen, "limiter: reserve_n needs a token");
            return -1;
        }
        return limiter_run_n(lim, a->inbox_id, a->daily_limit, a->burst_limit, a->n, a->token, res, unseeded, err,
                             errlen);
    }
    snprintf(err, errlen, "limiter: unknown call");
    return -1;
}

/* Runs call, seeding the day's counters when the script finds them
 * missing and running it again; a seed refused because midnight passed in
 * between is asked for again, once (the new day).  Timed as name.  0 or
 * -1 (err). */
static int
limiter_call(limiter_t *lim, limiter_call_t call, const char *name, const limiter_args_t *a, limit_result_t *res,
             char *err, size_t errlen)
{
    long long started_us = clock_us();
    limiter_unseeded_t unseeded = { 0, 0 };
    int rc = limiter_run(lim, call, a, res, &unseeded, err, errlen);
    for (int seeds = 0; rc == LIMITER_UNSEEDED && seeds < 2; seeds++) {
        if ((rc = limiter_seed(lim, a->inbox_id, &unseeded, err, errlen)) == 0)
            rc = limiter_run(lim, call, a, res, &unseeded, err, errlen);
    }
    rc = rc != 0 ? -1 : 0;
    metrics_backend_call(&lim->metrics, "redis", name, started_us, rc != 0);
    return rc;
}

int
limiter_reserve(limiter_t *lim, const char *inbox_id, int daily_limit, int burst_limit, const char *token, limit_result_t *res, char *err, size_t errlen)
{
    limiter_args_t a = { .inbox_id = inbox_id, .daily_limit = daily_limit, .burst_limit = burst_limit, .token = token };
    return limiter_call(lim, LIMITER_CALL_RESERVE, "reserve", &a, res, err, errlen);
}

int
limiter_refund(limiter_t *lim, const char *inbox_id, const char *token, int n, char *err, size_t errlen)
{
    long long started_us = clock_us();
    int rc = limiter_refund_run(lim, inbox_id, token, n, err, errlen);
    metrics_backend_call(&lim->metrics, "redis", "refund", started_us, rc != 0);
    if (rc == 0)
        return 0;
    rc = limiter_queue(lim, inbox_id, token, n, 0);
    limiter_note_queued(rc, err, errlen);
    return rc;
}

int
limiter_settle(limiter_t *lim, const char *inbox_id, int daily_limit, const char *const *tokens, size_t n,
               limit_result_t *res, char *err, size_t errlen)
{
    long long started_us = clock_us();
    int rc;

    memset(res, 0, sizeof(*res));
    if (n == 0)
        return 0;
    rc = limiter_settle_seeded(lim, inbox_id, daily_limit, tokens, n, res, err, errlen);
    metrics_backend_call(&lim->metrics, "redis", "settle", started_us, rc != 0);
    if (rc == 0)
        return 0;
    /* One settle per token, each in the queue's order. */
    rc = 1;
    for (size_t i = 0; i < n && rc == 1; i++)
        rc = limiter_queue(lim, inbox_id, tokens[i], 1, 1);
    limiter_note_queued(rc, err, errlen);
    return rc;
}

int
limiter_usage(limiter_t *lim, const char *inbox_id, limit_result_t *res, char *err, size_t errlen)
{
    limiter_args_t a = { .inbox_id = inbox_id };
    return limiter_call(lim, LIMITER_CALL_USAGE, "usage", &a, res, err, errlen);
}

int
limiter_check(limiter_t *lim, const char *inbox_id, int daily_limit, int burst_limit, int n, limit_result_t *res, char *err, size_t errlen)
{
    limiter_args_t a = { .inbox_id = inbox_id, .daily_limit = daily_limit, .burst_limit = burst_limit, .n = n };
    return limiter_call(lim, LIMITER_CALL_CHECK, "check", &a, res, err, errlen);
}

int
limiter_reserve_n(limiter_t *lim, const char *inbox_id, int daily_limit, int burst_limit, int n, const char *token, limit_result_t *res, char *err, size_t errlen)
{
    limiter_args_t a = {
        .inbox_id = inbox_id, .daily_limit = daily_limit, .burst_limit = burst_limit, .n = n, .token = token
    };
    return limiter_call(lim, LIMITER_CALL_RESERVE_N, "reserve_n", &a, res, err, errlen);
}
