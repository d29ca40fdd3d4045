/*
 * test_config.c -- postinbox.conf: defaults, parsing, and the error text an
 * admin sees for each kind of mistake (file, line and key named).
 */
#include "unit.h"

#include <string.h>
#include <unistd.h>

/* The path, not "config.h": the top-level autoconf config.h comes first
 * on the include path (-I.) and would shadow lib/util/config.h. */
#include "config.h"
#include "config_print.h"
#include "redis_addr.h"
#include "suspend.h"

/* ---- defaults ------------------------------------------------------------ */

static void
test_defaults(void **state)
{
    pi_config_t *cfg = config_defaults();
    assert_non_null(cfg);
    assert_int_equal(cfg->backend_timeout_ms, 2000);
    assert_int_equal(cfg->backend_pool_size, 16);
    assert_int_equal(cfg->record_gather_us, 1000);
    assert_int_equal(cfg->on_backend_error, BACKEND_ERROR_TEMPFAIL);
    assert_int_equal(cfg->unauthenticated_managed_sender, SPOOF_REJECT);
    assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
    assert_string_equal(cfg->redis, "127.0.0.1:6379");
    assert_string_equal(cfg->milter_socket, "inet:8891@127.0.0.1");
    assert_string_equal(cfg->sandbox_domain, "sandbox.postinbox.test");
    assert_non_null(cfg->trusted_networks);
    assert_int_equal(cidr_list_count(cfg->trusted_networks), 0);
    /* the policy service answers loopback only unless told otherwise */
    assert_int_equal(cidr_list_count(cfg->policy_allow_networks), 2);
    assert_true(cidr_list_match_text(cfg->policy_allow_networks, "127.0.0.1"));
    assert_true(cidr_list_match_text(cfg->policy_allow_networks, "::1"));
    assert_false(cidr_list_match_text(cfg->policy_allow_networks, "192.0.2.1"));
    assert_string_equal(cfg->policy_socket_group, "");
    assert_non_null(strstr(cfg->database, "dbname=postinbox"));
    for (int r = 0; r < REPLY_COUNT; r++) {
        reply_t def;
        reply_default((reply_id_t)r, &def);
        assert_int_equal(cfg->replies[r].code, def.code);
        assert_string_equal(cfg->replies[r].xcode, def.xcode);
        assert_string_equal(cfg->replies[r].text, def.text);
    }
    config_free(cfg);
}

/* An empty file, or one of only comments and blank lines, is the defaults. */
static void
test_empty_text_is_defaults(void **state)
{
    char err[256] = "";
    pi_config_t *cfg = config_parse_text("# nothing here\n\n   \n\t# indented comment\n", "empty.conf", err,
                                         sizeof(err));
    assert_non_null(cfg);
    assert_string_equal(err, "");
    assert_int_equal(cfg->backend_timeout_ms, 2000);
    assert_int_equal(cfg->on_backend_error, BACKEND_ERROR_TEMPFAIL);
    config_free(cfg);
}

/* ---- a valid file ----------------------------------------------------------- */

static const char valid_text[] =
    "# postinbox.conf used by the unit tests\n"
    "\n"
    "database = host=db1,db2 dbname=pi target_session_attrs=read-write\n"
    "redis=unix:/run/redis/redis.sock\n"
    "   milter_socket   =   unix:/run/postinbox/milter.sock   \n"
    "sandbox_domain = sandbox.example.net\n"
    "trusted_networks = 127.0.0.0/8, ::1/128 192.0.2.0/24\n"
    "\t# a comment between keys\n"
    "backend_timeout_ms = 750\n"
    "backend_pool_size = 4\n"
    "on_backend_error = accept\n"
    "unauthenticated_managed_sender = accept\n"
    "log_level = debug\r\n" /* a CRLF line, as written by some editors */
    "reply_rcpt_disabled = 550 5.7.1 mailbox {inbox} is closed\n"
    "reply_burst = 452 4.7.1 slow down, {inbox}: retry in {retry}s\n"
    "reply_daily = 550 5.7.1 {inbox} is over its daily limit"; /* no final newline */

static void
test_parse_valid(void **state)
{
    char err[256] = "";
    pi_config_t *cfg = config_parse_text(valid_text, "valid.conf", err, sizeof(err));
    if (cfg == NULL)
        fail_msg("valid text refused: %s", err);
    assert_string_equal(cfg->database, "host=db1,db2 dbname=pi target_session_attrs=read-write");
    assert_string_equal(cfg->redis, "unix:/run/redis/redis.sock");
    assert_string_equal(cfg->milter_socket, "unix:/run/postinbox/milter.sock");
    assert_string_equal(cfg->sandbox_domain, "sandbox.example.net");

    assert_int_equal(cidr_list_count(cfg->trusted_networks), 3);
    assert_true(cidr_list_match_text(cfg->trusted_networks, "127.0.0.1"));
    assert_true(cidr_list_match_text(cfg->trusted_networks, "::1"));
    assert_true(cidr_list_match_text(cfg->trusted_networks, "192.0.2.77"));
    assert_false(cidr_list_match_text(cfg->trusted_networks, "198.51.100.1"));
    assert_int_equal(cfg->backend_timeout_ms, 750);
    assert_int_equal(cfg->backend_pool_size, 4);
    assert_int_equal(cfg->on_backend_error, BACKEND_ERROR_ACCEPT);
    assert_int_equal(cfg->unauthenticated_managed_sender, SPOOF_ACCEPT);
    assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);

    assert_int_equal(cfg->replies[REPLY_RCPT_DISABLED].code, 550);
    assert_string_equal(cfg->replies[REPLY_RCPT_DISABLED].xcode, "5.7.1");
    assert_string_equal(cfg->replies[REPLY_RCPT_DISABLED].text, "mailbox {inbox} is closed");
    assert_int_equal(cfg->replies[REPLY_BURST].code, 452);
    assert_string_equal(cfg->replies[REPLY_BURST].xcode, "4.7.1");
    assert_string_equal(cfg->replies[REPLY_BURST].text, "slow down, {inbox}: retry in {retry}s");
    assert_int_equal(cfg->replies[REPLY_DAILY].code, 550);
    assert_string_equal(cfg->replies[REPLY_DAILY].text, "{inbox} is over its daily limit");

    /* Replies not overridden keep their defaults. */
    reply_t def;
    reply_default(REPLY_RCPT_SUSPENDED, &def);
    assert_int_equal(cfg->replies[REPLY_RCPT_SUSPENDED].code, def.code);
    assert_string_equal(cfg->replies[REPLY_RCPT_SUSPENDED].text, def.text);
    config_free(cfg);
}

