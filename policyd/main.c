/*
 * main.c -- postinbox-policyd start-up: options, config, signals.
 *
 * postinbox-policyd [-c FILE] [-f] [-t] [-n | -a]
 *   -c FILE  config file (default /etc/postinbox/postinbox.conf; built-in
 *            defaults when the default file does not exist)
 *   -f       stay in the foreground and log to stderr
 *   -t       check the config and the files it names, and exit
 *   -n / -a  print the settings the file makes / every key's value, and
 *            exit (passwords masked; lib/util/daemon_opts.h)
 * Runs the webhook dispatcher (dispatcher.c), when policy_listen is set
 * the Postfix policy service (policy_server.c), and when postfix_log is
 * set the Postfix log follower (logfollow.c: delivery status; "-" reads
 * standard input and needs -f), when policyd_metrics_listen is set
 * Prometheus metrics at /metrics (policyd_metrics.c), and when api_listen
 * is set the HTTP admin API (api.c).  postfix_log, policyd_metrics_listen
 * and the api_* keys take effect at start.
 * Signals, taken by sigwait(2) in the main thread (blocked everywhere
 * else, so no handler runs at all):
 *   SIGHUP   reload: a new config and runtime are built aside and swapped
 *            in; on any error the running one stays.
 *   SIGTERM, SIGINT  stop: no new claims, requests under way finish
 *            (bounded by webhook_timeout), unfinished leases are released,
 *            exit 0.
 * Without -f the daemon forks, and the parent exits only once the child
 * has started everything (status 1 if it could not), so an init script
 * sees start-up errors.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "daemon_opts.h"
#include "dispatcher.h"
#include "domain_watch.h"
#include "log.h"
#include "logfollow.h"
#include "malloc_tune.h"
#include "policy_server.h"
#include "policyd_metrics.h"
#include "runtime.h"
#include "service_notify.h"
#include "tracking.h"

static daemon_opts_t main_opts;

/* Forks; the parent waits for the child's verdict on ready_fd and exits
 * with it.  Returns 0 in the child with *ready_fd to report on. */
static int
main_daemonize(int *ready_fd)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        char verdict = '1';
        close(pipefd[1]);
        while (read(pipefd[0], &verdict, 1) < 0 && errno == EINTR) {
        }
        if (verdict != '0')
            fprintf(stderr, "postinbox-policyd: start-up failed, see the mail log\n");
        _exit(verdict == '0' ? 0 : 1);
    }
    close(pipefd[0]);
    if (setsid() < 0)
        return -1;
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    *ready_fd = pipefd[1];
    return chdir("/");
}

static void
main_report(int *ready_fd, int ok)
{
    if (*ready_fd < 0)
        return;
    if (write(*ready_fd, ok ? "0" : "1", 1) < 0) {
        /* the parent is gone; nothing to tell */
    }
    close(*ready_fd);
    *ready_fd = -1;
}

static void
main_reload(void)
{
    char err[512];
    service_notify_reloading();
    pi_config_t *cfg = daemon_opts_load_config(&main_opts, err, sizeof(err));
    runtime_t *rt = cfg ? runtime_new(cfg, err, sizeof(err)) : NULL;
    if (rt != NULL && runtime_load_secrets(rt, err, sizeof(err)) != 0) {
        runtime_release(rt);
        rt = NULL;
    }
    if (rt == NULL) {
        log_error("reload failed, keeping the running config: %s", err);
        service_notify_ready("reload failed, running the previous config");
        return;
    }
    runtime_t *old = runtime_acquire();
    if (old != NULL)
        daemon_opts_warn_start_changes(old->cfg, rt->cfg);
    runtime_release(old);
    log_set_level(rt->cfg->log_level);
    runtime_install(rt);
    dispatcher_wake();
    log_info("reloaded %s", daemon_opts_config_label(&main_opts));
    service_notify_ready("reloaded");
}

/* The parts main_start_parts started, so a failed start and a stop undo
 * exactly those. */
static struct {
    int logfollow, policy, api, tracking, dispatcher, watch, metrics;
} main_started;

/* Starts what cfg asks for, in order: the log follower, the policy
 * service, the API, the tracking listener, the webhook dispatcher, the
 * domain check, /metrics.
 * 0, or -1 with err naming what failed (what started before stays
 * started: main_stop_parts). */
