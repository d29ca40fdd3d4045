/*
 * admin_suppression.c -- suppression list use-cases.  See admin_suppression.h.
 *
 * The statements name an entry as $1 acting account (NULL: operator),
 * $2 inbox, $3 address, so ADMIN_OWNED applies.
 */
#include "admin_suppression.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_list.h"
#include "bounce_class.h"
#include "validate.h"

/* The inbox of the statement, if it is the acting account's. */
#define SUPPRESSION_INBOX                                                                               \
    "inbox AS (SELECT id FROM postinbox.inbox WHERE id = $2::uuid AND ($1::uuid IS NULL OR account_id = $1::uuid))"

/* An expired entry is absent: a new one for its address replaces it. */
#define SUPPRESSION_REPLACE_EXPIRED                                                                     \
    " ON CONFLICT (inbox_id, address) DO UPDATE SET source = EXCLUDED.source, reason = EXCLUDED.reason,"  \
    "   bounce_reason = EXCLUDED.bounce_reason, dsn = NULL, message_id = NULL, created_at = EXCLUDED.created_at,"          \
    "   expires_at = EXCLUDED.expires_at"                                                               \
    " WHERE s.expires_at IS NOT NULL AND s.expires_at <= now()"

static int
suppression_source_ok(const char *source)
{
    return strcmp(source, "bounce") == 0 || strcmp(source, "complaint") == 0 || strcmp(source, "manual") == 0;
}

static const char *
suppression_given(const char *value)
{
    return value != NULL && *value != '\0' ? value : NULL;
}

int
admin_suppression_entry_check(const admin_suppression_entry_t *in, admin_suppression_norm_t *norm, char *err,
                              size_t errlen)
{
    const char *source = suppression_given(in->source), *reason = suppression_given(in->reason);
    const char *created = suppression_given(in->created_at), *expires = suppression_given(in->expires_at);
    const char *bounce = suppression_given(in->bounce_reason);
    bounce_reason_t unused;

    memset(norm, 0, sizeof(*norm));
    if (suppression_given(in->address) == NULL) {
        snprintf(err, errlen, "address is missing");
        return -1;
    }
    if (strlen(in->address) > ADDRESS_MAX || address_normalize(in->address, norm->address, sizeof(norm->address))
        != ADDRESS_OK) {
        snprintf(err, errlen, "address: \"%.100s\" is not an email address", in->address);
        return -1;
    }
    if (source != NULL && !suppression_source_ok(source)) {
        snprintf(err, errlen, "source: \"%.40s\" is not bounce, complaint or manual", source);
        return -1;
    }
    if (reason != NULL && (strlen(reason) > ADMIN_SUPPRESSION_REASON_MAX || !valid_text(reason))) {
        snprintf(err, errlen, "reason: at most %d bytes of UTF-8 text without control characters",
                 ADMIN_SUPPRESSION_REASON_MAX);
        return -1;
    }
    if (bounce != NULL && bounce_reason_from_name(bounce, &unused) != 0) {
        snprintf(err, errlen, "bounce reason: \"%.40s\" is not a bounce reason (user_unknown, ...)", bounce);
        return -1;
    }
    if (created != NULL && !valid_timestamp(created, norm->created_at, sizeof(norm->created_at))) {
        snprintf(err, errlen, "creation time: \"%.40s\" is not an ISO-8601 time", created);
        return -1;
    }
    if (expires != NULL && !valid_timestamp(expires, norm->expires_at, sizeof(norm->expires_at))) {
        snprintf(err, errlen, "expiry: \"%.40s\" is not an ISO-8601 time", expires);
        return -1;
    }
    if (expires != NULL && source != NULL && strcmp(source, "manual") != 0) {
        snprintf(err, errlen, "expiry: only manual entries may expire (source is %s)", source);
        return -1;
    }
    return 0;
}

json_t *
admin_suppression_entry_json(const admin_suppression_entry_t *in, const admin_suppression_norm_t *norm, long line)
{
    const char *source = suppression_given(in->source), *reason = suppression_given(in->reason);
    const char *bounce = suppression_given(in->bounce_reason);
    json_t *obj = json_object();

    json_object_set_new(obj, "address", json_string(norm->address));
    json_object_set_new(obj, "source", json_string(source ? source : "manual"));
    json_object_set_new(obj, "reason", reason ? json_string(reason) : json_null());
    json_object_set_new(obj, "bounce", bounce ? json_string(bounce) : json_null());
    json_object_set_new(obj, "created", norm->created_at[0] ? json_string(norm->created_at) : json_null());
    json_object_set_new(obj, "expires", norm->expires_at[0] ? json_string(norm->expires_at) : json_null());
    json_object_set_new(obj, "line", json_integer(line));
    return obj;
}

