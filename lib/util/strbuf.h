/*
 * strbuf.h -- a growing byte buffer that remembers running out of memory.
 *
 * Public: strbuf_t, strbuf_add, strbuf_puts.
 * Starts zeroed ({ 0 }); every append keeps data NUL-terminated; growth
 * doubles from 4 KiB, so n bytes cost O(n) copying.  Once an allocation
 * fails, failed is set and later appends do nothing: the owner checks
 * failed once at the end and frees data either way.  The Prometheus text
 * (lib/util/metrics) and the tracked HTML (lib/mail/track_rewrite) are
 * built with it.  Not thread-safe (one owner); logs nothing.
 */
#ifndef POSTINBOX_STRBUF_H
#define POSTINBOX_STRBUF_H

#include <stddef.h>

typedef struct {
    char *data;      /* NUL-terminated once anything was added; the owner frees it */
    size_t len, cap;
    int failed;      /* an allocation failed: the content is incomplete */
} strbuf_t;

/* Appends p[0..n) (p may be NULL for n 0); even an empty append makes
 * data a string. */
void strbuf_add(strbuf_t *b, const char *p, size_t n);
void strbuf_puts(strbuf_t *b, const char *s);

#endif
