/*
 * cmd_apikey.c -- keys of the HTTP admin API: create, list, revoke.
 *
 * Public: cmd_apikey_create, cmd_apikey_list, cmd_apikey_revoke (see cmd.h).
 * create prints the key itself, once: only its SHA-256 is stored
 * (lib/net/apikey.c, sql/migrations/007_api_keys.sql).  An --inbox key must name an
 * inbox of --account.  revoke keeps the row (revoked_at) and writes an
 * audit row (action apikey.revoke) in the same statement; revoking a
 * revoked key changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "apikey.h"
#include "cmd.h"
#include "output.h"

static const output_column_t apikey_columns[] = {
    { "ID", "id", 0 },
    { "PREFIX", "prefix", 0 },
    { "INBOX", "inboxId", 0 },
    { "LAST USED", "lastUsedAt", 0 },
    { "REVOKED", "revokedAt", 0 },
    { "NAME", "name", 40 },
    { NULL, NULL, 0 },
};

int
cmd_apikey_create(ctl_t *ctl, const args_t *args)
{
    const char *account, *name;
    char inbox_id[40], key[APIKEY_SIZE], hash[APIKEY_HASH_SIZE], prefix[APIKEY_PREFIX_LEN + 1], err[256];
    PGresult *res;
    json_t *obj;
    int rc;

    if ((rc = args_uuid(args, "account", &account)) != 0 || (rc = args_text(args, "name", 200, 0, &name)) != 0)
        return rc;
    if (args_value(args, "inbox") != NULL && (rc = ctl_resolve_inbox(ctl, args_value(args, "inbox"), inbox_id)) != 0)
        return rc;
    if (apikey_generate(key, err, sizeof(err)) != 0)
        return output_error("%s", err);
    apikey_hash(key, hash);
    apikey_prefix(key, prefix);

    const char *params[5] = { account, args_value(args, "inbox") ? inbox_id : NULL, name, prefix, hash };
    /* the inbox must be one of the account's: checked in the same statement */
    res = ctl_query_private(ctl,
                            "INSERT INTO postinbox.api_key (account_id, inbox_id, name, prefix, hash)"
                            " SELECT a.id, $2::uuid, $3, $4, $5 FROM postinbox.account a"
                            "  WHERE a.id = $1::uuid AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM postinbox.inbox i"
                            "        WHERE i.id = $2::uuid AND i.account_id = a.id))"
                            " RETURNING id, account_id, inbox_id, name, prefix, " CTL_ISO("created_at"),
                            5, params);
    if (res == NULL) {
        OPENSSL_cleanse(key, sizeof(key));
        return CTL_EXIT_ERROR;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        OPENSSL_cleanse(key, sizeof(key));
        if (args_value(args, "inbox") != NULL)
            return output_error("no account %s with inbox %s", account, args_value(args, "inbox"));
        return output_error("no account %s", account);
    }
    obj = json_object();
    json_object_set_new(obj, "id", ctl_json_text(res, 0, 0));
    json_object_set_new(obj, "key", json_string(key));
    json_object_set_new(obj, "accountId", ctl_json_text(res, 0, 1));
    json_object_set_new(obj, "inboxId", ctl_json_text(res, 0, 2));
    json_object_set_new(obj, "name", ctl_json_text(res, 0, 3));
    json_object_set_new(obj, "prefix", ctl_json_text(res, 0, 4));
    json_object_set_new(obj, "createdAt", ctl_json_text(res, 0, 5));
    PQclear(res);
    OPENSSL_cleanse(key, sizeof(key));
    output_object(obj, NULL);
    return 0;
}

int
cmd_apikey_list(ctl_t *ctl, const args_t *args)
{
    admin_filter_t filter = { 0 };
    long limit, offset;
    int rc;

    if ((rc = args_uuid(args, "account", &filter.account_id)) != 0 || (rc = args_page(args, &limit, &offset)) != 0)
        return rc;
    return ctl_list(ctl, ADMIN_LIST_APIKEYS, &filter, limit, offset, NULL, apikey_columns);
}

int
cmd_apikey_revoke(ctl_t *ctl, const args_t *args)
{
    const char *id = args->pos[0], *reason;
    PGresult *res;
    int rc;

    if (!valid_uuid(id))
        return output_usage("\"%s\" is not an API key id (uuid)", id);
    if ((rc = args_text(args, "reason", 1000, 0, &reason)) != 0)
        return rc;
    const char *params[3] = { id, ctl_actor(), reason };
    res = ctl_query(ctl,
                    "WITH target AS (SELECT id, revoked_at FROM postinbox.api_key WHERE id = $1::uuid FOR UPDATE),"
                    " upd AS ("
                    "   UPDATE postinbox.api_key k SET revoked_at = now() FROM target t"
                    "    WHERE k.id = t.id AND t.revoked_at IS NULL"
                    "   RETURNING k.id, k.account_id, k.inbox_id, k.prefix, k.name),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, reason)"
                    "   SELECT inbox_id, $2::text, 'apikey.revoke', jsonb_build_object('apiKeyId', id,"
                    "          'accountId', account_id, 'prefix', prefix, 'name', name)::text, $3::text FROM upd)"
                    " SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM upd)",
                    3, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        PQclear(res);
        return output_error("no API key %s", id);
    }
    if (strcmp(PQgetvalue(res, 0, 1), "0") == 0)
        output_warn("API key %s is already revoked; nothing changed", id);
    PQclear(res);
    const char *p1[1] = { id };
    res = ctl_query(ctl, ADMIN_APIKEY_COLUMNS " FROM postinbox.api_key WHERE id = $1::uuid", 1, p1);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) == 1)
        output_object(admin_apikey_json(res, 0), NULL);
    PQclear(res);
    return 0;
}
