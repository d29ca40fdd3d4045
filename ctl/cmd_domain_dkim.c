/*
 * cmd_domain_dkim.c -- a domain's DKIM keys.
 *
 * Public: cmd_domain_dkim (see cmd.h), cmd_domain_dkim_backfill.
 * "domain dkim show DOMAIN", "domain dkim rotate DOMAIN [--activate]",
 * "domain dkim activate DOMAIN [--selector S]": lib/admin/admin_dkim as
 * the operator.  Each prints the domain's keys with the TXT record to
 * publish for each; never a private key.  Rotate adds a pending key
 * (published next to the active one; the milter keeps signing with the
 * active key); activate, or rotate --activate, makes it the signing key
 * and retires the old one for dkim_retire_after.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin_dkim.h"
#include "cmd.h"
#include "ctl_db.h"
#include "dkim_keygen.h"
#include "dns_record.h"
#include "output.h"

static const output_column_t dkim_columns[] = {
    { "SELECTOR", "selector", 24 }, { "STATE", "state", 8 }, { "CREATED", "created_at", 24 },
    { "ACTIVATED", "activated_at", 24 }, { "RETIRE AFTER", "retire_after", 24 }, { NULL, NULL, 0 },
};

/* The keys of a show / rotate / activate answer. */
static int
cmd_domain_dkim_print(json_t *obj)
{
    json_t *keys = json_object_get(obj, "keys"), *key;
    size_t i;

    if (output_json()) {
        output_object(obj, NULL);
        return 0;
    }
    json_incref(keys);
    output_list(keys, (long long)json_array_size(keys), 0, dkim_columns);
    json_array_foreach(keys, i, key) {
        if (strcmp(json_string_value(json_object_get(key, "state")), "retired") == 0 &&
            json_is_null(json_object_get(key, "retire_after")))
            continue;
        char txt[2 * DKIM_KEYGEN_TXT_MAX];
        dns_txt_strings(json_string_value(json_object_get(key, "value")), txt, sizeof(txt));
        output_line("%s. TXT %s", json_string_value(json_object_get(key, "name")), txt);
    }
    json_decref(obj);
    return 0;
}

int
cmd_domain_dkim(ctl_t *ctl, const args_t *args)
{
    const char *action = args->pos[0], *domain = args->pos[1];
    admin_t *admin;
    admin_error_t err;
    admin_status_t status;
    json_t *obj = NULL;

    if (strcmp(action, "show") != 0 && strcmp(action, "rotate") != 0 && strcmp(action, "activate") != 0)
        return output_usage("domain dkim: \"%s\" is not show, rotate or activate", action);
    if (args_flag(args, "activate") && strcmp(action, "rotate") != 0)
        return output_usage("--activate goes with rotate");
    if (args_value(args, "selector") != NULL && strcmp(action, "activate") != 0)
        return output_usage("--selector goes with activate");
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    if (strcmp(action, "show") == 0)
        status = admin_dkim_show(admin, domain, &obj, &err);
    else if (strcmp(action, "rotate") == 0)
        status = admin_dkim_rotate(admin, domain, ctl->cfg->dkim_key_bits, args_flag(args, "activate"),
                                   ctl->cfg->dkim_retire_after_ms, &obj, &err);
    else
        status = admin_dkim_activate(admin, domain, args_value(args, "selector"), ctl->cfg->dkim_retire_after_ms,
                                     &obj, &err);
    if (status != ADMIN_OK)
        return ctl_fail(&err);
    return cmd_domain_dkim_print(obj);
}

int
cmd_domain_dkim_backfill(ctl_t *ctl)
{
    admin_t *admin = ctl_admin(ctl);
    admin_error_t err;
    int made = 0;

    if (admin == NULL)
        return CTL_EXIT_ERROR;
    admin_status_t status = admin_dkim_ensure_all(admin, ctl->cfg->dkim_key_bits, &made, &err);
    if (made > 0)
        output_line("made an active DKIM key for %d domain%s that had none (postinboxctl domain dkim show DOMAIN: "
                    "the TXT record to publish)", made, made == 1 ? "" : "s");
    if (status != ADMIN_OK) {
        output_warn("some domains have no DKIM key, so their mail cannot be signed and is tempfailed: %s; once that "
                    "is fixed, run postinboxctl migrate again", err.message);
        return CTL_EXIT_ERROR;
    }
    return 0;
}