/* Later lines win; a replaced network list is freed (valgrind sees it). */
static void
test_parse_repeated_key(void **state)
{
    char err[256] = "";
    pi_config_t *cfg = config_parse_text("log_level = debug\n"
                                         "trusted_networks = 10.0.0.0/8\n"
                                         "log_level = error\n"
                                         "trusted_networks = none\n",
                                         "repeat.conf", err, sizeof(err));
    assert_non_null(cfg);
    assert_int_equal(cfg->log_level, LOG_LEVEL_ERROR);
    assert_int_equal(cidr_list_count(cfg->trusted_networks), 0);
    assert_false(cidr_list_match_text(cfg->trusted_networks, "10.1.1.1"));
    config_free(cfg);
}

/* Every boundary of every int key is accepted. */
static void
test_parse_int_bounds(void **state)
{
    static const struct {
        const char *text;
        int timeout, pool, gather;
    } bounds[] = {
        { "backend_timeout_ms = 20\nbackend_pool_size = 1\nrecord_gather_us = 0\n", 20, 1, 0 },
        { "backend_timeout_ms = 25000\nbackend_pool_size = 512\nrecord_gather_us = 10000\n", 25000, 512, 10000 },
    };
    for (size_t i = 0; i < UNIT_ROWS(bounds); i++) {
        char err[256] = "";
        pi_config_t *cfg = config_parse_text(bounds[i].text, "bounds.conf", err, sizeof(err));
        if (cfg == NULL)
            fail_msg("%s refused: %s", bounds[i].text, err);
        assert_int_equal(cfg->backend_timeout_ms, bounds[i].timeout);
        assert_int_equal(cfg->backend_pool_size, bounds[i].pool);
        assert_int_equal(cfg->record_gather_us, bounds[i].gather);
        config_free(cfg);
    }
}

/* ---- errors: each row is one mistake; the message must name where ----------- */

typedef struct {
    const char *name;
    const char *text;
    const char *want[3]; /* substrings the error must contain */
} config_error_row_t;

