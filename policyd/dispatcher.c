/*
 * dispatcher.c -- claim, sign, send; hand results to the recorder.
 * See dispatcher.h.
 *
 * The loop, one turn:
 *   1. keep the LISTEN connection up (reopened with backoff; after a
 *      reopen, look for work at once: notifications may have been lost);
 *   2. claim due rows if there is room in flight and a reason to look (a
 *      notification, a full previous claim, the poll timer, or a retry we
 *      scheduled ourselves falling due);
 *   3. renew the leases of requests under way for over half a lease;
 *   4. wait in curl_multi_poll for transfers, the LISTEN socket or the
 *      wake-up eventfd (written by dispatcher_wake and by the recorder
 *      after each write), and collect finished transfers;
 *   5. hand their results to the recorder thread (recorder.c), which
 *      commits them at once while this thread goes on sending.
 * In flight means claimed and not yet recorded: a result the recorder has
 * not committed holds its slot of webhook_max_in_flight as the request
 * did, so a crash sends again at most webhook_max_in_flight deliveries,
 * however slow the database is to take results.
 * Leases are short (2 s + 3 x backend_timeout, whatever webhook_timeout
 * is), so a dead daemon's rows come back soon, and renewed while their
 * request is under way, so a long request is never sent a second time by
 * another daemon meanwhile; after the answer there is at least half a
 * lease left to write the result.
 * Nothing is marked delivered before its 2xx: a crash leaves leased rows
 * that are due again when the lease runs out (at-least-once).
 * Signing secrets come from the claim as stored (sealed with
 * secret_key_file, lib/net/secretbox, or an older install's plaintext)
 * and are opened with the runtime's key just before signing; one that
 * does not open fails that attempt ("secret: ..."), never naming it.
 */
#include "dispatcher.h"
#include "clock.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "analyzer.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "policyd_metrics.h"
#include "recorder.h"
#include "runtime.h"
#include "secretbox.h"
#include "webhook_retry.h"
#include "webhook_sign.h"

#define DISPATCHER_CHANNEL "postinbox_webhook"
/* Lease = this margin + 3 x backend_timeout, renewed when less than half
 * of it is left while the request is under way: a renewal has a whole
 * backend_timeout to answer and one more try before the lease runs out,
 * and a result written after the answer has half a lease (at least a
 * backend_timeout and the recorder's first pause).  Longer only delays
 * the rows of a daemon that died; shorter risks a duplicate when the
 * database is slow (the other daemon's claim wins). */
#define DISPATCHER_LEASE_MARGIN_MS 2000L
#define DISPATCHER_LEASE_BACKEND_TIMEOUTS 3L
/* After a failed renewal, the next try (the lease still has time). */
#define DISPATCHER_RENEW_RETRY_MS 500L
/* Extra wait after webhook_timeout for requests to finish at shutdown. */
#define DISPATCHER_DRAIN_SLACK_MS 1000L
/* An endpoint is slow when a request to it has been under way this long;
 * a slow endpoint gets no more than a quarter of webhook_max_in_flight,
 * so one hanging receiver cannot take every slot from the others. */
#define DISPATCHER_SLOW_MS 1000L
/* A claim slower than this is logged. */
#define DISPATCHER_SLOW_STATEMENT_MS 1000LL

typedef struct job {
    http_request_t http;        /* first: a finished request is its job */
    outbox_job_t row;
    runtime_t *rt;              /* keeps allow list and config alive */
    struct curl_slist *headers;
    struct job *prev, *next;    /* in-flight list */
    int in_flight;
    int lease_lost;             /* a renewal found the row taken: not renewed again */
    long long lease_ends_ms;    /* clock_ms() by which the lease runs out, or earlier */
} job_t;

