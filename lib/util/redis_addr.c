/*
 * redis_addr.c -- parsing the `redis` config value.  See redis_addr.h.
 */
#include "redis_addr.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_URL "redis://"
#define REDIS_UNIX_URL "unix://"
#define REDIS_SENTINEL "sentinel:"
#define REDIS_FORMS                                                                                                    \
    "HOST:PORT, unix:/PATH, redis://[USER[:PASSWORD]@]HOST[:PORT], unix://[USER[:PASSWORD]@]/PATH or "                \
    "sentinel:[USER[:PASSWORD]@]MASTER@HOST[:PORT],..."

static int
redis_addr_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes in[0..len), the value's `what` (user, password), into
 * out.  0, or -1 with problem set. */
static int
redis_addr_decode(const char *what, const char *in, size_t len, char *out, size_t outsize, char *problem,
                  size_t problemlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i];
        if (c == '%') {
            int hi = i + 2 < len ? redis_addr_hex(in[i + 1]) : -1;
            int lo = i + 2 < len ? redis_addr_hex(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                snprintf(problem, problemlen, "%s has a '%%' not followed by two hex digits", what);
                goto fail;
            }
            c = hi * 16 + lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f) {
            snprintf(problem, problemlen, "%s holds a NUL or control byte", what);
            goto fail;
        }
        if (o + 1 >= outsize) {
            snprintf(problem, problemlen, "%s is longer than %zu bytes", what, outsize - 1);
            goto fail;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
fail:
    memset(out, 0, outsize);
    return -1;
}

/* USER[:PASSWORD] of a URL, in[0..len), into out. */
static int
redis_addr_userinfo(const char *in, size_t len, redis_addr_t *out, char *problem, size_t problemlen)
{
    const char *colon = memchr(in, ':', len);
    size_t ulen = colon ? (size_t)(colon - in) : len;
    if (len == 0) {
        snprintf(problem, problemlen, "has an '@' with neither user nor password before it");
        return -1;
    }
    if (redis_addr_decode("user", in, ulen, out->user, sizeof(out->user), problem, problemlen) != 0)
        return -1;
    if (strchr(out->user, ' ') != NULL) {
        snprintf(problem, problemlen, "user holds a space");
        return -1;
    }
    if (colon == NULL)
        return 0;
    if (redis_addr_decode("password", colon + 1, len - ulen - 1, out->password, sizeof(out->password), problem,
                          problemlen) != 0)
        return -1;
    if (out->password[0] == '\0') {
        snprintf(problem, problemlen, "has an empty password (leave out the ':' for none)");
        return -1;
    }
    out->has_password = 1;
    return 0;
}

