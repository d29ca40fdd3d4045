/*
 * test_check.c -- the transaction sequence (lib/core/check) against a fake
 * backend: every row is one SMTP transaction (MAIL, RCPTs, end of message
 * or abort) in one mode, with the replies it must get and what it must
 * leave behind: sends charged, records written, reservations refunded.
 * Backend failures are injected per call.  Then the sequences a table
 * cannot say: the foreign-domain cache, refunds on every way out, a
 * retried charge, the header fields kept for the record.
 */
#include "unit.h"

#include <string.h>

#include "check.h"

/* ---- the fake backend ---------------------------------------------------------------------------- */

typedef struct {
    const char *address;
    inbox_status_t status;
    int daily, burst;
    const char *granted_login;  /* the one login that may send as it */
    const char *suppressed;     /* one suppressed recipient, or NULL */
} fake_inbox_t;

static const fake_inbox_t fake_inboxes[] = {
    { "bob@acme.test", INBOX_ACTIVE, 250, 25, "alice", "gone@remote.test" },
    { "carol@acme.test", INBOX_DISABLED, 250, 25, "alice", NULL },
    { "dave@acme.test", INBOX_SUSPENDED, 250, 25, "alice", NULL },
    { "daily@acme.test", INBOX_ACTIVE, 2, 25, "alice", NULL },
    { "bursty@acme.test", INBOX_ACTIVE, 250, 1, "alice", NULL },
    { "eve@beta.test", INBOX_ACTIVE, 250, 25, "mallory", NULL },
};
#define FAKE_INBOXES UNIT_ROWS(fake_inboxes)
#define FAKE_TOKENS 64

typedef struct {
    const char *fail;            /* "lookup:ADDR", "suppressed", "reserve", "reserve_late", "refund", "fits",
                                    "charge", "charge_late", "record", "settle" (queued), "settle_lost",
                                    "settle_full" (given back as leaked, no room to charge again) */
    int lookups, reserves, refunds, fits, charges, records;
    int settles;                 /* settle calls */
    size_t settled;              /* tokens settled, by every call */
    int settles_at_record;       /* settle calls made when the last record was written */
    int sends[FAKE_INBOXES];     /* charged to each inbox */
    char held[FAKE_TOKENS][128]; /* reservations and charges not refunded, "index:token" */
    int held_n[FAKE_TOKENS];     /* and how many sends each holds */
    int cap_hits;
    /* the last record */
    char record_sender[40];
    size_t record_charged, record_inboxes;
    char record_subject[64], record_to[128], record_message_id[64];
    int record_content;
    /* signing (rig_signing): signers made and freed, header fields and
     * body bytes fed, the fields added to the message */
    int signers, signers_freed, signed_headers;
    size_t signed_bytes;
    int added;
    char added_name[32], added_value[64];
} fake_t;

static fake_t *fake_current; /* for the hooks */

static int
fake_index(const char *id_or_address)
{
    for (size_t i = 0; i < FAKE_INBOXES; i++) {
        char id[8];
        snprintf(id, sizeof(id), "id%zu", i);
        if (strcmp(id, id_or_address) == 0 || strcmp(fake_inboxes[i].address, id_or_address) == 0)
            return (int)i;
    }
    return -1;
}

static int
fake_fails(fake_t *f, const char *what, const char *arg)
{
    size_t n = strlen(what);
    if (f->fail == NULL || strncmp(f->fail, what, n) != 0)
        return 0;
    return f->fail[n] == '\0' || (f->fail[n] == ':' && arg && strcmp(f->fail + n + 1, arg) == 0);
}

static int
fake_lookup(void *ctx, const char *address, const char *login, inbox_lookup_t *out, char *err, size_t errlen)
{
    fake_t *f = ctx;
    int i = fake_index(address);
    f->lookups++;
    if (fake_fails(f, "lookup", address)) {
        snprintf(err, errlen, "lookup timed out");
        return -1;
    }
    memset(out, 0, sizeof(*out));
    const char *domain = strchr(address, '@');
    out->managed = domain && (strcmp(domain, "@acme.test") == 0 || strcmp(domain, "@beta.test") == 0);
    out->granted = -1;
    if (i < 0)
        return 0;
    out->found = 1;
    snprintf(out->id, sizeof(out->id), "id%d", i);
    snprintf(out->address, sizeof(out->address), "%s", fake_inboxes[i].address);
    out->status = fake_inboxes[i].status;
    out->daily_limit = fake_inboxes[i].daily;
    out->burst_limit = fake_inboxes[i].burst;
    out->suppressions = fake_inboxes[i].suppressed != NULL;
    if (login)
        out->granted = strcmp(login, fake_inboxes[i].granted_login) == 0;
    return 0;
}

static int
fake_suppressed(void *ctx, const char *inbox_id, const char *address, suppression_t *out, char *err, size_t errlen)
{
    fake_t *f = ctx;
    int i = fake_index(inbox_id);
    if (fake_fails(f, "suppressed", NULL)) {
        snprintf(err, errlen, "suppressed timed out");
        return -1;
    }
    if (i < 0 || fake_inboxes[i].suppressed == NULL || strcmp(fake_inboxes[i].suppressed, address) != 0)
        return 0;
    memset(out, 0, sizeof(*out));
    snprintf(out->source, sizeof(out->source), "bounce");
    snprintf(out->dsn, sizeof(out->dsn), "5.1.1");
    snprintf(out->date, sizeof(out->date), "2026-11-22");
    return 1;
}

/* The caps: daily and burst both count every send held (no clock here). */
static void
fake_verdict(const fake_t *f, int i, int n, limit_result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->sends_today = res->burst_used = f->sends[i];
    res->reset_epoch = 1709337600L;
    if (f->sends[i] + n > fake_inboxes[i].daily)
        res->verdict = LIMIT_DAILY;
    else if (f->sends[i] + n > fake_inboxes[i].burst) {
        res->verdict = LIMIT_BURST;
        res->retry_ms = 30000;
    }
}

static int
fake_hold(fake_t *f, int i, const char *token, int n)
{
    for (int k = 0; k < FAKE_TOKENS; k++)
        if (f->held[k][0] == '\0') {
            snprintf(f->held[k], sizeof(f->held[k]), "%d:%s", i, token);
            f->held_n[k] = n;
            return 0;
        }
    return -1;
}

