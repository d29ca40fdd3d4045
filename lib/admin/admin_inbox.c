/*
 * admin_inbox.c -- inbox use-cases.  See admin_inbox.h.
 */
#include "admin_inbox.h"
#include "admin_tracking.h"

#include "admin_dkim.h"
#include "admin_domain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"
#include "validate.h"

admin_status_t
admin_inbox_show(admin_t *a, const char *id, int live, json_t **out, admin_error_t *err)
{
    const char *params[2] = { id, a->account_id };
    limit_result_t buf;
    const limit_result_t *usage;
    PGresult *res;

    *out = NULL;
    res = admin_exec(a, RECORDS_INBOX_SELECT " WHERE i.id = $1::uuid AND ($2::uuid IS NULL OR i.account_id = $2::uuid)",
                     2, params, 0, err);
    if (res == NULL)
        return ADMIN_BACKEND;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "inbox", "no inbox %s", id);
    }
    usage = admin_usage(a, id, &buf);
    *out = records_inbox_json(res, 0, usage);
    if (live)
        records_inbox_usage(*out, usage);
    PQclear(res);
    return ADMIN_OK;
}

/* inbox_create()'s results other than ok, and how they are answered.
 * The message names the API's fields; postinboxctl words its own from
 * the reason.  Another account's domain is answered like a missing one. */
static const struct {
    const char *result;
    admin_status_t status;
    const char *code;
    const char *before, *after;  /* message: before + the domain id (or nothing) + after */
} admin_create_results[] = {
    { "no_domain", ADMIN_INVALID, "invalid_domain", "domainId: no domain ", " in this account" },
    { "foreign_domain", ADMIN_INVALID, "invalid_domain", "domainId: no domain ", " in this account" },
    { "unverified_domain", ADMIN_INVALID, "invalid_domain", "domainId: domain ",
      " is not verified: its DNS records must be published and pass the check (domain records, domain verify)" },
    { "sandbox_domain", ADMIN_INVALID, "invalid_domain", "domainId: that is the sandbox domain; leave domainId out", NULL },
    { "local_too_long", ADMIN_INVALID, "invalid_field", "username: the address would be too long", NULL },
    { "too_long", ADMIN_INVALID, "invalid_field", "username: the address would be too long", NULL },
};

/* err for result (address: the address it would have had). */
static admin_status_t
admin_create_failed(const admin_inbox_new_t *in, const char *result, const char *address, admin_error_t *err)
{
    if (strcmp(result, "exists") == 0)
        return admin_fail(err, ADMIN_CONFLICT, "conflict", result, "inbox address already exists: %s", address);
    for (size_t i = 0; i < sizeof(admin_create_results) / sizeof(admin_create_results[0]); i++) {
        if (strcmp(result, admin_create_results[i].result) != 0)
            continue;
        if (admin_create_results[i].after == NULL)
            return admin_fail(err, admin_create_results[i].status, admin_create_results[i].code, result, "%s",
                              admin_create_results[i].before);
        return admin_fail(err, admin_create_results[i].status, admin_create_results[i].code, result, "%s%s%s",
                          admin_create_results[i].before, in->domain_id ? in->domain_id : in->domain_name,
                          admin_create_results[i].after);
    }
    return admin_fail(err, ADMIN_BACKEND, "backend_unavailable", result, "cannot create the inbox (%s)", result);
}

admin_status_t
admin_inbox_create(admin_t *a, const admin_inbox_new_t *in, int live, json_t **out, admin_error_t *err)
{
    char daily[24], burst[24], id[40];
    char *labels = in->labels ? json_dumps(in->labels, JSON_COMPACT) : strdup("[]");
    PGresult *res;

    *out = NULL;
    if (labels == NULL)
        return admin_fail(err, ADMIN_BACKEND, "internal", "memory", "out of memory");
    snprintf(daily, sizeof(daily), "%ld", in->daily_limit);
    snprintf(burst, sizeof(burst), "%ld", in->burst_limit);
    const char *params[9] = { a->account_id ? a->account_id : in->account_id, in->domain_id, in->domain_name,
                              in->username, in->display_name, labels, in->daily_limit > 0 ? daily : NULL,
                              in->burst_limit > 0 ? burst : NULL, in->sandbox };
    res = admin_exec(a,
                     "SELECT result, inbox_id, address FROM postinbox.inbox_create($1::uuid, $2::uuid, $3, $4, $5,"
                     "   ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), $7::integer, $8::integer, $9)",
                     9, params, 0, err);
    free(labels);
    if (res == NULL)
        return ADMIN_BACKEND;
    if (strcmp(PQgetvalue(res, 0, 0), "ok") != 0) {
        admin_create_failed(in, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2), err);
        if (strcmp(err->reason, "unverified_domain") == 0) {
            /* name what is missing, as the last check found it */
            char unmet[256];
            size_t len = strlen(err->message);
            admin_domain_unmet(a, in->domain_id ? in->domain_id : in->domain_name, unmet, sizeof(unmet));
            snprintf(err->message + len, sizeof(err->message) - len, "; at the last check: %s", unmet);
        }
        snprintf(err->subject, sizeof(err->subject), "%s", PQgetvalue(res, 0, 2));
        PQclear(res);
        return err->status;
    }
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 1));
    /* The sandbox domain (made by its first inbox), or a domain of an
     * older version, gets its DKIM key now.  Failing that the inbox
     * stands: the milter refuses its mail and says why. */
    if (a->dkim_key_bits > 0) {
        admin_error_t ignored;
        const char *at = strrchr(PQgetvalue(res, 0, 2), '@');
        if (at != NULL)
            admin_dkim_ensure(a, at + 1, a->dkim_key_bits, &ignored);
    }
    PQclear(res);
    return admin_inbox_show(a, id, live, out, err);
}

