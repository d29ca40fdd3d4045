/*
 * postfix_log.c -- see postfix_log.h.
 */
#include "postfix_log.h"

#include <stdlib.h>
#include <string.h>

static void
pfl_copy(char *dst, size_t dstlen, const char *src, size_t n)
{
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int
pfl_isalnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
pfl_is_vowel(char c)
{
    return strchr("AEIOUaeiou", c) != NULL;
}

/* A short queue id is upper-case hex; a long one (enable_long_queue_ids)
 * uses digits and consonants, with a 'z' between time and inode parts. */
static int
pfl_queue_id_ok(const char *s, size_t n)
{
    if (n < 5 || n >= PFL_QUEUE_ID_MAX)
        return 0;
    int hex = 1, vowels = 0;
    for (size_t i = 0; i < n; i++) {
        if (!pfl_isalnum(s[i]))
            return 0;
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            hex = 0;
        if (pfl_is_vowel(s[i]))
            vowels = 1;
    }
    if (hex)
        return 1;
    return n >= 10 && !vowels;
}

static int
pfl_starts(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0;
}

/* Finds "QUEUEID: " followed by one of the interesting record starts, at
 * the start of the line or after ": ".  Returns the position of the queue
 * id, or NULL. */
static const char *
pfl_find_queue_id(const char *line, const char *end, size_t *qlen)
{
    const char *p = line;
    for (;;) {
        const char *q = p;
        while (q < end && pfl_isalnum(*q))
            q++;
        if (q > p && end - q >= 2 && q[0] == ':' && q[1] == ' ' && pfl_queue_id_ok(p, (size_t)(q - p))) {
            const char *r = q + 2;
            if (pfl_starts(r, end, "to=<") || pfl_starts(r, end, "from=<")
                || (pfl_starts(r, end, "removed") && (r + 7 == end || r[7] == ' ' || r[7] == '\r'))) {
                *qlen = (size_t)(q - p);
                return p;
            }
        }
        /* next candidate: after the next ": " */
        const char *c = p;
        while (c + 1 < end && !(c[0] == ':' && c[1] == ' '))
            c++;
        if (c + 1 >= end)
            return NULL;
        p = c + 2;
    }
}

/* Parses "<addr>" at p (p points at '<'); returns the position after '>'. */
static const char *
pfl_angle(const char *p, const char *end, char *dst, size_t dstlen)
{
    const char *start = p + 1, *close = NULL;
    /* the address ends at the first ">," or at a '>' ending the line */
    for (const char *c = start; c < end; c++) {
        if (*c == '>' && (c + 1 == end || c[1] == ',')) {
            close = c;
            break;
        }
    }
    if (close == NULL)
        return NULL;
    pfl_copy(dst, dstlen, start, (size_t)(close - start));
    return close + 1;
}

static int
pfl_key_at(const char *p, const char *end)
{
    const char *k = p;
    while (k < end && ((*k >= 'a' && *k <= 'z') || *k == '_'))
        k++;
    return k > p && k < end && *k == '=';
}

/* End of a plain value: the next ", key=" or the end of the line. */
static const char *
pfl_value_end(const char *p, const char *end)
{
    for (const char *c = p; c + 1 < end; c++)
        if (c[0] == ',' && c[1] == ' ' && pfl_key_at(c + 2, end))
            return c;
    return end;
}

static pfl_status_t
pfl_status_parse(const char *p, size_t n)
{
    static const struct {
        const char *name;
        pfl_status_t status;
    } names[] = {
        { "sent", PFL_STATUS_SENT },       { "deferred", PFL_STATUS_DEFERRED },
        { "SOFTBOUNCE", PFL_STATUS_DEFERRED }, { "bounced", PFL_STATUS_BOUNCED },
        { "expired", PFL_STATUS_EXPIRED },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, p, n) == 0)
            return names[i].status;
    return PFL_STATUS_NONE;
}

void
postfix_log_classify(const pfl_line_t *line, bounce_class_t *out)
{
    const char *action = NULL;
    switch (line->status) {
    case PFL_STATUS_BOUNCED:
        action = "failed";
        break;
    case PFL_STATUS_DEFERRED:
        action = "delayed";
        break;
    case PFL_STATUS_EXPIRED:
        action = "expired";
        break;
    default:
        bounce_classify(NULL, 0, NULL, NULL, out); /* undetermined */
        return;
    }
    bounce_classify(line->dsn[0] ? line->dsn : NULL, 0, line->diagnostic[0] ? line->diagnostic : NULL, action, out);
}

