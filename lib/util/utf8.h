/*
 * utf8.h -- making arbitrary bytes safe to store as PostgreSQL text.
 *
 * Public: utf8_sanitize, utf8_sanitize_text, utf8_is_valid, utf8_escape.
 * Invalid UTF-8 (overlongs,
 * surrogates, stray continuation bytes, truncated sequences) becomes
 * U+FFFD; NUL and other C0 controls except TAB become a space, so a header
 * can never break a row or a log line.  utf8_sanitize_text does the same
 * for a message body but keeps line breaks (CRLF and lone CR become LF).
 * Output is cut at max_bytes on a character boundary.  utf8_escape is for
 * log lines instead: it keeps every byte visible, writing each control
 * byte and each byte of invalid UTF-8 as \xNN.  Logs nothing.
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

/* Copies in[0..len) to out (outlen bytes, NUL-terminated) with C0
 * controls (TAB, CR and LF too), DEL, C1 controls (U+0080..U+009F, both
 * bytes) and every byte of invalid UTF-8
 * written as "\xNN" (lower-case hex); valid multibyte characters and
 * printable ASCII pass unchanged.  Stops before an escape or a character
 * that would not fit, never inside one.  Returns the length written. */
size_t utf8_escape(const char *in, size_t len, char *out, size_t outlen);

#endif
