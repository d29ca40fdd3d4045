/*
 * utf8.h -- making arbitrary bytes safe to store as PostgreSQL text.
 *
 * Public: utf8_sanitize, utf8_sanitize_text, utf8_is_valid.  Invalid UTF-8 (overlongs,
 * surrogates, stray continuation bytes, truncated sequences) becomes
 * U+FFFD; NUL and other C0 controls except TAB become a space, so a header
 * can never break a row or a log line.  utf8_sanitize_text does the same
 * for a message body but keeps line breaks (CRLF and lone CR become LF).
 * Output is cut at max_bytes on a character boundary.  Logs nothing.
 */
#ifndef POSTINBOX_UTF8_H
#define POSTINBOX_UTF8_H

#include <stddef.h>

/* Returns a malloc'd NUL-terminated string (NULL only if out of memory). */
char *utf8_sanitize(const char *in, size_t len, size_t max_bytes);
/* The same for multi-line text; *truncated (if not NULL) is set to 1 when
 * input was left out to stay within max_bytes, else 0. */
char *utf8_sanitize_text(const char *in, size_t len, size_t max_bytes, int *truncated);

/* 1 if in[0..len) is strict UTF-8 (no overlongs, surrogates, > U+10FFFF), else 0. */
int utf8_is_valid(const char *in, size_t len);

#endif
