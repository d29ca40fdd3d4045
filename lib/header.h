/*
 * header.h -- message header values as stored and shown: decoded
 * RFC 2047 encoded-words, unfolded, valid UTF-8, bounded in size.
 *
 * Public: header_init, header_decode.  Uses GMime's decoder, which knows
 * every charset iconv knows and tolerates broken encoded-words.
 * Logs nothing.
 */
#ifndef POSTINBOX_HEADER_H
#define POSTINBOX_HEADER_H

#include <stddef.h>

/* Once per process, before threads start. */
void header_init(void);
/* Returns a malloc'd UTF-8 string of at most max_bytes (NULL if out of memory). */
char *header_decode(const char *raw, size_t max_bytes);

#endif