static const config_error_row_t config_error_rows[] = {
    { "unknown key names file, line and key", "# header\nlog_level = info\nno_such_key = 1\n",
      { "bad.conf:3:", "no_such_key", "unknown key" } },
    { "unknown reply_ key", "reply_no_such_reply = 550 5.1.1 x\n", { "bad.conf:1:", "reply_no_such_reply" } },
    { "a port in trusted_networks", "trusted_networks = 127.0.0.1:25\n", { "trusted_networks", "port is not allowed" } },
    { "a bad port in webhook_allow_networks", "webhook_allow_networks = 127.0.0.1:99999\n",
      { "webhook_allow_networks", ":99999" } },
    { "key differing only in case", "Log_Level = info\n", { "bad.conf:1:", "Log_Level" } },
    { "line without '='", "\n\nlog_level info\n", { "bad.conf:3:", "key = value" } },
    { "bad int", "backend_timeout_ms = 2s\n", { "bad.conf:1:", "backend_timeout_ms", "\"2s\" is not a number" } },
    { "empty int", "backend_pool_size =\n", { "bad.conf:1:", "backend_pool_size", "not a number" } },
    { "bad deferred_events", "deferred_events = sometimes\n", { "bad.conf:1:", "deferred_events" } },
    { "int overflowing long", "backend_pool_size = 99999999999999999999999\n",
      { "bad.conf:1:", "backend_pool_size", "not a number" } },
    { "int below range", "\nbackend_timeout_ms = 19\n", { "bad.conf:2:", "backend_timeout_ms", "out of range 20..25000" } },
    { "int above range", "backend_timeout_ms = 25001\n", { "bad.conf:1:", "backend_timeout_ms", "25001" } },
    { "gather window above range", "record_gather_us = 10001\n",
      { "bad.conf:1:", "record_gather_us", "out of range 0..10000" } },
    { "pool size zero", "backend_pool_size = 0\n", { "bad.conf:1:", "backend_pool_size", "out of range 1..512" } },
    { "negative int", "backend_pool_size = -4\n", { "bad.conf:1:", "backend_pool_size", "out of range" } },
    { "bad enum", "on_backend_error = retry\n", { "bad.conf:1:", "on_backend_error", "tempfail|accept" } },
    { "enum is case-sensitive", "unauthenticated_managed_sender = Reject\n",
      { "bad.conf:1:", "unauthenticated_managed_sender", "\"Reject\"" } },
    { "bad log level", "log_level = verbose\n", { "bad.conf:1:", "log_level", "\"verbose\"" } },
    { "bad CIDR address", "trusted_networks = 127.0.0.0/8, 300.1.1.1\n",
      { "bad.conf:1:", "trusted_networks", "300.1.1.1" } },
    { "bad CIDR prefix", "trusted_networks = 10.0.0.0/33\n", { "bad.conf:1:", "trusted_networks", "/33" } },
    { "reply code not 3 digits", "reply_rcpt_disabled = 55 5.2.1 gone\n",
      { "bad.conf:1:", "reply_rcpt_disabled", "4xx or 5xx" } },
    { "reply code 4 digits", "reply_rcpt_disabled = 5500 5.2.1 gone\n", { "bad.conf:1:", "reply_rcpt_disabled" } },
    { "reply code 2xx", "reply_rcpt_unknown = 250 2.0.0 fine\n", { "bad.conf:1:", "reply_rcpt_unknown", "4xx or 5xx" } },
    { "reply class mismatch 5xx/4.x.x", "reply_rcpt_suspended = 550 4.2.1 x\n",
      { "bad.conf:1:", "reply_rcpt_suspended", "same class" } },
    { "reply class mismatch 4xx/5.x.x", "reply_burst = 451 5.7.1 x\n", { "bad.conf:1:", "reply_burst", "same class" } },
    { "reply without enhanced code", "reply_spoof = 550 go away\n", { "bad.conf:1:", "reply_spoof", "enhanced" } },
    { "reply with empty enhanced-code part", "reply_spoof = 550 5..1 go away\n", { "bad.conf:1:", "reply_spoof" } },
    { "reply with trailing dot in enhanced code", "reply_spoof = 550 5.7. go away\n",
      { "bad.conf:1:", "reply_spoof" } },
    { "reply without text", "reply_daily = 451 4.7.1\n", { "bad.conf:1:", "reply_daily", "one line" } },
    { "reply with CR inside", "reply_daily = 451 4.7.1 first\rsecond\n", { "bad.conf:1:", "reply_daily", "one line" } },
    { "bad duration unit", "webhook_timeout = 15x\n", { "bad.conf:1:", "webhook_timeout", "duration" } },
    { "negative duration", "webhook_timeout = -1s\n", { "bad.conf:1:", "webhook_timeout", "duration" } },
    { "duration below range", "webhook_timeout = 10ms\n", { "bad.conf:1:", "webhook_timeout", "out of range" } },
    { "bad duration in a list", "webhook_retry_schedule = 0s, 5s, soon\n",
      { "bad.conf:1:", "webhook_retry_schedule", "\"soon\"" } },
    { "empty duration list", "webhook_retry_schedule = ,\n", { "bad.conf:1:", "webhook_retry_schedule", "at least one" } },
    { "bad bool", "webhook_allow_http = maybe\n", { "bad.conf:1:", "webhook_allow_http", "yes|no" } },
    { "bad webhook network", "webhook_allow_networks = 10.0.0.0/8, nonsense\n",
      { "bad.conf:1:", "webhook_allow_networks", "nonsense" } },
    { "line longer than 4 KiB", NULL /* built at run time */, { "bad.conf:2:", "line too long" } },
    { "rate without '%'", "suspend_bounce_rate = 0.10\n", { "bad.conf:1:", "suspend_bounce_rate", "percentage" } },
    { "rate with a sign", "suspend_bounce_rate = -1%\n", { "bad.conf:1:", "suspend_bounce_rate", "percentage" } },
    { "rate over 100%", "suspend_complaint_rate = 100.5%\n",
      { "bad.conf:1:", "suspend_complaint_rate", "out of range 0%..100%" } },
    { "rate with 5 decimals", "suspend_complaint_rate = 0.00001%\n", { "bad.conf:1:", "suspend_complaint_rate" } },
    { "rate with a bare dot", "suspend_bounce_rate = 5.%\n", { "bad.conf:1:", "suspend_bounce_rate" } },
    { "rate with space before '%'", "suspend_bounce_rate = 5 %\n", { "bad.conf:1:", "suspend_bounce_rate" } },
    { "rate huge", "suspend_bounce_rate = 99999999999999999999%\n", { "bad.conf:1:", "suspend_bounce_rate" } },
    { "window below a minute", "suspend_window = 30s\n", { "bad.conf:1:", "suspend_window", "out of range" } },
    { "window over 30 days", "suspend_window = 31d\n", { "bad.conf:1:", "suspend_window", "out of range" } },
    { "min sends zero", "suspend_min_sends = 0\n", { "bad.conf:1:", "suspend_min_sends", "out of range" } },
    { "submission login without its password file", "api_submission_login = api@example.test\n",
      { "bad.conf", "api_submission_login and api_submission_password_file" } },
    { "submission password file without a login", "api_submission_password_file = /etc/postinbox/submission.secret\n",
      { "bad.conf", "go together" } },
    { "submission without port", "api_submission = 127.0.0.1\n", { "bad.conf:1:", "api_submission", "IP:port" } },
    { "submission host name (never resolved)", "api_submission = localhost:25\n",
      { "bad.conf:1:", "api_submission", "IP:port" } },
    { "submission port 0", "api_submission = 127.0.0.1:0\n", { "bad.conf:1:", "api_submission" } },
    { "submission port too big", "api_submission = 127.0.0.1:65536\n", { "bad.conf:1:", "api_submission" } },
    { "submission IPv6 without brackets", "api_submission = ::1:25\n", { "bad.conf:1:", "api_submission" } },
    { "submission timeout below a second", "api_submission_timeout = 500ms\n",
      { "bad.conf:1:", "api_submission_timeout", "out of range" } },
    { "helo with a space", "api_helo = my host\n", { "bad.conf:1:", "api_helo", "host name" } },
    { "empty helo", "api_helo =\n", { "bad.conf:1:", "api_helo" } },
    { "tracking URL without scheme", "tracking_base_url = t.example.com\n",
      { "bad.conf:1:", "tracking_base_url", "http:// or https://" } },
    { "tracking URL with a query", "tracking_base_url = https://t.example.com/?a=1\n",
      { "bad.conf:1:", "tracking_base_url" } },
    { "tracking URL with a fragment", "tracking_base_url = https://t.example.com/#x\n",
      { "bad.conf:1:", "tracking_base_url" } },
    { "tracking URL with a quote", "tracking_base_url = https://t.example.com/\"x\n",
      { "bad.conf:1:", "tracking_base_url" } },
    { "tracking URL without host", "tracking_base_url = https:///t\n", { "bad.conf:1:", "tracking_base_url" } },
    { "tracking URL of another scheme", "tracking_base_url = ftp://t.example.com\n",
      { "bad.conf:1:", "tracking_base_url" } },
    { "tracking links 0", "tracking_max_links = 0\n", { "bad.conf:1:", "tracking_max_links", "out of range" } },
    { "tracking size below 64 KiB", "tracking_max_size = 1000\n", { "bad.conf:1:", "tracking_max_size" } },
    { "tracking networks", "tracking_machine_networks = 17.0.0.0/33\n", { "bad.conf:1:", "tracking_machine_networks" } },
};

/* The tracking keys: defaults, the base URL kept without its final '/'. */
static void
test_tracking_keys(void **state)
{
    char err[256] = "";
    pi_config_t *def = config_defaults();
    assert_string_equal(def->tracking_base_url, "");
    assert_string_equal(def->tracking_listen, "");
    assert_int_equal(def->tracking_store_ip, 0);
    assert_int_equal(def->tracking_event_interval_ms, 3600000);
    assert_int_equal(def->tracking_scanner_window_ms, 10000);
    assert_int_equal(def->tracking_max_links, 1000);
    assert_int_equal(def->tracking_max_size, 10485760);
    assert_true(cidr_list_match_text(def->tracking_machine_networks, "17.58.1.2"));
    assert_false(cidr_list_match_text(def->tracking_machine_networks, "18.0.0.1"));
    config_free(def);
    pi_config_t *cfg = config_parse_text("tracking_base_url = https://t.example.com/pi//\n"
                                         "tracking_event_interval = 0\ntracking_store_ip = yes\n",
                                         "t.conf", err, sizeof(err));
    assert_non_null(cfg);
    assert_string_equal(cfg->tracking_base_url, "https://t.example.com/pi");
    assert_int_equal(cfg->tracking_event_interval_ms, 0);
    assert_int_equal(cfg->tracking_store_ip, 1);
    config_free(cfg);
    (void)state;
}

