/*
 * ctl_db.h -- postinboxctl's configuration and backends.
 *
 * Public: ctl_t, ctl_open, ctl_close, ctl_query, ctl_query_private,
 * ctl_valid_input, ctl_count, ctl_list, ctl_usage, ctl_resolve_inbox, ctl_actor,
 * ctl_json_text, ctl_json_int, ctl_json_bool, ctl_json_parsed, CTL_ISO.
 * One ctl_t per run: the config (the -c file, else the default path if
 * it exists, else built-in defaults), a one-connection store opened on
 * first use and a limiter for reading usage.  Every query goes through
 * store_exec, so it is parameterised and has a deadline: the config's
 * backend_timeout_ms, but at least CTL_MIN_TIMEOUT_MS, since the milter's
 * short deadline is not meant for admin queries.  Errors are reported
 * here (stderr), so callers just return CTL_EXIT_ERROR.
 */
#ifndef POSTINBOX_CTL_DB_H
#define POSTINBOX_CTL_DB_H

#include <jansson.h>
#include <libpq-fe.h>

#include "lib/util/config.h" /* not autoconf's config.h, found first via -I. */
#include "limiter.h"
#include "pgjson.h"
#include "store.h"

#define CTL_MIN_TIMEOUT_MS 10000

/* SQL: a timestamptz column as ISO-8601 UTC text, e.g. 2024-05-01T12:00:00.000Z */
#define CTL_ISO(col) PGJSON_ISO(col)

typedef struct {
    pi_config_t *cfg;
    char *conninfo;        /* cfg->database with client_encoding=UTF8 */
    int timeout_ms;
    store_t *store;
    limiter_t *limiter;
    int redis_down;        /* warned once; no further Redis calls */
} ctl_t;

/* Loads the config.  0, or CTL_EXIT_ERROR after reporting. */
int ctl_open(ctl_t *ctl, const char *config_path);
void ctl_close(ctl_t *ctl);

/* Runs one parameterised statement; NULL after reporting the error. */
PGresult *ctl_query(ctl_t *ctl, const char *sql, int nparams, const char *const *params);
/* The same for statements carrying a secret: an error is reported by its
 * first line only, since libpq's DETAIL can quote the failing row. */
PGresult *ctl_query_private(ctl_t *ctl, const char *sql, int nparams, const char *const *params);

/* Whether PostgreSQL takes value as input for type (a type name written
 * in the code, e.g. "timestamptz"): 1 yes; 0 no, with the server's reason
 * in err; -1 on database error (reported). */
int ctl_valid_input(ctl_t *ctl, const char *value, const char *type, char *err, size_t errlen);

/* Runs a SELECT count(*) ...; 0 with *count, or CTL_EXIT_ERROR (reported). */
int ctl_count(ctl_t *ctl, const char *sql, int nparams, const char *const *params, long long *count);

/* One page of a list, printed by output_list: count_sql with the nfilter
 * parameters gives "total"; page_sql takes the same parameters plus
 * $nfilter+1 = limit and $nfilter+2 = offset; to_json turns each row
 * into an object.  0, or CTL_EXIT_ERROR (reported). */
struct output_column;
typedef json_t *(*ctl_row_fn)(const PGresult *res, int row);
int ctl_list(ctl_t *ctl, const char *count_sql, const char *page_sql, int nfilter, const char *const *filter,
             long limit, long offset, ctl_row_fn to_json, const struct output_column *columns);

/* Reads an inbox's usage from Redis.  -1 if Redis is unreachable (a
 * warning is printed the first time; later calls fail at once). */
int ctl_usage(ctl_t *ctl, const char *inbox_id, limit_result_t *res);

/* Resolves an inbox given as a uuid or an address (anything with '@').
 * 0 with id filled, CTL_EXIT_USAGE if selector is neither,
 * CTL_EXIT_ERROR if no such inbox or on database error (reported). */
int ctl_resolve_inbox(ctl_t *ctl, const char *selector, char id[40]);

/* "postinboxctl:<unix user>" for audit rows. */
const char *ctl_actor(void);

/* Column values of a result as JSON; NULL columns become null. */
json_t *ctl_json_text(const PGresult *res, int row, int col);
json_t *ctl_json_int(const PGresult *res, int row, int col);
json_t *ctl_json_bool(const PGresult *res, int row, int col);
/* A column holding JSON text (to_json(...)::text, jsonb). */
json_t *ctl_json_parsed(const PGresult *res, int row, int col);

#endif
