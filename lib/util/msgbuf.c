/*
 * msgbuf.c -- a capped copy of a streamed message.  See msgbuf.h.
 */
#include "msgbuf.h"

#include <stdlib.h>
#include <string.h>

void
msgbuf_init(msgbuf_t *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

/* Appends what fits under the cap. */
static void
msgbuf_append(msgbuf_t *b, const void *bytes, size_t len)
{
    size_t keep = len;

    b->seen += len;
    if (b->len + keep > b->max) {
        keep = b->max - b->len;
        b->truncated = 1;
    }
    if (keep == 0)
        return;
    if (b->len + keep + 1 > b->cap) {
        size_t want = b->cap ? b->cap : 4096;
        while (want < b->len + keep + 1)
            want *= 2;
        if (want > b->max + 1)
            want = b->max + 1;
        char *grown = realloc(b->data, want);
        if (grown == NULL) {
            b->truncated = 1;
            return;
        }
        b->data = grown;
        b->cap = want;
    }
    memcpy(b->data + b->len, bytes, keep);
    b->len += keep;
    b->data[b->len] = '\0';
}

void
msgbuf_header(msgbuf_t *b, const char *name, const char *value)
{
    if (b->in_body)
        return;
    msgbuf_append(b, name, strlen(name));
    msgbuf_append(b, ": ", 2);
    msgbuf_append(b, value, strlen(value));
    msgbuf_append(b, "\r\n", 2);
}

void
msgbuf_finish(msgbuf_t *b)
{
    if (!b->in_body) {
        msgbuf_append(b, "\r\n", 2);
        b->in_body = 1;
    }
}

void
msgbuf_body(msgbuf_t *b, const unsigned char *chunk, size_t len)
{
    msgbuf_finish(b);
    msgbuf_append(b, chunk, len);
}

void
msgbuf_clear(msgbuf_t *b)
{
    free(b->data);
    msgbuf_init(b, 0);
}