/* After a statement answering (inbox_found, locked_by, locked_reason):
 * not found, refused because the operator or the policy set the status
 * (ADMIN_FORBIDDEN, the message says who and why), or ADMIN_OK. */
static admin_status_t
admin_locked(PGresult *res, const char *id, admin_error_t *err)
{
    admin_status_t status = ADMIN_OK;
    if (res == NULL)
        return ADMIN_BACKEND;
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        status = admin_fail(err, ADMIN_NOT_FOUND, "not_found", "inbox", "no inbox %s", id);
    else if (!PQgetisnull(res, 0, 1)) {
        const char *by = PQgetvalue(res, 0, 1);
        const char *why = PQgetisnull(res, 0, 2) ? "" : PQgetvalue(res, 0, 2);
        status = admin_fail(err, ADMIN_FORBIDDEN, "status_locked", by,
                            "the inbox's status was set by %s%s%s; only the operator can change it",
                            strcmp(by, "policy") == 0 ? "the automatic suspension policy" : "the operator",
                            *why ? ": " : "", why);
    }
    PQclear(res);
    return status;
}

admin_status_t
admin_inbox_update(admin_t *a, const char *id, const admin_inbox_change_t *change, int live, json_t **out,
                   admin_error_t *err)
{
    char *labels = change->labels ? json_dumps(change->labels, JSON_COMPACT) : NULL;
    char *tracking = change->tracking ? json_dumps(change->tracking, JSON_COMPACT) : NULL;
    char why[160];
    admin_status_t status;

    *out = NULL;
    if (change->tracking != NULL && admin_tracking_check(change->tracking, why, sizeof(why)) != 0) {
        free(labels);
        free(tracking);
        return admin_fail(err, ADMIN_INVALID, "invalid_field", "tracking", "%s", why);
    }
    if ((change->labels != NULL && labels == NULL) || (change->tracking != NULL && tracking == NULL)) {
        free(labels);
        free(tracking);
        return admin_fail(err, ADMIN_BACKEND, "internal", "memory", "out of memory");
    }
    const char *params[10] = { id, a->account_id, change->set_display ? "true" : "false", change->display_name,
                               change->labels ? "true" : "false", labels, change->status, NULL, a->actor,
                               tracking };
    /* one statement, so one transaction: the tracking change only when
     * the rest was applied */
    status = admin_locked(admin_exec(a,
                                     "SELECT u.inbox_found, u.locked_by, u.locked_reason FROM postinbox.inbox_update($1::uuid,"
                                     " $2::uuid, $3::boolean, $4, $5::boolean,"
                                     " ARRAY(SELECT jsonb_array_elements_text(coalesce($6::jsonb, '[]'))), $7, $8, $9) u"
                                     " LEFT JOIN LATERAL (SELECT postinbox.inbox_tracking_set($1::uuid, $2::uuid,"
                                     " $10::jsonb, $9) WHERE $10::jsonb IS NOT NULL AND u.inbox_found"
                                     " AND u.locked_by IS NULL) t ON true",
                                     10, params, 0, err),
                          id, err);
    free(labels);
    free(tracking);
    return status != ADMIN_OK ? status : admin_inbox_show(a, id, live, out, err);
}

admin_status_t
admin_inbox_set_status(admin_t *a, const char *id, const char *status, const char *reason, int *changed,
                       admin_error_t *err)
{
    const char *params[5] = { id, status, reason, a->actor, a->account_id };
    PGresult *res = admin_exec(a,
                               "SELECT old_status IS NOT NULL, locked_by, locked_reason, changed"
                               " FROM postinbox.inbox_set_status($1::uuid, $2, $3, $4, $5::uuid)",
                               5, params, 0, err);

    *changed = res != NULL && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    return admin_locked(res, id, err);
}

admin_status_t
admin_inbox_purge(admin_t *a, const char *id, admin_error_t *err)
{
    const char *params[3] = { id, a->account_id, a->actor };
    return admin_locked(admin_exec(a,
                                   "SELECT inbox_found, locked_by, locked_reason"
                                   " FROM postinbox.inbox_purge($1::uuid, $2::uuid, $3)",
                                   3, params, 0, err),
                        id, err);
}

int
admin_labels_check(const json_t *labels)
{
    size_t i;
    json_t *item;

    if (json_array_size(labels) > VALID_MAX_LABELS)
        return -1;
    json_array_foreach(labels, i, item) {
        if (!json_is_string(item) || !valid_label(json_string_value(item)))
            return (int)i + 1;
    }
    return 0;
}
