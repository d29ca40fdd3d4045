/*
 * api_inboxes.c -- /v1/inboxes and /v1/inboxes/{id}.
 *
 * Public: api_inboxes_list, api_inboxes_create, api_inboxes_get,
 * api_inboxes_update, api_inboxes_delete (see api.h).
 * The inbox object is postinboxctl's (lib/store/records.c).  GET /inboxes/{id}
 * adds live usage from Redis (remaining, resetAt; sendsToday and
 * burstUsed are in every inbox object): when Redis is unreachable these
 * are null and the answer is still 200, as in `postinboxctl inbox show`,
 * since the database part is true and an admin panel should still show
 * it.  Creation, status changes and purge go through the SQL functions
 * of sql/007 that postinboxctl uses, so both write the same rows, audit
 * rows (actor "api:<key id>") and inbox.* events.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "records.h"
#include "validate.h"

/* $1 account, $2 the key's inbox or NULL */
#define INBOXES_SCOPE " WHERE i.account_id = $1::uuid AND ($2::uuid IS NULL OR i.id = $2::uuid)"

static json_t *
inboxes_row(api_call_t *c, const PGresult *res, int row)
{
    limit_result_t buf;
    return records_inbox_json(res, row, api_usage(c, PQgetvalue(res, row, 0), &buf));
}

/* Answers status with the inbox id of the key's account, with usage. */
static void
inboxes_answer(api_call_t *c, int status, const char *id)
{
    const char *params[2] = { id, c->account_id };
    limit_result_t buf;
    const limit_result_t *usage;
    PGresult *res = api_query(c, RECORDS_INBOX_SELECT " WHERE i.id = $1::uuid AND i.account_id = $2::uuid", 2,
                              params);
    json_t *obj;

    if (res == NULL)
        return;
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(c, 404, "not_found", "no inbox %s", id);
        return;
    }
    usage = api_usage(c, id, &buf);
    obj = records_inbox_json(res, 0, usage);
    records_inbox_usage(obj, usage);
    PQclear(res);
    httpd_respond_json(c->resp, status, obj);
}

void
api_inboxes_list(api_call_t *c)
{
    const char *params[4] = { c->account_id, c->key_inbox_id[0] ? c->key_inbox_id : NULL };
    char limit_text[24], offset_text[24];
    long limit, offset;
    json_int_t total;
    PGresult *res;
    json_t *rows;

    if (api_page(c, &limit, &offset) != 0)
        return;
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    snprintf(offset_text, sizeof(offset_text), "%ld", offset);
    params[2] = limit_text;
    params[3] = offset_text;
    if ((res = api_query(c, "SELECT count(*) FROM postinbox.inbox i" INBOXES_SCOPE, 2, params)) == NULL)
        return;
    total = (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    res = api_query(c,
                    RECORDS_INBOX_SELECT INBOXES_SCOPE
                    " ORDER BY i.created_at DESC, i.id DESC LIMIT $3::integer OFFSET $4::integer",
                    4, params);
    if (res == NULL)
        return;
    rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(rows, inboxes_row(c, res, r));
    PQclear(res);
    httpd_respond_json(c->resp, 200, json_pack("{s:o,s:I}", "data", rows, "total", total));
}

/* A random user name: 10 of [a-z0-9]. */
static int
inboxes_random_username(char out[11])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[10];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    for (int i = 0; i < 10; i++)
        out[i] = alphabet[raw[i] % 36];
    out[10] = '\0';
    return 0;
}

/* labels: at most VALID_MAX_LABELS valid labels, as a JSON text for SQL.
 * NULL after answering 400. */
static char *
inboxes_labels(api_call_t *c, const json_t *labels)
{
    size_t i;
    json_t *item;

    if (json_array_size(labels) > VALID_MAX_LABELS) {
        api_error(c, 400, "invalid_field", "labels: at most %d", VALID_MAX_LABELS);
        return NULL;
    }
    json_array_foreach(labels, i, item) {
        if (!valid_label(json_string_value(item))) {
            api_error(c, 400, "invalid_field",
                      "labels: each is 1-%d bytes of UTF-8 text without control characters", VALID_LABEL_MAX);
            return NULL;
        }
    }
    return json_dumps(labels, JSON_COMPACT);
}

