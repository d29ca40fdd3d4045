/*
 * cmd_account.c -- accounts and custom domains.
 *
 * Public: cmd_account_create, cmd_account_list, cmd_domain_add,
 * cmd_domain_list, cmd_domain_show, cmd_domain_delete (see cmd.h): the
 * domains are lib/admin/admin_domain's, as the API's.
 * An account's short id appears in its sandbox addresses; when not given
 * it is 6 random characters [a-z0-9] from RAND_bytes, drawn again on the
 * (rare) collision.  A domain added here is a custom domain; only the
 * sandbox domain (from the config) has no account.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_domain.h"
#include "admin_list.h"
#include "cmd.h"
#include "ctl_db.h"
#include "output.h"
#include "validate.h"

#define ACCOUNT_COLUMNS "id, short_id, name, daily_send_limit, " CTL_ISO("created_at")
#define SHORT_ID_LEN 6
#define SHORT_ID_ATTEMPTS 8

static const char *const account_create_keys[] = { "id", "shortId", NULL };

static const output_column_t account_columns[] = {
    { "ID", "id", 0 },
    { "SHORT ID", "shortId", 0 },
    { "DAILY LIMIT", "dailySendLimit", 0 },
    { "CREATED", "createdAt", 0 },
    { "NAME", "name", 40 },
    { NULL, NULL, 0 },
};

static const output_column_t domain_columns[] = {
    { "ID", "id", 0 },
    { "NAME", "name", 0 },
    { "KIND", "kind", 0 },
    { "STATUS", "status", 0 },
    { "ACCOUNT", "accountId", 0 },
    { NULL, NULL, 0 },
};

/* Account columns (ACCOUNT_COLUMNS, from col) as the API object. */
static json_t *
account_json(const PGresult *res, int row, int col)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "id", ctl_json_text(res, row, col));
    json_object_set_new(obj, "shortId", ctl_json_text(res, row, col + 1));
    json_object_set_new(obj, "name", ctl_json_text(res, row, col + 2));
    json_object_set_new(obj, "dailySendLimit", ctl_json_int(res, row, col + 3));
    json_object_set_new(obj, "createdAt", ctl_json_text(res, row, col + 4));
    return obj;
}

/* SHORT_ID_LEN random characters [a-z0-9], without modulo bias. */
static int
account_random_short_id(char out[SHORT_ID_LEN + 1])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[64];
    int n = 0;

    while (n < SHORT_ID_LEN) {
        if (RAND_bytes(bytes, sizeof(bytes)) != 1)
            return -1;
        for (size_t i = 0; i < sizeof(bytes) && n < SHORT_ID_LEN; i++) {
            if (bytes[i] < 252) /* 252 = 7 * 36 */
                out[n++] = alphabet[bytes[i] % 36];
        }
    }
    out[n] = '\0';
    return 0;
}

static int
account_valid_short_id(const char *id)
{
    size_t len = strlen(id);
    if (len < 2 || len > 32)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9')))
            return 0;
    return 1;
}

/* Characters (code points) of valid UTF-8. */
static size_t
utf8_chars(const char *text)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        n += (*p & 0xc0) != 0x80;
    return n;
}

int
cmd_account_create(ctl_t *ctl, const args_t *args)
{
    const char *name;
    char short_id[40], limit_text[24];
    long limit;
    int given, rc;

    if ((rc = args_text(args, "name", 800, 1, &name)) != 0)
        return rc;
    if (utf8_chars(name) > 200)
        return output_usage("--name is longer than 200 characters");
    if ((rc = args_int(args, "daily-limit", 1, 2147483647L, 0, &limit, &given)) != 0)
        return rc;
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    if (args_value(args, "short-id") != NULL) {
        snprintf(short_id, sizeof(short_id), "%s", args_value(args, "short-id"));
        ascii_lower(short_id);
        if (strlen(args_value(args, "short-id")) >= sizeof(short_id) || !account_valid_short_id(short_id))
            return output_usage("--short-id must be 2 to 32 characters a-z 0-9");
    }

    /* Without --daily-limit the column default (the plan limit) applies. */
    const char *sql = given ? "INSERT INTO postinbox.account (short_id, name, daily_send_limit)"
                              " VALUES ($1, $2, $3::integer) ON CONFLICT (short_id) DO NOTHING"
                              " RETURNING " ACCOUNT_COLUMNS
                            : "INSERT INTO postinbox.account (short_id, name)"
                              " VALUES ($1, $2) ON CONFLICT (short_id) DO NOTHING"
                              " RETURNING " ACCOUNT_COLUMNS;
    for (int attempt = 0; attempt < SHORT_ID_ATTEMPTS; attempt++) {
        const char *params[3] = { short_id, name, limit_text };
        PGresult *res;

        if (args_value(args, "short-id") == NULL && account_random_short_id(short_id) != 0)
            return output_error("RAND_bytes failed");
        res = ctl_query(ctl, sql, given ? 3 : 2, params);
        if (res == NULL)
            return CTL_EXIT_ERROR;
        if (PQntuples(res) == 1) {
            output_object(account_json(res, 0, 0), account_create_keys);
            PQclear(res);
            return 0;
        }
        PQclear(res);
        if (args_value(args, "short-id") != NULL)
            return output_error("short id %s already exists", short_id);
    }
    return output_error("no free short id after %d attempts", SHORT_ID_ATTEMPTS);
}

