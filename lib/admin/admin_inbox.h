/*
 * admin_inbox.h -- inboxes: create, show, update, status, purge.
 *
 * Public: admin_inbox_new_t, admin_inbox_create, admin_inbox_show,
 * admin_inbox_change_t, admin_inbox_update, admin_inbox_set_status,
 * admin_inbox_purge, admin_labels_check.
 * Through the SQL functions of sql/007 (inbox_create, inbox_update,
 * inbox_set_status, inbox_purge), so both front ends write the same rows,
 * audit rows (actor from the admin_t) and inbox.* events.  An inbox object
 * is records_inbox_json's, with sendsToday and burstUsed read from Redis
 * (null when it is down); "live" adds remaining and resetAt
 * (records_inbox_usage), as the API's single-inbox answers have them.
 * inbox_update() and inbox_purge() take an account: they answer
 * ADMIN_NOT_FOUND for the operator (acting account NULL).  Logs nothing.
 */
#ifndef POSTINBOX_ADMIN_INBOX_H
#define POSTINBOX_ADMIN_INBOX_H

#include "admin.h"

/* A new inbox; names already checked by the front end. */
typedef struct {
    const char *account_id;    /* the operator's choice; an acting account always wins */
    const char *domain_id;     /* a custom domain by id (the API) ... */
    const char *domain_name;   /* ... or by name (postinboxctl); both NULL: the sandbox domain */
    const char *username;      /* admin_username's */
    const char *display_name;  /* NULL: none */
    const json_t *labels;      /* an array of checked labels; NULL: none */
    long daily_limit;          /* 0: the default */
    long burst_limit;          /* 0: the default */
    const char *sandbox;       /* the sandbox domain, lower case */
} admin_inbox_new_t;

/* Creates the inbox; *out its object.  ADMIN_OK, or with err.reason
 * inbox_create()'s result: ADMIN_CONFLICT (exists), ADMIN_INVALID
 * (no_domain, foreign_domain -- answered as no_domain --,
 * unverified_domain, sandbox_domain, local_too_long, too_long),
 * ADMIN_BACKEND (no_account, sandbox_taken: nothing an account's client
 * can change; or a failed statement). */
admin_status_t admin_inbox_create(admin_t *a, const admin_inbox_new_t *in, int live, json_t **out,
                                  admin_error_t *err);

/* The inbox object of id.  ADMIN_OK, ADMIN_NOT_FOUND, ADMIN_BACKEND. */
admin_status_t admin_inbox_show(admin_t *a, const char *id, int live, json_t **out, admin_error_t *err);

/* What PATCH changes; each part only when given. */
typedef struct {
    int set_display;
    const char *display_name;  /* with set_display: NULL clears it */
    const json_t *labels;      /* NULL: unchanged; else the new checked labels */
    const char *status;        /* NULL: unchanged; active, suspended or disabled */
    const json_t *tracking;    /* NULL: unchanged; else a change admin_tracking_check accepts */
} admin_inbox_change_t;

/* Applies change in one transaction; *out the inbox after it. */
admin_status_t admin_inbox_update(admin_t *a, const char *id, const admin_inbox_change_t *change, int live,
                                  json_t **out, admin_error_t *err);

/* Sets the status (with reason, may be NULL), its audit row and event;
 * *changed 0 when it had that status already. */
admin_status_t admin_inbox_set_status(admin_t *a, const char *id, const char *status, const char *reason,
                                      int *changed, admin_error_t *err);

/* Deletes the inbox and all its history (audited). */
admin_status_t admin_inbox_purge(admin_t *a, const char *id, admin_error_t *err);

/* Labels: at most VALID_MAX_LABELS strings that are valid_label.  0; -1
 * too many; else 1 + the index of the first bad one. */
int admin_labels_check(const json_t *labels);

#endif
