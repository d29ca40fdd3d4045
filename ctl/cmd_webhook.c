/*
 * cmd_webhook.c -- webhook endpoints: add, list, show, disable, enable,
 * delete, rotate-secret.
 *
 * Public: cmd_webhook_add, cmd_webhook_list, cmd_webhook_show,
 * cmd_webhook_update, cmd_webhook_disable, cmd_webhook_enable,
 * cmd_webhook_delete, cmd_webhook_rotate, cmd_webhook_encrypt_secrets
 * (see cmd.h).
 * A URL whose host is a literal private address (lib/net/ssrf.c, any
 * spelling) not in webhook_allow_networks is a usage error (exit 2)
 * naming the address and the key, at add and update.
 * An endpoint belongs to one inbox (--inbox; its account_id is that
 * inbox's account) or to a whole account (--account, inbox_id NULL); the
 * fan-out trigger of sql/functions/webhooks.sql gives it that scope's events.
 * The options are checked here; the statements are lib/admin's
 * (admin_webhook.c), which the HTTP API uses too.  The signing secret is
 * printed by add and rotate-secret only, on stdout, and never appears in
 * an error message.  Each change and its audit row (action webhook.add /
 * .disable / .enable / .delete / .rotate) are one statement.  Disabling a
 * disabled endpoint or enabling an enabled one changes nothing and
 * writes no audit row.  encrypt-secrets seals the plaintext secrets of
 * older installs and moves values sealed with secret_key_file_old to
 * secret_key_file (README "Webhook secrets"); exit 1 if any did not open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_webhook.h"
#include "cmd.h"
#include "output.h"
#include "webhook_common.h"

static const output_column_t endpoint_columns[] = {
    { "ID", "id", 0 },
    { "ENABLED", "enabled", 0 },
    { "INBOX", "inboxAddress", 40 },
    { "EVENTS", "events", 40 },
    { "URL", "url", 60 },
    { NULL, NULL, 0 },
};

/* Prints an endpoint object (dropping it). */
static int
endpoint_print(json_t *obj)
{
    webhook_events_for_people(obj);
    output_object(obj, NULL);
    return 0;
}

/* Prints the endpoint with id and its delivery counts.  0 or CTL_EXIT_ERROR. */
static int
endpoint_show(ctl_t *ctl, const char *id)
{
    admin_t *admin = ctl_admin(ctl);
    admin_error_t err;
    json_t *obj;

    if (admin == NULL)
        return CTL_EXIT_ERROR;
    if (admin_webhook_show(admin, NULL, id, &obj, &err) != ADMIN_OK)
        return ctl_fail(&err);
    return endpoint_print(obj);
}

int
cmd_webhook_add(ctl_t *ctl, const args_t *args)
{
    const char *inbox = args_value(args, "inbox"), *account = args_value(args, "account");
    char url[WEBHOOK_URL_MAX + 1], events[512], inbox_id[40];
    admin_webhook_new_t in = { .url = url, .events = events };
    admin_error_t err;
    admin_t *admin;
    json_t *obj;
    int rc;

    if ((inbox == NULL) == (account == NULL))
        return output_usage("give exactly one of --inbox and --account");
    if (account != NULL && (rc = args_uuid(args, "account", &account)) != 0)
        return rc;
    if (args_value(args, "url") == NULL)
        return output_usage("--url is required");
    if ((rc = webhook_url(args_value(args, "url"), ctl->cfg->webhook_allow_networks, url)) != 0 ||
        (rc = webhook_events(args_value(args, "events"), events, sizeof(events))) != 0)
        return rc;
    if (strncmp(url, "http://", 7) == 0 && !ctl->cfg->webhook_allow_http)
        output_warn("%s is plain http: the dispatcher refuses it unless webhook_allow_http = yes", url);
    if (inbox != NULL && (rc = ctl_resolve_inbox(ctl, inbox, inbox_id)) != 0)
        return rc;
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    in.inbox_id = inbox ? inbox_id : NULL;
    in.account_id = account;
    if (admin_webhook_add(admin, &in, &obj, &err) != ADMIN_OK)
        return err.status == ADMIN_NOT_FOUND && inbox ? output_error("no inbox %s", inbox) : ctl_fail(&err);
    return endpoint_print(obj);
}

