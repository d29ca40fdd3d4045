/*
 * cmd_webhook_delivery.c -- an endpoint's deliveries, and replay.
 *
 * Public: cmd_webhook_deliveries, cmd_webhook_replay (see cmd.h).
 * deliveries: lib/admin's list (as the HTTP API's), newest first, each
 * with its last 50 attempts (oldest first) from webhook_attempt.
 * replay: in one statement, re-queues the endpoint's deliveries of the
 * events created in [--since, --until), whatever their status, adds the
 * deliveries missing for that window (events from before the endpoint
 * existed, or while it was disabled), writes a webhook.replay audit row
 * and NOTIFYs postinbox_webhook (delivered at commit).  The events are
 * chosen as the fan-out trigger chooses them: the endpoint's inbox, or
 * every inbox of its account, and its event types; nothing else can be
 * queued for it.  A disabled endpoint is refused: its deliveries would
 * only wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "output.h"
#include "webhook_common.h"

#define DELIVERY_STATUSES "pending, delivered or failed"

static const output_column_t delivery_columns[] = {
    { "CREATED", "createdAt", 0 },
    { "STATUS", "status", 0 },
    { "ATTEMPTS", "attempts", 0 },
    { "CODE", "lastStatusCode", 0 },
    { "TYPE", "eventType", 0 },
    { "EVENT", "eventId", 0 },
    { "ERROR", "lastError", 50 },
    { NULL, NULL, 0 },
};

int
cmd_webhook_deliveries(ctl_t *ctl, const args_t *args)
{
    admin_filter_t filter = { .status = args_value(args, "status") };
    long limit, offset;
    int rc;

    if ((rc = webhook_id_arg(args, &filter.endpoint_id)) != 0 || (rc = args_page(args, &limit, &offset)) != 0)
        return rc;
    if (filter.status != NULL && strcmp(filter.status, "pending") != 0 && strcmp(filter.status, "delivered") != 0 &&
        strcmp(filter.status, "failed") != 0)
        return output_usage("--status must be " DELIVERY_STATUSES);
    return ctl_list(ctl, ADMIN_LIST_DELIVERIES, &filter, limit, offset, NULL, delivery_columns);
}

int
cmd_webhook_replay(ctl_t *ctl, const args_t *args)
{
    const char *id, *since, *until;
    char since_buf[80], until_buf[80];
    PGresult *res;
    json_t *obj;
    int rc;

    if ((rc = args_uuid(args, "endpoint", &id)) != 0)
        return rc;
    {
        const char *params[1] = { id };
        res = ctl_query(ctl, "SELECT enabled FROM postinbox.webhook_endpoint WHERE id = $1::uuid", 1, params);
        if (res == NULL)
            return CTL_EXIT_ERROR;
        rc = PQntuples(res) != 1 ? output_error("no webhook endpoint %s", id)
             : strcmp(PQgetvalue(res, 0, 0), "t") != 0
                 ? output_error("webhook endpoint %s is disabled; enable it first (postinboxctl webhook enable)", id)
                 : 0;
        PQclear(res);
        if (rc != 0)
            return rc;
    }
    if ((rc = ctl_time_arg(ctl, args, "since", since_buf, &since)) != 0 ||
        (rc = ctl_time_arg(ctl, args, "until", until_buf, &until)) != 0)
        return rc;
    if (since != NULL && until != NULL) {
        const char *params[2] = { since, until };
        res = ctl_query(ctl, "SELECT $1::timestamptz < $2::timestamptz", 2, params);
        if (res == NULL)
            return CTL_EXIT_ERROR;
        rc = strcmp(PQgetvalue(res, 0, 0), "t") != 0 ? output_usage("--since must be before --until") : 0;
        PQclear(res);
        if (rc != 0)
            return rc;
    }

    const char *params[4] = { id, since, until, ctl_actor() };
    res = ctl_query(ctl,
                    "WITH ep AS ("
                    "   SELECT id, account_id, inbox_id, event_types FROM postinbox.webhook_endpoint"
                    "    WHERE id = $1::uuid AND enabled FOR UPDATE),"
                    /* the endpoint's scope, as in event_fanout(): its inbox, or
                     * (inbox_id NULL) every inbox of its account */
                    " scope AS ("
                    "   SELECT v.id, v.inbox_id, v.type, v.created_at FROM ep"
                    "     JOIN postinbox.event v ON v.inbox_id = ep.inbox_id"
                    "   UNION ALL"
                    "   SELECT v.id, v.inbox_id, v.type, v.created_at FROM ep"
                    "     JOIN postinbox.inbox i ON ep.inbox_id IS NULL AND i.account_id = ep.account_id"
                    "     JOIN postinbox.event v ON v.inbox_id = i.id),"
                    " ev AS ("
                    "   SELECT s.id, s.inbox_id FROM scope s, ep"
                    "    WHERE (cardinality(ep.event_types) = 0 OR s.type = ANY (ep.event_types))"
                    "      AND ($2::timestamptz IS NULL OR s.created_at >= $2::timestamptz)"
                    "      AND ($3::timestamptz IS NULL OR s.created_at < $3::timestamptz)),"
                    " upd AS ("
                    "   UPDATE postinbox.webhook_delivery d SET status = 'pending', next_attempt_at = now(),"
                    "          lease_until = NULL, attempts = 0, delivered_at = NULL"
                    "     FROM ep, ev WHERE d.endpoint_id = ep.id AND d.event_id = ev.id"
                    "   RETURNING d.id),"
                    " ins AS ("
                    "   INSERT INTO postinbox.webhook_delivery (event_id, endpoint_id, inbox_id)"
                    "   SELECT ev.id, ep.id, ev.inbox_id FROM ep, ev"
                    "    WHERE NOT EXISTS (SELECT 1 FROM postinbox.webhook_delivery d"
                    "                       WHERE d.event_id = ev.id AND d.endpoint_id = ep.id)"
                    "   ON CONFLICT (event_id, endpoint_id) DO NOTHING RETURNING id),"
                    " n AS (SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins) AS requeued),"
                    " aud AS ("
                    "   INSERT INTO postinbox.audit (inbox_id, actor, action, new_value)"
                    "   SELECT ep.inbox_id, $4::text, 'webhook.replay', jsonb_build_object('endpointId', ep.id,"
                    "          'since', $2::timestamptz, 'until', $3::timestamptz,"
                    "          'requeued', n.requeued)::text FROM ep, n)"
                    " SELECT (SELECT count(*) FROM ep), n.requeued,"
                    "        CASE WHEN n.requeued > 0 THEN pg_notify('postinbox_webhook', '') END"
                    "   FROM n",
                    4, params);
    if (res == NULL)
        return CTL_EXIT_ERROR;
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        /* deleted or disabled since the check above */
        PQclear(res);
        return output_error("webhook endpoint %s is gone or disabled", id);
    }
    obj = json_object();
    json_object_set_new(obj, "requeued", ctl_json_int(res, 0, 1));
    PQclear(res);
    output_object(obj, NULL);
    return 0;
}
