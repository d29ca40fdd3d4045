/*
 * webhook_common.h -- what the `postinboxctl webhook` commands share:
 * input checks, secrets, and the endpoint object.
 *
 * Public: webhook_url, webhook_events, webhook_new_secret,
 * webhook_timestamp, webhook_id_arg, webhook_events_json,
 * webhook_event_types, WEBHOOK_SECRET_SIZE.
 * The checks report a usage error (exit 2) through output_usage, naming
 * the option.  Nothing here prints a secret.
 */
#ifndef POSTINBOX_CTL_WEBHOOK_COMMON_H
#define POSTINBOX_CTL_WEBHOOK_COMMON_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "args.h"
#include "webhook_input.h" /* webhook_event_types, the sizes */


/* Checks --url (http:// or https://, a host, an optional port, at most
 * WEBHOOK_URL_MAX bytes of printable ASCII, no credentials) and copies it
 * to out with the scheme lower-cased.  0 or CTL_EXIT_USAGE. */
int webhook_url(const char *url, char out[WEBHOOK_URL_MAX + 1]);

/* Parses --events "a,b,..." (NULL or "" for every type) into a PostgreSQL
 * array literal, deduplicated, in webhook_event_types order ("{}" for
 * every type).  0 or CTL_EXIT_USAGE. */
int webhook_events(const char *list, char *out, size_t outlen);

/* A new signing secret from RAND_bytes.  0, or CTL_EXIT_ERROR (reported). */
int webhook_new_secret(char out[WEBHOOK_SECRET_SIZE]);

/* Checks that option name's value has the shape of an ISO-8601 timestamp
 * (YYYY-MM-DD, then optionally [T ]HH:MM[:SS[.frac]] and Z or +-HH[[:]MM])
 * and copies it to out, adding "Z" when it has no offset: a time without
 * one is UTC, as everything postinboxctl prints.  PostgreSQL checks the
 * values (month 13, Feb 30) when casting.  0 or CTL_EXIT_USAGE. */
int webhook_timestamp(const char *name, const char *value, char *out, size_t outlen);

/* The first positional argument, which must be an endpoint id (uuid).
 * 0 or CTL_EXIT_USAGE. */
int webhook_id_arg(const args_t *args, const char **id);

/* An event_types column (to_json(text[])::text) as JSON: the array, [] for
 * every type; for people the string "all" instead of an empty array. */
json_t *webhook_events_json(const PGresult *res, int row, int col);

#endif
