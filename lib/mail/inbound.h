/*
 * inbound.h -- what the content of a message to an inbox tells us.
 *
 * Public: inbound_analyse.  Parses the message once with GMime
 * (lib/mail/mime_parse), asks lib/mail/dsn whether it is a bounce (delivery status
 * notification) or a complaint (ARF feedback report), and takes its
 * bodies, reply and attachments metadata (lib/mail/mime_parse).  The result
 * goes into the document record_message() takes (sql/functions/record.sql),
 * so it is written in the same transaction as the message itself.
 * Thread-safe (GMime must be initialised: header_init).  Logs nothing.
 */
#ifndef POSTINBOX_INBOUND_H
#define POSTINBOX_INBOUND_H

#include <jansson.h>
#include <stddef.h>

/* raw[0..len) is the message as far as it was kept; truncated says bytes
 * are missing at the end.  Returns a new object holding "report" (the
 * dsn_report_json() of a bounce or complaint, absent for ordinary mail),
 * "autoReply" (for mail that is no report: the header that makes it an
 * RFC 3834 auto-reply, "auto-submitted", "x-autoreply" ...; absent
 * otherwise), "parsed" (mime_parsed_json() plus "defects") and "truncated" (bool),
 * or NULL when there are no bytes or memory ran out: the message is then
 * recorded without them. */
json_t *inbound_analyse(const char *raw, size_t len, int truncated);

#endif
