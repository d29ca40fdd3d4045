/*
 * api_webhooks.c -- an inbox's webhook endpoints and their deliveries.
 *
 * Public: api_webhooks_list, api_webhooks_create, api_webhooks_get,
 * api_webhooks_update, api_webhooks_delete, api_webhooks_deliveries
 * (see api.h).
 * The rules of `postinboxctl webhook` (lib/net/webhook_input.c): the URL's
 * shape (http(s), host[:port], printable ASCII, no credentials), known
 * event types ([] or absent: every type).  Plain http:// is refused
 * unless webhook_allow_http = yes, since the dispatcher would refuse it
 * anyway and an API client sees no warning.  Which addresses a URL may
 * reach is checked when the dispatcher connects (lib/net/ssrf.c, on the
 * address actually connected to), not here: DNS can change.  The secret
 * (whsec_...) is in the answer to POST only.  Every change writes an
 * audit row (webhook.add / webhook.update / webhook.delete, actor
 * "api:<key id>") in the same statement.  Only endpoints of the inbox in
 * the path are visible here (account-wide ones are postinboxctl's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "records.h"
#include "validate.h"
#include "webhook_input.h"

/* $1 inbox, $2 account, $3 endpoint */
#define WEBHOOKS_ONE " WHERE e.id = $3::uuid AND e.inbox_id = $1::uuid AND e.account_id = $2::uuid"

/* Checks url (when given) into out.  0, or -1 after answering 400. */
static int
webhooks_url(api_call_t *c, const char *url, char out[WEBHOOK_URL_MAX + 1])
{
    char err[160];
    if (webhook_input_url(url, out, err, sizeof(err)) != 0) {
        api_error(c, 400, "invalid_field", "url %s", err);
        return -1;
    }
    if (strncmp(out, "http://", 7) == 0 && !c->rt->cfg->webhook_allow_http) {
        api_error(c, 400, "invalid_field", "url: plain http:// is not allowed (webhook_allow_http = no)");
        return -1;
    }
    return 0;
}

/* events: an array of known types into a PostgreSQL array literal.  0,
 * or -1 after answering 400. */
static int
webhooks_events(api_call_t *c, const json_t *events, char *out, size_t outlen)
{
    int chosen[32] = { 0 };
    size_t i;
    json_t *item;

    json_array_foreach(events, i, item) {
        const char *type = json_string_value(item);
        int index = webhook_input_event_index(type, strlen(type));
        if (index < 0) {
            api_error(c, 400, "invalid_field", "events: \"%.100s\" is not an event type", type);
            return -1;
        }
        chosen[index] = 1;
    }
    webhook_input_events(chosen, out, outlen);
    return 0;
}

/* Answers status with the endpoint $3 and its delivery counts. */
static void
webhooks_answer(api_call_t *c, int status, const char *id)
{
    const char *params[3] = { c->ids[0], c->account_id, id };
    PGresult *res = api_query(c, RECORDS_ENDPOINT_COLUMNS ", " RECORDS_ENDPOINT_COUNTS RECORDS_ENDPOINT_FROM WEBHOOKS_ONE,
                              3, params);
    json_t *obj;

    if (res == NULL)
        return;
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(c, 404, "not_found", "no webhook %s in inbox %s", id, c->ids[0]);
        return;
    }
    obj = records_endpoint_json(res, 0);
    json_object_set_new(obj, "deliveries", pgjson_parsed(res, 0, 12));
    PQclear(res);
    httpd_respond_json(c->resp, status, obj);
}

void
api_webhooks_list(api_call_t *c)
{
    const char *filter[2] = { c->ids[0], c->account_id };
    long limit, offset;

    if (api_page(c, &limit, &offset) != 0 || api_owned_inbox(c, c->ids[0]) != 1)
        return;
    api_list(c,
             "SELECT count(*) FROM postinbox.webhook_endpoint e WHERE e.inbox_id = $1::uuid AND e.account_id = $2::uuid",
             RECORDS_ENDPOINT_COLUMNS RECORDS_ENDPOINT_FROM
             " WHERE e.inbox_id = $1::uuid AND e.account_id = $2::uuid"
             " ORDER BY e.created_at DESC, e.id DESC LIMIT $3::integer OFFSET $4::integer",
             2, filter, limit, offset, records_endpoint_json);
}

