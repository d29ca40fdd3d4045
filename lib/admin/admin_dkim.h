/*
 * admin_dkim.h -- a domain's DKIM keys: made, shown, rotated, activated.
 *
 * Public: admin_dkim_ensure, admin_dkim_ensure_all, admin_dkim_show, admin_dkim_rotate,
 * admin_dkim_activate.
 *
 * The key pair is made by lib/mail/dkim_keygen (RSA, bits as given), the
 * private key sealed by lib/net/secretbox under secret_key_file for the
 * new row's id before the row is written (sql/migrations/015_dkim.sql);
 * without a usable key file nothing is written (secret_key_missing).
 * The private key is never in any answer, error text or log line: what
 * these functions return is the public half, the DNS name
 * SELECTOR._domainkey.DOMAIN and the TXT value to publish.
 *
 * The states: a domain's first key is active at once (the domain is not
 * verified before its record is published anyway); a rotation adds a
 * pending key, published next to the active one; activating it (after
 * its record verifies: the DNS check of `domain verify`, or the
 * operator's `--activate`) retires the old key, which stays published
 * for keep_ms (dkim_retire_after) -- sql/functions/dkim.sql,
 * dkim_key_activate.
 */
#ifndef POSTINBOX_ADMIN_DKIM_H
#define POSTINBOX_ADMIN_DKIM_H

#include <jansson.h>

#include "admin.h"

/* Gives domain (a name: custom or the sandbox) an active key when it
 * has no key at all; ADMIN_OK also when it has one. */
admin_status_t admin_dkim_ensure(admin_t *a, const char *domain, int bits, admin_error_t *err);
/* The operator's: every domain with no key at all gets an active one (a
 * domain of a version before DKIM, after `migrate`); *made how many.
 * Stops at the first failure (secret_key_missing: no usable key file). */
admin_status_t admin_dkim_ensure_all(admin_t *a, int bits, int *made, admin_error_t *err);
/* {"domain": ..., "keys": [{selector, algorithm, state, name, type,
 * value, created_at, activated_at, retire_after}, ...]}, newest first. */
admin_status_t admin_dkim_show(admin_t *a, const char *domain, json_t **out, admin_error_t *err);
/* A new pending key for domain; *out is its object as in show.  With
 * activate set it becomes the active key at once (and the old one is
 * retired for keep_ms). */
admin_status_t admin_dkim_rotate(admin_t *a, const char *domain, int bits, int activate, long keep_ms, json_t **out,
                                 admin_error_t *err);
/* Makes the key selector (NULL: the newest pending one) of domain the
 * active one; *out as show. */
admin_status_t admin_dkim_activate(admin_t *a, const char *domain, const char *selector, long keep_ms, json_t **out,
                                   admin_error_t *err);

#endif
