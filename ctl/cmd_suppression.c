/*
 * cmd_suppression.c -- an inbox's suppression list (sql/migrations/005_suppression.sql, sql/functions/suppression.sql).
 *
 * Public: cmd_suppression_list, cmd_suppression_add,
 * cmd_suppression_remove (see cmd.h).
 * Hard bounces and complaints put recipients on the list by themselves;
 * here an admin reads it, adds an address by hand (source "manual") and
 * takes one off again.  Each real change writes an audit row (action
 * suppression.add / suppression.remove, the address as new / old value)
 * in the same statement.  Adding an address that is already there
 * changes nothing (a warning); removing one that is not there is an
 * error, exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "cmd.h"
#include "output.h"

static const output_column_t suppression_columns[] = {
    { "CREATED", "createdAt", 0 },
    { "SOURCE", "source", 0 },
    { "DSN", "dsn", 0 },
    { "ADDRESS", "address", 50 },
    { "REASON", "reason", 50 },
    { NULL, NULL, 0 },
};

/* The inbox (first positional) and --address, normalised as the milter
 * normalises RCPT TO.  0, CTL_EXIT_USAGE or CTL_EXIT_ERROR. */
static int
suppression_args(ctl_t *ctl, const args_t *args, char id[40], char address[ADDRESS_MAX + 1])
{
    const char *given = args_value(args, "address");
    if (given == NULL)
        return output_usage("--address is required");
    if (address_normalize(given, address, ADDRESS_MAX + 1) != ADDRESS_OK)
        return output_usage("--address: \"%s\" is not an email address", given);
    return ctl_resolve_inbox(ctl, args->pos[0], id);
}

int
cmd_suppression_list(ctl_t *ctl, const args_t *args)
{
    char id[40];
    long limit, offset;
    int rc;

    if ((rc = args_page(args, &limit, &offset)) != 0 || (rc = ctl_resolve_inbox(ctl, args->pos[0], id)) != 0)
        return rc;
    return ctl_list(ctl, ADMIN_LIST_SUPPRESSIONS, &(admin_filter_t){ .inbox_id = id }, limit, offset, NULL,
                    suppression_columns);
}

int
cmd_suppression_add(ctl_t *ctl, const args_t *args)
{
    char id[40], address[ADDRESS_MAX + 1];
    const char *reason;
    PGresult *res;
    int rc;

    if ((rc = args_text(args, "reason", 1000, 0, &reason)) != 0 ||
        (rc = suppression_args(ctl, args, id, address)) != 0)
        return rc;
    const char *params[4] = { id, address, reason, ctl_actor() };
    /* the new row, else the existing one (the statement's snapshot does
     * not see its own insert, so exactly one branch yields a row) */
    res = ctl_query(ctl,
                    "WITH ins AS ("
                    "   INSERT INTO postinbox.suppression (inbox_id, address, source, reason)"
                    "   VALUES ($1::uuid, $2, 'manual', $3::text)"
                    "   ON CONFLICT DO NOTHING RETURNING *),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, new_value, reason)"
                    "   SELECT inbox_id, $4::text, 'suppression.add', address, reason FROM ins)"
                    " SELECT " ADMIN_SUPPRESSION_COLUMNS ", true FROM ins"
                    " UNION ALL SELECT " ADMIN_SUPPRESSION_COLUMNS ", false FROM postinbox.suppression"
                    "   WHERE inbox_id = $1::uuid AND address = $2",
                    4, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) < 1) {
        PQclear(res);
        return output_error("inbox %s vanished", id);
    }
    if (strcmp(PQgetvalue(res, 0, 6), "t") != 0)
        output_warn("%s is already on the suppression list of %s (source %s); nothing changed", address,
                    args->pos[0], PQgetvalue(res, 0, 1));
    output_object(admin_suppression_json(res, 0), NULL);
    PQclear(res);
    return 0;
}

int
cmd_suppression_remove(ctl_t *ctl, const args_t *args)
{
    char id[40], address[ADDRESS_MAX + 1];
    const char *reason;
    PGresult *res;
    int rc;

    if ((rc = args_text(args, "reason", 1000, 0, &reason)) != 0 ||
        (rc = suppression_args(ctl, args, id, address)) != 0)
        return rc;
    const char *params[4] = { id, address, reason, ctl_actor() };
    res = ctl_query(ctl,
                    "WITH del AS ("
                    "   DELETE FROM postinbox.suppression WHERE inbox_id = $1::uuid AND address = $2"
                    "   RETURNING *),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, reason)"
                    "   SELECT inbox_id, $4::text, 'suppression.remove', address, $3::text FROM del)"
                    " SELECT " ADMIN_SUPPRESSION_COLUMNS " FROM del",
                    4, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return output_error("%s is not on the suppression list of %s", address, args->pos[0]);
    }
    if (output_json()) {
        json_t *obj = admin_suppression_json(res, 0);
        json_object_set_new(obj, "removed", json_true());
        output_object(obj, NULL);
    } else {
        output_line("removed %s (%s) from the suppression list of %s", address, PQgetvalue(res, 0, 1),
                    args->pos[0]);
    }
    PQclear(res);
    return 0;
}
