/*
 * sends_seed.c -- an inbox's sends of one day from PostgreSQL.  See
 * sends_seed.h.
 */
#include "sends_seed.h"

#include <stdio.h>
#include <stdlib.h>

#include "store.h"

int
sends_seed(void *ctx, const char *inbox_id, long day, long long now_ms, limiter_seed_t *out, char *err,
           size_t errlen)
{
    store_t *store = ctx;
    char day_text[24], now_text[24];
    const char *params[3] = { inbox_id, day_text, now_text };
    PGresult *res;

    snprintf(day_text, sizeof(day_text), "%ld", day);
    snprintf(now_text, sizeof(now_text), "%lld", now_ms);
    /* The day Redis asked about, 00:00 to 24:00 UTC: a database clock a
     * second off Redis's at midnight must not count the other day. */
    res = store_exec(store,
                     "SELECT coalesce(sum(cardinality(envelope_to)), 0) FROM postinbox.message"
                     " WHERE inbox_id = $1::uuid AND direction = 'outbound'"
                     "   AND created_at >= to_timestamp($2::bigint * 86400)"
                     "   AND created_at < to_timestamp(($2::bigint + 1) * 86400)",
                     2, params, err, errlen);
    if (res == NULL)
        return -1;
    out->sends_today = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    params[1] = now_text;
    res = store_exec(store,
                     "SELECT ceil(extract(epoch FROM created_at))::bigint * 1000, sum(cardinality(envelope_to))"
                     "  FROM postinbox.message"
                     " WHERE inbox_id = $1::uuid AND direction = 'outbound'"
                     "   AND created_at > to_timestamp($2::bigint / 1000.0) - interval '61 s'"
                     " GROUP BY 1 ORDER BY 1 DESC LIMIT " /* LIMITER_SEED_BURST_MAX */ "64",
                     2, params, err, errlen);
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
