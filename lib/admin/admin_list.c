/*
 * admin_list.c -- the table of list kinds and the one list.  See admin_list.h.
 *
 * A kind names its parameters as a list of filter slots; its WHERE uses
 * them as $1, $2, ... in that order (the acting account is always $1),
 * and the page adds LIMIT and OFFSET after them.  The statements are the
 * constant fragments of the table joined, never input.
 */
#include "admin_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_domain.h"
#include "records.h"

/* The filter slots a kind's statements take. */
enum {
    SLOT_END, SLOT_ACCOUNT, SLOT_INBOX, SLOT_THREAD, SLOT_ENDPOINT, SLOT_TYPE, SLOT_STATUS, SLOT_AFTER, SLOT_BEFORE,
    SLOT_SOURCE, SLOT_REASON, SLOT_PREFIX
};
#define SLOTS_MAX 8

/* What must exist before a list of it is answered. */
typedef enum { PARENT_NONE, PARENT_INBOX, PARENT_ENDPOINT } admin_parent_t;

typedef struct {
    const char *table;                          /* FROM of the count */
    const char *select;                         /* select list and FROM of a page */
    const char *where;                          /* over the slots, in order */
    const char *order;                          /* ORDER BY */
    unsigned char slots[SLOTS_MAX];             /* SLOT_END-terminated */
    unsigned char required;                     /* a slot that must be given, or SLOT_END */
    admin_parent_t parent;
    json_t *(*row)(const PGresult *res, int row); /* NULL: an inbox, with usage */
} admin_list_def_t;

#define INBOX_OWNED " WHERE inbox_id = $2::uuid" ADMIN_OWNED("inbox_id")

static const admin_list_def_t admin_lists[] = {
    [ADMIN_LIST_INBOXES] = {
        "postinbox.inbox i", RECORDS_INBOX_SELECT,
        " WHERE ($1::uuid IS NULL OR i.account_id = $1::uuid) AND ($2::uuid IS NULL OR i.id = $2::uuid)",
        "i.created_at DESC, i.id DESC", { SLOT_ACCOUNT, SLOT_INBOX }, SLOT_END, PARENT_NONE, NULL },
    [ADMIN_LIST_MESSAGES] = {
        "postinbox.message", RECORDS_MESSAGE_SELECT, INBOX_OWNED,
        "created_at DESC, id DESC", { SLOT_ACCOUNT, SLOT_INBOX }, SLOT_INBOX, PARENT_INBOX, records_message_json },
    [ADMIN_LIST_THREADS] = {
        "postinbox.thread", RECORDS_THREAD_SELECT, INBOX_OWNED,
        "last_message_at DESC, id DESC", { SLOT_ACCOUNT, SLOT_INBOX }, SLOT_INBOX, PARENT_INBOX, records_thread_json },
    [ADMIN_LIST_THREAD_MESSAGES] = {
        "postinbox.message", RECORDS_MESSAGE_SELECT,
        " WHERE thread_id = $3::uuid AND ($2::uuid IS NULL OR inbox_id = $2::uuid)" ADMIN_OWNED("inbox_id"),
        "created_at, id", { SLOT_ACCOUNT, SLOT_INBOX, SLOT_THREAD }, SLOT_THREAD, PARENT_NONE, records_message_json },
    [ADMIN_LIST_EVENTS] = {
        "postinbox.event", RECORDS_EVENT_SELECT,
        INBOX_OWNED " AND ($3::text IS NULL OR type = $3::text)"
        " AND ($4::timestamptz IS NULL OR created_at >= $4::timestamptz)"
        " AND ($5::timestamptz IS NULL OR created_at < $5::timestamptz)",
        "created_at DESC, id DESC", { SLOT_ACCOUNT, SLOT_INBOX, SLOT_TYPE, SLOT_AFTER, SLOT_BEFORE }, SLOT_INBOX,
        PARENT_INBOX, records_event_json },
    [ADMIN_LIST_ENDPOINTS] = {
        "postinbox.webhook_endpoint e", RECORDS_ENDPOINT_COLUMNS RECORDS_ENDPOINT_FROM,
        " WHERE ($1::uuid IS NULL OR e.account_id = $1::uuid) AND ($2::uuid IS NULL OR e.inbox_id = $2::uuid)",
        "e.created_at DESC, e.id DESC", { SLOT_ACCOUNT, SLOT_INBOX }, SLOT_END, PARENT_INBOX, records_endpoint_json },
    [ADMIN_LIST_DELIVERIES] = {
        "postinbox.webhook_delivery d", RECORDS_DELIVERY_SELECT,
        " WHERE d.endpoint_id = $3::uuid AND d.endpoint_id IN (SELECT e.id FROM postinbox.webhook_endpoint e"
        "   WHERE e.id = $3::uuid AND ($2::uuid IS NULL OR e.inbox_id = $2::uuid)"
        "     AND ($1::uuid IS NULL OR e.account_id = $1::uuid))"
        " AND ($4::text IS NULL OR d.status = $4::text)",
        "d.created_at DESC, d.id DESC", { SLOT_ACCOUNT, SLOT_INBOX, SLOT_ENDPOINT, SLOT_STATUS }, SLOT_ENDPOINT,
        PARENT_ENDPOINT, records_delivery_json },
    [ADMIN_LIST_APIKEYS] = {
        "postinbox.api_key", ADMIN_APIKEY_COLUMNS " FROM postinbox.api_key",
        " WHERE ($1::uuid IS NULL OR account_id = $1::uuid)",
        "created_at DESC, id DESC", { SLOT_ACCOUNT }, SLOT_END, PARENT_NONE, admin_apikey_json },
    [ADMIN_LIST_SUPPRESSIONS] = {
        "postinbox.suppression",
        "SELECT " ADMIN_SUPPRESSION_COLUMNS " FROM postinbox.suppression",
        INBOX_OWNED " AND ($3::text IS NULL OR source = $3::text)"
        " AND ($4::text IS NULL OR bounce_reason = $4::text)"
        " AND ($5::text IS NULL OR starts_with(address, $5::text))"
        " AND ($6::timestamptz IS NULL OR created_at >= $6::timestamptz)"
        " AND ($7::timestamptz IS NULL OR created_at < $7::timestamptz)",
        "created_at DESC, address",
        { SLOT_ACCOUNT, SLOT_INBOX, SLOT_SOURCE, SLOT_REASON, SLOT_PREFIX, SLOT_AFTER, SLOT_BEFORE }, SLOT_INBOX,
        PARENT_INBOX, admin_suppression_json },
    [ADMIN_LIST_DOMAINS] = {
        "postinbox.domain d", "SELECT " ADMIN_DOMAIN_COLUMNS " FROM postinbox.domain d",
        " WHERE ($1::uuid IS NULL OR d.account_id = $1::uuid)",
        "d.created_at DESC, d.id DESC", { SLOT_ACCOUNT }, SLOT_END, PARENT_NONE, admin_domain_json },
};

