/*
 * domain_watch.c -- the periodic DNS check of custom domains.  See
 * domain_watch.h.
 */
#include "domain_watch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin_domain.h"
#include "dns_lookup.h"
#include "log.h"
#include "runtime.h"

#define WATCH_BATCH 8

/* $1 how many, $2 the lease in ms: the due domains, claimed. */
static const char claim_sql[] =
    "WITH due AS (SELECT id FROM postinbox.domain"
    "   WHERE kind = 'custom' AND next_check_at <= now()"
    "   ORDER BY next_check_at LIMIT $1::integer FOR UPDATE SKIP LOCKED)"
    " UPDATE postinbox.domain d SET next_check_at = now() + $2::bigint * interval '1 millisecond'"
    "   FROM due WHERE d.id = due.id RETURNING d.name";

static pthread_t watch_thread;
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_wake = PTHREAD_COND_INITIALIZER;
static atomic_int watch_stopping;
static int watch_started;

/* Checks one claimed domain and logs the outcome. */
static void
watch_check(runtime_t *rt, admin_t *admin, const admin_dns_t *dns, dns_resolver_t *resolver, const char *name)
{
    admin_error_t err;
    json_t *check;
    char failing[512];

    if (admin_domain_verify(admin, dns, resolver, rt->cfg->dns_timeout_ms, name, &check, &err) != ADMIN_OK) {
        /* the lease stands: the next attempt comes when it runs out */
        log_warn("domain check: %s: %s", name, err.message);
        return;
    }
    const char *event = json_string_value(json_object_get(check, "event"));
    if (json_is_true(json_object_get(check, "checks_passed")))
        log_info("domain check: %s passed (asked %s)%s%s", name, dns_resolver_name(resolver),
                 event ? ": " : "", event ? event : "");
    else {
        admin_domain_unmet_records(json_object_get(check, "records"), failing, sizeof(failing));
        log_info("domain check: %s failed (%s; %lld in a row; asked %s)%s%s", name, failing,
                 (long long)json_integer_value(json_object_get(check, "failures")), dns_resolver_name(resolver),
                 event ? ": " : "", event ? event : "");
    }
    json_decref(check);
}

/* One pass: claims up to WATCH_BATCH due domains and checks them.
 * Returns how many were claimed. */
static int
watch_pass(runtime_t *rt)
{
    admin_t admin;
    admin_error_t err;
    admin_dns_t dns;
    dns_resolver_t *resolver;
    char batch[16], lease[32], text[300];
    /* long enough for every record of a domain to time out, and the write */
    long lease_ms = 10 * rt->cfg->dns_timeout_ms * WATCH_BATCH + 60000;
    const char *params[2] = { batch, lease };
    PGresult *res;
    int n;

    admin_init(&admin, rt->store, NULL, NULL, "postinbox-policyd:domain-check");
    admin_dns_from_config(rt->cfg, &dns);
    snprintf(batch, sizeof(batch), "%d", WATCH_BATCH);
    snprintf(lease, sizeof(lease), "%ld", lease_ms);
    if ((res = admin_exec(&admin, claim_sql, 2, params, 0, &err)) == NULL) {
        log_warn("domain check: database: %.*s", (int)strcspn(err.message, "\n"), err.message);
        return 0;
    }
    if ((n = PQntuples(res)) == 0) {
        PQclear(res);
        return 0;
    }
    if ((resolver = dns_resolver_new(rt->cfg->dns_resolver, text, sizeof(text))) == NULL) {
        log_warn("domain check: %s (the claimed domains are retried when their lease runs out)", text);
        PQclear(res);
        return 0;
    }
    dns_resolver_set_cancel(resolver, &watch_stopping);
    for (int i = 0; i < n && !atomic_load(&watch_stopping); i++)
        watch_check(rt, &admin, &dns, resolver, PQgetvalue(res, i, 0));
    dns_resolver_free(resolver);
    PQclear(res);
    return n;
}

static void *
watch_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&watch_stopping)) {
        runtime_t *rt = runtime_acquire();
        int claimed = 0;
        if (rt != NULL && rt->cfg->domain_check_interval_ms > 0)
            claimed = watch_pass(rt);
        runtime_release(rt);
        if (claimed == WATCH_BATCH)
            continue; /* more may be due */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_mutex_lock(&watch_lock);
        if (!atomic_load(&watch_stopping))
            pthread_cond_timedwait(&watch_wake, &watch_lock, &until);
        pthread_mutex_unlock(&watch_lock);
    }
    return NULL;
}

int
domain_watch_start(char *err, size_t errlen)
{
    atomic_store(&watch_stopping, 0);
    if (pthread_create(&watch_thread, NULL, watch_main, NULL) != 0) {
        snprintf(err, errlen, "cannot start the domain check thread");
        return -1;
    }
    watch_started = 1;
    return 0;
}

void
domain_watch_stop(void)
{
    if (!watch_started)
        return;
    pthread_mutex_lock(&watch_lock);
    atomic_store(&watch_stopping, 1);
    pthread_cond_broadcast(&watch_wake);
    pthread_mutex_unlock(&watch_lock);
    pthread_join(watch_thread, NULL);
    watch_started = 0;
}
