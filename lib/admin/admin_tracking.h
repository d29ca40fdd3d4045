/*
 * admin_tracking.h -- the tracking settings of accounts and inboxes
 * (opens, clicks, one-click unsubscribe; README "Tracking").
 *
 * Public: admin_tracking_check, admin_tracking_inbox, admin_tracking_account.
 * A change is a JSON object of the keys "opens", "clicks" and
 * "unsubscribe", each true, false or null (null: the inbox takes its
 * account's value again; on an account, off).  An account's settings are
 * the default of its inboxes; an inbox's keys override them one by one
 * (sql/functions/tracking.sql, lookup.sql tracking_effective).  Both go
 * through SQL functions, so postinboxctl and the API write the same rows
 * (an inbox's change with its audit row).  Logs nothing.
 */
#ifndef POSTINBOX_ADMIN_TRACKING_H
#define POSTINBOX_ADMIN_TRACKING_H

#include "admin.h"

/* 0 when change is a valid change; else -1 with why. */
int admin_tracking_check(const json_t *change, char *why, size_t whylen);

/* Applies change to inbox id (of the acting account; any for the
 * operator).  ADMIN_OK, ADMIN_NOT_FOUND, ADMIN_INVALID, ADMIN_BACKEND. */
admin_status_t admin_tracking_inbox(admin_t *a, const char *id, const json_t *change, admin_error_t *err);

/* Applies change to account id (the operator, or the account itself;
 * change NULL: none); *out {"id", "tracking"} after it.  ADMIN_OK, ADMIN_NOT_FOUND,
 * ADMIN_INVALID, ADMIN_BACKEND. */
admin_status_t admin_tracking_account(admin_t *a, const char *id, const json_t *change, json_t **out,
                                      admin_error_t *err);

#endif
