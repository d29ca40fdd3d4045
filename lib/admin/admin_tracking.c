/*
 * admin_tracking.c -- tracking settings.  See admin_tracking.h.
 */
#include "admin_tracking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const admin_tracking_keys[] = { "opens", "clicks", "unsubscribe", NULL };

int
admin_tracking_check(const json_t *change, char *why, size_t whylen)
{
    const char *key;
    json_t *value;

    if (!json_is_object(change) || json_object_size(change) == 0) {
        snprintf(why, whylen, "tracking must be an object of opens, clicks and unsubscribe");
        return -1;
    }
    json_object_foreach((json_t *)change, key, value) {
        int known = 0;
        for (int i = 0; admin_tracking_keys[i] != NULL; i++)
            known |= strcmp(key, admin_tracking_keys[i]) == 0;
        if (!known) {
            snprintf(why, whylen, "tracking has no member %.64s (opens, clicks, unsubscribe)", key);
            return -1;
        }
        if (!json_is_boolean(value) && !json_is_null(value)) {
            snprintf(why, whylen, "tracking.%s must be true, false or null", key);
            return -1;
        }
    }
    return 0;
}

/* The change as text for a jsonb parameter, after the check. */
static char *
admin_tracking_text(const json_t *change, admin_error_t *err)
{
    char why[160];
    char *text;
    if (admin_tracking_check(change, why, sizeof(why)) != 0) {
        admin_fail(err, ADMIN_INVALID, "invalid_field", "tracking", "%s", why);
        return NULL;
    }
    if ((text = json_dumps(change, JSON_COMPACT)) == NULL)
        admin_fail(err, ADMIN_BACKEND, "internal", "memory", "out of memory");
    return text;
}

admin_status_t
admin_tracking_inbox(admin_t *a, const char *id, const json_t *change, admin_error_t *err)
{
    char *text = admin_tracking_text(change, err);
    PGresult *res;
    admin_status_t status = ADMIN_OK;

    if (text == NULL)
        return err->status;
    const char *params[4] = { id, a->account_id, text, a->actor };
    res = admin_exec(a, "SELECT inbox_found FROM postinbox.inbox_tracking_set($1::uuid, $2::uuid, $3::jsonb, $4)", 4,
                     params, 0, err);
    free(text);
    if (res == NULL)
        return err->status;
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        status = admin_fail(err, ADMIN_NOT_FOUND, "not_found", "inbox", "no inbox %s", id);
    PQclear(res);
    return status;
}

admin_status_t
admin_tracking_account(admin_t *a, const char *id, const json_t *change, json_t **out, admin_error_t *err)
{
    char *text;
    PGresult *res;
    admin_status_t status = ADMIN_OK;

    *out = NULL;
    if (a->account_id != NULL && strcmp(a->account_id, id) != 0)
        return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "account", "no account %s", id);
    if (change != NULL && (text = admin_tracking_text(change, err)) == NULL)
        return err->status;
    if (change == NULL)
        text = NULL;
    const char *params[2] = { id, text };
    res = change == NULL ? admin_exec(a,
                                      "SELECT postinbox.tracking_effective('{}', tracking)::text"
                                      " FROM postinbox.account WHERE id = $1::uuid",
                                      1, params, 0, err)
                         : admin_exec(a, "SELECT postinbox.account_tracking_set($1::uuid, $2::jsonb)::text", 2, params,
                                      0, err);
    free(text);
    if (res == NULL)
        return err->status;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        status = admin_fail(err, ADMIN_NOT_FOUND, "not_found", "account", "no account %s", id);
    } else {
        *out = json_object();
        json_object_set_new(*out, "id", json_string(id));
        json_object_set_new(*out, "tracking", json_loads(PQgetvalue(res, 0, 0), 0, NULL));
    }
    PQclear(res);
    return status;
}
