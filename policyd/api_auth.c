/*
 * api_auth.c -- the API key of a request.  See api_auth.h.
 */
#include "api_auth.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "apikey.h"

api_auth_result_t
api_auth_key(store_t *store, const char *x_api_key, const char *authorization, api_key_t *key, char *err,
             size_t errlen)
{
    const char *given = apikey_from_headers(x_api_key, authorization);
    char hash[APIKEY_HASH_SIZE];
    api_auth_result_t result;
    PGresult *res;

    memset(key, 0, sizeof(*key));
    if (given == NULL)
        return API_AUTH_MISSING;
    if (!apikey_well_formed(given))
        return API_AUTH_INVALID;
    apikey_hash(given, hash);
    const char *params[1] = { hash };
    res = store_exec(store,
                     "WITH k AS (SELECT id, account_id, inbox_id, hash, revoked_at FROM postinbox.api_key"
                     "            WHERE hash = $1),"
                     " touch AS (UPDATE postinbox.api_key a SET last_used_at = now() FROM k"
                     "            WHERE a.id = k.id AND k.revoked_at IS NULL"
                     "              AND (a.last_used_at IS NULL OR a.last_used_at < now() - interval '60 seconds'))"
                     " SELECT id, account_id, inbox_id, hash, revoked_at IS NOT NULL FROM k",
                     1, params, err, errlen);
    if (res == NULL)
        return API_AUTH_BACKEND;
    if (PQntuples(res) != 1 || strlen(PQgetvalue(res, 0, 3)) != APIKEY_HASH_SIZE - 1 ||
        CRYPTO_memcmp(PQgetvalue(res, 0, 3), hash, APIKEY_HASH_SIZE - 1) != 0) {
        PQclear(res);
        return API_AUTH_INVALID;
    }
    snprintf(key->id, sizeof(key->id), "%s", PQgetvalue(res, 0, 0));
    result = strcmp(PQgetvalue(res, 0, 4), "t") == 0 ? API_AUTH_REVOKED : API_AUTH_OK;
    if (result == API_AUTH_OK) {
        snprintf(key->account_id, sizeof(key->account_id), "%s", PQgetvalue(res, 0, 1));
        snprintf(key->inbox_id, sizeof(key->inbox_id), "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return result;
}
