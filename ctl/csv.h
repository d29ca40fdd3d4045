/*
 * csv.h -- RFC 4180 records for `postinboxctl suppression import|export`.
 *
 * Public: csv_reader_t, csv_reader_init, csv_reader_free, csv_read,
 * csv_field, csv_unguard, CSV_MAX_FIELDS.
 * Reading: a whole input in memory, records ended by CRLF or LF (a last
 * one without), fields separated by commas, a field in double quotes may
 * hold commas, line breaks and "" for a quote.  Blank lines are skipped.
 * A quote inside an unquoted field, text after a closing quote, an
 * unterminated quote, a NUL byte or more than CSV_MAX_FIELDS fields is
 * an error naming the line.  Writing: a field is quoted when it holds a
 * comma, quote, CR or LF or starts or ends with a space.  The formula
 * guard: a value starting with = + - @ (or a tab or CR) is written with
 * a leading ' so a spreadsheet shows it as text instead of running it
 * (OWASP "CSV injection"); csv_unguard takes exactly that ' off again.
 * Pure functions; log nothing.
 */
#ifndef POSTINBOX_CTL_CSV_H
#define POSTINBOX_CTL_CSV_H

#include <stddef.h>

#define CSV_MAX_FIELDS 16

typedef struct {
    const char *p, *end; /* what is left of the input */
    long line;           /* the physical line p is on (1-based) */
    char *buf;           /* the fields of the last record */
} csv_reader_t;

/* Reads from data (len bytes, kept by the caller).  0, or -1 without memory. */
int csv_reader_init(csv_reader_t *r, const char *data, size_t len);
void csv_reader_free(csv_reader_t *r);

/* The next record: its fields (NUL-terminated, valid until the next
 * call) in fields[0..n-1] and the line it starts on in *line.  Returns
 * n (>= 1), 0 at the end, or -1 with err. */
int csv_read(csv_reader_t *r, char *fields[CSV_MAX_FIELDS], long *line, char *err, size_t errlen);

/* value as one field (malloc'd; NULL without memory), quoted as needed;
 * with guard, a leading = + - @ TAB CR gets a ' before it. */
char *csv_field(const char *value, int guard);

/* Takes off the ' the guard put before = + - @ TAB CR, in place; returns value. */
char *csv_unguard(char *value);

#endif
