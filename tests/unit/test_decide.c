/*
 * test_decide.c -- the SMTP table of DESIGN.md, one row per case: what a
 * client is answered at MAIL and RCPT, for each inbox state, direction,
 * grant, limiter verdict and backend failure.
 */
#include "unit.h"

#include <string.h>

#include "decide.h"

typedef enum {
    AT_SENDER,      /* decide_sender (MAIL) */
    AT_RCPT,        /* decide_recipient (RCPT) */
    AT_LIMIT,       /* decide_limit (RCPT, outbound) */
    AT_SUPPRESSED,  /* decide_suppressed (RCPT, outbound; the recipient is SUPPRESSED_RCPT) */
    AT_BACKEND,     /* decide_backend_error */
    AT_RECORD,      /* decide_record_failed (end of message) */
    AT_MALFORMED    /* decide_malformed */
} stage_t;

enum { NOT_FOUND = 0, FOUND = 1 };
enum { FOREIGN = 0, MANAGED = 1 };
enum { INBOUND = 0, OUTBOUND = 1 };
enum { NO_AUTH = 0, AUTH = 1 };
enum { NO_LOGIN = -1, NOT_GRANTED = 0, GRANTED = 1 };

typedef struct {
    const char *name;
    stage_t stage;
    const char *config;         /* extra postinbox.conf lines, or NULL */
    /* the transaction */
    int outbound, authenticated, sender_null;
    const char *address;        /* envelope address as normalised */
    /* what the store found */
    int managed, found;
    inbox_status_t status;
    int granted;
    /* what the limiter said */
    limit_verdict_t verdict;
    long retry_ms, reset_epoch;
    /* expected */
    decision_action_t action;
    int code;
    const char *xcode;
    const char *reason;
    const char *text[2];        /* substrings of the reply text */
    /* AT_SUPPRESSED: the suppression row */
    const char *sup_source, *sup_dsn;
} decide_row_t;

#define BOB "bob@example.com"
#define SUPPRESSED_RCPT "gone@remote.example"
#define CONTINUE DECISION_CONTINUE, 0, ""
#define REJECT(code, x) DECISION_REJECT, code, x
#define TEMPFAIL(code, x) DECISION_TEMPFAIL, code, x

/* 2024-03-02T00:00:00Z, the reset after a day's cap on 2024-03-01 */
#define RESET_EPOCH 1709337600L

