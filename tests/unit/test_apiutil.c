/*
 * test_apiutil.c -- the pure parts of the HTTP admin API: page
 * parameters, route matching, JSON bodies and their fields, timestamps,
 * event types, and API keys (shape, hash, where a request carries one).
 */
#include "unit.h"

#include <string.h>

#include "apikey.h"
#include "apiutil.h"
#include "validate.h"

typedef struct {
    const char *name;
    const char *limit, *offset;
    int ok;
    long want_limit, want_offset;
} page_row_t;

static const page_row_t page_rows[] = {
    { "page: defaults", NULL, NULL, 1, 20, 0 },
    { "page: limit 1", "1", NULL, 1, 1, 0 },
    { "page: limit 100", "100", "0", 1, 100, 0 },
    { "page: limit 0 refused", "0", NULL, 0, 0, 0 },
    { "page: limit 101 refused", "101", NULL, 0, 0, 0 },
    { "page: limit -1 refused", "-1", NULL, 0, 0, 0 },
    { "page: limit +5 refused", "+5", NULL, 0, 0, 0 },
    { "page: limit empty refused", "", NULL, 0, 0, 0 },
    { "page: limit abc refused", "abc", NULL, 0, 0, 0 },
    { "page: limit 1e2 refused", "1e2", NULL, 0, 0, 0 },
    { "page: limit with space refused", " 5", NULL, 0, 0, 0 },
    { "page: offset large", "5", "2147483647", 1, 5, 2147483647L },
    { "page: offset too large", "5", "2147483648", 0, 0, 0 },
    { "page: offset 11 digits", "5", "00000000001", 0, 0, 0 },
    { "page: offset negative", NULL, "-3", 0, 0, 0 },
};

static void
test_page(void **state)
{
    const page_row_t *row = *state;
    long limit, offset;
    char err[128] = "";
    int rc = valid_page(row->limit, row->offset, &limit, &offset, err, sizeof(err));
    assert_int_equal(rc == 0, row->ok);
    if (row->ok) {
        assert_int_equal(limit, row->want_limit);
        assert_int_equal(offset, row->want_offset);
    } else {
        assert_true(strlen(err) > 0);
    }
}

typedef struct {
    const char *name;
    const char *pattern, *path;
    int want;
    const char *cap0, *cap1;
} match_row_t;

#define D10 "0123456789"
#define D100 D10 D10 D10 D10 D10 D10 D10 D10 D10 D10

static const match_row_t match_rows[] = {
    { "match: collection", "/v1/inboxes", "/v1/inboxes", 0, NULL, NULL },
    { "match: one id", "/v1/inboxes/*", "/v1/inboxes/abc", 1, "abc", NULL },
    { "match: two ids", "/v1/inboxes/*/messages/*", "/v1/inboxes/a/messages/b", 2, "a", "b" },
    { "match: trailing slash is another path", "/v1/inboxes", "/v1/inboxes/", -1, NULL, NULL },
    { "match: empty id", "/v1/inboxes/*", "/v1/inboxes/", -1, NULL, NULL },
    { "match: double slash", "/v1/inboxes/*/threads", "/v1/inboxes//threads", -1, NULL, NULL },
    { "match: longer path", "/v1/inboxes/*", "/v1/inboxes/a/b", -1, NULL, NULL },
    { "match: shorter path", "/v1/inboxes/*/events", "/v1/inboxes/a", -1, NULL, NULL },
    { "match: prefix of a word", "/v1/inboxes", "/v1/inboxesx", -1, NULL, NULL },
    { "match: other version", "/v1/inboxes", "/v2/inboxes", -1, NULL, NULL },
    { "match: root", "/v1/inboxes", "/", -1, NULL, NULL },
    { "match: empty", "/v1/inboxes", "", -1, NULL, NULL },
    { "match: long id cut", "/v1/inboxes/*", "/v1/inboxes/" D100 D100 D100 D10 D10 D10, 1,
      D100 D100 D100 D10 "012345678", NULL },
    { "match: an address segment", "/v1/inboxes/*/suppressions/+", "/v1/inboxes/a/suppressions/x+y@b.test", 2, "a",
      "x+y@b.test" },
    { "match: an address segment is not empty", "/v1/inboxes/*/suppressions/+", "/v1/inboxes/a/suppressions/", -1,
      NULL, NULL },
    { "match: a literal + is not a wildcard inside a word", "/v1/a+b", "/v1/a+b", 0, NULL, NULL },
};

