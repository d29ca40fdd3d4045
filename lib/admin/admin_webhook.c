/*
 * admin_webhook.c -- webhook endpoint use-cases.  See admin_webhook.h.
 *
 * The statements name an endpoint as $1 acting account, $2 inbox (NULL:
 * any of the account's), $3 endpoint.
 */
#include "admin_webhook.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"
#include "secretbox.h"
#include "webhook_input.h"

#define ENDPOINT_ONE                                                                                    \
    " WHERE e.id = $3::uuid AND ($2::uuid IS NULL OR e.inbox_id = $2::uuid)"                           \
    " AND ($1::uuid IS NULL OR e.account_id = $1::uuid)"

/* err for an endpoint that is not there. */
static admin_status_t
admin_webhook_missing(const char *inbox_id, const char *id, admin_error_t *err)
{
    if (inbox_id != NULL)
        return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "endpoint", "no webhook %s in inbox %s", id, inbox_id);
    return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "endpoint", "no webhook endpoint %s", id);
}

/* A new secret and its sealed form, bound to endpoint id.  ADMIN_OK, or
 * an error (no key configured: ADMIN_BACKEND secret_key_missing). */
static admin_status_t
admin_webhook_new_secret(admin_t *a, const char *id, char secret[WEBHOOK_SECRET_SIZE],
                         char sealed[SECRETBOX_SEALED_MAX], admin_error_t *err)
{
    char text[256];
    if (a->secrets == NULL)
        return admin_fail(err, ADMIN_BACKEND, "secret_key_missing", "secret_key_file",
                          "webhook signing secrets are stored encrypted and the key cannot be used (%s); "
                          "see \"Webhook secrets\" in the README",
                          a->secrets_error ? a->secrets_error : "secret_key_file is not set");
    if (webhook_input_new_secret(secret, text, sizeof(text)) != 0)
        return admin_fail(err, ADMIN_BACKEND, "internal", "random", "%s", text);
    if (secretbox_seal(a->secrets, secret, id, sealed, SECRETBOX_SEALED_MAX, text, sizeof(text)) != 0) {
        OPENSSL_cleanse(secret, WEBHOOK_SECRET_SIZE);
        return admin_fail(err, ADMIN_BACKEND, "internal", "seal", "%s", text);
    }
    return ADMIN_OK;
}

/* A random (version 4) uuid for a new endpoint, so that its secret can be
 * sealed for it before the row exists.  0, or -1. */
