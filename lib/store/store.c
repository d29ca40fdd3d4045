/*
 * store.c -- pooled, deadline-bound PostgreSQL access.  See store.h.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "clock.h"
#include "pgconn.h"
#include "pool.h"

struct store {
    char *conninfo;
    int timeout_ms;
    pool_t *pool;
    metrics_backend_t metrics;  /* zero: none */
};

/* The statements every SMTP transaction runs, prepared once per
 * connection so each call skips parsing and planning. */
#define STORE_LOOKUP "postinbox_lookup"
#define STORE_LOOKUP_SQL \
    "SELECT managed, inbox_id, inbox_address, status, daily_limit, burst_limit, granted, suppressions," \
    " domain_failing, tracking" \
    " FROM postinbox.lookup($1, $2)"
#define STORE_SUPPRESSED "postinbox_suppressed"
#define STORE_SUPPRESSED_SQL \
    "SELECT source, coalesce(dsn, ''), to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')" \
    " FROM postinbox.suppression WHERE inbox_id = $1::uuid AND address = lower($2)" \
    "   AND (expires_at IS NULL OR expires_at > now())"
#define STORE_RECORD "postinbox_record"
#define STORE_RECORD_SQL "SELECT postinbox.record_message($1::jsonb, $2::bigint)"
#define STORE_RECORD_FAST "postinbox_record_fast"
#define STORE_RECORD_FAST_SQL "SELECT unnest(postinbox.record_fast($1::jsonb, $2::bigint))"

/* The server's own bounds on each session: no statement outlives the
 * call that sent it (the client has given up by then, and a statement
 * that went on could commit what the caller was told had failed), and a
 * statement notices within 100 ms that its client went away. */
#define STORE_SESSION_SQL \
    "SELECT set_config('statement_timeout', $1, false)," \
    " set_config('client_connection_check_interval', '100', false)"

/* A record must be committed by the deadline it carries (record.sql),
 * this much before the caller gives up: the time for the commit and the
 * answer to come back. */
#define STORE_RECORD_MARGIN_MS 100
/* SQLSTATEs that mean PostgreSQL was too slow for a record, not that it
 * refused it: past its deadline (record.sql), lock_timeout, statement
 * timeout or cancel. */
#define STORE_SQLSTATE_LATE "PIL01"

static void *
store_open(void *arg, int timeout_ms, char *err, size_t errlen)
{
    store_t *store = arg;
    PGconn *conn = pgconn_open(store->conninfo, timeout_ms, err, errlen);
    if (conn == NULL)
        return NULL;
    if (pgconn_prepare(conn, STORE_LOOKUP, STORE_LOOKUP_SQL, 2, timeout_ms, err, errlen) != 0 ||
        pgconn_prepare(conn, STORE_SUPPRESSED, STORE_SUPPRESSED_SQL, 2, timeout_ms, err, errlen) != 0 ||
        pgconn_prepare(conn, STORE_RECORD, STORE_RECORD_SQL, 2, timeout_ms, err, errlen) != 0 ||
        pgconn_prepare(conn, STORE_RECORD_FAST, STORE_RECORD_FAST_SQL, 2, timeout_ms, err, errlen) != 0) {
        pgconn_close(conn);
        return NULL;
    }
    char statement_ms[16];
    const char *params[1] = { statement_ms };
    int broken;
    snprintf(statement_ms, sizeof(statement_ms), "%d", store->timeout_ms);
    PGresult *res = pgconn_query(conn, STORE_SESSION_SQL, 1, params, timeout_ms, &broken, err, errlen);
    if (res == NULL) {
        pgconn_close(conn);
        return NULL;
    }
    PQclear(res);
    return conn;
}

static void
store_close(void *handle)
{
    pgconn_close(handle);
}

static int
store_alive(void *handle)
{
    return pgconn_idle_alive(handle);
}

static const pool_ops_t store_pool_ops = { .open = store_open, .close = store_close, .alive = store_alive };

store_t *
store_new(const char *conninfo, int pool_size, int timeout_ms)
{
    store_t *store = calloc(1, sizeof(*store));
    if (store == NULL)
        return NULL;
    store->conninfo = strdup(conninfo);
    store->timeout_ms = timeout_ms;
    store->pool = pool_new(&store_pool_ops, store, pool_size);
    if (store->conninfo == NULL || store->pool == NULL) {
        store_free(store);
        return NULL;
    }
    return store;
}

void
store_set_metrics(store_t *store, const metrics_backend_t *metrics)
{
    if (store && metrics)
        store->metrics = *metrics;
}

void
store_free(store_t *store)
{
    if (store == NULL)
        return;
    pool_free(store->pool);
    free(store->conninfo);
    free(store);
}