/* The keys of sending through the API (lib/mail/send.c). */
static void
test_api_submission_keys(void **state)
{
    char err[256] = "", host[64];
    int port = 0;
    pi_config_t *def = config_defaults();
    assert_string_equal(def->api_submission, "127.0.0.1:25");
    assert_int_equal(def->api_submission_timeout_ms, 30000);
    assert_string_equal(def->api_helo, "postinbox-api");
    config_free(def);
    pi_config_t *cfg = config_parse_text("api_submission = [::1]:587\napi_submission_timeout = 5s\n"
                                         "api_helo = api.example.net\n",
                                         "api.conf", err, sizeof(err));
    assert_non_null(cfg);
    assert_string_equal(cfg->api_submission, "[::1]:587");
    assert_int_equal(cfg->api_submission_timeout_ms, 5000);
    assert_string_equal(cfg->api_helo, "api.example.net");
    assert_int_equal(config_parse_hostport(cfg->api_submission, host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 587);
    config_free(cfg);
    assert_int_equal(config_parse_hostport("192.0.2.1:2525", host, sizeof(host), &port), 0);
    assert_string_equal(host, "192.0.2.1");
    assert_int_equal(port, 2525);
    assert_int_equal(config_parse_hostport("[192.0.2.1]:25", host, sizeof(host), &port), -1);
    assert_int_equal(config_parse_hostport("192.0.2.1:25x", host, sizeof(host), &port), -1);
    assert_int_equal(config_parse_hostport(":25", host, sizeof(host), &port), -1);
}

static void
test_policyd_keys(void **state)
{
    char err[256] = "";
    pi_config_t *def = config_defaults();
    /* Defaults named in the webhook issue. */
    assert_int_equal(def->webhook_timeout_ms, 15000);
    assert_int_equal(def->webhook_retry_schedule.count, 8);
    assert_int_equal(def->webhook_retry_schedule.ms[0], 0);
    assert_int_equal(def->webhook_retry_schedule.ms[1], 5000);
    assert_int_equal(def->webhook_retry_schedule.ms[2], 300000);
    assert_int_equal(def->webhook_retry_schedule.ms[7], 36000000);
    assert_int_equal(def->webhook_allow_http, 0);
    assert_int_equal(cidr_list_count(def->webhook_allow_networks), 0);
    assert_string_equal(def->policy_listen, "");
    assert_string_equal(def->policyd_metrics_listen, "");
    assert_string_equal(def->metrics_listen, "");
    /* The HTTP admin API: off unless api_listen is set. */
    assert_string_equal(def->api_listen, "");
    assert_int_equal(def->api_max_body, 1048576);
    assert_int_equal(def->api_threads, 4);
    /* Every HTTP listener: a whole-request deadline and a per-address limit. */
    assert_int_equal(def->http_request_timeout_ms, 15000);
    assert_int_equal(def->http_max_connections_per_ip, 16);
    config_free(def);

    pi_config_t *cfg = config_parse_text("webhook_timeout = 1500ms\nwebhook_retry_schedule = 0s 1s,2m\n"
                                         "webhook_allow_http = yes\nwebhook_allow_networks = 127.0.0.0/8, [::1]:9000\n"
                                         "secret_key_file = /etc/postinbox/secret.key\n"
                                         "webhook_disable_after = 1d\nwebhook_poll_interval = 2\n"
                                         "policy_listen = 127.0.0.1:10040\n"
                                         "postfix_log = /var/log/mail.log\npostfix_log_state = /tmp/pl.state\n"
                                         "deferred_events = every\n"
                                         "metrics_listen = 127.0.0.1:9187\n"
                                         "policyd_metrics_listen = [::1]:9188\n"
                                         "api_listen = 127.0.0.1:8080\napi_max_body = 2048\napi_threads = 2\n"
                                         "http_request_timeout_ms = 2000\nhttp_max_connections_per_ip = 3\n",
                                         "p.conf", err, sizeof(err));
    if (cfg == NULL)
        fail_msg("refused: %s", err);
    assert_int_equal(cfg->webhook_timeout_ms, 1500);
    assert_int_equal(cfg->webhook_retry_schedule.count, 3);
    assert_int_equal(cfg->webhook_retry_schedule.ms[2], 120000);
    assert_int_equal(cfg->webhook_allow_http, 1);
    assert_true(cidr_list_match_text(cfg->webhook_allow_networks, "127.0.0.1"));
    assert_int_equal(cidr_list_count(cfg->webhook_allow_networks), 2);
    assert_string_equal(cfg->secret_key_file, "/etc/postinbox/secret.key");
    assert_string_equal(cfg->secret_key_file_old, "");
    assert_int_equal(cfg->webhook_disable_after_ms, 86400000L);
    assert_int_equal(cfg->webhook_poll_interval_ms, 2000);
    assert_string_equal(cfg->policy_listen, "127.0.0.1:10040");
    assert_string_equal(cfg->postfix_log, "/var/log/mail.log");
    assert_string_equal(cfg->postfix_log_state, "/tmp/pl.state");
    assert_int_equal(cfg->deferred_events, DEFERRED_EVENTS_EVERY);
    assert_string_equal(cfg->metrics_listen, "127.0.0.1:9187");
    assert_string_equal(cfg->policyd_metrics_listen, "[::1]:9188");
    assert_string_equal(cfg->api_listen, "127.0.0.1:8080");
    assert_int_equal(cfg->api_max_body, 2048);
    assert_int_equal(cfg->api_threads, 2);
    assert_int_equal(cfg->http_request_timeout_ms, 2000);
    assert_int_equal(cfg->http_max_connections_per_ip, 3);
    config_free(cfg);
    /* bounds */
    cfg = config_parse_text("http_request_timeout_ms = 999\n", "p.conf", err, sizeof(err));
    assert_null(cfg);
    assert_non_null(strstr(err, "http_request_timeout_ms"));
    cfg = config_parse_text("http_request_timeout_ms = 300001\n", "p.conf", err, sizeof(err));
    assert_null(cfg);
    cfg = config_parse_text("http_max_connections_per_ip = 0\n", "p.conf", err, sizeof(err));
    assert_null(cfg);
    assert_non_null(strstr(err, "http_max_connections_per_ip"));
    cfg = config_parse_text("http_max_connections_per_ip = 257\n", "p.conf", err, sizeof(err));
    assert_null(cfg);
    cfg = config_parse_text("api_threads = 0\n", "p.conf", err, sizeof(err));
    assert_null(cfg);
    assert_non_null(strstr(err, "api_threads"));
    cfg = config_parse_text("api_max_body = 10\n", "p.conf", err, sizeof(err));
    assert_null(cfg);
}

/* Automatic suspension: the defaults of issue 4, the percent syntax, and
 * the policy document SQL receives. */
typedef struct {
    const char *name;
    const char *text;
    long ppm;            /* config_parse_percent_ppm(text) */
} percent_row_t;

static const percent_row_t percent_rows[] = {
    { "percent 10%", "10%", 100000 },       { "percent 0.5%", "0.5%", 5000 },
    { "percent 0%", "0%", 0 },              { "percent 100%", "100%", 1000000 },
    { "percent 0.0125%", "0.0125%", 125 },  { "percent 12.3456%", "12.3456%", 123456 },
    { "percent 007%", "007%", 70000 },      { "percent without % refused", "10", -1 },
    { "percent fraction refused", "0.1", -1 }, { "percent empty refused", "", -1 },
    { "percent only % refused", "%", -1 },  { "percent .5% refused", ".5%", -1 },
    { "percent 1e1% refused", "1e1%", -1 }, { "percent trailing text refused", "10%x", -1 },
};

static void
test_percent(void **state)
{
    const percent_row_t *row = *state;
    assert_int_equal(config_parse_percent_ppm(row->text), row->ppm);
}

static void
test_suspend_keys(void **state)
{
    char err[256] = "", json[SUSPEND_POLICY_MAX];
    pi_config_t *def = config_defaults();
    assert_true(def->suspend_bounce_rate == 0.1);
    assert_true(def->suspend_complaint_rate == 0.005);
    assert_int_equal(def->suspend_window_ms, 86400000L);
    assert_int_equal(def->suspend_min_sends, 100);
    assert_true(def->suspend_block_rate == 0.2);
    assert_true(def->suspend_block_warn_rate == 0.05);
    assert_true(suspend_policy_json(def, json, sizeof(json)) > 0);
    assert_string_equal(json, "{\"bounceRate\":0.1,\"complaintRate\":0.005,\"blockRate\":0.2,\"blockWarnRate\":0.05,"
                              "\"windowSeconds\":86400,\"minSends\":100}");
    /* too small a buffer is an error, not a cut document */
    assert_int_equal(suspend_policy_json(def, json, 20), -1);
    config_free(def);

    pi_config_t *cfg = config_parse_text("suspend_bounce_rate = 20%\nsuspend_complaint_rate = 0%\n"
                                         "suspend_block_rate = 0%\nsuspend_block_warn_rate = 2.5%\n"
                                         "suspend_window = 90m\nsuspend_min_sends = 10\n",
                                         "s.conf", err, sizeof(err));
    if (cfg == NULL)
        fail_msg("refused: %s", err);
    assert_true(suspend_policy_json(cfg, json, sizeof(json)) > 0);
    assert_string_equal(json, "{\"bounceRate\":0.2,\"complaintRate\":0,\"blockRate\":0,\"blockWarnRate\":0.025,"
                              "\"windowSeconds\":5400,\"minSends\":10}");
    config_free(cfg);

    cfg = config_parse_text("suspend_complaint_rate = 0.0125%\nsuspend_bounce_rate = 100%\n", "s.conf", err,
                            sizeof(err));
    assert_non_null(cfg);
    assert_true(suspend_policy_json(cfg, json, sizeof(json)) > 0);
    assert_non_null(strstr(json, "\"bounceRate\":1,\"complaintRate\":0.000125,"));
    config_free(cfg);
}

static void
test_config_error(void **state)
{
    const config_error_row_t *row = *state;
    char err[512] = "", *long_text = NULL;
    const char *text = row->text;
    if (text == NULL) {
        long_text = malloc(6000);
        assert_non_null(long_text);
        strcpy(long_text, "log_level = info\ndatabase = ");
        size_t prefix = strlen(long_text);
        memset(long_text + prefix, 'x', 5000);
        long_text[prefix + 5000] = '\0';
        text = long_text;
    }
    pi_config_t *cfg = config_parse_text(text, "bad.conf", err, sizeof(err));
    free(long_text);
    if (cfg != NULL) {
        config_free(cfg);
        fail_msg("accepted: %s", row->text);
    }
    for (int i = 0; i < 3 && row->want[i]; i++) {
        if (strstr(err, row->want[i]) == NULL)
            fail_msg("error \"%s\" lacks \"%s\"", err, row->want[i]);
    }
    assert_null(strpbrk(err, "\r\n"));
}

/* reply_<name> accepts each override a mail admin would write. */
typedef struct {
    const char *name;
    const char *line;
    reply_id_t id;
    int code;
    const char *xcode, *text;
} reply_override_row_t;

static const reply_override_row_t reply_override_rows[] = {
    { "reply_rcpt_unknown override", "reply_rcpt_unknown = 550 5.1.1 <{inbox}>: recipient unknown", REPLY_RCPT_UNKNOWN,
      550, "5.1.1", "<{inbox}>: recipient unknown" },
    { "reply_spoof softened to 4xx", "reply_spoof = 450 4.7.1 authenticate first", REPLY_SPOOF, 450, "4.7.1",
      "authenticate first" },
    { "reply_backend with 3-digit detail", "reply_backend = 421 4.4.315 backend down", REPLY_BACKEND, 421,
      "4.4.315", "backend down" },
    { "reply_malformed", "reply_malformed = 501 5.1.3 bad address syntax", REPLY_MALFORMED, 501, "5.1.3",
      "bad address syntax" },
    { "reply_sender_inactive keeps inner spaces", "reply_sender_inactive = 550 5.7.1 {inbox}  is   {status}",
      REPLY_SENDER_INACTIVE, 550, "5.7.1", "{inbox}  is   {status}" },
};

static void
test_reply_override(void **state)
{
    const reply_override_row_t *row = *state;
    char err[256] = "";
    pi_config_t *cfg = config_parse_text(row->line, "reply.conf", err, sizeof(err));
    if (cfg == NULL)
        fail_msg("refused: %s", err);
    assert_int_equal(cfg->replies[row->id].code, row->code);
    assert_string_equal(cfg->replies[row->id].xcode, row->xcode);
    assert_string_equal(cfg->replies[row->id].text, row->text);
    config_free(cfg);
}

/* ---- config_load ------------------------------------------------------------------ */

/* Writes len bytes to a fresh temp file; returns its path (static buffer). */
static const char *
write_temp(const void *data, size_t len)
{
    static char path[64];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/test_config.XXXXXX", tmpdir && strlen(tmpdir) < 40 ? tmpdir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    return path;
}

static void
test_load_valid_file(void **state)
{
    char err[256] = "";
    const char *path = write_temp(valid_text, strlen(valid_text));
    pi_config_t *cfg = config_load(path, err, sizeof(err));
    unlink(path);
    if (cfg == NULL)
        fail_msg("refused: %s", err);
    assert_int_equal(cfg->backend_timeout_ms, 750);
    assert_int_equal(cfg->replies[REPLY_BURST].code, 452);
    config_free(cfg);
}

static void
test_load_error_names_path(void **state)
{
    static const char text[] = "log_level = info\nbogus = 1\n";
    char err[256] = "";
    const char *path = write_temp(text, sizeof(text) - 1);
    pi_config_t *cfg = config_load(path, err, sizeof(err));
    char where[80];
    snprintf(where, sizeof(where), "%s:2:", path);
    unlink(path);
    assert_null(cfg);
    if (strstr(err, where) == NULL || strstr(err, "bogus") == NULL)
        fail_msg("error \"%s\" does not name %s and bogus", err, where);
}

/* A NUL would silently end the text early; the file is refused instead. */
static void
test_load_nul_byte(void **state)
{
    static const char text[] = "log_level = info\nbackend_pool_size = 4\0\nbackend_pool_size = 0x\n";
    char err[256] = "";
    const char *path = write_temp(text, sizeof(text) - 1);
    pi_config_t *cfg = config_load(path, err, sizeof(err));
    unlink(path);
    assert_null(cfg);
    assert_non_null(strstr(err, "NUL"));
    assert_non_null(strstr(err, "test_config."));
}

static void
test_load_missing_file(void **state)
{
    char err[256] = "";
    pi_config_t *cfg = config_load("/nonexistent/postinbox/postinbox.conf", err, sizeof(err));
    assert_null(cfg);
    assert_non_null(strstr(err, "/nonexistent/postinbox/postinbox.conf"));
    assert_non_null(strstr(err, "No such file"));
}

/* An error text is cut to the caller's buffer, never overflowing it. */
static void
test_error_truncated_to_buffer(void **state)
{
    char err[16];
    memset(err, 'Z', sizeof(err));
    pi_config_t *cfg = config_parse_text("no_such_key_with_a_long_name = 1\n", "a-rather-long-file-name.conf", err, 12);
    assert_null(cfg);
    assert_int_equal(strlen(err), 11);
    assert_int_equal(err[12], 'Z');
}

/* The commented defaults config_print_defaults writes (postinbox.conf.example)
 * parse back, once uncommented, to exactly the built-in defaults. */
static void
test_print_defaults_round_trip(void **state)
{
    char *printed = NULL, *uncommented, err[256] = "";
    size_t len = 0;
    FILE *fp = open_memstream(&printed, &len);
    assert_non_null(fp);
    config_print_defaults(fp);
    assert_int_equal(fclose(fp), 0);

    /* "#key = value" lines become settings; "# help" lines stay comments. */
    uncommented = calloc(1, len + 1);
    assert_non_null(uncommented);
    size_t o = 0;
    int settings = 0;
    for (const char *p = printed; *p;) {
        if (p[0] == '#' && p[1] != ' ' && p[1] != '\n') {
            p++;
            settings++;
        }
        while (*p && *p != '\n')
            uncommented[o++] = *p++;
        if (*p)
            uncommented[o++] = *p++;
    }
    size_t nkeys = 0;
    (void)config_keys(&nkeys);
    assert_true(nkeys >= 76);
    assert_int_equal(settings, (int)nkeys + REPLY_COUNT);

    pi_config_t *cfg = config_parse_text(uncommented, "printed.conf", err, sizeof(err));
    if (cfg == NULL)
        fail_msg("printed defaults refused: %s", err);
    pi_config_t *def = config_defaults();
    assert_string_equal(cfg->database, def->database);
    assert_int_equal(cidr_list_count(cfg->trusted_networks), cidr_list_count(def->trusted_networks));
    assert_int_equal(cfg->backend_timeout_ms, def->backend_timeout_ms);
    assert_int_equal(cfg->record_gather_us, def->record_gather_us);
    assert_int_equal(cfg->log_level, def->log_level);
    assert_string_equal(cfg->postfix_log, "");
    assert_string_equal(cfg->postfix_log_state, def->postfix_log_state);
    assert_int_equal(cfg->deferred_events, DEFERRED_EVENTS_FIRST);
    assert_true(cfg->suspend_bounce_rate == def->suspend_bounce_rate);
    assert_true(cfg->suspend_complaint_rate == def->suspend_complaint_rate);
    assert_int_equal(cfg->suspend_window_ms, def->suspend_window_ms);
    assert_int_equal(cfg->suspend_min_sends, def->suspend_min_sends);
    assert_string_equal(cfg->api_submission, def->api_submission);
    assert_int_equal(cfg->api_submission_timeout_ms, def->api_submission_timeout_ms);
    assert_int_equal(cfg->http_request_timeout_ms, def->http_request_timeout_ms);
    assert_int_equal(cfg->http_max_connections_per_ip, def->http_max_connections_per_ip);
    assert_string_equal(cfg->api_helo, def->api_helo);
    assert_string_equal(cfg->redis, def->redis);
    assert_string_equal(cfg->redis_password_file, "");
    assert_int_equal(cfg->redis_wait_replicas, 0);
    for (int r = 0; r < REPLY_COUNT; r++) {
        assert_int_equal(cfg->replies[r].code, def->replies[r].code);
        assert_string_equal(cfg->replies[r].xcode, def->replies[r].xcode);
        assert_string_equal(cfg->replies[r].text, def->replies[r].text);
    }
    config_free(def);
    config_free(cfg);
    free(uncommented);
    free(printed);
}

/* ---- the redis key (lib/util/redis_addr) ------------------------------------------ */

typedef struct {
    const char *name;
    const char *spec;
    const char *host;
    int port;
    const char *user, *password; /* password NULL: none */
    const char *described;
} redis_form_row_t;

static const redis_form_row_t redis_form_rows[] = {
    { "redis: the old host:port", "127.0.0.1:6379", "127.0.0.1", 6379, "", NULL, "127.0.0.1:6379" },
    { "redis: the old host name:port", "redis.internal:6380", "redis.internal", 6380, "", NULL,
      "redis.internal:6380" },
    { "redis: the old unix:/path", "unix:/run/redis/redis.sock", "/run/redis/redis.sock", 0, "", NULL,
      "/run/redis/redis.sock" },
    { "redis: URL without credentials, default port", "redis://10.0.0.5", "10.0.0.5", 6379, "", NULL,
      "10.0.0.5:6379" },
    { "redis: URL with an ACL user and password", "redis://postinbox:s3cret@127.0.0.1:6390", "127.0.0.1", 6390,
      "postinbox", "s3cret", "127.0.0.1:6390 as user postinbox" },
    { "redis: URL with a password only (requirepass)", "redis://:s3cret@db.example.net:6379", "db.example.net",
      6379, "", "s3cret", "db.example.net:6379 as the default user" },
    { "redis: URL with a user only (password from the file)", "redis://postinbox@[::1]:7000", "::1", 7000,
      "postinbox", NULL, "[::1]:7000" },
    { "redis: percent-decoded user and password", "redis://pi%2Duser:p%3Aa%40s%2Fs%25w%C3%B6rd@h:1", "h", 1,
      "pi-user", "p:a@s/s%w\xc3\xb6rd", "h:1 as user pi-user" },
    { "redis: an unencoded '@' and '/' in the password still work", "redis://u:a@b/c@host:2", "host", 2, "u",
      "a@b/c", "host:2 as user u" },
    { "redis: unix URL without credentials", "unix:///run/redis.sock", "/run/redis.sock", 0, "", NULL,
      "/run/redis.sock" },
    { "redis: unix URL with an ACL user and password", "unix://postinbox:pw%40x@/run/redis.sock",
      "/run/redis.sock", 0, "postinbox", "pw@x", "/run/redis.sock as user postinbox" },
    { "redis: unix URL with a password only", "unix://:pw@/var/run/r.sock", "/var/run/r.sock", 0, "", "pw",
      "/var/run/r.sock as the default user" },
    { "redis: sentinel, one sentinel, default port", "sentinel:mymaster@10.0.0.1", "", 0, "", NULL,
      "master mymaster of sentinels 10.0.0.1:26379" },
    { "redis: sentinel, three sentinels, user and password", "sentinel:postinbox:s%40cret@pi-main@a:26380,b,[::1]:7",
      "", 0, "postinbox", "s@cret", "master pi-main of sentinels a:26380,b:26379,[::1]:7 as user postinbox" },
    { "redis: sentinel, a user alone (password from the file)", "sentinel:postinbox@m.1@127.0.0.1:26379", "", 0,
      "postinbox", NULL, "master m.1 of sentinels 127.0.0.1:26379" },
};

static void
test_redis_form(void **state)
{
    const redis_form_row_t *row = *state;
    redis_addr_t addr;
    char err[256] = "", described[400];
    if (redis_addr_parse(row->spec, &addr, err, sizeof(err)) != 0)
        fail_msg("%s refused: %s", row->spec, err);
    assert_string_equal(addr.host, row->host);
    assert_int_equal(addr.port, row->port);
    assert_string_equal(addr.user, row->user);
    assert_int_equal(addr.has_password, row->password != NULL);
    if (row->password)
        assert_string_equal(addr.password, row->password);
    redis_addr_describe(&addr, described, sizeof(described));
    assert_string_equal(described, row->described);
    /* the config takes it too (a user alone needs redis_password_file) */
    char text[512];
    snprintf(text, sizeof(text), "redis = %s\n%s", row->spec,
             row->user[0] && !row->password ? "redis_password_file = /etc/postinbox/redis.secret\n" : "");
    pi_config_t *cfg = config_parse_text(text, "redis.conf", err, sizeof(err));
    if (cfg == NULL)
        fail_msg("config refused %s: %s", row->spec, err);
    assert_string_equal(cfg->redis, row->spec);
    config_free(cfg);
    redis_addr_clear(&addr);
    assert_int_equal(addr.has_password, 0);
    assert_string_equal(addr.password, "");
}

/* 64 and 256 letters: a host one byte over redis_addr_t's host[256]. */
#define HOST64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HOST256 HOST64 HOST64 HOST64 HOST64
#define DIGITS64 "1111111111111111111111111111111111111111111111111111111111111111"

/* Bad values: the error names the key and the problem, never the password
 * ("hunter2" in every row that has one). */
static const config_error_row_t redis_error_rows[] = {
    /* found by tests/fuzz/fuzz_config: 256..299 bytes of host overran host[256] */
    { "redis: a host of 256 bytes", "redis = redis://u:hunter2@" HOST256 ":1\n", { "redis", "host is too long" } },
    { "redis: an [IPv6] host of 260 bytes", "redis = redis://u:hunter2@[" DIGITS64 DIGITS64 DIGITS64 DIGITS64 "1111]:1\n",
      { "redis", "host is too long" } },
    { "redis: no port", "redis = 127.0.0.1\n", { "bad.conf:1:", "redis", "is not one of" } },
    { "redis: port 0", "redis = redis://u:hunter2@127.0.0.1:0\n", { "bad.conf:1:", "not 1..65535", "u:***@" } },
    { "redis: port too big", "redis = redis://:hunter2@h:65536\n",
      { "bad.conf:1:", "not 1..65535", "\"redis://:***@h" } },
    { "redis: port not a number", "redis = redis://u:hunter2@h:63x9\n", { "redis", "not 1..65535" } },
    { "redis: no host", "redis = redis://u:hunter2@:6379\n", { "redis", "has no host" } },
    { "redis: bad host", "redis = redis://u:hunter2@ho st:6379\n", { "redis", "bad host name" } },
    { "redis: bad IPv6 host", "redis = redis://u:hunter2@[::g]:6379\n", { "redis", "[IPv6]" } },
    { "redis: bad percent escape in the password", "redis = redis://u:hunter2%4@h:1\n",
      { "redis", "password has a '%' not followed by two hex digits" } },
    { "redis: percent escape at the very end", "redis = redis://u:hunter2%@h:1\n", { "redis", "two hex digits" } },
    { "redis: NUL in the password", "redis = redis://u:hunter2%00@h:1\n", { "redis", "password holds a NUL" } },
    { "redis: CR in the password", "redis = redis://u:hunter2%0D@h:1\n", { "redis", "control byte" } },
    { "redis: bad escape in the user", "redis = redis://u%zz:hunter2@h:1\n", { "redis", "user has a '%'" } },
    { "redis: space in the user", "redis = redis://a%20b:hunter2@h:1\n", { "redis", "user holds a space" } },
    { "redis: empty password", "redis = redis://u:@h:1\n", { "redis", "empty password" } },
    { "redis: '@' with nothing before it", "redis = redis://@h:1\n", { "redis", "neither user nor password" } },
    { "redis: a database path", "redis = redis://u:hunter2@h:6379/2\n", { "redis", "database 0", "u:***@h" } },
    { "redis: a query", "redis = redis://u:hunter2@h:6379?db=1\n", { "redis", "query" } },
    { "redis: TLS", "redis = rediss://u:hunter2@h:6380\n", { "redis", "TLS", "rediss://u:***@h" } },
    { "redis: credentials in the plain form", "redis = u:hunter2@h:6379\n",
      { "redis", "redis:// or unix://", "\"***@h:6379\"" } },
    { "redis: unix URL with a relative path", "redis = unix://u:hunter2@run/redis.sock\n",
      { "redis", "absolute socket path" } },
    { "redis: unix URL without a path", "redis = unix://u:hunter2@\n", { "redis", "absolute socket path" } },
    { "redis: the old unix form with a relative path", "redis = unix:redis.sock\n", { "redis", "unix:/" } },
    { "redis: sentinel without a master", "redis = sentinel:h:26379\n", { "redis", "MASTER@HOST" } },
    { "redis: sentinel without sentinels", "redis = sentinel:u:hunter2@m@\n", { "redis", "MASTER@HOST", "u:***@m@" } },
    { "redis: sentinel, empty master", "redis = sentinel:u:hunter2@@h\n", { "redis", "no master name" } },
    { "redis: sentinel, bad master name", "redis = sentinel:my master@h\n", { "redis", "bad master name" } },
    { "redis: sentinel, an empty entry", "redis = sentinel:m@a,,b\n", { "redis", "empty sentinel" } },
    { "redis: sentinel, a bad port", "redis = sentinel:u:hunter2@m@a:0\n", { "redis", "not 1..65535" } },
    { "redis: sentinel, nine sentinels", "redis = sentinel:m@a,b,c,d,e,f,g,h,i\n", { "redis", "more than 8" } },
    { "redis: a user without any password", "redis = redis://postinbox@h:6379\n",
      { "bad.conf", "user postinbox", "redis_password_file" } },
    { "redis: a password twice", "redis = redis://postinbox:hunter2@h:6379\nredis_password_file = /x\n",
      { "bad.conf", "give one of them" } },
    { "redis: a value without its key is not repeated", "redis redis://u:hunter2=x@h:1\n",
      { "bad.conf:1:", "unknown key" } },
};

static void
test_redis_error(void **state)
{
    const config_error_row_t *row = *state;
    char err[256] = "";
    pi_config_t *cfg = config_parse_text(row->text, "bad.conf", err, sizeof(err));
    if (cfg != NULL) {
        config_free(cfg);
        fail_msg("accepted: %s", row->text);
    }
    for (int i = 0; i < 3 && row->want[i]; i++) {
        if (strstr(err, row->want[i]) == NULL)
            fail_msg("error \"%s\" lacks \"%s\"", err, row->want[i]);
    }
    if (strstr(err, "hunter2") != NULL)
        fail_msg("error \"%s\" shows the password", err);
    assert_null(strpbrk(err, "\r\n"));
}

/* redis_addr_redact: what a message may show of the value. */
static void
test_redis_redact(void **state)
{
    static const struct {
        const char *spec, *shown;
    } rows[] = {
        { "127.0.0.1:6379", "127.0.0.1:6379" },
        { "unix:/run/redis.sock", "unix:/run/redis.sock" },
        { "redis://h:1", "redis://h:1" },
        { "redis://postinbox@h:1", "redis://postinbox@h:1" },
        { "redis://postinbox:hunter2@h:1", "redis://postinbox:***@h:1" },
        { "redis://:hunter2@h:1", "redis://:***@h:1" },
        { "redis://u:hun@ter/2@h:1", "redis://u:***@h:1" },
        { "unix://u:hunter2@/run/r.sock", "unix://u:***@/run/r.sock" },
        { "unix:///run/a:b@c", "unix:///run/a:b@c" },
        { "u:hunter2@h:1", "***@h:1" },
        { "rediss://u:hunter2@h:1", "rediss://u:***@h:1" },
        { "sentinel:m@a,b", "sentinel:m@a,b" },
        { "sentinel:u@m@a", "sentinel:u@m@a" },
        { "sentinel:u:hunter2@m@a:1,b", "sentinel:u:***@m@a:1,b" },
        { "sentinel::hun@ter2@m@a", "sentinel::***@m@a" },
    };
    (void)state;
    for (size_t i = 0; i < UNIT_ROWS(rows); i++) {
        char out[128];
        redis_addr_redact(rows[i].spec, out, sizeof(out));
        if (strcmp(out, rows[i].shown) != 0)
            fail_msg("%s shown as %s, not %s", rows[i].spec, out, rows[i].shown);
    }
}

/* A password file alone (requirepass, the old host:port form) is fine. */
static void
test_redis_password_file(void **state)
{
    char err[256] = "";
    (void)state;
    pi_config_t *cfg = config_parse_text("redis = 127.0.0.1:6379\nredis_password_file = /etc/postinbox/redis.secret\n",
                                         "redis.conf", err, sizeof(err));
    if (cfg == NULL)
        fail_msg("refused: %s", err);
    assert_string_equal(cfg->redis_password_file, "/etc/postinbox/redis.secret");
    config_free(cfg);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add(&suite, "defaults", test_defaults, NULL);
    unit_add(&suite, "only comments and blank lines give the defaults", test_empty_text_is_defaults, NULL);
    unit_add(&suite, "a valid file sets every key", test_parse_valid, NULL);
    unit_add(&suite, "a repeated key: the last line wins", test_parse_repeated_key, NULL);
    unit_add(&suite, "int bounds are inclusive", test_parse_int_bounds, NULL);
    unit_add(&suite, "policyd keys: defaults, durations, lists, bools, networks", test_policyd_keys, NULL);
    unit_add(&suite, "suspend_* keys and the policy document", test_suspend_keys, NULL);
    unit_add(&suite, "api_submission, api_submission_timeout, api_helo", test_api_submission_keys, NULL);
    unit_add(&suite, "tracking keys: defaults, the base URL's final '/' dropped", test_tracking_keys, NULL);
    unit_add_rows(&suite, test_percent, percent_rows, sizeof(percent_rows[0]), UNIT_ROWS(percent_rows));
    unit_add_rows(&suite, test_config_error, config_error_rows, sizeof(config_error_rows[0]),
                  UNIT_ROWS(config_error_rows));
    unit_add_rows(&suite, test_reply_override, reply_override_rows, sizeof(reply_override_rows[0]),
                  UNIT_ROWS(reply_override_rows));
    unit_add_rows(&suite, test_redis_form, redis_form_rows, sizeof(redis_form_rows[0]), UNIT_ROWS(redis_form_rows));
    unit_add_rows(&suite, test_redis_error, redis_error_rows, sizeof(redis_error_rows[0]),
                  UNIT_ROWS(redis_error_rows));
    unit_add(&suite, "redis: the password is masked in any repeated value", test_redis_redact, NULL);
    unit_add(&suite, "redis: redis_password_file with the plain form", test_redis_password_file, NULL);
    unit_add(&suite, "config_load reads a file", test_load_valid_file, NULL);
    unit_add(&suite, "config_load errors name the path and line", test_load_error_names_path, NULL);
    unit_add(&suite, "config_load refuses a file with a NUL byte", test_load_nul_byte, NULL);
    unit_add(&suite, "config_load of a missing file", test_load_missing_file, NULL);
    unit_add(&suite, "error text is truncated to the buffer", test_error_truncated_to_buffer, NULL);
    unit_add(&suite, "printed defaults parse back to the defaults", test_print_defaults_round_trip, NULL);
    return unit_run("config", &suite, NULL, NULL);
}
