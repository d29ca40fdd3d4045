/*
 * api_suppressions.c -- an inbox's suppression list.
 *
 * Public: api_suppressions_list, api_suppressions_create,
 * api_suppressions_delete (see api.h).
 * GET filters by ?source= (bounce, complaint, manual), ?reason= (the
 * bounce reason, README "Bounce reasons"), ?address= (addresses starting
 * with it, any case) and ?after= / ?before= (created at; after
 * inclusive, before exclusive), paginated as every list.  POST adds an
 * address by hand (source manual, optional reason and expiresAt in the
 * future): 201, or 409 when it is on the list already (an expired entry
 * does not count).  DELETE takes the address off: 204, 404 when it is
 * not there, 403 suppression_locked for a complaint entry, which only
 * the operator may remove (postinboxctl).  Addresses are read as the
 * milter reads RCPT TO (lib/util/address).  The statements and their
 * audit rows (actor "api:<key id>") are lib/admin/admin_suppression.c's,
 * the same as postinboxctl's.
 */
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "admin_suppression.h"
#include "api.h"
#include "api_fields.h"
#include "validate.h"

void
api_suppressions_list(api_call_t *c)
{
    admin_filter_t filter = { .inbox_id = c->ids[0], .source = httpd_query(c->req, "source"),
                              .reason = httpd_query(c->req, "reason") };
    const char *prefix = httpd_query(c->req, "address");
    char after[80], before[80], lower[ADDRESS_MAX + 1];
    admin_error_t err;
    long limit, offset;

    if (api_page(c, &limit, &offset) != 0)
        return;
    if (admin_suppression_filter_check(filter.source, filter.reason, prefix, &err) != ADMIN_OK) {
        api_fail(c, &err);
        return;
    }
    if (prefix != NULL) {
        snprintf(lower, sizeof(lower), "%s", prefix);
        filter.address_prefix = ascii_lower(lower);
    }
    if (api_time_param(c, "after", after, &filter.after) != 0 || api_time_param(c, "before", before, &filter.before) != 0)
        return;
    api_list(c, ADMIN_LIST_SUPPRESSIONS, &filter);
}

void
api_suppressions_create(api_call_t *c)
{
    admin_suppression_entry_t in;
    admin_suppression_norm_t norm;
    admin_error_t err;
    char text[256];
    json_t *obj;

    if (api_body_fields(c, api_fields_suppression_create) != 0)
        return;
    in = (admin_suppression_entry_t){
        .address = json_string_value(json_object_get(c->body, "address")),
        .reason = json_string_value(json_object_get(c->body, "reason")),
        .expires_at = json_string_value(json_object_get(c->body, "expiresAt")),
    };
    if (admin_suppression_entry_check(&in, &norm, text, sizeof(text)) != 0) {
        api_error(c, 400, "invalid_field", "%s", text);
        return;
    }
    switch (admin_suppression_add(&c->admin, c->ids[0], norm.address, in.reason && *in.reason ? in.reason : NULL,
                                  norm.expires_at[0] ? norm.expires_at : NULL, &obj, &err)) {
    case ADMIN_OK:
        httpd_respond_json(c->resp, 201, obj);
        break;
    default:
        json_decref(obj);
        api_fail(c, &err);
        break;
    }
}

void
api_suppressions_delete(api_call_t *c)
{
    char address[ADDRESS_MAX + 1];
    admin_error_t err;
    json_t *obj;

    if (strlen(c->ids[1]) > ADDRESS_MAX || address_normalize(c->ids[1], address, sizeof(address)) != ADDRESS_OK) {
        api_error(c, 400, "invalid_id", "\"%.64s\" is not an email address", c->ids[1]);
        return;
    }
    if (admin_suppression_remove(&c->admin, c->ids[0], address, NULL, &obj, &err) != ADMIN_OK) {
        api_fail(c, &err);
        return;
    }
    json_decref(obj);
    httpd_respond(c->resp, 204, "application/json", "", 0);
}
