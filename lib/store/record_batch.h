/*
 * record_batch.h -- group commit of message records.
 *
 * Public: record_batch_new, record_batch_write, record_batch_free,
 * record_batch_set_size_metric.
 * Every SMTP session that reaches end of message hands its record document
 * to record_batch_write() and waits for the verdict.  One waiting thread at
 * a time, the leader, writes every document queued so far with one call of
 * record_fast() (sql/008_record_batch.sql), which writes in one transaction
 * those that link to nothing; the others (replies that join a thread,
 * reports) it then writes one by one with record_message(), in order.
 * Then it wakes their threads; the documents that arrived meanwhile make up
 * the next batch, written by the next leader.  No thread of its own.
 *
 * Gather window (record_gather_us): under load a leader first waits until
 * its oldest document has been queued for gather_us, so that the
 * documents of sessions a moment behind go in the same call (each call
 * costs PostgreSQL a transaction and a statement whatever it carries).
 * "Under load" is what the batcher saw last: the previous batch had more
 * than one document, or this document came less than gather_us after the
 * one before it.  So an idle milter never waits: it writes each document
 * alone at once.  The wait ends early when a batch is full, and never
 * takes more than half of the oldest document's time left.  0: no wait
 * (batches only form while a call is in flight).
 *
 * Deadlines: a document must be written within the timeout from the
 * moment it is handed in.  A call gets the time its earliest document has
 * left; a document still queued at its deadline fails without being sent.
 * So a caller never waits much past its own deadline, whatever is queued
 * ahead of it.
 *
 * Failures: when PostgreSQL cannot be reached in time the whole batch
 * fails (nothing of it is written).  When it refuses the call (a document
 * it will not take), the documents are written again one at a time, so
 * only the bad one fails.  Logs nothing; safe to share between threads.
 */
#ifndef POSTINBOX_RECORD_BATCH_H
#define POSTINBOX_RECORD_BATCH_H

#include <stddef.h>

#include "metrics.h"
#include "store.h"

typedef struct record_batch record_batch_t;

/* A batcher writing through store (not owned), timeout_ms per document,
 * gathering for up to gather_us under load (0: never). */
record_batch_t *record_batch_new(store_t *store, int timeout_ms, int gather_us);
/* Writes doc (a record_message() document).  0 once committed; -1 with
 * err when it is not written. */
int record_batch_write(record_batch_t *rb, const char *doc, char *err, size_t errlen);
/* Only when no call is in progress. */
void record_batch_free(record_batch_t *rb);
/* Every batcher of the process observes the documents of each call it
 * makes in size (a histogram; NULL: none).  Once, at start-up. */
void record_batch_set_size_metric(metric_t *size);
/* Bucket bounds for that histogram: documents per call. */
#define RECORD_BATCH_SIZE_BUCKETS 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64

#endif
