/*
 * webhook_sign.h -- Standard Webhooks signatures.
 *
 * Public: webhook_secret_decode, webhook_sign, webhook_signature_header.
 * A secret is "whsec_" followed by the base64 of the key bytes; the
 * signature of a call is base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))
 * and the webhook-signature header carries it as "v1,<sig>".  During a
 * secret rotation the header carries both, new first, space-separated
 * ("v1,<new> v1,<old>"), so a receiver holding either secret verifies.
 * Errors never quote the secret.  Logs nothing.
 */
#ifndef POSTINBOX_WEBHOOK_SIGN_H
#define POSTINBOX_WEBHOOK_SIGN_H

#include <stddef.h>

/* Longest key accepted (bytes after base64 decoding). */
#define WEBHOOK_KEY_MAX 64
/* Room for one "v1,<44 base64 chars>" entry; two need twice this. */
#define WEBHOOK_SIGNATURE_LEN 48
#define WEBHOOK_SIGNATURE_HEADER_LEN (2 * WEBHOOK_SIGNATURE_LEN + 2)

/* Decodes "whsec_<base64>" into key (at most WEBHOOK_KEY_MAX bytes).
 * Returns the key length, or -1 with err (missing prefix, bad base64,
 * empty or over-long key). */
int webhook_secret_decode(const char *secret, unsigned char *key, char *err, size_t errlen);

/* Writes "v1,<base64 signature>" of id.timestamp.body to out.
 * 0, or -1 with err (bad secret, out too small). */
int webhook_sign(const char *secret, const char *id, long long timestamp, const char *body, size_t body_len,
                 char *out, size_t outlen, char *err, size_t errlen);

/* The whole webhook-signature header value: the signature with secret,
 * followed by " " and the signature with previous_secret when that is not
 * NULL (the caller passes it only while its grace period lasts).
 * 0, or -1 with err; a bad previous secret is an error too, so a broken
 * rotation is noticed instead of silently signing with one key. */
int webhook_signature_header(const char *secret, const char *previous_secret, const char *id, long long timestamp,
                             const char *body, size_t body_len, char *out, size_t outlen, char *err,
                             size_t errlen);

#endif
