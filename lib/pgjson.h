/*
 * pgjson.h -- libpq result columns as jansson values.
 *
 * Public: pgjson_text, pgjson_int, pgjson_bool, pgjson_parsed, PGJSON_ISO.
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

#endif