admin_status_t
admin_suppression_filter_check(const char *source, const char *reason, const char *prefix, admin_error_t *err)
{
    bounce_reason_t unused;

    if (source != NULL && !suppression_source_ok(source))
        return admin_fail(err, ADMIN_INVALID, "invalid_parameter", "filter", "source must be bounce, complaint or manual");
    if (reason != NULL && bounce_reason_from_name(reason, &unused) != 0)
        return admin_fail(err, ADMIN_INVALID, "invalid_parameter", "filter",
                          "reason: \"%.40s\" is not a bounce reason (user_unknown, mailbox_full, ...)", reason);
    if (prefix != NULL && (*prefix == '\0' || strlen(prefix) > ADDRESS_MAX || !valid_text(prefix)))
        return admin_fail(err, ADMIN_INVALID, "invalid_parameter", "filter",
                          "address: 1 to %d bytes of text (the start of the addresses)", ADDRESS_MAX);
    return ADMIN_OK;
}

/* The entry of row (its first ADMIN_SUPPRESSION_NCOLUMNS columns). */
static json_t *
suppression_row(const PGresult *res)
{
    return admin_suppression_json(res, 0);
}

admin_status_t
admin_suppression_add(admin_t *a, const char *inbox_id, const char *address, const char *reason,
                      const char *expires_at, json_t **out, admin_error_t *err)
{
    const char *params[6] = { a->account_id, inbox_id, address, reason, expires_at, a->actor };
    admin_status_t status = ADMIN_OK;
    const char *outcome;
    PGresult *res;

    *out = NULL;
    /* The row added, else the one there (this statement's snapshot does
     * not see its own insert, so exactly one branch yields a row), and
     * the outcome last. */
    res = admin_exec(a,
                     "WITH " SUPPRESSION_INBOX ","
                     " ins AS ("
                     "   INSERT INTO postinbox.suppression AS s (inbox_id, address, source, reason, expires_at)"
                     "   SELECT id, $3, 'manual', $4::text, $5::timestamptz FROM inbox"
                     "    WHERE $5::timestamptz IS NULL OR $5::timestamptz > now()"
                     SUPPRESSION_REPLACE_EXPIRED
                     "   RETURNING s.*),"
                     " aud AS ("
                     "   INSERT INTO postinbox.audit (inbox_id, actor, action, new_value, reason)"
                     "   SELECT inbox_id, $6::text, 'suppression.add', address, reason FROM ins)"
                     " SELECT r.*, CASE WHEN NOT EXISTS (SELECT 1 FROM inbox) THEN 'no_inbox'"
                     "                  WHEN $5::timestamptz <= now() THEN 'past'"
                     "                  WHEN EXISTS (SELECT 1 FROM ins) THEN 'added' ELSE 'exists' END"
                     " FROM (SELECT 1) one LEFT JOIN LATERAL ("
                     "   SELECT " ADMIN_SUPPRESSION_COLUMNS " FROM ins"
                     "   UNION ALL SELECT " ADMIN_SUPPRESSION_COLUMNS " FROM postinbox.suppression"
                     "    WHERE inbox_id = $2::uuid AND address = $3 AND NOT EXISTS (SELECT 1 FROM ins)"
                     "   LIMIT 1) r ON true",
                     6, params, 0, err);
    if (res == NULL)
        return ADMIN_BACKEND;
    outcome = PQntuples(res) == 1 ? PQgetvalue(res, 0, ADMIN_SUPPRESSION_NCOLUMNS) : "no_inbox";
    if (strcmp(outcome, "no_inbox") == 0)
        status = admin_fail(err, ADMIN_NOT_FOUND, "not_found", "inbox", "no inbox %s", inbox_id);
    else if (strcmp(outcome, "past") == 0)
        status = admin_fail(err, ADMIN_INVALID, "invalid_field", "expiry", "the expiry must be in the future");
    else if (PQgetisnull(res, 0, 0))
        /* added by someone else between our snapshot and the insert */
        status = admin_fail(err, ADMIN_CONFLICT, "conflict", "exists",
                            "%s is already on the suppression list", address);
    else {
        *out = suppression_row(res);
        if (strcmp(outcome, "exists") == 0)
            status = admin_fail(err, ADMIN_CONFLICT, "conflict", "exists",
                                "%s is already on the suppression list (source %s)", address, PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return status;
}

admin_status_t
admin_suppression_remove(admin_t *a, const char *inbox_id, const char *address, const char *reason,
                         json_t **out, admin_error_t *err)
{
    const char *params[5] = { a->account_id, inbox_id, address, reason, a->actor };
    admin_status_t status = ADMIN_OK;
    PGresult *res;

    *out = NULL;
    /* A complaint entry is the operator's to remove: with an acting
     * account the row is locked and left, and reported as such. */
    res = admin_exec(a,
                     "WITH target AS ("
                     "   SELECT inbox_id, address, source FROM postinbox.suppression"
                     "    WHERE inbox_id = $2::uuid AND address = $3" ADMIN_OWNED("inbox_id") " FOR UPDATE),"
                     " del AS ("
                     "   DELETE FROM postinbox.suppression s USING target t"
                     "    WHERE s.inbox_id = t.inbox_id AND s.address = t.address"
                     "      AND (t.source <> 'complaint' OR $1::uuid IS NULL)"
                     "   RETURNING s.*),"
                     " aud AS ("
                     "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, reason)"
                     "   SELECT inbox_id, $5::text, 'suppression.remove', address, $4::text FROM del)"
                     " SELECT " ADMIN_SUPPRESSION_COLUMNS ", true FROM del"
                     " UNION ALL SELECT " ADMIN_SUPPRESSION_COLUMNS ", false FROM postinbox.suppression"
                     "  WHERE inbox_id = $2::uuid AND address = $3 AND NOT EXISTS (SELECT 1 FROM del)"
                     "    AND EXISTS (SELECT 1 FROM target)",
                     5, params, 0, err);
    if (res == NULL)
        return ADMIN_BACKEND;
    if (PQntuples(res) != 1)
        status = admin_fail(err, ADMIN_NOT_FOUND, "not_found", "suppression", "%s is not on the suppression list",
                            address);
    else if (strcmp(PQgetvalue(res, 0, ADMIN_SUPPRESSION_NCOLUMNS), "t") != 0)
        status = admin_fail(err, ADMIN_FORBIDDEN, "suppression_locked", "complaint",
                            "%s is suppressed because its recipient complained; only the operator can remove it "
                            "(postinboxctl suppression remove)", address);
    else
        *out = suppression_row(res);
    PQclear(res);
    return status;
}

admin_status_t
admin_suppression_import(admin_t *a, const char *inbox_id, const json_t *entries, json_t **out, admin_error_t *err)
{
    char *doc = json_dumps(entries, JSON_COMPACT);
    admin_status_t status = ADMIN_OK;
    PGresult *res;

    *out = NULL;
    if (doc == NULL)
        return admin_fail(err, ADMIN_BACKEND, "internal", "json", "out of memory");
    const char *params[4] = { a->account_id, inbox_id, doc, a->actor };
    /* Duplicates in the file: the first line wins (ON CONFLICT may not
     * touch a row twice in one statement). */
    res = admin_exec(a,
                     "WITH " SUPPRESSION_INBOX ","
                     " src AS ("
                     "   SELECT DISTINCT ON (e.address) e.* FROM jsonb_to_recordset($3::jsonb)"
                     "     AS e(address text, source text, reason text, bounce text, created timestamptz,"
                     "          expires timestamptz, line bigint)"
                     "   ORDER BY e.address, e.line),"
                     " fresh AS (SELECT * FROM src WHERE expires IS NULL OR expires > now()),"
                     " ins AS ("
                     "   INSERT INTO postinbox.suppression AS s (inbox_id, address, source, reason, bounce_reason,"
                     "                                            created_at, expires_at)"
                     "   SELECT inbox.id, f.address, f.source, f.reason, f.bounce, coalesce(f.created, now()),"
                     "          f.expires"
                     "     FROM fresh f, inbox"
                     SUPPRESSION_REPLACE_EXPIRED
                     "   RETURNING s.inbox_id, s.address, s.reason),"
                     " aud AS ("
                     "   INSERT INTO postinbox.audit (inbox_id, actor, action, new_value, reason)"
                     "   SELECT inbox_id, $4::text, 'suppression.import', address, reason FROM ins)"
                     " SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM ins),"
                     "        (SELECT count(*) FROM src) - (SELECT count(*) FROM fresh),"
                     "        jsonb_array_length($3::jsonb)",
                     4, params, 0, err);
    free(doc);
    if (res == NULL)
        return ADMIN_BACKEND;
    if (strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
        status = admin_fail(err, ADMIN_NOT_FOUND, "not_found", "inbox", "no inbox %s", inbox_id);
    } else {
        long long imported = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        long long expired = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        long long total = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        *out = json_pack("{s:I, s:I, s:I, s:I}", "imported", (json_int_t)imported, "skipped",
                         (json_int_t)(total - imported - expired), "expired", (json_int_t)expired, "total",
                         (json_int_t)total);
    }
    PQclear(res);
    return status;
}
