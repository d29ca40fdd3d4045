/*
 * msgbuf.h -- a copy of a message as it streams past the milter, kept
 * up to a size cap so its content can be parsed at end of message.
 *
 * Public: msgbuf_t, msgbuf_header, msgbuf_body, msgbuf_finish,
 * msgbuf_clear.  Headers arrive one by one (name, value as libmilter
 * gives them) and are written back as "Name: value" lines with CRLF;
 * the first body chunk (or msgbuf_finish) adds the empty line.  Bytes
 * beyond the cap are counted, not kept, and set truncated: a parser then
 * sees the first cap bytes of the message.  Growth doubles, so a small
 * message costs a few allocations and a large one O(n) copying.
 * Logs nothing; not thread-safe (one per session).
 */
#ifndef POSTINBOX_MSGBUF_H
#define POSTINBOX_MSGBUF_H

#include <stddef.h>

typedef struct {
    char *data;       /* NUL-terminated when not NULL */
    size_t len;       /* bytes kept */
    size_t cap;       /* bytes allocated */
    size_t max;       /* keep at most this many bytes (0: keep nothing) */
    size_t seen;      /* bytes offered, kept or not */
    int in_body;      /* the header/body separator is written */
    int truncated;    /* bytes were dropped at the cap, or memory ran out */
} msgbuf_t;

/* Starts an empty buffer keeping at most max bytes. */
void msgbuf_init(msgbuf_t *b, size_t max);
void msgbuf_header(msgbuf_t *b, const char *name, const char *value);
void msgbuf_body(msgbuf_t *b, const unsigned char *chunk, size_t len);
/* Ends the headers if no body came. */
void msgbuf_finish(msgbuf_t *b);
/* Frees the copy; the buffer may be initialised again. */
void msgbuf_clear(msgbuf_t *b);

#endif
