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

#define INBOX_MAX_LABELS 50

#define INBOX_SELECT                                                                               \
    "SELECT i.id, i.address, i.display_name, i.account_id, i.domain_id, d.kind, i.status,"        \
    " i.status_reason, l.daily, l.burst, i.total_sent, i.bounce_count, i.complaint_count,"          \
    " to_json(i.labels)::text, " CTL_ISO("i.created_at") ", " CTL_ISO("i.updated_at")             \
    " FROM postinbox.inbox i JOIN postinbox.domain d ON d.id = i.domain_id"                       \
    " CROSS JOIN LATERAL postinbox.inbox_limits(i) l"

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
    json_t *obj = json_object();
    limit_result_t usage;
    int have_usage = ctl_usage(ctl, PQgetvalue(res, row, 0), &usage) == 0;

    json_object_set_new(obj, "id", ctl_json_text(res, row, 0));
    json_object_set_new(obj, "address", ctl_json_text(res, row, 1));
    json_object_set_new(obj, "displayName", ctl_json_text(res, row, 2));
    json_object_set_new(obj, "accountId", ctl_json_text(res, row, 3));
    json_object_set_new(obj, "domainId", ctl_json_text(res, row, 4));
    json_object_set_new(obj, "kind", ctl_json_text(res, row, 5));
    json_object_set_new(obj, "status", ctl_json_text(res, row, 6));
    json_object_set_new(obj, "statusReason", ctl_json_text(res, row, 7));
    json_object_set_new(obj, "dailySendLimit", ctl_json_int(res, row, 8));
    json_object_set_new(obj, "burstLimit", ctl_json_int(res, row, 9));
    json_object_set_new(obj, "sendsToday", have_usage ? json_integer(usage.sends_today) : json_null());
    json_object_set_new(obj, "burstUsed", have_usage ? json_integer(usage.burst_used) : json_null());
    json_object_set_new(obj, "totalSent", ctl_json_int(res, row, 10));
    json_object_set_new(obj, "bounceCount", ctl_json_int(res, row, 11));
    json_object_set_new(obj, "complaintCount", ctl_json_int(res, row, 12));
    json_object_set_new(obj, "labels", ctl_json_parsed(res, row, 13));
    json_object_set_new(obj, "createdAt", ctl_json_text(res, row, 14));
    json_object_set_new(obj, "updatedAt", ctl_json_text(res, row, 15));
    return obj;
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

/* The sandbox domain's id, creating its row on first use.  0 or
 * CTL_EXIT_ERROR. */
static int
inbox_sandbox_domain(ctl_t *ctl, char id[40])
{
    char name[300];
    const char *params[1] = { name };

    snprintf(name, sizeof(name), "%s", ctl->cfg->sandbox_domain);
    ascii_lower(name);
    if (strlen(ctl->cfg->sandbox_domain) >= sizeof(name) || !valid_hostname(name))
        return output_error("sandbox_domain \"%s\" is not a domain name", ctl->cfg->sandbox_domain);
    /* Two tries: a concurrent first insert commits after this statement's
     * snapshot, so neither branch sees a row; the retry does. */
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res = ctl_query(ctl,
                                  "WITH ins AS (INSERT INTO postinbox.domain (name, kind, verified)"
                                  "   VALUES ($1, 'sandbox', true)"
                                  "   ON CONFLICT ((lower(name))) DO NOTHING RETURNING id, kind)"
                                  " SELECT id, kind FROM ins"
                                  " UNION ALL SELECT id, kind FROM postinbox.domain WHERE lower(name) = $1",
                                  1, params);
        if (res == NULL)
            return CTL_EXIT_ERROR;
        if (PQntuples(res) >= 1) {
            int sandbox = strcmp(PQgetvalue(res, 0, 1), "sandbox") == 0;
            snprintf(id, 40, "%s", PQgetvalue(res, 0, 0));
            PQclear(res);
            if (!sandbox)
                return output_error("sandbox domain %s is registered as a custom domain", name);
            return 0;
        }
        PQclear(res);
    }
    return output_error("cannot create the sandbox domain %s", name);
}

/* The id of domain name, which must be a verified custom domain of
 * account.  0 or CTL_EXIT_ERROR. */