static const decide_row_t decide_rows[] = {
    /* ---- RCPT: recipient inbox status, either direction ---- */
    { "RCPT active inbox: continue", AT_RCPT, NULL, INBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE,
      NO_LOGIN, LIMIT_OK, 0, 0, CONTINUE, "active", { NULL }, NULL, NULL },
    { "RCPT disabled inbox: 550 5.2.1", AT_RCPT, NULL, INBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND, INBOX_DISABLED,
      NO_LOGIN, LIMIT_OK, 0, 0, REJECT(550, "5.2.1"), "disabled", { BOB, "disabled" }, NULL, NULL },
    { "RCPT suspended inbox: 450 4.2.1", AT_RCPT, NULL, INBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND, INBOX_SUSPENDED,
      NO_LOGIN, LIMIT_OK, 0, 0, TEMPFAIL(450, "4.2.1"), "suspended", { BOB, "suspended" }, NULL, NULL },
    { "RCPT suspended inbox, outbound mail: 450 4.2.1", AT_RCPT, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_SUSPENDED, NO_LOGIN, LIMIT_OK, 0, 0, TEMPFAIL(450, "4.2.1"), "suspended", { BOB }, NULL, NULL },
    { "RCPT unknown on a managed domain: 550 5.1.1", AT_RCPT, NULL, INBOUND, NO_AUTH, 0, "nobody@example.com",
      MANAGED, NOT_FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, REJECT(550, "5.1.1"), "unknown",
      { "nobody@example.com" }, NULL, NULL },
    { "RCPT unknown on the sandbox domain: 550 5.1.1", AT_RCPT, NULL, INBOUND, NO_AUTH, 0,
      "ghost--ab12@sandbox.postinbox.test", MANAGED, NOT_FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0,
      REJECT(550, "5.1.1"), "unknown", { "ghost--ab12@sandbox.postinbox.test" }, NULL, NULL },
    { "RCPT on a foreign domain: continue, untouched", AT_RCPT, NULL, OUTBOUND, AUTH, 0, "alice@elsewhere.example",
      FOREIGN, NOT_FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, CONTINUE, "foreign", { NULL }, NULL, NULL },

    /* ---- MAIL: outbound (authenticated or trusted network) ---- */
    { "MAIL auth, granted, active: continue", AT_SENDER, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE,
      GRANTED, LIMIT_OK, 0, 0, CONTINUE, "sender_ok", { NULL }, NULL, NULL },
    { "MAIL auth, not granted: 553 5.7.1", AT_SENDER, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE,
      NOT_GRANTED, LIMIT_OK, 0, 0, REJECT(553, "5.7.1"), "not_granted", { BOB, "login may not send" }, NULL, NULL },
    { "MAIL auth, not granted, disabled: 553, status not revealed", AT_SENDER, NULL, OUTBOUND, AUTH, 0, BOB,
      MANAGED, FOUND, INBOX_DISABLED, NOT_GRANTED, LIMIT_OK, 0, 0, REJECT(553, "5.7.1"), "not_granted", { BOB }, NULL, NULL },
    { "MAIL auth, granted, disabled: 550 5.7.1", AT_SENDER, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_DISABLED, GRANTED, LIMIT_OK, 0, 0, REJECT(550, "5.7.1"), "sender_disabled", { BOB, "disabled" }, NULL, NULL },
    { "MAIL auth, granted, suspended: 550 5.7.1", AT_SENDER, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_SUSPENDED, GRANTED, LIMIT_OK, 0, 0, REJECT(550, "5.7.1"), "sender_suspended", { BOB, "suspended" }, NULL, NULL },
    { "MAIL auth, sender not an inbox: 553 5.7.1", AT_SENDER, NULL, OUTBOUND, AUTH, 0, "carol@example.com", MANAGED,
      NOT_FOUND, INBOX_ACTIVE, NOT_GRANTED, LIMIT_OK, 0, 0, REJECT(553, "5.7.1"), "not_an_inbox",
      { "carol@example.com" }, NULL, NULL },
    { "MAIL auth, sender on a foreign domain: 553 5.7.1", AT_SENDER, NULL, OUTBOUND, AUTH, 0, "eve@gmail.example",
      FOREIGN, NOT_FOUND, INBOX_ACTIVE, NOT_GRANTED, LIMIT_OK, 0, 0, REJECT(553, "5.7.1"), "not_an_inbox",
      { "eve@gmail.example" }, NULL, NULL },
    { "MAIL auth, null sender: 553 5.7.1", AT_SENDER, NULL, OUTBOUND, AUTH, 1, "", FOREIGN, NOT_FOUND, INBOX_ACTIVE,
      NOT_GRANTED, LIMIT_OK, 0, 0, REJECT(553, "5.7.1"), "null_sender", { "<>" }, NULL, NULL },
    { "MAIL trusted network, active, no grant needed: continue", AT_SENDER, NULL, OUTBOUND, NO_AUTH, 0, BOB, MANAGED,
      FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, CONTINUE, "sender_ok", { NULL }, NULL, NULL },
    { "MAIL trusted network, disabled: 550 5.7.1", AT_SENDER, NULL, OUTBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_DISABLED, NO_LOGIN, LIMIT_OK, 0, 0, REJECT(550, "5.7.1"), "sender_disabled", { BOB, "disabled" }, NULL, NULL },
    { "MAIL trusted network, suspended: 550 5.7.1", AT_SENDER, NULL, OUTBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_SUSPENDED, NO_LOGIN, LIMIT_OK, 0, 0, REJECT(550, "5.7.1"), "sender_suspended", { BOB, "suspended" }, NULL, NULL },
    { "MAIL trusted network, not an inbox: 553 5.7.1", AT_SENDER, NULL, OUTBOUND, NO_AUTH, 0, "carol@example.com",
      MANAGED, NOT_FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, REJECT(553, "5.7.1"), "not_an_inbox",
      { "carol@example.com" }, NULL, NULL },

    /* ---- MAIL: inbound (neither authenticated nor trusted) ---- */
    { "MAIL unauthenticated from an inbox address (spoof): 550 5.7.1", AT_SENDER, NULL, INBOUND, NO_AUTH, 0, BOB,
      MANAGED, FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, REJECT(550, "5.7.1"), "spoof",
      { BOB, "authentication" }, NULL, NULL },
    { "MAIL unauthenticated from a disabled inbox address: 550 5.7.1 spoof", AT_SENDER, NULL, INBOUND, NO_AUTH, 0,
      BOB, MANAGED, FOUND, INBOX_DISABLED, NO_LOGIN, LIMIT_OK, 0, 0, REJECT(550, "5.7.1"), "spoof", { BOB }, NULL, NULL },
    { "MAIL unauthenticated spoof with unauthenticated_managed_sender=accept: continue", AT_SENDER,
      "unauthenticated_managed_sender = accept", INBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE, NO_LOGIN,
      LIMIT_OK, 0, 0, CONTINUE, "inbound", { NULL }, NULL, NULL },
    { "MAIL inbound from a foreign address: continue", AT_SENDER, NULL, INBOUND, NO_AUTH, 0, "alice@elsewhere.example",
      FOREIGN, NOT_FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, CONTINUE, "inbound", { NULL }, NULL, NULL },
    { "MAIL inbound null sender (bounce): continue", AT_SENDER, NULL, INBOUND, NO_AUTH, 1, "", FOREIGN, NOT_FOUND,
      INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, CONTINUE, "inbound", { NULL }, NULL, NULL },

    /* ---- RCPT: the limiter's verdict for outbound mail ---- */
    { "LIMIT ok: continue", AT_LIMIT, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE, GRANTED, LIMIT_OK,
      0, RESET_EPOCH, CONTINUE, "reserved", { NULL }, NULL, NULL },
    { "LIMIT burst, 12.001 s: 451 4.7.1 retry in 13 s", AT_LIMIT, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_ACTIVE, GRANTED, LIMIT_BURST, 12001, RESET_EPOCH, TEMPFAIL(451, "4.7.1"), "burst", { BOB, "retry in 13 s" }, NULL, NULL },
    { "LIMIT burst, 12.000 s: retry in 12 s", AT_LIMIT, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE,
      GRANTED, LIMIT_BURST, 12000, RESET_EPOCH, TEMPFAIL(451, "4.7.1"), "burst", { BOB, "retry in 12 s" }, NULL, NULL },
    { "LIMIT burst, 1 ms: retry in 1 s", AT_LIMIT, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE,
      GRANTED, LIMIT_BURST, 1, RESET_EPOCH, TEMPFAIL(451, "4.7.1"), "burst", { BOB, "retry in 1 s" }, NULL, NULL },
    { "LIMIT burst, 0 ms: retry in 1 s, never 0", AT_LIMIT, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_ACTIVE, GRANTED, LIMIT_BURST, 0, RESET_EPOCH, TEMPFAIL(451, "4.7.1"), "burst", { BOB, "retry in 1 s" }, NULL, NULL },
    { "LIMIT burst, 60 s: retry in 60 s", AT_LIMIT, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE,
      GRANTED, LIMIT_BURST, 59999, RESET_EPOCH, TEMPFAIL(451, "4.7.1"), "burst", { BOB, "retry in 60 s" }, NULL, NULL },
    { "LIMIT daily: 451 4.7.1 with the reset time in UTC", AT_LIMIT, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_ACTIVE, GRANTED, LIMIT_DAILY, 0, RESET_EPOCH, TEMPFAIL(451, "4.7.1"), "daily",
      { BOB, "resets at 2024-03-02T00:00:00Z" }, NULL, NULL },
    { "LIMIT daily, trusted network sender: 451 4.7.1", AT_LIMIT, NULL, OUTBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_ACTIVE, NO_LOGIN, LIMIT_DAILY, 0, 1735689600L, TEMPFAIL(451, "4.7.1"), "daily",
      { BOB, "2025-01-01T00:00:00Z" }, NULL, NULL },

    /* ---- RCPT: the recipient is on the sender inbox's suppression list ---- */
    { "SUPPRESSED after a hard bounce: 550 5.1.1 naming the DSN and date", AT_SUPPRESSED, NULL, OUTBOUND, AUTH, 0,
      BOB, MANAGED, FOUND, INBOX_ACTIVE, GRANTED, LIMIT_OK, 0, 0, REJECT(550, "5.1.1"), "suppressed",
      { "<" SUPPRESSED_RCPT "> is on the suppression list of " BOB, "hard bounce 5.1.1 (2026-11-22)" }, "bounce",
      "5.1.1" },
    { "SUPPRESSED after a complaint: 550 5.1.1", AT_SUPPRESSED, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_ACTIVE, GRANTED, LIMIT_OK, 0, 0, REJECT(550, "5.1.1"), "suppressed",
      { SUPPRESSED_RCPT, ": complaint (2026-11-22)" }, "complaint", "" },
    { "SUPPRESSED by an admin: 550 5.1.1", AT_SUPPRESSED, NULL, OUTBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND,
      INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, REJECT(550, "5.1.1"), "suppressed",
      { SUPPRESSED_RCPT, "added by an administrator (2026-11-22)" }, "manual", "" },
    { "SUPPRESSED after a one-click unsubscribe: 550 5.1.1", AT_SUPPRESSED, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED,
      FOUND, INBOX_ACTIVE, GRANTED, LIMIT_OK, 0, 0, REJECT(550, "5.1.1"), "suppressed",
      { SUPPRESSED_RCPT, ": unsubscribed (2026-11-22)" }, "unsubscribe", "" },
    { "SUPPRESSED, bounce without a DSN", AT_SUPPRESSED, NULL, OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE,
      GRANTED, LIMIT_OK, 0, 0, REJECT(550, "5.1.1"), "suppressed", { ": hard bounce (2026-11-22)" }, "bounce", "" },
    { "reply_rcpt_suppressed = 450 4.7.1: tempfail", AT_SUPPRESSED,
      "reply_rcpt_suppressed = 450 4.7.1 not now: {recipient} via {inbox} ({reason})", OUTBOUND, AUTH, 0, BOB,
      MANAGED, FOUND, INBOX_ACTIVE, GRANTED, LIMIT_OK, 0, 0, TEMPFAIL(450, "4.7.1"), "suppressed",
      { "not now: " SUPPRESSED_RCPT " via " BOB " (hard bounce 5.1.1 (2026-11-22))" }, "bounce", "5.1.1" },

    /* ---- backend failures ---- */
    { "backend error: 451 4.3.0", AT_BACKEND, NULL, INBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE, NO_LOGIN,
      LIMIT_OK, 0, 0, TEMPFAIL(451, "4.3.0"), "backend", { "try again later" }, NULL, NULL },
    { "backend error with on_backend_error=accept: continue", AT_BACKEND, "on_backend_error = accept", INBOUND,
      NO_AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, CONTINUE, "backend_error_accepted",
      { NULL }, NULL, NULL },
    { "record failed: 451 4.3.0", AT_RECORD, NULL, INBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE, NO_LOGIN,
      LIMIT_OK, 0, 0, TEMPFAIL(451, "4.3.0"), "backend", { "try again later" }, NULL, NULL },
    { "record failed with on_backend_error=accept: still 451 4.3.0", AT_RECORD, "on_backend_error = accept",
      INBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, TEMPFAIL(451, "4.3.0"),
      "backend", { NULL }, NULL, NULL },
    { "malformed address: 553 5.1.3", AT_MALFORMED, NULL, INBOUND, NO_AUTH, 0, "", FOREIGN, NOT_FOUND, INBOX_ACTIVE,
      NO_LOGIN, LIMIT_OK, 0, 0, REJECT(553, "5.1.3"), "malformed", { "malformed address" }, NULL, NULL },

    /* ---- configured replies: the code's class decides reject or tempfail ---- */
    { "reply_rcpt_disabled = 550 5.7.1 custom text", AT_RCPT, "reply_rcpt_disabled = 550 5.7.1 {inbox} is closed",
      INBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND, INBOX_DISABLED, NO_LOGIN, LIMIT_OK, 0, 0, REJECT(550, "5.7.1"),
      "disabled", { BOB " is closed" }, NULL, NULL },
    { "reply_rcpt_disabled softened to 450: tempfail", AT_RCPT, "reply_rcpt_disabled = 450 4.2.1 later, {inbox}",
      INBOUND, NO_AUTH, 0, BOB, MANAGED, FOUND, INBOX_DISABLED, NO_LOGIN, LIMIT_OK, 0, 0, TEMPFAIL(450, "4.2.1"),
      "disabled", { "later, " BOB }, NULL, NULL },
    { "reply_burst hardened to 550: reject", AT_LIMIT, "reply_burst = 550 5.7.1 {inbox}: wait {retry}s",
      OUTBOUND, AUTH, 0, BOB, MANAGED, FOUND, INBOX_ACTIVE, GRANTED, LIMIT_BURST, 2500, 0, REJECT(550, "5.7.1"),
      "burst", { BOB ": wait 3s" }, NULL, NULL },
    { "reply_spoof = 450: tempfail", AT_SENDER, "reply_spoof = 450 4.7.1 {inbox} needs AUTH", INBOUND, NO_AUTH, 0,
      BOB, MANAGED, FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0, TEMPFAIL(450, "4.7.1"), "spoof",
      { BOB " needs AUTH" }, NULL, NULL },

    /* ---- hostile addresses never break the reply line ---- */
    { "RCPT unknown, CRLF and '%' in the address stay out of the reply", AT_RCPT, NULL, INBOUND, NO_AUTH, 0,
      "x\r\n250 2.0.0 %s%n@example.com", MANAGED, NOT_FOUND, INBOX_ACTIVE, NO_LOGIN, LIMIT_OK, 0, 0,
      REJECT(550, "5.1.1"), "unknown", { "x250 2.0.0 sn@example.com" }, NULL, NULL },
};