/* A host name or IPv4 address: letters, digits, '-', '.', '_'. */
static int
redis_addr_valid_host(const char *host)
{
    if (*host == '\0')
        return 0;
    for (const char *p = host; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return 0;
    return 1;
}

/* ":PORT" or "" (dflt) at text; *port set.  0 or -1. */
static int
redis_addr_port(const char *text, int dflt, int *port)
{
    char *end;
    long p;
    if (*text == '\0') {
        *port = dflt;
        return 0;
    }
    if (*text != ':' || !isdigit((unsigned char)text[1]))
        return -1;
    errno = 0;
    p = strtol(text + 1, &end, 10);
    if (errno || *end != '\0' || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

/* HOST[:PORT] of a redis:// URL (authority without userinfo) or of one
 * sentinel, PORT defaulting to dflt. */
static int
redis_addr_hostport(const char *in, size_t len, int dflt, redis_hostport_t *out, char *problem, size_t problemlen)
{
    char text[300];
    const char *port_text;
    if (len >= sizeof(text)) {
        snprintf(problem, problemlen, "%s", "host is too long");
        return -1;
    }
    memcpy(text, in, len);
    text[len] = '\0';
    if (text[0] == '[') {
        char *close = strchr(text, ']');
        size_t hlen = close ? (size_t)(close - text - 1) : 0;
        if (close == NULL || hlen == 0 || strspn(text + 1, "0123456789abcdefABCDEF:.") != hlen) {
            snprintf(problem, problemlen, "%s", "has a bad [IPv6] host");
            return -1;
        }
        if (hlen >= sizeof(out->host)) {
            snprintf(problem, problemlen, "%s", "host is too long");
            return -1;
        }
        memcpy(out->host, text + 1, hlen);
        out->host[hlen] = '\0';
        port_text = close + 1;
    } else {
        char *colon = strchr(text, ':');
        size_t hlen = colon ? (size_t)(colon - text) : len;
        if (hlen >= sizeof(out->host)) {
            snprintf(problem, problemlen, "%s", "host is too long");
            return -1;
        }
        memcpy(out->host, text, hlen);
        out->host[hlen] = '\0';
        if (!redis_addr_valid_host(out->host)) {
            snprintf(problem, problemlen, "%s",
                     out->host[0] ? "has a bad host name (letters, digits, '-', '.'; IPv6 in [])" : "has no host");
            return -1;
        }
        port_text = text + hlen;
    }
    if (redis_addr_port(port_text, dflt, &out->port) != 0) {
        snprintf(problem, problemlen, "%s", "has a port that is not 1..65535");
        return -1;
    }
    return 0;
}

/* The '@' that ends USER[:PASSWORD] in rest (the part after "redis://" or
 * "unix://"), or NULL.  A host never holds an '@', so in a redis:// URL it
 * is the last one (an unencoded '@' or '/' in a password still works); a
 * unix:// path may, so there it is the first '@' before a '/' -- and none
 * when the path comes first. */
static const char *
redis_addr_at(const char *rest, int is_unix)
{
    if (!is_unix)
        return strrchr(rest, '@');
    if (rest[0] == '/')
        return NULL;
    const char *at_slash = strstr(rest, "@/");
    return at_slash ? at_slash : strrchr(rest, '@');
}

/* The part after "redis://" or "unix://". */
static int
redis_addr_url(const char *rest, int is_unix, redis_addr_t *out, char *problem, size_t problemlen)
{
    const char *at = redis_addr_at(rest, is_unix);
    if (at != NULL && redis_addr_userinfo(rest, (size_t)(at - rest), out, problem, problemlen) != 0)
        return -1;
    const char *after = at ? at + 1 : rest;
    if (is_unix) {
        if (after[0] != '/') {
            snprintf(problem, problemlen, "%s", "needs an absolute socket path right after unix:// or the '@'");
            return -1;
        }
        if (strlen(after) >= sizeof(out->host)) {
            snprintf(problem, problemlen, "%s", "has a socket path that is too long");
            return -1;
        }
        snprintf(out->host, sizeof(out->host), "%s", after);
        out->port = 0;
        return 0;
    }
    if (strchr(after, '/') != NULL) {
        snprintf(problem, problemlen, "%s", "has a path after HOST:PORT (postinbox always uses database 0)");
        return -1;
    }
    if (strpbrk(after, "?#") != NULL) {
        snprintf(problem, problemlen, "%s", "has a query or fragment");
        return -1;
    }
    redis_hostport_t hp;
    if (redis_addr_hostport(after, strlen(after), REDIS_ADDR_DEFAULT_PORT, &hp, problem, problemlen) != 0)
        return -1;
    memcpy(out->host, hp.host, sizeof(out->host));
    out->port = hp.port;
    return 0;
}

/* The part after "sentinel:": [USER[:PASSWORD]@]MASTER@HOST[:PORT],...
 * The sentinels hold no '@', so the last '@' ends MASTER, and the '@'
 * before it (if any) ends the credentials. */
static int
redis_addr_sentinel(const char *rest, redis_addr_t *out, char *problem, size_t problemlen)
{
    const char *hosts_at = strrchr(rest, '@');
    if (hosts_at == NULL || hosts_at[1] == '\0') {
        snprintf(problem, problemlen, "%s", "needs MASTER@HOST[:PORT],... after sentinel:");
        return -1;
    }
    const char *master = rest;
    for (const char *p = hosts_at - 1; p >= rest; p--)
        if (*p == '@') {
            master = p + 1;
            break;
        }
    if (master > rest && redis_addr_userinfo(rest, (size_t)(master - 1 - rest), out, problem, problemlen) != 0)
        return -1;
    size_t mlen = (size_t)(hosts_at - master);
    if (mlen == 0 || mlen >= sizeof(out->master)) {
        snprintf(problem, problemlen, "%s", mlen ? "has a master name that is too long" : "has no master name");
        return -1;
    }
    for (size_t i = 0; i < mlen; i++)
        if (!isalnum((unsigned char)master[i]) && strchr("-_.", master[i]) == NULL) {
            snprintf(problem, problemlen, "%s", "has a bad master name (letters, digits, '-', '_', '.')");
            return -1;
        }
    memcpy(out->master, master, mlen);
    out->master[mlen] = '\0';
    for (const char *h = hosts_at + 1;;) {
        const char *comma = strchr(h, ',');
        size_t len = comma ? (size_t)(comma - h) : strlen(h);
        if (out->nsentinels == REDIS_ADDR_MAX_SENTINELS) {
            snprintf(problem, problemlen, "names more than %d sentinels", REDIS_ADDR_MAX_SENTINELS);
            return -1;
        }
        if (len == 0) {
            snprintf(problem, problemlen, "%s", "has an empty sentinel in its list");
            return -1;
        }
        if (redis_addr_hostport(h, len, REDIS_ADDR_SENTINEL_PORT, &out->sentinel[out->nsentinels], problem,
                                problemlen) != 0)
            return -1;
        out->nsentinels++;
        if (comma == NULL)
            break;
        h = comma + 1;
    }
    return 0;
}

/* The plain forms: "HOST:PORT" or "unix:/PATH". */
static int
redis_addr_plain(const char *spec, redis_addr_t *out, char *problem, size_t problemlen)
{
    if (strchr(spec, '@') != NULL) {
        snprintf(problem, problemlen, "%s", "has an '@': credentials go in the redis:// or unix:// form");
        return -1;
    }
    if (strncmp(spec, "unix:", 5) == 0) {
        if (spec[5] != '/' || strlen(spec + 5) >= sizeof(out->host)) {
            snprintf(problem, problemlen, "%s", "is not unix:/ABSOLUTE/PATH");
            return -1;
        }
        snprintf(out->host, sizeof(out->host), "%s", spec + 5);
        out->port = 0;
        return 0;
    }
    const char *colon = strrchr(spec, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == spec || !isdigit((unsigned char)colon[1]) || *end != '\0' || port < 1 ||
        port > 65535 || (size_t)(colon - spec) >= sizeof(out->host)) {
        snprintf(problem, problemlen, "%s", "is not one of " REDIS_FORMS);
        return -1;
    }
    memcpy(out->host, spec, (size_t)(colon - spec));
    out->host[colon - spec] = '\0';
    out->port = (int)port;
    return 0;
}

int
redis_addr_parse(const char *spec, redis_addr_t *out, char *err, size_t errlen)
{
    char problem[160] = "";
    int rc;

    memset(out, 0, sizeof(*out));
    if (strncmp(spec, REDIS_URL, strlen(REDIS_URL)) == 0)
        rc = redis_addr_url(spec + strlen(REDIS_URL), 0, out, problem, sizeof(problem));
    else if (strncmp(spec, REDIS_UNIX_URL, strlen(REDIS_UNIX_URL)) == 0)
        rc = redis_addr_url(spec + strlen(REDIS_UNIX_URL), 1, out, problem, sizeof(problem));
    else if (strncmp(spec, REDIS_SENTINEL, strlen(REDIS_SENTINEL)) == 0)
        rc = redis_addr_sentinel(spec + strlen(REDIS_SENTINEL), out, problem, sizeof(problem));
    else if (strncmp(spec, "rediss://", 9) == 0) {
        snprintf(problem, sizeof(problem), "asks for TLS (rediss://), which postinbox does not speak");
        rc = -1;
    } else
        rc = redis_addr_plain(spec, out, problem, sizeof(problem));
    if (rc != 0) {
        char shown[300];
        redis_addr_redact(spec, shown, sizeof(shown));
        /* at most 100 bytes of the value, so the problem is never cut off */
        snprintf(err, errlen, "\"%.100s%s\" %s", shown, strlen(shown) > 100 ? "..." : "", problem);
        redis_addr_clear(out);
        return -1;
    }
    return 0;
}

void
redis_addr_redact(const char *spec, char *out, size_t outlen)
{
    const char *scheme_end = strstr(spec, "://");

    if (outlen == 0)
        return;
    if (strncmp(spec, REDIS_SENTINEL, strlen(REDIS_SENTINEL)) == 0) {
        /* sentinel:USER:***@MASTER@HOSTS: the credentials end at the '@'
         * before the last one */
        const char *rest = spec + strlen(REDIS_SENTINEL), *last = strrchr(rest, '@'), *cred_at = NULL;
        for (const char *p = last ? last - 1 : NULL; p != NULL && p >= rest; p--)
            if (*p == '@') {
                cred_at = p;
                break;
            }
        const char *colon = cred_at ? memchr(rest, ':', (size_t)(cred_at - rest)) : NULL;
        if (colon == NULL)
            snprintf(out, outlen, "%s", spec);
        else
            snprintf(out, outlen, "%.*s:***%s", (int)(colon - spec), spec, cred_at);
        return;
    }
    if (scheme_end == NULL) {
        const char *at = strrchr(spec, '@');
        if (at)
            snprintf(out, outlen, "***%s", at);
        else
            snprintf(out, outlen, "%s", spec);
        return;
    }
    const char *rest = scheme_end + 3;
    const char *at = redis_addr_at(rest, strncmp(spec, REDIS_UNIX_URL, strlen(REDIS_UNIX_URL)) == 0);
    const char *colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
    if (colon == NULL)
        snprintf(out, outlen, "%s", spec);
    else
        snprintf(out, outlen, "%.*s:***%s", (int)(colon - spec), spec, at);
}

void
redis_addr_describe(const redis_addr_t *addr, char *out, size_t outlen)
{
    char where[300];
    if (addr->master[0] != '\0') {
        size_t o = (size_t)snprintf(where, sizeof(where), "master %s of sentinels ", addr->master);
        for (int i = 0; i < addr->nsentinels && o < sizeof(where); i++)
            o += (size_t)snprintf(where + o, sizeof(where) - o, strchr(addr->sentinel[i].host, ':') ? "%s[%s]:%d" : "%s%s:%d",
                                  i ? "," : "", addr->sentinel[i].host, addr->sentinel[i].port);
    } else if (addr->port == 0)
        snprintf(where, sizeof(where), "%s", addr->host);
    else if (strchr(addr->host, ':') != NULL)
        snprintf(where, sizeof(where), "[%s]:%d", addr->host, addr->port);
    else
        snprintf(where, sizeof(where), "%s:%d", addr->host, addr->port);
    if (!addr->has_password)
        snprintf(out, outlen, "%s", where);
    else if (addr->user[0])
        snprintf(out, outlen, "%s as user %s", where, addr->user);
    else
        snprintf(out, outlen, "%s as the default user", where);
}

void
redis_addr_clear(redis_addr_t *addr)
{
    volatile unsigned char *p = (volatile unsigned char *)addr;
    for (size_t i = 0; i < sizeof(*addr); i++)
        p[i] = 0;
}
