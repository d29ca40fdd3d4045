/*
 * test_postfix_log.c -- lib/mail/postfix_log.c on lines as Postfix writes them
 * (maillog_file, syslog, RFC 3339 stamps, journalctl -o cat), for the
 * smtp, lmtp, local, virtual, pipe, discard, error and qmgr agents, short
 * and long queue ids, every status, and the lines to ignore.
 */
#include "unit.h"

#include <string.h>

#include "postfix_log.h"

typedef struct {
    const char *name;
    const char *line;
    pfl_kind_t kind;
    pfl_status_t status;
    const char *queue_id, *agent, *to, *orig_to, *relay, *dsn, *diagnostic;
    double delay;
} pfl_row_t;

static const pfl_row_t pfl_rows[] = {
    { "smtp sent, maillog_file",
      "Nov 22 17:28:10 mx postfix/smtp[4321]: 4Bq2Lx0C9Bz: to=<bob@remote.test>, relay=127.0.0.1[127.0.0.1]:2525, "
      "delay=0.12, delays=0.05/0.01/0.03/0.03, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4Bq2Ly1)",
      PFL_DELIVERY, PFL_STATUS_SENT, "4Bq2Lx0C9Bz", "smtp", "bob@remote.test", "", "127.0.0.1[127.0.0.1]:2525",
      "2.0.0", "250 2.0.0 Ok: queued as 4Bq2Ly1", 0.12 },
    { "smtp sent, short queue id, syslog with pid and conn_use",
      "Jan  3 04:05:06 host postfix/smtp[99]: 3F1A2B4C5D: to=<a@b.example>, relay=mx.b.example[192.0.2.1]:25, "
      "conn_use=2, delay=1.4, delays=0.1/0/0.3/1, dsn=2.0.0, status=sent (250 ok, id=1, more, commas)",
      PFL_DELIVERY, PFL_STATUS_SENT, "3F1A2B4C5D", "smtp", "a@b.example", "", "mx.b.example[192.0.2.1]:25", "2.0.0",
      "250 ok, id=1, more, commas", 1.4 },
    { "smtp deferred, 4xx answer",
      "Nov 22 17:28:11 mx postfix/smtp[4321]: 9A8B7C6D5E: to=<soft@remote.test>, relay=127.0.0.1[127.0.0.1]:2525, "
      "delay=0.2, delays=0.1/0/0/0.1, dsn=4.2.0, status=deferred (host 127.0.0.1[127.0.0.1] said: 450 4.2.0 "
      "<soft@remote.test>: Recipient address rejected: later (in reply to RCPT TO command))",
      PFL_DELIVERY, PFL_STATUS_DEFERRED, "9A8B7C6D5E", "smtp", "soft@remote.test", "", "127.0.0.1[127.0.0.1]:2525",
      "4.2.0",
      "host 127.0.0.1[127.0.0.1] said: 450 4.2.0 <soft@remote.test>: Recipient address rejected: later (in reply to "
      "RCPT TO command)",
      0.2 },
    { "smtp deferred, connection refused, relay=none",
      "Nov 22 17:28:12 mx postfix/smtp[4322]: 9A8B7C6D5E: to=<x@remote.test>, relay=none, delay=30, "
      "delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:2526: Connection refused)",
      PFL_DELIVERY, PFL_STATUS_DEFERRED, "9A8B7C6D5E", "smtp", "x@remote.test", "", "none", "4.4.1",
      "connect to 127.0.0.1[127.0.0.1]:2526: Connection refused", 30 },
    { "smtp bounced, 5xx answer",
      "Nov 22 17:28:13 mx postfix/smtp[4323]: 4Bq2Lz3Tp4z: to=<bad@remote.test>, relay=127.0.0.1[127.0.0.1]:2525, "
      "delay=0.07, delays=0.02/0/0.02/0.03, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 "
      "<bad@remote.test>: Recipient address rejected: no such user (in reply to RCPT TO command))",
      PFL_DELIVERY, PFL_STATUS_BOUNCED, "4Bq2Lz3Tp4z", "smtp", "bad@remote.test", "", "127.0.0.1[127.0.0.1]:2525",
      "5.1.1",
      "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <bad@remote.test>: Recipient address rejected: no such user (in "
      "reply to RCPT TO command)",
      0.07 },
    { "lmtp sent with orig_to",
      "Nov 22 17:30:00 mx postfix/lmtp[77]: 1D2E3F4A5B: to=<user@example.org>, orig_to=<alias@example.org>, "
      "relay=mail.example.org[private/dovecot-lmtp], delay=0.03, delays=0/0/0/0.02, dsn=2.0.0, "
      "status=sent (250 2.0.0 <user@example.org> 9mKkM3xqI2WfHwAAbL5xjA Saved)",
      PFL_DELIVERY, PFL_STATUS_SENT, "1D2E3F4A5B", "lmtp", "user@example.org", "alias@example.org",
      "mail.example.org[private/dovecot-lmtp]", "2.0.0", "250 2.0.0 <user@example.org> 9mKkM3xqI2WfHwAAbL5xjA Saved",
      0.03 },
    { "local delivered to mailbox",
      "Nov 22 17:30:01 mx postfix/local[88]: 2A3B4C5D6E: to=<root@mx.example>, orig_to=<postmaster@mx.example>, "
      "relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)",
      PFL_DELIVERY, PFL_STATUS_SENT, "2A3B4C5D6E", "local", "root@mx.example", "postmaster@mx.example", "local",
      "2.0.0", "delivered to mailbox", 0.01 },
    { "local bounced, unknown user",
      "Nov 22 17:30:02 mx postfix/local[88]: 2A3B4C5D6F: to=<nobody@mx.example>, relay=local, delay=0.01, "
      "delays=0/0/0/0, dsn=5.1.1, status=bounced (unknown user: \"nobody\")",
      PFL_DELIVERY, PFL_STATUS_BOUNCED, "2A3B4C5D6F", "local", "nobody@mx.example", "", "local", "5.1.1",
      "unknown user: \"nobody\"", 0.01 },
    { "virtual delivered to maildir",
      "Nov 22 17:30:03 mx postfix/virtual[90]: 5E6F7A8B9C: to=<u@v.example>, relay=virtual, delay=0.02, "
      "delays=0.01/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
      PFL_DELIVERY, PFL_STATUS_SENT, "5E6F7A8B9C", "virtual", "u@v.example", "", "virtual", "2.0.0",
      "delivered to maildir", 0.02 },
    { "pipe delivered via a command",
      "Nov 22 17:30:04 mx postfix/pipe[91]: 6F7A8B9C0D: to=<list@lists.example>, relay=mailman, delay=0.3, "
      "delays=0/0/0/0.3, dsn=2.0.0, status=sent (delivered via mailman service)",
      PFL_DELIVERY, PFL_STATUS_SENT, "6F7A8B9C0D", "pipe", "list@lists.example", "", "mailman", "2.0.0",
      "delivered via mailman service", 0.3 },
    { "pipe bounced, command failed",
      "Nov 22 17:30:05 mx postfix/pipe[92]: 6F7A8B9C0E: to=<list@lists.example>, relay=mailman, delay=0.3, "
      "delays=0/0/0/0.3, dsn=5.3.0, status=bounced (Command died with status 1: \"/usr/lib/mailman/wrapper\")",
      PFL_DELIVERY, PFL_STATUS_BOUNCED, "6F7A8B9C0E", "pipe", "list@lists.example", "", "mailman", "5.3.0",
      "Command died with status 1: \"/usr/lib/mailman/wrapper\"", 0.3 },
    { "discard",
      "Nov 22 17:30:06 mx postfix/discard[93]: 7A8B9C0D1E: to=<x@remote.test>, relay=none, delay=0.01, "
      "delays=0.01/0/0/0, dsn=2.0.0, status=sent (remote.test)",
      PFL_DELIVERY, PFL_STATUS_SENT, "7A8B9C0D1E", "discard", "x@remote.test", "", "none", "2.0.0", "remote.test",
      0.01 },
    { "error agent, deferred with delivery temporarily suspended",
      "Nov 22 17:30:07 mx postfix/error[94]: 8B9C0D1E2F: to=<x@remote.test>, relay=none, delay=600, "
      "delays=600/0/0/0, dsn=4.4.1, status=deferred (delivery temporarily suspended: connect to "
      "127.0.0.1[127.0.0.1]:2526: Connection refused)",
      PFL_DELIVERY, PFL_STATUS_DEFERRED, "8B9C0D1E2F", "error", "x@remote.test", "", "none", "4.4.1",
      "delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:2526: Connection refused", 600 },
    { "per-recipient expired (qmgr, maximal_queue_lifetime)",
      "Nov 22 17:30:08 mx postfix/qmgr[95]: 8B9C0D1E2F: to=<x@remote.test>, relay=none, delay=432000, "
      "delays=432000/0/0/0, dsn=4.4.1, status=expired (connect to 127.0.0.1[127.0.0.1]:2526: Connection refused)",
      PFL_DELIVERY, PFL_STATUS_EXPIRED, "8B9C0D1E2F", "qmgr", "x@remote.test", "", "none", "4.4.1",
      "connect to 127.0.0.1[127.0.0.1]:2526: Connection refused", 432000 },
    { "message expired, returned to sender",
      "Nov 22 17:30:09 mx postfix/qmgr[95]: 8B9C0D1E2F: from=<alice@sandbox.test>, status=expired, returned to "
      "sender",
      PFL_EXPIRED, PFL_STATUS_EXPIRED, "8B9C0D1E2F", "qmgr", "", "", "", "", "", -1 },
    { "soft_bounce = yes turns a bounce into SOFTBOUNCE",
      "Nov 22 17:30:10 mx postfix/smtp[96]: 9C0D1E2F3A: to=<bad@remote.test>, relay=127.0.0.1[127.0.0.1]:2525, "
      "delay=0.1, delays=0/0/0/0.1, dsn=5.1.1, status=SOFTBOUNCE (host said: 550 5.1.1 no)",
      PFL_DELIVERY, PFL_STATUS_DEFERRED, "9C0D1E2F3A", "smtp", "bad@remote.test", "", "127.0.0.1[127.0.0.1]:2525",
      "5.1.1", "host said: 550 5.1.1 no", 0.1 },
    { "removed",
      "Nov 22 17:30:11 mx postfix/qmgr[95]: 4Bq2Lx0C9Bz: removed",
      PFL_REMOVED, PFL_STATUS_NONE, "4Bq2Lx0C9Bz", "qmgr", "", "", "", "", "", -1 },
    { "journalctl -o cat (no prefix)",
      "4Bq2Lx0C9Bz: to=<bob@remote.test>, relay=none, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (x)",
      PFL_DELIVERY, PFL_STATUS_SENT, "4Bq2Lx0C9Bz", "", "bob@remote.test", "", "none", "2.0.0", "x", 0.1 },
    { "RFC 3339 stamp, custom syslog_name, CRLF",
      "2026-11-22T17:28:10.123456+00:00 mx postfix-out/smtp[12]: 4Bq2Lx0C9Bz: to=<Bob@Remote.Test>, relay=none, "
      "delay=2, delays=0/0/0/2, dsn=2.0.0, status=sent (ok)\r\n",
      PFL_DELIVERY, PFL_STATUS_SENT, "4Bq2Lx0C9Bz", "smtp", "Bob@Remote.Test", "", "none", "2.0.0", "ok", 2 },
    { "status without diagnostic",
      "Nov 22 17:30:12 mx postfix/smtp[1]: 3F1A2B4C5D: to=<a@b.example>, relay=none, delay=1, dsn=2.0.0, "
      "status=sent",
      PFL_DELIVERY, PFL_STATUS_SENT, "3F1A2B4C5D", "smtp", "a@b.example", "", "none", "2.0.0", "", 1 },

    /* lines to ignore */
    { "qmgr from= size= line",
      "Nov 22 17:28:10 mx postfix/qmgr[95]: 4Bq2Lx0C9Bz: from=<alice@sandbox.test>, size=612, nrcpt=1 (queue active)",
      PFL_NONE, PFL_STATUS_NONE, "", "", "", "", "", "", "", -1 },
    { "cleanup message-id",
      "Nov 22 17:28:10 mx postfix/cleanup[90]: 4Bq2Lx0C9Bz: message-id=<abc@sandbox.test>",
      PFL_NONE, PFL_STATUS_NONE, "", "", "", "", "", "", "", -1 },
    { "smtpd client line",
      "Nov 22 17:28:10 mx postfix/smtpd[89]: 4Bq2Lx0C9Bz: client=localhost[127.0.0.1], sasl_method=PLAIN",
      PFL_NONE, PFL_STATUS_NONE, "", "", "", "", "", "", "", -1 },
    { "NOQUEUE reject",
      "Nov 22 17:28:10 mx postfix/smtpd[89]: NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 "
      "<x@y>: to=<x@y> proto=ESMTP helo=<h>",
      PFL_NONE, PFL_STATUS_NONE, "", "", "", "", "", "", "", -1 },
    { "bounce notification line",
      "Nov 22 17:28:13 mx postfix/bounce[97]: 4Bq2Lz3Tp4z: sender non-delivery notification: 4Bq2M04GZ1z",
      PFL_NONE, PFL_STATUS_NONE, "", "", "", "", "", "", "", -1 },
    { "address verification probe result (status=deliverable)",
      "Nov 22 17:28:13 mx postfix/smtp[97]: 3F1A2B4C5D: to=<a@b.example>, relay=mx[192.0.2.1]:25, delay=1, "
      "dsn=2.1.5, status=deliverable (250 2.1.5 Ok)",
      PFL_NONE, PFL_STATUS_NONE, "", "", "", "", "", "", "", -1 },
    { "warning", "Nov 22 17:28:10 mx postfix/smtpd[89]: warning: hostname localhost does not resolve",
      PFL_NONE, PFL_STATUS_NONE, "", "", "", "", "", "", "", -1 },
    { "word with vowels is no queue id",
      "Nov 22 17:28:10 mx postfix/x[1]: something: to=<a@b>, relay=none, dsn=2.0.0, status=sent (x)",
      PFL_NONE, PFL_STATUS_NONE, "", "", "", "", "", "", "", -1 },
    { "truncated line", "Nov 22 17:28:10 mx postfix/smtp[1]: 3F1A2B4C5D: to=<a@b.exam", PFL_NONE, PFL_STATUS_NONE,
      "", "", "", "", "", "", "", -1 },
    { "empty", "", PFL_NONE, PFL_STATUS_NONE, "", "", "", "", "", "", "", -1 },
};

