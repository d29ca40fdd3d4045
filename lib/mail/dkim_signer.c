/*
 * dkim_signer.c -- a DKIM signature over libopendkim.  See dkim_signer.h.
 */
#include "dkim_signer.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <dkim.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* RFC 6376 5.4.1's list, then the fields that say what the body is. */
const char *const dkim_signer_signed_headers[] = {
    "From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date", "Resent-From", "Resent-To", "Resent-Cc",
    "In-Reply-To", "References", "List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
    "List-Subscribe", "List-Post",
    "List-Owner", "List-Archive", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    NULL
};
static const char *const dkim_signer_oversigned[] = { "From", NULL };

struct dkim_signer_lib {
    DKIM_LIB *lib;
};

struct dkim_signer {
    DKIM *dkim;
    int in_body;        /* dkim_eoh done */
    int failed;
};

dkim_signer_lib_t *
dkim_signer_lib_new(char *err, size_t errlen)
{
    dkim_signer_lib_t *l = calloc(1, sizeof(*l));
    unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;

    if (l == NULL || (l->lib = dkim_init(NULL, NULL)) == NULL) {
        snprintf(err, errlen, "dkim_init failed");
        free(l);
        return NULL;
    }
    if (dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) != DKIM_STAT_OK ||
        dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, (void *)dkim_signer_signed_headers,
                     sizeof(char **)) != DKIM_STAT_OK ||
        dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, (void *)dkim_signer_oversigned,
                     sizeof(char **)) != DKIM_STAT_OK) {
        snprintf(err, errlen, "dkim_options failed");
        dkim_signer_lib_free(l);
        return NULL;
    }
    return l;
}

void
dkim_signer_lib_free(dkim_signer_lib_t *l)
{
    if (l == NULL)
        return;
    if (l->lib)
        dkim_close(l->lib);
    free(l);
}

static int
dkim_signer_fail(dkim_signer_t *s, const char *call, DKIM_STAT st, char *err, size_t errlen)
{
    const char *detail = s->dkim ? dkim_geterror(s->dkim) : NULL;
    s->failed = 1;
    snprintf(err, errlen, "%s: %s%s%s", call, dkim_getresultstr(st), detail && *detail ? ": " : "",
             detail ? detail : "");
    return -1;
}

int
dkim_signer_key_check(const char *private_key)
{
    BIO *bio = BIO_new_mem_buf(private_key, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    int ok = key != NULL;
    EVP_PKEY_free(key);
    BIO_free(bio);
    return ok;
}

dkim_signer_t *
dkim_signer_new(dkim_signer_lib_t *l, const char *id, const char *private_key, const char *domain,
                const char *selector, char *err, size_t errlen)
{
    dkim_signer_t *s = calloc(1, sizeof(*s));
    DKIM_STAT st = DKIM_STAT_OK;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->dkim = dkim_sign(l->lib, (const unsigned char *)(id && *id ? id : "NOQUEUE"), NULL,
                        (dkim_sigkey_t)private_key, (const unsigned char *)selector, (const unsigned char *)domain,
                        DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
    if (s->dkim == NULL) {
        snprintf(err, errlen, "dkim_sign: %s", dkim_getresultstr(st));
        free(s);
        return NULL;
    }
    return s;
}

int
dkim_signer_header(dkim_signer_t *s, const char *name, const char *value, char *err, size_t errlen)
{
    size_t nlen = strlen(name), vlen = strlen(value), n = 0;
    /* name ':' ' ' and the value with each bare LF made CRLF */
    unsigned char *field;
    DKIM_STAT st;

    if (s->failed || s->in_body) {
        snprintf(err, errlen, "dkim_header: %s", s->failed ? "signer already failed" : "after the body");
        return -1;
    }
    if ((field = malloc(nlen + 2 + 2 * vlen + 1)) == NULL) {
        s->failed = 1;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(field, name, nlen);
    n = nlen;
    field[n++] = ':';
    if (value[0] != ' ' && value[0] != '\t')
        field[n++] = ' ';
    for (size_t i = 0; i < vlen; i++) {
        if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
            field[n++] = '\r';
        field[n++] = (unsigned char)value[i];
    }
    st = dkim_header(s->dkim, field, n);
    free(field);
    if (st != DKIM_STAT_OK)
        return dkim_signer_fail(s, "dkim_header", st, err, errlen);
    return 0;
}

static int
dkim_signer_end_headers(dkim_signer_t *s, char *err, size_t errlen)
{
    DKIM_STAT st;
    if (s->in_body)
        return 0;
    s->in_body = 1;
    st = dkim_eoh(s->dkim);
    if (st != DKIM_STAT_OK)
        return dkim_signer_fail(s, "dkim_eoh", st, err, errlen);
    return 0;
}

int
dkim_signer_body(dkim_signer_t *s, const unsigned char *chunk, size_t len, char *err, size_t errlen)
{
    DKIM_STAT st;
    if (s->failed) {
        snprintf(err, errlen, "dkim_body: signer already failed");
        return -1;
    }
    if (dkim_signer_end_headers(s, err, errlen) != 0)
        return -1;
    if (len == 0)
        return 0;
    st = dkim_body(s->dkim, (unsigned char *)chunk, len);
    if (st != DKIM_STAT_OK)
        return dkim_signer_fail(s, "dkim_body", st, err, errlen);
    return 0;
}

int
dkim_signer_finish(dkim_signer_t *s, char *out, size_t outlen, char *err, size_t errlen)
{
    unsigned char buf[DKIM_SIGNER_HEADER_MAX];
    size_t n = 0;
    DKIM_STAT st;

    if (s->failed) {
        snprintf(err, errlen, "dkim_eom: signer already failed");
        return -1;
    }
    if (dkim_signer_end_headers(s, err, errlen) != 0)
        return -1;
    if ((st = dkim_eom(s->dkim, NULL)) != DKIM_STAT_OK)
        return dkim_signer_fail(s, "dkim_eom", st, err, errlen);
    /* The first line holds "DKIM-Signature: " (16 columns). */
    if ((st = dkim_getsighdr(s->dkim, buf, sizeof(buf), 16)) != DKIM_STAT_OK)
        return dkim_signer_fail(s, "dkim_getsighdr", st, err, errlen);
    /* libmilter wants LF line ends inside a value: the MTA writes CRLF. */
    for (size_t i = 0; buf[i] != '\0'; i++) {
        if (buf[i] == '\r')
            continue;
        if (n + 1 >= outlen) {
            snprintf(err, errlen, "no room for the DKIM-Signature");
            return -1;
        }
        out[n++] = (char)buf[i];
    }
    out[n] = '\0';
    return 0;
}

void
dkim_signer_free(dkim_signer_t *s)
{
    if (s == NULL)
        return;
    if (s->dkim)
        dkim_free(s->dkim);
    free(s);
}
