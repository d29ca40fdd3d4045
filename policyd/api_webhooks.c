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
 * anyway and an API client sees no warning.  A host that is a literal
 * private, loopback, link-local ... address (any spelling, IPv6 forms
 * that embed one included) not in webhook_allow_networks is 400
 * private_address; a host name is checked when the dispatcher connects
 * (lib/net/ssrf.c, on the address actually connected to): DNS can change.  The secret
 * (whsec_...) is in the answer to POST only.  The statements are
 * lib/admin's (admin_webhook.c, admin_list.c), as postinboxctl's: every
 * change writes an audit row (webhook.add / webhook.update /
 * webhook.delete, actor "api:<key id>") in the same statement.  Only endpoints of the inbox in
 * the path are visible here (account-wide ones are postinboxctl's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_webhook.h"
#include "api.h"
#include "api_fields.h"
#include "webhook_input.h"

/* Checks url (when given) into out.  0, or -1 after answering 400. */
static int
webhooks_url(api_call_t *c, const char *url, char out[WEBHOOK_URL_MAX + 1])
{
    char err[160], address[SSRF_ADDRESS_LEN];
    const char *class;
    if (webhook_input_url(url, out, err, sizeof(err)) != 0) {
        api_error(c, 400, "invalid_field", "url %s", err);
        return -1;
    }
    if ((class = webhook_input_private_host(out, c->rt->cfg->webhook_allow_networks, address)) != NULL) {
        api_error(c, 400, "private_address",
                  "url: %s is a %s address, which webhooks may not reach (not in the operator's "
                  "webhook_allow_networks)", address, class);
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

/* Answers status with the endpoint id of the path's inbox and its delivery counts. */
static void
webhooks_answer(api_call_t *c, int status, const char *id)
{
    admin_error_t err;
    json_t *obj;

    if (admin_webhook_show(&c->admin, c->ids[0], id, &obj, &err) != ADMIN_OK)
        api_fail(c, &err);
    else
        httpd_respond_json(c->resp, status, obj);
}

void
api_webhooks_list(api_call_t *c)
{
    api_list(c, ADMIN_LIST_ENDPOINTS, &(admin_filter_t){ .inbox_id = c->ids[0] });
}

void
api_webhooks_create(api_call_t *c)
{
    char url[WEBHOOK_URL_MAX + 1], events[512] = "{}";
    admin_webhook_new_t in = { .inbox_id = c->ids[0], .url = url, .events = events };
    json_t *list = json_object_get(c->body, "events"), *obj;
    admin_error_t err;

    if (api_body_fields(c, api_fields_webhook_create) != 0 || webhooks_url(c, json_string_value(json_object_get(c->body, "url")), url) != 0)
        return;
    if (list != NULL && webhooks_events(c, list, events, sizeof(events)) != 0)
        return;
    if (admin_webhook_add(&c->admin, &in, &obj, &err) != ADMIN_OK)
        api_fail(c, &err);
    else
        httpd_respond_json(c->resp, 201, obj);
}

void
api_webhooks_get(api_call_t *c)
{
    webhooks_answer(c, 200, c->ids[1]);
}

void
api_webhooks_update(api_call_t *c)
{
    const char *url_in = json_string_value(json_object_get(c->body, "url"));
    json_t *list = json_object_get(c->body, "events"), *enabled = json_object_get(c->body, "enabled");
    char url[WEBHOOK_URL_MAX + 1], events[512] = "{}";
    admin_webhook_change_t change = { .enabled = enabled ? json_is_true(enabled) : -1 };
    admin_error_t err;

    if (api_body_fields(c, api_fields_webhook_update) != 0)
        return;
    if (url_in != NULL && webhooks_url(c, url_in, url) != 0)
        return;
    if (list != NULL && webhooks_events(c, list, events, sizeof(events)) != 0)
        return;
    change.url = url_in ? url : NULL;
    change.events = list ? events : NULL;
    if (admin_webhook_update(&c->admin, c->ids[0], c->ids[1], &change, &err) != ADMIN_OK)
        api_fail(c, &err);
    else
        webhooks_answer(c, 200, c->ids[1]);
}

void
api_webhooks_delete(api_call_t *c)
{
    admin_error_t err;
    json_t *obj;

    if (admin_webhook_delete(&c->admin, c->ids[0], c->ids[1], NULL, &obj, &err) != ADMIN_OK) {
        api_fail(c, &err);
        return;
    }
    json_decref(obj);
    httpd_respond(c->resp, 204, "application/json", "", 0);
}

void
api_webhooks_deliveries(api_call_t *c)
{
    admin_filter_t filter = { .inbox_id = c->ids[0], .endpoint_id = c->ids[1], .status = httpd_query(c->req, "status") };
    long limit, offset;

    if (api_page(c, &limit, &offset) != 0)
        return;
    if (filter.status != NULL && strcmp(filter.status, "pending") != 0 && strcmp(filter.status, "delivered") != 0 &&
        strcmp(filter.status, "failed") != 0) {
        api_error(c, 400, "invalid_parameter", "status must be pending, delivered or failed");
        return;
    }
    api_list(c, ADMIN_LIST_DELIVERIES, &filter);
}
