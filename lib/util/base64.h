/*
 * base64.h -- RFC 4648 base64 encoding, standard or URL-safe alphabet.
 *
 * Public: base64_encode, base64_decode, BASE64_ENCODED_LEN, BASE64_URL,
 * BASE64_NOPAD.  Used for SASL AUTH PLAIN (lib/mail/smtp_client), API keys
 * (lib/net/apikey) and tracking tokens (lib/mail/track_token).  Pure; thread-safe; logs nothing.
 */
#ifndef POSTINBOX_BASE64_H
#define POSTINBOX_BASE64_H

#include <stddef.h>

#define BASE64_URL 1      /* '-' and '_' instead of '+' and '/' */
#define BASE64_NOPAD 2    /* no trailing '=' */

/* Bytes needed for n input bytes, with padding and the NUL. */
#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4 + 1)

/* Encodes n bytes of in into out (NUL-terminated).  Returns the length
 * written without the NUL, or -1 (out untouched beyond out[0] = '\0')
 * when outsize is smaller than BASE64_ENCODED_LEN(n). */
long base64_encode(const void *in, size_t n, char *out, size_t outsize, int flags);

/* Decodes n characters of in (the alphabet of flags; with BASE64_NOPAD
 * no '=' is accepted, without it the padding is required) into out.
 * Returns the bytes written, or -1: a character outside the alphabet, a
 * length no encoding has, non-zero unused bits, or more than outsize. */
long base64_decode(const char *in, size_t n, void *out, size_t outsize, int flags);

#endif