static int
admin_webhook_new_id(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

/* The statement of add: $1 the inbox or account, $2 acting account, $3
 * url, $4 sealed secret, $5 event types, $6 actor, $7 the new id.  SOURCE
 * yields (account, inbox). */
#define ENDPOINT_INSERT(SOURCE)                                                                         \
    "WITH ep AS ("                                                                                      \
    "   INSERT INTO postinbox.webhook_endpoint (account_id, inbox_id, url, secret, event_types, id)"    \
    "   " SOURCE                                                                                        \
    "   RETURNING id, url, event_types, enabled, inbox_id, account_id, created_at),"                    \
    " aud AS ("                                                                                         \
    "   INSERT INTO postinbox.audit (inbox_id, actor, action, new_value)"                               \
    "   SELECT inbox_id, $6::text, 'webhook.add', jsonb_build_object('endpointId', id, 'url', url,"     \
    "          'events', event_types, 'accountId', account_id)::text FROM ep)"                          \
    " SELECT id, url, to_json(event_types)::text, enabled, inbox_id, account_id, " PGJSON_ISO("created_at") \
    " FROM ep"

admin_status_t
admin_webhook_add(admin_t *a, const admin_webhook_new_t *in, json_t **out, admin_error_t *err)
{
    char secret[WEBHOOK_SECRET_SIZE], sealed[SECRETBOX_SEALED_MAX], id[37];
    admin_status_t status;
    PGresult *res;

    *out = NULL;
    if (admin_webhook_new_id(id) != 0)
        return admin_fail(err, ADMIN_BACKEND, "internal", "random", "RAND_bytes failed");
    if ((status = admin_webhook_new_secret(a, id, secret, sealed, err)) != ADMIN_OK)
        return status;
    const char *params[7] = { in->inbox_id ? in->inbox_id : in->account_id, a->account_id, in->url, sealed,
                              in->events, a->actor, id };
    if (in->inbox_id != NULL)
        res = admin_exec(a,
                         ENDPOINT_INSERT("SELECT i.account_id, i.id, $3, $4, $5::text[], $7::uuid FROM postinbox.inbox i"
                                         " WHERE i.id = $1::uuid AND ($2::uuid IS NULL OR i.account_id = $2::uuid)"),
                         7, params, 1, err);
    else
        res = admin_exec(a,
                         ENDPOINT_INSERT("SELECT a.id, NULL::uuid, $3, $4, $5::text[], $7::uuid FROM postinbox.account a"
                                         " WHERE a.id = $1::uuid AND ($2::uuid IS NULL OR a.id = $2::uuid)"),
                         7, params, 1, err);
    if (res == NULL) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return ADMIN_BACKEND;
    }
    if (PQntuples(res) != 1) {
        OPENSSL_cleanse(secret, sizeof(secret));
        PQclear(res);
        if (in->inbox_id != NULL)
            return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "inbox", "no inbox %s", in->inbox_id);
        return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "account", "no account %s", in->account_id);
    }
    *out = json_object();
    json_object_set_new(*out, "id", pgjson_text(res, 0, 0));
    json_object_set_new(*out, "url", pgjson_text(res, 0, 1));
    json_object_set_new(*out, "secret", json_string(secret));
    json_object_set_new(*out, "events", pgjson_parsed(res, 0, 2));
    json_object_set_new(*out, "enabled", pgjson_bool(res, 0, 3));
    json_object_set_new(*out, "inboxId", pgjson_text(res, 0, 4));
    json_object_set_new(*out, "accountId", pgjson_text(res, 0, 5));
    json_object_set_new(*out, "createdAt", pgjson_text(res, 0, 6));
    OPENSSL_cleanse(secret, sizeof(secret));
    PQclear(res);
    return ADMIN_OK;
}

admin_status_t
admin_webhook_show(admin_t *a, const char *inbox_id, const char *id, json_t **out, admin_error_t *err)
{
    const char *params[3] = { a->account_id, inbox_id, id };
    PGresult *res = admin_exec(a, RECORDS_ENDPOINT_COLUMNS ", " RECORDS_ENDPOINT_COUNTS RECORDS_ENDPOINT_FROM ENDPOINT_ONE,
                               3, params, 0, err);

    *out = NULL;
    if (res == NULL)
        return ADMIN_BACKEND;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return admin_webhook_missing(inbox_id, id, err);
    }
    *out = records_endpoint_json(res, 0);
    json_object_set_new(*out, "deliveries", pgjson_parsed(res, 0, 12));
    PQclear(res);
    return ADMIN_OK;
}

/* After a statement answering (endpoints found, endpoints changed). */
static admin_status_t
admin_webhook_touched(PGresult *res, const char *inbox_id, const char *id, int *changed, admin_error_t *err)
{
    int found;
    if (res == NULL)
        return ADMIN_BACKEND;
    found = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    if (changed != NULL)
        *changed = strcmp(PQgetvalue(res, 0, 1), "0") != 0;
    PQclear(res);
    return found ? ADMIN_OK : admin_webhook_missing(inbox_id, id, err);
}

