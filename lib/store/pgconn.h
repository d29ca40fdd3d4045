/*
 * pgconn.h -- libpq calls with a deadline.
 *
 * Public: pgconn_open, pgconn_query, pgconn_prepare, pgconn_query_prepared,
 * pgconn_close.
 * libpq's own timeouts cannot bound a server that accepts a connection and
 * then hangs, so every call here runs non-blocking and waits in poll(2)
 * for at most the time left; on expiry the query is cancelled and the
 * connection dropped (the next call reconnects).  Logs nothing: errors
 * are returned in err and name the failing step.
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
void pgconn_close(PGconn *conn);

#endif
