/*
 * test_config_print.c -- lib/util/config_print: passwords masked, -n and
 * -a as the daemons print them, the start-only keys a reload changed, the
 * words of postinbox.conf(5).
 */
#include "unit.h"

#include <string.h>

#include "config.h"
#include "config_print.h"

typedef struct {
    const char *name;
    const char *value;
    const char *masked;
} mask_row_t;

static const mask_row_t mask_rows[] = {
    { "conninfo without a password is unchanged", "host=127.0.0.1 dbname=postinbox user=pi",
      "host=127.0.0.1 dbname=postinbox user=pi" },
    { "conninfo password, bare", "host=db password=s3cret dbname=x", "host=db password=******** dbname=x" },
    { "conninfo password, quoted with a space and a quote", "password = 'a b\\'c' host=db",
      "password = ******** host=db" },
    { "conninfo password last", "host=db password=x", "host=db password=********" },
    { "two passwords, both masked", "password=a host=b password=c", "password=******** host=b password=********" },
    { "a key ending in password is not a password", "passfile=/x sslpassword=k host=db",
      "passfile=/x sslpassword=k host=db" },
    { "postgresql URI user:password@", "postgresql://pi:s3cret@db:5432/postinbox",
      "postgresql://pi:********@db:5432/postinbox" },
    { "postgresql URI ?password= and more", "postgresql://db/postinbox?user=pi&password=s3&sslmode=require",
      "postgresql://db/postinbox?user=pi&password=********&sslmode=require" },
    { "URI user without password", "postgresql://pi@db/postinbox", "postgresql://pi@db/postinbox" },
    { "redis URL", "redis://postinbox:hunter2@127.0.0.1:6379", "redis://postinbox:********@127.0.0.1:6379" },
    { "redis unix URL", "unix://pi:pw@/run/redis.sock", "unix://pi:********@/run/redis.sock" },
    { "redis host:port", "127.0.0.1:6379", "127.0.0.1:6379" },
    { "an '@' in the path is not userinfo", "unix:///run/a:b@c", "unix:///run/a:b@c" },
    { "empty", "", "" },
};

static void
test_mask(void **state)
{
    const mask_row_t *row = *state;
    char out[256];
    config_mask_secret(row->value, out, sizeof(out));
    assert_string_equal(out, row->masked);
    assert_null(strstr(out, "s3cret"));
}

static void
test_mask_truncates(void **state)
{
    char out[12];
    memset(out, 'Z', sizeof(out));
    config_mask_secret("password=verylongsecret host=x", out, 8);
    assert_int_equal(strlen(out), 7);
    assert_string_equal(out, "passwor");
    assert_int_equal(out[8], 'Z');
}

static char *
print_of(const pi_config_t *cfg, int all)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    assert_non_null(fp);
    config_print(cfg, all, fp);
    assert_int_equal(fclose(fp), 0);
    return text;
}

static pi_config_t *
parsed(const char *text)
{
    char err[256] = "";
    pi_config_t *cfg = config_parse_text(text, "t.conf", err, sizeof(err));
    if (cfg == NULL)
        fail_msg("refused: %s", err);
    return cfg;
}

/* -n: the keys the file set, in the table's order, as written (a default
 * value written out is still shown), passwords masked; replies too. */
static void
test_print_set(void **state)
{
    pi_config_t *cfg = parsed("# a comment\nlog_level = debug\nreply_daily = 452 4.7.1 enough\n"
                              "database = host=db password=s3cret\nbackend_timeout_ms = 2000\n"
                              "webhook_retry_schedule = 0s, 1m\n");
    char *text = print_of(cfg, 0);
    assert_string_equal(text, "database = host=db password=********\nbackend_timeout_ms = 2000\n"
                              "log_level = debug\nwebhook_retry_schedule = 0s, 1m\n"
                              "reply_daily = 452 4.7.1 enough\n");
    free(text);
    config_free(cfg);
    cfg = config_defaults();
    text = print_of(cfg, 0);
    assert_string_equal(text, "");
    free(text);
    config_free(cfg);
}

/* -a: every key and reply once; what it prints parses back to the same
 * settings. */
