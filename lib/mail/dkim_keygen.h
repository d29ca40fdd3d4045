/*
 * dkim_keygen.h -- a new DKIM key pair and the names and records that go
 * with it.
 *
 * Public: dkim_keygen_t, dkim_keygen_rsa, dkim_keygen_wipe,
 * dkim_keygen_selector, dkim_keygen_txt, DKIM_KEYGEN_BITS_DEFAULT,
 * DKIM_KEYGEN_PRIVATE_MAX, DKIM_KEYGEN_PUBLIC_MAX, DKIM_KEYGEN_TXT_MAX.
 *
 * OpenSSL EVP: an RSA key of 2048 bits (1024..4096), the private key as
 * PKCS#8 PEM (what libopendkim reads), the public key as base64 of its
 * SubjectPublicKeyInfo DER, which is the p= of the DNS record
 * (RFC 6376 3.6.1).  Thread-safe; logs nothing.
 */
#ifndef POSTINBOX_DKIM_KEYGEN_H
#define POSTINBOX_DKIM_KEYGEN_H

#include <stddef.h>
#include <time.h>

#define DKIM_KEYGEN_BITS_DEFAULT 2048
#define DKIM_KEYGEN_PRIVATE_MAX 4096   /* PEM of RSA 4096 is about 3.3 KB */
#define DKIM_KEYGEN_PUBLIC_MAX 1024    /* base64 SPKI of RSA 4096 is 736 bytes */
#define DKIM_KEYGEN_TXT_MAX (DKIM_KEYGEN_PUBLIC_MAX + 32)
#define DKIM_KEYGEN_SELECTOR_MAX 32

typedef struct {
    char algorithm[16];                        /* "rsa-sha256" */
    char private_pem[DKIM_KEYGEN_PRIVATE_MAX];
    char public_b64[DKIM_KEYGEN_PUBLIC_MAX];
} dkim_keygen_t;

/* A fresh RSA key of bits into out.  0, or -1 with err. */
int dkim_keygen_rsa(int bits, dkim_keygen_t *out, char *err, size_t errlen);
/* Wipes the private key from memory. */
void dkim_keygen_wipe(dkim_keygen_t *key);
/* A selector for a key made at now: "pi" YYYYMM "-" 4 random hex
 * digits (a second key the same month gets another name). */
void dkim_keygen_selector(time_t now, char out[DKIM_KEYGEN_SELECTOR_MAX]);
/* The TXT record's value: "v=DKIM1; k=rsa; p=...". */
void dkim_keygen_txt(const char *algorithm, const char *public_b64, char *out, size_t outlen);

#endif
