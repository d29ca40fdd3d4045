/*
 * migrate.c -- applies the embedded migrations.  See migrate.h.
 *
 * Why not store_exec: it uses the extended protocol, which takes one
 * statement per call.  Here a migration or definition file is sent whole with
 * PQsendQuery, on a connection opened by pgconn_open (deadline-bound
 * connect), and each call waits in poll(2) until a deadline a little
 * past the server-side statement_timeout.
 */
#include "migrate.h"
#include "clock.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "pgconn.h"

/* Server-side limit of each statement (PostgreSQL >= 13 applies it to
 * each statement of a multi-statement query), including the wait for
 * another migrate's lock. */
#define MIGRATE_STATEMENT_TIMEOUT "60s"
/* Client-side deadline of one call: the server's limit plus slack, and
 * for a whole migration file (many statements) a generous 10 minutes. */
#define MIGRATE_CALL_TIMEOUT_MS 70000
#define MIGRATE_FILE_TIMEOUT_MS 600000
/* pg_advisory_xact_lock key: "postinbx" as a 64-bit integer. */
#define MIGRATE_LOCK_KEY "8101821198485054072"

/* Waits for the socket; 1 ready, 0 deadline passed, -1 error. */
static int
migrate_wait(PGconn *conn, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - clock_ms();
        struct pollfd pfd = { .fd = PQsocket(conn), .events = events };
        if (left <= 0)
            return 0;
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* One line of libpq error text. */
static void
migrate_error_text(const char *msg, char *err, size_t errlen)
{
    if (msg == NULL || *msg == '\0')
        msg = "unknown error";
    if (strncmp(msg, "ERROR:  ", 8) == 0)
        msg += 8;
    snprintf(err, errlen, "%s", msg);
    output_oneline(err);
}

/* Runs sql (several statements when nparams is 0) within the deadline.
 * Returns the last result, or NULL with err (the first failing
 * statement's error). */
static PGresult *
migrate_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, int timeout_ms, char *err,
             size_t errlen)
{
    long long deadline = clock_ms() + timeout_ms;
    PGresult *res, *last = NULL, *failed = NULL;
    int sent, flushed;

    sent = nparams == 0 ? PQsendQuery(conn, sql)
                        : PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!sent) {
        migrate_error_text(PQerrorMessage(conn), err, errlen);
        return NULL;
    }
    while ((flushed = PQflush(conn)) == 1) {
        if (migrate_wait(conn, POLLOUT, deadline) <= 0)
            goto timeout;
    }
    if (flushed < 0) {
        migrate_error_text(PQerrorMessage(conn), err, errlen);
        return NULL;
    }
    for (;;) {
        while (PQisBusy(conn)) {
            if (migrate_wait(conn, POLLIN, deadline) <= 0)
                goto timeout;
            if (!PQconsumeInput(conn)) {
                migrate_error_text(PQerrorMessage(conn), err, errlen);
                PQclear(last);
                PQclear(failed);
                return NULL;
            }
        }
        res = PQgetResult(conn);
        if (res == NULL)
            break;
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && failed == NULL) {
            failed = res;
            continue;
        }
        PQclear(last);
        last = res;
    }
    if (failed != NULL) {
        migrate_error_text(PQresultErrorMessage(failed), err, errlen);
        PQclear(failed);
        PQclear(last);
        return NULL;
    }
    if (last == NULL)
        snprintf(err, errlen, "no result");
    return last;

timeout:
    /* The caller closes the connection: the server then rolls back. */
    PQclear(last);
    PQclear(failed);
    snprintf(err, errlen, "timed out after %d ms", timeout_ms);
    return NULL;
}

/* Runs a statement whose result is not needed; 0 or -1 with err. */
static int
migrate_do(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err, size_t errlen)
{
    PGresult *res = migrate_exec(conn, sql, nparams, params, MIGRATE_CALL_TIMEOUT_MS, err, errlen);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/* Rolls back after a failure; err keeps the failure's text (a failed
 * ROLLBACK only means the connection is gone). */
static void
migrate_rollback(PGconn *conn)
{
    char ignored[64];
    migrate_do(conn, "ROLLBACK", 0, NULL, ignored, sizeof(ignored));
}

/* Whether version v is among the rows of res (column 0). */
static int
migrate_recorded(const PGresult *res, int v)
{
    for (int i = 0; i < PQntuples(res); i++)
        if (strtol(PQgetvalue(res, i, 0), NULL, 10) == v)
            return 1;
    return 0;
}

/* Whether res (column 0) has a version newer than the last one known. */
static int
migrate_newer(const PGresult *res)
{
    if (migrations_count == 0)
        return 0;
    for (int i = 0; i < PQntuples(res); i++)
        if (strtol(PQgetvalue(res, i, 0), NULL, 10) > migrations[migrations_count - 1].version)
            return 1;
    return 0;
}

/* The recorded SHA-256 of definition name among res's (name, sha256)
 * rows, or NULL. */
static const char *
migrate_recorded_hash(const PGresult *res, const char *name)
{
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 0), name) == 0)
            return PQgetvalue(res, i, 1);
    return NULL;
}

