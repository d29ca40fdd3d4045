/*
 * cmd_login.c -- which SASL login may send as which inbox.
 *
 * Public: cmd_login_grant, cmd_login_revoke, cmd_login_list (see cmd.h).
 * Logins are stored lower-cased (by PostgreSQL's lower(), as the lookup
 * compares them); granting twice or revoking what is not granted changes
 * nothing and is not an error.  Each real change writes an audit row
 * (action login.grant / login.revoke) in the same statement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "output.h"

#define GRANT_COLUMNS "g.login, g.inbox_id, i.address, " CTL_ISO("g.created_at")

static const output_column_t grant_columns[] = {
    { "LOGIN", "login", 0 },
    { "INBOX", "inboxId", 0 },
    { "CREATED", "createdAt", 0 },
    { "ADDRESS", "address", 60 },
    { NULL, NULL, 0 },
};

static json_t *
grant_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "login", ctl_json_text(res, row, 0));
    json_object_set_new(obj, "inboxId", ctl_json_text(res, row, 1));
    json_object_set_new(obj, "address", ctl_json_text(res, row, 2));
    json_object_set_new(obj, "createdAt", ctl_json_text(res, row, 3));
    return obj;
}

/* --login: 1..320 bytes of text without spaces.  0 or CTL_EXIT_USAGE. */
static int
login_arg(const args_t *args, int required, const char **login)
{
    int rc = args_text(args, "login", 320, required, login);
    if (rc == 0 && *login != NULL && strchr(*login, ' ') != NULL)
        return output_usage("--login must not contain spaces");
    return rc;
}

/* --login and --inbox, both required, the inbox resolved to id. */
static int
login_grant_args(ctl_t *ctl, const args_t *args, const char **login, char id[40])
{
    int rc = login_arg(args, 1, login);
    if (rc != 0)
        return rc;
    if (args_value(args, "inbox") == NULL)
        return output_usage("--inbox is required");
    return ctl_resolve_inbox(ctl, args_value(args, "inbox"), id);
}

int
cmd_login_grant(ctl_t *ctl, const args_t *args)
{
    const char *login;
    char id[40];
    PGresult *res;
    int rc;

    if ((rc = login_grant_args(ctl, args, &login, id)) != 0)
        return rc;
    const char *params[3] = { login, id, ctl_actor() };
    /* the new row, else the existing one (this statement's snapshot does
     * not see its own insert, so exactly one branch yields a row) */
    res = ctl_query(ctl,
                    "WITH ins AS ("
                    "   INSERT INTO postinbox.login_grant (login, inbox_id) VALUES (lower($1), $2::uuid)"
                    "   ON CONFLICT DO NOTHING RETURNING *),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, new_value)"
                    "   SELECT inbox_id, $3::text, 'login.grant', login FROM ins)"
                    " SELECT " GRANT_COLUMNS " FROM ("
                    "   SELECT * FROM ins UNION ALL"
                    "   SELECT * FROM postinbox.login_grant WHERE login = lower($1) AND inbox_id = $2::uuid) g"
                    " JOIN postinbox.inbox i ON i.id = g.inbox_id",
                    3, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) < 1)
        rc = output_error("inbox %s vanished", id);
    else
        output_object(grant_json(res, 0), NULL);
    PQclear(res);
    return rc;
}

int
cmd_login_revoke(ctl_t *ctl, const args_t *args)
{
    const char *login;
    char id[40];
    PGresult *res;
    json_t *obj;
    int rc;

    if ((rc = login_grant_args(ctl, args, &login, id)) != 0)
        return rc;
    const char *params[3] = { login, id, ctl_actor() };
    res = ctl_query(ctl,
                    "WITH del AS ("
                    "   DELETE FROM postinbox.login_grant WHERE login = lower($1) AND inbox_id = $2::uuid"
                    "   RETURNING login, inbox_id),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value)"
                    "   SELECT inbox_id, $3::text, 'login.revoke', login FROM del)"
                    " SELECT lower($1), i.id, i.address, (SELECT count(*) FROM del) > 0"
                    "   FROM postinbox.inbox i WHERE i.id = $2::uuid",
                    3, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return output_error("inbox %s vanished", id);
    }
    if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
        output_warn("login %s had no grant for %s; nothing changed", PQgetvalue(res, 0, 0),
                    PQgetvalue(res, 0, 2));
    obj = json_object();
    json_object_set_new(obj, "login", ctl_json_text(res, 0, 0));
    json_object_set_new(obj, "inboxId", ctl_json_text(res, 0, 1));
    json_object_set_new(obj, "address", ctl_json_text(res, 0, 2));
    json_object_set_new(obj, "revoked", ctl_json_bool(res, 0, 3));
    PQclear(res);
    output_object(obj, NULL);
    return 0;
}

int
cmd_login_list(ctl_t *ctl, const args_t *args)
{
    char id[40], limit_text[24], offset_text[24];
    const char *login;
    long limit, offset;
    long long total;
    PGresult *res;
    json_t *rows;
    int rc;

    if ((rc = login_arg(args, 0, &login)) != 0 || (rc = args_page(args, &limit, &offset)) != 0)
        return rc;
    if (login == NULL && args_value(args, "inbox") == NULL)
        return output_usage("login list needs --inbox or --login (or both)");
    if (args_value(args, "inbox") != NULL && (rc = ctl_resolve_inbox(ctl, args_value(args, "inbox"), id)) != 0)
        return rc;
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    snprintf(offset_text, sizeof(offset_text), "%ld", offset);

    const char *params[4] = { args_value(args, "inbox") ? id : NULL, login, limit_text, offset_text };
    if ((rc = ctl_count(ctl,
                        "SELECT count(*) FROM postinbox.login_grant g"
                        " WHERE ($1::uuid IS NULL OR g.inbox_id = $1::uuid)"
                        "   AND ($2::text IS NULL OR g.login = lower($2))",
                        2, params, &total)) != 0)
        return rc;
    res = ctl_query(ctl,
                    "SELECT " GRANT_COLUMNS " FROM postinbox.login_grant g"
                    " JOIN postinbox.inbox i ON i.id = g.inbox_id"
                    " WHERE ($1::uuid IS NULL OR g.inbox_id = $1::uuid)"
                    "   AND ($2::text IS NULL OR g.login = lower($2))"
                    " ORDER BY g.login, i.address LIMIT $3::integer OFFSET $4::integer",
                    4, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(rows, grant_json(res, r));
    PQclear(res);
    output_list(rows, total, offset, grant_columns);
    return 0;
}
