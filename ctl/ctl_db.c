/*
 * ctl_db.c -- config, store and limiter for postinboxctl.  See ctl_db.h.
 */
#include "ctl_db.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "output.h"
#include "pgjson.h"
#include "sends_seed.h"
#include "utf8.h"

char *
ctl_conninfo_utf8(const char *conninfo)
{
    const char *suffix;
    char *out;
    size_t len = strlen(conninfo);

    if (strncmp(conninfo, "postgresql://", 13) == 0 || strncmp(conninfo, "postgres://", 11) == 0)
        suffix = strchr(conninfo, '?') ? "&client_encoding=UTF8" : "?client_encoding=UTF8";
    else
        suffix = " client_encoding=UTF8";
    out = malloc(len + strlen(suffix) + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, conninfo, len);
    strcpy(out + len, suffix);
    return out;
}

int
ctl_open(ctl_t *ctl, const char *config_path)
{
    char err[512];

    memset(ctl, 0, sizeof(*ctl));
    if (config_path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
        config_path = CONFIG_DEFAULT_PATH;
    if (config_path != NULL) {
        ctl->cfg = config_load(config_path, err, sizeof(err));
        if (ctl->cfg == NULL)
            return output_error("%s", err);
    } else {
        ctl->cfg = config_defaults();
        if (ctl->cfg == NULL)
            return output_error("out of memory");
    }
    ctl->conninfo = ctl_conninfo_utf8(ctl->cfg->database);
    if (ctl->conninfo == NULL)
        return output_error("out of memory");
    ctl->timeout_ms = ctl->cfg->backend_timeout_ms > CTL_MIN_TIMEOUT_MS ? ctl->cfg->backend_timeout_ms
                                                                         : CTL_MIN_TIMEOUT_MS;
    return 0;
}

void
ctl_close(ctl_t *ctl)
{
    store_free(ctl->store);
    limiter_free(ctl->limiter);
    secretbox_free(ctl->secrets);
    free(ctl->conninfo);
    config_free(ctl->cfg);
    memset(ctl, 0, sizeof(*ctl));
}

/* libpq's "query: ERROR:  text\n\tHINT" as "text HINT", in place. */
static const char *
ctl_error_text(char *err)
{
    char *text = err;
    if (strncmp(text, "query: ", 7) == 0)
        text += 7;
    if (strncmp(text, "ERROR:  ", 8) == 0)
        text += 8;
    return output_oneline(text);
}

/* The first failed usage read: one warning, the rest shown as null. */
static void
ctl_usage_warn(void *arg, const char *inbox_id, const char *err)
{
    (void)arg;
    (void)inbox_id;
    output_warn("cannot read send counts from Redis (%s); sendsToday shown as null", err);
}

admin_t *
ctl_admin(ctl_t *ctl)
{
    if (ctl->store != NULL)
        return &ctl->admin;
    /* one connection: a CLI run is one thread doing one thing */
    ctl->store = store_new(ctl->conninfo, 1, ctl->timeout_ms);
    if (ctl->store == NULL) {
        output_error("out of memory");
        return NULL;
    }
    ctl->limiter = limiter_new(ctl->cfg->redis, ctl->cfg->redis_password_file, 1, ctl->cfg->backend_timeout_ms,
                               ctl->limiter_error, sizeof(ctl->limiter_error));
    if (ctl->limiter != NULL) {
        limiter_set_seeder(ctl->limiter, sends_seed, ctl->store);
        limiter_set_reservation_timeout(ctl->limiter, ctl->cfg->reservation_timeout_ms);
        limiter_set_wait_replicas(ctl->limiter, ctl->cfg->redis_wait_replicas);
    }
    if (ctl->cfg->secret_key_file[0] == '\0')
        snprintf(ctl->secrets_error, sizeof(ctl->secrets_error), "secret_key_file is not set in the config");
    else
        ctl->secrets = secretbox_load(ctl->cfg->secret_key_file, ctl->cfg->secret_key_file_old,
                                      ctl->secrets_error, sizeof(ctl->secrets_error));
    admin_init(&ctl->admin, ctl->store, ctl->limiter, NULL, ctl_actor());
    ctl->admin.secrets = ctl->secrets;
    ctl->admin.secrets_error = ctl->secrets_error;
    ctl->admin.dkim_key_bits = ctl->cfg->dkim_signing ? ctl->cfg->dkim_key_bits : 0;
    ctl->admin.limiter_error = ctl->limiter_error;
    ctl->admin.usage_warn = ctl_usage_warn;
    return &ctl->admin;
}

int
ctl_fail(const admin_error_t *err)
{
    char text[sizeof(err->message)];

    if (strcmp(err->reason, "database") != 0)
        return output_error("%s", err->message);
    snprintf(text, sizeof(text), "%s", err->message);
    return output_error("database: %s", ctl_error_text(text));
}

/* ctl_query; with private_params set an error is reported by its first
 * line only: libpq's DETAIL can quote the failing row, i.e. parameters. */
static PGresult *
ctl_query_ex(ctl_t *ctl, const char *sql, int nparams, const char *const *params, int private_params)
{
    admin_t *admin = ctl_admin(ctl);
    admin_error_t err;
    PGresult *res;

    if (admin == NULL)
        return NULL;
    if ((res = admin_exec(admin, sql, nparams, params, private_params, &err)) == NULL)
        ctl_fail(&err);
    return res;
}

PGresult *
ctl_query(ctl_t *ctl, const char *sql, int nparams, const char *const *params)
{
    return ctl_query_ex(ctl, sql, nparams, params, 0);
}

PGresult *
ctl_query_private(ctl_t *ctl, const char *sql, int nparams, const char *const *params)
{
    return ctl_query_ex(ctl, sql, nparams, params, 1);
}

int
ctl_valid_input(ctl_t *ctl, const char *value, const char *type, char *err, size_t errlen)
{
    char sql[128];
    const char *params[1] = { value };
    PGresult *res;

    /* a working connection first, so that a failed cast below is the value */
    if ((res = ctl_query(ctl, "SELECT 1", 0, NULL)) == NULL)
        return -1;
    PQclear(res);
    snprintf(sql, sizeof(sql), "SELECT $1::%s", type);
    res = store_exec(ctl->store, sql, 1, params, err, errlen);
    if (res != NULL) {
        PQclear(res);
        return 1;
    }
    /* and still working after it: otherwise a database error, not the input */
    if ((res = ctl_query(ctl, "SELECT 1", 0, NULL)) == NULL)
        return -1;
    PQclear(res);
    err[strcspn(err, "\n")] = '\0'; /* the reason, not its CONTEXT */
    const char *reason = ctl_error_text(err);
    memmove(err, reason, strlen(reason) + 1);
    return 0;
}

int
ctl_time_arg(ctl_t *ctl, const args_t *args, const char *name, char buf[80], const char **out)
{
    const char *value = args_value(args, name);
    char err[512];
    int rc;

    *out = NULL;
    if (value == NULL)
        return 0;
    if (!valid_timestamp(value, buf, 80))
        return output_usage("--%s: \"%s\" is not an ISO-8601 timestamp (e.g. 2024-05-01T12:00:00Z)", name, value);
    rc = ctl_valid_input(ctl, buf, "timestamptz", err, sizeof(err));
    if (rc < 0)
        return CTL_EXIT_ERROR;
    if (rc == 0)
        return output_usage("--%s: \"%s\" is not a valid timestamp (%s)", name, value, err);
    *out = buf;
    return 0;
}

int
ctl_count(ctl_t *ctl, const char *sql, int nparams, const char *const *params, long long *count)
{
    PGresult *res = ctl_query(ctl, sql, nparams, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    *count = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return 0;
}

int
ctl_list(ctl_t *ctl, admin_list_kind_t kind, const admin_filter_t *filter, long limit, long offset,
         void (*render)(json_t *row), const struct output_column *columns)
{
    admin_t *admin = ctl_admin(ctl);
    admin_error_t err;
    long long total;
    json_t *rows;

    if (admin == NULL)
        return CTL_EXIT_ERROR;
    if (admin_list(admin, kind, filter, limit, offset, &rows, &total, &err) != ADMIN_OK)
        return ctl_fail(&err);
    for (size_t i = 0; render != NULL && i < json_array_size(rows); i++)
        render(json_array_get(rows, i));
    output_list(rows, total, offset, columns);
    return 0;
}

int
ctl_resolve_inbox(ctl_t *ctl, const char *selector, char id[40])
{
    const char *params[1] = { selector };
    const char *sql;
    PGresult *res;

    if (valid_uuid(selector))
        sql = "SELECT id FROM postinbox.inbox WHERE id = $1::uuid";
    else if (strchr(selector, '@') != NULL)
        sql = "SELECT id FROM postinbox.inbox WHERE lower(address) = lower($1)";
    else
        return output_usage("\"%s\" is neither an inbox id (uuid) nor an address", selector);
    res = ctl_query(ctl, sql, 1, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return output_error("no inbox %s", selector);
    }
    snprintf(id, 40, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

const char *
ctl_actor(void)
{
    static char actor[300];
    struct passwd *pw = getpwuid(geteuid());
    if (pw != NULL && pw->pw_name != NULL)
        snprintf(actor, sizeof(actor), "postinboxctl:%s", pw->pw_name);
    else
        snprintf(actor, sizeof(actor), "postinboxctl:uid=%ld", (long)geteuid());
    return actor;
}

json_t *
ctl_json_text(const PGresult *res, int row, int col)
{
    return pgjson_text(res, row, col);
}

json_t *
ctl_json_int(const PGresult *res, int row, int col)
{
    return pgjson_int(res, row, col);
}

json_t *
ctl_json_bool(const PGresult *res, int row, int col)
{
    return pgjson_bool(res, row, col);
}

json_t *
ctl_json_parsed(const PGresult *res, int row, int col)
{
    return pgjson_parsed(res, row, col);
}
