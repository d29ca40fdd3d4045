/*
 * cmd_inbox.c -- inboxes: create, show, list, and status changes.
 *
 * Public: cmd_inbox_create, cmd_inbox_show, cmd_inbox_list,
 * cmd_inbox_disable, cmd_inbox_suspend, cmd_inbox_activate (see cmd.h).
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
#include "cmd.h"
#include "output.h"
#include "records.h"

#define INBOX_MAX_LABELS VALID_MAX_LABELS

#define INBOX_SELECT RECORDS_INBOX_SELECT

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

/* One INBOX_SELECT row as the API object, with usage from Redis. */
static json_t *
inbox_json(ctl_t *ctl, const PGresult *res, int row)
{
    limit_result_t usage;
    int have_usage = ctl_usage(ctl, PQgetvalue(res, row, 0), &usage) == 0;
    return records_inbox_json(res, row, have_usage ? &usage : NULL);
}

/* Prints the inbox with id.  0 or CTL_EXIT_ERROR. */
static int
inbox_print(ctl_t *ctl, const char *id)
{
    const char *params[1] = { id };
    PGresult *res = ctl_query(ctl, INBOX_SELECT " WHERE i.id = $1::uuid", 1, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return output_error("no inbox %s", id);
    }
    output_object(inbox_json(ctl, res, 0), NULL);
    PQclear(res);
    return 0;
}

/* The error text for an inbox_create() result other than "ok". */
static int
inbox_create_error(const char *result, const char *account, const char *domain, const char *address)
{
    if (strcmp(result, "no_account") == 0)
        return output_error("no account %s", account);
    if (strcmp(result, "no_domain") == 0)
        return output_error("no domain %s (add it with: postinboxctl domain add)", domain);
    if (strcmp(result, "sandbox_domain") == 0)
        return output_error("%s is the sandbox domain: leave out --domain for a sandbox inbox", domain);
    if (strcmp(result, "foreign_domain") == 0)
        return output_error("domain %s belongs to another account", domain);
    if (strcmp(result, "unverified_domain") == 0)
        return output_error("domain %s is not verified", domain);
    if (strcmp(result, "sandbox_taken") == 0)
        return output_error("sandbox domain %s is registered as a custom domain", domain);
    if (strcmp(result, "local_too_long") == 0)
        return output_error("%s: the part before '@' is longer than 64 characters", address);
    if (strcmp(result, "too_long") == 0)
        return output_error("%s is not a valid address (at most %d characters)", address, ADDRESS_MAX);
    if (strcmp(result, "exists") == 0)
        return output_error("inbox address already exists: %s", address);
    return output_error("cannot create the inbox: %s", result);
}

