/*
 * admin_domain_manage.c -- custom domains made, shown and deleted.  See
 * admin_domain.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_dkim.h"
#include "admin_domain.h"
#include "domain_name.h"
#include "validate.h"

/* The ADMIN_DOMAIN_COLUMNS from column first of row as the object. */
static json_t *
domain_json_at(const PGresult *res, int row, int first)
{
    static const pgjson_field_t fields[] = {
        { "id", 't' },      { "name", 't' },          { "accountId", 't' }, { "kind", 't' },
        { "status", 't' },  { "verified", 'b' },      { "checkFailures", 'i' },
        { "checkedAt", 't' }, { "nextCheckAt", 't' }, { "createdAt", 't' },
    };
    char unicode[4 * DOMAIN_NAME_MAX + 1];
    json_t *obj = json_object();

    PGJSON_FIELDS(obj, res, row, first, fields);
    /* the stored form is the A-label one; what the owner typed is shown too */
    domain_name_unicode(PQgetvalue(res, row, first + 1), unicode, sizeof(unicode));
    if (strcmp(unicode, PQgetvalue(res, row, first + 1)) != 0)
        json_object_set_new(obj, "unicodeName", json_string(unicode));
    return obj;
}

json_t *
admin_domain_json(const PGresult *res, int row)
{
    return domain_json_at(res, row, 0);
}

admin_status_t
admin_domain_create(admin_t *a, const admin_domain_new_t *new, json_t **out, admin_error_t *err)
{
    char name[DOMAIN_NAME_MAX + 1];
    const char *account = a->account_id ? a->account_id : new->account_id;
    admin_status_t status;
    PGresult *res;

    *out = NULL;
    switch (domain_name_canonical(new->name, name)) {
    case DOMAIN_NAME_OK:
        break;
    case DOMAIN_NAME_TOO_LONG:
        return admin_fail(err, ADMIN_INVALID, "invalid_field", "name", "name: longer than %d octets", DOMAIN_NAME_MAX);
    case DOMAIN_NAME_IDNA:
        return admin_fail(err, ADMIN_INVALID, "invalid_field", "name",
                          "name: not a valid internationalised domain name (IDNA2008)");
    default:
        return admin_fail(err, ADMIN_INVALID, "invalid_field", "name",
                          "name: not a domain name (labels of 1-63 letters, digits and hyphens, at least two)");
    }
    if (account == NULL || !valid_uuid(account))
        return admin_fail(err, ADMIN_INVALID, "invalid_field", "account", "an account id is required");
    if (new->sandbox != NULL && strcmp(name, new->sandbox) == 0)
        return admin_fail(err, ADMIN_CONFLICT, "conflict", "sandbox", "%s is the sandbox domain", name);

    const char *params[4] = { account, name, new->verified ? "true" : "false", a->actor };
    /* One statement: whether the account exists, and the new row unless
     * the name is taken (by any account, or the sandbox); the operator's
     * --verified, instead of the DNS check, is audited with it.  A
     * pending domain's periodic check starts at once, so one whose
     * records are published becomes verified without being asked; a
     * domain verified by the operator's word (managed elsewhere) is not
     * watched until a check by hand (domain_check_apply schedules). */
    res = admin_exec(a,
                     "WITH acct AS (SELECT id FROM postinbox.account WHERE id = $1::uuid),"
                     " ins AS (INSERT INTO postinbox.domain AS d (account_id, name, kind, verified, next_check_at)"
                     "   SELECT id, $2, 'custom', $3::boolean, CASE WHEN NOT $3::boolean THEN now() END FROM acct"
                     "   ON CONFLICT ((lower(name))) DO NOTHING RETURNING *),"
                     " aud AS (INSERT INTO postinbox.audit (actor, action, new_value, reason)"
                     "   SELECT $4, 'domain.verified', name, 'operator override: domain add --verified' FROM ins"
                     "    WHERE $3::boolean)"
                     " SELECT (SELECT count(*) FROM acct), d.id IS NOT NULL, " ADMIN_DOMAIN_COLUMNS
                     " FROM (SELECT 1) one LEFT JOIN ins d ON true",
                     4, params, 0, err);
    if (res == NULL)
        return ADMIN_BACKEND;
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
        status = admin_fail(err, ADMIN_NOT_FOUND, "not_found", "account", "no account %s", account);
    else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        status = admin_fail(err, ADMIN_CONFLICT, "conflict", "taken", "domain %s already exists", name);
    else {
        json_t *obj = domain_json_at(res, 0, 2);
        status = ADMIN_OK;
        /* the key pair comes with the domain (README "DKIM"); without it
         * (no usable secret_key_file) the domain is not made either */
        if (new->dkim_bits > 0 && (status = admin_dkim_ensure(a, name, new->dkim_bits, err)) != ADMIN_OK) {
            admin_error_t ignored;
            const char *id[1] = { json_string_value(json_object_get(obj, "id")) };
            PQclear(admin_exec(a, "DELETE FROM postinbox.domain WHERE id = $1::uuid", 1, id, 0, &ignored));
        }
        if (status == ADMIN_OK)
            *out = obj;
        else
            json_decref(obj);
    }
    PQclear(res);
    return status;
}

