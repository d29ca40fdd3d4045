/*
 * outbox.c -- claim, renew, record, disable, release.  See outbox.h.
 */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "pgarray.h"

/* $1 limit, $2 lease in ms, $3 endpoints to skip.  The body is built here, by the server, in
 * the documented key order; the signature is computed over exactly these
 * bytes and they are sent unchanged.  An endpoint disabled since the
 * fan-out gets nothing: its rows are failed in the same statement. */
static const char claim_sql[] =
    "WITH due AS ("
    "  SELECT id FROM postinbox.webhook_delivery"
    "   WHERE status = 'pending' AND next_attempt_at <= now()"
    "     AND (lease_until IS NULL OR lease_until < now())"
    "     AND endpoint_id <> ALL ($3::uuid[])"
    "   ORDER BY next_attempt_at"
    "   LIMIT $1::integer"
    "   FOR UPDATE SKIP LOCKED)"
    " UPDATE postinbox.webhook_delivery d"
    "    SET lease_until = CASE WHEN w.enabled THEN now() + $2::bigint * interval '1 millisecond' END,"
    "        status = CASE WHEN w.enabled THEN d.status ELSE 'failed' END,"
    "        last_error = CASE WHEN w.enabled THEN d.last_error ELSE 'endpoint disabled' END"
    "   FROM due, postinbox.event e, postinbox.webhook_endpoint w"
    "  WHERE d.id = due.id AND e.id = d.event_id AND w.id = d.endpoint_id"
    " RETURNING d.id, d.attempts, w.enabled, e.id, w.id, d.inbox_id, d.lease_until, w.url, w.secret,"
    "   CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END,"
    "   '{\"type\": ' || to_json(e.type)::text"
    "   || ', \"timestamp\": '"
    "   || to_json(to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))::text"
    "   || ', \"data\": ' || e.payload::text || '}',"
    "   extract(epoch FROM e.created_at)";

/* $1 ids, $2 lease tokens, $3 lease in ms.  The primary key finds each
 * row; one new lease_until (now() is per statement) for all. */
static const char renew_sql[] =
    "UPDATE postinbox.webhook_delivery d"
    "   SET lease_until = now() + $3::bigint * interval '1 millisecond'"
    "  FROM unnest($1::bigint[], $2::timestamptz[]) AS r(id, lease)"
    " WHERE d.id = r.id AND d.status = 'pending' AND d.lease_until = r.lease"
    " RETURNING d.id, d.lease_until";

/* $1 ids, $2 inbox ids, $3 attempt numbers, $4 status codes (NULL: no
 * answer), $5 errors, $6 latencies, $7 retry delays (-1: final), $8 lease
 * tokens, $9 webhook_disable_after in ms.  Returns the endpoints that are
 * still failing and have been for longer than $9. */
static const char record_sql[] =
    "WITH r AS ("
    "  SELECT r.*, coalesce(r.code BETWEEN 200 AND 299, false) AS ok"
    "    FROM unnest($1::bigint[], $2::uuid[], $3::integer[], $4::integer[], $5::text[], $6::integer[],"
    "                $7::bigint[], $8::timestamptz[])"
    "      AS r(id, inbox_id, attempt, code, error, latency, retry_ms, lease)"
    "), upd AS ("
    "  UPDATE postinbox.webhook_delivery d"
    "     SET status = CASE WHEN r.ok THEN 'delivered' WHEN r.retry_ms < 0 THEN 'failed' ELSE 'pending' END,"
    "         attempts = greatest(d.attempts, r.attempt),"
    "         next_attempt_at = CASE WHEN NOT r.ok AND r.retry_ms >= 0"
    "                                THEN now() + r.retry_ms * interval '1 millisecond'"
    "                                ELSE d.next_attempt_at END,"
    "         lease_until = NULL,"
    "         last_status_code = r.code,"
    "         last_error = r.error,"
    "         last_latency_ms = r.latency,"
    "         delivered_at = CASE WHEN r.ok THEN now() ELSE d.delivered_at END"
    "    FROM r"
    "   WHERE d.id = r.id AND d.status = 'pending' AND (r.ok OR d.lease_until = r.lease)"
    "  RETURNING d.endpoint_id, d.status"
    "), att AS ("
    "  INSERT INTO postinbox.webhook_attempt (delivery_id, inbox_id, attempt, status_code, latency_ms, error)"
    "  SELECT r.id, r.inbox_id, r.attempt, r.code, r.latency, r.error"
    "    FROM r JOIN postinbox.webhook_delivery d ON d.id = r.id" /* not deleted meanwhile */
    "), ep AS ("
    "  SELECT endpoint_id, bool_or(status = 'delivered') AS ok FROM upd GROUP BY endpoint_id"
    "), epu AS ("
    "  UPDATE postinbox.webhook_endpoint w"
    "     SET failing_since = CASE WHEN ep.ok THEN NULL ELSE now() END"
    "    FROM ep"
    "   WHERE w.id = ep.endpoint_id AND (w.failing_since IS NOT NULL) = ep.ok"
    ")"
    " SELECT w.id FROM ep JOIN postinbox.webhook_endpoint w ON w.id = ep.endpoint_id"
    "  WHERE NOT ep.ok AND w.enabled"
    "    AND w.failing_since < now() - $9::bigint * interval '1 millisecond'";

