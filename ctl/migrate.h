/*
 * migrate.h -- `postinboxctl migrate`: the embedded schema migrations.
 *
 * Public: migration_t, migrations, migrations_count (generated into
 * ctl/sql_embedded.c from sql/[0-9]*.sql by scripts/embed-sql.sh),
 * migrate_run.
 * Each migration not yet recorded in postinbox.schema_migration runs in
 * its own transaction holding a transaction-scoped advisory lock, so two
 * concurrent runs apply each migration once.  Migrations hold several
 * statements and therefore go over the simple query protocol; every call
 * still has a client-side deadline (a poll(2) loop, as in lib/store/pgconn.c)
 * and a server-side statement_timeout.
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

/* Sorted by version. */
extern const migration_t migrations[];
extern const size_t migrations_count;

/* Applies pending migrations, printing "applied NNN_name" for each or
 * "schema up to date" ({"applied": [...], "version": N} with --json).
 * Returns the exit status (errors reported). */
int migrate_run(const pi_config_t *cfg, const char *conninfo);

#endif
