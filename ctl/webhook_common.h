/*
 * webhook_common.h -- what the `postinboxctl webhook` commands share:
 * input checks and the endpoint object for people.
 *
 * Public: webhook_url, webhook_events, webhook_id_arg,
 * webhook_events_for_people, webhook_event_types,
 * WEBHOOK_SECRET_SIZE.
 * The checks report a usage error (exit 2) through output_usage, naming
 * the option.  Nothing here prints a secret.
 */
#ifndef POSTINBOX_CTL_WEBHOOK_COMMON_H
#define POSTINBOX_CTL_WEBHOOK_COMMON_H

#include <jansson.h>
#include <stddef.h>

#include "args.h"
#include "webhook_input.h" /* webhook_event_types, the sizes */


/* Checks --url (http:// or https://, a host, an optional port, at most
 * WEBHOOK_URL_MAX bytes of printable ASCII, no credentials; a literal
 * address must be public or in allow, webhook_allow_networks) and copies
 * it to out with the scheme lower-cased.  0 or CTL_EXIT_USAGE. */
int webhook_url(const char *url, const cidr_list_t *allow, char out[WEBHOOK_URL_MAX + 1]);

/* Parses --events "a,b,..." (NULL or "" for every type) into a PostgreSQL
 * array literal, deduplicated, in webhook_event_types order ("{}" for
 * every type).  0 or CTL_EXIT_USAGE. */
int webhook_events(const char *list, char *out, size_t outlen);

/* The first positional argument, which must be an endpoint id (uuid).
 * 0 or CTL_EXIT_USAGE. */
int webhook_id_arg(const args_t *args, const char **id);

/* For people, an endpoint object's empty "events" (every type) as the
 * string "all"; JSON output keeps the array. */
void webhook_events_for_people(json_t *endpoint);

#endif
