/*
 * notify.c -- the LISTEN connection.  See notify.h.
 */
#include "notify.h"
#include "clock.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgconn.h"

#define NOTIFY_BACKOFF_MIN_MS 100
#define NOTIFY_BACKOFF_MAX_MS 10000

struct notify {
    char *channel;
    char *conninfo;             /* of the open connection */
    PGconn *conn;
    long backoff_ms;            /* next wait after a failed open */
    long long retry_at_ms;      /* no open attempt before this */
};

notify_t *
notify_new(const char *channel)
{
    notify_t *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->channel = strdup(channel);
    if (n->channel == NULL) {
        free(n);
        return NULL;
    }
    n->backoff_ms = NOTIFY_BACKOFF_MIN_MS;
    return n;
}

static void
notify_close(notify_t *n)
{
    pgconn_close(n->conn);
    n->conn = NULL;
    free(n->conninfo);
    n->conninfo = NULL;
}

void
notify_free(notify_t *n)
{
    if (n == NULL)
        return;
    notify_close(n);
    free(n->channel);
    free(n);
}

/* Counts (and frees) the notifications libpq has buffered. */
static int
notify_count(notify_t *n)
{
    int count = 0;
    PGnotify *note;
    while ((note = PQnotifies(n->conn)) != NULL) {
        count++;
        PQfreemem(note);
    }
    return count;
}

static void
notify_failed(notify_t *n)
{
    notify_close(n);
    n->retry_at_ms = clock_ms() + n->backoff_ms;
    n->backoff_ms *= 2;
    if (n->backoff_ms > NOTIFY_BACKOFF_MAX_MS)
        n->backoff_ms = NOTIFY_BACKOFF_MAX_MS;
}

int
notify_ensure(notify_t *n, const char *conninfo, int timeout_ms, char *err, size_t errlen)
{
    char sql[128];
    int broken;
    PGresult *res;

    err[0] = '\0';
    if (n->conn && strcmp(n->conninfo, conninfo) == 0)
        return 0;
    if (n->conn)
        notify_close(n);    /* reloaded with another database */
    if (clock_ms() < n->retry_at_ms)
        return -1;
    n->conn = pgconn_open(conninfo, timeout_ms, err, errlen);
    n->conninfo = strdup(conninfo);
    if (n->conn == NULL || n->conninfo == NULL) {
        notify_failed(n);
        return -1;
    }
    /* The channel is ours (a constant), never user input; LISTEN takes no
     * parameters. */
    snprintf(sql, sizeof(sql), "LISTEN %s", n->channel);
    res = pgconn_query(n->conn, sql, 0, NULL, timeout_ms, &broken, err, errlen);
    if (res == NULL) {
        notify_failed(n);
        return -1;
    }
    PQclear(res);
    n->backoff_ms = NOTIFY_BACKOFF_MIN_MS;
    return 1;
}

int
notify_fd(const notify_t *n)
{
    return n->conn ? PQsocket(n->conn) : -1;
}

int
notify_drain(notify_t *n)
{
    if (n->conn == NULL)
        return -1;
    if (!PQconsumeInput(n->conn) || PQstatus(n->conn) != CONNECTION_OK) {
        notify_failed(n);
        return -1;
    }
    return notify_count(n);
}

int
notify_ping(notify_t *n, int timeout_ms, char *err, size_t errlen)
{
    int broken;
    PGresult *res;
    if (n->conn == NULL) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    res = pgconn_query(n->conn, "SELECT 1", 0, NULL, timeout_ms, &broken, err, errlen);
    if (res == NULL) {
        notify_failed(n);
        return -1;
    }
    PQclear(res);
    return notify_count(n);
}
