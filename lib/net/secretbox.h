/*
 * secretbox.h -- secrets encrypted at rest: webhook signing secrets and
 * DKIM private keys.
 *
 * Public: secretbox_t, secretbox_load, secretbox_from_keys, secretbox_free,
 * secretbox_seal, secretbox_open, secretbox_is_current, secretbox_key_id,
 * secretbox_parse_key, SECRETBOX_SEALED_MAX, SECRETBOX_PLAIN_MAX.
 *
 * A key-encryption key (secret_key_file: 32 random bytes as 64 hex digits
 * or base64, a file no other user may read) seals each secret with
 * AES-256-GCM under a fresh random 96-bit nonce:
 *
 *   v1:<key id>:<base64 of nonce(12) | ciphertext | tag(16)>
 *
 * The key id is the first 4 bytes (8 hex digits) of SHA-256 over a fixed
 * label and the key, so a value names the key that opens it (a rotation
 * keeps the previous key, secret_key_file_old, for opening only) and SQL
 * can find the values not yet under the current key.  The additional
 * data is "v1:<key id>:" and the caller's context (the endpoint id, or
 * the DKIM key's id), so a value copied to another row, or edited in any
 * byte, does not open.  A value without the "v1:" prefix is a plaintext
 * webhook secret of an older install: secretbox_open passes it through,
 * so those keep working until `postinboxctl webhook encrypt-secrets`
 * seals them (DKIM keys refuse it: they were always sealed).
 * Thread-safe once loaded (read-only); keys are wiped on free; logs
 * nothing, and no error text holds a secret or a key.
 */
#ifndef POSTINBOX_SECRETBOX_H
#define POSTINBOX_SECRETBOX_H

#include <stddef.h>

typedef struct secretbox secretbox_t;

#define SECRETBOX_KEY_LEN 32
/* The longest secret sealed (a whsec_ secret is 50 bytes, a DKIM
 * private key's PEM about 1.7 KB for RSA 2048, 3.3 KB for RSA 4096). */
#define SECRETBOX_PLAIN_MAX 4096
/* Room for any sealed value, NUL included: "v1:" kid ":" and base64 of
 * nonce(12) | ciphertext | tag(16). */
#define SECRETBOX_SEALED_MAX (3 + 8 + 1 + 4 * ((12 + SECRETBOX_PLAIN_MAX + 16 + 2) / 3) + 1)

/* The key in text ("64 hex digits" or base64 of 32 bytes, surrounding
 * white space ignored) into key.  0, or -1. */
int secretbox_parse_key(const char *text, unsigned char key[SECRETBOX_KEY_LEN]);

/* Reads the key file path (required) and old_path (NULL or "": none).
 * A file must be a regular file that neither the group may write nor
 * others read or write (0600, 0640, 0400, 0440).  NULL with err naming
 * the file and what is wrong. */
secretbox_t *secretbox_load(const char *path, const char *old_path, char *err, size_t errlen);
/* The same from raw keys (old NULL: none), for tests; NULL out of memory. */
secretbox_t *secretbox_from_keys(const unsigned char key[SECRETBOX_KEY_LEN], const unsigned char *old);
void secretbox_free(secretbox_t *box);

/* The current key's id, 8 hex digits. */
const char *secretbox_key_id(const secretbox_t *box);

/* Seals plain (at most SECRETBOX_PLAIN_MAX bytes) for context into out.
 * 0, or -1 with err. */
int secretbox_seal(const secretbox_t *box, const char *plain, const char *context, char *out, size_t outlen,
                   char *err, size_t errlen);

/* Opens a stored value into out: 0 when it was sealed (with the current
 * or the old key), 1 when it is a plaintext secret of an older install
 * (copied as it is; box may be NULL), -1 with err when it does not open
 * (no key configured, an unknown key, not authentic, malformed). */
int secretbox_open(const secretbox_t *box, const char *stored, const char *context, char *out, size_t outlen,
                   char *err, size_t errlen);

/* 1 if stored is sealed with the current key. */
int secretbox_is_current(const secretbox_t *box, const char *stored);

#endif