admin_status_t
admin_webhook_update(admin_t *a, const char *inbox_id, const char *id, const admin_webhook_change_t *change,
                     admin_error_t *err)
{
    const char *enabled = change->enabled < 0 ? NULL : change->enabled ? "true" : "false";
    const char *params[7] = { a->account_id, inbox_id, id, change->url, change->events, enabled, a->actor };
    PGresult *res = admin_exec(
        a,
        "WITH target AS ("
        "   SELECT e.id, e.url, e.event_types, e.enabled FROM postinbox.webhook_endpoint e" ENDPOINT_ONE
        "    FOR UPDATE),"
        " upd AS ("
        "   UPDATE postinbox.webhook_endpoint e SET url = coalesce($4, e.url),"
        "          event_types = coalesce($5::text[], e.event_types),"
        "          enabled = coalesce($6::boolean, e.enabled),"
        "          disabled_reason = CASE WHEN coalesce($6::boolean, e.enabled) THEN NULL"
        "               WHEN e.enabled THEN 'disabled by ' || $7::text ELSE e.disabled_reason END,"
        "          failing_since = CASE WHEN $6::boolean THEN NULL ELSE e.failing_since END,"
        "          updated_at = now()"
        "     FROM target t WHERE e.id = t.id"
        "   RETURNING e.id, e.inbox_id, e.url, e.event_types, e.enabled, t.url AS old_url,"
        "             t.event_types AS old_events, t.enabled AS old_enabled),"
        " aud AS ("
        "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, new_value)"
        "   SELECT inbox_id, $7::text, 'webhook.update',"
        "          jsonb_build_object('endpointId', id, 'url', old_url, 'events', old_events,"
        "                             'enabled', old_enabled)::text,"
        "          jsonb_build_object('endpointId', id, 'url', url, 'events', event_types,"
        "                             'enabled', enabled)::text FROM upd)"
        " SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM upd)",
        7, params, 0, err);
    return admin_webhook_touched(res, inbox_id, id, NULL, err);
}

admin_status_t
admin_webhook_enable(admin_t *a, const char *inbox_id, const char *id, int enable, const char *reason, int *changed,
                     admin_error_t *err)
{
    const char *params[6] = { a->account_id, inbox_id, id, enable ? "true" : "false", reason, a->actor };
    PGresult *res = admin_exec(
        a,
        "WITH target AS ("
        "   SELECT e.id, e.enabled, e.disabled_reason FROM postinbox.webhook_endpoint e" ENDPOINT_ONE
        "    FOR UPDATE),"
        " upd AS ("
        "   UPDATE postinbox.webhook_endpoint e SET enabled = $4::boolean,"
        "          disabled_reason = CASE WHEN $4::boolean THEN NULL"
        "                                 ELSE coalesce($5::text, 'disabled by ' || $6::text) END,"
        "          failing_since = CASE WHEN $4::boolean THEN NULL ELSE e.failing_since END,"
        "          updated_at = now()"
        "     FROM target t WHERE e.id = t.id AND t.enabled <> $4::boolean"
        "   RETURNING e.id, e.inbox_id, e.enabled, e.disabled_reason, t.disabled_reason AS old_reason),"
        " aud AS ("
        "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, new_value, reason)"
        "   SELECT inbox_id, $6::text, CASE WHEN enabled THEN 'webhook.enable' ELSE 'webhook.disable' END,"
        "          jsonb_build_object('endpointId', id, 'enabled', NOT enabled,"
        "                             'disabledReason', old_reason)::text,"
        "          jsonb_build_object('endpointId', id, 'enabled', enabled,"
        "                             'disabledReason', disabled_reason)::text, $5::text FROM upd)"
        " SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM upd)",
        6, params, 0, err);
    return admin_webhook_touched(res, inbox_id, id, changed, err);
}

