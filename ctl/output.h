/*
 * output.h -- everything postinboxctl prints.
 *
 * Public: output_set_json, output_json, output_object, output_list,
 * output_line, output_error, output_usage, output_warn, output_flush,
 * output_oneline.
 * Results go to stdout, either as JSON (--json: one document, built with
 * jansson, so it is always valid) or as "key: value" lines and simple
 * tables for people.  Diagnostics go to stderr as "postinboxctl: ...".
 * In human output every control character of a value is shown as a
 * space, so data from mail headers cannot break lines or the terminal.
 */
#ifndef POSTINBOX_CTL_OUTPUT_H
#define POSTINBOX_CTL_OUTPUT_H

#include <jansson.h>

#define CTL_EXIT_OK 0
#define CTL_EXIT_ERROR 1
#define CTL_EXIT_USAGE 2

/* One column of a human-readable table. */
typedef struct output_column {
    const char *header;
    const char *key;      /* member of each row object */
    int max_width;        /* characters; longer values are cut with "..." */
} output_column_t;

void output_set_json(int json);
int output_json(void);

/* Prints one object and drops the reference.  Human output shows the
 * members named in keys (NULL-terminated), or all of them when keys is
 * NULL, one "key: value" line each. */
void output_object(json_t *obj, const char *const *keys);
/* Prints {"data": rows, "total": total} or a table, and drops the
 * reference to rows. */
void output_list(json_t *rows, long long total, long long offset, const output_column_t *columns);
/* A line for people only (nothing in --json mode). */
void output_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "postinboxctl: message" on stderr; return CTL_EXIT_ERROR / CTL_EXIT_USAGE. */
int output_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int output_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "postinboxctl: warning: message" on stderr. */
void output_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Makes backend error text one line in place: whitespace runs (libpq's
 * "\n\t" before a HINT) become one space, none at either end. */
char *output_oneline(char *text);

/* Flushes stdout; CTL_EXIT_ERROR (reported) if anything failed to be written. */
int output_flush(void);

#endif
