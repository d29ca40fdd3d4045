/*
 * secretbox.c -- AES-256-GCM sealing of stored secrets.  See secretbox.h.
 */
#include "secretbox.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRETBOX_NONCE_LEN 12
#define SECRETBOX_TAG_LEN 16
#define SECRETBOX_KID_LEN 8
#define SECRETBOX_PREFIX "v1:"
/* "v1:" + key id + ":" */
#define SECRETBOX_HEAD_LEN (3 + SECRETBOX_KID_LEN + 1)

typedef struct {
    unsigned char key[SECRETBOX_KEY_LEN];
    char kid[SECRETBOX_KID_LEN + 1];
} secretbox_key_t;

struct secretbox {
    secretbox_key_t current;
    secretbox_key_t old;
    int has_old;
};

static void
secretbox_key_set(secretbox_key_t *k, const unsigned char key[SECRETBOX_KEY_LEN])
{
    static const char label[] = "postinbox secret_key_file id";
    unsigned char digest[SHA256_DIGEST_LENGTH], input[sizeof(label) - 1 + SECRETBOX_KEY_LEN];

    memcpy(k->key, key, SECRETBOX_KEY_LEN);
    memcpy(input, label, sizeof(label) - 1);
    memcpy(input + sizeof(label) - 1, key, SECRETBOX_KEY_LEN);
    EVP_Digest(input, sizeof(input), digest, NULL, EVP_sha256(), NULL);
    OPENSSL_cleanse(input, sizeof(input));
    for (int i = 0; i < SECRETBOX_KID_LEN / 2; i++)
        snprintf(k->kid + 2 * i, 3, "%02x", digest[i]);
}

/* Strict base64 of len characters into out (room for outmax); the decoded
 * length, or -1. */
static int
secretbox_base64_decode(const char *in, size_t len, unsigned char *out, size_t outmax)
{
    size_t pad = 0;
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > outmax)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '=') {
            if (i < len - 2)
                return -1;
            pad++;
        } else if (pad > 0 || !(isalnum(c) || c == '+' || c == '/')) {
            return -1;
        }
    }
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    return n < 0 ? -1 : n - (int)pad;
}

int
secretbox_parse_key(const char *text, unsigned char key[SECRETBOX_KEY_LEN])
{
    unsigned char buf[48];
    size_t len;

    while (isspace((unsigned char)*text))
        text++;
    len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    if (len == 2 * SECRETBOX_KEY_LEN) {
        for (size_t i = 0; i < SECRETBOX_KEY_LEN; i++) {
            unsigned int byte;
            if (!isxdigit((unsigned char)text[2 * i]) || !isxdigit((unsigned char)text[2 * i + 1]) ||
                sscanf(text + 2 * i, "%2x", &byte) != 1)
                return -1;
            key[i] = (unsigned char)byte;
        }
        return 0;
    }
    if (secretbox_base64_decode(text, len, buf, sizeof(buf)) != SECRETBOX_KEY_LEN) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return -1;
    }
    memcpy(key, buf, SECRETBOX_KEY_LEN);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

/* Reads one key file (mode checked) into key.  0, or -1 with err. */
static int
secretbox_read_key(const char *key_name, const char *path, unsigned char key[SECRETBOX_KEY_LEN], char *err,
                   size_t errlen)
{
    char text[256];
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "%s %s: %s", key_name, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file", key_name, path);
        close(fd);
        return -1;
    }
    if ((st.st_mode & (S_IWGRP | S_IRWXO)) != 0) {
        snprintf(err, errlen, "%s %s: mode %04o lets other users read or change the key (chmod 0600, or 0640 "
                 "with the daemons' group)", key_name, path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return -1;
    }
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s %s: %s", key_name, path, strerror(errno));
        return -1;
    }
    text[n] = '\0';
    int rc = (size_t)n < sizeof(text) - 1 ? secretbox_parse_key(text, key) : -1;
    OPENSSL_cleanse(text, sizeof(text));
    if (rc != 0) {
        snprintf(err, errlen, "%s %s: not 32 bytes as 64 hex digits or base64 (openssl rand -hex 32)", key_name,
                 path);
        return -1;
    }
    return 0;
}