/* Runs sql, or the prepared statement name when sql is NULL, within
 * timeout_ms (<= 0: the store's), waiting for a connection included.  On
 * failure *st (if not NULL) tells what became of it (pgconn.h).
 *
 * A connection that turns out to be stale -- the server was restarted
 * under it -- and fails the call before anything of it can have run is
 * replaced and the call sent once more on a fresh one, within the same
 * deadline: a backend that is back costs no caller a failed call.  A
 * statement that may have run is never sent again.  A connection that
 * carried a bulky call (pgconn.h) is closed rather than kept, so the pool
 * does not hold the buffers of the largest documents for ever. */
static PGresult *
store_run_within(store_t *store, const char *name, const char *sql, int nparams, const char *const *params,
                 int timeout_ms, pgconn_status_t *st, char *err, size_t errlen)
{
    pgconn_status_t local;
    PGresult *res = NULL;
    long long deadline;

    if (timeout_ms <= 0)
        timeout_ms = store->timeout_ms;
    if (st == NULL)
        st = &local;
    deadline = clock_ms() + timeout_ms;
    for (int attempt = 0; attempt < 2; attempt++) {
        int left = (int)(deadline - clock_ms());
        PGconn *conn;

        memset(st, 0, sizeof(*st));
        if (left <= 0) {
            if (attempt == 0)
                snprintf(err, errlen, "timed out after %d ms", timeout_ms);
            return NULL;   /* else err still says why the first try failed */
        }
        conn = pool_get(store->pool, left, err, errlen);
        if (conn == NULL)
            return NULL;
        left = (int)(deadline - clock_ms());
        if (left <= 0)
            left = 1;
        res = pgconn_call(conn, name, sql, nparams, params, left, st, err, errlen);
        pool_put(store->pool, conn, st->broken || st->bulky);
        if (res != NULL || !st->not_run)
            break;
    }
    return res;
}

static PGresult *
store_run(store_t *store, const char *name, const char *sql, int nparams, const char *const *params, char *err,
          size_t errlen)
{
    return store_run_within(store, name, sql, nparams, params, 0, NULL, err, errlen);
}

PGresult *
store_exec(store_t *store, const char *sql, int nparams, const char *const *params, char *err, size_t errlen)
{
    long long started_us = clock_us();
    PGresult *res = store_run(store, NULL, sql, nparams, params, err, errlen);
    metrics_backend_call(&store->metrics, "postgres", "exec", started_us, res == NULL);
    return res;
}

int
store_ping(store_t *store, char *err, size_t errlen)
{
    PGresult *res = store_exec(store, "SELECT 1", 0, NULL, err, errlen);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/* Not prepared: asked once per domain and cache period, and a daemon
 * started before `postinboxctl migrate` made the function still serves
 * everything else. */
#define STORE_DKIM_KEY_SQL \
    "SELECT verified, id IS NOT NULL, coalesce(id::text, ''), coalesce(selector, ''), coalesce(algorithm, '')," \
    " coalesce(private_key, '') FROM postinbox.dkim_signing_key($1)"

int
store_dkim_key(store_t *store, const char *domain, store_dkim_key_t *out, char *err, size_t errlen)
{
    const char *params[1] = { domain };
    long long started_us = clock_us();
    PGresult *res = store_run(store, NULL, STORE_DKIM_KEY_SQL, 1, params, err, errlen);
    int rc = 0;

    metrics_backend_call(&store->metrics, "postgres", "dkim_key", started_us, res == NULL);
    memset(out, 0, sizeof(*out));
    if (res == NULL)
        return -1;
    if (PQntuples(res) >= 1) {
        out->domain_found = 1;
        out->verified = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        out->has_key = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 2));
        snprintf(out->selector, sizeof(out->selector), "%s", PQgetvalue(res, 0, 3));
        snprintf(out->algorithm, sizeof(out->algorithm), "%s", PQgetvalue(res, 0, 4));
        if (out->has_key && (out->sealed = strdup(PQgetvalue(res, 0, 5))) == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    PQclear(res);
    return rc;
}

void
store_dkim_key_clear(store_dkim_key_t *key)
{
    free(key->sealed);
    key->sealed = NULL;
}

static int store_lookup_run(store_t *store, const char *address, const char *login, inbox_lookup_t *out,
                            char *err, size_t errlen);

int
store_lookup(store_t *store, const char *address, const char *login, inbox_lookup_t *out, char *err,
             size_t errlen)
{
    long long started_us = clock_us();
    int rc = store_lookup_run(store, address, login, out, err, errlen);
    metrics_backend_call(&store->metrics, "postgres", "lookup", started_us, rc != 0);
    return rc;
}

static int
store_lookup_run(store_t *store, const char *address, const char *login, inbox_lookup_t *out, char *err,
                 size_t errlen)
{
    const char *params[2] = { address, login };
    PGresult *res = store_run(store, STORE_LOOKUP, NULL, 2, params, err, errlen);
    memset(out, 0, sizeof(*out));
    out->granted = -1;
    if (res == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        snprintf(err, errlen, "lookup: %d rows", PQntuples(res));
        PQclear(res);
        return -1;
    }
    out->managed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    out->found = !PQgetisnull(res, 0, 1);
    if (out->found) {
        snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 1));
        snprintf(out->address, sizeof(out->address), "%s", PQgetvalue(res, 0, 2));
        if (inbox_status_parse(PQgetvalue(res, 0, 3), &out->status) != 0) {
            snprintf(err, errlen, "lookup: unknown status \"%s\"", PQgetvalue(res, 0, 3));
            PQclear(res);
            return -1;
        }
        out->daily_limit = atoi(PQgetvalue(res, 0, 4));
        out->burst_limit = atoi(PQgetvalue(res, 0, 5));
        if (!PQgetisnull(res, 0, 6))
            out->granted = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
        out->suppressions = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
        out->domain_failing = strcmp(PQgetvalue(res, 0, 8), "t") == 0;
        out->tracking = atoi(PQgetvalue(res, 0, 9)) & (INBOX_TRACK_OPENS | INBOX_TRACK_CLICKS | INBOX_TRACK_UNSUBSCRIBE);
    }
    PQclear(res);
    return 0;
}