/* displayName: a string of valid text, or null.  0, or -1 after 400. */
static int
inboxes_display_name(api_call_t *c, const json_t *value)
{
    const char *text = json_string_value(value);
    if (text != NULL && (text[0] == '\0' || strlen(text) > VALID_DISPLAY_NAME_MAX || !valid_text(text))) {
        api_error(c, 400, "invalid_field", "displayName: 1-%d bytes of UTF-8 text without control characters",
                  VALID_DISPLAY_NAME_MAX);
        return -1;
    }
    return 0;
}

void
api_inboxes_create(api_call_t *c)
{
    static const apiutil_field_t spec[] = {
        { "username", APIUTIL_STRING, 0 },
        { "displayName", APIUTIL_STRING_OR_NULL, 0 },
        { "domainId", APIUTIL_STRING_OR_NULL, 0 },
        { "labels", APIUTIL_STRING_ARRAY, 0 },
        { NULL, 0, 0 },
    };
    const char *given = json_string_value(json_object_get(c->body, "username"));
    const char *domain_id = json_string_value(json_object_get(c->body, "domainId"));
    const char *display = json_string_value(json_object_get(c->body, "displayName"));
    json_t *labels = json_object_get(c->body, "labels");
    char username[80], sandbox[300], *labels_json;
    PGresult *res;

    if (c->key_inbox_id[0]) {
        api_error(c, 403, "forbidden", "an inbox key cannot create inboxes");
        return;
    }
    if (api_body_fields(c, spec) != 0 || inboxes_display_name(c, json_object_get(c->body, "displayName")) != 0)
        return;
    if (given != NULL) {
        snprintf(username, sizeof(username), "%s", given);
        ascii_lower(username);
        if (strlen(given) >= sizeof(username) || !valid_username(username)) {
            api_error(c, 400, "invalid_field",
                      "username: 1-64 of a-z 0-9 . _ + -, starting with a letter or digit, no \"..\","
                      " not ending in \".\"");
            return;
        }
    } else if (inboxes_random_username(username) != 0) {
        api_error(c, 500, "internal", "no random bytes");
        return;
    }
    if (domain_id != NULL && !valid_uuid(domain_id)) {
        api_error(c, 400, "invalid_field", "domainId: not an id (uuid)");
        return;
    }
    snprintf(sandbox, sizeof(sandbox), "%s", c->rt->cfg->sandbox_domain);
    ascii_lower(sandbox);
    if (labels == NULL)
        labels_json = strdup("[]");
    else if ((labels_json = inboxes_labels(c, labels)) == NULL)
        return;
    if (labels_json == NULL) {
        api_error(c, 500, "internal", "out of memory");
        return;
    }
    const char *params[6] = { c->account_id, domain_id, username, display, labels_json, sandbox };
    res = api_query(c,
                    "SELECT result, inbox_id, address FROM postinbox.inbox_create($1::uuid, $2::uuid, NULL, $3, $4,"
                    "   ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), NULL, NULL, $6)",
                    6, params);
    free(labels_json);
    if (res == NULL)
        return;
    const char *result = PQgetvalue(res, 0, 0);
    if (strcmp(result, "ok") == 0) {
        char id[40];
        snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
        inboxes_answer(c, 201, id);
        return;
    }
    if (strcmp(result, "exists") == 0)
        api_error(c, 409, "conflict", "inbox address already exists: %s", PQgetvalue(res, 0, 2));
    else if (strcmp(result, "no_domain") == 0 || strcmp(result, "foreign_domain") == 0)
        /* another account's domain is answered like a missing one */
        api_error(c, 400, "invalid_domain", "domainId: no domain %s in this account", domain_id);
    else if (strcmp(result, "unverified_domain") == 0)
        api_error(c, 400, "invalid_domain", "domainId: domain %s is not verified", domain_id);
    else if (strcmp(result, "sandbox_domain") == 0)
        api_error(c, 400, "invalid_domain", "domainId: that is the sandbox domain; leave domainId out");
    else if (strcmp(result, "local_too_long") == 0 || strcmp(result, "too_long") == 0)
        api_error(c, 400, "invalid_field", "username: the address would be too long");
    else
        api_error(c, 503, "backend_unavailable", "cannot create the inbox (%s)", result);
    PQclear(res);
}

