/*
 * dkim_keygen.c -- DKIM key pairs over OpenSSL EVP.  See dkim_keygen.h.
 */
#include "dkim_keygen.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

static int
dkim_keygen_fail(const char *call, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", call, ERR_error_string(ERR_get_error(), NULL));
    return -1;
}

int
dkim_keygen_rsa(int bits, dkim_keygen_t *out, char *err, size_t errlen)
{
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    unsigned char *der = NULL;
    char *pem;
    long pem_len;
    int der_len, rc = -1;

    memset(out, 0, sizeof(*out));
    if (bits < 1024 || bits > 4096) {
        snprintf(err, errlen, "an RSA key must have 1024 to 4096 bits");
        return -1;
    }
    snprintf(out->algorithm, sizeof(out->algorithm), "rsa-sha256");
    ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) <= 0 ||
        EVP_PKEY_keygen(ctx, &pkey) <= 0) {
        dkim_keygen_fail("EVP_PKEY_keygen", err, errlen);
        goto done;
    }
    if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        dkim_keygen_fail("PEM_write_bio_PrivateKey", err, errlen);
        goto done;
    }
    pem_len = BIO_get_mem_data(bio, &pem);
    if (pem_len <= 0 || (size_t)pem_len >= sizeof(out->private_pem)) {
        snprintf(err, errlen, "private key of %ld bytes does not fit", pem_len);
        goto done;
    }
    memcpy(out->private_pem, pem, (size_t)pem_len);
    der_len = i2d_PUBKEY(pkey, &der);
    if (der_len <= 0) {
        dkim_keygen_fail("i2d_PUBKEY", err, errlen);
        goto done;
    }
    if ((size_t)(4 * ((der_len + 2) / 3)) >= sizeof(out->public_b64)) {
        snprintf(err, errlen, "public key of %d bytes does not fit", der_len);
        goto done;
    }
    EVP_EncodeBlock((unsigned char *)out->public_b64, der, der_len);
    rc = 0;
done:
    OPENSSL_free(der);
    BIO_free(bio);   /* OpenSSL clears a memory BIO's buffer as it frees it */
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    if (rc != 0)
        dkim_keygen_wipe(out);
    return rc;
}

void
dkim_keygen_wipe(dkim_keygen_t *key)
{
    OPENSSL_cleanse(key->private_pem, sizeof(key->private_pem));
}

void
dkim_keygen_selector(time_t now, char out[DKIM_KEYGEN_SELECTOR_MAX])
{
    struct tm tm;
    unsigned char r[2] = { 0, 0 };
    gmtime_r(&now, &tm);
    if (RAND_bytes(r, sizeof(r)) != 1) {
        /* no randomness: the time of day tells two keys of a month apart */
        r[0] = (unsigned char)tm.tm_hour;
        r[1] = (unsigned char)(tm.tm_min * 4 + tm.tm_sec / 15);
    }
    snprintf(out, DKIM_KEYGEN_SELECTOR_MAX, "pi%04d%02d-%02x%02x", tm.tm_year + 1900, tm.tm_mon + 1, r[0], r[1]);
}

void
dkim_keygen_txt(const char *algorithm, const char *public_b64, char *out, size_t outlen)
{
    snprintf(out, outlen, "v=DKIM1; k=%s; p=%s", strncmp(algorithm, "ed25519", 7) == 0 ? "ed25519" : "rsa",
             public_b64);
}