static void
test_pfl(void **state)
{
    const pfl_row_t *row = *state;
    pfl_line_t out;
    assert_int_equal(postfix_log_parse(row->line, strlen(row->line), &out), row->kind);
    assert_int_equal(out.kind, row->kind);
    assert_int_equal(out.status, row->status);
    assert_string_equal(out.queue_id, row->queue_id);
    assert_string_equal(out.agent, row->agent);
    assert_string_equal(out.to, row->to);
    assert_string_equal(out.orig_to, row->orig_to);
    assert_string_equal(out.relay, row->relay);
    assert_string_equal(out.dsn, row->dsn);
    assert_string_equal(out.diagnostic, row->diagnostic);
    assert_true(out.delay > row->delay - 1e-9 && out.delay < row->delay + 1e-9);
}

/* postfix_log_classify: the classifier's answer for the lines Postfix
 * writes (the e2e test t_bounce_reasons.sh sees the same ones). */
typedef struct {
    const char *name;
    const char *line;
    const char *reason, *type;
    int code;
} pfl_class_row_t;

static const pfl_class_row_t pfl_class_rows[] = {
    { "bounced 550 5.1.1 user unknown: permanent",
      "4Bq2Lx0C9Bz: to=<gone@remote.test>, relay=127.0.0.1[127.0.0.1]:2526, delay=0.1, dsn=5.1.1, status=bounced "
      "(host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <gone@remote.test>: Recipient address rejected: user unknown (in "
      "reply to RCPT TO command))",
      "user_unknown", "permanent", 550 },
    { "bounced 552 5.2.2 mailbox full: transient",
      "4Bq2Lx0C9Bz: to=<full@remote.test>, relay=127.0.0.1[127.0.0.1]:2526, delay=0.1, dsn=5.2.2, status=bounced "
      "(host 127.0.0.1[127.0.0.1] said: 552 5.2.2 <full@remote.test>: Recipient address rejected: mailbox full (in "
      "reply to RCPT TO command))",
      "mailbox_full", "transient", 552 },
    { "bounced 550 5.7.26 unauthenticated: transient",
      "4Bq2Lx0C9Bz: to=<auth@remote.test>, relay=mx[192.0.2.1]:25, delay=0.1, dsn=5.7.26, status=bounced (host "
      "mx[192.0.2.1] said: 550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender (in "
      "reply to end of DATA command))",
      "auth_failure", "transient", 550 },
    { "deferred 450 4.2.0 with no words: undetermined",
      "9A8B7C6D5E: to=<soft@remote.test>, relay=127.0.0.1[127.0.0.1]:2525, delay=0.2, dsn=4.2.0, status=deferred "
      "(host 127.0.0.1[127.0.0.1] said: 450 4.2.0 <soft@remote.test>: Recipient address rejected: later (in reply "
      "to RCPT TO command))",
      "undetermined", "undetermined", 450 },
    { "per-message expiry: expired",
      "9A8B7C6D5E: from=<a@b.test>, status=expired, returned to sender", "expired", "transient", 0 },
    { "sent: undetermined", "3F1A2B4C5D: to=<a@b.example>, relay=x[192.0.2.1]:25, dsn=2.0.0, status=sent (250 ok)",
      "undetermined", "undetermined", 0 },
};