void
api_inboxes_get(api_call_t *c)
{
    inboxes_answer(c, 200, c->ids[0]);
}

void
api_inboxes_update(api_call_t *c)
{
    static const apiutil_field_t spec[] = {
        { "displayName", APIUTIL_STRING_OR_NULL, 0 },
        { "labels", APIUTIL_STRING_ARRAY, 0 },
        { "status", APIUTIL_STRING, 0 },
        { NULL, 0, 0 },
    };
    json_t *display = json_object_get(c->body, "displayName"), *labels = json_object_get(c->body, "labels");
    const char *status = json_string_value(json_object_get(c->body, "status"));
    char *labels_json = NULL;
    PGresult *res;

    if (api_body_fields(c, spec) != 0 || inboxes_display_name(c, display) != 0)
        return;
    /* The status is the account's: an inbox key must not lift a
     * suspension (the operator's, or the complaint policy's) nor bring a
     * disabled inbox back. */
    if (status != NULL && c->key_inbox_id[0]) {
        api_error(c, 403, "forbidden", "changing an inbox's status needs an account key");
        return;
    }
    if (status != NULL && strcmp(status, "active") != 0 && strcmp(status, "suspended") != 0 &&
        strcmp(status, "disabled") != 0) {
        api_error(c, 400, "invalid_field", "status must be active, suspended or disabled");
        return;
    }
    if (labels != NULL && (labels_json = inboxes_labels(c, labels)) == NULL)
        return;
    const char *params[7] = { c->ids[0], c->account_id, display ? "true" : "false", json_string_value(display),
                              labels ? "true" : "false", labels_json, status };
    const char *p9[9] = { params[0], params[1], params[2], params[3], params[4], params[5], params[6], NULL,
                          c->actor };
    res = api_query(c,
                    "SELECT postinbox.inbox_update($1::uuid, $2::uuid, $3::boolean, $4, $5::boolean,"
                    "   ARRAY(SELECT jsonb_array_elements_text(coalesce($6::jsonb, '[]'))), $7, $8, $9)",
                    9, p9);
    free(labels_json);
    if (res == NULL)
        return;
    int found = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!found) {
        api_error(c, 404, "not_found", "no inbox %s", c->ids[0]);
        return;
    }
    inboxes_answer(c, 200, c->ids[0]);
}

void
api_inboxes_delete(api_call_t *c)
{
    const char *purge = httpd_query(c->req, "purge");
    const char *params[4] = { c->ids[0], c->account_id, c->actor };
    PGresult *res;
    int found;

    if (purge != NULL && strcmp(purge, "true") != 0 && strcmp(purge, "false") != 0) {
        api_error(c, 400, "invalid_parameter", "purge must be true or false");
        return;
    }
    if (purge != NULL && strcmp(purge, "true") == 0) {
        if (c->key_inbox_id[0]) {
            api_error(c, 403, "forbidden", "purging an inbox needs an account key");
            return;
        }
        res = api_query(c, "SELECT postinbox.inbox_purge($1::uuid, $2::uuid, $3)", 3, params);
        if (res == NULL)
            return;
        found = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    } else {
        res = api_query(c,
                        "SELECT old_status FROM postinbox.inbox_set_status($1::uuid, 'disabled', NULL, $3, $2::uuid)",
                        3, params);
        if (res == NULL)
            return;
        found = !PQgetisnull(res, 0, 0);
    }
    PQclear(res);
    if (!found) {
        api_error(c, 404, "not_found", "no inbox %s", c->ids[0]);
        return;
    }
    httpd_respond(c->resp, 204, "application/json", "", 0);
}
