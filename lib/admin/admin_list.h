/*
 * admin_list.h -- the one paginated, filtered list of the admin layer:
 * inboxes, messages, threads, a thread's messages, events, webhook
 * endpoints, webhook deliveries, API keys and suppression lists.
 *
 * Public: admin_list, admin_list_sql, admin_list_kind_t, admin_filter_t,
 * ADMIN_APIKEY_COLUMNS, admin_apikey_json, ADMIN_SUPPRESSION_COLUMNS,
 * admin_suppression_json, ADMIN_OWNED.
 * One table of list kinds (admin_list.c): the select list and row
 * function of lib/store/records.h, the filters the kind takes (its WHERE
 * over them, always with the acting account), the order key (newest
 * first; a thread's messages oldest first), and what must exist first
 * (the inbox, the endpoint) so that an unknown or foreign parent is
 * ADMIN_NOT_FOUND rather than an empty page.  "total" counts every row
 * matching the filters.  Logs nothing.
 */
#ifndef POSTINBOX_ADMIN_LIST_H
#define POSTINBOX_ADMIN_LIST_H

#include "admin.h"
#include "pgjson.h"

/* SQL: col (an inbox id) belongs to the acting account $1 (NULL: any). */
#define ADMIN_OWNED(col) \
    " AND ($1::uuid IS NULL OR " col " IN (SELECT id FROM postinbox.inbox WHERE account_id = $1::uuid))"

typedef enum {
    ADMIN_LIST_INBOXES,          /* filters: account (operator), inbox */
    ADMIN_LIST_MESSAGES,         /* inbox (required) */
    ADMIN_LIST_THREADS,          /* inbox (required) */
    ADMIN_LIST_THREAD_MESSAGES,  /* thread (required), inbox; oldest first */
    ADMIN_LIST_EVENTS,           /* inbox (required), type, after, before */
    ADMIN_LIST_ENDPOINTS,        /* account (operator), inbox */
    ADMIN_LIST_DELIVERIES,       /* endpoint (required), inbox, status */
    ADMIN_LIST_APIKEYS,          /* account (operator) */
    ADMIN_LIST_SUPPRESSIONS,     /* inbox (required), source, reason, address prefix, after, before; newest first */
    ADMIN_LIST_DOMAINS,          /* account (operator): an account's custom domains; the operator's all */
    ADMIN_LIST_NKINDS
} admin_list_kind_t;

/* Filters; NULL is "any".  Values are checked by the front end (uuids,
 * an event type, an ISO-8601 time, a delivery status). */
typedef struct {
    const char *account_id;   /* the operator's choice; an acting account always wins */
    const char *inbox_id;
    const char *thread_id;
    const char *endpoint_id;
    const char *type;         /* events: message.sent, ... */
    const char *status;       /* deliveries: pending, delivered, failed */
    const char *after;        /* events, suppressions created at or after (inclusive) */
    const char *before;       /* events, suppressions created before (exclusive) */
    const char *source;       /* suppressions: bounce, complaint, manual */
    const char *reason;       /* suppressions: the bounce reason (bounce_reason_name) */
    const char *address_prefix; /* suppressions: addresses starting with it (lower case) */
} admin_filter_t;

/* One page (limit rows from offset) of kind matching filter: *rows a new
 * array of row objects, *total the count of all matching rows.
 * ADMIN_OK; ADMIN_NOT_FOUND when the inbox or endpoint named by filter
 * is not the acting account's; ADMIN_INVALID without a required filter;
 * ADMIN_BACKEND. */
admin_status_t admin_list(admin_t *a, admin_list_kind_t kind, const admin_filter_t *filter, long limit, long offset,
                          json_t **rows, long long *total, admin_error_t *err);

#define ADMIN_LIST_SQL_MAX 4096
/* The two statements of kind into count_sql and page_sql (size bytes
 * each): the count over $1..$n, the page with LIMIT $n+1 and OFFSET
 * $n+2.  Returns n (the filter parameters, the acting account first), or
 * -1 for an unknown kind or too small buffers.  For the tests of the
 * table; admin_list runs them. */
int admin_list_sql(admin_list_kind_t kind, char *count_sql, char *page_sql, size_t size);

/* api_key rows (never the key, never its hash) */
#define ADMIN_APIKEY_COLUMNS                                                                             \
    "SELECT id, account_id, inbox_id, name, prefix, " PGJSON_ISO("created_at") ", "                     \
    PGJSON_ISO("last_used_at") ", " PGJSON_ISO("revoked_at")
json_t *admin_apikey_json(const PGresult *res, int row);

/* suppression rows, without SELECT (admin_suppression.c adds columns after them) */
#define ADMIN_SUPPRESSION_COLUMNS                                                                        \
    "address, source, reason, bounce_reason, dsn, message_id, " PGJSON_ISO("created_at") ", "           \
    PGJSON_ISO("expires_at")
#define ADMIN_SUPPRESSION_NCOLUMNS 8
json_t *admin_suppression_json(const PGresult *res, int row);

#endif
