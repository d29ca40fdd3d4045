/*
 * recorder.h -- writes webhook attempt results on a thread of its own.
 *
 * Public: recorder_start, recorder_submit, recorder_backlog, recorder_stop.
 * The dispatcher hands over what finished and goes back to its transfers;
 * the recorder writes it at once with outbox_record, one statement (one
 * commit) for everything queued: there is no gathering window, results
 * that arrive while a write is under way go together into the next one
 * (group commit).  Then it disables the endpoints that answered 410 or
 * have failed for longer than webhook_disable_after (outbox_disable).
 * After every write, and after dropping results, it calls the written
 * callback: results still queued count against webhook_max_in_flight
 * (recorder_backlog), so the dispatcher may have room again.  A failed
 * write is retried with a growing pause, together with whatever came
 * meanwhile; after about a minute of failures the results are dropped --
 * their rows are still leased, so they are delivered again when the
 * leases run out.
 * Logs: slow or failed writes, dropped results, disabled endpoints.
 */
#ifndef POSTINBOX_RECORDER_H
#define POSTINBOX_RECORDER_H

#include <stddef.h>

#include "outbox.h"

/* Starts the thread (the runtime must be installed); written (may be
 * NULL) is called on the recorder's thread whenever the backlog shrank.
 * 0, or -1 with err. */
int recorder_start(void (*written)(void), char *err, size_t errlen);
/* Queues n results (copied) and ndisable endpoints to disable.  Never
 * waits for the database. */
void recorder_submit(const outbox_result_t *results, int n, const outbox_disable_t *disable, int ndisable);
/* Results queued or being written: they are not committed yet, so the
 * dispatcher counts them as in flight (a crash now sends them again). */
int recorder_backlog(void);
/* Writes what is queued (a few tries at most), then joins the thread. */
void recorder_stop(void);

#endif
