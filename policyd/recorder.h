/*
 * recorder.h -- writes webhook attempt results on a thread of its own.
 *
 * Public: recorder_start, recorder_submit, recorder_backlog, recorder_stop.
 * The dispatcher hands over what finished and goes back to its transfers;
 * the recorder writes it with outbox_record (one statement for everything
 * queued, so batches grow by themselves while a write is under way), then
 * disables the endpoints that answered 410 or have failed for longer than
 * webhook_disable_after (outbox_disable).  A failed write is retried with
 * a growing pause, together with whatever came meanwhile; after about a
 * minute of failures the results are dropped -- their rows are still
 * leased, so they are delivered again when the leases run out.
 * Logs: slow or failed writes, dropped results, disabled endpoints.
 */
#ifndef POSTINBOX_RECORDER_H
#define POSTINBOX_RECORDER_H

#include <stddef.h>

#include "outbox.h"

/* Starts the thread (the runtime must be installed).  0, or -1 with err. */
int recorder_start(char *err, size_t errlen);
/* Queues n results (copied) and ndisable endpoints to disable.  Never
 * waits for the database. */
void recorder_submit(const outbox_result_t *results, int n, const outbox_disable_t *disable, int ndisable);
/* Results queued or being written: the dispatcher stops claiming when
 * this grows too large. */
int recorder_backlog(void);
/* Writes what is queued (a few tries at most), then joins the thread. */
void recorder_stop(void);

#endif
