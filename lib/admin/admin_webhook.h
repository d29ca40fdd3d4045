/*
 * admin_webhook.h -- webhook endpoints: add, show, update, enable or
 * disable, rotate the secret, delete.
 *
 * Public: admin_webhook_new_t, admin_webhook_add, admin_webhook_show,
 * admin_webhook_change_t, admin_webhook_update, admin_webhook_enable,
 * admin_webhook_rotate, admin_webhook_delete, admin_webhook_encrypt_secrets.
 * Every change and its audit row (webhook.add / .update / .enable /
 * .disable / .rotate / .delete, old and new value as JSON naming the
 * endpoint) are one statement.  An endpoint is named by its id and, when
 * inbox_id is given (the API), must also be that inbox's; always the
 * acting account's.  The signing secret is in the objects of add and
 * rotate only, and a failed statement that carried it is reported by its
 * first line.  It is stored sealed with a->secrets (lib/net/secretbox,
 * the endpoint id as context; a new endpoint's id is chosen here, so its
 * secret is sealed before the row exists); without a usable key, add and
 * rotate fail with ADMIN_BACKEND, code secret_key_missing, and write
 * nothing.  URLs and event lists are checked by the front end
 * (lib/net/webhook_input).  Logs nothing.
 */
#ifndef POSTINBOX_ADMIN_WEBHOOK_H
#define POSTINBOX_ADMIN_WEBHOOK_H

#include "admin.h"

typedef struct {
    const char *inbox_id;     /* an inbox's endpoint ... */
    const char *account_id;   /* ... or (inbox_id NULL) one for every inbox of an account */
    const char *url;          /* checked */
    const char *events;       /* a PostgreSQL array literal of event types, "{}" for all */
} admin_webhook_new_t;

/* Adds the endpoint with a new secret; *out {id, url, secret, events,
 * enabled, inboxId, accountId, createdAt}.  ADMIN_NOT_FOUND: no such
 * inbox (account) of the acting account. */
admin_status_t admin_webhook_add(admin_t *a, const admin_webhook_new_t *in, json_t **out, admin_error_t *err);

/* The endpoint object with its delivery counts ("deliveries"). */
admin_status_t admin_webhook_show(admin_t *a, const char *inbox_id, const char *id, json_t **out,
                                  admin_error_t *err);

/* PATCH: each part only when given (NULL, enabled -1). */
typedef struct {
    const char *url;
    const char *events;
    int enabled;
} admin_webhook_change_t;

/* Changes the endpoint (audit webhook.update). */
admin_status_t admin_webhook_update(admin_t *a, const char *inbox_id, const char *id,
                                    const admin_webhook_change_t *change, admin_error_t *err);

/* Enables or disables it (audit webhook.enable / webhook.disable, with
 * reason); *changed 0 when it was so already (no audit row). */
admin_status_t admin_webhook_enable(admin_t *a, const char *inbox_id, const char *id, int enable, const char *reason,
                                    int *changed, admin_error_t *err);

/* A new secret; the old one still verifies for grace_ms (0: not at all).
 * *out {id, secret, previousSecretExpiresAt}. */
admin_status_t admin_webhook_rotate(admin_t *a, const char *inbox_id, const char *id, long grace_ms, json_t **out,
                                    admin_error_t *err);

/* Deletes it with its deliveries (audit webhook.delete, with reason);
 * *out {id, deleted, deliveriesDeleted}. */
admin_status_t admin_webhook_delete(admin_t *a, const char *inbox_id, const char *id, const char *reason,
                                    json_t **out, admin_error_t *err);

/* Seals every stored secret (secret, previous_secret) that is plaintext
 * or sealed with secret_key_file_old, with the current key, each row by
 * one compare-and-set UPDATE.  *out {encrypted, failed, failures: [{id,
 * error}], keyId}; a value that does not open is a failure, not an
 * error (the run goes on). */
admin_status_t admin_webhook_encrypt_secrets(admin_t *a, json_t **out, admin_error_t *err);

#endif
