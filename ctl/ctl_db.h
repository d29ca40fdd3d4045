/*
 * ctl_db.h -- postinboxctl's configuration and backends.
 *
 * Public: ctl_t, ctl_open, ctl_close, ctl_admin, ctl_fail, ctl_query,
 * ctl_query_private, ctl_valid_input, ctl_time_arg, ctl_count, ctl_list,
 * ctl_resolve_inbox, ctl_actor, ctl_json_text, ctl_json_int,
 * ctl_json_bool, ctl_json_parsed, CTL_ISO.
 * One ctl_t per run: the config (the -c file, else the default path if
 * it exists, else built-in defaults), a one-connection store opened on
 * first use and a limiter for reading usage, handed to the admin layer
 * (lib/admin) as the operator (no acting account) with actor
 * "postinboxctl:<user>", and the key of secret_key_file if it is set
 * (read then; a key that cannot be read fails only the commands that
 * seal, with the reason).  Every query goes through admin_exec, so it is
 * parameterised and has a deadline: the config's backend_timeout_ms, but
 * at least CTL_MIN_TIMEOUT_MS, since the milter's short deadline is not
 * meant for admin queries.  Errors are reported here (stderr), so callers
 * just return CTL_EXIT_ERROR; the first failed usage read warns once.
 */
#ifndef POSTINBOX_CTL_DB_H
#define POSTINBOX_CTL_DB_H

#include <jansson.h>
#include <libpq-fe.h>

#include "admin.h"
#include "args.h"
#include "admin_list.h"
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
    char limiter_error[256]; /* why limiter is NULL */
    secretbox_t *secrets;  /* secret_key_file, read with the store; NULL: none or unreadable */
    char secrets_error[256]; /* why secrets is NULL */
    admin_t admin;         /* over store and limiter, once store exists */
} ctl_t;

/* Loads the config.  0, or CTL_EXIT_ERROR after reporting. */
int ctl_open(ctl_t *ctl, const char *config_path);
/* conninfo with client_encoding=UTF8 appended (malloc'd): we send and
 * expect UTF-8 whatever the database encoding or PGCLIENTENCODING.  Later
 * settings win in both conninfo forms. */
char *ctl_conninfo_utf8(const char *conninfo);
void ctl_close(ctl_t *ctl);

/* The admin layer over this run's backends (opened on first use); NULL
 * after reporting. */
admin_t *ctl_admin(ctl_t *ctl);
/* Reports an admin error ("database: ..." for a failed statement);
 * returns CTL_EXIT_ERROR. */
int ctl_fail(const admin_error_t *err);

/* Runs one parameterised statement; NULL after reporting the error. */
PGresult *ctl_query(ctl_t *ctl, const char *sql, int nparams, const char *const *params);
/* The same for statements carrying a secret: an error is reported by its
 * first line only, since libpq's DETAIL can quote the failing row. */
PGresult *ctl_query_private(ctl_t *ctl, const char *sql, int nparams, const char *const *params);

/* Whether PostgreSQL takes value as input for type (a type name written
 * in the code, e.g. "timestamptz"): 1 yes; 0 no, with the server's reason
 * in err; -1 on database error (reported). */
int ctl_valid_input(ctl_t *ctl, const char *value, const char *type, char *err, size_t errlen);

/* --NAME as a time: the ISO-8601 shape (valid_timestamp, "Z" added when
 * it has no offset) here, the value by PostgreSQL.  0 with *out buf (80
 * bytes) or NULL when absent; CTL_EXIT_USAGE or CTL_EXIT_ERROR (reported). */
int ctl_time_arg(ctl_t *ctl, const args_t *args, const char *name, char buf[80], const char **out);

/* Runs a SELECT count(*) ...; 0 with *count, or CTL_EXIT_ERROR (reported). */
int ctl_count(ctl_t *ctl, const char *sql, int nparams, const char *const *params, long long *count);

/* One page of the admin list kind, printed by output_list with columns;
 * render (may be NULL) rewrites each row for people first.  0, or
 * CTL_EXIT_ERROR (reported; not found as "no inbox SELECTOR" when the
 * inbox was given as selector). */
struct output_column;
int ctl_list(ctl_t *ctl, admin_list_kind_t kind, const admin_filter_t *filter, long limit, long offset,
             void (*render)(json_t *row), const struct output_column *columns);

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
