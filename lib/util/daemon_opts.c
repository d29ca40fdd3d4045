/*
 * daemon_opts.c -- shared daemon command line.  See daemon_opts.h.
 */
#include "daemon_opts.h"

#include "config_print.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void
daemon_opts_usage(const char *name)
{
    fprintf(stderr, "usage: %s [-c FILE] [-f] [-t] [-n | -a]\n", name);
    exit(2);
}

void
daemon_opts_parse(daemon_opts_t *opts, const char *name, int argc, char **argv)
{
    int opt;
    opts->name = name;
    opts->config_path = CONFIG_DEFAULT_PATH;
    opts->config_explicit = opts->foreground = opts->check_only = opts->print = 0;
    while ((opt = getopt(argc, argv, "c:ftnah")) != -1) {
        switch (opt) {
        case 'c':
            opts->config_path = optarg;
            opts->config_explicit = 1;
            break;
        case 'f':
            opts->foreground = 1;
            break;
        case 't':
            opts->check_only = 1;
            break;
        case 'n':
        case 'a':
            if (opts->print && opts->print != opt)
                daemon_opts_usage(name);
            opts->print = opt;
            break;
        default:
            daemon_opts_usage(name);
        }
    }
    if (optind != argc)
        daemon_opts_usage(name);
}

pi_config_t *
daemon_opts_load_config(const daemon_opts_t *opts, char *err, size_t errlen)
{
    if (!opts->config_explicit && access(opts->config_path, F_OK) != 0)
        return config_defaults();
    return config_load(opts->config_path, err, errlen);
}

int
daemon_opts_check(const daemon_opts_t *opts, pi_config_t *cfg, daemon_check_fn check)
{
    char err[512];
    if (opts->check_only && check != NULL && check(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", opts->name, err);
        config_free(cfg);
        return 1;
    }
    if (opts->print)
        config_print(cfg, opts->print == 'a', stdout);
    else
        printf("%s: config OK\n", opts->name);
    config_free(cfg);
    return fflush(stdout) == 0 ? 0 : 1;
}

void
daemon_opts_warn_start_changes(const pi_config_t *old_cfg, const pi_config_t *new_cfg)
{
    char changed[1024];
    if (config_start_changes(old_cfg, new_cfg, changed, sizeof(changed)) > 0)
        log_warn("reload: %s changed; read at start only, takes effect at the next restart", changed);
}

const char *
daemon_opts_config_label(const daemon_opts_t *opts)
{
    return opts->config_explicit || access(opts->config_path, F_OK) == 0 ? opts->config_path
                                                                          : "built-in defaults";
}