#define ADMIN_NLISTS (sizeof(admin_lists) / sizeof(admin_lists[0]))

/* The parents' checks take the slots account, inbox, endpoint. */
static const char admin_inbox_check[] =
    "SELECT 1 FROM postinbox.inbox WHERE id = $2::uuid AND ($1::uuid IS NULL OR account_id = $1::uuid)";
static const char admin_endpoint_check[] =
    "SELECT 1 FROM postinbox.webhook_endpoint e WHERE e.id = $3::uuid AND ($2::uuid IS NULL OR e.inbox_id = $2::uuid)"
    " AND ($1::uuid IS NULL OR e.account_id = $1::uuid)";

/* The value of a slot: the acting account wins over the operator's filter. */
static const char *
admin_slot(const admin_t *a, const admin_filter_t *f, int slot)
{
    switch (slot) {
    case SLOT_ACCOUNT: return a->account_id ? a->account_id : f->account_id;
    case SLOT_INBOX: return f->inbox_id;
    case SLOT_THREAD: return f->thread_id;
    case SLOT_ENDPOINT: return f->endpoint_id;
    case SLOT_TYPE: return f->type;
    case SLOT_STATUS: return f->status;
    case SLOT_AFTER: return f->after;
    case SLOT_BEFORE: return f->before;
    case SLOT_SOURCE: return f->source;
    case SLOT_REASON: return f->reason;
    case SLOT_PREFIX: return f->address_prefix;
    default: return NULL;
    }
}

/* Whether the parent named by filter is there for the acting account
 * (the operator's account filter narrows the rows, it does not hide the
 * parent): ADMIN_OK, ADMIN_NOT_FOUND or ADMIN_BACKEND. */