typedef struct {
    pthread_t thread;
    int started;
    int wake_fd;
    atomic_int stopping;
    http_client_t *http;
    notify_t *notify;
    job_t *inflight;
    int ninflight;
    outbox_result_t *results;   /* finished this turn, for the recorder */
    int nresults, capresults;
    outbox_disable_t *gone;     /* endpoints that answered 410 this turn */
    int ngone, capgone;
    int more_due;               /* look for due rows at once */
    long long next_poll;
    long long next_renew;       /* when a lease of a request under way needs renewing; 0 if none */
    long long soonest_retry;    /* earliest retry we scheduled; 0 if none */
    int db_down, listen_down;   /* log an outage once */
    uint64_t rng;
} dispatcher_t;

static dispatcher_t dispatcher;

/* xorshift64*: jitter only, no secrecy needed. */
static double
dispatcher_random(dispatcher_t *d)
{
    d->rng ^= d->rng >> 12;
    d->rng ^= d->rng << 25;
    d->rng ^= d->rng >> 27;
    return (double)((d->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void
dispatcher_db_ok(dispatcher_t *d)
{
    if (d->db_down)
        log_info("webhooks: database reachable again");
    d->db_down = 0;
}

static void
dispatcher_db_failed(dispatcher_t *d, const char *what, const char *err)
{
    if (!d->db_down)
        log_warn("webhooks: %s failed: %s", what, err);
    else
        log_debug("webhooks: %s failed: %s", what, err);
    d->db_down = 1;
}

/* ---- results ------------------------------------------------------------------------ */

static int
dispatcher_grow(void **array, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 256;
    while (ncap < need)
        ncap *= 2;
    void *grown = realloc(*array, (size_t)ncap * size);
    if (grown == NULL)
        return -1;
    *array = grown;
    *cap = ncap;
    return 0;
}

static void
dispatcher_queue_gone(dispatcher_t *d, const char *endpoint_id)
{
    for (int i = 0; i < d->ngone; i++)
        if (strcmp(d->gone[i].endpoint_id, endpoint_id) == 0)
            return;
    if (dispatcher_grow((void **)&d->gone, &d->capgone, d->ngone + 1, sizeof(*d->gone)) != 0) {
        log_error("webhooks: out of memory, endpoint=%s not disabled", endpoint_id);
        return;
    }
    outbox_disable_t *e = &d->gone[d->ngone++];
    snprintf(e->endpoint_id, sizeof(e->endpoint_id), "%s", endpoint_id);
    snprintf(e->reason, sizeof(e->reason), "410 Gone");
}

/* The row's strings are distinct allocations (the outbox strdup's each at the claim,
 * dispatcher_open_secret replaces one by a fresh copy); LeakSanitizer and
 * ASan check this at run time. */
ANALYZER_DISTINCT_BEGIN
static void
dispatcher_job_free(job_t *job)
{
    curl_slist_free_all(job->headers);
    free(job->row.url);
    if (job->row.secret)
        OPENSSL_cleanse(job->row.secret, strlen(job->row.secret));
    if (job->row.previous_secret)
        OPENSSL_cleanse(job->row.previous_secret, strlen(job->row.previous_secret));
    free(job->row.secret);
    free(job->row.previous_secret);
    free(job->row.body);
    runtime_release(job->rt);
    free(job);
}
ANALYZER_DISTINCT_END

/* Turns a finished job into a result, logs the attempt, frees the job. */
static void
dispatcher_complete(dispatcher_t *d, job_t *job)
{
    const pi_config_t *cfg = job->rt->cfg;
    const outbox_job_t *row = &job->row;
    int attempt = row->attempts + 1;
    webhook_outcome_t outcome = webhook_outcome(&cfg->webhook_retry_schedule, attempt, job->http.status);
    long retry_ms = -1;
    char status[16];

    if (job->in_flight) {
        if (job->prev)
            job->prev->next = job->next;
        else
            d->inflight = job->next;
        if (job->next)
            job->next->prev = job->prev;
        d->ninflight--;
    }
    if (outcome == WEBHOOK_RETRY) {
        retry_ms = webhook_retry_delay_ms(&cfg->webhook_retry_schedule, attempt, job->http.retry_after_ms,
                                          dispatcher_random(d));
        long long due = clock_ms() + retry_ms;
        if (d->soonest_retry == 0 || due < d->soonest_retry)
            d->soonest_retry = due;
    }
    policyd_metrics_attempt(job->http.status, job->http.error, job->http.latency_ms, outcome, row->created_at);
    if (job->http.status > 0)
        snprintf(status, sizeof(status), "%d", job->http.status);
    else
        snprintf(status, sizeof(status), "none");

    switch (outcome) {
    case WEBHOOK_DELIVERED:
        log_debug("delivery=%lld event=%s endpoint=%s attempt=%d status=%s latency_ms=%ld result=delivered",
                  row->id, row->event_id, row->endpoint_id, attempt, status, job->http.latency_ms);
        break;
    case WEBHOOK_RETRY:
        log_info("delivery=%lld event=%s endpoint=%s attempt=%d status=%s latency_ms=%ld result=retry"
                 " retry_in_ms=%ld error=\"%s\"",
                 row->id, row->event_id, row->endpoint_id, attempt, status, job->http.latency_ms, retry_ms,
                 job->http.error);
        break;
    case WEBHOOK_FAILED:
        log_warn("delivery=%lld event=%s endpoint=%s attempt=%d status=%s latency_ms=%ld result=failed"
                 " error=\"%s\" (no attempt left)",
                 row->id, row->event_id, row->endpoint_id, attempt, status, job->http.latency_ms, job->http.error);
        break;
    case WEBHOOK_GONE:
        log_warn("delivery=%lld event=%s endpoint=%s attempt=%d status=%s latency_ms=%ld result=gone"
                 " (endpoint will be disabled)",
                 row->id, row->event_id, row->endpoint_id, attempt, status, job->http.latency_ms);
        dispatcher_queue_gone(d, row->endpoint_id);
        break;
    }

    if (dispatcher_grow((void **)&d->results, &d->capresults, d->nresults + 1, sizeof(*d->results)) == 0) {
        outbox_result_t *r = &d->results[d->nresults++];
        r->id = row->id;
        memcpy(r->inbox_id, row->inbox_id, sizeof(r->inbox_id));
        memcpy(r->endpoint_id, row->endpoint_id, sizeof(r->endpoint_id));
        memcpy(r->lease, row->lease, sizeof(r->lease));
        r->attempt = attempt;
        r->status_code = job->http.status;
        r->latency_ms = job->http.latency_ms;
        r->retry_ms = retry_ms;
        snprintf(r->error, sizeof(r->error), "%s", job->http.error);
    } else {
        log_error("delivery=%lld: out of memory, result not recorded (retried when its lease runs out)", row->id);
    }

    dispatcher_job_free(job);
}

/* The lease a claim or a renewal asks for. */
static long
dispatcher_lease_ms(const pi_config_t *cfg)
{
    return DISPATCHER_LEASE_MARGIN_MS + DISPATCHER_LEASE_BACKEND_TIMEOUTS * cfg->backend_timeout_ms;
}

/* Deliveries this daemon holds: requests under way and results not yet
 * committed.  Either would be sent again after a crash. */
static int
dispatcher_holding(const dispatcher_t *d)
{
    return d->ninflight + recorder_backlog();
}

/* Room worth a claim under load: half of what may be in flight (so one
 * claim refills many slots while the other half is on the wire), at most
 * a batch. */
static int
dispatcher_chunk(const pi_config_t *cfg)
{
    int chunk = cfg->webhook_max_in_flight / 2;
    if (chunk > cfg->webhook_batch_size)
        chunk = cfg->webhook_batch_size;
    return chunk < 1 ? 1 : chunk;
}

/* Hands this turn's results and 410s to the recorder. */
static void
dispatcher_submit(dispatcher_t *d)
{
    recorder_submit(d->results, d->nresults, d->gone, d->ngone);
    d->nresults = 0;
    d->ngone = 0;
}

/* ---- sending ------------------------------------------------------------------------ */

/* Appends "name: value" ("name:" alone, which removes a header libcurl
 * would add, when value is ""). */
static struct curl_slist *
dispatcher_header(struct curl_slist *list, int *failed, const char *name, const char *value)
{
    char line[WEBHOOK_SIGNATURE_HEADER_LEN + 64];
    struct curl_slist *grown;
    if (*failed)
        return list;
    snprintf(line, sizeof(line), "%s:%s%s", name, value[0] ? " " : "", value);
    grown = curl_slist_append(list, line);
    if (grown == NULL) {
        *failed = 1;
        return list;
    }
    return grown;
}

/* Replaces the stored (sealed, or an older install's plaintext) secrets
 * of job's row by the secrets themselves.  0, or -1 with err (no secret
 * in it): the attempt fails and is retried, e.g. after the key is fixed. */
static int
dispatcher_open_secret(job_t *job, char **field, char *err, size_t errlen)
{
    char plain[SECRETBOX_PLAIN_MAX + 1];
    if (*field == NULL)
        return 0;
    if (secretbox_open(job->rt->secrets, *field, job->row.endpoint_id, plain, sizeof(plain), err, errlen) < 0)
        return -1;
    char *copy = strdup(plain);
    OPENSSL_cleanse(plain, sizeof(plain));
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(*field);
    *field = copy;
    return 0;
}

static int
dispatcher_open_secrets(job_t *job, char *err, size_t errlen)
{
    if (dispatcher_open_secret(job, &job->row.secret, err, errlen) != 0)
        return -1;
    return dispatcher_open_secret(job, &job->row.previous_secret, err, errlen);
}

/* Signs and starts one claimed delivery (taking over row's strings); a
 * delivery that cannot start becomes a failed attempt at once. */
static void
dispatcher_send(dispatcher_t *d, outbox_job_t *row, long long lease_ends_ms, long lease_ms)
{
    job_t *job = calloc(1, sizeof(*job));
    char signature[WEBHOOK_SIGNATURE_HEADER_LEN], stamp[24], err[160];
    long long timestamp = (long long)time(NULL);
    int failed = 0;

    if (job == NULL) {
        log_error("delivery=%lld: out of memory (retried when its lease runs out)", row->id);
        free(row->url);
        free(row->secret);
        free(row->previous_secret);
        free(row->body);
        return;
    }
    job->row = *row;
    job->rt = runtime_acquire();
    job->http.url = job->row.url;
    job->http.body = job->row.body;
    job->http.body_len = job->row.body_len;
    job->http.timeout_ms = job->rt->cfg->webhook_timeout_ms;
    job->http.allow_http = job->rt->cfg->webhook_allow_http;
    job->http.allow_networks = job->rt->cfg->webhook_allow_networks;
    job->http.retry_after_ms = -1;

    if (dispatcher_open_secrets(job, err, sizeof(err)) != 0) {
        snprintf(job->http.error, sizeof(job->http.error), "secret: %s", err);
        dispatcher_complete(d, job);
        return;
    }
    if (webhook_signature_header(job->row.secret, job->row.previous_secret, job->row.event_id, timestamp,
                                 job->row.body, job->row.body_len, signature, sizeof(signature), err,
                                 sizeof(err)) != 0) {
        snprintf(job->http.error, sizeof(job->http.error), "signing: %s", err);
        dispatcher_complete(d, job);
        return;
    }
    snprintf(stamp, sizeof(stamp), "%lld", timestamp);
    job->headers = dispatcher_header(job->headers, &failed, "Content-Type", "application/json");
    job->headers = dispatcher_header(job->headers, &failed, "webhook-id", job->row.event_id);
    job->headers = dispatcher_header(job->headers, &failed, "webhook-timestamp", stamp);
    job->headers = dispatcher_header(job->headers, &failed, "webhook-signature", signature);
    /* No "Expect: 100-continue" round trip before larger bodies. */
    job->headers = dispatcher_header(job->headers, &failed, "Expect", "");
    if (failed) {
        snprintf(job->http.error, sizeof(job->http.error), "out of memory");
        dispatcher_complete(d, job);
        return;
    }
    job->http.headers = job->headers;
    if (http_client_start(d->http, &job->http) != 0) {
        dispatcher_complete(d, job);
        return;
    }
    job->in_flight = 1;
    job->lease_ends_ms = lease_ends_ms;
    if (d->next_renew == 0 || lease_ends_ms - lease_ms / 2 < d->next_renew)
        d->next_renew = lease_ends_ms - lease_ms / 2;
    job->next = d->inflight;
    if (d->inflight)
        d->inflight->prev = job;
    d->inflight = job;
    d->ninflight++;
}

static int
dispatcher_cmp_job_endpoint(const void *a, const void *b)
{
    const job_t *x = *(const job_t *const *)a, *y = *(const job_t *const *)b;
    return strcmp(x->row.endpoint_id, y->row.endpoint_id);
}

/* Endpoints to leave out of the next claim: those holding at least a
 * quarter of the slots while one of their requests is slow.  Returns the
 * count; *skip points into the in-flight jobs (valid until they finish). */
static int
dispatcher_slow_endpoints(dispatcher_t *d, const pi_config_t *cfg, long long now, const char ***skip)
{
    int cap = cfg->webhook_max_in_flight / 4, n = 0, nskip = 0;
    job_t **jobs;
    *skip = NULL;
    if (cap < 1)
        cap = 1;
    if (d->ninflight < cap)
        return 0;
    jobs = calloc((size_t)d->ninflight, sizeof(*jobs));
    *skip = calloc((size_t)d->ninflight, sizeof(**skip));
    if (jobs == NULL || *skip == NULL) {
        free(jobs);
        free(*skip);
        *skip = NULL;
        return 0;
    }
    for (job_t *job = d->inflight; job && n < d->ninflight; job = job->next)
        jobs[n++] = job;
    qsort(jobs, (size_t)n, sizeof(*jobs), dispatcher_cmp_job_endpoint);
    for (int i = 0; i < n;) {
        int j = i, slow = 0;
        while (j < n && strcmp(jobs[j]->row.endpoint_id, jobs[i]->row.endpoint_id) == 0) {
            if (now - jobs[j]->http.started_ms >= DISPATCHER_SLOW_MS)
                slow = 1;
            j++;
        }
        if (slow && j - i >= cap)
            (*skip)[nskip++] = jobs[i]->row.endpoint_id;
        i = j;
    }
    free(jobs);
    return nskip;
}

/* Claims what is due (within the room left in flight) and sends it. */
static void
dispatcher_claim(dispatcher_t *d, runtime_t *rt, long long now)
{
    const pi_config_t *cfg = rt->cfg;
    int holding = dispatcher_holding(d);
    int room = cfg->webhook_max_in_flight - holding;
    int by_timer = now >= d->next_poll;
    outbox_job_t *rows = NULL;
    char err[512];

    if (room <= 0)
        return;
    if (!d->more_due && !by_timer && !(d->soonest_retry && now >= d->soonest_retry))
        return;
    /* Busy: wait until a chunk of room is free rather than claim a few. */
    if (holding > 0 && room < dispatcher_chunk(cfg) && !by_timer)
        return;
    if (room > cfg->webhook_batch_size)
        room = cfg->webhook_batch_size;
    if (by_timer && notify_fd(d->notify) >= 0 && notify_ping(d->notify, cfg->backend_timeout_ms, err, sizeof(err)) < 0)
        log_warn("webhooks: LISTEN connection lost (%s); polling every %ld ms until it is back", err,
                 cfg->webhook_poll_interval_ms);
    long lease_ms = dispatcher_lease_ms(cfg);
    const char **skip;
    int nskip = dispatcher_slow_endpoints(d, cfg, now, &skip);
    int n = outbox_claim(rt->store, room, lease_ms, skip, nskip, &rows, err, sizeof(err));
    long long took = clock_ms() - now;
    free(skip);
    if (took >= DISPATCHER_SLOW_STATEMENT_MS)
        log_info("webhooks: claiming took %lld ms", took);
    d->next_poll = now + cfg->webhook_poll_interval_ms;
    if (d->soonest_retry && now >= d->soonest_retry)
        d->soonest_retry = 0;
    if (n < 0) {
        dispatcher_db_failed(d, "claiming deliveries", err);
        d->more_due = 0;
        return;
    }
    dispatcher_db_ok(d);
    d->more_due = n == room;
    for (int i = 0; i < n; i++) {
        if (!rows[i].enabled) {
            log_info("delivery=%lld event=%s endpoint=%s result=failed error=\"endpoint disabled\"", rows[i].id,
                     rows[i].event_id, rows[i].endpoint_id);
            continue;
        }
        /* The server's now() is no earlier than ours before the claim. */
        dispatcher_send(d, &rows[i], now + lease_ms, lease_ms);
        rows[i].url = rows[i].secret = rows[i].previous_secret = rows[i].body = NULL;
    }
    outbox_jobs_free(rows, n);
}

/* ---- leases ------------------------------------------------------------------------ */

/* Renews, in one statement, the leases of requests under way with less
 * than half a lease left, and works out when the next renewal is due. */
static void
dispatcher_renew(dispatcher_t *d, runtime_t *rt, long long now)
{
    long lease_ms = dispatcher_lease_ms(rt->cfg);
    job_t **jobs = NULL;
    long long *ids = NULL;
    char (*leases)[OUTBOX_LEASE_LEN] = NULL;
    int *renewed = NULL;
    int n = 0, got;
    char err[512];

    if (d->next_renew == 0 || now < d->next_renew)
        return;
    if (d->ninflight > 0) {
        jobs = calloc((size_t)d->ninflight, sizeof(*jobs));
        ids = calloc((size_t)d->ninflight, sizeof(*ids));
        leases = calloc((size_t)d->ninflight, sizeof(*leases));
        renewed = calloc((size_t)d->ninflight, sizeof(*renewed));
    }
    if (d->ninflight > 0 && (jobs == NULL || ids == NULL || leases == NULL || renewed == NULL)) {
        d->next_renew = now + DISPATCHER_RENEW_RETRY_MS;
        goto done;
    }
    for (job_t *job = d->inflight; job && n < d->ninflight; job = job->next) {
        if (job->lease_lost || job->lease_ends_ms - lease_ms / 2 > now)
            continue;
        jobs[n] = job;
        ids[n] = job->row.id;
        memcpy(leases[n], job->row.lease, OUTBOX_LEASE_LEN);
        n++;
    }
    if (n > 0) {
        got = outbox_renew(rt->store, ids, leases, renewed, n, lease_ms, err, sizeof(err));
        if (got < 0) {
            dispatcher_db_failed(d, "renewing leases", err);
            d->next_renew = now + DISPATCHER_RENEW_RETRY_MS;
            goto done;
        }
        dispatcher_db_ok(d);
        for (int i = 0; i < n; i++) {
            if (renewed[i]) {
                memcpy(jobs[i]->row.lease, leases[i], OUTBOX_LEASE_LEN);
                jobs[i]->lease_ends_ms = now + lease_ms;
            } else {
                jobs[i]->lease_lost = 1;
                log_info("delivery=%lld event=%s endpoint=%s lease lost (the row was taken or settled meanwhile;"
                         " the request goes on)",
                         jobs[i]->row.id, jobs[i]->row.event_id, jobs[i]->row.endpoint_id);
            }
        }
    }
    d->next_renew = 0;
    for (job_t *job = d->inflight; job; job = job->next) {
        long long due = job->lease_ends_ms - lease_ms / 2;
        if (!job->lease_lost && (d->next_renew == 0 || due < d->next_renew))
            d->next_renew = due;
    }
done:
    free(jobs);
    free(ids);
    free(leases);
    free(renewed);
}

/* ---- the loop ------------------------------------------------------------------------ */

static void
dispatcher_listen(dispatcher_t *d, const pi_config_t *cfg)
{
    char err[512];
    int rc = notify_ensure(d->notify, cfg->database, cfg->backend_timeout_ms, err, sizeof(err));
    if (rc == 1) {
        if (d->listen_down)
            log_info("webhooks: LISTEN %s connection restored", DISPATCHER_CHANNEL);
        d->listen_down = 0;
        d->more_due = 1;
    } else if (rc < 0 && err[0]) {
        if (!d->listen_down)
            log_warn("webhooks: cannot LISTEN (%s); polling every %ld ms meanwhile", err,
                     cfg->webhook_poll_interval_ms);
        d->listen_down = 1;
    }
}

static int
dispatcher_timeout(const dispatcher_t *d, const pi_config_t *cfg, long long now, int stopping)
{
    long long until = d->next_poll;
    if (stopping)
        return 100;
    int holding = dispatcher_holding(d);
    if (d->more_due && (holding == 0 || cfg->webhook_max_in_flight - holding >= dispatcher_chunk(cfg)))
        return 0;
    if (d->soonest_retry && d->soonest_retry < until)
        until = d->soonest_retry;
    if (d->next_renew && d->next_renew < until)
        until = d->next_renew;
    if (notify_fd(d->notify) < 0 && now + 100 < until)
        until = now + 100;      /* reconnect attempts are paced by notify.c */
    if (until <= now)
        return 0;
    return until - now > cfg->webhook_poll_interval_ms ? (int)cfg->webhook_poll_interval_ms : (int)(until - now);
}

/* Shutdown: write what finished, give back the leases of what did not. */
static void
dispatcher_finish(dispatcher_t *d)
{
    runtime_t *rt = runtime_acquire();
    char err[512];
    int n = 0;
    long long *ids = NULL;
    char (*leases)[OUTBOX_LEASE_LEN] = NULL;

    dispatcher_submit(d);
    if (d->ninflight > 0) {
        ids = calloc((size_t)d->ninflight, sizeof(*ids));
        leases = calloc((size_t)d->ninflight, sizeof(*leases));
    }
    while (d->inflight) {
        job_t *job = d->inflight;
        d->inflight = job->next;
        http_client_abandon(d->http, &job->http);
        log_info("delivery=%lld event=%s endpoint=%s result=abandoned (shutdown; due again at once)", job->row.id,
                 job->row.event_id, job->row.endpoint_id);
        if (ids && leases) {
            ids[n] = job->row.id;
            memcpy(leases[n], job->row.lease, OUTBOX_LEASE_LEN);
            n++;
        }
        dispatcher_job_free(job);
    }
    d->ninflight = 0;
    if (n > 0) {
        int released = outbox_release(rt->store, ids, (const char(*)[OUTBOX_LEASE_LEN])leases, n, err, sizeof(err));
        if (released < 0)
            log_warn("webhooks: could not release %d leases (due again when they run out): %s", n, err);
        else
            log_info("webhooks: released %d leases", released);
    }
    free(ids);
    free(leases);
    runtime_release(rt);
}

static void *
dispatcher_main(void *arg)
{
    dispatcher_t *d = arg;
    long long stop_deadline = 0;

    d->more_due = 1;
    for (;;) {
        runtime_t *rt = runtime_acquire();
        const pi_config_t *cfg = rt->cfg;
        long long now = clock_ms();
        int stopping = atomic_load(&d->stopping);
        struct pollfd fds[2];
        int nfds = 0;
        http_request_t *done;

        if (stopping && stop_deadline == 0) {
            stop_deadline = now + cfg->webhook_timeout_ms + DISPATCHER_DRAIN_SLACK_MS;
            log_info("webhooks: stopping, %d requests in flight", d->ninflight);
        }
        if (stopping && (d->ninflight == 0 || now >= stop_deadline)) {
            runtime_release(rt);
            break;
        }
        if (!stopping) {
            dispatcher_listen(d, cfg);
            dispatcher_claim(d, rt, now);
            dispatcher_submit(d);   /* deliveries that failed at once */
        }
        dispatcher_renew(d, rt, clock_ms());    /* while draining too */
        http_client_set_max_connections(d->http, cfg->webhook_max_in_flight);

        fds[nfds++] = (struct pollfd){ .fd = d->wake_fd, .events = POLLIN };
        if (notify_fd(d->notify) >= 0)
            fds[nfds++] = (struct pollfd){ .fd = notify_fd(d->notify), .events = POLLIN };
        http_client_poll(d->http, fds, nfds, dispatcher_timeout(d, cfg, clock_ms(), stopping));
        if (fds[0].revents & POLLIN) {
            uint64_t count;
            if (read(d->wake_fd, &count, sizeof(count)) < 0) {
                /* EAGAIN: someone else drained it */
            }
        }
        if (nfds > 1 && fds[1].revents) {
            int got = notify_drain(d->notify);
            if (got > 0)
                d->more_due = 1;
            else if (got < 0)
                log_warn("webhooks: LISTEN connection lost; polling every %ld ms until it is back",
                         cfg->webhook_poll_interval_ms);
        }
        while ((done = http_client_done(d->http)) != NULL)
            dispatcher_complete(d, (job_t *)(void *)done);
        dispatcher_submit(d);
        runtime_release(rt);
    }
    dispatcher_finish(d);
    return NULL;
}

/* The recorder wrote results (on its thread): their slots are free. */
static void
dispatcher_recorded(void)
{
    uint64_t one = 1;
    if (write(dispatcher.wake_fd, &one, sizeof(one)) < 0) {
        /* the counter is full: the thread is awake anyway */
    }
}

int
dispatcher_start(char *err, size_t errlen)
{
    dispatcher_t *d = &dispatcher;
    runtime_t *rt = runtime_acquire();
    memset(d, 0, sizeof(*d));
    d->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)d;
    if (d->rng == 0)
        d->rng = 88172645463325252ULL;
    d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    d->notify = notify_new(DISPATCHER_CHANNEL);
    d->http = http_client_new(rt->cfg->webhook_max_in_flight, err, errlen);
    runtime_release(rt);
    if (d->wake_fd < 0 || d->notify == NULL || d->http == NULL) {
        if (d->wake_fd < 0 || d->notify == NULL)
            snprintf(err, errlen, "webhook dispatcher: out of resources");
        goto fail;
    }
    if (recorder_start(dispatcher_recorded, err, errlen) != 0)
        goto fail;
    if (pthread_create(&d->thread, NULL, dispatcher_main, d) != 0) {
        snprintf(err, errlen, "webhook dispatcher: cannot start its thread");
        recorder_stop();
        goto fail;
    }
    d->started = 1;
    return 0;
fail:
    if (d->wake_fd >= 0)
        close(d->wake_fd);
    notify_free(d->notify);
    http_client_free(d->http);
    memset(d, 0, sizeof(*d));
    return -1;
}

void
dispatcher_wake(void)
{
    uint64_t one = 1;
    if (dispatcher.started && write(dispatcher.wake_fd, &one, sizeof(one)) < 0) {
        /* the counter is full: the thread is awake anyway */
    }
}

void
dispatcher_stop(void)
{
    dispatcher_t *d = &dispatcher;
    if (!d->started)
        return;
    atomic_store(&d->stopping, 1);
    dispatcher_wake();
    pthread_join(d->thread, NULL);
    recorder_stop();
    close(d->wake_fd);
    notify_free(d->notify);
    http_client_free(d->http);
    free(d->results);
    free(d->gone);
    d->started = 0;
}