/* $1 endpoint ids, $2 reasons.  The event's fan-out trigger runs after the
 * statement, so it already sees the endpoint disabled. */
static const char disable_sql[] =
    "WITH r AS ("
    "  SELECT * FROM unnest($1::uuid[], $2::text[]) AS r(id, reason)"
    "), dis AS ("
    "  UPDATE postinbox.webhook_endpoint w"
    "     SET enabled = false, disabled_reason = r.reason, updated_at = now()"
    "    FROM r"
    "   WHERE w.id = r.id AND w.enabled"
    "  RETURNING w.id, w.inbox_id, w.url, r.reason"
    "), failed AS ("
    "  UPDATE postinbox.webhook_delivery d"
    "     SET status = 'failed', lease_until = NULL, last_error = 'endpoint disabled: ' || dis.reason"
    "    FROM dis"
    "   WHERE d.endpoint_id = dis.id AND d.status = 'pending'"
    "  RETURNING d.id"
    "), ev AS ("
    "  INSERT INTO postinbox.event (inbox_id, type, payload)"
    "  SELECT dis.inbox_id, 'inbox.webhook_disabled',"
    "         jsonb_build_object('endpointId', dis.id, 'url', dis.url, 'reason', dis.reason)"
    "    FROM dis WHERE dis.inbox_id IS NOT NULL"
    "  RETURNING id"
    ")"
    " SELECT count(*) FROM dis";

/* $1 ids, $2 lease tokens. */
static const char release_sql[] =
    "UPDATE postinbox.webhook_delivery d SET lease_until = NULL"
    "  FROM unnest($1::bigint[], $2::timestamptz[]) AS r(id, lease)"
    " WHERE d.id = r.id AND d.status = 'pending' AND d.lease_until = r.lease";

static void
outbox_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

void
outbox_jobs_free(outbox_job_t *jobs, int n)
{
    for (int i = 0; jobs && i < n; i++) {
        free(jobs[i].url);
        free(jobs[i].secret);
        free(jobs[i].previous_secret);
        free(jobs[i].body);
    }
    free(jobs);
}

/* Copies row i of a claim into job; -1 when out of memory (what it could
 * copy stays in job, for outbox_jobs_free; the analyzer loses it because
 * job is an element of a calloc'd array). */