static int
main_start_parts(const pi_config_t *cfg, char *err, size_t errlen)
{
    char why[400];

    if (cfg->postfix_log[0]) {
        if (logfollow_start(cfg->postfix_log, cfg->postfix_log_state, err, errlen) != 0)
            return -1;
        main_started.logfollow = 1;
        log_info("following the Postfix log %s", cfg->postfix_log);
    }
    if (cfg->policy_listen[0]) {
        if (policy_server_start(cfg->policy_listen, cfg->policy_socket_group, err, errlen) != 0)
            return -1;
        main_started.policy = 1;
    }
    if (cfg->api_listen[0]) {
        if (api_start(cfg, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "api_listen: %s", why);
            return -1;
        }
        main_started.api = 1;
        log_info("HTTP admin API on %s", cfg->api_listen);
    }
    if (cfg->tracking_listen[0]) {
        if (tracking_start(cfg, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "tracking_listen: %s", why);
            return -1;
        }
        main_started.tracking = 1;
        log_info("tracking listener on %s for %s", cfg->tracking_listen,
                 cfg->tracking_base_url[0] ? cfg->tracking_base_url : "(no tracking_base_url)");
    }
    if (dispatcher_start(err, errlen) != 0)
        return -1;
    main_started.dispatcher = 1;
    if (domain_watch_start(err, errlen) != 0)
        return -1;
    main_started.watch = 1;
    if (cfg->policyd_metrics_listen[0]) {
        httpd_limits_t limits = { .request_timeout_ms = cfg->http_request_timeout_ms,
                                  .max_connections_per_ip = cfg->http_max_connections_per_ip };
        if (policyd_metrics_start(cfg->policyd_metrics_listen, &limits, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "policyd_metrics_listen: %s", why);
            return -1;
        }
        main_started.metrics = 1;
        log_info("metrics on http://%s/metrics", cfg->policyd_metrics_listen);
    }
    return 0;
}

/* Stops what was started, the listeners first (requests under way finish). */
static void
main_stop_parts(void)
{
    if (main_started.api)
        api_stop();
    if (main_started.tracking)
        tracking_stop();
    if (main_started.metrics)
        policyd_metrics_stop();
    if (main_started.policy)
        policy_server_stop();
    if (main_started.logfollow)
        logfollow_stop();
    if (main_started.watch)
        domain_watch_stop();
    if (main_started.dispatcher)
        dispatcher_stop();
    memset(&main_started, 0, sizeof(main_started));
}

int
main(int argc, char **argv)
{
    int foreground, check_only, ready_fd = -1;
    char err[512];
    sigset_t set;

    daemon_opts_parse(&main_opts, "postinbox-policyd", argc, argv);
    malloc_tune_daemon();
    foreground = main_opts.foreground;
    check_only = main_opts.check_only;

    pi_config_t *cfg = daemon_opts_load_config(&main_opts, err, sizeof(err));
    if (cfg == NULL) {
        fprintf(stderr, "postinbox-policyd: %s\n", err);
        return 1;
    }
    if (check_only || main_opts.print)
        return daemon_opts_check(&main_opts, cfg, runtime_check);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "postinbox-policyd: curl_global_init failed\n");
        return 1;
    }
    log_open("postinbox-policyd", foreground);
    log_set_level(cfg->log_level);
    if (policyd_metrics_init() != 0) {
        fprintf(stderr, "postinbox-policyd: out of memory\n");
        return 1;
    }
    if (strcmp(cfg->postfix_log, "-") == 0 && !foreground) {
        fprintf(stderr, "postinbox-policyd: postfix_log = - (standard input) needs -f\n");
        config_free(cfg);
        return 1;
    }
    runtime_t *rt = runtime_new(cfg, err, sizeof(err));
    if (rt == NULL || runtime_load_secrets(rt, err, sizeof(err)) != 0) {
        fprintf(stderr, "postinbox-policyd: %s\n", err);
        if (rt != NULL)
            runtime_release(rt);
        return 1;
    }
    if (rt->secrets == NULL)
        log_warn("secret_key_file is not set: webhook endpoints cannot be added or rotated, and only secrets "
                 "stored in plaintext by an older version can be signed (README \"Webhook secrets\")");
    runtime_install(rt);
    if (!foreground && main_daemonize(&ready_fd) != 0) {
        fprintf(stderr, "postinbox-policyd: cannot daemonize: %s\n", strerror(errno));
        return 1;
    }

    /* Before any thread exists, so every thread inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    umask(007);
    if (malloc_tune_start_trimmer(MALLOC_TUNE_TRIM_SECONDS) != 0)
        log_warn("cannot start the malloc trim thread: freed memory stays with the process");

    rt = runtime_acquire();
    if (main_start_parts(rt->cfg, err, sizeof(err)) != 0) {
        log_error("%s", err);
        main_report(&ready_fd, 0);
        main_stop_parts();
        runtime_release(rt);
        return 1;
    }
    char status[512];
    int down = runtime_ready(rt, status, sizeof(status));
    if (down < 0) {
        log_error("cannot start the watchdog thread");
        main_report(&ready_fd, 0);
        main_stop_parts();
        runtime_release(rt);
        return 1;
    }
    log_info("started: webhooks (max %d in flight, batches of %d, timeout %ld ms, poll %ld ms)%s%s; %s",
             rt->cfg->webhook_max_in_flight, rt->cfg->webhook_batch_size, rt->cfg->webhook_timeout_ms,
             rt->cfg->webhook_poll_interval_ms, main_started.policy ? ", policy service on " : "",
             main_started.policy ? rt->cfg->policy_listen : "", status);
    if (down > 0)
        log_warn("a backend is down (%s): work waits, and the policy service answers as on_backend_error says, "
                 "until it is back", status);
    runtime_release(rt);
    main_report(&ready_fd, 1);

    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            main_reload();
            continue;
        }
        log_info("stopping on signal %d", sig);
        service_notify_stopping();
        break;
    }
    main_stop_parts();
    runtime_install(NULL);
    curl_global_cleanup();
    log_info("stopped");
    return 0;
}