int
store_suppressed(store_t *store, const char *inbox_id, const char *address, suppression_t *out, char *err,
                 size_t errlen)
{
    const char *params[2] = { inbox_id, address };
    long long started_us = clock_us();
    PGresult *res = store_run(store, STORE_SUPPRESSED, NULL, 2, params, err, errlen);
    int found;
    metrics_backend_call(&store->metrics, "postgres", "suppressed", started_us, res == NULL);
    memset(out, 0, sizeof(*out));
    if (res == NULL)
        return -1;
    found = PQntuples(res) == 1;
    if (found) {
        snprintf(out->source, sizeof(out->source), "%s", PQgetvalue(res, 0, 0));
        snprintf(out->dsn, sizeof(out->dsn), "%s", PQgetvalue(res, 0, 1));
        snprintf(out->date, sizeof(out->date), "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return found;
}

/* The wall clock in ms since the epoch: the deadline a record carries
 * is compared with PostgreSQL's clock (record.sql). */
static long long
store_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* One record call: prepared statement name with the JSON param and the
 * deadline by which PostgreSQL must have committed it, or not at all.
 * The result, or NULL with *rc set (STORE_UNAVAILABLE or STORE_REFUSED). */
static PGresult *
store_record_run(store_t *store, const char *name, const char *json, int timeout_ms, int *rc, char *err,
                 size_t errlen)
{
    char deadline[24];
    const char *params[2] = { json, deadline };
    pgconn_status_t st;
    long long started_us = clock_us();
    int margin;

    if (timeout_ms <= 0)
        timeout_ms = store->timeout_ms;
    margin = timeout_ms / 5 < STORE_RECORD_MARGIN_MS ? timeout_ms / 5 : STORE_RECORD_MARGIN_MS;
    snprintf(deadline, sizeof(deadline), "%lld", store_wall_ms() + timeout_ms - margin);
    PGresult *res = store_run_within(store, name, NULL, 2, params, timeout_ms, &st, err, errlen);
    metrics_backend_call(&store->metrics, "postgres", "record", started_us, res == NULL);
    if (res != NULL)
        *rc = 0;
    else if (st.broken || strcmp(st.sqlstate, STORE_SQLSTATE_LATE) == 0 || strcmp(st.sqlstate, "55P03") == 0 ||
             strcmp(st.sqlstate, "57014") == 0 || st.sqlstate[0] == '\0')
        *rc = STORE_UNAVAILABLE;   /* too slow or unreachable: nothing written, no use trying again */
    else
        *rc = STORE_REFUSED;
    return res;
}

int
store_record_message(store_t *store, const char *doc, int timeout_ms, char *err, size_t errlen)
{
    int rc;
    PQclear(store_record_run(store, STORE_RECORD, doc, timeout_ms, &rc, err, errlen));
    return rc;
}

int
store_record_fast(store_t *store, const char *docs, int timeout_ms, int *others, size_t max_others,
                  size_t *nothers, char *err, size_t errlen)
{
    int rc;
    PGresult *res = store_record_run(store, STORE_RECORD_FAST, docs, timeout_ms, &rc, err, errlen);

    *nothers = 0;
    if (res == NULL)
        return rc;
    /* One row per position left for record_message(). */
    for (int i = 0; i < PQntuples(res) && *nothers < max_others; i++)
        others[(*nothers)++] = atoi(PQgetvalue(res, i, 0));
    PQclear(res);
    return 0;
}
