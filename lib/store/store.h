/*
 * store.h -- the PostgreSQL side of postinbox.
 *
 * Public: store_new, store_free, store_ping, store_set_metrics, store_lookup,
 * store_suppressed, store_record_message, store_record_fast, store_exec,
 * store_dkim_key, store_dkim_key_clear.  A store is a pool of deadline-bound connections
 * (pgconn.c, pool.c) safe to share between threads.  All SQL is
 * parameterised; the schema's functions (sql/) do the multi-row work so
 * every write is one statement and therefore one transaction.
 * Every call is timed (and counted when it fails) in the metrics given to
 * store_set_metrics, as backend "postgres", call lookup, suppressed,
 * record, dkim_key or exec.  Logs nothing.
 *
 * Every call has one deadline, the wait for a connection included.  A
 * pooled connection the server closed while it was idle (a restart) is
 * replaced before use, and a call that fails on a broken connection
 * before anything of it can have run is sent once more on a fresh one
 * within the same deadline; a statement that may have run never is.
 * Each session runs with statement_timeout = the store's timeout and
 * client_connection_check_interval, so the server stops what its client
 * gave up on.  A record carries the deadline by which it must commit or
 * not at all (sql/functions/record.sql, "Deadlines").
 */
#ifndef POSTINBOX_STORE_H
#define POSTINBOX_STORE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "inbox.h"
#include "metrics.h"

typedef struct store store_t;

store_t *store_new(const char *conninfo, int pool_size, int timeout_ms);
void store_free(store_t *store);
/* SELECT 1 within the deadline: 0, or -1 with err. */
int store_ping(store_t *store, char *err, size_t errlen);
/* Times every later call into metrics (copied; its families must outlive
 * the store). */
void store_set_metrics(store_t *store, const metrics_backend_t *metrics);

/* Looks up an address (and, when login is not NULL, whether the login may
 * send as it).  0 with out filled, -1 with err on backend failure. */
int store_lookup(store_t *store, const char *address, const char *login, inbox_lookup_t *out, char *err,
                 size_t errlen);

/* Whether address is on the suppression list of inbox inbox_id (only
 * worth asking when the inbox's lookup said it has suppressions); an
 * entry whose expires_at has passed is not.
 * 1 with out filled, 0 not suppressed, -1 with err on backend failure. */
int store_suppressed(store_t *store, const char *inbox_id, const char *address, suppression_t *out, char *err,
                     size_t errlen);

/* How a record call failed; nothing is written either way. */
#define STORE_UNAVAILABLE (-1)  /* PostgreSQL unreachable, too slow (past the record's
                                 * deadline, a lock or statement timeout), or the connection broke */
#define STORE_REFUSED     (-2)  /* PostgreSQL answered with an error (a document it would not take) */

/* Records a finished message within timeout_ms (<= 0: the store's
 * timeout): doc is the JSON document described at record_message() in
 * sql/functions/record.sql.  0, STORE_UNAVAILABLE or STORE_REFUSED with err. */
int store_record_message(store_t *store, const char *doc, int timeout_ms, char *err, size_t errlen);
/* Records several messages at once: docs is a JSON array of such
 * documents (record_fast() in sql/functions/record.sql).  Writes, in one
 * transaction, those that link to nothing and fills others with the
 * 1-based positions of the rest (at most max_others), which the caller
 * writes with store_record_message.  Returns as store_record_message;
 * on failure nothing is written. */
int store_record_fast(store_t *store, const char *docs, int timeout_ms, int *others, size_t max_others,
                      size_t *nothers, char *err, size_t errlen);

/* A domain's DKIM signing key (sql/functions/dkim.sql, dkim_signing_key). */
typedef struct {
    int domain_found;        /* the domain exists */
    int verified;            /* verified custom domain, or the sandbox */
    int has_key;             /* it has an active key: the members below are set */
    char id[40];             /* the key row's id: the sealed value's context */
    char selector[64];
    char algorithm[16];
    char *sealed;            /* the sealed private key (malloc'd) */
} store_dkim_key_t;

/* The active DKIM key of domain into out (store_dkim_key_clear frees
 * it).  0, -1 with err on backend failure. */
int store_dkim_key(store_t *store, const char *domain, store_dkim_key_t *out, char *err, size_t errlen);
void store_dkim_key_clear(store_dkim_key_t *key);

/* Runs any parameterised statement; the caller PQclear()s the result.
 * NULL with err on failure. */
PGresult *store_exec(store_t *store, const char *sql, int nparams, const char *const *params, char *err,
                     size_t errlen);

#endif