admin_status_t
admin_webhook_rotate(admin_t *a, const char *inbox_id, const char *id, long grace_ms, json_t **out,
                     admin_error_t *err)
{
    char secret[WEBHOOK_SECRET_SIZE], sealed[SECRETBOX_SEALED_MAX], grace[24];
    admin_status_t status;
    PGresult *res;

    *out = NULL;
    /* sealed for the id given: a row with another id is not updated */
    if ((status = admin_webhook_new_secret(a, id, secret, sealed, err)) != ADMIN_OK)
        return status;
    snprintf(grace, sizeof(grace), "%ld", grace_ms);
    const char *params[6] = { a->account_id, inbox_id, id, sealed, grace, a->actor };
    /* With a grace of 0 the old secret stops working at once. */
    res = admin_exec(a,
                     "WITH upd AS ("
                     "   UPDATE postinbox.webhook_endpoint e SET"
                     "          previous_secret = CASE WHEN $5::bigint > 0 THEN secret END,"
                     "          previous_secret_expires_at = CASE WHEN $5::bigint > 0"
                     "               THEN now() + $5::bigint * interval '1 millisecond' END,"
                     "          secret = $4::text, updated_at = now()" ENDPOINT_ONE
                     "   RETURNING id, inbox_id, previous_secret_expires_at),"
                     " aud AS ("
                     "   INSERT INTO postinbox.audit (inbox_id, actor, action, new_value)"
                     "   SELECT inbox_id, $6::text, 'webhook.rotate', jsonb_build_object('endpointId', id,"
                     "          'previousSecretExpiresAt', previous_secret_expires_at)::text FROM upd)"
                     " SELECT id, " PGJSON_ISO("previous_secret_expires_at") " FROM upd",
                     6, params, 1, err);
    if (res == NULL || PQntuples(res) != 1) {
        OPENSSL_cleanse(secret, sizeof(secret));
        if (res == NULL)
            return ADMIN_BACKEND;
        PQclear(res);
        return admin_webhook_missing(inbox_id, id, err);
    }
    *out = json_object();
    json_object_set_new(*out, "id", pgjson_text(res, 0, 0));
    json_object_set_new(*out, "secret", json_string(secret));
    json_object_set_new(*out, "previousSecretExpiresAt", pgjson_text(res, 0, 1));
    OPENSSL_cleanse(secret, sizeof(secret));
    PQclear(res);
    return ADMIN_OK;
}

admin_status_t
admin_webhook_delete(admin_t *a, const char *inbox_id, const char *id, const char *reason, json_t **out,
                     admin_error_t *err)
{
    const char *params[5] = { a->account_id, inbox_id, id, a->actor, reason };
    /* the deliveries and attempts go with it (ON DELETE CASCADE); the
     * count is read from this statement's snapshot, before the delete */
    PGresult *res = admin_exec(a,
                               "WITH del AS ("
                               "   DELETE FROM postinbox.webhook_endpoint e" ENDPOINT_ONE
                               "   RETURNING e.id, e.inbox_id, e.account_id, e.url, e.enabled, e.event_types),"
                               " aud AS ("
                               "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, reason)"
                               "   SELECT inbox_id, $4::text, 'webhook.delete', jsonb_build_object('endpointId', id,"
                               "          'url', url, 'enabled', enabled, 'events', event_types,"
                               "          'accountId', account_id)::text, $5::text FROM del)"
                               " SELECT (SELECT count(*) FROM del),"
                               "        (SELECT count(*) FROM postinbox.webhook_delivery d"
                               "          WHERE d.endpoint_id IN (SELECT id FROM del))",
                               5, params, 0, err);
    admin_status_t status;

    *out = NULL;
    if (res == NULL)
        return ADMIN_BACKEND;
    if (strcmp(PQgetvalue(res, 0, 0), "0") != 0) {
        *out = json_object();
        json_object_set_new(*out, "id", json_string(id));
        json_object_set_new(*out, "deleted", json_true());
        json_object_set_new(*out, "deliveriesDeleted", pgjson_int(res, 0, 1));
    }
    status = *out ? ADMIN_OK : admin_webhook_missing(inbox_id, id, err);
    PQclear(res);
    return status;
}

/* Seals (or moves to the current key) one stored value for endpoint id:
 * 1 into out when it needs writing, 0 when it is current (or NULL), -1
 * when it does not open (err). */