admin_status_t
admin_domain_show(admin_t *a, const admin_dns_t *dns, const char *id_or_name, json_t **out, admin_error_t *err)
{
    admin_status_t status;
    PGresult *res = admin_domain_find(a, id_or_name, ADMIN_DOMAIN_COLUMNS ", d.last_check", &status, err);
    json_t *obj, *shown, *last, *rec, *seen;
    size_t i, j;

    *out = NULL;
    if (res == NULL)
        return status;
    obj = admin_domain_json(res, 0);
    last = PQgetisnull(res, 0, 10) ? NULL : json_loads(PQgetvalue(res, 0, 10), 0, NULL);
    PQclear(res);
    if ((status = admin_domain_records(a, dns, json_string_value(json_object_get(obj, "name")), &shown, err)) !=
        ADMIN_OK) {
        json_decref(obj);
        json_decref(last);
        return status;
    }
    /* each record with what the last check found for the same record */
    json_array_foreach(json_object_get(shown, "records"), i, rec) {
        json_t *check = json_object();
        json_object_set_new(check, "status", json_string("unchecked"));
        json_array_foreach(json_object_get(last, "records"), j, seen) {
            if (json_equal(json_object_get(seen, "name"), json_object_get(rec, "name")) &&
                json_equal(json_object_get(seen, "type"), json_object_get(rec, "type")) &&
                json_equal(json_object_get(seen, "value"), json_object_get(rec, "value"))) {
                json_object_set(check, "status", json_object_get(seen, "status"));
                json_object_set(check, "found", json_object_get(seen, "found"));
                json_object_set(check, "detail", json_object_get(seen, "detail"));
                json_object_set(check, "at", json_object_get(obj, "checkedAt"));
                break;
            }
        }
        json_object_set_new(rec, "lastCheck", check);
    }
    json_object_set(obj, "records", json_object_get(shown, "records"));
    json_decref(shown);
    if (last != NULL)
        json_object_set_new(obj, "lastCheck",
                            json_pack("{s:O?, s:O?, s:O?}", "server", json_object_get(last, "server"),
                                      "checksPassed", json_object_get(last, "checks_passed"), "failures",
                                      json_object_get(obj, "checkFailures")));
    else
        json_object_set_new(obj, "lastCheck", json_null());
    json_decref(last);
    *out = obj;
    return ADMIN_OK;
}

admin_status_t
admin_domain_delete(admin_t *a, const char *id_or_name, admin_error_t *err)
{
    admin_status_t status;
    PGresult *res = admin_domain_find(a, id_or_name, "d.id, d.name, d.kind", &status, err);
    char id[40], name[DOMAIN_NAME_MAX + 1];

    if (res == NULL)
        return status;
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 1));
    if (strcmp(PQgetvalue(res, 0, 2), "sandbox") == 0) {
        PQclear(res);
        return admin_fail(err, ADMIN_FORBIDDEN, "forbidden", "sandbox", "the sandbox domain cannot be deleted");
    }
    PQclear(res);
    const char *params[3] = { id, a->actor, name };
    /* Only a domain no inbox uses goes; its keys go with it (ON DELETE
     * CASCADE), the audit row stays. */
    res = admin_exec(a,
                     "WITH used AS (SELECT count(*) AS n FROM postinbox.inbox WHERE domain_id = $1::uuid),"
                     " del AS (DELETE FROM postinbox.domain WHERE id = $1::uuid AND (SELECT n FROM used) = 0"
                     "   RETURNING id),"
                     " aud AS (INSERT INTO postinbox.audit (actor, action, old_value, reason)"
                     "   SELECT $2, 'domain.deleted', $3, 'deleted' FROM del)"
                     " SELECT (SELECT n FROM used), (SELECT count(*) FROM del)",
                     3, params, 0, err);
    if (res == NULL)
        return ADMIN_BACKEND;
    long used = atol(PQgetvalue(res, 0, 0)), deleted = atol(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (deleted == 1)
        return ADMIN_OK;
    if (used > 0)
        return admin_fail(err, ADMIN_CONFLICT, "conflict", "in_use",
                          "domain %s has %ld inbox%s: purge them first (DELETE /v1/inboxes/{id}?purge=true)", name,
                          used, used == 1 ? "" : "es");
    return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "domain", "no domain %s", name);
}

void
admin_domain_unmet(admin_t *a, const char *id_or_name, char *out, size_t size)
{
    admin_status_t status;
    admin_error_t err;
    PGresult *res = admin_domain_find(a, id_or_name, "d.last_check", &status, &err);
    json_t *last;

    snprintf(out, size, "not checked yet");
    if (res == NULL)
        return;
    last = PQgetisnull(res, 0, 0) ? NULL : json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (last == NULL)
        return;
    if (admin_domain_unmet_records(json_object_get(last, "records"), out, size) == 0)
        snprintf(out, size, "the records changed since the last check");
    json_decref(last);
}
