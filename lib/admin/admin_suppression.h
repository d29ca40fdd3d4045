/*
 * admin_suppression.h -- an inbox's suppression list: the checks of its
 * filters and entries, add, remove, import.  Listing and exporting are
 * admin_list's ADMIN_LIST_SUPPRESSIONS.
 *
 * Public: admin_suppression_entry_t, admin_suppression_entry_check,
 * admin_suppression_entry_json, admin_suppression_filter_check,
 * admin_suppression_add, admin_suppression_remove,
 * admin_suppression_import, ADMIN_SUPPRESSION_REASON_MAX.
 * One statement each, with its audit rows (suppression.add /
 * suppression.remove / suppression.import, the address as new or old
 * value) in it, so an import is all or nothing.  An entry whose
 * expires_at has passed suppresses nothing (the milter ignores it) and
 * counts as absent here: adding or importing the address replaces it.
 * Complaint entries are locked for tenants: an acting account may not
 * remove one (ADMIN_FORBIDDEN, code suppression_locked); only the
 * operator (postinboxctl) can.  Logs nothing.
 */
#ifndef POSTINBOX_ADMIN_SUPPRESSION_H
#define POSTINBOX_ADMIN_SUPPRESSION_H

#include "address.h"
#include "admin.h"

#define ADMIN_SUPPRESSION_REASON_MAX 1000 /* bytes of a hand-written reason */

/* One entry as given (a CSV line, a JSON object, an API body). */
typedef struct {
    const char *address;    /* any spelling address_normalize takes */
    const char *source;     /* bounce, complaint or manual; NULL or "": manual */
    const char *reason;     /* NULL or "": none */
    const char *bounce_reason; /* a bounce reason name (bounce_class.h); NULL or "": none */
    const char *created_at; /* ISO-8601; NULL or "": now */
    const char *expires_at; /* ISO-8601, manual entries only; NULL or "": never */
} admin_suppression_entry_t;

/* The normalised forms of an entry's values, written by the check. */
typedef struct {
    char address[ADDRESS_MAX + 1];
    char created_at[80];
    char expires_at[80];
} admin_suppression_norm_t;

/* Checks in (address, source, reason text, bounce reason name, times,
 * expiry only for manual) into norm.  0, or -1 with err naming the field. */
int admin_suppression_entry_check(const admin_suppression_entry_t *in, admin_suppression_norm_t *norm, char *err,
                                  size_t errlen);

/* The checked entry as an object of admin_suppression_import's array
 * (line: where it came from, for duplicates: the first wins). */
json_t *admin_suppression_entry_json(const admin_suppression_entry_t *in, const admin_suppression_norm_t *norm,
                                     long line);

/* Checks the list filters (each may be NULL): source one of the three,
 * reason a bounce reason name (lib/mail/bounce_class.h), prefix text of
 * at most ADDRESS_MAX bytes (lower-cased in place by the caller).
 * ADMIN_OK, or ADMIN_INVALID with code invalid_parameter. */
admin_status_t admin_suppression_filter_check(const char *source, const char *reason, const char *prefix,
                                              admin_error_t *err);

/* Adds address (normalised) by hand: source manual, reason (NULL: none),
 * expires_at (a checked ISO time, NULL: never) which must be in the
 * future.  *out the entry.  ADMIN_CONFLICT (code conflict) with *out the
 * entry already there; ADMIN_INVALID (invalid_field) for an expiry not
 * in the future; ADMIN_NOT_FOUND for an inbox not the acting account's. */
admin_status_t admin_suppression_add(admin_t *a, const char *inbox_id, const char *address, const char *reason,
                                     const char *expires_at, json_t **out, admin_error_t *err);

/* Removes address (reason for the audit row, may be NULL); *out the
 * entry removed.  ADMIN_NOT_FOUND when it is not on the list (or the
 * inbox is not the acting account's); ADMIN_FORBIDDEN
 * (suppression_locked) for a complaint entry and an acting account. */
admin_status_t admin_suppression_remove(admin_t *a, const char *inbox_id, const char *address, const char *reason,
                                        json_t **out, admin_error_t *err);

/* Imports entries (an array of admin_suppression_entry_json objects)
 * in one statement: addresses already on the list are skipped, entries
 * already expired are not imported.  *out {imported, skipped, expired,
 * total}.  ADMIN_NOT_FOUND for an inbox not the acting account's. */
admin_status_t admin_suppression_import(admin_t *a, const char *inbox_id, const json_t *entries, json_t **out,
                                        admin_error_t *err);

#endif