/* In one locked transaction: the migrations not yet recorded, then the
 * definition files whose hash differs (all of them when a migration ran),
 * unless the database has a migration newer than this program knows
 * (*newer set): its functions are newer too, and are left alone.
 * Appends the names applied to applied and defined.  0, or -1 with err
 * saying what failed; nothing is applied then. */
static int
migrate_apply(PGconn *conn, json_t *applied, json_t *defined, int *newer, char *err, size_t errlen)
{
    char msg[768];  /* leaves room in err for what failed */
    PGresult *res;

    if (migrate_do(conn, "BEGIN", 0, NULL, msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "database: %s", msg);
        return -1;
    }
    if (migrate_do(conn, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, msg, sizeof(msg)) != 0)
        goto fail_db;
    /* After the lock: this statement's snapshot sees what the previous
     * holder committed. */
    res = migrate_exec(conn, "SELECT version FROM postinbox.schema_migration", 0, NULL, MIGRATE_CALL_TIMEOUT_MS,
                       msg, sizeof(msg));
    if (res == NULL)
        goto fail_db;
    *newer = migrate_newer(res);
    for (size_t i = 0; i < migrations_count; i++) {
        const migration_t *m = &migrations[i];
        char version[16];
        const char *params[2] = { version, m->name };
        PGresult *done;

        if (migrate_recorded(res, m->version))
            continue;
        snprintf(version, sizeof(version), "%d", m->version);
        done = migrate_exec(conn, m->sql, 0, NULL, MIGRATE_FILE_TIMEOUT_MS, msg, sizeof(msg));
        if (done == NULL) {
            PQclear(res);
            snprintf(err, errlen, "migration %s failed: %s", m->name, msg);
            goto fail;
        }
        PQclear(done);
        if (migrate_do(conn, "INSERT INTO postinbox.schema_migration (version, name) VALUES ($1::integer, $2)", 2,
                       params, msg, sizeof(msg)) != 0) {
            PQclear(res);
            goto fail_db;
        }
        json_array_append_new(applied, json_string(m->name));
    }
    PQclear(res);
    if (*newer)
        goto commit;

    res = migrate_exec(conn, "SELECT name, sha256 FROM postinbox.schema_definition", 0, NULL,
                       MIGRATE_CALL_TIMEOUT_MS, msg, sizeof(msg));
    if (res == NULL)
        goto fail_db;
    for (size_t i = 0; i < definitions_count; i++) {
        const definition_t *d = &definitions[i];
        const char *params[2] = { d->name, d->sha256 };
        const char *recorded = migrate_recorded_hash(res, d->name);
        PGresult *done;

        if (json_array_size(applied) == 0 && recorded != NULL && strcmp(recorded, d->sha256) == 0)
            continue;
        done = migrate_exec(conn, d->sql, 0, NULL, MIGRATE_FILE_TIMEOUT_MS, msg, sizeof(msg));
        if (done == NULL) {
            PQclear(res);
            snprintf(err, errlen, "definitions functions/%s failed: %s", d->name, msg);
            goto fail;
        }
        PQclear(done);
        if (migrate_do(conn,
                       "INSERT INTO postinbox.schema_definition (name, sha256) VALUES ($1, $2)"
                       " ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()",
                       2, params, msg, sizeof(msg)) != 0) {
            PQclear(res);
            goto fail_db;
        }
        json_array_append_new(defined, json_string(d->name));
    }
    PQclear(res);

commit:
    if (migrate_do(conn, "COMMIT", 0, NULL, msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "database: %s", msg);
        return -1;
    }
    return 0;

fail_db:
    snprintf(err, errlen, "database: %s", msg);
fail:
    migrate_rollback(conn);
    json_array_clear(applied);
    json_array_clear(defined);
    return -1;
}

/* Grants the runtime role (the user of runtime_conninfo) what the
 * daemons need, unless it is the role migrating; says so when tell (the
 * schema changed).  Granted on every run, so switching an installed
 * database to a runtime role needs nothing more.  0 or -1 with err. */
static int
migrate_grant_runtime(PGconn *conn, const char *runtime_conninfo, int tell, char *err, size_t errlen)
{
    char *perr = NULL, role[256] = "";
    PQconninfoOption *opts = PQconninfoParse(runtime_conninfo, &perr);
    PGresult *res;
    int same;

    if (opts == NULL) {
        snprintf(err, errlen, "database: %s", perr ? output_oneline(perr) : "cannot be parsed");
        PQfreemem(perr);
        return -1;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "user") == 0 && o->val)
            snprintf(role, sizeof(role), "%s", o->val);
    PQconninfoFree(opts);
    if (role[0] == '\0') {
        snprintf(err, errlen, "database names no user: cannot tell which role to grant the runtime privileges to");
        return -1;
    }
    const char *params[1] = { role };
    res = migrate_exec(conn, "SELECT current_user = $1", 1, params, MIGRATE_CALL_TIMEOUT_MS, err, errlen);
    if (res == NULL)
        return -1;
    same = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (same)
        return 0;
    if (migrate_do(conn, "SELECT postinbox.grant_runtime($1)", 1, params, err, errlen) != 0)
        return -1;
    if (tell)
        output_line("granted runtime privileges to %s", role);
    return 0;
}

