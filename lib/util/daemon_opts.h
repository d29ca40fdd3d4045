/*
 * daemon_opts.h -- the command line and config loading the daemons share.
 *
 * Public: daemon_opts_parse, daemon_opts_load_config, daemon_opts_config_label.
 *   NAME [-c FILE] [-f] [-t]
 *   -c FILE  config file (default /etc/postinbox/postinbox.conf; built-in
 *            defaults when -c is not given and that file does not exist)
 *   -f       foreground, log to stderr
 *   -t       check the config and exit
 * Logs nothing; usage errors go to stderr with exit status 2.
 */
#ifndef POSTINBOX_DAEMON_OPTS_H
#define POSTINBOX_DAEMON_OPTS_H

#include <stddef.h>

#include "config.h"

typedef struct {
    const char *name;
    const char *config_path;
    int config_explicit;   /* -c given */
    int foreground;        /* -f */
    int check_only;        /* -t */
} daemon_opts_t;

/* Parses argv into opts; prints usage and exits 2 on anything unknown. */
void daemon_opts_parse(daemon_opts_t *opts, const char *name, int argc, char **argv);
/* Loads the config the options name; NULL with err on error. */
pi_config_t *daemon_opts_load_config(const daemon_opts_t *opts, char *err, size_t errlen);
/* What to call the loaded config in log lines. */
const char *daemon_opts_config_label(const daemon_opts_t *opts);

#endif