static pi_config_t *
row_config(const decide_row_t *row)
{
    char err[256] = "";
    pi_config_t *cfg = config_parse_text(row->config ? row->config : "", "decide.conf", err, sizeof(err));
    if (cfg == NULL)
        fail_msg("config of the row refused: %s", err);
    return cfg;
}

static void
test_decide(void **state)
{
    const decide_row_t *row = *state;
    pi_config_t *cfg = row_config(row);
    inbox_lookup_t lookup;
    limit_result_t limit;
    decision_t d;

    memset(&lookup, 0, sizeof(lookup));
    lookup.managed = row->managed;
    lookup.found = row->found;
    lookup.status = row->status;
    lookup.granted = row->granted;
    lookup.daily_limit = 250;
    lookup.burst_limit = 25;
    if (row->found) {
        snprintf(lookup.id, sizeof(lookup.id), "0b9d3a50-7f3e-4d0c-9a57-3c1f2e8b6d41");
        snprintf(lookup.address, sizeof(lookup.address), "%s", row->address);
    }
    memset(&limit, 0, sizeof(limit));
    limit.verdict = row->verdict;
    limit.retry_ms = row->retry_ms;
    limit.reset_epoch = row->reset_epoch;

    /* Garbage first: every field must be set by the decision. */
    memset(&d, 0xa5, sizeof(d));
    switch (row->stage) {
    case AT_SENDER:
        decide_sender(cfg, row->outbound, row->authenticated, row->sender_null, &lookup, row->address, &d);
        break;
    case AT_RCPT:
        decide_recipient(cfg, &lookup, row->address, &d);
        break;
    case AT_LIMIT:
        decide_limit(cfg, &lookup, &limit, &d);
        break;
    case AT_SUPPRESSED: {
        suppression_t sup;
        memset(&sup, 0, sizeof(sup));
        snprintf(sup.source, sizeof(sup.source), "%s", row->sup_source);
        snprintf(sup.dsn, sizeof(sup.dsn), "%s", row->sup_dsn);
        snprintf(sup.date, sizeof(sup.date), "2026-11-22");
        decide_suppressed(cfg, &lookup, SUPPRESSED_RCPT, &sup, &d);
        break;
    }
    case AT_BACKEND:
        decide_backend_error(cfg, row->address, &d);
        break;
    case AT_RECORD:
        decide_record_failed(cfg, row->address, &d);
        break;
    case AT_MALFORMED:
        decide_malformed(cfg, &d);
        break;
    }
    config_free(cfg);

    if (d.action != row->action)
        fail_msg("action %d, want %d (%d %s %s)", d.action, row->action, d.code, d.xcode, d.text);
    assert_non_null(d.reason);
    assert_string_equal(d.reason, row->reason);
    assert_int_equal(d.code, row->code);
    assert_string_equal(d.xcode, row->xcode);
    for (int i = 0; i < 2 && row->text[i]; i++)
        if (strstr(d.text, row->text[i]) == NULL)
            fail_msg("text \"%s\" lacks \"%s\"", d.text, row->text[i]);

    assert_non_null(memchr(d.text, '\0', sizeof(d.text)));
    if (d.action == DECISION_CONTINUE) {
        assert_string_equal(d.text, "");
        return;
    }
    /* What smfi_setreply gets: the code matching the action, a same-class
     * enhanced code, one line of text without '%'. */
    assert_int_equal(d.code / 100, d.action == DECISION_REJECT ? 5 : 4);
    assert_int_equal(d.xcode[0], '0' + d.code / 100);
    assert_true(d.text[0] != '\0');
    assert_null(strpbrk(d.text, "\r\n%"));
    /* Every reply about an inbox names it (DESIGN.md); the backend and
     * malformed replies are not about one inbox. */
    if (row->stage != AT_MALFORMED) {
        const char *named = row->sender_null ? "<>" : row->address;
        char clean[300];
        size_t o = 0;
        for (const char *p = named; *p && o + 1 < sizeof(clean); p++)
            if ((unsigned char)*p >= 0x20 && *p != 0x7f && *p != '%')
                clean[o++] = *p;
        clean[o] = '\0';
        if (strstr(d.text, clean) == NULL)
            fail_msg("text \"%s\" does not name %s", d.text, clean);
    }
}

