/*
 * daemon_opts.c -- shared daemon command line.  See daemon_opts.h.
 */
#include "daemon_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void
daemon_opts_usage(const char *name)
{
    fprintf(stderr, "usage: %s [-c FILE] [-f] [-t]\n", name);
    exit(2);
}

void
daemon_opts_parse(daemon_opts_t *opts, const char *name, int argc, char **argv)
{
    int opt;
    opts->name = name;
    opts->config_path = CONFIG_DEFAULT_PATH;
    opts->config_explicit = opts->foreground = opts->check_only = 0;
    while ((opt = getopt(argc, argv, "c:fth")) != -1) {
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

const char *
daemon_opts_config_label(const daemon_opts_t *opts)
{
    return opts->config_explicit || access(opts->config_path, F_OK) == 0 ? opts->config_path
                                                                          : "built-in defaults";
}
