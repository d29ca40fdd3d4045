/*
 * dkim_keys.h -- the milter's DKIM signing keys: read from PostgreSQL
 * per domain, opened with the secret_key_file, kept a while.
 *
 * Public: dkim_keys_t, dkim_keys_signer_t, dkim_keys_new, dkim_keys_free,
 * dkim_keys_start, dkim_keys_signer, dkim_keys_signer_free.
 *
 * A domain's active key (store_dkim_key) is opened by lib/net/secretbox
 * with the key row's id as context and kept, opened, for cache_ms
 * (dkim_key_cache); a key that is missing is never kept, so a new key
 * signs at once.  Each runtime has its own cache, so a reload (a new
 * runtime) starts empty.  Entries are counted references: a message
 * being signed keeps its key even when the entry is replaced meanwhile.
 * Private keys are wiped when their entry goes; none is ever in an error
 * text.  Thread-safe (one mutex around the table, never held over a
 * backend call).  Logs nothing.
 */
#ifndef POSTINBOX_DKIM_KEYS_H
#define POSTINBOX_DKIM_KEYS_H

#include <stddef.h>

#include "dkim_signer.h"
#include "secretbox.h"
#include "store.h"

typedef struct dkim_keys dkim_keys_t;
typedef struct dkim_keys_signer dkim_keys_signer_t;

/* NULL with err. */
dkim_keys_t *dkim_keys_new(store_t *store, long cache_ms, char *err, size_t errlen);
void dkim_keys_free(dkim_keys_t *keys);

/* A signer with domain's active key (box opens it; NULL: box_error says
 * why there is none) for the message queue_id.  0 with *out, 1 when the
 * domain has no active key, -1 on any other failure; err says why. */
int dkim_keys_start(dkim_keys_t *keys, const secretbox_t *box, const char *box_error, const char *domain,
                    const char *queue_id, dkim_keys_signer_t **out, char *err, size_t errlen);
/* The signer to feed (lib/mail/dkim_signer). */
dkim_signer_t *dkim_keys_signer(dkim_keys_signer_t *s);
void dkim_keys_signer_free(dkim_keys_signer_t *s);

#endif
