/*
 * admin_dkim.c -- DKIM keys of a domain.  See admin_dkim.h.
 */
#include "admin_dkim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkim_keygen.h"
#include "pgjson.h"

/* Domains the caller may act on: its own, or any for the operator; the
 * sandbox only where said (an inbox created there needs its key). */
#define ADMIN_DKIM_DOMAIN_SQL \
    "SELECT id FROM postinbox.domain WHERE name = lower($1)" \
    " AND ($2::uuid IS NULL OR account_id = $2::uuid OR ($3::boolean AND kind = 'sandbox'))"

#define ADMIN_DKIM_KEY_COLUMNS \
    "k.selector, k.algorithm, k.state, k.selector || '._domainkey.' || d.name, k.public_key, " \
    PGJSON_ISO("k.created_at") ", " PGJSON_ISO("k.activated_at") ", " PGJSON_ISO("k.retire_after")

/* The domain's id into id: ADMIN_OK, or not found. */
static admin_status_t
admin_dkim_domain(admin_t *a, const char *domain, int sandbox_ok, char id[40], admin_error_t *err)
{
    const char *params[3] = { domain, a->account_id, sandbox_ok ? "true" : "false" };
    PGresult *res = admin_exec(a, ADMIN_DKIM_DOMAIN_SQL, 3, params, 0, err);
    admin_status_t status = ADMIN_OK;
    if (res == NULL)
        return ADMIN_BACKEND;
    if (PQntuples(res) != 1)
        status = admin_fail(err, ADMIN_NOT_FOUND, "not_found", "domain", "no domain %s", domain);
    else
        snprintf(id, 40, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return status;
}

/* One key row as the JSON object of show (columns of ADMIN_DKIM_KEY_COLUMNS). */
static json_t *
admin_dkim_key_json(const PGresult *res, int row)
{
    static const pgjson_field_t fields[] = {
        { "selector", 't' }, { "algorithm", 't' }, { "state", 't' }, { "name", 't' },
    };
    static const pgjson_field_t times[] = {
        { "created_at", 't' }, { "activated_at", 't' }, { "retire_after", 't' },
    };
    char txt[DKIM_KEYGEN_TXT_MAX];
    json_t *obj = json_object();
    int col = PGJSON_FIELDS(obj, res, row, 0, fields);

    dkim_keygen_txt(PQgetvalue(res, row, 1), PQgetvalue(res, row, col), txt, sizeof(txt));
    json_object_set_new(obj, "type", json_string("TXT"));
    json_object_set_new(obj, "value", json_string(txt));
    PGJSON_FIELDS(obj, res, row, col + 1, times);
    return obj;
}

/* A fresh key pair for domain_id in state ("active" or "pending"),
 * sealed for its new row; only_first: written only if the domain has no
 * key yet (ADMIN_OK either way).  The new selector into selector. */
static admin_status_t
admin_dkim_insert(admin_t *a, const char *domain_id, int bits, const char *state, int only_first,
                  char selector[DKIM_KEYGEN_SELECTOR_MAX], admin_error_t *err)
{
    char id[40], text[256], *sealed = NULL;
    dkim_keygen_t *key = NULL;
    admin_status_t status = ADMIN_BACKEND;
    PGresult *res;

    if (a->secrets == NULL)
        return admin_fail(err, ADMIN_BACKEND, "secret_key_missing", "secret_key_file",
                          "DKIM private keys are stored encrypted and the key cannot be used (%s); "
                          "see \"DKIM\" in the README",
                          a->secrets_error ? a->secrets_error : "secret_key_file is not set");
    if ((res = admin_exec(a, "SELECT gen_random_uuid()", 0, NULL, 0, err)) == NULL)
        return ADMIN_BACKEND;
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if ((key = malloc(sizeof(*key))) == NULL || (sealed = malloc(SECRETBOX_SEALED_MAX)) == NULL) {
        status = admin_fail(err, ADMIN_BACKEND, "internal", "memory", "out of memory");
        goto done;
    }
    if (dkim_keygen_rsa(bits, key, text, sizeof(text)) != 0) {
        status = admin_fail(err, ADMIN_BACKEND, "internal", "keygen", "%s", text);
        goto done;
    }
    if (secretbox_seal(a->secrets, key->private_pem, id, sealed, SECRETBOX_SEALED_MAX, text, sizeof(text)) != 0) {
        status = admin_fail(err, ADMIN_BACKEND, "internal", "seal", "%s", text);
        goto done;
    }
    dkim_keygen_selector(time(NULL), selector);
    const char *params[8] = { id, domain_id, selector, key->algorithm, key->public_b64, sealed, state,
                              only_first ? "true" : "false" };
    res = admin_exec(a,
                     "INSERT INTO postinbox.dkim_key (id, domain_id, selector, algorithm, public_key, private_key,"
                     "   state, activated_at)"
                     " SELECT $1::uuid, $2::uuid, $3, $4, $5, $6, $7, CASE WHEN $7 = 'active' THEN now() END"
                     " WHERE NOT $8::boolean"
                     "    OR NOT EXISTS (SELECT 1 FROM postinbox.dkim_key WHERE domain_id = $2::uuid)"
                     " ON CONFLICT DO NOTHING RETURNING id",
                     8, params, 1, err);
    if (res == NULL)
        goto done;
    status = ADMIN_OK;
    if (PQntuples(res) != 1 && !only_first)
        status = admin_fail(err, ADMIN_CONFLICT, "conflict", "selector", "selector %s is taken, try again",
                            selector);
    PQclear(res);
done:
    if (key != NULL)
        dkim_keygen_wipe(key);
    free(key);
    free(sealed);
    return status;
}

admin_status_t
admin_dkim_ensure(admin_t *a, const char *domain, int bits, admin_error_t *err)
{
    char domain_id[40], selector[DKIM_KEYGEN_SELECTOR_MAX];
    admin_status_t status = admin_dkim_domain(a, domain, 1, domain_id, err);
    PGresult *res;
    int has;

    if (status != ADMIN_OK)
        return status;
    const char *params[1] = { domain_id };
    res = admin_exec(a, "SELECT EXISTS (SELECT 1 FROM postinbox.dkim_key WHERE domain_id = $1::uuid)", 1, params, 0,
                     err);
    if (res == NULL)
        return ADMIN_BACKEND;
    has = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return has ? ADMIN_OK : admin_dkim_insert(a, domain_id, bits, "active", 1, selector, err);
}

admin_status_t
admin_dkim_ensure_all(admin_t *a, int bits, int *made, admin_error_t *err)
{
    admin_status_t status = ADMIN_OK;
    PGresult *res = admin_exec(a,
                               "SELECT d.name FROM postinbox.domain d WHERE NOT EXISTS"
                               " (SELECT 1 FROM postinbox.dkim_key k WHERE k.domain_id = d.id) ORDER BY d.name",
                               0, NULL, 0, err);
    *made = 0;
    if (res == NULL)
        return ADMIN_BACKEND;
    for (int r = 0; r < PQntuples(res) && status == ADMIN_OK; r++)
        if ((status = admin_dkim_ensure(a, PQgetvalue(res, r, 0), bits, err)) == ADMIN_OK)
            (*made)++;
    PQclear(res);
    return status;
}

/* The keys of domain_id (selector NULL: all, newest first) as a list. */
static admin_status_t
admin_dkim_keys(admin_t *a, const char *domain, const char *domain_id, const char *selector, json_t **out,
                admin_error_t *err)
{
    const char *params[2] = { domain_id, selector };
    PGresult *res = admin_exec(a,
                               "SELECT " ADMIN_DKIM_KEY_COLUMNS " FROM postinbox.dkim_key k"
                               " JOIN postinbox.domain d ON d.id = k.domain_id"
                               " WHERE k.domain_id = $1::uuid AND ($2::text IS NULL OR k.selector = $2)"
                               " ORDER BY k.created_at DESC, k.selector",
                               2, params, 0, err);
    json_t *keys;
    if (res == NULL)
        return ADMIN_BACKEND;
    keys = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(keys, admin_dkim_key_json(res, r));
    PQclear(res);
    *out = json_pack("{s:s, s:o}", "domain", domain, "keys", keys);
    return ADMIN_OK;
}

admin_status_t
admin_dkim_show(admin_t *a, const char *domain, json_t **out, admin_error_t *err)
{
    char domain_id[40];
    admin_status_t status = admin_dkim_domain(a, domain, 0, domain_id, err);
    *out = NULL;
    if (status != ADMIN_OK)
        return status;
    return admin_dkim_keys(a, domain, domain_id, NULL, out, err);
}

/* Activates selector of domain_id; ADMIN_NOT_FOUND when it has no such key. */
static admin_status_t
admin_dkim_switch(admin_t *a, const char *domain_id, const char *selector, long keep_ms, admin_error_t *err)
{
    char keep[32];
    PGresult *res;
    snprintf(keep, sizeof(keep), "%ld milliseconds", keep_ms);
    const char *params[3] = { domain_id, selector, keep };
    res = admin_exec(a, "SELECT postinbox.dkim_key_activate($1::uuid, $2, $3::interval)", 3, params, 0, err);
    if (res == NULL)
        return strstr(err->message, "no DKIM key") != NULL
                   ? admin_fail(err, ADMIN_NOT_FOUND, "not_found", "selector", "no DKIM key %s", selector)
                   : ADMIN_BACKEND;
    PQclear(res);
    return ADMIN_OK;
}

admin_status_t
admin_dkim_rotate(admin_t *a, const char *domain, int bits, int activate, long keep_ms, json_t **out,
                  admin_error_t *err)
{
    char domain_id[40], selector[DKIM_KEYGEN_SELECTOR_MAX];
    admin_status_t status = admin_dkim_domain(a, domain, 0, domain_id, err);
    *out = NULL;
    if (status == ADMIN_OK)
        status = admin_dkim_insert(a, domain_id, bits, "pending", 0, selector, err);
    if (status == ADMIN_OK && activate)
        status = admin_dkim_switch(a, domain_id, selector, keep_ms, err);
    if (status != ADMIN_OK)
        return status;
    return admin_dkim_keys(a, domain, domain_id, NULL, out, err);
}

admin_status_t
admin_dkim_activate(admin_t *a, const char *domain, const char *selector, long keep_ms, json_t **out,
                    admin_error_t *err)
{
    char domain_id[40], newest[64];
    admin_status_t status = admin_dkim_domain(a, domain, 0, domain_id, err);
    PGresult *res;

    *out = NULL;
    if (status != ADMIN_OK)
        return status;
    if (selector == NULL) {
        const char *params[1] = { domain_id };
        res = admin_exec(a,
                         "SELECT selector FROM postinbox.dkim_key WHERE domain_id = $1::uuid AND state = 'pending'"
                         " ORDER BY created_at DESC LIMIT 1",
                         1, params, 0, err);
        if (res == NULL)
            return ADMIN_BACKEND;
        if (PQntuples(res) != 1) {
            PQclear(res);
            return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "selector", "domain %s has no pending DKIM key",
                              domain);
        }
        snprintf(newest, sizeof(newest), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        selector = newest;
    }
    if ((status = admin_dkim_switch(a, domain_id, selector, keep_ms, err)) != ADMIN_OK)
        return status;
    return admin_dkim_keys(a, domain, domain_id, NULL, out, err);
}
