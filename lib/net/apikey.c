/*
 * apikey.c -- API keys.  See apikey.h.
 */
#include "apikey.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char apikey_b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
apikey_generate(char out[APIKEY_SIZE], char *err, size_t errlen)
{
    unsigned char raw[33] = { 0 }; /* 32 random bytes, one zero byte to make 11 groups of 3 */
    char *p = out + 4;

    if (RAND_bytes(raw, 32) != 1) {
        snprintf(err, errlen, "RAND_bytes: %s", ERR_error_string(ERR_get_error(), NULL));
        return -1;
    }
    memcpy(out, "pik_", 4);
    for (int i = 0; i < 33; i += 3) {
        unsigned long v = ((unsigned long)raw[i] << 16) | ((unsigned long)raw[i + 1] << 8) | raw[i + 2];
        *p++ = apikey_b64url[(v >> 18) & 63];
        *p++ = apikey_b64url[(v >> 12) & 63];
        *p++ = apikey_b64url[(v >> 6) & 63];
        *p++ = apikey_b64url[v & 63];
    }
    /* 32 bytes are 43 characters without padding: drop the 44th */
    out[4 + 43] = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

void
apikey_hash(const char *key, char out[APIKEY_HASH_SIZE])
{
    unsigned char digest[32];
    unsigned int len = 0;

    EVP_Digest(key, strlen(key), digest, &len, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    out[64] = '\0';
}

void
apikey_prefix(const char *key, char out[APIKEY_PREFIX_LEN + 1])
{
    snprintf(out, APIKEY_PREFIX_LEN + 1, "%s", key);
}

int
apikey_well_formed(const char *key)
{
    if (strlen(key) != APIKEY_SIZE - 1 || strncmp(key, "pik_", 4) != 0)
        return 0;
    for (const char *p = key + 4; *p; p++)
        if (strchr(apikey_b64url, *p) == NULL)
            return 0;
    return 1;
}

const char *
apikey_from_headers(const char *x_api_key, const char *authorization)
{
    if (x_api_key != NULL)
        return x_api_key;
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    authorization += 7;
    while (*authorization == ' ')
        authorization++;
    return *authorization ? authorization : NULL;
}