/* The address in the reply is the canonical one from the store when the
 * inbox was found, not the client's spelling. */
static void
test_reply_names_canonical_address(void **state)
{
    pi_config_t *cfg = config_defaults();
    inbox_lookup_t lookup = { .managed = 1, .found = 1, .status = INBOX_DISABLED, .granted = 1 };
    decision_t d;
    snprintf(lookup.address, sizeof(lookup.address), "bob@example.com");
    decide_recipient(cfg, &lookup, "client-spelling@example.com", &d);
    assert_non_null(strstr(d.text, "bob@example.com"));
    assert_null(strstr(d.text, "client-spelling"));
    decide_sender(cfg, 1, 1, 0, &lookup, "client-spelling@example.com", &d);
    assert_non_null(strstr(d.text, "bob@example.com"));
    config_free(cfg);
}

/* An inbox of a domain that failed its DNS checks: sends by default;
 * with domain_dns_failed = hold, 451 4.7.0 at MAIL (after the grant and
 * status checks, which say more). */
static void
test_domain_held(void **state)
{
    char err[256];
    pi_config_t *send = config_defaults();
    pi_config_t *hold = config_parse_text("domain_dns_failed = hold\n", "hold.conf", err, sizeof(err));
    inbox_lookup_t lookup = { .managed = 1, .found = 1, .status = INBOX_ACTIVE, .granted = 1, .domain_failing = 1 };
    decision_t d;
    (void)state;
    assert_non_null(hold);
    snprintf(lookup.address, sizeof(lookup.address), "bob@example.com");
    decide_sender(send, 1, 1, 0, &lookup, "bob@example.com", &d);
    assert_int_equal(d.action, DECISION_CONTINUE);
    decide_sender(hold, 1, 1, 0, &lookup, "bob@example.com", &d);
    assert_int_equal(d.action, DECISION_TEMPFAIL);
    assert_int_equal(d.code, 451);
    assert_string_equal(d.xcode, "4.7.0");
    assert_string_equal(d.reason, "domain_dns_failed");
    assert_non_null(strstr(d.text, "bob@example.com"));
    lookup.status = INBOX_SUSPENDED; /* the inbox's own state is said first */
    decide_sender(hold, 1, 1, 0, &lookup, "bob@example.com", &d);
    assert_string_equal(d.reason, "sender_suspended");
    lookup.status = INBOX_ACTIVE;
    lookup.domain_failing = 0;
    decide_sender(hold, 1, 1, 0, &lookup, "bob@example.com", &d);
    assert_int_equal(d.action, DECISION_CONTINUE);
    config_free(send);
    config_free(hold);
}

