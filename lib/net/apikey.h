/*
 * apikey.h -- API keys: making them, and what is stored of them.
 *
 * Public: apikey_generate, apikey_hash, apikey_prefix, apikey_well_formed,
 * apikey_from_headers, APIKEY_SIZE, APIKEY_HASH_SIZE, APIKEY_PREFIX_LEN.
 * A key is "pik_" + base64url (no padding) of 32 random bytes: 47
 * characters.  Only its SHA-256 (lower-case hex) is stored, with the
 * first APIKEY_PREFIX_LEN characters to tell keys apart in lists.
 * Thread-safe; logs nothing, and nothing here puts a key in err.
 */
#ifndef POSTINBOX_APIKEY_H
#define POSTINBOX_APIKEY_H

#include <stddef.h>

#define APIKEY_SIZE (4 + 43 + 1)      /* with NUL */
#define APIKEY_HASH_SIZE (64 + 1)     /* hex, with NUL */
#define APIKEY_PREFIX_LEN 12

/* A new key from RAND_bytes.  0, or -1 with err. */
int apikey_generate(char out[APIKEY_SIZE], char *err, size_t errlen);
/* The stored form of key (any string): SHA-256, lower-case hex. */
void apikey_hash(const char *key, char out[APIKEY_HASH_SIZE]);
/* The first APIKEY_PREFIX_LEN characters, NUL-terminated. */
void apikey_prefix(const char *key, char out[APIKEY_PREFIX_LEN + 1]);
/* Whether key has the shape of a key (no database needed to refuse junk). */
int apikey_well_formed(const char *key);
/* The key of a request: x_api_key (the x-api-key header) if not NULL,
 * else authorization when it is "Bearer KEY" (scheme case-insensitive).
 * NULL when neither carries one. */
const char *apikey_from_headers(const char *x_api_key, const char *authorization);

#endif
