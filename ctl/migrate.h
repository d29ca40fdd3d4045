/*
 * migrate.h -- `postinboxctl migrate`: the embedded schema migrations and
 * definition files (docs/ARCHITECTURE.md, "The SQL layout").
 *
 * Public: migration_t, migrations, migrations_count, definition_t,
 * definitions, definitions_count (generated into ctl/sql_embedded.c from
 * sql/migrations/ and sql/functions/ by scripts/embed-sql.sh), migrate_run.
 * One run is one transaction holding a transaction-scoped advisory lock:
 * every migration not yet recorded in postinbox.schema_migration, in
 * number order, then every definition file whose SHA-256 differs from
 * the one in postinbox.schema_definition (all of them when a migration
 * ran), in name order; so two concurrent runs apply each once, and the
 * functions never meet tables they were not written for.  The files hold
 * several statements and therefore go over the simple query protocol;
 * every call still has a client-side deadline (a poll(2) loop, as in
 * lib/store/pgconn.c) and a server-side statement_timeout.
 */
#ifndef POSTINBOX_CTL_MIGRATE_H
#define POSTINBOX_CTL_MIGRATE_H

#include <stddef.h>

#include "lib/util/config.h" /* not autoconf's config.h, found first via -I. */

typedef struct {
    int version;           /* the number in NNN_name.sql */
    const char *name;      /* "NNN_name" */
    const char *sql;
} migration_t;

typedef struct {
    const char *name;      /* "record" for sql/functions/record.sql */
    const char *sha256;    /* of the file, lower-case hex */
    const char *sql;
} definition_t;

/* Sorted by version. */
extern const migration_t migrations[];
extern const size_t migrations_count;

/* Sorted by name. */
extern const definition_t definitions[];
extern const size_t definitions_count;

/* Applies pending migrations and changed definitions, then prints
 * "applied NNN_name" for each migration and "applied functions/name" for
 * each definition file, or "schema up to date" ({"applied": [...],
 * "definitions": [...], "version": N} with --json).  Returns the exit
 * status (errors reported; nothing is applied then).  runtime_conninfo,
 * when not NULL, is the daemons' connection string: when its user is not
 * the one migrating, that role is granted what the daemons need
 * (postinbox.grant_runtime(), sql/functions/grants.sql) on every run,
 * and "granted runtime privileges to ROLE" is printed when the schema
 * changed. */
int migrate_run(const pi_config_t *cfg, const char *conninfo, const char *runtime_conninfo);

#endif
