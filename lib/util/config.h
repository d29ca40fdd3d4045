/*
 * config.h -- postinbox.conf: one table of keys, defaults, bounds.
 *
 * Public: config_defaults, config_load, config_parse_text, config_free,
 * config_keys (the table itself, for lib/util/config_print and the
 * generated postinbox.conf(5)).
 * The file is "key = value" lines with '#' comments; unknown keys and bad
 * values are errors naming the file, line and key.  Every binary reads
 * the same file; a key a binary does not use is still validated.
 * Logs nothing: callers log the error text.
 */
#ifndef POSTINBOX_CONFIG_H
#define POSTINBOX_CONFIG_H

#include <stddef.h>

#include "cidr.h"
#include "log.h"
#include "reply.h"

typedef enum { BACKEND_ERROR_TEMPFAIL = 0, BACKEND_ERROR_ACCEPT } backend_error_policy_t;
typedef enum { SPOOF_REJECT = 0, SPOOF_ACCEPT } spoof_policy_t;
typedef enum { DEFERRED_EVENTS_FIRST = 0, DEFERRED_EVENTS_EVERY } deferred_events_t;
typedef enum { DOMAIN_DNS_FAILED_SEND = 0, DOMAIN_DNS_FAILED_HOLD } domain_dns_failed_t;

#define CONFIG_MAX_RETRIES 32
/* Room for the table's keys (a static assertion in config.c keeps it so). */
#define CONFIG_MAX_KEYS 96

typedef enum {
    CT_STRING, CT_INT, CT_ENUM, CT_CIDR, CT_CIDR_PORTS, CT_LOGLEVEL, CT_BOOL, CT_DURATION, CT_DURATION_LIST,
    CT_PERCENT, CT_HOSTPORT, CT_HOSTNAME, CT_REDIS, CT_URL
} config_type_t;

/* Key flags. */
#define CF_START 1u    /* read at start only: a reload keeps the running value (and says so) */
#define CF_SECRET 2u   /* the value may hold a password: masked when printed */

/* One key of the table: its name, type, default, bounds and help. */
typedef struct {
    const char *name;
    config_type_t type;
    const char *def;
    long min, max;             /* CT_INT bounds; CT_DURATION(_LIST) bounds in ms; CT_PERCENT in ppm */
    const char *choices[3];    /* CT_ENUM values, index = stored int */
    size_t offset;
    const char *help;
    unsigned flags;            /* CF_* */
} config_key_t;

/* A list of delays, e.g. the webhook retry schedule. */
typedef struct {
    int count;
    long ms[CONFIG_MAX_RETRIES];
} duration_list_t;

