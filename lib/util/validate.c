/*
 * validate.c -- input checks.  See validate.h.
 */
#include "validate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

int
valid_uuid(const char *text)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (strlen(text) != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == '-' ? text[i] != '-' : !isxdigit((unsigned char)text[i]))
            return 0;
    }
    return 1;
}

int
valid_hostname(const char *name)
{
    size_t len = strlen(name), label = 0;
    int dots = 0;

    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        char c = name[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || name[i - 1] == '-')
                return 0;
            if (c == '.')
                dots++;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
        if (label == 0 && c == '-')
            return 0;
        label++;
    }
    return dots > 0; /* a mail domain has at least two labels */
}

int
valid_username(const char *name)
{
    size_t len = strlen(name);
    if (len < 1 || len > 64)
        return 0;
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
        return 0;
    for (size_t i = 1; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("._+-", c)))
            return 0;
    }
    /* an unquoted local part is a dot-atom: no "..", no trailing '.' */
    return strstr(name, "..") == NULL && name[len - 1] != '.';
}

/* Whether text holds a bidirectional embedding, override or isolate
 * (U+202A-U+202E, U+2066-U+2069): they make a name display as something
 * else than it is (an admin reading "evil" as "live"). */
static int
valid_has_bidi_control(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (p[0] == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
                             (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)))
            return 1;
    return 0;
}

int
valid_text(const char *text)
{
    size_t len = strlen(text);
    char *clean = utf8_sanitize(text, len, len + 1);
    int ok = clean != NULL && strcmp(clean, text) == 0 && strchr(text, '\t') == NULL &&
             !valid_has_bidi_control(text);
    free(clean);
    return ok;
}

char *
ascii_lower(char *text)
{
    for (char *p = text; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return text;
}

int
valid_label(const char *text)
{
    return text[0] != '\0' && strlen(text) <= VALID_LABEL_MAX && valid_text(text);
}

/* Advances *p over n digits; whether there were n. */
static int
valid_digits(const char **p, int n)
{
    for (int i = 0; i < n; i++, (*p)++)
        if (!isdigit((unsigned char)**p))
            return 0;
    return 1;
}

/* The two digits at p as a number. */
static int
valid_2(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

int
valid_timestamp(const char *value, char *out, size_t outlen)
{
    static const int days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const char *p = value;
    int ok, offset = 0;

    ok = valid_digits(&p, 4) && *p++ == '-' && valid_digits(&p, 2) && *p++ == '-' && valid_digits(&p, 2);
    /* values too, so PostgreSQL's cast cannot fail (month 13, Feb 30) */
    if (ok) {
        int year = atoi(value), month = valid_2(value + 5), day = valid_2(value + 8);
        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        ok = year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= days[month - 1] &&
             (month != 2 || day <= 28 || leap);
    }
    if (ok && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        ok = valid_digits(&p, 2) && *p++ == ':' && valid_digits(&p, 2) && valid_2(p - 5) <= 23 &&
             valid_2(p - 2) <= 59;
        if (ok && *p == ':') {
            p++;
            ok = valid_digits(&p, 2) && valid_2(p - 2) <= 59;
            if (ok && *p == '.') {
                p++;
                ok = isdigit((unsigned char)*p);
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
        if (ok && (*p == '+' || *p == '-')) {
            p++;
            offset = 1;
            ok = valid_digits(&p, 2) && valid_2(p - 2) <= 15;
            /* the offset's minutes too: PostgreSQL refuses +05:99 */
            if (ok && *p == ':')
                p++, ok = valid_digits(&p, 2) && valid_2(p - 2) <= 59;
            else if (ok && *p != '\0')
                ok = valid_digits(&p, 2) && valid_2(p - 2) <= 59;
        }
    }
    if (ok && !offset && (*p == 'Z' || *p == 'z'))
        p++, offset = 1;
    if (!ok || *p != '\0' || strlen(value) + 2 > outlen)
        return 0;
    snprintf(out, outlen, "%s%s", value, offset ? "" : "Z");
    return 1;
}

int
valid_event_type(const char *type)
{
    const char *word;
    if (strncmp(type, "message.", 8) == 0)
        word = type + 8;
    else if (strncmp(type, "inbox.", 6) == 0)
        word = type + 6;
    else if (strncmp(type, "domain.", 7) == 0)
        word = type + 7;
    else
        return 0;
    if (*word == '\0')
        return 0;
    for (const char *p = word; *p; p++)
        if (!(*p >= 'a' && *p <= 'z') && !(*p == '_' && p > word && p[-1] != '_' && p[1] != '\0'))
            return 0;
    return 1;
}

/* A decimal number of at most 10 digits in min..max; -1 if not. */
static long
valid_number(const char *text, long min, long max)
{
    long value = 0;
    size_t len = strlen(text);

    if (len == 0 || len > 10)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value >= min && value <= max ? value : -1;
}

int
valid_page(const char *limit_text, const char *offset_text, long *limit, long *offset, char *err, size_t errlen)
{
    *limit = VALID_PAGE_DEFAULT;
    *offset = 0;
    if (limit_text != NULL && (*limit = valid_number(limit_text, 1, VALID_PAGE_MAX)) < 0) {
        snprintf(err, errlen, "limit must be a whole number from 1 to %d", VALID_PAGE_MAX);
        return -1;
    }
    if (offset_text != NULL && (*offset = valid_number(offset_text, 0, VALID_OFFSET_MAX)) < 0) {
        snprintf(err, errlen, "offset must be a whole number from 0 to %ld", VALID_OFFSET_MAX);
        return -1;
    }
    return 0;
}