/* A 254-character address with the longest template still fits the
 * decision text, whole. */
static void
test_long_address_fits(void **state)
{
    pi_config_t *cfg = config_defaults();
    inbox_lookup_t lookup = { .managed = 1, .found = 1, .status = INBOX_ACTIVE, .granted = 1 };
    limit_result_t limit = { .verdict = LIMIT_BURST, .retry_ms = 59000 };
    decision_t d;
    memset(lookup.address, 'a', 64);
    lookup.address[64] = '@';
    memset(lookup.address + 65, 'b', 185);
    memcpy(lookup.address + 250, ".com", 5);
    decide_limit(cfg, &lookup, &limit, &d);
    assert_int_equal(d.action, DECISION_TEMPFAIL);
    assert_non_null(strstr(d.text, lookup.address));
    assert_non_null(strstr(d.text, "retry in 59 s"));
    config_free(cfg);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_decide, decide_rows, sizeof(decide_rows[0]), UNIT_ROWS(decide_rows));
    unit_add(&suite, "reply names the canonical address", test_reply_names_canonical_address, NULL);
    unit_add(&suite, "254-character address fits the reply", test_long_address_fits, NULL);
    unit_add(&suite, "a failing domain sends, or is held (domain_dns_failed)", test_domain_held, NULL);
    return unit_run("decide", &suite, NULL, NULL);
}
