/*
 * track_token.c -- tracking link tokens.  See track_token.h.
 */
#include "track_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "secret_file.h"

#define TRACK_KEYS_MAX 8
#define TRACK_KEY_MIN 32
#define TRACK_MAC_LEN 10
#define TRACK_RAW_LEN (1 + TRACK_ID_LEN + 2 + TRACK_MAC_LEN)
#define TRACK_LABEL "postinbox-track-1"

struct track_keys {
    int count;
    unsigned char id[TRACK_KEYS_MAX];
    size_t len[TRACK_KEYS_MAX];
    char key[TRACK_KEYS_MAX][SECRET_LINE_MAX];
};

track_keys_t *
track_keys_new(const char *const *lines, int n, char *err, size_t errlen)
{
    track_keys_t *keys;

    if (n < 1 || n > TRACK_KEYS_MAX) {
        snprintf(err, errlen, "%d keys: between 1 and %d", n, TRACK_KEYS_MAX);
        return NULL;
    }
    if ((keys = calloc(1, sizeof(*keys))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        unsigned char digest[SHA256_DIGEST_LENGTH];
        size_t len = strlen(lines[i]);
        if (len < TRACK_KEY_MIN || len >= SECRET_LINE_MAX) {
            snprintf(err, errlen, "key %d is %s than %d characters%s", i + 1, len < TRACK_KEY_MIN ? "shorter" : "longer",
                     len < TRACK_KEY_MIN ? TRACK_KEY_MIN : SECRET_LINE_MAX - 1,
                     len < TRACK_KEY_MIN ? " (openssl rand -base64 32)" : "");
            track_keys_free(keys);
            return NULL;
        }
        memcpy(keys->key[i], lines[i], len + 1);
        keys->len[i] = len;
        SHA256((const unsigned char *)keys->key[i], len, digest);
        keys->id[i] = digest[0];
        OPENSSL_cleanse(digest, sizeof(digest));
    }
    keys->count = n;
    return keys;
}

track_keys_t *
track_keys_load(const char *path, char *err, size_t errlen)
{
    char lines[TRACK_KEYS_MAX][SECRET_LINE_MAX], why[200];
    const char *ptrs[TRACK_KEYS_MAX];
    track_keys_t *keys;
    int n = secret_file_read_lines(path, lines, TRACK_KEYS_MAX, err, errlen);

    if (n < 0)
        return NULL;
    for (int i = 0; i < n; i++)
        ptrs[i] = lines[i];
    if ((keys = track_keys_new(ptrs, n, why, sizeof(why))) == NULL)
        snprintf(err, errlen, "%s: %s", path, why);
    OPENSSL_cleanse(lines, sizeof(lines));
    return keys;
}

void
track_keys_free(track_keys_t *keys)
{
    if (keys == NULL)
        return;
    OPENSSL_cleanse(keys, sizeof(*keys));
    free(keys);
}

int
track_id_new(unsigned char id[TRACK_ID_LEN])
{
    return RAND_bytes(id, TRACK_ID_LEN) == 1 ? 0 : -1;
}

/* The MAC of (kind, id, link, subject) under key k; a subject longer
 * than TRACK_SUBJECT_MAX has none (links are at most 2048 bytes). */
#define TRACK_SUBJECT_MAX 4096
static int
track_mac(const track_keys_t *keys, int k, track_kind_t kind, const unsigned char *id, unsigned link,
          const char *subject, unsigned char mac[TRACK_MAC_LEN])
{
    unsigned char msg[sizeof(TRACK_LABEL) + 1 + TRACK_ID_LEN + 2 + TRACK_SUBJECT_MAX];
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int full_len = 0;
    size_t n = 0, slen = subject ? strlen(subject) : 0;

    if (slen > TRACK_SUBJECT_MAX)
        return -1;
    memcpy(msg, TRACK_LABEL, sizeof(TRACK_LABEL));   /* with its NUL */
    n = sizeof(TRACK_LABEL);
    msg[n++] = (unsigned char)kind;
    memcpy(msg + n, id, TRACK_ID_LEN);
    n += TRACK_ID_LEN;
    msg[n++] = (unsigned char)(link >> 8);
    msg[n++] = (unsigned char)link;
    if (slen > 0)
        memcpy(msg + n, subject, slen);
    n += slen;
    if (HMAC(EVP_sha256(), keys->key[k], (int)keys->len[k], msg, n, full, &full_len) == NULL ||
        full_len < TRACK_MAC_LEN)
        return -1;
    memcpy(mac, full, TRACK_MAC_LEN);
    OPENSSL_cleanse(full, sizeof(full));
    return 0;
}

int
track_token_make(const track_keys_t *keys, track_kind_t kind, const unsigned char id[TRACK_ID_LEN], unsigned link,
                 const char *subject, char out[TRACK_TOKEN_MAX])
{
    unsigned char raw[TRACK_RAW_LEN];
    char text[BASE64_ENCODED_LEN(TRACK_RAW_LEN)];

    out[0] = '\0';
    if (keys == NULL || keys->count == 0 || link > TRACK_LINK_MAX)
        return -1;
    raw[0] = keys->id[0];
    memcpy(raw + 1, id, TRACK_ID_LEN);
    raw[1 + TRACK_ID_LEN] = (unsigned char)(link >> 8);
    raw[2 + TRACK_ID_LEN] = (unsigned char)link;
    if (track_mac(keys, 0, kind, id, link, subject, raw + 3 + TRACK_ID_LEN) != 0)
        return -1;
    if (base64_encode(raw, sizeof(raw), text, sizeof(text), BASE64_URL | BASE64_NOPAD) != TRACK_TOKEN_LEN)
        return -1;
    memcpy(out, text, TRACK_TOKEN_MAX);
    return 0;
}

/* The 25 bytes of a token: 0, -1. */
static int
track_token_raw(const char *token, size_t len, unsigned char raw[TRACK_RAW_LEN])
{
    if (token == NULL || len != TRACK_TOKEN_LEN)
        return -1;
    return base64_decode(token, len, raw, TRACK_RAW_LEN, BASE64_URL | BASE64_NOPAD) == TRACK_RAW_LEN ? 0 : -1;
}

int
track_token_parse(const char *token, size_t len, unsigned char id[TRACK_ID_LEN], unsigned *link)
{
    unsigned char raw[TRACK_RAW_LEN];
    if (track_token_raw(token, len, raw) != 0)
        return -1;
    memcpy(id, raw + 1, TRACK_ID_LEN);
    *link = (unsigned)raw[1 + TRACK_ID_LEN] << 8 | raw[2 + TRACK_ID_LEN];
    return 0;
}

int
track_token_verify(const track_keys_t *keys, track_kind_t kind, const char *token, size_t len, const char *subject)
{
    unsigned char raw[TRACK_RAW_LEN], mac[TRACK_MAC_LEN];
    unsigned link;
    int good = 0;

    if (keys == NULL || track_token_raw(token, len, raw) != 0)
        return 0;
    link = (unsigned)raw[1 + TRACK_ID_LEN] << 8 | raw[2 + TRACK_ID_LEN];
    for (int k = 0; k < keys->count && !good; k++)
        if (keys->id[k] == raw[0] && track_mac(keys, k, kind, raw + 1, link, subject, mac) == 0 &&
            CRYPTO_memcmp(mac, raw + 3 + TRACK_ID_LEN, TRACK_MAC_LEN) == 0)
            good = 1;
    return good;
}
