/*
 * main.c -- postinbox-policyd start-up (being written): for now it
 * validates its config and, if policy_listen is set, runs the policy
 * service in the foreground (-f logs to stderr) until SIGTERM or SIGINT;
 * SIGHUP reloads the config (a new runtime swapped in, the old one kept
 * on error).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "policy_server.h"
#include "runtime.h"

int
main(int argc, char **argv)
{
    const char *path = CONFIG_DEFAULT_PATH;
    char err[512];
    int opt, foreground = 0, sig;
    sigset_t set;
    while ((opt = getopt(argc, argv, "c:ft")) != -1) {
        if (opt == 'c')
            path = optarg;
        else if (opt == 'f')
            foreground = 1;
    }
    pi_config_t *cfg = config_load(path, err, sizeof(err));
    if (cfg == NULL) {
        fprintf(stderr, "postinbox-policyd: %s\n", err);
        return 1;
    }
    if (cfg->policy_listen[0] == '\0') {
        config_free(cfg);
        return 0;
    }
    log_open("postinbox-policyd", foreground);
    log_set_level(cfg->log_level);
    runtime_t *rt = runtime_new(cfg, err, sizeof(err));
    if (rt == NULL) {
        fprintf(stderr, "postinbox-policyd: %s\n", err);
        return 1;
    }
    runtime_install(rt);
    /* Blocked before any thread starts, so only sigwait below sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (policy_server_start(rt->cfg->policy_listen, err, sizeof(err)) != 0) {
        fprintf(stderr, "postinbox-policyd: %s\n", err);
        return 1;
    }
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
        pi_config_t *next = config_load(path, err, sizeof(err));
        runtime_t *nrt = next ? runtime_new(next, err, sizeof(err)) : NULL;
        if (nrt == NULL) {
            log_error("reload failed, keeping the running config: %s", err);
            continue;
        }
        log_set_level(nrt->cfg->log_level);
        runtime_install(nrt);
        log_info("reloaded %s", path);
    }
    policy_server_stop();
    runtime_install(NULL);
    return 0;
}