static int
fake_held(const fake_t *f, int i, const char *token)
{
    char want[128];
    snprintf(want, sizeof(want), "%d:%s", i, token);
    for (int k = 0; k < FAKE_TOKENS; k++)
        if (strcmp(f->held[k], want) == 0)
            return k;
    return -1;
}

static int
fake_reserve(void *ctx, const inbox_lookup_t *inbox, const char *token, limit_result_t *res, char *err,
             size_t errlen)
{
    fake_t *f = ctx;
    int i = fake_index(inbox->id);
    f->reserves++;
    if (fake_fails(f, "reserve", NULL)) {
        snprintf(err, errlen, "redis timed out");
        return -1;
    }
    fake_verdict(f, i, 1, res);
    if (res->verdict == LIMIT_OK) {
        f->sends[i]++;
        res->sends_today = res->burst_used = f->sends[i];
        fake_hold(f, i, token, 1);
    }
    if (fake_fails(f, "reserve_late", NULL)) {
        /* the caller gave up, but the reservation was made after all */
        snprintf(err, errlen, "redis timed out");
        return -1;
    }
    return 0;
}

static int
fake_refund(void *ctx, const inbox_lookup_t *inbox, const char *token, int n, char *err, size_t errlen)
{
    fake_t *f = ctx;
    int i = fake_index(inbox->id), k;
    f->refunds++;
    if (fake_fails(f, "refund", NULL)) {
        snprintf(err, errlen, "redis down");
        return -1;
    }
    if ((k = fake_held(f, i, token)) >= 0) {
        assert_int_equal(f->held_n[k], n);
        f->held[k][0] = '\0';
        f->sends[i] -= n;
    }
    return 0;
}

static int
fake_settle(void *ctx, const inbox_lookup_t *inbox, const char *const *tokens, size_t n, limit_result_t *res,
            char *err, size_t errlen)
{
    fake_t *f = ctx;
    int i = fake_index(inbox->id);
    f->settles++;
    memset(res, 0, sizeof(*res));
    for (size_t k = 0; k < n; k++)
        assert_true(fake_held(f, i, tokens[k]) >= 0); /* only reservations still standing are settled */
    if (fake_fails(f, "settle_lost", NULL)) {
        snprintf(err, errlen, "redis down; not retried (queue full)");
        return -1;
    }
    if (fake_fails(f, "settle_full", NULL)) {
        fake_verdict(f, i, fake_inboxes[i].daily, res); /* whatever is charged, n more do not fit */
        res->recharged = (long)n;
        return 0;
    }
    if (fake_fails(f, "settle", NULL)) {
        snprintf(err, errlen, "redis timed out; retried until Redis answers");
        return 1;
    }
    f->settled += n;
    return 0;
}

static int
fake_fits(void *ctx, const inbox_lookup_t *inbox, int n, limit_result_t *res, char *err, size_t errlen)
{
    fake_t *f = ctx;
    f->fits++;
    if (fake_fails(f, "fits", NULL)) {
        snprintf(err, errlen, "redis timed out");
        return -1;
    }
    fake_verdict(f, fake_index(inbox->id), n, res);
    return 0;
}

static int
fake_charge(void *ctx, const inbox_lookup_t *inbox, int n, const char *token, limit_result_t *res, char *err,
            size_t errlen)
{
    fake_t *f = ctx;
    int i = fake_index(inbox->id);
    f->charges++;
    if (fake_fails(f, "charge", NULL)) {
        snprintf(err, errlen, "redis timed out");
        return -1;
    }
    if (fake_held(f, i, token) >= 0) {
        fake_verdict(f, i, 0, res);
        res->already_charged = 1;
        return 0;
    }
    fake_verdict(f, i, n, res);
    if (res->verdict == LIMIT_OK) {
        f->sends[i] += n;
        fake_hold(f, i, token, n);
    }
    if (fake_fails(f, "charge_late", NULL)) {
        snprintf(err, errlen, "redis timed out");
        return -1;
    }
    return 0;
}

static int
fake_record(void *ctx, const check_message_t *msg, char report[16], char *err, size_t errlen)
{
    fake_t *f = ctx;
    if (fake_fails(f, "record", NULL)) {
        snprintf(err, errlen, "postgres timed out");
        return -1;
    }
    f->records++;
    f->settles_at_record = f->settles;
    snprintf(f->record_sender, sizeof(f->record_sender), "%s", msg->sender_inbox->found ? msg->sender_inbox->id : "");
    f->record_charged = msg->charged->count;
    f->record_inboxes = msg->rcpt_inbox_count;
    const char *subject = msg->headers[CHECK_HDR_SUBJECT], *to = msg->headers[CHECK_HDR_TO];
    const char *mid = msg->headers[CHECK_HDR_MESSAGE_ID];
    snprintf(f->record_subject, sizeof(f->record_subject), "%s", subject ? subject : "");
    snprintf(f->record_to, sizeof(f->record_to), "%s", to ? to : "");
    snprintf(f->record_message_id, sizeof(f->record_message_id), "%s", mid ? mid : "");
    f->record_content = msg->content != NULL;
    snprintf(report, 16, "%s", msg->content ? "none" : "");
    return 0;
}

/* A signer: a counter of what it was fed ("sign_nokey": the domain has
 * no key, "sign_start", "sign_body", "sign_finish": that step fails,
 * "add_header": the MTA does not take the field). */
static int
fake_sign_start(void *ctx, const inbox_lookup_t *inbox, const char *queue_id, void **signer, char *err,
                size_t errlen)
{
    fake_t *f = ctx;
    (void)inbox, (void)queue_id;
    *signer = NULL;
    if (fake_fails(f, "sign_nokey", NULL) || fake_fails(f, "sign_start", NULL)) {
        snprintf(err, errlen, "no key");
        return fake_fails(f, "sign_nokey", NULL) ? 1 : -1;
    }
    f->signers++;
    *signer = f;
    return 0;
}

static int
fake_sign_header(void *signer, const char *name, const char *value, char *err, size_t errlen)
{
    fake_t *f = signer;
    (void)name, (void)value, (void)err, (void)errlen;
    f->signed_headers++;
    return 0;
}

static int
fake_sign_body(void *signer, const unsigned char *chunk, size_t len, char *err, size_t errlen)
{
    fake_t *f = signer;
    (void)chunk;
    if (fake_fails(f, "sign_body", NULL)) {
        snprintf(err, errlen, "body refused");
        return -1;
    }
    f->signed_bytes += len;
    return 0;
}

