/*
 * record_batch.h -- group commit of message records.
 *
 * Public: record_batch_new, record_batch_write, record_batch_free.
 * Every SMTP session that reaches end of message hands its record document
 * to record_batch_write() and waits for the verdict.  One waiting thread at
 * a time, the leader, writes every document queued so far with one call of
 * record_fast() (sql/008_record_batch.sql), which writes in one transaction
 * those that link to nothing; the others (replies that join a thread,
 * reports) it then writes one by one with record_message(), in order.
 * Then it wakes their threads; the documents that arrived meanwhile make up
 * the next batch, written by the next leader.  Nothing waits on purpose: an
 * idle milter writes each document alone, and under load the batches grow
 * by themselves.  No thread of its own.
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

#include "store.h"

typedef struct record_batch record_batch_t;

/* A batcher writing through store (not owned), timeout_ms per document. */
record_batch_t *record_batch_new(store_t *store, int timeout_ms);
/* Writes doc (a record_message() document).  0 once committed; -1 with
 * err when it is not written. */
int record_batch_write(record_batch_t *rb, const char *doc, char *err, size_t errlen);
/* Only when no call is in progress. */
void record_batch_free(record_batch_t *rb);

#endif
