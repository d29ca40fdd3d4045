/*
 * reply_extract.h -- what the sender wrote in a reply, without the quoted
 * history and the signature.
 *
 * Public: reply_extract, reply_extract_html_to_text.  Pure string
 * functions on valid UTF-8 (LF line ends; CR is tolerated).  The history
 * starts at the first attribution line ("On <date>, <name> wrote:", also
 * wrapped over two lines, and the German, French, Spanish, Italian, Dutch,
 * Portuguese and Swedish forms), "-----Original Message-----" (and its
 * translations), Outlook's "From:" followed by "Sent:" header block, or a
 * line of underscores followed by "From:".  Lines starting with '>' are
 * dropped wherever they are (inline replies keep their answers).  A
 * signature after a line that is exactly "-- " is dropped up to a
 * forwarded message, which is content, not history: after "---------- Forwarded
 * message ---------" or "Begin forwarded message:" everything is kept.
 * Linear in the input.  Logs nothing.
 */
#ifndef POSTINBOX_REPLY_EXTRACT_H
#define POSTINBOX_REPLY_EXTRACT_H

#include <stddef.h>

/* The reply part of text, at most max_bytes (cut on a character boundary),
 * leading and trailing blank lines removed; malloc'd, or NULL when nothing
 * is left (or out of memory). */
char *reply_extract(const char *text, size_t max_bytes);

/* A crude text rendering of HTML, good enough for reply_extract: tags
 * stripped, <script>/<style>/<head> dropped, block elements become line
 * breaks, lines inside <blockquote> start with "> ", the common entities
 * and numeric references decoded (NUL and invalid ones become U+FFFD).
 * At most max_bytes; malloc'd, NULL only if out of memory. */
char *reply_extract_html_to_text(const char *html, size_t max_bytes);

#endif