ANALYZER_NO_LEAK_BEGIN
static int
outbox_job_read(outbox_job_t *job, const PGresult *res, int i)
{
    job->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    job->attempts = atoi(PQgetvalue(res, i, 1));
    job->enabled = PQgetvalue(res, i, 2)[0] == 't';
    outbox_copy(job->event_id, sizeof(job->event_id), PQgetvalue(res, i, 3));
    outbox_copy(job->endpoint_id, sizeof(job->endpoint_id), PQgetvalue(res, i, 4));
    outbox_copy(job->inbox_id, sizeof(job->inbox_id), PQgetvalue(res, i, 5));
    outbox_copy(job->lease, sizeof(job->lease), PQgetvalue(res, i, 6));
    job->url = strdup(PQgetvalue(res, i, 7));
    job->secret = strdup(PQgetvalue(res, i, 8));
    job->previous_secret = PQgetisnull(res, i, 9) ? NULL : strdup(PQgetvalue(res, i, 9));
    job->body_len = (size_t)PQgetlength(res, i, 10);
    job->body = malloc(job->body_len + 1);
    if (job->url == NULL || job->secret == NULL || job->body == NULL ||
        (!PQgetisnull(res, i, 9) && job->previous_secret == NULL))
        return -1;
    memcpy(job->body, PQgetvalue(res, i, 10), job->body_len + 1);
    job->created_at = strtod(PQgetvalue(res, i, 11), NULL);
    return 0;
}
ANALYZER_NO_LEAK_END