int
cmd_account_list(ctl_t *ctl, const args_t *args)
{
    char limit_text[24], offset_text[24];
    const char *params[2] = { limit_text, offset_text };
    long limit, offset;
    long long total;
    PGresult *res;
    json_t *rows;
    int rc;

    if ((rc = args_page(args, &limit, &offset)) != 0)
        return rc;
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    snprintf(offset_text, sizeof(offset_text), "%ld", offset);
    if ((rc = ctl_count(ctl, "SELECT count(*) FROM postinbox.account", 0, NULL, &total)) != 0)
        return rc;
    res = ctl_query(ctl,
                    "SELECT " ACCOUNT_COLUMNS " FROM postinbox.account"
                    " ORDER BY created_at DESC, id DESC LIMIT $1::integer OFFSET $2::integer",
                    2, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(rows, account_json(res, r, 0));
    PQclear(res);
    output_list(rows, total, offset, account_columns);
    return 0;
}

int
cmd_domain_add(ctl_t *ctl, const args_t *args)
{
    admin_t *admin = ctl_admin(ctl);
    admin_domain_new_t new = {
        .name = args_value(args, "name"),
        .sandbox = ctl->cfg->sandbox_domain,
        .verified = args_flag(args, "verified"),
        .dkim_bits = ctl->cfg->dkim_signing ? ctl->cfg->dkim_key_bits : 0,
    };
    char sandbox[300];
    admin_error_t err;
    json_t *obj;
    int rc;

    if ((rc = args_uuid(args, "account", &new.account_id)) != 0)
        return rc;
    if (new.name == NULL)
        return output_usage("--name is required");
    if (admin == NULL)
        return CTL_EXIT_ERROR;
    snprintf(sandbox, sizeof(sandbox), "%s", ctl->cfg->sandbox_domain);
    new.sandbox = ascii_lower(sandbox);
    if (admin_domain_create(admin, &new, &obj, &err) != ADMIN_OK)
        return err.status == ADMIN_INVALID ? output_usage("--%s", err.message) : ctl_fail(&err);
    output_object(obj, NULL);
    return 0;
}

int
cmd_domain_list(ctl_t *ctl, const args_t *args)
{
    admin_filter_t filter = { 0 };
    admin_t *admin = ctl_admin(ctl);
    admin_error_t err;
    long limit, offset;
    long long total;
    json_t *rows;
    int rc;

    if (args_value(args, "account") != NULL && (rc = args_uuid(args, "account", &filter.account_id)) != 0)
        return rc;
    if ((rc = args_page(args, &limit, &offset)) != 0)
        return rc;
    if (admin == NULL)
        return CTL_EXIT_ERROR;
    if (admin_list(admin, ADMIN_LIST_DOMAINS, &filter, limit, offset, &rows, &total, &err) != ADMIN_OK)
        return ctl_fail(&err);
    output_list(rows, total, offset, domain_columns);
    return 0;
}

int
cmd_domain_show(ctl_t *ctl, const args_t *args)
{
    admin_t *admin = ctl_admin(ctl);
    admin_dns_t dns;
    admin_error_t err;
    json_t *obj;

    if (admin == NULL)
        return CTL_EXIT_ERROR;
    admin_dns_from_config(ctl->cfg, &dns);
    if (admin_domain_show(admin, &dns, args->pos[0], &obj, &err) != ADMIN_OK)
        return ctl_fail(&err);
    output_object(obj, NULL);
    return 0;
}

int
cmd_domain_delete(ctl_t *ctl, const args_t *args)
{
    admin_t *admin = ctl_admin(ctl);
    admin_error_t err;

    if (admin == NULL)
        return CTL_EXIT_ERROR;
    if (admin_domain_delete(admin, args->pos[0], &err) != ADMIN_OK)
        return ctl_fail(&err);
    output_line("deleted domain %s", args->pos[0]);
    return 0;
}