secretbox_t *
secretbox_from_keys(const unsigned char key[SECRETBOX_KEY_LEN], const unsigned char *old)
{
    secretbox_t *box = calloc(1, sizeof(*box));
    if (box == NULL)
        return NULL;
    secretbox_key_set(&box->current, key);
    if (old != NULL) {
        secretbox_key_set(&box->old, old);
        box->has_old = 1;
    }
    return box;
}

secretbox_t *
secretbox_load(const char *path, const char *old_path, char *err, size_t errlen)
{
    unsigned char key[SECRETBOX_KEY_LEN], old[SECRETBOX_KEY_LEN];
    int has_old = old_path != NULL && old_path[0] != '\0';
    secretbox_t *box = NULL;

    if (path == NULL || path[0] == '\0') {
        snprintf(err, errlen, "secret_key_file is not set");
        return NULL;
    }
    if (secretbox_read_key("secret_key_file", path, key, err, errlen) == 0 &&
        (!has_old || secretbox_read_key("secret_key_file_old", old_path, old, err, errlen) == 0)) {
        box = secretbox_from_keys(key, has_old ? old : NULL);
        if (box == NULL)
            snprintf(err, errlen, "out of memory");
    }
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(old, sizeof(old));
    return box;
}

void
secretbox_free(secretbox_t *box)
{
    if (box == NULL)
        return;
    OPENSSL_cleanse(box, sizeof(*box));
    free(box);
}

const char *
secretbox_key_id(const secretbox_t *box)
{
    return box->current.kid;
}

/* The additional data: "v1:<kid>:" then the context. */
static int
secretbox_aad(EVP_CIPHER_CTX *ctx, const char *kid, const char *context)
{
    int len;
    char head[SECRETBOX_HEAD_LEN + 1];
    snprintf(head, sizeof(head), SECRETBOX_PREFIX "%s:", kid);
    return EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)head, (int)strlen(head)) == 1 &&
           EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)context, (int)strlen(context)) == 1;
}

int
secretbox_seal(const secretbox_t *box, const char *plain, const char *context, char *out, size_t outlen,
               char *err, size_t errlen)
{
    unsigned char raw[SECRETBOX_NONCE_LEN + SECRETBOX_PLAIN_MAX + SECRETBOX_TAG_LEN];
    size_t plain_len = strlen(plain);
    EVP_CIPHER_CTX *ctx = NULL;
    int len, ok = 0;

    if (plain_len == 0 || plain_len > SECRETBOX_PLAIN_MAX) {
        snprintf(err, errlen, "a secret must be 1 to %d bytes", SECRETBOX_PLAIN_MAX);
        return -1;
    }
    /* base64 of the raw bytes, the head and NUL must fit */
    if (outlen < SECRETBOX_HEAD_LEN + 4 * ((SECRETBOX_NONCE_LEN + plain_len + SECRETBOX_TAG_LEN + 2) / 3) + 1) {
        snprintf(err, errlen, "no room for the sealed secret");
        return -1;
    }
    if (RAND_bytes(raw, SECRETBOX_NONCE_LEN) != 1) {
        snprintf(err, errlen, "RAND_bytes: %s", ERR_error_string(ERR_get_error(), NULL));
        return -1;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SECRETBOX_NONCE_LEN, NULL) == 1 &&
        EVP_EncryptInit_ex(ctx, NULL, NULL, box->current.key, raw) == 1 &&
        secretbox_aad(ctx, box->current.kid, context) &&
        EVP_EncryptUpdate(ctx, raw + SECRETBOX_NONCE_LEN, &len, (const unsigned char *)plain, (int)plain_len) == 1 &&
        (size_t)len == plain_len && EVP_EncryptFinal_ex(ctx, raw + SECRETBOX_NONCE_LEN + len, &len) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SECRETBOX_TAG_LEN, raw + SECRETBOX_NONCE_LEN + plain_len) == 1)
        ok = 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(raw, sizeof(raw));
        snprintf(err, errlen, "AES-256-GCM: %s", ERR_error_string(ERR_get_error(), NULL));
        return -1;
    }
    snprintf(out, outlen, SECRETBOX_PREFIX "%s:", box->current.kid);
    EVP_EncodeBlock((unsigned char *)out + SECRETBOX_HEAD_LEN, raw,
                    (int)(SECRETBOX_NONCE_LEN + plain_len + SECRETBOX_TAG_LEN));
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