static int
fake_sign_finish(void *signer, char *out, size_t outlen, char *err, size_t errlen)
{
    fake_t *f = signer;
    if (fake_fails(f, "sign_finish", NULL)) {
        snprintf(err, errlen, "finish failed");
        return -1;
    }
    snprintf(out, outlen, "v=1; h=%d; l=%zu", f->signed_headers, f->signed_bytes);
    return 0;
}

static void
fake_sign_free(void *signer)
{
    ((fake_t *)signer)->signers_freed++;
}

static int
fake_add_header(void *arg, const char *name, const char *value)
{
    fake_t *f = arg;
    if (fake_fails(f, "add_header", NULL))
        return -1;
    f->added++;
    snprintf(f->added_name, sizeof(f->added_name), "%s", name);
    snprintf(f->added_value, sizeof(f->added_value), "%s", value);
    return 0;
}

static void
fake_cap_hit(limit_verdict_t verdict)
{
    if (fake_current && verdict != LIMIT_OK)
        fake_current->cap_hits++;
}

static const check_hooks_t fake_hooks = { .cap_hit = fake_cap_hit };

/* A check over a fresh fake, its config and its foreign-domain cache. */
typedef struct {
    fake_t f;
    pi_config_t *cfg;
    domain_cache_t *cache;
    check_t *c;
} rig_t;

/* rig_open's checks sign outbound mail from an inbox (fake_sign_*). */
static int rig_signing;

/* Opens r in mode, with config lines (or NULL), a failure to inject (or
 * NULL) and a foreign-domain cache when cache_ms > 0. */
static void
rig_open(rig_t *r, check_mode_t mode, const char *config, const char *fail, int trusted, long cache_ms)
{
    char err[256];
    memset(r, 0, sizeof(*r));
    r->f.fail = fail;
    if ((r->cfg = config_parse_text(config ? config : "", "test", err, sizeof(err))) == NULL)
        fail_msg("config: %s", err);
    r->cache = cache_ms > 0 ? domain_cache_new(cache_ms) : NULL;
    check_env_t env = {
        .cfg = r->cfg,
        .backend = { .ctx = &r->f, .lookup = fake_lookup, .suppressed = fake_suppressed, .reserve = fake_reserve,
                     .settle = fake_settle, .refund = fake_refund, .fits = fake_fits, .charge = fake_charge, .record = fake_record },
        .foreign_domains = r->cache,
        .hooks = &fake_hooks,
        .mode = mode,
    };
    if (rig_signing) {
        env.backend.sign_start = fake_sign_start;
        env.backend.sign_header = fake_sign_header;
        env.backend.sign_body = fake_sign_body;
        env.backend.sign_finish = fake_sign_finish;
        env.backend.sign_free = fake_sign_free;
        env.add_header = fake_add_header;
        env.add_header_arg = &r->f;
    }
    fake_current = &r->f;
    r->c = check_new(&env, "192.0.2.1", trusted);
    assert_non_null(r->c);
}

static void
rig_close(rig_t *r)
{
    check_free(r->c);
    domain_cache_free(r->cache);
    config_free(r->cfg);
    fake_current = NULL;
}

/* ---- the table ----------------------------------------------------------------------------------- */

typedef struct {
    const char *rcpt;
    decision_action_t action;
    int code;
    const char *reason;
} step_t;

typedef struct {
    const char *name;
    check_mode_t mode;
    const char *config;
    const char *fail;
    int trusted;
    const char *login, *sender;
    decision_action_t mail_action;
    int mail_code;
    const char *mail_reason;
    step_t rcpts[4];
    int end;                    /* 1: end of message, 0: abort */
    decision_action_t end_action;
    int end_code;
    const char *end_reason;
    /* afterwards */
    const char *sends_of;       /* inbox whose sends are counted */
    int sends;
    int records;
    int record_inboxes;
} txn_row_t;

#define OK DECISION_CONTINUE, 0
#define REJ(code) DECISION_REJECT, code
#define TMP(code) DECISION_TEMPFAIL, code
#define R CHECK_RESERVE
#define C CHECK_CHARGE
#define ACCEPT_ERRORS "on_backend_error = accept\n"

