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

static int
base64_value(unsigned char ch, int flags)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == ((flags & BASE64_URL) ? '-' : '+'))
        return 62;
    if (ch == ((flags & BASE64_URL) ? '_' : '/'))
        return 63;
    return -1;
}

long
base64_decode(const char *in, size_t n, void *out, size_t outsize, int flags)
{
    unsigned char *o = out;
    size_t got = 0, pad = 0;
    unsigned long v = 0;
    int bits = 0;

    while (!(flags & BASE64_NOPAD) && pad < 2 && n > 0 && in[n - 1] == '=') {
        n--;
        pad++;
    }
    if ((flags & BASE64_NOPAD) ? n % 4 == 1 : (n + pad) % 4 != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int d = base64_value((unsigned char)in[i], flags);
        if (d < 0)
            return -1;
        v = (v << 6) | (unsigned long)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (got == outsize)
                return -1;
            o[got++] = (unsigned char)(v >> bits);
        }
    }
    /* the bits left over must be zero (one spelling per value) */
    if (bits > 0 && (v & ((1ul << bits) - 1)) != 0)
        return -1;
    return (long)got;
}
