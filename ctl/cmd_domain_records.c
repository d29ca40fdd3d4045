/*
 * cmd_domain_records.c -- "domain records DOMAIN [--zone]": what to
 * publish in DNS for a domain (lib/admin/admin_domain), as the operator.
 *
 * Public: cmd_domain_records, cmd_domain_verify (see cmd.h).
 * "domain verify DOMAIN": each record checked live in DNS (dns_resolver,
 * dns_timeout) by lib/admin/admin_domain, a line per record "STATUS
 * PURPOSE NAME. TYPE: detail", then who answered and whether the domain is
 * verified; exit 1 when a required record is not valid.
 * Without options a line per record, "PURPOSE NAME. TYPE VALUE"; --zone a
 * BIND zone fragment (absolute names, TTL 3600, the purpose as a comment);
 * --json the records as objects.  A TXT value longer than 255 octets is
 * written as several strings (lib/mail/dns_record) in both text forms.
 */
#include <stdio.h>
#include <string.h>

#include "admin_domain.h"
#include "cmd.h"
#include "ctl_db.h"
#include "dns_lookup.h"
#include "dns_record.h"
#include "output.h"

/* Room for a TXT value written as strings: a DKIM record of RSA 4096
 * (about 750 octets) and its quotes. */
#define RECORDS_TEXT_MAX 2048

int
cmd_domain_records(ctl_t *ctl, const args_t *args)
{
    admin_t *admin = ctl_admin(ctl);
    admin_dns_t dns;
    admin_error_t err;
    json_t *obj = NULL, *rec;
    size_t i;
    int zone = args_flag(args, "zone");

    if (admin == NULL)
        return CTL_EXIT_ERROR;
    admin_dns_from_config(ctl->cfg, &dns);
    if (admin_domain_records(admin, &dns, args->pos[0], &obj, &err) != ADMIN_OK)
        return ctl_fail(&err);
    if (output_json()) {
        output_object(obj, NULL);
        return 0;
    }
    if (zone)
        output_line("; postinbox: the records of %s", json_string_value(json_object_get(obj, "domain")));
    json_array_foreach(json_object_get(obj, "records"), i, rec) {
        const char *type = json_string_value(json_object_get(rec, "type"));
        const char *value = json_string_value(json_object_get(rec, "value"));
        const char *name = json_string_value(json_object_get(rec, "name"));
        const char *purpose = json_string_value(json_object_get(rec, "purpose"));
        char text[RECORDS_TEXT_MAX];
        if (strcmp(type, "TXT") == 0)
            dns_txt_strings(value, text, sizeof(text));
        else
            snprintf(text, sizeof(text), "%s", value);
        if (zone)
            output_line("%s. 3600 IN %s %s ; %s", name, type, text, purpose);
        else
            output_line("%-9s %s. %s %s", purpose, name, type, text);
    }
    json_decref(obj);
    return 0;
}

int
cmd_domain_verify(ctl_t *ctl, const args_t *args)
{
    admin_t *admin = ctl_admin(ctl);
    admin_dns_t dns;
    admin_error_t err;
    dns_resolver_t *resolver;
    json_t *obj = NULL, *rec;
    char text[300], failing[512] = "";
    size_t i;

    if (admin == NULL)
        return CTL_EXIT_ERROR;
    admin_dns_from_config(ctl->cfg, &dns);
    if ((resolver = dns_resolver_new(ctl->cfg->dns_resolver, text, sizeof(text))) == NULL)
        return output_error("%s", text);
    admin_status_t status = admin_domain_verify(admin, &dns, resolver, ctl->cfg->dns_timeout_ms, args->pos[0], &obj,
                                                &err);
    dns_resolver_free(resolver);
    if (status != ADMIN_OK)
        return ctl_fail(&err);
    int passed = json_is_true(json_object_get(obj, "checks_passed"));
    admin_domain_unmet_records(json_object_get(obj, "records"), failing, sizeof(failing));
    json_array_foreach(json_object_get(obj, "records"), i, rec) {
        const char *st = json_string_value(json_object_get(rec, "status"));
        const char *purpose = json_string_value(json_object_get(rec, "purpose"));
        if (!output_json()) {
            const char *detail = json_string_value(json_object_get(rec, "detail"));
            output_line("%-8s %-9s %s. %s%s%s", st, purpose, json_string_value(json_object_get(rec, "name")),
                        json_string_value(json_object_get(rec, "type")), detail ? ": " : "", detail ? detail : "");
        }
    }
    if (!output_json())
        output_line("asked %s; domain %s is %s", json_string_value(json_object_get(obj, "server")),
                    json_string_value(json_object_get(obj, "domain")),
                    json_is_true(json_object_get(obj, "verified")) ? "verified" : "not verified");
    else
        output_object(obj, NULL), obj = NULL;
    json_decref(obj);
    if (!passed) {
        output_warn("not every required record is valid: %s (postinboxctl domain records %s)", failing, args->pos[0]);
        return CTL_EXIT_ERROR;
    }
    return 0;
}
