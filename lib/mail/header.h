/*
 * header.h -- message header values as stored and shown: decoded
 * RFC 2047 encoded-words, unfolded, valid UTF-8, bounded in size.
 *
 * Public: header_init, header_decode, header_addresses.  Uses GMime's
 * decoder, which knows every charset iconv knows and tolerates broken
 * encoded-words, and its address-list parser.  Logs nothing.
 */
#ifndef POSTINBOX_HEADER_H
#define POSTINBOX_HEADER_H

#include <stddef.h>

/* Once per process, before threads start. */
void header_init(void);
/* Returns a malloc'd UTF-8 string of at most max_bytes (NULL if out of memory). */
char *header_decode(const char *raw, size_t max_bytes);
/* Appends to list (*count entries so far, room for max) the addresses of
 * an address-list header value as received (From, To, Cc): each mailbox's
 * addr-spec, an IDN domain in its ASCII form, lower-cased; groups are
 * flattened and display names (encoded or not) ignored; anything that is
 * not a plain local@domain (address_normalize) or not valid UTF-8 is
 * skipped, and so is an address already in list.  Entries are malloc'd,
 * the caller frees them.  Returns how many were added, -1 if out of memory
 * (what was added stays in list). */
int header_addresses(const char *raw, char **list, size_t *count, size_t max);

#endif
