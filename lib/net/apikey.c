/*
 * apikey.c -- API keys.  See apikey.h.
 */
#include "apikey.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base64.h"

int
apikey_generate(char out[APIKEY_SIZE], char *err, size_t errlen)
{
    unsigned char raw[32];
    char text[BASE64_ENCODED_LEN(32)];

    if (RAND_bytes(raw, 32) != 1) {
        snprintf(err, errlen, "RAND_bytes: %s", ERR_error_string(ERR_get_error(), NULL));
        return -1;
    }
    /* 32 bytes are 43 characters without padding */
    if (base64_encode(raw, sizeof(raw), text, sizeof(text), BASE64_URL | BASE64_NOPAD) != 43) {
        snprintf(err, errlen, "base64_encode failed");
        return -1;
    }
    memcpy(out, "pik_", 4);
    memcpy(out + 4, text, 44);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(text, sizeof(text));
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
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
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