int
outbox_claim(store_t *store, int limit, long lease_ms, const char *const *skip, int nskip, outbox_job_t **jobs,
             char *err, size_t errlen)
{
    char limit_text[16], lease_text[24];
    const char *params[3] = { limit_text, lease_text, NULL };
    pgarray_t skip_arr;
    PGresult *res;
    int n;

    *jobs = NULL;
    snprintf(limit_text, sizeof(limit_text), "%d", limit);
    snprintf(lease_text, sizeof(lease_text), "%ld", lease_ms);
    pgarray_init(&skip_arr);
    for (int i = 0; i < nskip; i++)
        pgarray_add(&skip_arr, skip[i]);
    params[2] = pgarray_finish(&skip_arr);
    if (params[2] == NULL) {
        pgarray_free(&skip_arr);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    res = store_exec(store, claim_sql, 3, params, err, errlen);
    pgarray_free(&skip_arr);
    if (res == NULL)
        return -1;
    n = PQntuples(res);
    if (n == 0) {
        PQclear(res);
        return 0;
    }
    outbox_job_t *out = calloc((size_t)n, sizeof(*out));
    if (out == NULL) {
        /* The rows stay leased and come back when the lease runs out. */
        PQclear(res);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (outbox_job_read(&out[i], res, i) != 0) {
            outbox_jobs_free(out, n);
            PQclear(res);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    PQclear(res);
    *jobs = out;
    return n;
}

/* The (id, lease) pairs of leased rows as two PostgreSQL arrays in
 * params[0] and params[1], kept by *id_arr and *lease_arr (freed by the
 * caller, whatever the result).  0, or -1 with err set. */
static int
outbox_lease_params(const long long *ids, const char (*leases)[OUTBOX_LEASE_LEN], int n, pgarray_t *id_arr,
                    pgarray_t *lease_arr, const char **params, char *err, size_t errlen)
{
    pgarray_init(id_arr);
    pgarray_init(lease_arr);
    for (int i = 0; i < n; i++) {
        pgarray_addf(id_arr, "%lld", ids[i]);
        pgarray_add(lease_arr, leases[i]);
    }
    params[0] = pgarray_finish(id_arr);
    params[1] = pgarray_finish(lease_arr);
    if (params[0] == NULL || params[1] == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int
outbox_renew(store_t *store, const long long *ids, char (*leases)[OUTBOX_LEASE_LEN], int *renewed, int n,
             long lease_ms, char *err, size_t errlen)
{
    pgarray_t id_arr, lease_arr;
    const char *params[3];
    char lease_text[24];
    PGresult *res;
    int count = -1;

    snprintf(lease_text, sizeof(lease_text), "%ld", lease_ms);
    params[2] = lease_text;
    if (outbox_lease_params(ids, (const char (*)[OUTBOX_LEASE_LEN])leases, n, &id_arr, &lease_arr, params, err,
                            errlen) == 0
        && (res = store_exec(store, renew_sql, 3, params, err, errlen)) != NULL) {
        for (int i = 0; i < n; i++)
            renewed[i] = 0;
        count = PQntuples(res);
        /* Only requests under way for over half a lease, and never more
         * than webhook_max_in_flight: a linear match is cheap enough. */
        for (int row = 0; row < count; row++) {
            long long id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
            for (int i = 0; i < n; i++) {
                if (ids[i] == id && !renewed[i]) {
                    outbox_copy(leases[i], OUTBOX_LEASE_LEN, PQgetvalue(res, row, 1));
                    renewed[i] = 1;
                    break;
                }
            }
        }
        PQclear(res);
    }
    pgarray_free(&id_arr);
    pgarray_free(&lease_arr);
    return count;
}

int
outbox_record(store_t *store, const outbox_result_t *results, int n, long disable_after_ms,
              outbox_disable_t *stale, int *nstale, char *err, size_t errlen)
{
    pgarray_t arr[8];
    const char *params[9];
    char disable_text[24];
    PGresult *res = NULL;
    int rc = -1;

    *nstale = 0;
    for (int k = 0; k < 8; k++)
        pgarray_init(&arr[k]);
    for (int i = 0; i < n; i++) {
        const outbox_result_t *r = &results[i];
        pgarray_addf(&arr[0], "%lld", r->id);
        pgarray_add(&arr[1], r->inbox_id[0] ? r->inbox_id : NULL); /* NULL: an account event */
        pgarray_addf(&arr[2], "%d", r->attempt);
        if (r->status_code > 0)
            pgarray_addf(&arr[3], "%d", r->status_code);
        else
            pgarray_add(&arr[3], NULL);
        pgarray_add(&arr[4], r->error[0] ? r->error : NULL);
        pgarray_addf(&arr[5], "%ld", r->latency_ms);
        pgarray_addf(&arr[6], "%ld", r->retry_ms);
        pgarray_add(&arr[7], r->lease[0] ? r->lease : NULL);
    }
    for (int k = 0; k < 8; k++) {
        params[k] = pgarray_finish(&arr[k]);
        if (params[k] == NULL) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    }
    snprintf(disable_text, sizeof(disable_text), "%ld", disable_after_ms);
    params[8] = disable_text;
    res = store_exec(store, record_sql, 9, params, err, errlen);
    if (res == NULL)
        goto done;
    for (int i = 0; i < PQntuples(res) && *nstale < n; i++) {
        outbox_copy(stale[*nstale].endpoint_id, sizeof(stale[*nstale].endpoint_id), PQgetvalue(res, i, 0));
        stale[*nstale].reason[0] = '\0';
        (*nstale)++;
    }
    rc = 0;
done:
    PQclear(res);
    for (int k = 0; k < 8; k++)
        pgarray_free(&arr[k]);
    return rc;
}

int
outbox_disable(store_t *store, const outbox_disable_t *endpoints, int n, char *err, size_t errlen)
{
    pgarray_t ids, reasons;
    const char *params[2];
    PGresult *res;
    int count = -1;

    pgarray_init(&ids);
    pgarray_init(&reasons);
    for (int i = 0; i < n; i++) {
        pgarray_add(&ids, endpoints[i].endpoint_id);
        pgarray_add(&reasons, endpoints[i].reason);
    }
    params[0] = pgarray_finish(&ids);
    params[1] = pgarray_finish(&reasons);
    if (params[0] == NULL || params[1] == NULL) {
        snprintf(err, errlen, "out of memory");
    } else if ((res = store_exec(store, disable_sql, 2, params, err, errlen)) != NULL) {
        count = atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    pgarray_free(&ids);
    pgarray_free(&reasons);
    return count;
}

int
outbox_release(store_t *store, const long long *ids, const char (*leases)[OUTBOX_LEASE_LEN], int n, char *err,
               size_t errlen)
{
    pgarray_t id_arr, lease_arr;
    const char *params[2];
    PGresult *res;
    int count = -1;

    if (outbox_lease_params(ids, leases, n, &id_arr, &lease_arr, params, err, errlen) == 0
        && (res = store_exec(store, release_sql, 2, params, err, errlen)) != NULL) {
        count = atoi(PQcmdTuples(res));
        PQclear(res);
    }
    pgarray_free(&id_arr);
    pgarray_free(&lease_arr);
    return count;
}
