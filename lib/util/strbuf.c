/*
 * strbuf.c -- a growing byte buffer.  See strbuf.h.
 */
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

void
strbuf_add(strbuf_t *b, const char *p, size_t n)
{
    if (b->failed || (n > 0 && p == NULL))
        return;
    if (b->data == NULL || b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
strbuf_puts(strbuf_t *b, const char *s)
{
    strbuf_add(b, s, strlen(s));
}
