/*
 * record_doc.h -- the document record_message() / record_fast() take,
 * built from what the transaction core learnt of a finished message.
 *
 * Public: record_doc_build.
 * Decodes the kept header fields (RFC 2047, bounded UTF-8), lists the
 * From/To/Cc addresses as the thread's participants, and for a message to
 * an inbox reads its kept copy once with GMime (lib/mail/inbound): bodies,
 * attachments, a bounce or complaint report.
 * Logs one line when the content is a report or could not be parsed:
 *   QID: stage=eom content=dsn|arf style=.. originalMessageId=.. us=N
 *   QID: stage=eom content=unparsed size=N
 */
#ifndef POSTINBOX_RECORD_DOC_H
#define POSTINBOX_RECORD_DOC_H

#include "check.h"
#include "config.h"

/* The JSON text of the document (malloc'd), NULL out of memory.  report
 * gets the kind of content read ("dsn", "arf", "none", "unparsed"), or ""
 * when there was none to read. */
char *record_doc_build(const pi_config_t *cfg, const check_message_t *msg, char report[16]);

#endif
