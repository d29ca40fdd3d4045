/*
 * api_auth.h -- who is asking: the API key of a request.
 *
 * Public: api_auth_key, api_key_t, api_auth_result_t.
 * The key comes as "x-api-key: KEY" or "Authorization: Bearer KEY".  A
 * string that cannot be a key is refused without a query; otherwise its
 * SHA-256 is looked up (the hash, never the key, reaches the database
 * and the log), and compared again in constant time.  last_used_at is
 * written at most once a minute per key, in the same statement.
 * Knows nothing of HTTP answers: policyd/api.c turns the result into
 * 401 (no key, unknown, revoked alike) or 503.  Logs nothing.
 */
#ifndef POSTINBOX_POLICYD_API_AUTH_H
#define POSTINBOX_POLICYD_API_AUTH_H

#include <stddef.h>

#include "store.h"

typedef enum {
    API_AUTH_OK,
    API_AUTH_MISSING,   /* no key in the request */
    API_AUTH_INVALID,   /* not a key, or no such key */
    API_AUTH_REVOKED,   /* the key's id is filled */
    API_AUTH_BACKEND,   /* err says why */
} api_auth_result_t;

typedef struct {
    char id[40];
    char account_id[40];
    char inbox_id[40];      /* "" for an account key */
} api_key_t;

/* The key of the two headers (each NULL when absent), looked up in store. */
api_auth_result_t api_auth_key(store_t *store, const char *x_api_key, const char *authorization, api_key_t *key,
                               char *err, size_t errlen);

#endif