static const txn_row_t txn_rows[] = {
    /* ---- inbound (neither SASL nor trusted) ---- */
    { "inbound to an active inbox: recorded, nothing charged", R, NULL, NULL, 0, NULL, "ext@remote.test",
      OK, "inbound", { { "bob@acme.test", OK, "active" } }, 1, OK, "accepted", "bob@acme.test", 0, 1, 1 },
    { "inbound to a disabled inbox: 550 5.2.1, no record", R, NULL, NULL, 0, NULL, "ext@remote.test", OK, "inbound",
      { { "carol@acme.test", REJ(550), "disabled" } }, 1, OK, "accepted", "carol@acme.test", 0, 0, 0 },
    { "inbound to a suspended inbox: 450 4.2.1", R, NULL, NULL, 0, NULL, "ext@remote.test", OK, "inbound",
      { { "dave@acme.test", TMP(450), "suspended" } }, 1, OK, "accepted", "dave@acme.test", 0, 0, 0 },
    { "inbound to an unknown address on our domain: 550 5.1.1", R, NULL, NULL, 0, NULL, "ext@remote.test", OK,
      "inbound", { { "nobody@acme.test", REJ(550), "unknown" } }, 1, OK, "accepted", NULL, 0, 0, 0 },
    { "inbound to a foreign domain: untouched, no record", R, NULL, NULL, 0, NULL, "ext@remote.test", OK, "inbound",
      { { "x@elsewhere.test", OK, "foreign" } }, 1, OK, "accepted", NULL, 0, 0, 0 },
    { "spoof: an inbox address from an untrusted client, 550 5.7.1", R, NULL, NULL, 0, NULL, "bob@acme.test",
      REJ(550), "spoof", { { NULL } }, 0, OK, NULL, "bob@acme.test", 0, 0, 0 },
    { "null sender inbound: no lookup needed, recorded", R, NULL, NULL, 0, NULL, "<>", OK, "null_sender",
      { { "bob@acme.test", OK, "active" } }, 1, OK, "accepted", "bob@acme.test", 0, 1, 1 },
    { "malformed sender: 553 5.1.3", R, NULL, NULL, 0, NULL, "<foo bar@remote.test>", REJ(553), "malformed", { { NULL } }, 0, OK,
      NULL, NULL, 0, 0, 0 },
    { "malformed recipient: 553 5.1.3", R, NULL, NULL, 0, NULL, "ext@remote.test", OK, "inbound",
      { { "<<bad", REJ(553), "malformed" } }, 1, OK, "accepted", NULL, 0, 0, 0 },

    /* ---- Postfix's non-SMTP mail (CHECK_NON_SMTP: its own bounces, sendmail(1)) ---- */
    { "non-SMTP: Postfix's bounce to an active inbox is recorded", R, NULL, NULL, CHECK_NON_SMTP, NULL, "<>", OK,
      "null_sender", { { "bob@acme.test", OK, "active" } }, 1, OK, "accepted", "bob@acme.test", 0, 1, 1 },
    { "non-SMTP: a suspended or disabled inbox passes (no per-recipient refusal), not recorded", R, NULL, NULL,
      CHECK_NON_SMTP, NULL, "<>", OK, "null_sender",
      { { "dave@acme.test", OK, "non_smtp" }, { "carol@acme.test", OK, "non_smtp" }, { "bob@acme.test", OK, "active" } },
      1, OK, "accepted", "bob@acme.test", 0, 1, 1 },
    { "non-SMTP: an unknown or malformed recipient passes too", R, NULL, NULL, CHECK_NON_SMTP, NULL, "<>", OK, "null_sender",
      { { "nobody@acme.test", OK, "non_smtp" }, { "<<bad", OK, "non_smtp" } }, 1, OK, "accepted", NULL, 0, 0, 0 },
    { "non-SMTP from a trusted address is never trusted: an inbox sender is a spoof, 550 5.7.1", R, NULL, NULL,
      CHECK_NON_SMTP | CHECK_TRUSTED, NULL, "bob@acme.test", REJ(550), "spoof", { { NULL } }, 0, OK, NULL,
      "bob@acme.test", 0, 0, 0 },

    /* ---- outbound, the milter (reserve at RCPT, record at the end) ---- */
    { "outbound, granted login: charged and recorded", R, NULL, NULL, 0, "alice", "bob@acme.test", OK, "sender_ok",
      { { "x@remote.test", OK, "reserved" }, { "y@remote.test", OK, "reserved" } }, 1, OK, "accepted",
      "bob@acme.test", 2, 1, 0 },
    { "outbound from a trusted client, no login: charged", R, NULL, NULL, 1, NULL, "bob@acme.test", OK, "sender_ok",
      { { "x@remote.test", OK, "reserved" } }, 1, OK, "accepted", "bob@acme.test", 1, 1, 0 },
    { "login not granted the sender inbox: 553 5.7.1", R, NULL, NULL, 0, "mallory", "bob@acme.test", REJ(553),
      "not_granted", { { NULL } }, 0, OK, NULL, "bob@acme.test", 0, 0, 0 },
    { "sender is no inbox: 553 5.7.1", R, NULL, NULL, 0, "alice", "stranger@remote.test", REJ(553), "not_an_inbox",
      { { NULL } }, 0, OK, NULL, NULL, 0, 0, 0 },
    { "sender inbox disabled: 550 5.7.1", R, NULL, NULL, 0, "alice", "carol@acme.test", REJ(550), "sender_disabled",
      { { NULL } }, 0, OK, NULL, NULL, 0, 0, 0 },
    { "sender inbox suspended: 550 5.7.1", R, NULL, NULL, 0, "alice", "dave@acme.test", REJ(550), "sender_suspended",
      { { NULL } }, 0, OK, NULL, NULL, 0, 0, 0 },
    { "null sender outbound: 553 5.7.1", R, NULL, NULL, 1, NULL, "<>", REJ(553), "null_sender", { { NULL } }, 0, OK,
      NULL, NULL, 0, 0, 0 },
    { "daily cap: the third send is 451 4.7.1, two stand", R, NULL, NULL, 0, "alice", "daily@acme.test", OK,
      "sender_ok",
      { { "a@remote.test", OK, "reserved" }, { "b@remote.test", OK, "reserved" },
        { "c@remote.test", TMP(451), "daily" } },
      1, OK, "accepted", "daily@acme.test", 2, 1, 0 },
    { "burst guard: the second send is 451 4.7.1", R, NULL, NULL, 0, "alice", "bursty@acme.test", OK, "sender_ok",
      { { "a@remote.test", OK, "reserved" }, { "b@remote.test", TMP(451), "burst" } }, 1, OK, "accepted",
      "bursty@acme.test", 1, 1, 0 },
    { "suppressed recipient: 550 5.1.1, not charged", R, NULL, NULL, 0, "alice", "bob@acme.test", OK, "sender_ok",
      { { "gone@remote.test", REJ(550), "suppressed" }, { "x@remote.test", OK, "reserved" } }, 1, OK, "accepted",
      "bob@acme.test", 1, 1, 0 },
    { "inbox to inbox: one outbound and one inbound record", R, NULL, NULL, 0, "alice", "bob@acme.test", OK,
      "sender_ok", { { "eve@beta.test", OK, "reserved" } }, 1, OK, "accepted", "bob@acme.test", 1, 1, 1 },
    { "aborted after RCPT: every reservation refunded", R, NULL, NULL, 0, "alice", "bob@acme.test", OK, "sender_ok",
      { { "x@remote.test", OK, "reserved" }, { "y@remote.test", OK, "reserved" } }, 0, OK, NULL, "bob@acme.test", 0,
      0, 0 },
    { "record fails: 451 4.3.0 and the reservations refunded", R, NULL, "record", 0, "alice", "bob@acme.test", OK,
      "sender_ok", { { "x@remote.test", OK, "reserved" } }, 1, TMP(451), "backend", "bob@acme.test", 0, 0, 0 },
    { "record fails even with on_backend_error = accept: 451 4.3.0", R, ACCEPT_ERRORS, "record", 0, "alice",
      "bob@acme.test", OK, "sender_ok", { { "x@remote.test", OK, "reserved" } }, 1, TMP(451), "backend",
      "bob@acme.test", 0, 0, 0 },
    { "settle not answered: queued, the message accepted and recorded, the sends stand", R, NULL, "settle", 0,
      "alice", "bob@acme.test", OK, "sender_ok", { { "x@remote.test", OK, "reserved" }, { "y@remote.test", OK,
      "reserved" } }, 1, OK, "accepted", "bob@acme.test", 2, 1, 0 },
    { "settle lost (cannot even be queued): 451 4.3.0, refunded, no record", R, NULL, "settle_lost", 0, "alice",
      "bob@acme.test", OK, "sender_ok", { { "x@remote.test", OK, "reserved" } }, 1, TMP(451), "backend",
      "bob@acme.test", 0, 0, 0 },
    { "slower than reservation_timeout, and the day is full meanwhile: 451 4.7.1 at the end, refunded", R, NULL,
      "settle_full", 0, "alice", "bob@acme.test", OK, "sender_ok", { { "x@remote.test", OK, "reserved" } }, 1,
      TMP(451), "daily", "bob@acme.test", 0, 0, 0 },
    { "sender lookup fails: 451 4.3.0, nothing charged", R, NULL, "lookup:bob@acme.test", 0, "alice",
      "bob@acme.test", TMP(451), "backend", { { NULL } }, 0, OK, NULL, "bob@acme.test", 0, 0, 0 },
    { "recipient lookup fails: 451 4.3.0 for it, the next goes on", R, NULL, "lookup:x@remote.test", 0, "alice",
      "bob@acme.test", OK, "sender_ok", { { "x@remote.test", TMP(451), "backend" }, { "y@remote.test", OK,
      "reserved" } }, 1, OK, "accepted", "bob@acme.test", 1, 1, 0 },
    { "reservation fails: 451 4.3.0, nothing charged, no record", R, NULL, "reserve", 0, "alice", "bob@acme.test",
      OK, "sender_ok", { { "x@remote.test", TMP(451), "backend" } }, 1, OK, "accepted", "bob@acme.test", 0, 0, 0 },
    { "reservation answers late (made after the caller gave up): refunded, nothing charged", R, NULL,
      "reserve_late", 0, "alice", "bob@acme.test", OK, "sender_ok", { { "x@remote.test", TMP(451), "backend" } }, 1,
      OK, "accepted", "bob@acme.test", 0, 0, 0 },
    { "suppression lookup fails: 451 4.3.0, not charged", R, NULL, "suppressed", 0, "alice", "bob@acme.test", OK,
      "sender_ok", { { "x@remote.test", TMP(451), "backend" } }, 1, OK, "accepted", "bob@acme.test", 0, 0, 0 },
    { "on_backend_error = accept: the rest goes unchecked and unrecorded", R, ACCEPT_ERRORS, "reserve", 0, "alice",
      "bob@acme.test", OK, "sender_ok",
      { { "x@remote.test", OK, "backend_error_accepted" }, { "eve@beta.test", OK, "unchecked" } }, 1, OK, "accepted",
      "bob@acme.test", 0, 0, 0 },

    /* ---- outbound, the policy service (check at RCPT, charge at the end) ---- */
    { "policy: RCPT fits, the end charges every recipient", C, NULL, NULL, 0, "alice", "bob@acme.test", OK,
      "sender_ok", { { "x@remote.test", OK, "fits" }, { "y@remote.test", OK, "fits" } }, 1, OK, "charged",
      "bob@acme.test", 2, 0, 0 },
    { "policy: an abandoned transaction charges nothing", C, NULL, NULL, 0, "alice", "bob@acme.test", OK,
      "sender_ok", { { "x@remote.test", OK, "fits" } }, 0, OK, NULL, "bob@acme.test", 0, 0, 0 },
    { "policy: the third recipient would not fit the daily cap", C, NULL, NULL, 0, "alice", "daily@acme.test", OK,
      "sender_ok",
      { { "a@remote.test", OK, "fits" }, { "b@remote.test", OK, "fits" }, { "c@remote.test", TMP(451), "daily" } },
      1, OK, "charged", "daily@acme.test", 2, 0, 0 },
    { "policy: suppressed recipient refused before the caps", C, NULL, NULL, 0, "alice", "bob@acme.test", OK,
      "sender_ok", { { "gone@remote.test", REJ(550), "suppressed" } }, 1, OK, "no_recipients", "bob@acme.test", 0, 0,
      0 },
    { "policy: the charge fails: 451 4.3.0, nothing charged", C, NULL, "charge", 0, "alice", "bob@acme.test", OK,
      "sender_ok", { { "x@remote.test", OK, "fits" } }, 1, TMP(451), "backend", "bob@acme.test", 0, 0, 0 },
    { "policy: the charge answers late (made after the caller gave up): given back, nothing charged", C, NULL,
      "charge_late", 0, "alice", "bob@acme.test", OK, "sender_ok",
      { { "x@remote.test", OK, "fits" }, { "y@remote.test", OK, "fits" } }, 1, TMP(451), "backend", "bob@acme.test",
      0, 0, 0 },
    { "policy: the cap check fails: 451 4.3.0", C, NULL, "fits", 0, "alice", "bob@acme.test", OK, "sender_ok",
      { { "x@remote.test", TMP(451), "backend" } }, 0, OK, NULL, "bob@acme.test", 0, 0, 0 },
    { "policy: inbound mail is never charged", C, NULL, NULL, 0, NULL, "ext@remote.test", OK, "inbound",
      { { "bob@acme.test", OK, "active" } }, 1, OK, "inbound", "bob@acme.test", 0, 0, 0 },
    { "policy: refusals are the milter's (disabled recipient)", C, NULL, NULL, 0, "alice", "bob@acme.test", OK,
      "sender_ok", { { "carol@acme.test", REJ(550), "disabled" } }, 0, OK, NULL, "bob@acme.test", 0, 0, 0 },
};

