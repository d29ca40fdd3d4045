/*
 * config_print.c -- the config written out.  See config_print.h.
 */
#include "config_print.h"

#include <stdio.h>
#include <string.h>

static const char config_mask[] = "********";

void
config_print_defaults(void *stdio_file)
{
    FILE *fp = stdio_file;
    size_t n;
    const config_key_t *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "# %s\n#%s = %s\n\n", keys[i].help, keys[i].name, keys[i].def);
    for (int r = 0; r < REPLY_COUNT; r++) {
        reply_t rep;
        reply_default((reply_id_t)r, &rep);
        fprintf(fp, "#reply_%s = %d %s %s\n", reply_name((reply_id_t)r), rep.code, rep.xcode, rep.text);
    }
}

/* Appends len bytes of s to out (at *o, room outlen), truncating. */
static void
config_put(char *out, size_t outlen, size_t *o, const char *s, size_t len)
{
    if (*o + 1 >= outlen)
        return;
    if (len > outlen - 1 - *o)
        len = outlen - 1 - *o;
    memcpy(out + *o, s, len);
    *o += len;
    out[*o] = '\0';
}

/* The end of a libpq keyword value starting at p: a quoted one ends after
 * its closing quote (backslash escapes), a bare one at white space; in a
 * URI query at '&' or '#' as well. */
static const char *
config_value_end(const char *p, int in_uri)
{
    if (*p == '\'') {
        for (p++; *p && *p != '\''; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p ? p + 1 : p;
    }
    while (*p && *p != ' ' && *p != '\t' && *p != '\n' && !(in_uri && (*p == '&' || *p == '#')))
        p++;
    return p;
}

void
config_mask_secret(const char *value, char *out, size_t outlen)
{
    size_t o = 0;
    const char *p = value;
    const char *scheme = strstr(value, "://");
    if (outlen == 0)
        return;
    out[0] = '\0';
    if (scheme != NULL) {
        /* scheme://user:password@host...: the authority ends at '/', '?' or '#' */
        const char *auth = scheme + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = memchr(auth, '@', alen);
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon != NULL) {
            config_put(out, outlen, &o, value, (size_t)(colon + 1 - value));
            config_put(out, outlen, &o, config_mask, sizeof(config_mask) - 1);
            p = at;
        }
    }
    while (*p) {
        const char *k = strstr(p, "password");
        if (k == NULL) {
            config_put(out, outlen, &o, p, strlen(p));
            break;
        }
        const char *q = k + 8;
        while (*q == ' ' || *q == '\t')
            q++;
        /* a whole keyword: at the start, after a space or a URI's '?' or '&' */
        int whole = (k == value || strchr(" \t?&", k[-1]) != NULL) && *q == '=';
        if (!whole) {
            config_put(out, outlen, &o, p, (size_t)(q - p));
            p = q;
            continue;
        }
        q++;
        while (*q == ' ' || *q == '\t')
            q++;
        config_put(out, outlen, &o, p, (size_t)(q - p));
        config_put(out, outlen, &o, config_mask, sizeof(config_mask) - 1);
        p = config_value_end(q, scheme != NULL);
    }
}

static void
config_print_line(FILE *fp, const config_key_t *key, const char *value)
{
    char masked[4096];
    if (key->flags & CF_SECRET) {
        config_mask_secret(value, masked, sizeof(masked));
        value = masked;
    }
    fprintf(fp, "%s = %s\n", key->name, value);
}

void
config_print(const pi_config_t *cfg, int all, void *stdio_file)
{
    FILE *fp = stdio_file;
    size_t n;
    const config_key_t *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (all || cfg->set[i])
            config_print_line(fp, &keys[i], cfg->text[i]);
    for (int r = 0; r < REPLY_COUNT; r++) {
        const reply_t *rep = &cfg->replies[r];
        if (all || cfg->set[n + (size_t)r])
            fprintf(fp, "reply_%s = %d %s %s\n", reply_name((reply_id_t)r), rep->code, rep->xcode, rep->text);
    }
}

