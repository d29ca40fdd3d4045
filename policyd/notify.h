/*
 * notify.h -- a PostgreSQL connection of its own that LISTENs on a channel.
 *
 * Public: notify_new, notify_free, notify_ensure, notify_fd, notify_drain,
 * notify_ping.
 * NOTIFY only wakes the dispatcher early; it is never the only way work
 * is found (notifications sent while this connection is down are lost,
 * so the dispatcher also polls).  A lost connection is reopened with
 * exponential backoff (notify_ensure does not try before the backoff has
 * passed), and every open or ping has the backend deadline.
 * Logs nothing: errors are returned in err.
 */
#ifndef POSTINBOX_NOTIFY_H
#define POSTINBOX_NOTIFY_H

#include <stddef.h>

typedef struct notify notify_t;

notify_t *notify_new(const char *channel);
void notify_free(notify_t *n);

/* Makes sure the connection to conninfo is up and listening (reopening it
 * when conninfo changed).  Returns 1 if it was (re)opened just now (the
 * caller looks for work missed meanwhile), 0 if it was up already, -1 if
 * it is down (err set when an attempt failed just now, "" while waiting
 * out the backoff). */
int notify_ensure(notify_t *n, const char *conninfo, int timeout_ms, char *err, size_t errlen);
/* The socket to poll for input, or -1 while down. */
int notify_fd(const notify_t *n);
/* Reads what arrived: the number of notifications (0 if none), or -1 if
 * the connection broke (closed; notify_ensure reopens it). */
int notify_drain(notify_t *n);
/* Round trip on the connection (detects a silently dead one).  Returns
 * notifications that arrived meanwhile (>= 0), or -1 with the connection
 * closed. */
int notify_ping(notify_t *n, int timeout_ms, char *err, size_t errlen);

#endif
