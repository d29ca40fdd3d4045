/*
 * runtime.c -- swap-on-reload holder of config + backends.  See runtime.h.
 */
#include "runtime.h"

#include "sends_seed.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret_file.h"
#include "service_notify.h"

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static runtime_t *runtime_current;
static metrics_backend_t runtime_backend_metrics;   /* zero: none */

void
runtime_set_backend_metrics(const metrics_backend_t *metrics)
{
    runtime_backend_metrics = *metrics;
}

/* tracking_key_file's keys when tracking is configured (else *keys stays
 * NULL); -1 with err if they are needed and cannot be had. */
static int
runtime_track_keys(const pi_config_t *cfg, track_keys_t **keys, char *err, size_t errlen)
{
    char kerr[300];
    if (cfg->tracking_base_url[0] == '\0' && cfg->tracking_listen[0] == '\0')
        return 0;
    if (cfg->tracking_key_file[0] == '\0') {
        snprintf(err, errlen, "tracking_base_url and tracking_listen need tracking_key_file");
        return -1;
    }
    if ((*keys = track_keys_load(cfg->tracking_key_file, kerr, sizeof(kerr))) == NULL) {
        snprintf(err, errlen, "tracking_key_file: %s", kerr);
        return -1;
    }
    return 0;
}

int
runtime_check(const pi_config_t *cfg, char *err, size_t errlen)
{
    char secret[SECRET_LINE_MAX], ferr[300];
    track_keys_t *keys = NULL;
    static const struct {
        const char *key;
        size_t offset;
    } files[] = { { "redis_password_file", offsetof(pi_config_t, redis_password_file) },
                  { "api_submission_password_file", offsetof(pi_config_t, api_submission_password_file) } };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const char *path = *(char *const *)((const char *)cfg + files[i].offset);
        if (*path && secret_file_read(path, secret, sizeof(secret), ferr, sizeof(ferr)) < 0) {
            snprintf(err, errlen, "%s %s", files[i].key, ferr);
            return -1;
        }
    }
    explicit_bzero(secret, sizeof(secret));
    if (cfg->secret_key_file[0] != '\0') {
        secretbox_t *box = secretbox_load(cfg->secret_key_file, cfg->secret_key_file_old, err, errlen);
        if (box == NULL)
            return -1;
        secretbox_free(box);
    }
    if (runtime_track_keys(cfg, &keys, err, errlen) != 0)
        return -1;
    track_keys_free(keys);
    return 0;
}

runtime_t *
runtime_new(pi_config_t *cfg, char *err, size_t errlen)
{
    runtime_t *rt = calloc(1, sizeof(*rt));
    if (rt == NULL) {
        snprintf(err, errlen, "out of memory");
        config_free(cfg);
        return NULL;
    }
    rt->refs = 1;
    rt->cfg = cfg;
    rt->store = store_new(cfg->database, cfg->backend_pool_size, cfg->backend_timeout_ms);
    rt->records = rt->store ? record_batch_new(rt->store, cfg->backend_timeout_ms, cfg->record_gather_us) : NULL;
    rt->limiter = limiter_new(cfg->redis, cfg->redis_password_file, cfg->backend_pool_size, cfg->backend_timeout_ms, err, errlen);
    rt->foreign_domains = domain_cache_new(cfg->foreign_domain_cache_ms);
    if (rt->store != NULL && rt->limiter != NULL && cfg->dkim_signing &&
        (rt->dkim = dkim_keys_new(rt->store, cfg->dkim_key_cache_ms, err, errlen)) == NULL) {
        runtime_release(rt);
        return NULL;
    }
    if (rt->store != NULL && rt->limiter != NULL && runtime_track_keys(cfg, &rt->track_keys, err, errlen) != 0) {
        runtime_release(rt);
        return NULL;
    }
    if (rt->store == NULL || rt->records == NULL || rt->limiter == NULL || rt->foreign_domains == NULL) {
        if (rt->store == NULL || rt->records == NULL || rt->foreign_domains == NULL)
            snprintf(err, errlen, "out of memory");
        runtime_release(rt);
        return NULL;
    }
    store_set_metrics(rt->store, &runtime_backend_metrics);
    limiter_set_metrics(rt->limiter, &runtime_backend_metrics);
    limiter_set_seeder(rt->limiter, sends_seed, rt->store);
    limiter_set_reservation_timeout(rt->limiter, cfg->reservation_timeout_ms);
    limiter_set_wait_replicas(rt->limiter, cfg->redis_wait_replicas);
    return rt;
}

int
runtime_probe(runtime_t *rt, char *status, size_t len)
{
    char pg_err[200] = "", redis_err[200] = "";
    int failed = 0;
    if (store_ping(rt->store, pg_err, sizeof(pg_err)) != 0)
        failed++;
    if (limiter_ping(rt->limiter, redis_err, sizeof(redis_err)) != 0)
        failed++;
    snprintf(status, len, "PostgreSQL %s%s, Redis %s%s", pg_err[0] ? "unreachable: " : "ok", pg_err,
             redis_err[0] ? "unreachable: " : "ok", redis_err);
    return failed;
}

/* The watchdog's test: the runtime lock can be taken and a runtime is
 * installed (a thread stuck holding the lock stops the pings). */
static int
runtime_healthy(void)
{
    runtime_t *rt = runtime_acquire();
    runtime_release(rt);
    return rt != NULL;
}

int
runtime_ready(runtime_t *rt, char *status, size_t len)
{
    int down = runtime_probe(rt, status, len);
    service_notify_ready(status);
    if (service_watchdog_start(runtime_healthy) != 0)
        return -1;
    return down;
}

int
runtime_load_secrets(runtime_t *rt, char *err, size_t errlen)
{
    if (rt->cfg->secret_key_file[0] == '\0') {
        snprintf(rt->secrets_error, sizeof(rt->secrets_error), "secret_key_file is not set");
        return 0;
    }
    rt->secrets = secretbox_load(rt->cfg->secret_key_file, rt->cfg->secret_key_file_old, err, errlen);
    if (rt->secrets == NULL) {
        snprintf(rt->secrets_error, sizeof(rt->secrets_error), "%s", err);
        return -1;
    }
    return 0;
}

void
runtime_install(runtime_t *rt)
{
    runtime_t *old;
    pthread_mutex_lock(&runtime_lock);
    old = runtime_current;
    runtime_current = rt;
    pthread_mutex_unlock(&runtime_lock);
    runtime_release(old);
}

runtime_t *
runtime_acquire(void)
{
    runtime_t *rt;
    pthread_mutex_lock(&runtime_lock);
    rt = runtime_current;
    if (rt)
        rt->refs++;
    pthread_mutex_unlock(&runtime_lock);
    return rt;
}

void
runtime_release(runtime_t *rt)
{
    int left;
    if (rt == NULL)
        return;
    pthread_mutex_lock(&runtime_lock);
    left = --rt->refs;
    pthread_mutex_unlock(&runtime_lock);
    if (left > 0)
        return;
    record_batch_free(rt->records);
    dkim_keys_free(rt->dkim);
    store_free(rt->store);
    limiter_free(rt->limiter);
    domain_cache_free(rt->foreign_domains);
    secretbox_free(rt->secrets);
    track_keys_free(rt->track_keys);
    config_free(rt->cfg);
    free(rt);
}