int
config_start_changes(const pi_config_t *old_cfg, const pi_config_t *new_cfg, char *buf, size_t buflen)
{
    size_t n, o = 0;
    int changed = 0;
    const config_key_t *keys = config_keys(&n);
    if (buflen > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!(keys[i].flags & CF_START) || strcmp(old_cfg->text[i], new_cfg->text[i]) == 0)
            continue;
        if (changed++ > 0)
            config_put(buf, buflen, &o, ", ", 2);
        config_put(buf, buflen, &o, keys[i].name, strlen(keys[i].name));
    }
    return changed;
}

const char *
config_type_name(const config_key_t *key)
{
    switch (key->type) {
    case CT_STRING:
        return "string";
    case CT_INT:
        return "integer";
    case CT_ENUM:
        return "one of";
    case CT_CIDR:
        return "list of networks (CIDR), or none";
    case CT_CIDR_PORTS:
        return "list of networks (CIDR, each with an optional port), or none";
    case CT_LOGLEVEL:
        return "debug, info, warn or error";
    case CT_BOOL:
        return "yes or no";
    case CT_DURATION:
        return "duration (500ms, 15s, 5m, 2h, 1d; a bare number is seconds)";
    case CT_DURATION_LIST:
        return "comma-separated list of durations";
    case CT_PERCENT:
        return "percentage (10%, 0.5%)";
    case CT_HOSTPORT:
        return "IP:port or [IPv6]:port";
    case CT_HOSTNAME:
        return "host name";
    case CT_REDIS:
        return "Redis address";
    case CT_URL:
        return "http:// or https:// URL, or empty";
    }
    return "string";
}

/* ms as the largest whole unit: "7d", "5m", "1500ms". */
static void
config_duration_text(long ms, char *buf, size_t buflen)
{
    static const struct {
        long ms;
        const char *unit;
    } units[] = { { 86400000L, "d" }, { 3600000L, "h" }, { 60000L, "m" }, { 1000L, "s" } };
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        if (ms != 0 && ms % units[u].ms == 0) {
            snprintf(buf, buflen, "%ld%s", ms / units[u].ms, units[u].unit);
            return;
        }
    }
    snprintf(buf, buflen, ms == 0 ? "0" : "%ldms", ms);
}

/* ppm as a percentage: 1000000 -> "100%", 5000 -> "0.5%". */
static void
config_percent_text(long ppm, char *buf, size_t buflen)
{
    char frac[8];
    int len;
    snprintf(frac, sizeof(frac), "%04ld", ppm % 10000);
    for (len = 4; len > 0 && frac[len - 1] == '0'; len--)
        frac[len - 1] = '\0';
    snprintf(buf, buflen, len ? "%ld.%s%%" : "%ld%%", ppm / 10000, frac);
}

void
config_bounds(const config_key_t *key, char *buf, size_t buflen)
{
    char lo[32], hi[32];
    buf[0] = '\0';
    switch (key->type) {
    case CT_INT:
        snprintf(buf, buflen, "%ld to %ld", key->min, key->max);
        break;
    case CT_DURATION:
    case CT_DURATION_LIST:
        config_duration_text(key->min, lo, sizeof(lo));
        config_duration_text(key->max, hi, sizeof(hi));
        snprintf(buf, buflen, key->type == CT_DURATION ? "%s to %s" : "each %s to %s", lo, hi);
        break;
    case CT_PERCENT:
        config_percent_text(key->min, lo, sizeof(lo));
        config_percent_text(key->max, hi, sizeof(hi));
        snprintf(buf, buflen, "%s to %s", lo, hi);
        break;
    case CT_ENUM:
        snprintf(buf, buflen, "%s", key->choices[0]);
        for (int c = 1; c < 3 && key->choices[c]; c++)
            snprintf(buf + strlen(buf), buflen - strlen(buf), ", %s", key->choices[c]);
        break;
    default:
        break;
    }
}
