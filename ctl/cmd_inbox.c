/*
 * cmd_inbox.c -- inboxes: create, show, list, and status changes.
 *
 * Public: cmd_inbox_create, cmd_inbox_show, cmd_inbox_list,
 * cmd_inbox_disable, cmd_inbox_suspend, cmd_inbox_activate (see cmd.h).
 * The options are checked and the answers worded here; the work is
 * lib/admin's (admin_inbox.c, admin_list.c), which the HTTP API uses too.
 * Inbox objects carry the effective limits (postinbox.inbox_limits) and
 * today's usage read from Redis (sendsToday, burstUsed; null with one
 * warning when Redis is unreachable).  A status change, its audit row and
 * its inbox.suspended / inbox.disabled event are one SQL statement, so
 * they happen together or not at all; asking for the status an inbox
 * already has changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "admin_inbox.h"
#include "cmd.h"
#include "output.h"

#define INBOX_STR(x) #x
#define INBOX_XSTR(x) INBOX_STR(x)

static const output_column_t inbox_columns[] = {
    { "ID", "id", 0 },
    { "STATUS", "status", 0 },
    { "KIND", "kind", 0 },
    { "TODAY", "sendsToday", 0 },
    { "DAILY", "dailySendLimit", 0 },
    { "BURST", "burstLimit", 0 },
    { "ADDRESS", "address", 60 },
    { NULL, NULL, 0 },
};

/* Prints the inbox with id.  0 or CTL_EXIT_ERROR. */
static int
inbox_print(ctl_t *ctl, const char *id)
{
    admin_t *admin = ctl_admin(ctl);
    admin_error_t err;
    json_t *obj;

    if (admin == NULL)
        return CTL_EXIT_ERROR;
    if (admin_inbox_show(admin, id, 0, &obj, &err) != ADMIN_OK)
        return ctl_fail(&err);
    output_object(obj, NULL);
    return 0;
}

/* How postinboxctl words inbox_create()'s results: before + the value
 * named by what (a account, d domain, @ address) + after. */
static const struct {
    const char *result;
    char what;
    const char *before, *after;
} inbox_create_texts[] = {
    { "no_account", 'a', "no account ", "" },
    { "no_domain", 'd', "no domain ", " (add it with: postinboxctl domain add)" },
    { "sandbox_domain", 'd', "", " is the sandbox domain: leave out --domain for a sandbox inbox" },
    { "foreign_domain", 'd', "domain ", " belongs to another account" },
    { "unverified_domain", 'd', "domain ",
      " is not verified: its DNS records must be published and pass the check (postinboxctl domain records, "
      "domain verify)" },
    { "sandbox_taken", 'd', "sandbox domain ", " is registered as a custom domain" },
    { "local_too_long", '@', "", ": the part before '@' is longer than 64 characters" },
    { "too_long", '@', "", " is not a valid address (at most " INBOX_XSTR(ADDRESS_MAX) " characters)" },
    { "exists", '@', "inbox address already exists: ", "" },
};

/* Reports a failed inbox create. */
static int
inbox_create_error(const admin_error_t *err, const char *account, const char *domain)
{
    const char *address = err->subject;

    if (strcmp(err->reason, "database") == 0)
        return ctl_fail(err);
    for (size_t i = 0; i < sizeof(inbox_create_texts) / sizeof(inbox_create_texts[0]); i++) {
        if (strcmp(err->reason, inbox_create_texts[i].result) == 0) {
            char what = inbox_create_texts[i].what;
            return output_error("%s%s%s", inbox_create_texts[i].before,
                                what == 'a' ? account : what == 'd' ? domain : address, inbox_create_texts[i].after);
        }
    }
    return output_error("cannot create the inbox: %s", err->reason);
}

