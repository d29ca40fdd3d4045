/*
 * utf8.c -- UTF-8 validation and repair.  See utf8.h.
 */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t
utf8_sequence(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    size_t need;
    unsigned int cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

/* Both entry points: keep_lines keeps LF (and turns CRLF or CR into LF). */
static char *
sanitize(const char *in, size_t len, size_t max_bytes, int keep_lines, int *truncated)
{
    static const char replacement[] = "\xef\xbf\xbd";
    const unsigned char *p = (const unsigned char *)in;
    size_t cap = (len < max_bytes ? len : max_bytes) * 3 + 1, o = 0, i = 0;
    char *out = malloc(cap < 4 ? 4 : cap);
    if (out == NULL)
        return NULL;
    while (i < len) {
        size_t n = utf8_sequence(p + i, len - i);
        const char *src = (const char *)p + i;
        size_t emit = n;
        if (n == 0) {
            src = replacement;
            emit = 3;
            n = 1;
        } else if (keep_lines && (p[i] == '\r' || p[i] == '\n')) {
            src = "\n";
            if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
                n = 2;
        } else if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f) && p[i] != '\t') {
            src = " ";
        }
        if (o + emit > max_bytes)
            break;
        memcpy(out + o, src, emit);
        o += emit;
        i += n;
    }
    out[o] = '\0';
    if (truncated != NULL)
        *truncated = i < len;
    return out;
}

char *
utf8_sanitize(const char *in, size_t len, size_t max_bytes)
{
    return sanitize(in, len, max_bytes, 0, NULL);
}

char *
utf8_sanitize_text(const char *in, size_t len, size_t max_bytes, int *truncated)
{
    return sanitize(in, len, max_bytes, 1, truncated);
}

int
utf8_is_valid(const char *in, size_t len)
{
    const unsigned char *p = (const unsigned char *)in;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(p + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

size_t
utf8_escape(const char *in, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;

    if (outlen == 0)
        return 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(p + i, len - i);
        /* A C1 control (U+0080..U+009F, "\xc2\x9b" is CSI) is as
         * active on a UTF-8 terminal as ESC: both its bytes are escaped. */
        size_t escape = n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f)) ? 1
                        : (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)       ? 2
                                                                              : 0;
        if (escape > 0) {
            /* Byte by byte as \xNN: a control, or a byte that starts no
             * valid sequence (the next byte is looked at afresh). */
            if (o + 4 * escape >= outlen)
                break;
            for (size_t k = 0; k < escape; k++, i++) {
                out[o++] = '\\';
                out[o++] = 'x';
                out[o++] = hex[p[i] >> 4];
                out[o++] = hex[p[i] & 0xf];
            }
            continue;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, p + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return o;
}