typedef struct {
    const char *name;
    const char *pattern;
    int is_id[3];
} capture_row_t;

static const capture_row_t capture_rows[] = {
    { "capture kinds: none", "/v1/inboxes", { 0, 0, 0 } },
    { "capture kinds: two ids", "/v1/inboxes/*/webhooks/*", { 1, 1, 0 } },
    { "capture kinds: an id and an address", "/v1/inboxes/*/suppressions/+", { 1, 0, 0 } },
    { "capture kinds: + inside a word is no capture", "/v1/a+b/*", { 1, 0, 0 } },
};

static void
test_capture_kinds(void **state)
{
    const capture_row_t *row = *state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(apiutil_capture_is_id(row->pattern, i), row->is_id[i]);
}

static void
test_match(void **state)
{
    const match_row_t *row = *state;
    char caps[APIUTIL_MAX_CAPTURES][APIUTIL_CAPTURE_MAX];
    int n = apiutil_match(row->pattern, row->path, caps);
    assert_int_equal(n, row->want);
    if (row->cap0)
        assert_string_equal(caps[0], row->cap0);
    if (row->cap1)
        assert_string_equal(caps[1], row->cap1);
}

typedef struct {
    const char *name;
    const char *body;
    size_t len;          /* 0: strlen */
    const char *code;    /* NULL: accepted; "parse": refused by the parser */
} body_row_t;

static const apiutil_field_t body_spec[] = {
    { "username", APIUTIL_STRING, 0 },
    { "displayName", APIUTIL_STRING_OR_NULL, 0 },
    { "labels", APIUTIL_STRING_ARRAY, 0 },
    { "to", APIUTIL_STRINGS, 1 },
    { "enabled", APIUTIL_BOOLEAN, 0 },
    { NULL, 0, 0 },
};

static const body_row_t body_rows[] = {
    { "body: minimal", "{\"to\": \"a@b.test\"}", 0, NULL },
    { "body: every field", "{\"to\": [\"a@b.test\"], \"username\": \"x\", \"displayName\": null,"
                           " \"labels\": [\"a\", \"b\"], \"enabled\": false}", 0, NULL },
    { "body: empty", "", 0, "parse" },
    { "body: not JSON", "to=a", 0, "parse" },
    { "body: truncated", "{\"to\": \"a", 0, "parse" },
    { "body: array", "[{\"to\": \"a\"}]", 0, "parse" },
    { "body: string", "\"x\"", 0, "parse" },
    { "body: null", "null", 0, "parse" },
    { "body: duplicate key", "{\"to\": \"a\", \"to\": \"b\"}", 0, "parse" },
    { "body: invalid UTF-8", "{\"to\": \"\xff\xfe\"}", 0, "parse" },
    { "body: overlong UTF-8", "{\"to\": \"\xc0\xaf\"}", 0, "parse" },
    { "body: escaped NUL", "{\"to\": \"a\\u0000b\"}", 0, "parse" },
    { "body: raw NUL", "{\"to\": \"a\"}\0", 12, "parse" },
    { "body: trailing garbage", "{\"to\": \"a\"} x", 0, "parse" },
    { "body: unknown field", "{\"to\": \"a\", \"bcc\": \"c\"}", 0, "unknown_field" },
    { "body: wrong type string", "{\"to\": 5}", 0, "invalid_type" },
    { "body: wrong type in array", "{\"to\": \"a\", \"labels\": [\"a\", 1]}", 0, "invalid_type" },
    { "body: labels not an array", "{\"to\": \"a\", \"labels\": \"a\"}", 0, "invalid_type" },
    { "body: null where a string is required", "{\"to\": \"a\", \"username\": null}", 0, "invalid_type" },
    { "body: boolean as string", "{\"to\": \"a\", \"enabled\": \"yes\"}", 0, "invalid_type" },
    { "body: missing required", "{\"username\": \"x\"}", 0, "missing_field" },
};

