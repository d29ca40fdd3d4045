/*
 * cmd_webhook.c -- webhook endpoints: add, list, show, disable, enable,
 * delete, rotate-secret.
 *
 * Public: cmd_webhook_add, cmd_webhook_list, cmd_webhook_show,
 * cmd_webhook_disable, cmd_webhook_enable, cmd_webhook_delete,
 * cmd_webhook_rotate (see cmd.h).
 * An endpoint belongs to one inbox (--inbox; its account_id is that
 * inbox's account) or to a whole account (--account, inbox_id NULL); the
 * fan-out trigger of sql/functions/webhooks.sql gives it that scope's events.
 * The signing secret is printed by add and rotate-secret only, on stdout,
 * and never appears in an error message.  Each change and its audit row
 * (action webhook.add / .disable / .enable / .delete / .rotate, old and
 * new value as JSON naming the endpoint, inbox_id the endpoint's inbox)
 * are one statement.  Disabling a disabled endpoint or enabling an
 * enabled one changes nothing and writes no audit row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "output.h"
#include "records.h"
#include "webhook_common.h"

#define ENDPOINT_COLUMNS RECORDS_ENDPOINT_COLUMNS
#define ENDPOINT_FROM RECORDS_ENDPOINT_FROM
#define ENDPOINT_COUNTS RECORDS_ENDPOINT_COUNTS

/* webhook list: $1 inbox, $2 account, either NULL for any. */
#define ENDPOINT_FILTER " WHERE ($1::uuid IS NULL OR e.inbox_id = $1::uuid) AND ($2::uuid IS NULL OR e.account_id = $2::uuid)"

static const output_column_t endpoint_columns[] = {
    { "ID", "id", 0 },
    { "ENABLED", "enabled", 0 },
    { "INBOX", "inboxAddress", 40 },
    { "EVENTS", "events", 40 },
    { "URL", "url", 60 },
    { NULL, NULL, 0 },
};

/* One ENDPOINT_COLUMNS row as the endpoint object (never the secret);
 * for people, "all" instead of an empty event list. */
static json_t *
endpoint_json(const PGresult *res, int row)
{
    json_t *obj = records_endpoint_json(res, row);
    json_object_set_new(obj, "events", webhook_events_json(res, row, 2));
    return obj;
}

/* Prints the endpoint with id and its delivery counts.  0 or CTL_EXIT_ERROR. */
static int
endpoint_print(ctl_t *ctl, const char *id)
{
    const char *params[1] = { id };
    PGresult *res = ctl_query(ctl, ENDPOINT_COLUMNS ", " ENDPOINT_COUNTS ENDPOINT_FROM " WHERE e.id = $1::uuid", 1, params);
    json_t *obj;

    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return output_error("no webhook endpoint %s", id);
    }
    obj = endpoint_json(res, 0);
    json_object_set_new(obj, "deliveries", ctl_json_parsed(res, 0, 12));
    PQclear(res);
    output_object(obj, NULL);
    return 0;
}

/* The statement of webhook add: $1 the inbox or account, $2 url, $3
 * secret, $4 event types, $5 actor.  SOURCE yields (account, inbox). */
#define ENDPOINT_INSERT(SOURCE)                                                                         \
    "WITH ep AS ("                                                                                      \
    "   INSERT INTO postinbox.webhook_endpoint (account_id, inbox_id, url, secret, event_types)"        \
    "   " SOURCE                                                                                        \
    "   RETURNING id, url, event_types, enabled, inbox_id, account_id, created_at),"                    \
    " aud AS ("                                                                                         \
    "   INSERT INTO postinbox.audit (inbox_id, actor, action, new_value)"                               \
    "   SELECT inbox_id, $5::text, 'webhook.add', jsonb_build_object('endpointId', id, 'url', url,"     \
    "          'events', event_types, 'accountId', account_id)::text FROM ep)"                          \
    " SELECT id, url, to_json(event_types)::text, enabled, inbox_id, account_id, " CTL_ISO("created_at") \
    " FROM ep"

