/*
 * config_print.h -- the config written out: the commented defaults of
 * postinbox.conf.example, the effective settings the daemons print with
 * -n and -a, the start-only keys a reload changed, and the words
 * postinbox.conf(5) is generated with.
 *
 * Public: config_print_defaults, config_print, config_mask_secret,
 * config_start_changes, config_type_name, config_bounds.
 * Passwords never leave through here: a CF_SECRET key's value is printed
 * with its password masked.  Logs nothing.
 */
#ifndef POSTINBOX_CONFIG_PRINT_H
#define POSTINBOX_CONFIG_PRINT_H

#include <stddef.h>

#include "config.h"

/* Every key with its default value, as a commented config file. */
void config_print_defaults(void *stdio_file);

/* "key = value" lines: with all, every key's effective value (defaults
 * included); else only the keys and replies the file set (postconf -n).
 * CF_SECRET values are masked. */
void config_print(const pi_config_t *cfg, int all, void *stdio_file);

/* value with any password in it replaced by "********": a libpq
 * "password=..." (quoted or not), and the password of a URI's
 * "scheme://user:password@" (postgresql://, redis://, unix://) or its
 * "?password=" parameter.  Always NUL-terminates out. */
void config_mask_secret(const char *value, char *out, size_t outlen);

/* The CF_START keys whose values differ between old and new, ", "
 * separated, into buf; returns how many. */
int config_start_changes(const pi_config_t *old_cfg, const pi_config_t *new_cfg, char *buf, size_t buflen);

/* For the documentation: what a key's value is ("duration", "yes or
 * no" ...), and its bounds ("100ms to 5m"; "" when it has none). */
const char *config_type_name(const config_key_t *key);
void config_bounds(const config_key_t *key, char *buf, size_t buflen);

#endif
