/*
 * api_domains.c -- /v1/domains: an account's custom domains, the records
 * to publish and their live DNS check (lib/admin/admin_domain, the same
 * functions as postinboxctl domain ...).  Account keys only (the route
 * table says so: an inbox key is 403 before these run).
 *
 *   POST   /v1/domains              {"name"}: 201 pending, with its key pair
 *   GET    /v1/domains              the account's domains, newest first
 *   GET    /v1/domains/{id}         the domain, its records and their last check
 *   POST   /v1/domains/{id}/verify  checks the records now (dns_resolver,
 *                                   dns_timeout): 200, the domain as GET shows
 *                                   it after the check, and "check" {checksPassed,
 *                                   server, event}
 *   DELETE /v1/domains/{id}         204; 409 while inboxes use it
 */
#include <string.h>

#include "admin_domain.h"
#include "api.h"
#include "api_fields.h"
#include "dns_lookup.h"
#include "validate.h"

void
api_domains_list(api_call_t *c)
{
    admin_filter_t filter = { 0 };
    api_list(c, ADMIN_LIST_DOMAINS, &filter);
}

void
api_domains_create(api_call_t *c)
{
    char sandbox[300];
    admin_domain_new_t new = {
        .name = json_string_value(json_object_get(c->body, "name")),
        .sandbox = sandbox,
        .dkim_bits = c->rt->cfg->dkim_signing ? c->rt->cfg->dkim_key_bits : 0,
    };
    admin_error_t err;
    json_t *obj;

    if (api_body_fields(c, api_fields_domain_create) != 0)
        return;
    snprintf(sandbox, sizeof(sandbox), "%s", c->rt->cfg->sandbox_domain);
    ascii_lower(sandbox);
    if (admin_domain_create(&c->admin, &new, &obj, &err) != ADMIN_OK) {
        api_fail(c, &err);
        return;
    }
    httpd_respond_json(c->resp, 201, obj);
}

void
api_domains_get(api_call_t *c)
{
    admin_dns_t dns;
    admin_error_t err;
    json_t *obj;

    admin_dns_from_config(c->rt->cfg, &dns);
    if (admin_domain_show(&c->admin, &dns, c->ids[0], &obj, &err) != ADMIN_OK) {
        api_fail(c, &err);
        return;
    }
    httpd_respond_json(c->resp, 200, obj);
}

void
api_domains_verify(api_call_t *c)
{
    admin_dns_t dns;
    admin_error_t err;
    dns_resolver_t *resolver;
    char text[300];
    json_t *obj, *check;
    admin_status_t status;

    admin_dns_from_config(c->rt->cfg, &dns);
    /* one resolver per check: the API's threads share nothing */
    if ((resolver = dns_resolver_new(c->rt->cfg->dns_resolver, text, sizeof(text))) == NULL) {
        api_error(c, 503, "dns_unavailable", "the DNS resolver cannot be used: %s", text);
        return;
    }
    /* by id, of the key's account: another account's is 404 before DNS is asked */
    status = admin_domain_verify(&c->admin, &dns, resolver, c->rt->cfg->dns_timeout_ms, c->ids[0], &check, &err);
    dns_resolver_free(resolver);
    if (status != ADMIN_OK) {
        api_fail(c, &err);
        return;
    }
    /* the domain as GET shows it now, and this check's findings */
    if (admin_domain_show(&c->admin, &dns, c->ids[0], &obj, &err) != ADMIN_OK) {
        json_decref(check);
        api_fail(c, &err);
        return;
    }
    json_object_set_new(obj, "check",
                        json_pack("{s:O, s:O, s:O}", "checksPassed", json_object_get(check, "checks_passed"),
                                  "server", json_object_get(check, "server"), "event", json_object_get(check, "event")));
    json_decref(check);
    httpd_respond_json(c->resp, 200, obj);
}

void
api_domains_delete(api_call_t *c)
{
    admin_error_t err;

    if (admin_domain_delete(&c->admin, c->ids[0], &err) != ADMIN_OK)
        api_fail(c, &err);
    else
        httpd_respond(c->resp, 204, "application/json", "", 0);
}