static void
test_body(void **state)
{
    const body_row_t *row = *state;
    char err[256] = "", code[16] = "";
    json_t *obj = apiutil_parse_object(row->body, row->len ? row->len : strlen(row->body), err, sizeof(err));
    if (row->code != NULL && strcmp(row->code, "parse") == 0) {
        assert_null(obj);
        assert_true(strlen(err) > 0);
        return;
    }
    assert_non_null(obj);
    int rc = apiutil_check_fields(obj, body_spec, code, err, sizeof(err));
    json_decref(obj);
    if (row->code == NULL) {
        assert_int_equal(rc, 0);
    } else {
        assert_int_equal(rc, -1);
        assert_string_equal(code, row->code);
    }
}

typedef struct {
    const char *name;
    const char *in;
    const char *out;   /* NULL: refused */
} time_row_t;

static const time_row_t time_rows[] = {
    { "time: date", "2024-05-01", "2024-05-01Z" },
    { "time: Z", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z" },
    { "time: fraction and offset", "2024-05-01T12:00:00.5+02:00", "2024-05-01T12:00:00.5+02:00" },
    { "time: no seconds", "2024-05-01T12:00", "2024-05-01T12:00Z" },
    { "time: garbage", "yesterday", NULL },
    { "time: SQL", "2024-05-01'; DROP TABLE x; --", NULL },
    { "time: empty", "", NULL },
    { "time: short year", "24-05-01", NULL },
    { "time: month 13", "2024-13-01", NULL },
    { "time: Feb 30", "2024-02-30", NULL },
    { "time: Feb 29 leap", "2024-02-29", "2024-02-29Z" },
    { "time: Feb 29 not leap", "2023-02-29", NULL },
    { "time: hour 24", "2024-05-01T24:00:00Z", NULL },
    { "time: minute 60", "2024-05-01T12:60Z", NULL },
    { "time: offset 16 h", "2024-05-01T12:00+16:00", NULL },
    /* PostgreSQL refuses these (time zone displacement out of range): a 400, not a failed query */
    { "time: offset minute 99", "2024-05-01T12:00+05:99", NULL },
    { "time: offset minute 60 without colon", "2024-05-01T12:00-0560", NULL },
    { "time: offset 15:59", "2024-05-01T12:00+15:59", "2024-05-01T12:00+15:59" },
};

static void
test_time(void **state)
{
    const time_row_t *row = *state;
    char out[64];
    int ok = valid_timestamp(row->in, out, sizeof(out));
    assert_int_equal(ok, row->out != NULL);
    if (ok)
        assert_string_equal(out, row->out);
}

typedef struct {
    const char *name;
    const char *type;
    int ok;
} type_row_t;

static const type_row_t type_rows[] = {
    { "type: message.sent", "message.sent", 1 },
    { "type: inbox.webhook_disabled", "inbox.webhook_disabled", 1 },
    { "type: other group", "account.created", 0 },
    { "type: capitals", "Message.Sent", 0 },
    { "type: empty name", "message.", 0 },
    { "type: double underscore", "inbox.a__b", 0 },
    { "type: trailing underscore", "inbox.a_", 0 },
};

static void
test_type(void **state)
{
    const type_row_t *row = *state;
    assert_int_equal(valid_event_type(row->type), row->ok);
}

static void
test_apikey_generate(void **state)
{
    char a[APIKEY_SIZE], b[APIKEY_SIZE], err[128];
    (void)state;
    assert_int_equal(apikey_generate(a, err, sizeof(err)), 0);
    assert_int_equal(apikey_generate(b, err, sizeof(err)), 0);
    assert_int_equal(strlen(a), 47);
    assert_true(strncmp(a, "pik_", 4) == 0);
    assert_true(apikey_well_formed(a));
    assert_string_not_equal(a, b);
}

static void
test_apikey_hash(void **state)
{
    char hash[APIKEY_HASH_SIZE], prefix[APIKEY_PREFIX_LEN + 1];
    (void)state;
    /* SHA-256("abc") */
    apikey_hash("abc", hash);
    assert_string_equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    apikey_prefix("pik_ABCDEFGHIJKLMNOP", prefix);
    assert_string_equal(prefix, "pik_ABCDEFGH");
}

typedef struct {
    const char *name;
    const char *key;
    int ok;
} shape_row_t;

static const shape_row_t shape_rows[] = {
    { "shape: good", "pik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0 }, /* 46: one short */
    { "shape: good 47", "pik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_", 1 },
    { "shape: wrong prefix", "pk__AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_", 0 },
    { "shape: plus sign", "pik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+_", 0 },
    { "shape: empty", "", 0 },
};

static void
test_shape(void **state)
{
    const shape_row_t *row = *state;
    assert_int_equal(apikey_well_formed(row->key), row->ok);
}

typedef struct {
    const char *name;
    const char *x_api_key, *authorization, *want;
} header_row_t;

static const header_row_t header_rows[] = {
    { "headers: x-api-key", "k1", NULL, "k1" },
    { "headers: x-api-key wins", "k1", "Bearer k2", "k1" },
    { "headers: Bearer", NULL, "Bearer k2", "k2" },
    { "headers: bearer lower-case", NULL, "bearer k2", "k2" },
    { "headers: Basic is not a key", NULL, "Basic a2V5Og==", NULL },
    { "headers: Bearer without key", NULL, "Bearer ", NULL },
    { "headers: none", NULL, NULL, NULL },
};

static void
test_headers(void **state)
{
    const header_row_t *row = *state;
    const char *got = apikey_from_headers(row->x_api_key, row->authorization);
    if (row->want == NULL)
        assert_null(got);
    else
        assert_string_equal(got, row->want);
}

/* Text an admin reads (display names, labels, reasons): UTF-8, no
 * controls, no bidi embeddings, overrides or isolates. */
typedef struct {
    const char *name;
    const char *text;
    int ok;
} text_row_t;

static const text_row_t text_rows[] = {
    { "text: plain", "Sales team", 1 },
    { "text: non-Latin letters", "\xe5\x96\xb6\xe6\xa5\xad J\xc3\xb6rg", 1 },
    { "text: right-to-left letters alone", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", 1 },
    { "text: U+2019 (near the bidi range) is fine", "O\xe2\x80\x99" "Brien", 1 },
    { "text: U+202F (just past it) is fine", "a\xe2\x80\xaf" "b", 1 },
    { "text: tab", "a\tb", 0 },
    { "text: newline", "a\nb", 0 },
    { "text: invalid UTF-8", "a\xff" "b", 0 },
    { "text: U+202A LEFT-TO-RIGHT EMBEDDING", "a\xe2\x80\xaa" "b", 0 },
    { "text: U+202E RIGHT-TO-LEFT OVERRIDE", "evil\xe2\x80\xaegnp.exe", 0 },
    { "text: U+2066 LEFT-TO-RIGHT ISOLATE", "a\xe2\x81\xa6" "b", 0 },
    { "text: U+2069 POP DIRECTIONAL ISOLATE", "a\xe2\x81\xa9", 0 },
};

static void
test_text(void **state)
{
    const text_row_t *row = *state;
    assert_int_equal(valid_text(row->text), row->ok);
    assert_int_equal(valid_label(row->text), row->ok);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_page, page_rows, sizeof(page_rows[0]), UNIT_ROWS(page_rows));
    unit_add_rows(&suite, test_match, match_rows, sizeof(match_rows[0]), UNIT_ROWS(match_rows));
    unit_add_rows(&suite, test_capture_kinds, capture_rows, sizeof(capture_rows[0]), UNIT_ROWS(capture_rows));
    unit_add_rows(&suite, test_body, body_rows, sizeof(body_rows[0]), UNIT_ROWS(body_rows));
    unit_add_rows(&suite, test_time, time_rows, sizeof(time_rows[0]), UNIT_ROWS(time_rows));
    unit_add_rows(&suite, test_type, type_rows, sizeof(type_rows[0]), UNIT_ROWS(type_rows));
    unit_add_rows(&suite, test_shape, shape_rows, sizeof(shape_rows[0]), UNIT_ROWS(shape_rows));
    unit_add_rows(&suite, test_headers, header_rows, sizeof(header_rows[0]), UNIT_ROWS(header_rows));
    unit_add_rows(&suite, test_text, text_rows, sizeof(text_rows[0]), UNIT_ROWS(text_rows));
    unit_add(&suite, "apikey: generate", test_apikey_generate, NULL);
    unit_add(&suite, "apikey: hash and prefix", test_apikey_hash, NULL);
    return unit_run("apiutil", &suite, NULL, NULL);
}
