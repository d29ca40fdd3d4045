/*
 * pgconn.h -- libpq calls with a deadline.
 *
 * Public: pgconn_open, pgconn_query, pgconn_prepare, pgconn_query_prepared,
 * pgconn_call, pgconn_idle_alive, pgconn_close.
 * libpq's own timeouts cannot bound a server that accepts a connection and
 * then hangs, so every call here runs non-blocking and waits in poll(2)
 * for at most the time left; on expiry the query is cancelled and the
 * connection dropped (the next call reconnects).  Logs nothing: errors
 * are returned in err and name the failing step.
 *
 * No PQcancel on expiry: libpq before 17 has only the blocking one, which
 * waits without a deadline on a hung server.  The server stops on its own
 * instead: the store's connections run with statement_timeout and
 * client_connection_check_interval (store.c), and the record functions
 * bound their lock waits by their deadline (sql/functions/record.sql).
 */
#ifndef POSTINBOX_PGCONN_H
#define POSTINBOX_PGCONN_H

#include <libpq-fe.h>
#include <stddef.h>

/* Connects within timeout_ms; NULL with err on failure. */
PGconn *pgconn_open(const char *conninfo, int timeout_ms, char *err, size_t errlen);
/* Runs one parameterised statement (text params, text results) within
 * timeout_ms.  Returns a PGRES_TUPLES_OK/COMMAND_OK result, or NULL with
 * err; *broken is set when the connection must be discarded. */
PGresult *pgconn_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                       int timeout_ms, int *broken, char *err, size_t errlen);
/* Prepares sql as statement name on this connection.  0 or -1 with err. */
int pgconn_prepare(PGconn *conn, const char *name, const char *sql, int nparams, int timeout_ms, char *err,
                   size_t errlen);
/* Like pgconn_query, for a statement prepared with pgconn_prepare. */
PGresult *pgconn_query_prepared(PGconn *conn, const char *name, int nparams, const char *const *params,
                                int timeout_ms, int *broken, char *err, size_t errlen);

/* What became of a call that failed (pgconn_call). */
typedef struct {
    int broken;        /* the connection must be discarded */
    int not_run;       /* ...and the statement certainly did not run: it
                        * was not sent whole, or the server ended the
                        * connection (SQLSTATE class 57P) before any result
                        * of it.  Only then may a caller send it again. */
    char sqlstate[6];  /* of PostgreSQL's error answer, "" when none */
    int bulky;         /* the call sent or received more than
                        * PGCONN_BULKY_BYTES: the connection should not
                        * be kept (below) */
} pgconn_status_t;

/* libpq grows a connection's buffers to the largest message it has sent
 * or received and never shrinks them, so a pool that keeps every
 * connection holds, per connection, the biggest record document it ever
 * carried (a 500 KB message: a buffer of 1 MiB).  A call that moved more
 * than this is flagged bulky and its connection closed on return, which
 * bounds what a pooled connection keeps to twice this size; it costs one
 * reconnect per bulky call. */
#define PGCONN_BULKY_BYTES (128 * 1024)

/* pgconn_query (name NULL) or pgconn_query_prepared (sql NULL), telling
 * in *st what became of a call that failed. */
PGresult *pgconn_call(PGconn *conn, const char *name, const char *sql, int nparams, const char *const *params,
                      int timeout_ms, pgconn_status_t *st, char *err, size_t errlen);
/* Whether an idle connection may still be used, without blocking: it is
 * sound and nothing waits on its socket.  An idle connection is sent
 * nothing but the error and the end of a server that closed it (a
 * restart), so anything readable counts as closed. */
int pgconn_idle_alive(PGconn *conn);
void pgconn_close(PGconn *conn);

#endif
