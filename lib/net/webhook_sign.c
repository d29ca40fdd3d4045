/*
 * webhook_sign.c -- Standard Webhooks HMAC-SHA256 signatures.
 * See webhook_sign.h.  The base64 decoder is strict (standard alphabet,
 * padding optional but only at the end, no whitespace) so a secret
 * mangled by copy and paste is refused rather than turned into a
 * different key.
 */
#include "webhook_sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEBHOOK_SECRET_PREFIX "whsec_"

/* Value of one base64 character, -1 if not in the standard alphabet. */
static int
webhook_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes text into out (room for max bytes); length, or -1 if invalid. */
static int
webhook_b64_decode(const char *text, unsigned char *out, size_t max)
{
    size_t len = strlen(text), pad = 0, n = 0;
    unsigned int acc = 0;
    int bits = 0;

    while (pad < 2 && len > 0 && text[len - 1] == '=') {
        len--;
        pad++;
    }
    if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0))
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = webhook_b64_value((unsigned char)text[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == max)
                return -1;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero, or two texts would give one key. */
    if (acc != 0)
        return -1;
    return (int)n;
}

int
webhook_secret_decode(const char *secret, unsigned char *key, char *err, size_t errlen)
{
    size_t plen = strlen(WEBHOOK_SECRET_PREFIX);
    int n;
    if (secret == NULL || strncmp(secret, WEBHOOK_SECRET_PREFIX, plen) != 0) {
        snprintf(err, errlen, "secret does not start with \"" WEBHOOK_SECRET_PREFIX "\"");
        return -1;
    }
    n = webhook_b64_decode(secret + plen, key, WEBHOOK_KEY_MAX);
    if (n < 0) {
        snprintf(err, errlen, "secret is not valid base64 (or longer than %d bytes)", WEBHOOK_KEY_MAX);
        return -1;
    }
    if (n == 0) {
        snprintf(err, errlen, "secret has an empty key");
        return -1;
    }
    return n;
}

int
webhook_sign(const char *secret, const char *id, long long timestamp, const char *body, size_t body_len,
             char *out, size_t outlen, char *err, size_t errlen)
{
    unsigned char key[WEBHOOK_KEY_MAX], mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char prefix[160];
    int key_len = webhook_secret_decode(secret, key, err, errlen);
    int plen;
    unsigned char *msg;
    int ok;

    if (key_len < 0)
        return -1;
    plen = snprintf(prefix, sizeof(prefix), "%s.%lld.", id, timestamp);
    if (plen < 0 || (size_t)plen >= sizeof(prefix)) {
        snprintf(err, errlen, "webhook id too long");
        return -1;
    }
    if (outlen < WEBHOOK_SIGNATURE_LEN) {
        snprintf(err, errlen, "signature buffer too small");
        return -1;
    }
    msg = malloc((size_t)plen + body_len + 1);
    if (msg == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(msg, prefix, (size_t)plen);
    if (body_len)
        memcpy(msg + plen, body, body_len);
    ok = HMAC(EVP_sha256(), key, key_len, msg, (size_t)plen + body_len, mac, &mac_len) != NULL;
    free(msg);
    OPENSSL_cleanse(key, sizeof(key));
    if (!ok) {
        snprintf(err, errlen, "HMAC-SHA256 failed");
        return -1;
    }
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mac_len);
    return 0;
}

int
webhook_signature_header(const char *secret, const char *previous_secret, const char *id, long long timestamp,
                         const char *body, size_t body_len, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t used;
    if (webhook_sign(secret, id, timestamp, body, body_len, out, outlen, err, errlen) != 0)
        return -1;
    if (previous_secret == NULL || *previous_secret == '\0')
        return 0;
    used = strlen(out);
    if (outlen - used < WEBHOOK_SIGNATURE_LEN + 1) {
        snprintf(err, errlen, "signature buffer too small");
        return -1;
    }
    out[used] = ' ';
    if (webhook_sign(previous_secret, id, timestamp, body, body_len, out + used + 1, outlen - used - 1, err,
                     errlen) != 0) {
        char inner[160];
        snprintf(inner, sizeof(inner), "%s", err);
        snprintf(err, errlen, "previous %s", inner);
        out[used] = '\0';
        return -1;
    }
    return 0;
}