static int
inbox_custom_domain(ctl_t *ctl, const char *account, const char *name, char id[40])
{
    const char *params[1] = { name };
    PGresult *res = ctl_query(ctl,
                              "SELECT id, kind, account_id, verified FROM postinbox.domain"
                              " WHERE lower(name) = lower($1)",
                              1, params);
    int rc = 0;

    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1)
        rc = output_error("no domain %s (add it with: postinboxctl domain add)", name);
    else if (strcmp(PQgetvalue(res, 0, 1), "sandbox") == 0)
        rc = output_error("%s is the sandbox domain: leave out --domain for a sandbox inbox", name);
    else if (strcmp(PQgetvalue(res, 0, 2), account) != 0)
        rc = output_error("domain %s belongs to another account", name);
    else if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
        rc = output_error("domain %s is not verified", name);
    else
        snprintf(id, 40, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

int
cmd_inbox_create(ctl_t *ctl, const args_t *args)
{
    const char *account, *display_name, *labels[INBOX_MAX_LABELS + 1];
    char username[80], domain[300], domain_id[40], short_id[40], address[600], check[ADDRESS_MAX + 1];
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
    if ((rc = args_text(args, "display-name", 256, 0, &display_name)) != 0)
        return rc;
    nlabels = args_values(args, "label", labels, INBOX_MAX_LABELS + 1);
    if (nlabels > INBOX_MAX_LABELS)
        return output_usage("at most %d --label options", INBOX_MAX_LABELS);
    for (int i = 0; i < nlabels; i++) {
        if (labels[i][0] == '\0' || strlen(labels[i]) > 100 || !valid_text(labels[i]))
            return output_usage("--label \"%s\": 1-100 bytes of UTF-8 text without control characters",
                                labels[i]);
    }
    if ((rc = args_int(args, "daily-limit", 1, 2147483647L, 0, &daily, &daily_given)) != 0 ||
        (rc = args_int(args, "burst-limit", 1, 2147483647L, 0, &burst, &burst_given)) != 0)
        return rc;

    /* the account, for its short id */
    {
        const char *params[1] = { account };
        res = ctl_query(ctl, "SELECT short_id FROM postinbox.account WHERE id = $1::uuid", 1, params);
        if (res == NULL)
            return CTL_EXIT_ERROR;
        if (PQntuples(res) != 1) {
            PQclear(res);
            return output_error("no account %s", account);
        }
        snprintf(short_id, sizeof(short_id), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }

    if (args_value(args, "domain") == NULL) {
        if ((rc = inbox_sandbox_domain(ctl, domain_id)) != 0)
            return rc;
        snprintf(domain, sizeof(domain), "%s", ctl->cfg->sandbox_domain);
        ascii_lower(domain);
        snprintf(address, sizeof(address), "%s--%s@%s", username, short_id, domain);
    } else {
        if ((rc = inbox_custom_domain(ctl, account, domain, domain_id)) != 0)
            return rc;
        snprintf(address, sizeof(address), "%s@%s", username, domain);
    }
    if (strchr(address, '@') - address > 64)
        return output_error("%s: the part before '@' is longer than 64 characters", address);
    if (address_normalize(address, check, sizeof(check)) != ADDRESS_OK || strcmp(check, address) != 0)
        return output_error("%s is not a valid address (at most %d characters)", address, ADDRESS_MAX);

    label_array = json_array();
    for (int i = 0; i < nlabels; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= strcmp(labels[i], labels[j]) == 0;
        if (!seen)
            json_array_append_new(label_array, json_string(labels[i]));
    }
    labels_json = json_dumps(label_array, JSON_COMPACT);
    json_decref(label_array);
    if (labels_json == NULL)
        return output_error("out of memory");
    snprintf(daily_text, sizeof(daily_text), "%ld", daily);
    snprintf(burst_text, sizeof(burst_text), "%ld", burst);

    const char *params[8] = { account, domain_id, username, address, display_name, labels_json,
                              daily_given ? daily_text : NULL, burst_given ? burst_text : NULL };
    res = ctl_query(ctl,
                    "INSERT INTO postinbox.inbox (account_id, domain_id, username, address, display_name,"
                    "   labels, daily_send_limit, burst_limit)"
                    " VALUES ($1::uuid, $2::uuid, $3, $4, $5,"
                    "   ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), $7::integer, $8::integer)"
                    " ON CONFLICT ((lower(address))) DO NOTHING RETURNING id",
                    8, params);
    free(labels_json);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return output_error("inbox address already exists: %s", address);
    }
    char id[40];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
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

    const char *params[4] = { id, status, reason, ctl_actor() };
    res = ctl_query(ctl,
                    "WITH target AS ("
                    "   SELECT id, status FROM postinbox.inbox WHERE id = $1::uuid FOR UPDATE),"
                    " upd AS ("
                    "   UPDATE postinbox.inbox i SET status = $2::text, status_reason = $3::text, updated_at = now()"
                    "     FROM target t WHERE i.id = t.id AND t.status <> $2::text"
                    "   RETURNING i.id, i.address, i.status, i.status_reason, t.status AS old_status),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, new_value, reason)"
                    "   SELECT id, $4::text, 'status', old_status, status, status_reason FROM upd),"
                    " ev AS ("
                    "   INSERT INTO postinbox.event (inbox_id, type, payload)"
                    "   SELECT id, 'inbox.' || status, jsonb_build_object('inboxId', id, 'address', address,"
                    "          'status', status, 'reason', status_reason)"
                    "     FROM upd WHERE status IN ('suspended', 'disabled'))"
                    " SELECT (SELECT status FROM target), (SELECT count(*) FROM upd)",
                    4, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return output_error("no inbox %s", args->pos[0]);
    }
    if (strcmp(PQgetvalue(res, 0, 1), "0") == 0)
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
