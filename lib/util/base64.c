/*
 * base64.c -- RFC 4648 base64 encoding.  See base64.h.
 */
#include "base64.h"

static const char base64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char base64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

long
base64_encode(const void *in, size_t n, char *out, size_t outsize, int flags)
{
    const unsigned char *p = in;
    const char *alphabet = (flags & BASE64_URL) ? base64_url : base64_std;
    size_t o = 0;

    if (outsize == 0)
        return -1;
    out[0] = '\0';
    if (outsize < BASE64_ENCODED_LEN(n))
        return -1;
    for (size_t i = 0; i < n; i += 3) {
        size_t left = n - i;
        unsigned long v = (unsigned long)p[i] << 16;
        if (left > 1)
            v |= (unsigned long)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (left > 1)
            out[o++] = alphabet[(v >> 6) & 63];
        else if (!(flags & BASE64_NOPAD))
            out[o++] = '=';
        if (left > 2)
            out[o++] = alphabet[v & 63];
        else if (!(flags & BASE64_NOPAD))
            out[o++] = '=';
    }
    out[o] = '\0';
    return (long)o;
}
