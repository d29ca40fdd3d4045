/*
 * runtime.h -- a config together with the backends built from it.
 *
 * Public: runtime_check, runtime_new, runtime_probe, runtime_ready, runtime_load_secrets, runtime_install,
 * runtime_acquire, runtime_release, runtime_set_backend_metrics.
 * A reload builds a whole new runtime aside and swaps it in; callers that
 * hold the old one (an SMTP session in progress) keep using it until they
 * release it, so no session ever sees half of a reload.  Logs nothing.
 */
#ifndef POSTINBOX_RUNTIME_H
#define POSTINBOX_RUNTIME_H

#include <stddef.h>

#include "config.h"
#include "dkim_keys.h"
#include "domain_cache.h"
#include "limiter.h"
#include "record_batch.h"
#include "secretbox.h"
#include "store.h"
#include "track_token.h"

typedef struct runtime {
    int refs;
    pi_config_t *cfg;
    store_t *store;
    record_batch_t *records;  /* group commit of message records, over store */
    limiter_t *limiter;
    domain_cache_t *foreign_domains;
    dkim_keys_t *dkim;        /* the DKIM signing keys (dkim_signing); NULL: nothing is signed */
    secretbox_t *secrets;     /* the key of webhook secrets and DKIM keys; NULL: none */
    char secrets_error[256];  /* why secrets is NULL ("secret_key_file is not set") */
    track_keys_t *track_keys; /* tracking_key_file's keys, with tracking_base_url or tracking_listen; else NULL */
} runtime_t;

/* The metrics every later runtime_new gives its store and limiter (once,
 * at start-up, before the first runtime_new). */
void runtime_set_backend_metrics(const metrics_backend_t *metrics);
/* What -t checks beyond the syntax, without connecting anywhere: the
 * files the config names can be read and hold what they must (the Redis
 * and submission passwords, secret_key_file, tracking_key_file when
 * tracking is configured).  0, or -1 with err naming the key. */
int runtime_check(const pi_config_t *cfg, char *err, size_t errlen);
/* Builds backends for cfg (taking ownership of it); NULL with err. */
runtime_t *runtime_new(pi_config_t *cfg, char *err, size_t errlen);
/* Asks PostgreSQL (SELECT 1) and Redis (PING) once, each within
 * backend_timeout_ms; writes "PostgreSQL ok, Redis ok" or what failed into
 * status (for the service manager and the log); returns how many failed. */
int runtime_probe(runtime_t *rt, char *status, size_t len);
/* Start-up is done (sockets open, rt installed): probes the backends, tells
 * the service manager READY=1 with the probe as STATUS, and starts the
 * watchdog pings when the unit has WatchdogSec.  A backend that is down
 * does not hold the start back: mail is answered as on_backend_error says
 * until it is back.  Returns how many backends are down, -1 if the
 * watchdog thread cannot start. */
int runtime_ready(runtime_t *rt, char *status, size_t len);
/* Reads cfg's secret_key_file (and secret_key_file_old) into
 * rt->secrets: 0, also when none is set (secrets NULL, secrets_error
 * says so); -1 with err when a file is set but cannot be used.  The
 * daemon that delivers webhooks and the milter (DKIM keys) ask. */
int runtime_load_secrets(runtime_t *rt, char *err, size_t errlen);
/* Makes rt the current runtime; the previous one goes when released. */
void runtime_install(runtime_t *rt);
/* A counted reference to the current runtime. */
runtime_t *runtime_acquire(void);
void runtime_release(runtime_t *rt);

#endif
