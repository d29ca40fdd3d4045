/*
 * test_admin.c -- the admin layer without a server: every list kind's two
 * statements (each parameter used, the acting account in the WHERE,
 * LIMIT/OFFSET last), the required filters, user names, labels, the
 * usage latch ("Redis is down" told once) and the error of a failed
 * statement (first line only when it carried a secret).
 */
#include "unit.h"

#include <string.h>

#include "admin.h"
#include "admin_inbox.h"
#include "admin_list.h"

typedef struct {
    const char *name;
    admin_list_kind_t kind;
    int nparams;              /* filter parameters, the acting account first */
    const char *table;        /* the count's table */
    const char *order;        /* the page's order key */
} list_row_t;

static const list_row_t list_rows[] = {
    { "list: inboxes", ADMIN_LIST_INBOXES, 2, "postinbox.inbox i", "ORDER BY i.created_at DESC, i.id DESC" },
    { "list: messages", ADMIN_LIST_MESSAGES, 2, "postinbox.message", "ORDER BY created_at DESC, id DESC" },
    { "list: threads", ADMIN_LIST_THREADS, 2, "postinbox.thread", "ORDER BY last_message_at DESC, id DESC" },
    { "list: a thread's messages", ADMIN_LIST_THREAD_MESSAGES, 3, "postinbox.message", "ORDER BY created_at, id" },
    { "list: events", ADMIN_LIST_EVENTS, 5, "postinbox.event", "ORDER BY created_at DESC, id DESC" },
    { "list: webhook endpoints", ADMIN_LIST_ENDPOINTS, 2, "postinbox.webhook_endpoint e",
      "ORDER BY e.created_at DESC, e.id DESC" },
    { "list: deliveries", ADMIN_LIST_DELIVERIES, 4, "postinbox.webhook_delivery d",
      "ORDER BY d.created_at DESC, d.id DESC" },
    { "list: API keys", ADMIN_LIST_APIKEYS, 1, "postinbox.api_key", "ORDER BY created_at DESC, id DESC" },
    { "list: suppressions", ADMIN_LIST_SUPPRESSIONS, 7, "postinbox.suppression", "ORDER BY created_at DESC, address" },
};

/* Whether sql names $n (and not as the prefix of $n0...). */
static int
uses_param(const char *sql, int n)
{
    char want[16];
    snprintf(want, sizeof(want), "$%d", n);
    for (const char *p = strstr(sql, want); p != NULL; p = strstr(p + 1, want))
        if (p[strlen(want)] < '0' || p[strlen(want)] > '9')
            return 1;
    return 0;
}

static void
test_list_sql(void **state)
{
    const list_row_t *row = *state;
    char count[ADMIN_LIST_SQL_MAX], page[ADMIN_LIST_SQL_MAX], want[128];
    int n = admin_list_sql(row->kind, count, page, sizeof(count));

    assert_int_equal(n, row->nparams);
    /* every parameter typed by its use (PostgreSQL refuses an unused one) */
    for (int i = 1; i <= n; i++) {
        assert_true(uses_param(count, i));
        assert_true(uses_param(page, i));
    }
    assert_false(uses_param(count, n + 1));
    snprintf(want, sizeof(want), " LIMIT $%d::integer OFFSET $%d::integer", n + 1, n + 2);
    assert_non_null(strstr(page, want));
    assert_string_equal(page + strlen(page) - strlen(want), want);
    assert_false(uses_param(page, n + 3));
    /* the acting account ($1, NULL for the operator) in both WHEREs */
    assert_non_null(strstr(count, "$1::uuid IS NULL OR "));
    assert_non_null(strstr(strstr(count, " WHERE "), "account_id = $1::uuid"));
    assert_non_null(strstr(strstr(page, " WHERE "), "account_id = $1::uuid"));
    snprintf(want, sizeof(want), "SELECT count(*) FROM %s WHERE ", row->table);
    assert_int_equal(strncmp(count, want, strlen(want)), 0);
    assert_non_null(strstr(page, row->order));
}

static void
test_list_sql_bounds(void **state)
{
    char count[ADMIN_LIST_SQL_MAX], page[ADMIN_LIST_SQL_MAX], small[64];
    (void)state;
    assert_int_equal(admin_list_sql(ADMIN_LIST_NKINDS, count, page, sizeof(count)), -1);
    assert_int_equal(admin_list_sql(ADMIN_LIST_DELIVERIES, small, small, sizeof(small)), -1);
}