static void
expect(const char *what, const decision_t *d, decision_action_t action, int code, const char *reason)
{
    if (d->action != action || d->code != code || strcmp(d->reason, reason) != 0)
        fail_msg("%s: got action %d code %d reason %s (%s), want %d %d %s", what, d->action, d->code, d->reason,
                 d->text, action, code, reason);
}

/* spell: 0 as written, 1 the local parts quoted ("bob"@acme.test), 2
 * every character of them backslash-escaped (\\b\\o\\b@acme.test): Postfix
 * reads all three as one address, so every door must decide alike. */
static const char *
respell(const char *addr, int spell, char *buf, size_t buflen)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    size_t o = 0;
    if (spell == 0 || at == NULL || addr[0] == '<' || strchr(addr, ' ') || strchr(addr, '"'))
        return addr;
    if (spell == 1) {
        snprintf(buf, buflen, "\"%.*s\"%s", (int)(at - addr), addr, at);
        return buf;
    }
    for (const char *p = addr; p < at && o + 3 < buflen; p++) {
        buf[o++] = '\\';
        buf[o++] = *p;
    }
    snprintf(buf + o, buflen - o, "%s", at);
    return buf;
}

static void
run_txn(const txn_row_t *row, int spell)
{
    char sender_buf[300], rcpt_buf[4][300];
    rig_t r;
    decision_t d;
    rig_open(&r, row->mode, row->config, row->fail, row->trusted, 0);
    check_t *c = r.c;
    fake_t *f = &r.f;

    memset(&d, 0xa5, sizeof(d));
    check_mail(c, respell(row->sender, spell, sender_buf, sizeof(sender_buf)), row->login, NULL, &d);
    expect("MAIL", &d, row->mail_action, row->mail_code, row->mail_reason);
    for (int i = 0; i < 4 && row->rcpts[i].rcpt; i++) {
        memset(&d, 0xa5, sizeof(d));
        check_rcpt(c, respell(row->rcpts[i].rcpt, spell, rcpt_buf[i], sizeof(rcpt_buf[i])), "QID1", &d);
        expect(row->rcpts[i].rcpt, &d, row->rcpts[i].action, row->rcpts[i].code, row->rcpts[i].reason);
    }
    if (row->end) {
        long accepted = 0;
        for (int i = 0; i < 4 && row->rcpts[i].rcpt; i++)
            accepted += row->rcpts[i].action == DECISION_CONTINUE;
        check_header(c, "Subject", "hello");
        check_body(c, (const unsigned char *)"body\r\n", 6);
        memset(&d, 0xa5, sizeof(d));
        check_end(c, "QID1", accepted, "QID1/instance", &d);
        expect("end of message", &d, row->end_action, row->end_code, row->end_reason);
        if (d.action == DECISION_TEMPFAIL)
            assert_string_equal(d.xcode, strcmp(row->end_reason, "daily") == 0 ? "4.7.1" : "4.3.0");
    } else {
        check_abort(c);
    }
    if (row->sends_of)
        assert_int_equal(f->sends[fake_index(row->sends_of)], row->sends);
    assert_int_equal(f->records, row->records);
    if (row->records)
        assert_int_equal(f->record_inboxes, (size_t)row->record_inboxes);
    /* Whatever happened, closing the session gives back nothing more:
     * what stands after the transaction stays charged. */
    int before = row->sends_of ? f->sends[fake_index(row->sends_of)] : 0;
    check_free(c);
    r.c = NULL;
    if (row->sends_of)
        assert_int_equal(f->sends[fake_index(row->sends_of)], before);
    rig_close(&r);
}