typedef struct pi_config {
    char *database;                 /* libpq conninfo */
    char *migration_database;       /* "" = database; the schema owner for postinboxctl migrate */
    char *redis;                    /* lib/util/redis_addr.h: where, and as whom */
    char *redis_password_file;      /* "" = the password, if any, is in redis */
    int redis_wait_replicas;        /* 0 = reservations are not WAITed for */
    char *milter_socket;            /* inet:PORT@HOST or unix:/path */
    char *sandbox_domain;
    char *dns_spf, *dns_mx, *dns_dmarc_rua;   /* `domain records` */
    char *dns_resolver;                       /* `domain verify` */
    long dns_timeout_ms;
    long domain_check_interval_ms;            /* policyd's re-check of custom domains; 0: off */
    long domain_check_retry_ms;               /* after a failure, doubled per failure */
    int domain_check_failures;                /* in a row before domain.dns_failed */
    domain_dns_failed_t domain_dns_failed;    /* what the milter does with mail of such a domain */
    char *postfix_maps_role;                  /* granted the Postfix lookup functions by migrate */
    cidr_list_t *trusted_networks;
    int backend_timeout_ms;         /* deadline of every backend call */
    int record_gather_us;           /* group commit's gather window (lib/store/record_batch) */
    int backend_pool_size;          /* connections per backend per process */
    backend_error_policy_t on_backend_error;
    spoof_policy_t unauthenticated_managed_sender;
    log_level_t log_level;
    long foreign_domain_cache_ms;   /* 0: look up every recipient */
    long reservation_timeout_ms;    /* a reservation held longer is leaked, given back */
    int parse_max_size;             /* bytes of an inbound message kept for parsing */
    int dkim_signing;               /* sign outbound mail from inboxes (lib/runtime/dkim_keys) */
    long dkim_key_cache_ms;         /* an opened DKIM key is kept this long */
    int dkim_key_bits;              /* RSA size of new DKIM keys (postinboxctl) */
    long dkim_retire_after_ms;      /* a rotated-out DKIM key stays published this long */
    char *metrics_listen;           /* "" = off; the milter's /metrics, host:port */
    reply_t replies[REPLY_COUNT];
    /* postinbox-policyd */
    char *policy_listen;            /* "" = off; host:port or unix:/path */
    cidr_list_t *policy_allow_networks; /* peers a TCP policy_listen answers */
    char *policy_socket_group;      /* group of the unix socket, "" = the daemon's */
    char *api_listen;               /* "" = off; host:port of the HTTP admin API */
    int api_max_body;               /* bytes */
    int api_threads;
    long webhook_timeout_ms;
    duration_list_t webhook_retry_schedule;
    int webhook_max_in_flight;
    int webhook_batch_size;
    cidr_list_t *webhook_allow_networks;
    int webhook_allow_http;
    long webhook_disable_after_ms;
    long webhook_rotation_grace_ms;
    long webhook_poll_interval_ms;
    char *secret_key_file;          /* "" = none: webhook secrets cannot be sealed */
    /* tracking (lib/mail/track_rewrite, policyd/tracking) */
    char *tracking_base_url;        /* "" = nothing is rewritten; no final '/' */
    char *tracking_key_file;
    char *tracking_listen;
    int tracking_store_ip;
    long tracking_event_interval_ms;
    long tracking_scanner_window_ms;
    cidr_list_t *tracking_machine_networks;
    cidr_list_t *tracking_proxy_networks;
    int tracking_max_size;
    int tracking_max_links;
    char *secret_key_file_old;      /* "" = none; decrypts only (key rotation) */
    char *postfix_log;              /* "" = off; a path, or "-" for standard input */
    char *postfix_log_state;        /* "" = do not persist the position */
    deferred_events_t deferred_events;
    char *policyd_metrics_listen;   /* "" = off; policyd's /metrics, host:port */
    /* every HTTP listener: the API and both /metrics (lib/net/httpd) */
    int http_request_timeout_ms;    /* receiving one whole request */
    int http_max_connections_per_ip;
    /* automatic suspension (sql/functions/suppression.sql, lib/core/suspend.c) */
    double suspend_bounce_rate;     /* fraction of sends, 0.1 for "10%"; 0 = off */
    double suspend_complaint_rate;
    double suspend_block_rate;      /* sender problems (blocked, spam, auth ...); 0 = off */
    double suspend_block_warn_rate; /* inbox.reputation_warning; 0 = off */
    long suspend_window_ms;
    int suspend_min_sends;
    /* sending as an inbox through the API (lib/mail/send.c) */
    char *api_submission;           /* "IP:port" or "[IPv6]:port" of the Postfix smtpd */
    long api_submission_timeout_ms; /* deadline of one whole submission */
    char *api_submission_login;     /* "" = no AUTH; else the service login (lib/core/check.c) */
    char *api_submission_password_file;
    char *api_helo;                 /* EHLO name */
    /* what was read, for printing it (config_print) and comparing on reload */
    char *text[CONFIG_MAX_KEYS];               /* each key's value as written, or its default */
    unsigned char set[CONFIG_MAX_KEYS + REPLY_COUNT];   /* 1: the file set it (keys, then replies) */
} pi_config_t;

/* Default path when -c is not given. */
#define CONFIG_DEFAULT_PATH "/etc/postinbox/postinbox.conf"

/* A config holding only the built-in defaults. */
pi_config_t *config_defaults(void);
/* Reads and validates path; NULL on error with err naming line and key. */
pi_config_t *config_load(const char *path, char *err, size_t errlen);
/* Parses text as if it were a file called name (tests, embedded configs). */
pi_config_t *config_parse_text(const char *text, const char *name, char *err, size_t errlen);
void config_free(pi_config_t *cfg);

/* Parses "500ms", "15s", "5m", "2h", "1d" (a bare number is seconds);
 * -1 if invalid. */
long config_parse_duration_ms(const char *text);
/* Parses a percentage "10%", "0.5%", "0.0125%" (at most 4 decimals, the
 * '%' required) into parts per million; -1 if invalid. */
long config_parse_percent_ppm(const char *text);

/* Splits "IP:port" or "[IPv6]:port" (numeric addresses only: nothing is
 * resolved, so a submission never waits on DNS).  0, or -1 if invalid. */
int config_parse_hostport(const char *text, char *host, size_t hostlen, int *port);

/* The table: *count keys, in the order of the file's documentation. */
const config_key_t *config_keys(size_t *count);

#endif