/* A list without its parent's id is refused before any statement (the
 * admin_t has no store at all). */
static void
test_list_required(void **state)
{
    static const admin_list_kind_t kinds[] = { ADMIN_LIST_MESSAGES, ADMIN_LIST_THREADS, ADMIN_LIST_THREAD_MESSAGES,
                                               ADMIN_LIST_EVENTS, ADMIN_LIST_DELIVERIES, ADMIN_LIST_SUPPRESSIONS };
    admin_t a;
    admin_error_t err;
    json_t *rows;
    long long total;
    (void)state;
    admin_init(&a, NULL, NULL, "11111111-1111-1111-1111-111111111111", "test");
    for (size_t i = 0; i < UNIT_ROWS(kinds); i++) {
        assert_int_equal(admin_list(&a, kinds[i], NULL, 20, 0, &rows, &total, &err), ADMIN_INVALID);
        assert_null(rows);
        assert_string_equal(err.code, "invalid_parameter");
    }
}

typedef struct {
    const char *name;
    const char *given;
    int want;
    const char *out;
} username_row_t;

static const username_row_t username_rows[] = {
    { "username: lower-cased", "Bob.Smith", 0, "bob.smith" },
    { "username: plus and dash", "a+b-c_d", 0, "a+b-c_d" },
    { "username: quote refused", "o'brien", -1, NULL },
    { "username: double dot refused", "a..b", -1, NULL },
    { "username: trailing dot refused", "ab.", -1, NULL },
    { "username: leading dot refused", ".ab", -1, NULL },
    { "username: empty refused", "", -1, NULL },
    { "username: 64 ok", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0,
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
    { "username: 65 refused", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -1, NULL },
    { "username: 200 refused (not cut to a valid one)",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      -1, NULL },
};

static void
test_username(void **state)
{
    const username_row_t *row = *state;
    char out[ADMIN_USERNAME_SIZE];
    assert_int_equal(admin_username(row->given, out), row->want);
    if (row->out != NULL)
        assert_string_equal(out, row->out);
}

static void
test_username_random(void **state)
{
    char one[ADMIN_USERNAME_SIZE], two[ADMIN_USERNAME_SIZE];
    (void)state;
    assert_int_equal(admin_username(NULL, one), 0);
    assert_int_equal(admin_username(NULL, two), 0);
    assert_int_equal(strlen(one), 10);
    assert_int_equal(strspn(one, "abcdefghijklmnopqrstuvwxyz0123456789"), 10);
    assert_string_not_equal(one, two);
}

typedef struct {
    const char *name;
    const char *labels;   /* JSON */
    int want;
} labels_row_t;

static const labels_row_t labels_rows[] = {
    { "labels: none", "[]", 0 },
    { "labels: two", "[\"o'brien\", \"back\\\\slash\"]", 0 },
    { "labels: empty one refused (2nd)", "[\"a\", \"\"]", 2 },
    { "labels: control character refused", "[\"a\\tb\"]", 1 },
    { "labels: not a string refused", "[\"a\", \"b\", 3]", 3 },
};

static void
test_labels(void **state)
{
    const labels_row_t *row = *state;
    json_t *labels = json_loads(row->labels, 0, NULL);
    assert_non_null(labels);
    assert_int_equal(admin_labels_check(labels), row->want);
    json_decref(labels);
}

static void
test_labels_count(void **state)
{
    json_t *labels = json_array();
    (void)state;
    for (int i = 0; i < 50; i++)
        json_array_append_new(labels, json_string("x"));
    assert_int_equal(admin_labels_check(labels), 0);
    json_array_append_new(labels, json_string("x"));
    assert_int_equal(admin_labels_check(labels), -1);
    json_decref(labels);
}

typedef struct {
    int calls;
    char inbox[64], err[256];
} warned_t;

static void
record_warning(void *arg, const char *inbox_id, const char *err)
{
    warned_t *w = arg;
    w->calls++;
    snprintf(w->inbox, sizeof(w->inbox), "%s", inbox_id);
    snprintf(w->err, sizeof(w->err), "%s", err);
}

/* Redis refusing connections: the first read fails and warns, the next
 * ones fail at once without a word. */
static void
test_usage_latch(void **state)
{
    char err[256];
    limiter_t *lim = limiter_new("127.0.0.1:1", NULL, 1, 500, err, sizeof(err));
    warned_t warned = { 0 };
    limit_result_t buf;
    admin_t a;
    (void)state;
    assert_non_null(lim);
    admin_init(&a, NULL, lim, NULL, "test");
    a.usage_warn = record_warning;
    a.usage_arg = &warned;
    assert_null(admin_usage(&a, "inbox-1", &buf));
    assert_int_equal(warned.calls, 1);
    assert_string_equal(warned.inbox, "inbox-1");
    assert_true(strlen(warned.err) > 0);
    assert_null(admin_usage(&a, "inbox-2", &buf));
    assert_null(admin_usage(&a, "inbox-3", &buf));
    assert_int_equal(warned.calls, 1);
    limiter_free(lim);
}

/* No limiter at all (it could not be built): null usage, its reason told once. */
static void
test_usage_no_limiter(void **state)
{
    warned_t warned = { 0 };
    limit_result_t buf;
    admin_t a;
    (void)state;
    admin_init(&a, NULL, NULL, NULL, "test");
    a.limiter_error = "redis \"x\" is not host:port or unix:/path";
    a.usage_warn = record_warning;
    a.usage_arg = &warned;
    assert_null(admin_usage(&a, "i", &buf));
    assert_null(admin_usage(&a, "i", &buf));
    assert_int_equal(warned.calls, 1);
    assert_string_equal(warned.err, "redis \"x\" is not host:port or unix:/path");
}

/* PostgreSQL refusing connections: ADMIN_BACKEND, reason "database", the
 * server's text; a private statement's error is one line. */
static void
test_exec_backend(void **state)
{
    store_t *store = store_new("host=127.0.0.1 port=1 dbname=none connect_timeout=2", 1, 2000);
    admin_error_t err;
    admin_t a;
    (void)state;
    assert_non_null(store);
    admin_init(&a, store, NULL, NULL, "test");
    assert_null(admin_exec(&a, "SELECT 1", 0, NULL, 0, &err));
    assert_int_equal(err.status, ADMIN_BACKEND);
    assert_string_equal(err.reason, "database");
    assert_string_equal(err.code, "backend_unavailable");
    assert_true(strlen(err.message) > 0);
    assert_null(admin_exec(&a, "SELECT 1", 0, NULL, 1, &err));
    assert_null(strchr(err.message, '\n'));
    store_free(store);
}

static void
test_fail(void **state)
{
    admin_error_t err;
    (void)state;
    assert_int_equal(admin_fail(&err, ADMIN_CONFLICT, "conflict", "exists", "inbox address already exists: %s", "a@b"),
                     ADMIN_CONFLICT);
    assert_int_equal(err.status, ADMIN_CONFLICT);
    assert_string_equal(err.code, "conflict");
    assert_string_equal(err.reason, "exists");
    assert_string_equal(err.message, "inbox address already exists: a@b");
    assert_string_equal(err.subject, "");
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_list_sql, list_rows, sizeof(list_rows[0]), UNIT_ROWS(list_rows));
    unit_add(&suite, "list: unknown kind, small buffers", test_list_sql_bounds, NULL);
    unit_add(&suite, "list: a required filter missing", test_list_required, NULL);
    unit_add_rows(&suite, test_username, username_rows, sizeof(username_rows[0]), UNIT_ROWS(username_rows));
    unit_add(&suite, "username: random", test_username_random, NULL);
    unit_add_rows(&suite, test_labels, labels_rows, sizeof(labels_rows[0]), UNIT_ROWS(labels_rows));
    unit_add(&suite, "labels: at most 50", test_labels_count, NULL);
    unit_add(&suite, "usage: Redis down told once", test_usage_latch, NULL);
    unit_add(&suite, "usage: no limiter told once", test_usage_no_limiter, NULL);
    unit_add(&suite, "exec: a failed statement", test_exec_backend, NULL);
    unit_add(&suite, "fail: the error fields", test_fail, NULL);
    return unit_run("admin", &suite, NULL, NULL);
}