static void
test_txn(void **state)
{
    run_txn(*state, 0);
}

static void
test_txn_quoted(void **state)
{
    run_txn(*state, 1);
}

static void
test_txn_escaped(void **state)
{
    run_txn(*state, 2);
}

/* ---- sequences ----------------------------------------------------------------------------------- */

/* A new MAIL, and closing the session, refund what the previous
 * transaction reserved. */
static void
test_refund_on_new_mail_and_close(void **state)
{
    rig_t r;
    decision_t d;
    rig_open(&r, CHECK_RESERVE, NULL, NULL, 0, 0);
    check_t *c = r.c;
    fake_t *f = &r.f;
    int bob = fake_index("bob@acme.test");

    check_mail(c, "bob@acme.test", "alice", NULL, &d);
    check_rcpt(c, "x@remote.test", NULL, &d);
    check_rcpt(c, "y@remote.test", NULL, &d);
    assert_int_equal(f->sends[bob], 2);
    check_mail(c, "bob@acme.test", "alice", NULL, &d); /* RSET + MAIL */
    assert_int_equal(f->sends[bob], 0);
    check_rcpt(c, "z@remote.test", NULL, &d);
    assert_int_equal(f->sends[bob], 1);
    check_free(c); /* QUIT */
    r.c = NULL;
    assert_int_equal(f->sends[bob], 0);
    assert_int_equal(f->refunds, 3);
    rig_close(&r);
}

/* After end of message the reservations stand: nothing is refunded by
 * the next transaction or by closing. */
static void
test_recorded_sends_stand(void **state)
{
    rig_t r;
    decision_t d;
    rig_open(&r, CHECK_RESERVE, NULL, NULL, 0, 0);
    check_t *c = r.c;
    fake_t *f = &r.f;
    int bob = fake_index("bob@acme.test");

    check_mail(c, "bob@acme.test", "alice", "Q1", &d);
    check_rcpt(c, "x@remote.test", "Q1", &d);
    check_rcpt(c, "eve@beta.test", "Q1", &d);
    check_end(c, "Q1", 0, NULL, &d);
    expect("end", &d, DECISION_CONTINUE, 0, "accepted");
    assert_string_equal(f->record_sender, "id0");
    assert_int_equal(f->record_charged, 2);
    check_mail(c, "bob@acme.test", "alice", "Q2", &d);
    check_free(c);
    r.c = NULL;
    assert_int_equal(f->sends[bob], 2);
    assert_int_equal(f->refunds, 0);
    rig_close(&r);
}

/* End of message settles every reservation of the message in one call,
 * before the record; inbound mail and a message with nothing reserved
 * settle nothing; a record that fails after the settle refunds them all. */
static void
test_settle_once_before_record(void **state)
{
    rig_t r;
    decision_t d;
    rig_open(&r, CHECK_RESERVE, NULL, NULL, 0, 0);
    check_t *c = r.c;
    fake_t *f = &r.f;
    int bob = fake_index("bob@acme.test");

    check_mail(c, "bob@acme.test", "alice", "Q1", &d);
    check_rcpt(c, "x@remote.test", "Q1", &d);
    check_rcpt(c, "y@remote.test", "Q1", &d);
    check_rcpt(c, "z@remote.test", "Q1", &d);
    check_end(c, "Q1", 0, NULL, &d);
    expect("end", &d, DECISION_CONTINUE, 0, "accepted");
    assert_int_equal(f->settles, 1);
    assert_int_equal(f->settled, 3);
    assert_int_equal(f->settles_at_record, 1);
    assert_int_equal(f->sends[bob], 3);
    /* inbound: no reservation, no settle */
    check_mail(c, "ext@remote.test", NULL, "Q2", &d);
    check_rcpt(c, "bob@acme.test", "Q2", &d);
    check_end(c, "Q2", 0, NULL, &d);
    assert_int_equal(f->settles, 1);
    assert_int_equal(f->records, 2);
    /* settled, then the record fails: both given back */
    check_mail(c, "bob@acme.test", "alice", "Q3", &d);
    check_rcpt(c, "x@remote.test", "Q3", &d);
    check_rcpt(c, "y@remote.test", "Q3", &d);
    f->fail = "record";
    check_end(c, "Q3", 0, NULL, &d);
    expect("record fails", &d, DECISION_TEMPFAIL, 451, "backend");
    assert_int_equal(f->settles, 2);
    assert_int_equal(f->sends[bob], 3);
    assert_int_equal(f->refunds, 2);
    f->fail = NULL;
    rig_close(&r);
}

