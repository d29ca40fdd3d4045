/*
 * webhook_input.h -- what an endpoint may be given, for postinboxctl
 * webhook add and POST/PATCH /v1/inboxes/{id}/webhooks: the URL check,
 * the event types, and new signing secrets.
 *
 * Public: webhook_event_types, webhook_input_url, webhook_input_events,
 * webhook_input_event_index, webhook_input_new_secret,
 * webhook_input_private_host, WEBHOOK_SECRET_SIZE, WEBHOOK_URL_MAX.
 * The URL is checked for shape (scheme, host[:port], printable ASCII, no
 * credentials), and a host that is a literal address the dispatcher would
 * refuse (lib/net/ssrf.c: private, loopback, link-local ..., in any
 * spelling) is refused at once.  A host name is judged when the
 * dispatcher connects, on the address actually connected to, since DNS
 * can change after the endpoint was added.
 * Thread-safe; logs nothing; nothing here puts a secret in err.
 */
#ifndef POSTINBOX_WEBHOOK_INPUT_H
#define POSTINBOX_WEBHOOK_INPUT_H

#include <stddef.h>

#include "ssrf.h"

/* "whsec_" + base64 (with padding) of 32 random bytes, plus NUL. */
#define WEBHOOK_SECRET_SIZE (6 + 44 + 1)
#define WEBHOOK_URL_MAX 2048

/* The event types an endpoint may subscribe to, NULL-terminated. */
extern const char *const webhook_event_types[];

/* Checks url and copies it to out with the scheme lower-cased.  0, or -1
 * with err (a phrase to follow the field's name: "must start with ..."). */
int webhook_input_url(const char *url, char out[WEBHOOK_URL_MAX + 1], char *err, size_t errlen);

/* For a URL webhook_input_url accepted: NULL if its host is a name, a
 * public address or one allow admits on the URL's port (given, else 443
 * or 80); otherwise the class of the address ("loopback", "private" ...,
 * as ssrf_classify) with the address in canonical form in text. */
const char *webhook_input_private_host(const char *url, const cidr_list_t *allow, char text[SSRF_ADDRESS_LEN]);

/* The index of type in webhook_event_types, or -1. */
int webhook_input_event_index(const char *type, size_t len);

/* Turns chosen[] (one flag per webhook_event_types entry) into a
 * PostgreSQL array literal in webhook_event_types order ("{}": every
 * type).  0, or -1 if out is too small. */
int webhook_input_events(const int *chosen, char *out, size_t outlen);

/* A new signing secret from RAND_bytes.  0, or -1 with err. */
int webhook_input_new_secret(char out[WEBHOOK_SECRET_SIZE], char *err, size_t errlen);

#endif