int
cmd_inbox_create(ctl_t *ctl, const args_t *args)
{
    const char *labels[VALID_MAX_LABELS + 1];
    char username[ADMIN_USERNAME_SIZE], domain[300], sandbox[300];
    admin_inbox_new_t in = { .username = username, .sandbox = sandbox };
    admin_error_t err;
    admin_t *admin;
    json_t *label_array, *obj;
    int nlabels, rc, bad;

    if ((rc = args_uuid(args, "account", &in.account_id)) != 0)
        return rc;
    if (args_value(args, "username") == NULL)
        return output_usage("--username is required");
    if (admin_username(args_value(args, "username"), username) != 0)
        return output_usage("--username: \"%s\" is not a valid user name"
                            " (1-64 of a-z 0-9 . _ + -, starting with a letter or digit,"
                            " no \"..\", not ending in \".\")",
                            args_value(args, "username"));
    if (args_value(args, "domain") != NULL) {
        snprintf(domain, sizeof(domain), "%s", args_value(args, "domain"));
        ascii_lower(domain);
        if (strlen(args_value(args, "domain")) >= sizeof(domain) || !valid_hostname(domain))
            return output_usage("--domain: \"%s\" is not a domain name", args_value(args, "domain"));
        in.domain_name = domain;
    }
    if ((rc = args_text(args, "display-name", VALID_DISPLAY_NAME_MAX, 0, &in.display_name)) != 0)
        return rc;
    nlabels = args_values(args, "label", labels, VALID_MAX_LABELS + 1);
    /* unchecked here: admin_labels_check refuses invalid UTF-8 */
    label_array = json_array();
    for (int i = 0; i < nlabels; i++)
        json_array_append_new(label_array, json_string_nocheck(labels[i]));
    bad = admin_labels_check(label_array);
    in.labels = label_array;
    if (bad != 0) {
        json_decref(label_array);
        if (bad < 0)
            return output_usage("at most %d --label options", VALID_MAX_LABELS);
        return output_usage("--label \"%s\": 1-100 bytes of UTF-8 text without control or bidi control characters", labels[bad - 1]);
    }
    if ((rc = args_int(args, "daily-limit", 1, 2147483647L, 0, &in.daily_limit, NULL)) != 0 ||
        (rc = args_int(args, "burst-limit", 1, 2147483647L, 0, &in.burst_limit, NULL)) != 0) {
        json_decref(label_array);
        return rc;
    }
    snprintf(sandbox, sizeof(sandbox), "%s", ctl->cfg->sandbox_domain);
    ascii_lower(sandbox);
    if (strlen(ctl->cfg->sandbox_domain) >= sizeof(sandbox) || !valid_hostname(sandbox)) {
        json_decref(label_array);
        return output_error("sandbox_domain \"%s\" is not a domain name", ctl->cfg->sandbox_domain);
    }
    if ((admin = ctl_admin(ctl)) == NULL) {
        json_decref(label_array);
        return CTL_EXIT_ERROR;
    }
    /* postinbox.inbox_create() (sql/007), as POST /v1/inboxes */
    rc = admin_inbox_create(admin, &in, 0, &obj, &err);
    json_decref(label_array);
    if (rc != ADMIN_OK)
        return inbox_create_error(&err, in.account_id, in.domain_name ? domain : sandbox);
    output_object(obj, NULL);
    return 0;
}

int
cmd_inbox_show(ctl_t *ctl, const args_t *args)
{
    char id[40];
    int rc = ctl_resolve_inbox(ctl, args->pos[0], id);
    return rc ? rc : inbox_print(ctl, id);
}

int
cmd_inbox_list(ctl_t *ctl, const args_t *args)
{
    admin_filter_t filter = { .account_id = args_value(args, "account") };
    long limit, offset;
    int rc;

    if (filter.account_id != NULL && (rc = args_uuid(args, "account", &filter.account_id)) != 0)
        return rc;
    if ((rc = args_page(args, &limit, &offset)) != 0)
        return rc;
    return ctl_list(ctl, ADMIN_LIST_INBOXES, &filter, limit, offset, NULL, inbox_columns);
}

/* Sets the status of the inbox named by the positional argument, with
 * its audit row and (suspended, disabled) its event, atomically. */
static int
inbox_set_status(ctl_t *ctl, const args_t *args, const char *status)
{
    const char *reason;
    admin_error_t err;
    admin_t *admin;
    char id[40];
    int rc, changed;

    if ((rc = args_text(args, "reason", 1000, 0, &reason)) != 0)
        return rc;
    if ((rc = ctl_resolve_inbox(ctl, args->pos[0], id)) != 0)
        return rc;
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    /* postinbox.inbox_set_status() (sql/007), as the HTTP API */
    if (admin_inbox_set_status(admin, id, status, reason, &changed, &err) != ADMIN_OK)
        return err.status == ADMIN_NOT_FOUND ? output_error("no inbox %s", args->pos[0]) : ctl_fail(&err);
    if (!changed)
        output_warn("inbox %s is already %s; nothing changed", args->pos[0], status);
    return inbox_print(ctl, id);
}

int
cmd_inbox_disable(ctl_t *ctl, const args_t *args)
{
    return inbox_set_status(ctl, args, "disabled");
}

int
cmd_inbox_suspend(ctl_t *ctl, const args_t *args)
{
    return inbox_set_status(ctl, args, "suspended");
}

int
cmd_inbox_activate(ctl_t *ctl, const args_t *args)
{
    return inbox_set_status(ctl, args, "active");
}