/* Outbound mail from an inbox is signed and the signature added before
 * the record; inbound mail and mail not from an inbox are not signed; no
 * key, a failed step or a field the MTA does not take: 451, no record,
 * the reservations given back, every signer freed. */
static void
sign_one(rig_t *r, const char *sender, const char *rcpt, const char *qid, decision_t *d)
{
    check_mail(r->c, sender, strstr(sender, "@acme.test") ? "alice" : NULL, qid, d);
    check_rcpt(r->c, rcpt, qid, d);
    check_header(r->c, "From", sender);
    check_header(r->c, "Subject", "hi");
    check_body(r->c, (const unsigned char *)"hello\r\n", 7);
    check_end(r->c, qid, 0, NULL, d);
}

static void
test_sign_before_record(void **state)
{
    static const char *const refusals[][2] = {
        { "sign_nokey", "dkim_key_missing" }, { "sign_start", "dkim_failed" }, { "sign_body", "dkim_failed" },
        { "sign_finish", "dkim_failed" }, { "add_header", "dkim_failed" },
    };
    rig_t r;
    decision_t d;
    (void)state;
    rig_signing = 1;
    rig_open(&r, CHECK_RESERVE, NULL, NULL, 0, 0);
    fake_t *f = &r.f;
    int bob = fake_index("bob@acme.test");

    sign_one(&r, "bob@acme.test", "x@remote.test", "Q1", &d);
    expect("signed", &d, DECISION_CONTINUE, 0, "accepted");
    assert_int_equal(f->added, 1);
    assert_string_equal(f->added_name, "DKIM-Signature");
    assert_string_equal(f->added_value, "v=1; h=2; l=7");
    assert_int_equal(f->records, 1);
    assert_int_equal(f->sends[bob], 1);
    /* inbound, and mail from an address that is no inbox: not signed */
    sign_one(&r, "ext@remote.test", "bob@acme.test", "Q2", &d);
    expect("inbound", &d, DECISION_CONTINUE, 0, "accepted");
    assert_int_equal(f->signers, 1);
    assert_int_equal(f->added, 1);
    assert_int_equal(f->records, 2);
    for (size_t i = 0; i < UNIT_ROWS(refusals); i++) {
        f->fail = refusals[i][0];
        sign_one(&r, "bob@acme.test", "x@remote.test", "Q3", &d);
        expect(refusals[i][0], &d, DECISION_TEMPFAIL, 451, refusals[i][1]);
        assert_int_equal(f->added, 1);
        assert_int_equal(f->records, 2);
        assert_int_equal(f->sends[bob], 1);
        f->fail = NULL;
    }
    /* no From field: nothing to sign for, so not signed, and accepted */
    check_mail(r.c, "bob@acme.test", "alice", "Q5", &d);
    check_rcpt(r.c, "x@remote.test", "Q5", &d);
    check_header(r.c, "Subject", "no from");
    check_body(r.c, (const unsigned char *)"x\r\n", 3);
    check_end(r.c, "Q5", 0, NULL, &d);
    expect("no From", &d, DECISION_CONTINUE, 0, "accepted");
    assert_int_equal(f->added, 1);
    assert_int_equal(f->records, 3);
    assert_int_equal(f->sends[bob], 2);
    /* and the next one is signed again */
    sign_one(&r, "bob@acme.test", "x@remote.test", "Q4", &d);
    expect("signed again", &d, DECISION_CONTINUE, 0, "accepted");
    assert_int_equal(f->added, 2);
    assert_int_equal(f->records, 4);
    assert_int_equal(f->sends[bob], 3);
    check_free(r.c);
    r.c = NULL;
    assert_int_equal(f->signers_freed, f->signers);
    rig_close(&r);
    rig_signing = 0;
}

/* A domain found not to be ours is not looked up again while cached, in
 * either mode. */
static void
test_foreign_domain_cache(void **state)
{
    for (int mode = CHECK_RESERVE; mode <= CHECK_CHARGE; mode++) {
        rig_t r;
        decision_t d;
        rig_open(&r, (check_mode_t)mode, NULL, NULL, 0, 60000);
        check_t *c = r.c;
        fake_t *f = &r.f;

        check_mail(c, "bob@acme.test", "alice", NULL, &d);
        int after_mail = f->lookups;
        check_rcpt(c, "x@world.test", NULL, &d);
        expect("first", &d, DECISION_CONTINUE, 0, mode == CHECK_RESERVE ? "reserved" : "fits");
        check_rcpt(c, "y@world.test", NULL, &d);
        expect("second", &d, DECISION_CONTINUE, 0, mode == CHECK_RESERVE ? "reserved" : "fits");
        assert_int_equal(f->lookups - after_mail, 1);
        /* our own domains are never cached as foreign */
        check_rcpt(c, "nobody@acme.test", NULL, &d);
        check_rcpt(c, "nobody@acme.test", NULL, &d);
        expect("ours", &d, DECISION_REJECT, 550, "unknown");
        assert_int_equal(f->lookups - after_mail, 3);
        rig_close(&r);
    }
}

/* The policy service asked twice about one end of message (same token)
 * charges once; a new token charges again. */
static void
test_charge_once_per_token(void **state)
{
    rig_t r;
    decision_t d;
    rig_open(&r, CHECK_CHARGE, NULL, NULL, 0, 0);
    check_t *c = r.c;
    fake_t *f = &r.f;
    int bob = fake_index("bob@acme.test");

    for (int i = 0; i < 2; i++) {
        assert_int_equal(check_sender(c, "eom", "bob@acme.test", "alice", "Q1", &d), 1);
        check_end(c, "Q1", 3, "Q1/inst 1", &d);
        expect("end", &d, DECISION_CONTINUE, 0, i == 0 ? "charged" : "already_charged");
    }
    assert_int_equal(f->sends[bob], 3);
    /* the token is cleaned of characters Redis keys should not carry */
    assert_true(fake_held(f, bob, "Q1/inst_1") >= 0);
    check_sender(c, "eom", "bob@acme.test", "alice", "Q2", &d);
    check_end(c, "Q2", 1, NULL, &d);
    assert_int_equal(f->sends[bob], 4);
    /* a charge that does not fit as a whole charges nothing */
    check_sender(c, "eom", "bob@acme.test", "alice", "Q3", &d);
    check_end(c, "Q3", 247, NULL, &d);
    expect("too many", &d, DECISION_TEMPFAIL, 451, "daily");
    assert_int_equal(f->sends[bob], 4);
    assert_int_equal(f->cap_hits, 1);
    rig_close(&r);
}

