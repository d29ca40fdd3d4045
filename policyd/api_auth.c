/*
 * api_auth.c -- who is asking: the API key of a request.
 *
 * Public: api_auth (see api.h).
 * The key comes as "x-api-key: KEY" or "Authorization: Bearer KEY".  A
 * string that cannot be a key is refused without a query; otherwise its
 * SHA-256 is looked up (the hash, never the key, reaches the database
 * and the log), and compared again in constant time.  last_used_at is
 * written at most once a minute per key, in the same statement.
 * Answers 401 for no key, an unknown key and a revoked key alike (the
 * message says which, the code is the same).
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "apikey.h"

int
api_auth(api_call_t *c)
{
    const char *key = apikey_from_headers(httpd_header(c->req, "x-api-key"), httpd_header(c->req, "Authorization"));
    char hash[APIKEY_HASH_SIZE];
    PGresult *res;

    if (key == NULL) {
        api_error(c, 401, "unauthorized", "an API key is required (x-api-key or Authorization: Bearer)");
        return -1;
    }
    if (!apikey_well_formed(key)) {
        api_error(c, 401, "unauthorized", "invalid API key");
        return -1;
    }
    apikey_hash(key, hash);
    const char *params[1] = { hash };
    res = api_query(c,
                    "WITH k AS (SELECT id, account_id, inbox_id, hash, revoked_at FROM postinbox.api_key"
                    "            WHERE hash = $1),"
                    " touch AS (UPDATE postinbox.api_key a SET last_used_at = now() FROM k"
                    "            WHERE a.id = k.id AND k.revoked_at IS NULL"
                    "              AND (a.last_used_at IS NULL OR a.last_used_at < now() - interval '60 seconds'))"
                    " SELECT id, account_id, inbox_id, hash, revoked_at IS NOT NULL FROM k",
                    1, params);
    if (res == NULL)
        return -1;
    if (PQntuples(res) != 1 || strlen(PQgetvalue(res, 0, 3)) != APIKEY_HASH_SIZE - 1 ||
        CRYPTO_memcmp(PQgetvalue(res, 0, 3), hash, APIKEY_HASH_SIZE - 1) != 0) {
        PQclear(res);
        api_error(c, 401, "unauthorized", "invalid API key");
        return -1;
    }
    if (strcmp(PQgetvalue(res, 0, 4), "t") == 0) {
        snprintf(c->key_id, sizeof(c->key_id), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        api_error(c, 401, "unauthorized", "this API key was revoked");
        return -1;
    }
    snprintf(c->key_id, sizeof(c->key_id), "%s", PQgetvalue(res, 0, 0));
    snprintf(c->account_id, sizeof(c->account_id), "%s", PQgetvalue(res, 0, 1));
    snprintf(c->key_inbox_id, sizeof(c->key_inbox_id), "%s", PQgetvalue(res, 0, 2));
    snprintf(c->actor, sizeof(c->actor), "api:%s", c->key_id);
    PQclear(res);
    return 0;
}
