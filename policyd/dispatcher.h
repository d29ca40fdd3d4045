/*
 * dispatcher.h -- the webhook dispatcher of postinbox-policyd.
 *
 * Public: dispatcher_start, dispatcher_wake, dispatcher_stop.
 * One thread: LISTENs for postinbox_webhook on a connection of its own
 * (notify.c) and polls every webhook_poll_interval besides, claims due
 * deliveries in batches (outbox.c) while it holds fewer than
 * webhook_max_in_flight (requests under way plus results not yet
 * committed; an endpoint whose requests hang gets at most a quarter of
 * them), leases them briefly and renews the leases of long requests,
 * signs and POSTs them (webhook_sign.c, http.c), and hands each result
 * to the recorder thread (recorder.c), which commits it at once while
 * sending goes on.  So a crash sends at most webhook_max_in_flight
 * deliveries again.  It takes the current runtime (config + store) at
 * every turn, so a reload applies without a restart.
 *
 * Logs: one line per attempt -- debug for a delivery, info for a failed
 * attempt that will be retried, warn for a delivery that failed for good
 * and for a disabled endpoint -- as "delivery=ID event=UUID endpoint=UUID
 * attempt=N status=CODE latency_ms=MS result=...".  URLs and secrets are
 * never logged (a URL may carry a token).  Database trouble at warn, once
 * per outage; a claim slower than 1 s, and a lease found taken by another
 * daemon at renewal, at info.
 */
#ifndef POSTINBOX_DISPATCHER_H
#define POSTINBOX_DISPATCHER_H

#include <stddef.h>

/* Starts the thread (runtime_install must have happened).  0, or -1 with err. */
int dispatcher_start(char *err, size_t errlen);
/* The runtime was replaced: pick up the new config now. */
void dispatcher_wake(void);
/* Stops claiming, lets requests under way finish (bounded by
 * webhook_timeout), records their results, releases the leases of any
 * still unfinished, and joins the thread. */
void dispatcher_stop(void);

#endif