/* The policy service counts a recipient asked about twice once. */
static void
test_fits_counts_each_recipient_once(void **state)
{
    rig_t r;
    decision_t d;
    rig_open(&r, CHECK_CHARGE, NULL, NULL, 0, 0);
    check_t *c = r.c;

    assert_int_equal(check_sender(c, "rcpt", "daily@acme.test", "alice", NULL, &d), 1);
    check_rcpt(c, "a@remote.test", NULL, &d);
    check_rcpt(c, "a@remote.test", NULL, &d);
    check_rcpt(c, "b@remote.test", NULL, &d);
    expect("two distinct", &d, DECISION_CONTINUE, 0, "fits");
    check_rcpt(c, "c@remote.test", NULL, &d);
    expect("a third", &d, DECISION_TEMPFAIL, 451, "daily");
    rig_close(&r);
}

/* The header fields kept for the record: the first Message-ID and
 * Subject, every To joined; others ignored; a copy of the content only
 * for mail to an inbox. */
static void
test_record_headers_and_content(void **state)
{
    rig_t r;
    decision_t d;
    rig_open(&r, CHECK_RESERVE, NULL, NULL, 0, 0);
    check_t *c = r.c;
    fake_t *f = &r.f;

    check_mail(c, "ext@remote.test", NULL, NULL, &d);
    check_rcpt(c, "bob@acme.test", NULL, &d);
    check_header(c, "Message-ID", "<one@x>");
    check_header(c, "message-id", "<two@x>");
    check_header(c, "Subject", "first");
    check_header(c, "Subject", "second");
    check_header(c, "To", "a@x");
    check_header(c, "TO", "b@x");
    check_header(c, "X-Other", "ignored");
    check_body(c, (const unsigned char *)"hi\r\n", 4);
    check_end(c, "Q1", 0, NULL, &d);
    expect("end", &d, DECISION_CONTINUE, 0, "accepted");
    assert_string_equal(f->record_message_id, "<one@x>");
    assert_string_equal(f->record_subject, "first");
    assert_string_equal(f->record_to, "a@x, b@x");
    assert_int_equal(f->record_content, 1);
    assert_string_equal(f->record_sender, "");
    /* outbound to the world: no copy is kept */
    check_mail(c, "bob@acme.test", "alice", NULL, &d);
    check_rcpt(c, "x@remote.test", NULL, &d);
    check_header(c, "Subject", "out");
    check_end(c, "Q2", 0, NULL, &d);
    assert_int_equal(f->record_content, 0);
    assert_string_equal(f->record_subject, "out");
    rig_close(&r);
}

/* A refund the backend cannot make is logged and the session goes on. */
static void
test_refund_failure_is_survived(void **state)
{
    rig_t r;
    decision_t d;
    rig_open(&r, CHECK_RESERVE, NULL, NULL, 0, 0);
    check_t *c = r.c;
    fake_t *f = &r.f;

    check_mail(c, "bob@acme.test", "alice", NULL, &d);
    check_rcpt(c, "x@remote.test", NULL, &d);
    f->fail = "refund";
    check_abort(c);
    assert_int_equal(f->refunds, 1);
    f->fail = NULL;
    check_mail(c, "bob@acme.test", "alice", NULL, &d);
    expect("next MAIL", &d, DECISION_CONTINUE, 0, "sender_ok");
    check_free(c);
    r.c = NULL;
    assert_int_equal(f->refunds, 1); /* the lost token is not refunded twice */
    rig_close(&r);
}

/* Every reason the core can set is a metrics label value. */
static void
test_reasons_are_labels(void **state)
{
    const char *mine[] = { REASON(unchecked), REASON(accepted), REASON(fits), REASON(charged),
                           REASON(already_charged), REASON(no_recipients), REASON(not_our_stage) };
    for (size_t i = 0; i < UNIT_ROWS(mine); i++) {
        int found = 0;
        for (const char *const *r = decide_reasons; *r; r++)
            found |= strcmp(*r, mine[i]) == 0;
        assert_true(found);
    }
    decision_t d = { .action = DECISION_TEMPFAIL };
    assert_string_equal(decide_action_word(&d), "tempfail");
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_txn, txn_rows, sizeof(txn_rows[0]), UNIT_ROWS(txn_rows));
    /* the same rows with every address spelt "quoted"@ and \e\s\c\a\p\e\d@ */
    static char names[2][UNIT_ROWS(txn_rows)][200];
    for (size_t i = 0; i < UNIT_ROWS(txn_rows); i++) {
        snprintf(names[0][i], sizeof(names[0][i]), "quoted local parts: %s", txn_rows[i].name);
        snprintf(names[1][i], sizeof(names[1][i]), "escaped local parts: %s", txn_rows[i].name);
        unit_add(&suite, names[0][i], test_txn_quoted, &txn_rows[i]);
        unit_add(&suite, names[1][i], test_txn_escaped, &txn_rows[i]);
    }
    unit_add(&suite, "a new MAIL and QUIT refund the open reservations", test_refund_on_new_mail_and_close, NULL);
    unit_add(&suite, "recorded sends stand", test_recorded_sends_stand, NULL);
    unit_add(&suite, "end of message settles once, before the record", test_settle_once_before_record, NULL);
    unit_add(&suite, "outbound mail from an inbox is signed before the record", test_sign_before_record, NULL);
    unit_add(&suite, "foreign-domain cache in both modes", test_foreign_domain_cache, NULL);
    unit_add(&suite, "policy charge once per token, all or nothing", test_charge_once_per_token, NULL);
    unit_add(&suite, "policy counts a recipient once", test_fits_counts_each_recipient_once, NULL);
    unit_add(&suite, "record headers and content copy", test_record_headers_and_content, NULL);
    unit_add(&suite, "a failed refund is survived", test_refund_failure_is_survived, NULL);
    unit_add(&suite, "reasons are label values", test_reasons_are_labels, NULL);
    return unit_run("check", &suite, NULL, NULL);
}
