/*
 * redis_addr.h -- the `redis` config value: where Redis is and who to be.
 *
 * Public: redis_addr_t, redis_addr_parse, redis_addr_redact,
 * redis_addr_describe, redis_addr_clear.
 * Forms:
 *   HOST:PORT                                 no credentials (the old form)
 *   unix:/PATH                                no credentials (the old form)
 *   redis://[USER[:PASSWORD]@]HOST[:PORT]     PORT defaults to 6379; HOST may be [IPv6]
 *   unix://[USER[:PASSWORD]@]/PATH            a unix socket
 *   sentinel:[USER[:PASSWORD]@]MASTER@HOST[:PORT][,HOST[:PORT]...]
 *                                             Redis Sentinel: the sentinels
 *                                             (PORT defaults to 26379) are asked
 *                                             where master MASTER is; USER and
 *                                             PASSWORD are the master's
 * USER and PASSWORD are percent-decoded (write ':', '@', '/' and '%' in
 * them as %3A, %40, %2F, %25).  A USER is a Redis 6 ACL user (AUTH USER
 * PASSWORD); no USER means the default user (AUTH PASSWORD, requirepass).
 * The password may instead come from a file (redis_password_file, read by
 * lib/store/limiter): a USER alone then names whose password it is.
 * Error texts never hold the password: they quote the value through
 * redis_addr_redact.  Pure; thread-safe; logs nothing.
 */
#ifndef POSTINBOX_REDIS_ADDR_H
#define POSTINBOX_REDIS_ADDR_H

#include <stddef.h>

#define REDIS_ADDR_DEFAULT_PORT 6379
#define REDIS_ADDR_SENTINEL_PORT 26379
#define REDIS_ADDR_MAX_SENTINELS 8

typedef struct {
    char host[256];
    int port;
} redis_hostport_t;

typedef struct {
    char host[256];      /* host name or address; the socket path when port is 0; "" for sentinel: */
    int port;            /* 0: host is a unix socket path */
    char master[128];    /* sentinel: the master's name ("" in the other forms) */
    int nsentinels;      /* sentinel: how many of sentinel[] */
    redis_hostport_t sentinel[REDIS_ADDR_MAX_SENTINELS];
    char user[128];      /* "" = the default user */
    char password[512];  /* valid if has_password */
    int has_password;
} redis_addr_t;

/* Parses spec into out.  0, or -1 with err (which quotes the value with
 * its password masked). */
int redis_addr_parse(const char *spec, redis_addr_t *out, char *err, size_t errlen);

/* spec with the password, if any, replaced by "***" (for any text that
 * repeats the value: errors, dumps).  Something before an '@' in a form
 * that takes no credentials is masked whole. */
void redis_addr_redact(const char *spec, char *out, size_t outlen);

/* "127.0.0.1:6379 as user postinbox", "/run/redis.sock as the default
 * user", "master mymaster of sentinels 10.0.0.1:26379,10.0.0.2:26379 as
 * user postinbox" -- where and who, never the password. */
void redis_addr_describe(const redis_addr_t *addr, char *out, size_t outlen);

/* Wipes the password (and everything else) from memory. */
void redis_addr_clear(redis_addr_t *addr);

#endif