static void
test_pfl_class(void **state)
{
    const pfl_class_row_t *row = *state;
    pfl_line_t line;
    bounce_class_t c;
    assert_int_not_equal(postfix_log_parse(row->line, strlen(row->line), &line), PFL_NONE);
    postfix_log_classify(&line, &c);
    if (row->reason != NULL)
        assert_string_equal(bounce_reason_name(c.reason), row->reason);
    assert_string_equal(bounce_type_name(c.type), row->type);
    assert_int_equal(c.code, row->code);
}

/* A line longer than every field is cut, never overflows. */
static void
test_long_fields(void **state)
{
    (void)state;
    static char line[8192];
    char addr[2000];
    memset(addr, 'a', sizeof(addr) - 1);
    addr[sizeof(addr) - 1] = '\0';
    snprintf(line, sizeof(line), "3F1A2B4C5D: to=<%s@x>, relay=none, dsn=5.1.1, status=bounced (%s%s)", addr, addr,
             addr);
    pfl_line_t out;
    assert_int_equal(postfix_log_parse(line, strlen(line), &out), PFL_DELIVERY);
    assert_int_equal(strlen(out.to), PFL_ADDR_MAX - 1);
    assert_int_equal(strlen(out.diagnostic), PFL_TEXT_MAX - 1);
}

/* Every prefix of a real line parses without reading past its end. */
static void
test_prefixes(void **state)
{
    (void)state;
    for (size_t r = 0; r < UNIT_ROWS(pfl_rows); r++) {
        const char *l = pfl_rows[r].line;
        size_t n = strlen(l);
        for (size_t k = 0; k <= n; k++) {
            char *copy = malloc(k ? k : 1);
            memcpy(copy, l, k);
            pfl_line_t out;
            postfix_log_parse(copy, k, &out);
            free(copy);
        }
    }
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_pfl, pfl_rows, sizeof(pfl_rows[0]), UNIT_ROWS(pfl_rows));
    unit_add_rows(&suite, test_pfl_class, pfl_class_rows, sizeof(pfl_class_rows[0]), UNIT_ROWS(pfl_class_rows));
    unit_add(&suite, "over-long fields are cut", test_long_fields, NULL);
    unit_add(&suite, "every prefix of every line is safe", test_prefixes, NULL);
    return unit_run("postfix_log", &suite, NULL, NULL);
}
