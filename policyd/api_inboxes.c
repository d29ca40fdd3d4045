/*
 * api_inboxes.c -- /v1/inboxes and /v1/inboxes/{id}.
 *
 * Public: api_inboxes_list, api_inboxes_create, api_inboxes_get,
 * api_inboxes_update, api_inboxes_delete (see api.h).
 * The body is checked here; the work is lib/admin's (admin_inbox.c,
 * admin_list.c), as postinboxctl's, so both write the same rows, audit
 * rows (actor "api:<key id>") and inbox.* events through the SQL
 * functions of sql/007.  The inbox object is postinboxctl's
 * (lib/store/records.c).  GET /inboxes/{id} and the answers of POST and
 * PATCH add live usage from Redis (remaining, resetAt; sendsToday and
 * burstUsed are in every inbox object): when Redis is unreachable these
 * are null and the answer is still 200, as in `postinboxctl inbox show`,
 * since the database part is true and an admin panel should still show
 * it.
 *
 * Who may change a status: only an account key, and never one the
 * operator or the automatic suspension policy set while it is not active
 * (403 status_locked, naming who and why; sql/functions/admin.sql); the
 * inbox object's statusBy says who set the current status.  An inbox key
 * can neither change its inbox's status nor DELETE (disable or purge) it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_inbox.h"
#include "api.h"
#include "api_fields.h"
#include "validate.h"

/* Answers status with obj after an admin call that ended with result. */
static void
inboxes_answer(api_call_t *c, int status, admin_status_t result, json_t *obj, const admin_error_t *err)
{
    if (result != ADMIN_OK)
        api_fail(c, err);
    else
        httpd_respond_json(c->resp, status, obj);
}

void
api_inboxes_list(api_call_t *c)
{
    /* an inbox key lists its own inbox only */
    api_list(c, ADMIN_LIST_INBOXES, &(admin_filter_t){ .inbox_id = c->key_inbox_id[0] ? c->key_inbox_id : NULL });
}

/* displayName: a string of valid text, or null.  0, or -1 after 400. */
static int
inboxes_display_name(api_call_t *c)
{
    const char *text = json_string_value(json_object_get(c->body, "displayName"));
    if (text != NULL && (text[0] == '\0' || strlen(text) > VALID_DISPLAY_NAME_MAX || !valid_text(text))) {
        api_error(c, 400, "invalid_field", "displayName: 1-%d bytes of UTF-8 text without control or bidi control characters",
                  VALID_DISPLAY_NAME_MAX);
        return -1;
    }
    return 0;
}

/* labels (when given): admin_labels_check.  0, or -1 after 400. */
static int
inboxes_labels(api_call_t *c, const json_t *labels)
{
    int bad = labels ? admin_labels_check(labels) : 0;
    if (bad < 0)
        api_error(c, 400, "invalid_field", "labels: at most %d", VALID_MAX_LABELS);
    else if (bad > 0)
        api_error(c, 400, "invalid_field", "labels: each is 1-%d bytes of UTF-8 text without control or bidi control characters",
                  VALID_LABEL_MAX);
    return bad ? -1 : 0;
}

void
api_inboxes_create(api_call_t *c)
{
    char username[ADMIN_USERNAME_SIZE], sandbox[300];
    admin_inbox_new_t in = {
        .domain_id = json_string_value(json_object_get(c->body, "domainId")),
        .username = username,
        .display_name = json_string_value(json_object_get(c->body, "displayName")),
        .labels = json_object_get(c->body, "labels"),
        .sandbox = sandbox,
    };
    admin_status_t result;
    admin_error_t err;
    json_t *obj;
    int rc;

    if (c->key_inbox_id[0]) {
        api_error(c, 403, "forbidden", "an inbox key cannot create inboxes");
        return;
    }
    if (api_body_fields(c, api_fields_inbox_create) != 0 || inboxes_display_name(c) != 0)
        return;
    if ((rc = admin_username(json_string_value(json_object_get(c->body, "username")), username)) == -1) {
        api_error(c, 400, "invalid_field",
                  "username: 1-64 of a-z 0-9 . _ + -, starting with a letter or digit, no \"..\","
                  " not ending in \".\"");
        return;
    }
    if (rc != 0) {
        api_error(c, 500, "internal", "no random bytes");
        return;
    }
    if (in.domain_id != NULL && !valid_uuid(in.domain_id)) {
        api_error(c, 400, "invalid_field", "domainId: not an id (uuid)");
        return;
    }
    snprintf(sandbox, sizeof(sandbox), "%s", c->rt->cfg->sandbox_domain);
    ascii_lower(sandbox);
    if (inboxes_labels(c, in.labels) != 0)
        return;
    result = admin_inbox_create(&c->admin, &in, 1, &obj, &err);
    inboxes_answer(c, 201, result, obj, &err);
}

void
api_inboxes_get(api_call_t *c)
{
    admin_error_t err;
    json_t *obj;

    admin_status_t result = admin_inbox_show(&c->admin, c->ids[0], 1, &obj, &err);
    inboxes_answer(c, 200, result, obj, &err);
}

void
api_inboxes_update(api_call_t *c)
{
    json_t *display = json_object_get(c->body, "displayName"), *obj;
    admin_inbox_change_t change = {
        .set_display = display != NULL,
        .display_name = json_string_value(display),
        .labels = json_object_get(c->body, "labels"),
        .status = json_string_value(json_object_get(c->body, "status")),
        .tracking = json_object_get(c->body, "tracking"),
    };
    admin_status_t result;
    admin_error_t err;

    if (api_body_fields(c, api_fields_inbox_update) != 0 || inboxes_display_name(c) != 0)
        return;
    /* The status is the account's: an inbox key must not lift a
     * suspension (the operator's, or the complaint policy's) nor bring a
     * disabled inbox back. */
    if (change.status != NULL && c->key_inbox_id[0]) {
        api_error(c, 403, "forbidden", "changing an inbox's status needs an account key");
        return;
    }
    if (change.status != NULL && strcmp(change.status, "active") != 0 && strcmp(change.status, "suspended") != 0 &&
        strcmp(change.status, "disabled") != 0) {
        api_error(c, 400, "invalid_field", "status must be active, suspended or disabled");
        return;
    }
    if (inboxes_labels(c, change.labels) != 0)
        return;
    result = admin_inbox_update(&c->admin, c->ids[0], &change, 1, &obj, &err);
    inboxes_answer(c, 200, result, obj, &err);
}

void
api_inboxes_delete(api_call_t *c)
{
    const char *purge = httpd_query(c->req, "purge");
    admin_error_t err;
    admin_status_t result;
    int changed;

    if (purge != NULL && strcmp(purge, "true") != 0 && strcmp(purge, "false") != 0) {
        api_error(c, 400, "invalid_parameter", "purge must be true or false");
        return;
    }
    /* As for PATCH of status: an inbox key must not disable its own
     * inbox (turning an operator's suspension into disabled) nor purge it. */
    if (c->key_inbox_id[0]) {
        api_error(c, 403, "forbidden", "%s an inbox needs an account key",
                  purge != NULL && strcmp(purge, "true") == 0 ? "purging" : "disabling");
        return;
    }
    if (purge != NULL && strcmp(purge, "true") == 0) {
        result = admin_inbox_purge(&c->admin, c->ids[0], &err);
    } else {
        result = admin_inbox_set_status(&c->admin, c->ids[0], "disabled", NULL, &changed, &err);
    }
    if (result != ADMIN_OK)
        api_fail(c, &err);
    else
        httpd_respond(c->resp, 204, "application/json", "", 0);
}