const char *
pfl_status_name(pfl_status_t status)
{
    switch (status) {
    case PFL_STATUS_SENT:
        return "sent";
    case PFL_STATUS_DEFERRED:
        return "deferred";
    case PFL_STATUS_BOUNCED:
        return "bounced";
    case PFL_STATUS_EXPIRED:
        return "expired";
    default:
        return "";
    }
}

static pfl_kind_t
pfl_none(pfl_line_t *out)
{
    memset(out, 0, sizeof(*out));
    out->delay = -1;
    return PFL_NONE;
}

pfl_kind_t
postfix_log_parse(const char *line, size_t len, pfl_line_t *out)
{
    const char *end = line + len;
    size_t qlen;

    pfl_none(out);
    while (end > line && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    const char *q = pfl_find_queue_id(line, end, &qlen);
    if (q == NULL)
        return PFL_NONE;
    pfl_copy(out->queue_id, sizeof(out->queue_id), q, qlen);

    /* agent: "postfix/smtp[123]: " -> "smtp" (the last "/NAME" of the prefix) */
    const char *slash = NULL;
    for (const char *c = line; c < q; c++)
        if (*c == '/')
            slash = c;
    if (slash) {
        const char *a = slash + 1, *b = a;
        while (b < q && (pfl_isalnum(*b) || *b == '-' || *b == '_'))
            b++;
        pfl_copy(out->agent, sizeof(out->agent), a, (size_t)(b - a));
    }

    const char *p = q + qlen + 2;
    if (pfl_starts(p, end, "removed")) {
        out->kind = PFL_REMOVED;
        return PFL_REMOVED;
    }
    if (pfl_starts(p, end, "from=<")) {
        char from[PFL_ADDR_MAX];
        const char *r = pfl_angle(p + 5, end, from, sizeof(from));
        if (r == NULL || !pfl_starts(r, end, ", status=expired"))
            return pfl_none(out);
        out->kind = PFL_EXPIRED;
        out->status = PFL_STATUS_EXPIRED;
        return PFL_EXPIRED;
    }
    /* to=<...> */
    p = pfl_angle(p + 3, end, out->to, sizeof(out->to));
    if (p == NULL || out->to[0] == '\0')
        return pfl_none(out);
    while (p < end) {
        if (!pfl_starts(p, end, ", ") || !pfl_key_at(p + 2, end))
            break;
        p += 2;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *v = eq + 1;
        size_t klen = (size_t)(eq - p);
        if (klen == 7 && memcmp(p, "orig_to", 7) == 0 && v < end && *v == '<') {
            p = pfl_angle(v, end, out->orig_to, sizeof(out->orig_to));
            if (p == NULL)
                return pfl_none(out);
            continue;
        }
        if (klen == 6 && memcmp(p, "status", 6) == 0) {
            const char *w = v;
            while (w < end && *w != ' ' && *w != ',')
                w++;
            out->status = pfl_status_parse(v, (size_t)(w - v));
            while (w < end && *w == ' ')
                w++;
            if (w < end && *w == '(') {
                const char *d = w + 1, *e = end;
                if (e > d && e[-1] == ')')
                    e--;
                pfl_copy(out->diagnostic, sizeof(out->diagnostic), d, (size_t)(e - d));
            } else if (w < end && *w == ',') {
                /* "status=expired, returned to sender" style remainder */
                w++;
                while (w < end && *w == ' ')
                    w++;
                pfl_copy(out->diagnostic, sizeof(out->diagnostic), w, (size_t)(end - w));
            }
            break;
        }
        const char *ve = pfl_value_end(v, end);
        if (klen == 5 && memcmp(p, "relay", 5) == 0)
            pfl_copy(out->relay, sizeof(out->relay), v, (size_t)(ve - v));
        else if (klen == 3 && memcmp(p, "dsn", 3) == 0)
            pfl_copy(out->dsn, sizeof(out->dsn), v, (size_t)(ve - v));
        else if (klen == 5 && memcmp(p, "delay", 5) == 0) {
            char num[32];
            char *num_end;
            pfl_copy(num, sizeof(num), v, (size_t)(ve - v));
            double d = strtod(num, &num_end);
            if (num_end != num && *num_end == '\0' && d >= 0)
                out->delay = d;
        }
        p = ve;
    }
    if (out->status == PFL_STATUS_NONE)
        return pfl_none(out);
    out->kind = PFL_DELIVERY;
    return PFL_DELIVERY;
}
