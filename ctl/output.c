/*
 * output.c -- JSON or human output, diagnostics.  See output.h.
 */
#include "output.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int output_as_json;

void
output_set_json(int json)
{
    output_as_json = json;
}

int
output_json(void)
{
    return output_as_json;
}

/* Appends text to a growing string, control characters as spaces. */
static void
output_append(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (*buf == NULL || *len + n + 1 > *cap) {
        size_t want = (*cap ? *cap * 2 : 64);
        while (want < *len + n + 1)
            want *= 2;
        char *grown = realloc(*buf, want);
        if (grown == NULL) {
            fputs("postinboxctl: out of memory\n", stderr);
            exit(CTL_EXIT_ERROR);
        }
        *buf = grown;
        *cap = want;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        (*buf)[(*len)++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    (*buf)[*len] = '\0';
}

/* A value as one line of text for people (malloc'd): null and empty
 * arrays as "-", arrays joined with ", ", objects as compact JSON. */
static char *
output_value_text(const json_t *value)
{
    char *buf = NULL, num[32];
    size_t len = 0, cap = 0;

    switch (value ? json_typeof(value) : JSON_NULL) {
    case JSON_STRING:
        output_append(&buf, &len, &cap, json_string_value(value));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        output_append(&buf, &len, &cap, num);
        break;
    case JSON_REAL:
        snprintf(num, sizeof(num), "%g", json_real_value(value));
        output_append(&buf, &len, &cap, num);
        break;
    case JSON_TRUE:
        output_append(&buf, &len, &cap, "true");
        break;
    case JSON_FALSE:
        output_append(&buf, &len, &cap, "false");
        break;
    case JSON_ARRAY:
        if (json_array_size(value) == 0) {
            output_append(&buf, &len, &cap, "-");
            break;
        }
        for (size_t i = 0; i < json_array_size(value); i++) {
            char *item = output_value_text(json_array_get(value, i));
            if (i > 0)
                output_append(&buf, &len, &cap, ", ");
            output_append(&buf, &len, &cap, item);
            free(item);
        }
        break;
    case JSON_OBJECT: {
        char *dump = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER);
        output_append(&buf, &len, &cap, dump ? dump : "{}");
        free(dump);
        break;
    }
    case JSON_NULL:
        output_append(&buf, &len, &cap, "-");
        break;
    }
    if (buf == NULL)
        output_append(&buf, &len, &cap, "");
    return buf;
}

/* Characters (not bytes) of UTF-8 text. */
static int
output_width(const char *text)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

/* Cuts text in place to at most max characters, ending in "...". */
static void
output_cut(char *text, int max)
{
    int chars = 0;
    if (max < 4 || output_width(text) <= max)
        return;
    for (unsigned char *p = (unsigned char *)text; *p; p++) {
        if ((*p & 0xc0) != 0x80 && chars++ == max - 3) {
            strcpy((char *)p, "...");
            return;
        }
    }
}

static void
output_dump(const json_t *doc)
{
    json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
}

void
output_object(json_t *obj, const char *const *keys)
{
    if (output_as_json) {
        output_dump(obj);
    } else if (keys != NULL) {
        for (size_t i = 0; keys[i]; i++) {
            char *text = output_value_text(json_object_get(obj, keys[i]));
            printf("%s: %s\n", keys[i], text);
            free(text);
        }
    } else {
        const char *key;
        json_t *value;
        json_object_foreach(obj, key, value) {
            char *text = output_value_text(value);
            printf("%s: %s\n", key, text);
            free(text);
        }
    }
    json_decref(obj);
}

void
output_list(json_t *rows, long long total, long long offset, const output_column_t *columns)
{
    size_t nrows = json_array_size(rows), ncols = 0;

    if (output_as_json) {
        json_t *doc = json_object();
        json_object_set(doc, "data", rows);
        json_object_set_new(doc, "total", json_integer(total));
        output_dump(doc);
        json_decref(doc);
        json_decref(rows);
        return;
    }
    while (columns[ncols].header)
        ncols++;

    char **cells = calloc((nrows + 1) * ncols + 1, sizeof(char *));
    int *widths = calloc(ncols + 1, sizeof(int));
    if (cells == NULL || widths == NULL) {
        fputs("postinboxctl: out of memory\n", stderr);
        exit(CTL_EXIT_ERROR);
    }
    for (size_t c = 0; c < ncols; c++)
        widths[c] = output_width(columns[c].header);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            char *text = output_value_text(json_object_get(json_array_get(rows, r), columns[c].key));
            if (columns[c].max_width > 0)
                output_cut(text, columns[c].max_width);
            if (output_width(text) > widths[c])
                widths[c] = output_width(text);
            cells[r * ncols + c] = text;
        }
    }
    for (size_t c = 0; c < ncols; c++)
        printf("%s%-*s", c ? "  " : "", c + 1 < ncols ? widths[c] : 0, columns[c].header);
    fputc('\n', stdout);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *text = cells[r * ncols + c];
            /* pad by characters, not bytes */
            int pad = c + 1 < ncols ? widths[c] - output_width(text) : 0;
            printf("%s%s%*s", c ? "  " : "", text, pad, "");
            free(cells[r * ncols + c]);
        }
        fputc('\n', stdout);
    }
    if (nrows == 0)
        printf("(none; %lld in total)\n", total);
    else
        printf("(%lld-%lld of %lld)\n", offset + 1, offset + (long long)nrows, total);
    free(cells);
    free(widths);
    json_decref(rows);
}

void
output_line(const char *fmt, ...)
{
    va_list ap;
    if (output_as_json)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

static void output_stderr(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
output_stderr(const char *prefix, const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "postinboxctl: %s", prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int
output_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    output_stderr("", fmt, ap);
    va_end(ap);
    return CTL_EXIT_ERROR;
}

int
output_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    output_stderr("", fmt, ap);
    va_end(ap);
    return CTL_EXIT_USAGE;
}

void
output_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    output_stderr("warning: ", fmt, ap);
    va_end(ap);
}

char *
output_oneline(char *text)
{
    char *out = text;
    for (const char *in = text; *in; in++) {
        int space = *in == ' ' || *in == '\t' || *in == '\n' || *in == '\r';
        if (space && (out == text || out[-1] == ' '))
            continue;
        *out++ = space ? ' ' : *in;
    }
    while (out > text && out[-1] == ' ')
        out--;
    *out = '\0';
    return text;
}

int
output_flush(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("postinboxctl: error writing to standard output\n", stderr);
        return CTL_EXIT_ERROR;
    }
    return CTL_EXIT_OK;
}