int
secretbox_open(const secretbox_t *box, const char *stored, const char *context, char *out, size_t outlen,
               char *err, size_t errlen)
{
    unsigned char raw[SECRETBOX_NONCE_LEN + SECRETBOX_PLAIN_MAX + SECRETBOX_TAG_LEN + 3];
    const secretbox_key_t *key = NULL;
    EVP_CIPHER_CTX *ctx;
    int n, len, ok = 0;
    size_t plain_len;

    if (strncmp(stored, SECRETBOX_PREFIX, 3) != 0) {
        if (strlen(stored) >= outlen) {
            snprintf(err, errlen, "stored secret too long");
            return -1;
        }
        snprintf(out, outlen, "%s", stored);
        return 1;
    }
    if (box == NULL) {
        snprintf(err, errlen, "the secret is encrypted and secret_key_file is not set");
        return -1;
    }
    if (strlen(stored) < SECRETBOX_HEAD_LEN || stored[SECRETBOX_HEAD_LEN - 1] != ':') {
        snprintf(err, errlen, "malformed encrypted secret");
        return -1;
    }
    if (strncmp(stored + 3, box->current.kid, SECRETBOX_KID_LEN) == 0)
        key = &box->current;
    else if (box->has_old && strncmp(stored + 3, box->old.kid, SECRETBOX_KID_LEN) == 0)
        key = &box->old;
    if (key == NULL) {
        snprintf(err, errlen, "encrypted with key %.8s, which neither secret_key_file nor secret_key_file_old holds",
                 stored + 3);
        return -1;
    }
    n = secretbox_base64_decode(stored + SECRETBOX_HEAD_LEN, strlen(stored + SECRETBOX_HEAD_LEN), raw, sizeof(raw));
    if (n < SECRETBOX_NONCE_LEN + SECRETBOX_TAG_LEN + 1) {
        snprintf(err, errlen, "malformed encrypted secret");
        return -1;
    }
    plain_len = (size_t)n - SECRETBOX_NONCE_LEN - SECRETBOX_TAG_LEN;
    if (plain_len >= outlen) {
        snprintf(err, errlen, "no room for the secret");
        return -1;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx != NULL && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SECRETBOX_NONCE_LEN, NULL) == 1 &&
        EVP_DecryptInit_ex(ctx, NULL, NULL, key->key, raw) == 1 && secretbox_aad(ctx, key->kid, context) &&
        EVP_DecryptUpdate(ctx, (unsigned char *)out, &len, raw + SECRETBOX_NONCE_LEN, (int)plain_len) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SECRETBOX_TAG_LEN, raw + SECRETBOX_NONCE_LEN + plain_len) == 1 &&
        EVP_DecryptFinal_ex(ctx, (unsigned char *)out + len, &len) == 1)
        ok = 1;
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(raw, sizeof(raw));
    if (!ok || memchr(out, '\0', plain_len) != NULL) {
        OPENSSL_cleanse(out, outlen);
        snprintf(err, errlen, "encrypted secret does not authenticate (another key, or not this endpoint's)");
        return -1;
    }
    out[plain_len] = '\0';
    return 0;
}

int
secretbox_is_current(const secretbox_t *box, const char *stored)
{
    return box != NULL && strncmp(stored, SECRETBOX_PREFIX, 3) == 0 &&
           strncmp(stored + 3, box->current.kid, SECRETBOX_KID_LEN) == 0 && stored[SECRETBOX_HEAD_LEN - 1] == ':';
}
