/*
 * main.c -- postinbox-milter start-up: options, config, socket, signals.
 *
 * postinbox-milter [-c FILE] [-f] [-t] [-n | -a]
 *   -c FILE  config file (default /etc/postinbox/postinbox.conf; built-in
 *            defaults when the default file does not exist)
 *   -f       stay in the foreground and log to stderr
 *   -t       check the config and the files it names, and exit
 *   -n / -a  print the settings the file makes / every key's value, and
 *            exit (passwords masked; lib/util/daemon_opts.h)
 * Signals: SIGUSR1 reloads the config (a new runtime is built aside and
 * swapped in; on error the old one stays).  SIGTERM/SIGINT/SIGHUP are
 * libmilter's: they stop the milter.  The socket is opened before
 * smfi_main so a bad milter_socket fails at start, not at first mail.
 * With metrics_listen set, Prometheus metrics are served at /metrics
 * (milter_metrics.c); a listener that cannot start stops the milter.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callbacks.h"
#include "config.h"
#include "daemon_opts.h"
#include "header.h"
#include "log.h"
#include "malloc_tune.h"
#include "milter_metrics.h"
#include "runtime.h"
#include "service_notify.h"

static daemon_opts_t main_opts;

/* The key that opens the DKIM private keys, when the runtime signs:
 * a key file that is set but unusable fails the start (or the reload);
 * none at all is told once, and every message to sign then tempfails. */
static int
main_load_secrets(runtime_t *rt, char *err, size_t errlen)
{
    if (rt->dkim == NULL)
        return 0;
    if (runtime_load_secrets(rt, err, errlen) != 0)
        return -1;
    if (rt->secrets == NULL)
        log_warn("dkim_signing is on and secret_key_file is not set: mail from inboxes cannot be signed and is "
                 "tempfailed (README \"DKIM\")");
    return 0;
}

/* Waits for SIGUSR1 (blocked in every other thread) and reloads. */
static void *
main_reload_thread(void *arg)
{
    sigset_t set;
    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        int sig;
        char err[512];
        if (sigwait(&set, &sig) != 0)
            continue;
        service_notify_reloading();
        pi_config_t *cfg = daemon_opts_load_config(&main_opts, err, sizeof(err));
        runtime_t *rt = cfg ? runtime_new(cfg, err, sizeof(err)) : NULL;
        if (rt != NULL && main_load_secrets(rt, err, sizeof(err)) != 0) {
            runtime_release(rt);
            rt = NULL;
        }
        if (rt == NULL) {
            log_error("reload failed, keeping the running config: %s", err);
            service_notify_ready("reload failed, running the previous config");
            continue;
        }
        {
            runtime_t *old = runtime_acquire();
            if (old != NULL)
                daemon_opts_warn_start_changes(old->cfg, rt->cfg);
            runtime_release(old);
        }
        log_set_level(rt->cfg->log_level);
        runtime_install(rt);
        log_info("reloaded %s", daemon_opts_config_label(&main_opts));
        service_notify_ready("reloaded");
    }
    return NULL;
}

static int
main_daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
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
    return chdir("/");
}

int
main(int argc, char **argv)
{
    int foreground, check_only;
    char err[512];
    sigset_t set;
    pthread_t reload_tid;

    daemon_opts_parse(&main_opts, "postinbox-milter", argc, argv);
    malloc_tune_daemon();
    foreground = main_opts.foreground;
    check_only = main_opts.check_only;

    pi_config_t *cfg = daemon_opts_load_config(&main_opts, err, sizeof(err));
    if (cfg == NULL) {
        fprintf(stderr, "postinbox-milter: %s\n", err);
        return 1;
    }
    if (check_only || main_opts.print)
        return daemon_opts_check(&main_opts, cfg, runtime_check);
    log_open("postinbox-milter", foreground);
    log_set_level(cfg->log_level);
    header_init();

    if (smfi_setconn(cfg->milter_socket) != MI_SUCCESS || smfi_register(*callbacks_descriptor()) != MI_SUCCESS) {
        fprintf(stderr, "postinbox-milter: cannot use milter_socket %s\n", cfg->milter_socket);
        return 1;
    }
    umask(007);
    if (smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "postinbox-milter: cannot open milter_socket %s: %s\n", cfg->milter_socket,
                strerror(errno));
        return 1;
    }
    if (milter_metrics_init() != 0) {
        fprintf(stderr, "postinbox-milter: out of memory\n");
        return 1;
    }
    runtime_t *rt = runtime_new(cfg, err, sizeof(err));
    if (rt == NULL || main_load_secrets(rt, err, sizeof(err)) != 0) {
        fprintf(stderr, "postinbox-milter: %s\n", err);
        return 1;
    }
    runtime_install(rt);
    if (!foreground && main_daemonize() != 0) {
        fprintf(stderr, "postinbox-milter: cannot daemonize: %s\n", strerror(errno));
        return 1;
    }

    /* Blocked in every thread we start, so that SIGUSR1 reaches only the
     * reload thread's sigwait and SIGHUP/SIGTERM/SIGINT only libmilter's
     * signal thread (smfi_main starts it with them blocked and waits for
     * them); a thread of ours with them unblocked would take a SIGTERM and
     * end the process without libmilter's orderly stop. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_create(&reload_tid, NULL, main_reload_thread, NULL) != 0) {
        log_error("cannot start the reload thread");
        return 1;
    }
    if (malloc_tune_start_trimmer(MALLOC_TUNE_TRIM_SECONDS) != 0)
        log_warn("cannot start the malloc trim thread: freed memory stays with the process");
    /* After daemonising: the listener's thread would not survive fork. */
    if (rt->cfg->metrics_listen[0]) {
        httpd_limits_t limits = { .request_timeout_ms = rt->cfg->http_request_timeout_ms,
                                  .max_connections_per_ip = rt->cfg->http_max_connections_per_ip };
        if (milter_metrics_start(rt->cfg->metrics_listen, &limits, err, sizeof(err)) != 0) {
            log_error("metrics_listen: %s", err);
            fprintf(stderr, "postinbox-milter: metrics_listen: %s\n", err);
            return 1;
        }
        log_info("metrics on http://%s/metrics", rt->cfg->metrics_listen);
    }
    char status[512];
    int down = runtime_ready(rt, status, sizeof(status));
    if (down < 0) {
        log_error("cannot start the watchdog thread");
        return 1;
    }
    if (down > 0)
        log_warn("starting on %s with a backend down (%s): mail is answered as on_backend_error says until it is "
                 "back", rt->cfg->milter_socket, status);
    else
        log_info("starting on %s (%s; deadline %d ms)", rt->cfg->milter_socket, status, rt->cfg->backend_timeout_ms);
    int rc = smfi_main();
    service_notify_stopping();
    milter_metrics_stop();
    log_info("stopped (smfi_main returned %d)", rc);
    return rc == MI_SUCCESS ? 0 : 1;
}