void
api_webhooks_create(api_call_t *c)
{
    static const apiutil_field_t spec[] = {
        { "url", APIUTIL_STRING, 1 },
        { "events", APIUTIL_STRING_ARRAY, 0 },
        { NULL, 0, 0 },
    };
    char url[WEBHOOK_URL_MAX + 1], events[512] = "{}", secret[WEBHOOK_SECRET_SIZE], err[256];
    json_t *list = json_object_get(c->body, "events"), *obj;
    PGresult *res;

    if (api_body_fields(c, spec) != 0 || webhooks_url(c, json_string_value(json_object_get(c->body, "url")), url) != 0)
        return;
    if (list != NULL && webhooks_events(c, list, events, sizeof(events)) != 0)
        return;
    if (webhook_input_new_secret(secret, err, sizeof(err)) != 0) {
        api_error(c, 500, "internal", "%s", err);
        return;
    }
    const char *params[6] = { c->ids[0], c->account_id, url, secret, events, c->actor };
    res = api_query(c,
                    "WITH ep AS ("
                    "   INSERT INTO postinbox.webhook_endpoint (account_id, inbox_id, url, secret, event_types)"
                    "   SELECT i.account_id, i.id, $3, $4, $5::text[] FROM postinbox.inbox i"
                    "    WHERE i.id = $1::uuid AND i.account_id = $2::uuid"
                    "   RETURNING id, url, event_types, enabled, inbox_id, account_id, created_at),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, new_value)"
                    "   SELECT inbox_id, $6::text, 'webhook.add', jsonb_build_object('endpointId', id, 'url', url,"
                    "          'events', event_types, 'accountId', account_id)::text FROM ep)"
                    " SELECT id, url, to_json(event_types)::text, enabled, inbox_id, account_id, "
                    PGJSON_ISO("created_at") " FROM ep",
                    6, params);
    if (res == NULL)
        return;
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(c, 404, "not_found", "no inbox %s", c->ids[0]);
        return;
    }
    obj = json_object();
    json_object_set_new(obj, "id", pgjson_text(res, 0, 0));
    json_object_set_new(obj, "url", pgjson_text(res, 0, 1));
    json_object_set_new(obj, "secret", json_string(secret));
    json_object_set_new(obj, "events", pgjson_parsed(res, 0, 2));
    json_object_set_new(obj, "enabled", pgjson_bool(res, 0, 3));
    json_object_set_new(obj, "inboxId", pgjson_text(res, 0, 4));
    json_object_set_new(obj, "accountId", pgjson_text(res, 0, 5));
    json_object_set_new(obj, "createdAt", pgjson_text(res, 0, 6));
    PQclear(res);
    httpd_respond_json(c->resp, 201, obj);
}

void
api_webhooks_get(api_call_t *c)
{
    webhooks_answer(c, 200, c->ids[1]);
}

/* After a statement that answers "SELECT count(*)" of the endpoints it
 * changed: 1 if it found the endpoint; else 0, with the 404 (or the
 * backend error, res NULL) already answered. */
static int
webhooks_touched(api_call_t *c, PGresult *res)
{
    int found;
    if (res == NULL)
        return 0;
    found = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    if (!found)
        api_error(c, 404, "not_found", "no webhook %s in inbox %s", c->ids[1], c->ids[0]);
    return found;
}

