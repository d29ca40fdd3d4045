/*
 * daemon_opts.h -- the command line and config loading the daemons share.
 *
 * Public: daemon_opts_parse, daemon_opts_load_config, daemon_opts_config_label,
 * daemon_opts_check, daemon_opts_warn_start_changes.
 *   NAME [-c FILE] [-f] [-t] [-n | -a]
 *   -c FILE  config file (default /etc/postinbox/postinbox.conf; built-in
 *            defaults when -c is not given and that file does not exist)
 *   -f       foreground, log to stderr
 *   -t       check the config (and the files it names) and exit
 *   -n       print the settings the file makes, "key = value", and exit
 *   -a       print every key's effective value and exit
 * -n and -a mask passwords (lib/util/config_print.h); with -t the check
 * comes first.  Logs only daemon_opts_warn_start_changes's warning; usage
 * errors go to stderr with exit status 2.
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
    int print;             /* 0, 'n' (-n) or 'a' (-a) */
} daemon_opts_t;

/* The deep check of -t: what the config names beyond its syntax (key
 * files, passwords); 0, or -1 with err.  Must not keep cfg. */
typedef int (*daemon_check_fn)(const pi_config_t *cfg, char *err, size_t errlen);

/* Parses argv into opts; prints usage and exits 2 on anything unknown. */
void daemon_opts_parse(daemon_opts_t *opts, const char *name, int argc, char **argv);
/* Loads the config the options name; NULL with err on error. */
pi_config_t *daemon_opts_load_config(const daemon_opts_t *opts, char *err, size_t errlen);
/* For -t, -n and -a: runs check (with -t), prints (with -n or -a), frees
 * cfg; returns the exit status (0, or 1 with the error on stderr).  Call
 * it when opts->check_only or opts->print is set. */
int daemon_opts_check(const daemon_opts_t *opts, pi_config_t *cfg, daemon_check_fn check);
/* On reload: warns (once, naming them) of the keys read only at start
 * whose values the new config changes; the running values stay. */
void daemon_opts_warn_start_changes(const pi_config_t *old_cfg, const pi_config_t *new_cfg);
/* What to call the loaded config in log lines. */
const char *daemon_opts_config_label(const daemon_opts_t *opts);

#endif