static int
admin_webhook_reseal(const secretbox_t *box, const char *id, const char *stored, char out[SECRETBOX_SEALED_MAX],
                     char *err, size_t errlen)
{
    char plain[SECRETBOX_PLAIN_MAX + 1];
    int rc;
    if (stored == NULL || secretbox_is_current(box, stored))
        return 0;
    if (secretbox_open(box, stored, id, plain, sizeof(plain), err, errlen) < 0)
        return -1;
    rc = secretbox_seal(box, plain, id, out, SECRETBOX_SEALED_MAX, err, errlen) == 0 ? 1 : -1;
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}

#define ENCRYPT_PAGE "100"

admin_status_t
admin_webhook_encrypt_secrets(admin_t *a, json_t **out, admin_error_t *err)
{
    char pattern[32], last[40] = "00000000-0000-0000-0000-000000000000", text[256];
    long long sealed = 0, failed_count = 0;
    json_t *failed = json_array();
    PGresult *res;

    *out = NULL;
    if (a->secrets == NULL) {
        json_decref(failed);
        return admin_fail(err, ADMIN_BACKEND, "secret_key_missing", "secret_key_file",
                          "cannot encrypt webhook secrets: %s",
                          a->secrets_error ? a->secrets_error : "secret_key_file is not set");
    }
    /* every value not sealed with the current key: plaintext, or an old key's */
    snprintf(pattern, sizeof(pattern), "v1:%s:%%", secretbox_key_id(a->secrets));
    for (;;) {
        const char *params[3] = { pattern, last, a->account_id };
        res = admin_exec(a,
                         "SELECT e.id, e.secret, e.previous_secret FROM postinbox.webhook_endpoint e"
                         " WHERE (e.secret NOT LIKE $1 OR e.previous_secret NOT LIKE $1) AND e.id > $2::uuid"
                         "   AND ($3::uuid IS NULL OR e.account_id = $3::uuid)"
                         " ORDER BY e.id LIMIT " ENCRYPT_PAGE,
                         3, params, 1, err);
        if (res == NULL) {
            json_decref(failed);
            return ADMIN_BACKEND;
        }
        int n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            const char *id = PQgetvalue(res, i, 0), *secret = PQgetvalue(res, i, 1);
            const char *previous = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
            char new_secret[SECRETBOX_SEALED_MAX], new_previous[SECRETBOX_SEALED_MAX];
            int s1 = admin_webhook_reseal(a->secrets, id, secret, new_secret, text, sizeof(text));
            int s2 = s1 < 0 ? -1 : admin_webhook_reseal(a->secrets, id, previous, new_previous, text, sizeof(text));
            snprintf(last, sizeof(last), "%s", id);
            if (s1 < 0 || s2 < 0) {
                failed_count++;
                json_array_append_new(failed, json_pack("{s:s, s:s}", "id", id, "error", text));
                continue;
            }
            /* written only if the row still holds what was read (a rotate
             * meanwhile wins; the next run seals its values) */
            const char *uparams[5] = { id, s1 ? new_secret : secret, s2 ? new_previous : previous, secret, previous };
            PGresult *upd = admin_exec(a,
                                       "UPDATE postinbox.webhook_endpoint SET secret = $2, previous_secret = $3"
                                       " WHERE id = $1::uuid AND secret = $4 AND previous_secret IS NOT DISTINCT FROM $5",
                                       5, uparams, 1, err);
            OPENSSL_cleanse(new_secret, sizeof(new_secret));
            OPENSSL_cleanse(new_previous, sizeof(new_previous));
            if (upd == NULL) {
                PQclear(res);
                json_decref(failed);
                return ADMIN_BACKEND;
            }
            if (strcmp(PQcmdTuples(upd), "1") == 0)
                sealed++;
            PQclear(upd);
        }
        PQclear(res);
        if (n < atoi(ENCRYPT_PAGE))
            break;
    }
    *out = json_pack("{s:I, s:I, s:o, s:s}", "encrypted", sealed, "failed", failed_count, "failures", failed,
                     "keyId", secretbox_key_id(a->secrets));
    return ADMIN_OK;
}