int
cmd_webhook_add(ctl_t *ctl, const args_t *args)
{
    const char *inbox = args_value(args, "inbox"), *account = args_value(args, "account");
    char url[WEBHOOK_URL_MAX + 1], events[512], secret[WEBHOOK_SECRET_SIZE], inbox_id[40];
    PGresult *res;
    json_t *obj;
    int rc;

    if ((inbox == NULL) == (account == NULL))
        return output_usage("give exactly one of --inbox and --account");
    if (account != NULL && (rc = args_uuid(args, "account", &account)) != 0)
        return rc;
    if (args_value(args, "url") == NULL)
        return output_usage("--url is required");
    if ((rc = webhook_url(args_value(args, "url"), url)) != 0 ||
        (rc = webhook_events(args_value(args, "events"), events, sizeof(events))) != 0)
        return rc;
    if (strncmp(url, "http://", 7) == 0 && !ctl->cfg->webhook_allow_http)
        output_warn("%s is plain http: the dispatcher refuses it unless webhook_allow_http = yes", url);
    if (inbox != NULL && (rc = ctl_resolve_inbox(ctl, inbox, inbox_id)) != 0)
        return rc;
    if ((rc = webhook_new_secret(secret)) != 0)
        return rc;

    const char *params[5] = { inbox ? inbox_id : account, url, secret, events, ctl_actor() };
    if (inbox != NULL)
        res = ctl_query_private(ctl,
                                ENDPOINT_INSERT("SELECT i.account_id, i.id, $2, $3, $4::text[]"
                                                " FROM postinbox.inbox i WHERE i.id = $1::uuid"),
                                5, params);
    else
        res = ctl_query_private(ctl,
                                ENDPOINT_INSERT("SELECT a.id, NULL::uuid, $2, $3, $4::text[]"
                                                " FROM postinbox.account a WHERE a.id = $1::uuid"),
                                5, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return inbox ? output_error("no inbox %s", inbox) : output_error("no account %s", account);
    }
    obj = json_object();
    json_object_set_new(obj, "id", ctl_json_text(res, 0, 0));
    json_object_set_new(obj, "url", ctl_json_text(res, 0, 1));
    json_object_set_new(obj, "secret", json_string(secret));
    json_object_set_new(obj, "events", webhook_events_json(res, 0, 2));
    json_object_set_new(obj, "enabled", ctl_json_bool(res, 0, 3));
    json_object_set_new(obj, "inboxId", ctl_json_text(res, 0, 4));
    json_object_set_new(obj, "accountId", ctl_json_text(res, 0, 5));
    json_object_set_new(obj, "createdAt", ctl_json_text(res, 0, 6));
    PQclear(res);
    output_object(obj, NULL);
    return 0;
}