void
api_webhooks_update(api_call_t *c)
{
    static const apiutil_field_t spec[] = {
        { "url", APIUTIL_STRING, 0 },
        { "events", APIUTIL_STRING_ARRAY, 0 },
        { "enabled", APIUTIL_BOOLEAN, 0 },
        { NULL, 0, 0 },
    };
    const char *url_in = json_string_value(json_object_get(c->body, "url"));
    json_t *list = json_object_get(c->body, "events"), *enabled = json_object_get(c->body, "enabled");
    char url[WEBHOOK_URL_MAX + 1], events[512] = "{}";
    PGresult *res;

    if (api_body_fields(c, spec) != 0)
        return;
    if (url_in != NULL && webhooks_url(c, url_in, url) != 0)
        return;
    if (list != NULL && webhooks_events(c, list, events, sizeof(events)) != 0)
        return;
    const char *params[7] = { c->ids[0], c->account_id, c->ids[1], url_in ? url : NULL, list ? events : NULL,
                              enabled ? (json_is_true(enabled) ? "true" : "false") : NULL, c->actor };
    res = api_query(c,
                    "WITH target AS ("
                    "   SELECT e.id, e.url, e.event_types, e.enabled FROM postinbox.webhook_endpoint e" WEBHOOKS_ONE
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
                    " SELECT count(*) FROM upd",
                    7, params);
    if (!webhooks_touched(c, res))
        return;
    webhooks_answer(c, 200, c->ids[1]);
}

void
api_webhooks_delete(api_call_t *c)
{
    const char *params[4] = { c->ids[0], c->account_id, c->ids[1], c->actor };
    PGresult *res;

    /* the deliveries and attempts go with it (ON DELETE CASCADE) */
    res = api_query(c,
                    "WITH del AS ("
                    "   DELETE FROM postinbox.webhook_endpoint e" WEBHOOKS_ONE
                    "   RETURNING e.id, e.inbox_id, e.account_id, e.url, e.enabled, e.event_types),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value)"
                    "   SELECT inbox_id, $4::text, 'webhook.delete', jsonb_build_object('endpointId', id,"
                    "          'url', url, 'enabled', enabled, 'events', event_types,"
                    "          'accountId', account_id)::text FROM del)"
                    " SELECT count(*) FROM del",
                    4, params);
    if (!webhooks_touched(c, res))
        return;
    httpd_respond(c->resp, 204, "application/json", "", 0);
}

void
api_webhooks_deliveries(api_call_t *c)
{
    const char *status = httpd_query(c->req, "status");
    const char *filter[4] = { c->ids[0], c->account_id, c->ids[1], status };
    const char *check[3] = { c->ids[0], c->account_id, c->ids[1] };
    long limit, offset;
    PGresult *res;
    int found;

    if (api_page(c, &limit, &offset) != 0)
        return;
    if (status != NULL && strcmp(status, "pending") != 0 && strcmp(status, "delivered") != 0 &&
        strcmp(status, "failed") != 0) {
        api_error(c, 400, "invalid_parameter", "status must be pending, delivered or failed");
        return;
    }
    res = api_query(c, "SELECT 1 FROM postinbox.webhook_endpoint e" WEBHOOKS_ONE, 3, check);
    if (res == NULL)
        return;
    found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {
        api_error(c, 404, "not_found", "no webhook %s in inbox %s", c->ids[1], c->ids[0]);
        return;
    }
#define DELIVERIES_WHERE                                                                                \
    " WHERE d.endpoint_id = $3::uuid AND d.endpoint_id IN (SELECT e.id FROM postinbox.webhook_endpoint e" \
    WEBHOOKS_ONE ") AND ($4::text IS NULL OR d.status = $4::text)"
    api_list(c, "SELECT count(*) FROM postinbox.webhook_delivery d" DELIVERIES_WHERE,
             RECORDS_DELIVERY_SELECT DELIVERIES_WHERE
             " ORDER BY d.created_at DESC, d.id DESC LIMIT $5::integer OFFSET $6::integer",
             4, filter, limit, offset, records_delivery_json);
#undef DELIVERIES_WHERE
}
