/*
 * dkim_keys.c -- cached DKIM signing keys.  See dkim_keys.h.
 */
#include "dkim_keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "clock.h"

/* Domains kept at once; past it the oldest entry goes. */
#define DKIM_KEYS_MAX 4096

typedef struct dkim_keys_entry {
    struct dkim_keys_entry *next;
    int refs;                   /* the table's, and one per signer */
    long long loaded_ms;
    char domain[256];
    char selector[64];
    char *pem;                  /* the opened private key, wiped when the entry goes */
} dkim_keys_entry_t;

struct dkim_keys {
    pthread_mutex_t lock;
    store_t *store;
    long cache_ms;
    dkim_signer_lib_t *lib;
    dkim_keys_entry_t *entries; /* newest first */
    size_t count;
};

struct dkim_keys_signer {
    dkim_signer_t *signer;
    dkim_keys_t *keys;
    dkim_keys_entry_t *entry;
};

dkim_keys_t *
dkim_keys_new(store_t *store, long cache_ms, char *err, size_t errlen)
{
    dkim_keys_t *keys = calloc(1, sizeof(*keys));
    if (keys == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if ((keys->lib = dkim_signer_lib_new(err, errlen)) == NULL) {
        free(keys);
        return NULL;
    }
    pthread_mutex_init(&keys->lock, NULL);
    keys->store = store;
    keys->cache_ms = cache_ms;
    return keys;
}

static void
dkim_keys_entry_free(dkim_keys_entry_t *e)
{
    if (e->pem != NULL) {
        OPENSSL_cleanse(e->pem, strlen(e->pem));
        free(e->pem);
    }
    free(e);
}

/* Drops one reference (the lock held). */
static void
dkim_keys_entry_put(dkim_keys_entry_t *e)
{
    if (--e->refs == 0)
        dkim_keys_entry_free(e);
}

void
dkim_keys_free(dkim_keys_t *keys)
{
    if (keys == NULL)
        return;
    while (keys->entries != NULL) {
        dkim_keys_entry_t *e = keys->entries;
        keys->entries = e->next;
        dkim_keys_entry_put(e);
    }
    dkim_signer_lib_free(keys->lib);
    pthread_mutex_destroy(&keys->lock);
    free(keys);
}

/* Unlinks domain's entry, if any (the lock held). */
static void
dkim_keys_unlink(dkim_keys_t *keys, const char *domain)
{
    for (dkim_keys_entry_t **p = &keys->entries; *p != NULL; p = &(*p)->next) {
        if (strcmp((*p)->domain, domain) == 0) {
            dkim_keys_entry_t *e = *p;
            *p = e->next;
            keys->count--;
            dkim_keys_entry_put(e);
            return;
        }
    }
}

/* A counted reference to domain's entry while it is fresh, else NULL. */
static dkim_keys_entry_t *
dkim_keys_cached(dkim_keys_t *keys, const char *domain)
{
    dkim_keys_entry_t *found = NULL;
    long long now = clock_ms();
    pthread_mutex_lock(&keys->lock);
    for (dkim_keys_entry_t *e = keys->entries; e != NULL; e = e->next) {
        if (strcmp(e->domain, domain) == 0) {
            if (now - e->loaded_ms < keys->cache_ms) {
                found = e;
                found->refs++;
            }
            break;
        }
    }
    pthread_mutex_unlock(&keys->lock);
    return found;
}

/* Keeps e (one reference is the caller's, one the table's). */
static void
dkim_keys_keep(dkim_keys_t *keys, dkim_keys_entry_t *e)
{
    pthread_mutex_lock(&keys->lock);
    dkim_keys_unlink(keys, e->domain);
    if (keys->count >= DKIM_KEYS_MAX) {
        dkim_keys_entry_t **p = &keys->entries;
        while ((*p)->next != NULL)
            p = &(*p)->next;
        dkim_keys_unlink(keys, (*p)->domain);
    }
    e->refs++;
    e->next = keys->entries;
    keys->entries = e;
    keys->count++;
    pthread_mutex_unlock(&keys->lock);
}

/* Reads and opens domain's key: 0 with *out (one reference, the caller's),
 * 1 no active key, -1 failure. */
static int
dkim_keys_load(dkim_keys_t *keys, const secretbox_t *box, const char *box_error, const char *domain,
               dkim_keys_entry_t **out, char *err, size_t errlen)
{
    store_dkim_key_t row;
    dkim_keys_entry_t *e;
    char text[256];
    int rc;

    if (store_dkim_key(keys->store, domain, &row, text, sizeof(text)) != 0) {
        snprintf(err, errlen, "reading the DKIM key of %s: %s", domain, text);
        return -1;
    }
    if (!row.has_key) {
        snprintf(err, errlen, "%s domain %s has no active DKIM key (postinboxctl domain dkim rotate %s --activate)",
                 !row.domain_found ? "unknown" : row.verified ? "verified" : "unverified", domain, domain);
        return 1;
    }
    if (strcmp(row.algorithm, "rsa-sha256") != 0) {
        snprintf(err, errlen, "DKIM key %s of %s: algorithm %s is not supported", row.selector, domain,
                 row.algorithm);
        store_dkim_key_clear(&row);
        return -1;
    }
    if (box == NULL) {
        snprintf(err, errlen, "the DKIM key of %s cannot be opened: %s", domain,
                 box_error && *box_error ? box_error : "secret_key_file is not set");
        store_dkim_key_clear(&row);
        return -1;
    }
    if ((e = calloc(1, sizeof(*e))) == NULL || (e->pem = malloc(SECRETBOX_PLAIN_MAX + 1)) == NULL) {
        free(e);
        store_dkim_key_clear(&row);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = secretbox_open(box, row.sealed, row.id, e->pem, SECRETBOX_PLAIN_MAX + 1, text, sizeof(text));
    store_dkim_key_clear(&row);
    if (rc != 0) {
        if (rc > 0)
            snprintf(text, sizeof(text), "the stored value is not sealed");
        OPENSSL_cleanse(e->pem, SECRETBOX_PLAIN_MAX + 1);
        dkim_keys_entry_free(e);
        snprintf(err, errlen, "DKIM key %s of %s does not open: %s", row.selector, domain, text);
        return -1;
    }
    /* once per opened key, not per message (lib/mail/dkim_signer.h) */
    if (!dkim_signer_key_check(e->pem)) {
        OPENSSL_cleanse(e->pem, SECRETBOX_PLAIN_MAX + 1);
        dkim_keys_entry_free(e);
        snprintf(err, errlen, "DKIM key %s of %s: the private key is not a PEM private key OpenSSL reads",
                 row.selector, domain);
        return -1;
    }
    e->refs = 1;
    e->loaded_ms = clock_ms();
    snprintf(e->domain, sizeof(e->domain), "%s", domain);
    snprintf(e->selector, sizeof(e->selector), "%s", row.selector);
    *out = e;
    return 0;
}

int
dkim_keys_start(dkim_keys_t *keys, const secretbox_t *box, const char *box_error, const char *domain,
                const char *queue_id, dkim_keys_signer_t **out, char *err, size_t errlen)
{
    dkim_keys_entry_t *e = dkim_keys_cached(keys, domain);
    dkim_keys_signer_t *s;
    char text[256];
    int rc;

    *out = NULL;
    if (e == NULL) {
        if ((rc = dkim_keys_load(keys, box, box_error, domain, &e, err, errlen)) != 0)
            return rc;
        if (keys->cache_ms > 0)
            dkim_keys_keep(keys, e);
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    } else if ((s->signer = dkim_signer_new(keys->lib, queue_id, e->pem, domain, e->selector, text,
                                            sizeof(text))) == NULL) {
        snprintf(err, errlen, "DKIM key %s of %s: %s", e->selector, domain, text);
        free(s);
        rc = -1;
    } else {
        s->keys = keys;
        s->entry = e;
        *out = s;
        return 0;
    }
    pthread_mutex_lock(&keys->lock);
    dkim_keys_entry_put(e);
    pthread_mutex_unlock(&keys->lock);
    return rc;
}

dkim_signer_t *
dkim_keys_signer(dkim_keys_signer_t *s)
{
    return s->signer;
}

void
dkim_keys_signer_free(dkim_keys_signer_t *s)
{
    if (s == NULL)
        return;
    dkim_signer_free(s->signer);
    pthread_mutex_lock(&s->keys->lock);
    dkim_keys_entry_put(s->entry);
    pthread_mutex_unlock(&s->keys->lock);
    free(s);
}