int
cmd_webhook_list(ctl_t *ctl, const args_t *args)
{
    char inbox_id[40], limit_text[24], offset_text[24];
    const char *account = args_value(args, "account");
    const char *params[4] = { NULL, account, limit_text, offset_text };
    long limit, offset;
    long long total;
    PGresult *res;
    json_t *rows;
    int rc;

    if (account != NULL && (rc = args_uuid(args, "account", &account)) != 0)
        return rc;
    if ((rc = args_page(args, &limit, &offset)) != 0)
        return rc;
    if (args_value(args, "inbox") != NULL) {
        if ((rc = ctl_resolve_inbox(ctl, args_value(args, "inbox"), inbox_id)) != 0)
            return rc;
        params[0] = inbox_id;
    }
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    snprintf(offset_text, sizeof(offset_text), "%ld", offset);
    if ((rc = ctl_count(ctl, "SELECT count(*) FROM postinbox.webhook_endpoint e" ENDPOINT_FILTER, 2, params,
                        &total)) != 0)
        return rc;
    res = ctl_query(ctl,
                    ENDPOINT_COLUMNS ENDPOINT_FROM ENDPOINT_FILTER
                    " ORDER BY e.created_at DESC, e.id DESC LIMIT $3::integer OFFSET $4::integer",
                    4, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(rows, endpoint_json(res, r));
    PQclear(res);
    output_list(rows, total, offset, endpoint_columns);
    return 0;
}

int
cmd_webhook_show(ctl_t *ctl, const args_t *args)
{
    const char *id;
    int rc = webhook_id_arg(args, &id);
    return rc ? rc : endpoint_print(ctl, id);
}

/* Enables or disables the endpoint named by the positional argument. */
static int
endpoint_set_enabled(ctl_t *ctl, const args_t *args, int enable)
{
    const char *id, *reason;
    PGresult *res;
    int rc;

    if ((rc = webhook_id_arg(args, &id)) != 0 || (rc = args_text(args, "reason", 1000, 0, &reason)) != 0)
        return rc;
    const char *params[4] = { id, enable ? "true" : "false", reason, ctl_actor() };
    res = ctl_query(ctl,
                    "WITH target AS ("
                    "   SELECT id, enabled, disabled_reason FROM postinbox.webhook_endpoint"
                    "    WHERE id = $1::uuid FOR UPDATE),"
                    " upd AS ("
                    "   UPDATE postinbox.webhook_endpoint e SET enabled = $2::boolean,"
                    "          disabled_reason = CASE WHEN $2::boolean THEN NULL"
                    "                                 ELSE coalesce($3::text, 'disabled by ' || $4::text) END,"
                    "          failing_since = CASE WHEN $2::boolean THEN NULL ELSE e.failing_since END,"
                    "          updated_at = now()"
                    "     FROM target t WHERE e.id = t.id AND t.enabled <> $2::boolean"
                    "   RETURNING e.id, e.inbox_id, e.enabled, e.disabled_reason, t.disabled_reason AS old_reason),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, new_value, reason)"
                    "   SELECT inbox_id, $4::text, CASE WHEN enabled THEN 'webhook.enable' ELSE 'webhook.disable' END,"
                    "          jsonb_build_object('endpointId', id, 'enabled', NOT enabled,"
                    "                             'disabledReason', old_reason)::text,"
                    "          jsonb_build_object('endpointId', id, 'enabled', enabled,"
                    "                             'disabledReason', disabled_reason)::text, $3::text FROM upd)"
                    " SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM upd)",
                    4, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        PQclear(res);
        return output_error("no webhook endpoint %s", id);
    }
    if (strcmp(PQgetvalue(res, 0, 1), "0") == 0)
        output_warn("webhook endpoint %s is already %s; nothing changed", id, enable ? "enabled" : "disabled");
    PQclear(res);
    return endpoint_print(ctl, id);
}

int
cmd_webhook_disable(ctl_t *ctl, const args_t *args)
{
    return endpoint_set_enabled(ctl, args, 0);
}

int
cmd_webhook_enable(ctl_t *ctl, const args_t *args)
{
    return endpoint_set_enabled(ctl, args, 1);
}

int
cmd_webhook_delete(ctl_t *ctl, const args_t *args)
{
    const char *id, *reason;
    PGresult *res;
    json_t *obj;
    int rc;

    if ((rc = webhook_id_arg(args, &id)) != 0 || (rc = args_text(args, "reason", 1000, 0, &reason)) != 0)
        return rc;
    const char *params[3] = { id, ctl_actor(), reason };
    /* the deliveries and attempts go with it (ON DELETE CASCADE); the
     * count is read from this statement's snapshot, before the delete */
    res = ctl_query(ctl,
                    "WITH del AS ("
                    "   DELETE FROM postinbox.webhook_endpoint WHERE id = $1::uuid"
                    "   RETURNING id, inbox_id, account_id, url, enabled, event_types),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, reason)"
                    "   SELECT inbox_id, $2::text, 'webhook.delete', jsonb_build_object('endpointId', id,"
                    "          'url', url, 'enabled', enabled, 'events', event_types,"
                    "          'accountId', account_id)::text, $3::text FROM del)"
                    " SELECT (SELECT count(*) FROM del),"
                    "        (SELECT count(*) FROM postinbox.webhook_delivery WHERE endpoint_id = $1::uuid)",
                    3, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        PQclear(res);
        return output_error("no webhook endpoint %s", id);
    }
    obj = json_object();
    json_object_set_new(obj, "id", json_string(id));
    json_object_set_new(obj, "deleted", json_true());
    json_object_set_new(obj, "deliveriesDeleted", ctl_json_int(res, 0, 1));
    PQclear(res);
    output_object(obj, NULL);
    return 0;
}

int
cmd_webhook_rotate(ctl_t *ctl, const args_t *args)
{
    char secret[WEBHOOK_SECRET_SIZE], grace[24];
    const char *id;
    PGresult *res;
    json_t *obj;
    int rc;

    if ((rc = webhook_id_arg(args, &id)) != 0 || (rc = webhook_new_secret(secret)) != 0)
        return rc;
    snprintf(grace, sizeof(grace), "%ld", ctl->cfg->webhook_rotation_grace_ms);
    const char *params[4] = { id, secret, grace, ctl_actor() };
    /* With a grace of 0 the old secret stops working at once. */
    res = ctl_query_private(ctl,
                            "WITH upd AS ("
                            "   UPDATE postinbox.webhook_endpoint SET"
                            "          previous_secret = CASE WHEN $3::bigint > 0 THEN secret END,"
                            "          previous_secret_expires_at = CASE WHEN $3::bigint > 0"
                            "               THEN now() + $3::bigint * interval '1 millisecond' END,"
                            "          secret = $2::text, updated_at = now()"
                            "    WHERE id = $1::uuid"
                            "   RETURNING id, inbox_id, previous_secret_expires_at),"
                            " aud AS ("
                            "   INSERT INTO postinbox.audit (inbox_id, actor, action, new_value)"
                            "   SELECT inbox_id, $4::text, 'webhook.rotate', jsonb_build_object('endpointId', id,"
                            "          'previousSecretExpiresAt', previous_secret_expires_at)::text FROM upd)"
                            " SELECT id, " CTL_ISO("previous_secret_expires_at") " FROM upd",
                            4, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return output_error("no webhook endpoint %s", id);
    }
    obj = json_object();
    json_object_set_new(obj, "id", ctl_json_text(res, 0, 0));
    json_object_set_new(obj, "secret", json_string(secret));
    json_object_set_new(obj, "previousSecretExpiresAt", ctl_json_text(res, 0, 1));
    PQclear(res);
    output_object(obj, NULL);
    return 0;
}