static void
test_print_all_round_trip(void **state)
{
    size_t n;
    config_keys(&n);
    pi_config_t *cfg = parsed("api_threads = 8\nsuspend_bounce_rate = 2.5%\ntrusted_networks = 10.0.0.0/8, ::1\n");
    char *text = print_of(cfg, 1);
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, (int)n + REPLY_COUNT);
    assert_non_null(strstr(text, "\napi_threads = 8\n"));
    assert_non_null(strstr(text, "\nsuspend_bounce_rate = 2.5%\n"));
    assert_non_null(strstr(text, "\ntrusted_networks = 10.0.0.0/8, ::1\n"));
    assert_non_null(strstr(text, "\nwebhook_timeout = 15s\n"));
    pi_config_t *again = parsed(text);
    char *text2 = print_of(again, 1);
    assert_string_equal(text, text2);
    assert_int_equal(again->api_threads, 8);
    free(text);
    free(text2);
    config_free(again);
    config_free(cfg);
}

static void
test_start_changes(void **state)
{
    char buf[256];
    pi_config_t *a = parsed("api_listen = 127.0.0.1:8080\nlog_level = debug\n");
    pi_config_t *b = parsed("api_listen = 127.0.0.1:8081\nlog_level = warn\ntracking_listen = 127.0.0.1:8025\n");
    assert_int_equal(config_start_changes(a, b, buf, sizeof(buf)), 2);
    assert_string_equal(buf, "api_listen, tracking_listen");
    assert_int_equal(config_start_changes(a, a, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(config_start_changes(a, b, buf, 6), 2);
    assert_string_equal(buf, "api_l");
    config_free(a);
    config_free(b);
}

typedef struct {
    const char *name;
    const char *key;
    const char *type;
    const char *bounds;
} bounds_row_t;

static const bounds_row_t bounds_rows[] = {
    { "integer", "backend_timeout_ms", "integer", "20 to 25000" },
    { "duration", "webhook_timeout", "duration", "100ms to 5m" },
    { "duration from 0", "foreign_domain_cache", "duration", "0 to 1h" },
    { "duration list", "webhook_retry_schedule", "comma-separated list of durations", "each 0 to 7d" },
    { "percentage", "suspend_complaint_rate", "percentage", "0% to 100%" },
    { "enum", "on_backend_error", "one of", "tempfail, accept" },
    { "bool: no bounds", "webhook_allow_http", "yes or no", "" },
    { "string: no bounds", "database", "string", "" },
};

static void
test_bounds(void **state)
{
    const bounds_row_t *row = *state;
    size_t n;
    const config_key_t *keys = config_keys(&n);
    char buf[128];
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i].name, row->key) == 0) {
            config_bounds(&keys[i], buf, sizeof(buf));
            assert_string_equal(buf, row->bounds);
            assert_int_equal(strncmp(config_type_name(&keys[i]), row->type, strlen(row->type)), 0);
            return;
        }
    }
    fail_msg("no key %s", row->key);
}

/* Every key has help text, and the flags mark what the daemons do. */
static void
test_table_flags(void **state)
{
    size_t n, start = 0, secret = 0;
    const config_key_t *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(keys[i].help) > 10);
        start += (keys[i].flags & CF_START) != 0;
        secret += (keys[i].flags & CF_SECRET) != 0;
    }
    assert_int_equal(start, 13);
    assert_int_equal(secret, 3);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_mask, mask_rows, sizeof(mask_rows[0]), UNIT_ROWS(mask_rows));
    unit_add(&suite, "a masked value is truncated to the buffer", test_mask_truncates, NULL);
    unit_add(&suite, "-n: what the file set, masked", test_print_set, NULL);
    unit_add(&suite, "-a: every key once, parses back the same", test_print_all_round_trip, NULL);
    unit_add(&suite, "reload: the start-only keys that changed", test_start_changes, NULL);
    unit_add_rows(&suite, test_bounds, bounds_rows, sizeof(bounds_rows[0]), UNIT_ROWS(bounds_rows));
    unit_add(&suite, "every key has help; start-only and secret keys", test_table_flags, NULL);
    return unit_run("config_print", &suite, NULL, NULL);
}
