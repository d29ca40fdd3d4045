/*
 * pgconn.c -- non-blocking libpq with poll(2) deadlines.  See pgconn.h.
 */
#include "pgconn.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Waits until the socket is ready for events or the deadline passes.
 * Returns 1 ready, 0 timed out, -1 error. */
static int
pgconn_wait(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - clock_ms();
        struct pollfd pfd = { .fd = fd, .events = events };
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

static void
pgconn_error_text(PGconn *conn, const char *step, char *err, size_t errlen)
{
    const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
    size_t n;
    snprintf(err, errlen, "%s: %s", step, msg && *msg ? msg : "unknown error");
    n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
    for (char *p = err; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

/* libpq prints server notices -- among them the FATAL of a connection
 * terminated while idle -- to stderr, past the log module.  Dropped: a
 * notice that matters comes back as the error of the next call. */
static void
pgconn_notice_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *
pgconn_open(const char *conninfo, int timeout_ms, char *err, size_t errlen)
{
    long long deadline = clock_ms() + timeout_ms;
    PGconn *conn = PQconnectStart(conninfo);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;

    if (conn == NULL || PQstatus(conn) == CONNECTION_BAD) {
        pgconn_error_text(conn, "PQconnectStart", err, errlen);
        PQfinish(conn);
        return NULL;
    }
    while (st != PGRES_POLLING_OK) {
        int ready;
        if (st == PGRES_POLLING_FAILED) {
            pgconn_error_text(conn, "connect", err, errlen);
            PQfinish(conn);
            return NULL;
        }
        ready = pgconn_wait(PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
        if (ready <= 0) {
            snprintf(err, errlen, "connect: %s after %d ms", ready == 0 ? "timed out" : strerror(errno),
                     timeout_ms);
            PQfinish(conn);
            return NULL;
        }
        st = PQconnectPoll(conn);
    }
    PQsetNoticeProcessor(conn, pgconn_notice_quiet, NULL);
    if (PQsetnonblocking(conn, 1) != 0) {
        pgconn_error_text(conn, "PQsetnonblocking", err, errlen);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* Sends one command (a statement, a prepared statement or a Prepare):
 * name set and sql NULL executes the prepared statement name; both set
 * prepares sql as name; name NULL runs sql.  0, or -1 with err. */
static int
pgconn_send(PGconn *conn, const char *name, const char *sql, int nparams, const char *const *params, char *err,
            size_t errlen)
{
    int ok;
    if (name && sql)
        ok = PQsendPrepare(conn, name, sql, nparams, NULL);
    else if (name)
        ok = PQsendQueryPrepared(conn, name, nparams, params, NULL, NULL, 0);
    else
        ok = PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!ok) {
        pgconn_error_text(conn, "send", err, errlen);
        return -1;
    }
    return 0;
}

/* Whether a failed result says the server ended the session (SQLSTATE
 * class 57P: admin_shutdown, crash_shutdown, cannot_connect_now, ...),
 * which it sends in place of a statement it did not run or rolled back. */
static int
pgconn_terminated(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state != NULL && strncmp(state, "57P", 3) == 0;
}

/* What a command puts in the connection's output buffer, roughly: its
 * text and its parameters. */
static size_t
pgconn_params_size(const char *sql, int nparams, const char *const *params)
{
    size_t n = sql ? strlen(sql) : 0;
    for (int i = 0; i < nparams; i++)
        if (params && params[i])
            n += strlen(params[i]);
    return n;
}

/* Sends a command and waits for its result within timeout_ms. */
static PGresult *
pgconn_run(PGconn *conn, const char *name, const char *sql, int nparams, const char *const *params, int timeout_ms,
           pgconn_status_t *st, char *err, size_t errlen)
{
    long long deadline = clock_ms() + timeout_ms;
    PGresult *res, *last = NULL;
    int flushed, answered = 0;  /* answered: a result other than an error came */

    memset(st, 0, sizeof(*st));
    st->bulky = pgconn_params_size(sql, nparams, params) > PGCONN_BULKY_BYTES;
    if (PQstatus(conn) != CONNECTION_OK) {
        st->broken = st->not_run = 1;
        pgconn_error_text(conn, "connection", err, errlen);
        return NULL;
    }
    if (pgconn_send(conn, name, sql, nparams, params, err, errlen) != 0) {
        st->broken = st->not_run = 1;
        return NULL;
    }
    while ((flushed = PQflush(conn)) == 1) {
        if (pgconn_wait(PQsocket(conn), POLLOUT, deadline) <= 0)
            goto timeout;
    }
    if (flushed < 0) {
        /* Not sent whole: the closing Sync never reached the server, so
         * nothing of it was committed. */
        st->broken = st->not_run = 1;
        pgconn_error_text(conn, "PQflush", err, errlen);
        return NULL;
    }
    for (;;) {
        while (PQisBusy(conn)) {
            int ready = pgconn_wait(PQsocket(conn), POLLIN, deadline);
            if (ready <= 0)
                goto timeout;
            if (!PQconsumeInput(conn)) {
                st->broken = 1;
                pgconn_error_text(conn, "PQconsumeInput", err, errlen);
                PQclear(last);
                return NULL;
            }
        }
        res = PQgetResult(conn);
        if (res == NULL)
            break;
        if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK)
            answered = 1;
        PQclear(last);
        last = res;
    }
    if (last == NULL) {
        st->broken = 1;
        snprintf(err, errlen, "query: no result");
        return NULL;
    }
    if (PQresultMemorySize(last) > PGCONN_BULKY_BYTES)
        st->bulky = 1;
    ExecStatusType status = PQresultStatus(last);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        const char *msg = PQresultErrorMessage(last);
        const char *state = PQresultErrorField(last, PG_DIAG_SQLSTATE);
        snprintf(err, errlen, "query: %s", msg && *msg ? msg : PQresStatus(status));
        for (char *p = err; *p; p++)
            if (*p == '\n')
                *p = ' ';
        snprintf(st->sqlstate, sizeof(st->sqlstate), "%s", state ? state : "");
        /* A server ending the session may not have closed the socket yet:
         * the connection goes either way. */
        if (pgconn_terminated(last)) {
            st->broken = 1;
            st->not_run = !answered;
        } else if (PQstatus(conn) != CONNECTION_OK) {
            st->broken = 1;
        }
        PQclear(last);
        return NULL;
    }
    return last;

timeout:
    /* No PQcancel (pgconn.h).  The caller drops the connection. */
    PQclear(last);
    st->broken = 1;
    snprintf(err, errlen, "query: timed out after %d ms", timeout_ms);
    return NULL;
}

PGresult *
pgconn_call(PGconn *conn, const char *name, const char *sql, int nparams, const char *const *params, int timeout_ms,
            pgconn_status_t *st, char *err, size_t errlen)
{
    return pgconn_run(conn, name, sql, nparams, params, timeout_ms, st, err, errlen);
}

int
pgconn_idle_alive(PGconn *conn)
{
    struct pollfd pfd;

    if (conn == NULL || PQstatus(conn) != CONNECTION_OK || PQsocket(conn) < 0)
        return 0;
    pfd = (struct pollfd){ .fd = PQsocket(conn), .events = POLLIN };
    return poll(&pfd, 1, 0) == 0;
}

PGresult *
pgconn_query(PGconn *conn, const char *sql, int nparams, const char *const *params, int timeout_ms,
             int *broken, char *err, size_t errlen)
{
    pgconn_status_t st;
    PGresult *res = pgconn_run(conn, NULL, sql, nparams, params, timeout_ms, &st, err, errlen);
    *broken = st.broken;
    return res;
}

int
pgconn_prepare(PGconn *conn, const char *name, const char *sql, int nparams, int timeout_ms, char *err,
               size_t errlen)
{
    pgconn_status_t st;
    PGresult *res = pgconn_run(conn, name, sql, nparams, NULL, timeout_ms, &st, err, errlen);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

PGresult *
pgconn_query_prepared(PGconn *conn, const char *name, int nparams, const char *const *params, int timeout_ms,
                      int *broken, char *err, size_t errlen)
{
    pgconn_status_t st;
    PGresult *res = pgconn_run(conn, name, NULL, nparams, params, timeout_ms, &st, err, errlen);
    *broken = st.broken;
    return res;
}

void
pgconn_close(PGconn *conn)
{
    if (conn)
        PQfinish(conn);
}