int
cmd_webhook_list(ctl_t *ctl, const args_t *args)
{
    admin_filter_t filter = { .account_id = args_value(args, "account") };
    char inbox_id[40];
    long limit, offset;
    int rc;

    if (filter.account_id != NULL && (rc = args_uuid(args, "account", &filter.account_id)) != 0)
        return rc;
    if ((rc = args_page(args, &limit, &offset)) != 0)
        return rc;
    if (args_value(args, "inbox") != NULL) {
        if ((rc = ctl_resolve_inbox(ctl, args_value(args, "inbox"), inbox_id)) != 0)
            return rc;
        filter.inbox_id = inbox_id;
    }
    return ctl_list(ctl, ADMIN_LIST_ENDPOINTS, &filter, limit, offset, webhook_events_for_people, endpoint_columns);
}

int
cmd_webhook_show(ctl_t *ctl, const args_t *args)
{
    const char *id;
    int rc = webhook_id_arg(args, &id);
    return rc ? rc : endpoint_show(ctl, id);
}

int
cmd_webhook_update(ctl_t *ctl, const args_t *args)
{
    const char *id, *url_in = args_value(args, "url"), *events_in = args_value(args, "events");
    char url[WEBHOOK_URL_MAX + 1], events[512];
    admin_webhook_change_t change = { .enabled = -1 };
    admin_error_t err;
    admin_t *admin;
    int rc;

    if ((rc = webhook_id_arg(args, &id)) != 0)
        return rc;
    if (url_in == NULL && events_in == NULL)
        return output_usage("give --url, --events or both");
    if (url_in != NULL && (rc = webhook_url(url_in, ctl->cfg->webhook_allow_networks, url)) != 0)
        return rc;
    if (events_in != NULL &&
        (rc = webhook_events(strcmp(events_in, "all") == 0 ? "" : events_in, events, sizeof(events))) != 0)
        return rc;
    if (url_in != NULL && strncmp(url, "http://", 7) == 0 && !ctl->cfg->webhook_allow_http)
        output_warn("%s is plain http: the dispatcher refuses it unless webhook_allow_http = yes", url);
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    change.url = url_in ? url : NULL;
    change.events = events_in ? events : NULL;
    if (admin_webhook_update(admin, NULL, id, &change, &err) != ADMIN_OK)
        return ctl_fail(&err);
    return endpoint_show(ctl, id);
}

/* Enables or disables the endpoint named by the positional argument. */
static int
endpoint_set_enabled(ctl_t *ctl, const args_t *args, int enable)
{
    const char *id, *reason;
    admin_error_t err;
    admin_t *admin;
    int rc, changed;

    if ((rc = webhook_id_arg(args, &id)) != 0 || (rc = args_text(args, "reason", 1000, 0, &reason)) != 0)
        return rc;
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    if (admin_webhook_enable(admin, NULL, id, enable, reason, &changed, &err) != ADMIN_OK)
        return ctl_fail(&err);
    if (!changed)
        output_warn("webhook endpoint %s is already %s; nothing changed", id, enable ? "enabled" : "disabled");
    return endpoint_show(ctl, id);
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
    admin_error_t err;
    admin_t *admin;
    json_t *obj;
    int rc;

    if ((rc = webhook_id_arg(args, &id)) != 0 || (rc = args_text(args, "reason", 1000, 0, &reason)) != 0)
        return rc;
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    if (admin_webhook_delete(admin, NULL, id, reason, &obj, &err) != ADMIN_OK)
        return ctl_fail(&err);
    output_object(obj, NULL);
    return 0;
}

int
cmd_webhook_rotate(ctl_t *ctl, const args_t *args)
{
    admin_error_t err;
    admin_t *admin;
    const char *id;
    json_t *obj;
    int rc;

    if ((rc = webhook_id_arg(args, &id)) != 0)
        return rc;
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    if (admin_webhook_rotate(admin, NULL, id, ctl->cfg->webhook_rotation_grace_ms, &obj, &err) != ADMIN_OK)
        return ctl_fail(&err);
    output_object(obj, NULL);
    return 0;
}

int
cmd_webhook_encrypt_secrets(ctl_t *ctl, const args_t *args)
{
    admin_error_t err;
    admin_t *admin;
    json_t *obj;
    (void)args;

    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    if (admin_webhook_encrypt_secrets(admin, &obj, &err) != ADMIN_OK)
        return ctl_fail(&err);
    int failed = json_integer_value(json_object_get(obj, "failed")) > 0;
    if (failed)
        output_warn("%lld secret(s) could not be opened with secret_key_file or secret_key_file_old; "
                    "their endpoints cannot be delivered until the key that sealed them is configured",
                    (long long)json_integer_value(json_object_get(obj, "failed")));
    output_object(obj, NULL);
    return failed ? CTL_EXIT_ERROR : 0;
}
