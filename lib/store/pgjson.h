/*
 * pgjson.h -- libpq result columns as jansson values.
 *
 * Public: pgjson_text, pgjson_int, pgjson_bool, pgjson_parsed, pgjson_field_t,
 * pgjson_set_fields, PGJSON_ISO.
 * NULL columns become JSON null; text that is not UTF-8 (a SQL_ASCII
 * database) is shown repaired, never dropped.  Thread-safe; logs nothing.
 */
#ifndef POSTINBOX_PGJSON_H
#define POSTINBOX_PGJSON_H

#include <jansson.h>
#include <libpq-fe.h>

/* SQL: a timestamptz column as ISO-8601 UTC text, e.g. 2024-05-01T12:00:00.000Z */
#define PGJSON_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

json_t *pgjson_text(const PGresult *res, int row, int col);
json_t *pgjson_int(const PGresult *res, int row, int col);
json_t *pgjson_bool(const PGresult *res, int row, int col);
/* A column holding JSON text (to_json(...)::text, jsonb). */
json_t *pgjson_parsed(const PGresult *res, int row, int col);

/* One column of a row object: its member name and how it is read:
 * 't' text, 'i' integer, 'b' boolean, 'j' JSON text. */
typedef struct {
    const char *name;
    char kind;
} pgjson_field_t;

/* Sets fields[0..n) on obj from columns first, first+1, ... of row.
 * Returns the column after the last one read. */
int pgjson_set_fields(json_t *obj, const PGresult *res, int row, int first, const pgjson_field_t *fields,
                      size_t n);

#define PGJSON_FIELDS(obj, res, row, first, table) \
    pgjson_set_fields((obj), (res), (row), (first), (table), sizeof(table) / sizeof((table)[0]))

#endif