int
migrate_run(const pi_config_t *cfg, const char *conninfo, const char *runtime_conninfo)
{
    char err[1024];
    int connect_ms = cfg->backend_timeout_ms < 2000 ? 2000 : cfg->backend_timeout_ms;
    json_t *applied = json_array();
    json_t *defined = json_array();
    PGconn *conn;
    PGresult *res;
    long newest = 0;
    int newer = 0;
    int rc = CTL_EXIT_OK;

    conn = pgconn_open(conninfo, connect_ms, err, sizeof(err));
    if (conn == NULL) {
        json_decref(applied);
        json_decref(defined);
        return output_error("database: %s", output_oneline(err));
    }
    if (PQserverVersion(conn) < 130000) {
        rc = output_error("PostgreSQL %d is too old; postinbox needs 13 or later",
                          PQserverVersion(conn) / 10000);
        goto out;
    }
    /* The bootstrap runs under the same lock, so concurrent first runs do
     * not race on CREATE ... IF NOT EXISTS. */
    if (migrate_do(conn,
                   "SET statement_timeout = '" MIGRATE_STATEMENT_TIMEOUT "';"
                   " SET client_min_messages = warning;"
                   " SET application_name = 'postinboxctl migrate'",
                   0, NULL, err, sizeof(err)) != 0) {
        rc = output_error("database: %s", err);
        goto out;
    }
    if (migrate_do(conn,
                   "BEGIN;"
                   " SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ");"
                   " CREATE SCHEMA IF NOT EXISTS postinbox;"
                   " CREATE TABLE IF NOT EXISTS postinbox.schema_migration ("
                   "   version    integer PRIMARY KEY,"
                   "   name       text NOT NULL,"
                   "   applied_at timestamptz NOT NULL DEFAULT now());"
                   " COMMIT",
                   0, NULL, err, sizeof(err)) != 0) {
        rc = output_error("database: preparing postinbox.schema_migration: %s", err);
        goto out;
    }
    if (migrate_apply(conn, applied, defined, &newer, err, sizeof(err)) != 0) {
        rc = output_error("%s", err);
        goto out;
    }
    /* Told once committed: a failed run applies nothing. */
    for (size_t i = 0; i < json_array_size(applied); i++)
        output_line("applied %s", json_string_value(json_array_get(applied, i)));
    for (size_t i = 0; i < json_array_size(defined); i++)
        output_line("applied functions/%s", json_string_value(json_array_get(defined, i)));
    fflush(stdout);

    res = migrate_exec(conn, "SELECT coalesce(max(version), 0) FROM postinbox.schema_migration", 0, NULL,
                       MIGRATE_CALL_TIMEOUT_MS, err, sizeof(err));
    if (res == NULL) {
        rc = output_error("database: %s", err);
        goto out;
    }
    newest = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (newer)
        output_warn("the database has migration %ld, newer than this postinboxctl knows (%d);"
                    " its functions were left alone",
                    newest, migrations_count > 0 ? migrations[migrations_count - 1].version : 0);
    if (json_array_size(applied) == 0 && json_array_size(defined) == 0)
        output_line("schema up to date");
    if (runtime_conninfo != NULL && !newer &&
        migrate_grant_runtime(conn, runtime_conninfo, json_array_size(applied) + json_array_size(defined) > 0, err,
                              sizeof(err)) != 0) {
        rc = output_error("granting the runtime role: %s", err);
        goto out;
    }
    if (cfg->postfix_maps_role[0] != '\0' && !newer) {
        /* Postfix's own tables (contrib/postfix/pgsql-*.cf): two functions, nothing else */
        const char *role[1] = { cfg->postfix_maps_role };
        if (migrate_do(conn, "SELECT postinbox.grant_postfix_maps($1)", 1, role, err, sizeof(err)) != 0) {
            rc = output_error("granting postfix_maps_role %s: %s", cfg->postfix_maps_role, err);
            goto out;
        }
        if (json_array_size(applied) + json_array_size(defined) > 0)
            output_line("granted the Postfix lookup functions to %s", cfg->postfix_maps_role);
    }
    if (output_json()) {
        json_t *doc = json_object();
        json_object_set(doc, "applied", applied);
        json_object_set(doc, "definitions", defined);
        json_object_set_new(doc, "version", json_integer(newest));
        output_object(doc, NULL);
    }
out:
    json_decref(applied);
    json_decref(defined);
    pgconn_close(conn);
    return rc;
}