int
cmd_inbox_create(ctl_t *ctl, const args_t *args)
{
    const char *account, *display_name, *labels[INBOX_MAX_LABELS + 1];
    char username[80], domain[300], sandbox[300];
    char daily_text[24], burst_text[24];
    long daily, burst;
    int daily_given, burst_given, nlabels, rc;
    json_t *label_array;
    char *labels_json;
    PGresult *res;

    if ((rc = args_uuid(args, "account", &account)) != 0)
        return rc;
    if (args_value(args, "username") == NULL)
        return output_usage("--username is required");
    snprintf(username, sizeof(username), "%s", args_value(args, "username"));
    ascii_lower(username);
    if (strlen(args_value(args, "username")) >= sizeof(username) || !valid_username(username))
        return output_usage("--username: \"%s\" is not a valid user name"
                            " (1-64 of a-z 0-9 . _ + -, starting with a letter or digit,"
                            " no \"..\", not ending in \".\")",
                            args_value(args, "username"));
    if (args_value(args, "domain") != NULL) {
        snprintf(domain, sizeof(domain), "%s", args_value(args, "domain"));
        ascii_lower(domain);
        if (strlen(args_value(args, "domain")) >= sizeof(domain) || !valid_hostname(domain))
            return output_usage("--domain: \"%s\" is not a domain name", args_value(args, "domain"));
    }
    if ((rc = args_text(args, "display-name", VALID_DISPLAY_NAME_MAX, 0, &display_name)) != 0)
        return rc;
    nlabels = args_values(args, "label", labels, INBOX_MAX_LABELS + 1);
    if (nlabels > INBOX_MAX_LABELS)
        return output_usage("at most %d --label options", INBOX_MAX_LABELS);
    for (int i = 0; i < nlabels; i++) {
        if (!valid_label(labels[i]))
            return output_usage("--label \"%s\": 1-100 bytes of UTF-8 text without control characters",
                                labels[i]);
    }
    if ((rc = args_int(args, "daily-limit", 1, 2147483647L, 0, &daily, &daily_given)) != 0 ||
        (rc = args_int(args, "burst-limit", 1, 2147483647L, 0, &burst, &burst_given)) != 0)
        return rc;
    snprintf(sandbox, sizeof(sandbox), "%s", ctl->cfg->sandbox_domain);
    ascii_lower(sandbox);
    if (strlen(ctl->cfg->sandbox_domain) >= sizeof(sandbox) || !valid_hostname(sandbox))
        return output_error("sandbox_domain \"%s\" is not a domain name", ctl->cfg->sandbox_domain);

    label_array = json_array();
    for (int i = 0; i < nlabels; i++)
        json_array_append_new(label_array, json_string(labels[i]));
    labels_json = json_dumps(label_array, JSON_COMPACT);
    json_decref(label_array);
    if (labels_json == NULL)
        return output_error("out of memory");
    snprintf(daily_text, sizeof(daily_text), "%ld", daily);
    snprintf(burst_text, sizeof(burst_text), "%ld", burst);

    /* postinbox.inbox_create() (sql/007) is what POST /v1/inboxes calls too */
    const char *params[8] = { account, args_value(args, "domain") ? domain : NULL, username, display_name,
                              labels_json, daily_given ? daily_text : NULL, burst_given ? burst_text : NULL,
                              sandbox };
    res = ctl_query(ctl,
                    "SELECT result, inbox_id, address FROM postinbox.inbox_create($1::uuid, NULL, $2, $3, $4,"
                    "   ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6::integer, $7::integer, $8)",
                    8, params);
    free(labels_json);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (strcmp(PQgetvalue(res, 0, 0), "ok") != 0) {
        rc = inbox_create_error(PQgetvalue(res, 0, 0), account, args_value(args, "domain") ? domain : sandbox,
                                PQgetvalue(res, 0, 2));
        PQclear(res);
        return rc;
    }
    char id[40];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return inbox_print(ctl, id);
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
    char limit_text[24], offset_text[24];
    const char *account = args_value(args, "account");
    const char *params[3] = { account, limit_text, offset_text };
    long limit, offset;
    long long total;
    PGresult *res;
    json_t *rows;
    int rc;

    if (account != NULL && (rc = args_uuid(args, "account", &account)) != 0)
        return rc;
    if ((rc = args_page(args, &limit, &offset)) != 0)
        return rc;
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    snprintf(offset_text, sizeof(offset_text), "%ld", offset);
    if ((rc = ctl_count(ctl,
                        "SELECT count(*) FROM postinbox.inbox WHERE $1::uuid IS NULL OR account_id = $1::uuid",
                        1, params, &total)) != 0)
        return rc;
    res = ctl_query(ctl,
                    INBOX_SELECT " WHERE $1::uuid IS NULL OR i.account_id = $1::uuid"
                                 " ORDER BY i.created_at DESC, i.id DESC LIMIT $2::integer OFFSET $3::integer",
                    3, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(rows, inbox_json(ctl, res, r));
    PQclear(res);
    output_list(rows, total, offset, inbox_columns);
    return 0;
}

/* Sets the status of the inbox named by the positional argument, with
 * its audit row and (suspended, disabled) its event, atomically. */
static int
inbox_set_status(ctl_t *ctl, const args_t *args, const char *status)
{
    const char *reason;
    char id[40];
    PGresult *res;
    int rc;

    if ((rc = args_text(args, "reason", 1000, 0, &reason)) != 0)
        return rc;
    if ((rc = ctl_resolve_inbox(ctl, args->pos[0], id)) != 0)
        return rc;

    /* postinbox.inbox_set_status() (sql/007) is what the HTTP API calls too */
    const char *params[4] = { id, status, reason, ctl_actor() };
    res = ctl_query(ctl, "SELECT old_status, changed FROM postinbox.inbox_set_status($1::uuid, $2, $3, $4, NULL)",
                    4, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return output_error("no inbox %s", args->pos[0]);
    }
    if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        output_warn("inbox %s is already %s; nothing changed", args->pos[0], status);
    PQclear(res);
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
