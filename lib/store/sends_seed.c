/*
 * sends_seed.c -- today's sends from PostgreSQL.  See sends_seed.h.
 */
#include "sends_seed.h"

#include <stdio.h>
#include <stdlib.h>

#include "store.h"

int
sends_seed(void *ctx, const char *inbox_id, limiter_seed_t *out, char *err, size_t errlen)
{
    store_t *store = ctx;
    const char *params[1] = { inbox_id };
    PGresult *res;

    res = store_exec(store,
                     "SELECT d.day, (SELECT coalesce(sum(cardinality(m.envelope_to)), 0) FROM postinbox.message m"
                     "                WHERE m.inbox_id = $1::uuid AND m.direction = 'outbound'"
                     "                  AND m.created_at >= to_timestamp(d.day * 86400))"
                     "  FROM (SELECT floor(extract(epoch FROM now()) / 86400)::bigint AS day) d",
                     1, params, err, errlen);
    if (res == NULL)
        return -1;
    out->day = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    out->sends_today = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    res = store_exec(store,
                     "SELECT ceil(extract(epoch FROM created_at))::bigint * 1000, sum(cardinality(envelope_to))"
                     "  FROM postinbox.message"
                     " WHERE inbox_id = $1::uuid AND direction = 'outbound' AND created_at > now() - interval '61 s'"
                     " GROUP BY 1 ORDER BY 1 DESC LIMIT " /* LIMITER_SEED_BURST_MAX */ "64",
                     1, params, err, errlen);
    if (res == NULL)
        return -1;
    out->nburst = 0;
    for (int i = 0; i < PQntuples(res) && i < LIMITER_SEED_BURST_MAX; i++) {
        out->burst[i].ms = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        out->burst[i].sends = (int)strtol(PQgetvalue(res, i, 1), NULL, 10);
        out->nburst++;
    }
    PQclear(res);
    return 0;
}
