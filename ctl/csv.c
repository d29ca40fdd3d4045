/*
 * csv.c -- RFC 4180 reading and writing.  See csv.h.
 */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
csv_reader_init(csv_reader_t *r, const char *data, size_t len)
{
    r->p = data;
    r->end = data + len;
    r->line = 1;
    /* a record's fields are never longer than the input, plus their NULs */
    r->buf = malloc(len + CSV_MAX_FIELDS + 1);
    return r->buf ? 0 : -1;
}

void
csv_reader_free(csv_reader_t *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Whether p starts a line end (CRLF or LF); its length in *n. */
static int
csv_eol(const char *p, const char *end, size_t *n)
{
    if (p < end && *p == '\n')
        return *n = 1, 1;
    if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
        return *n = 2, 1;
    return 0;
}

int
csv_read(csv_reader_t *r, char *fields[CSV_MAX_FIELDS], long *line, char *err, size_t errlen)
{
    char *out = r->buf;
    int n = 0;
    size_t eol;

    while (csv_eol(r->p, r->end, &eol)) /* blank lines */
        r->p += eol, r->line++;
    if (r->p >= r->end)
        return 0;
    *line = r->line;
    for (;;) {
        if (n == CSV_MAX_FIELDS) {
            snprintf(err, errlen, "line %ld: more than %d fields", *line, CSV_MAX_FIELDS);
            return -1;
        }
        fields[n++] = out;
        if (r->p < r->end && *r->p == '"') {
            r->p++;
            for (;;) {
                if (r->p >= r->end) {
                    snprintf(err, errlen, "line %ld: a quoted field is not closed", *line);
                    return -1;
                }
                if (*r->p == '"') {
                    if (r->p + 1 < r->end && r->p[1] == '"') {
                        *out++ = '"';
                        r->p += 2;
                        continue;
                    }
                    r->p++;
                    break;
                }
                if (*r->p == '\0') {
                    snprintf(err, errlen, "line %ld: a NUL byte", r->line);
                    return -1;
                }
                if (*r->p == '\n')
                    r->line++;
                *out++ = *r->p++;
            }
            if (r->p < r->end && *r->p != ',' && !csv_eol(r->p, r->end, &eol)) {
                snprintf(err, errlen, "line %ld: text after a closing quote", r->line);
                return -1;
            }
        } else {
            while (r->p < r->end && *r->p != ',' && !csv_eol(r->p, r->end, &eol)) {
                if (*r->p == '"' || *r->p == '\0') {
                    snprintf(err, errlen, "line %ld: %s in an unquoted field", r->line,
                             *r->p == '"' ? "a quote" : "a NUL byte");
                    return -1;
                }
                *out++ = *r->p++;
            }
        }
        *out++ = '\0';
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (csv_eol(r->p, r->end, &eol))
            r->p += eol, r->line++;
        return n;
    }
}

/* Whether a spreadsheet could read value as a formula. */
static int
csv_formula(const char *value)
{
    return value[0] != '\0' && strchr("=+-@\t\r", value[0]) != NULL;
}

char *
csv_field(const char *value, int guard)
{
    size_t len = strlen(value);
    int prefix = guard && csv_formula(value);
    int quote = strpbrk(value, ",\"\r\n") != NULL || (len > 0 && (value[0] == ' ' || value[len - 1] == ' '));
    /* every byte doubled at worst, the prefix, two quotes, the NUL */
    char *out = malloc(2 * len + 4), *o = out;

    if (out == NULL)
        return NULL;
    if (quote)
        *o++ = '"';
    if (prefix)
        *o++ = '\'';
    for (const char *p = value; *p; p++) {
        if (*p == '"')
            *o++ = '"';
        *o++ = *p;
    }
    if (quote)
        *o++ = '"';
    *o = '\0';
    return out;
}

char *
csv_unguard(char *value)
{
    if (value[0] == '\'' && csv_formula(value + 1))
        memmove(value, value + 1, strlen(value));
    return value;
}