static admin_status_t
admin_parent(admin_t *a, const admin_list_def_t *def, const admin_filter_t *f, admin_error_t *err)
{
    const char *params[3] = { a->account_id, f->inbox_id, f->endpoint_id };
    int endpoint = def->parent == PARENT_ENDPOINT, found;
    PGresult *res;

    if (def->parent == PARENT_NONE || (!endpoint && f->inbox_id == NULL))
        return ADMIN_OK;
    if ((res = admin_exec(a, endpoint ? admin_endpoint_check : admin_inbox_check, endpoint ? 3 : 2, params, 0, err))
        == NULL)
        return ADMIN_BACKEND;
    found = PQntuples(res) == 1;
    PQclear(res);
    if (found)
        return ADMIN_OK;
    if (!endpoint)
        return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "inbox", "no inbox %s", f->inbox_id);
    if (f->inbox_id != NULL)
        return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "endpoint", "no webhook %s in inbox %s", f->endpoint_id,
                          f->inbox_id);
    return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "endpoint", "no webhook endpoint %s", f->endpoint_id);
}

int
admin_list_sql(admin_list_kind_t kind, char *count_sql, char *page_sql, size_t size)
{
    const admin_list_def_t *def;
    int n = 0;

    if ((size_t)kind >= ADMIN_NLISTS)
        return -1;
    def = &admin_lists[kind];
    while (n < SLOTS_MAX && def->slots[n] != SLOT_END)
        n++;
    if ((size_t)snprintf(count_sql, size, "SELECT count(*) FROM %s%s", def->table, def->where) >= size ||
        (size_t)snprintf(page_sql, size, "%s%s ORDER BY %s LIMIT $%d::integer OFFSET $%d::integer", def->select,
                         def->where, def->order, n + 1, n + 2) >= size)
        return -1;
    return n;
}

admin_status_t
admin_list(admin_t *a, admin_list_kind_t kind, const admin_filter_t *filter, long limit, long offset,
           json_t **rows, long long *total, admin_error_t *err)
{
    static const admin_filter_t none;
    const admin_list_def_t *def;
    const char *params[SLOTS_MAX + 2];
    char count_sql[ADMIN_LIST_SQL_MAX], page_sql[ADMIN_LIST_SQL_MAX], limit_text[24], offset_text[24];
    limit_result_t usage;
    PGresult *res;
    int n;

    *rows = NULL;
    *total = 0;
    if (filter == NULL)
        filter = &none;
    if ((n = admin_list_sql(kind, count_sql, page_sql, sizeof(count_sql))) < 0)
        return admin_fail(err, ADMIN_BACKEND, "internal", "statement", "no list statement of kind %d", (int)kind);
    def = &admin_lists[kind];
    if (def->required != SLOT_END && admin_slot(a, filter, def->required) == NULL)
        return admin_fail(err, ADMIN_INVALID, "invalid_parameter", "filter", "this list needs its parent's id");
    for (int i = 0; i < n; i++)
        params[i] = admin_slot(a, filter, def->slots[i]);
    snprintf(limit_text, sizeof(limit_text), "%ld", limit);
    snprintf(offset_text, sizeof(offset_text), "%ld", offset);
    params[n] = limit_text;
    params[n + 1] = offset_text;
    if (admin_parent(a, def, filter, err) != ADMIN_OK)
        return err->status;
    if ((res = admin_exec(a, count_sql, n, params, 0, err)) == NULL)
        return ADMIN_BACKEND;
    *total = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    if ((res = admin_exec(a, page_sql, n + 2, params, 0, err)) == NULL)
        return ADMIN_BACKEND;
    *rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(*rows, def->row ? def->row(res, r)
                                              : records_inbox_json(res, r, admin_usage(a, PQgetvalue(res, r, 0), &usage)));
    PQclear(res);
    return ADMIN_OK;
}

static const pgjson_field_t apikey_fields[] = {
    { "id", 't' }, { "accountId", 't' }, { "inboxId", 't' }, { "name", 't' }, { "prefix", 't' },
    { "createdAt", 't' }, { "lastUsedAt", 't' }, { "revokedAt", 't' },
};

json_t *
admin_apikey_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    PGJSON_FIELDS(obj, res, row, 0, apikey_fields);
    return obj;
}

static const pgjson_field_t suppression_fields[] = {
    { "address", 't' }, { "source", 't' }, { "reason", 't' }, { "bounceReason", 't' }, { "dsn", 't' },
    { "messageId", 't' }, { "createdAt", 't' }, { "expiresAt", 't' },
};

json_t *
admin_suppression_json(const PGresult *res, int row)
{
    json_t *obj = json_object();
    PGJSON_FIELDS(obj, res, row, 0, suppression_fields);
    return obj;
}
