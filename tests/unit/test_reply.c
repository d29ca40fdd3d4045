/*
 * test_reply.c -- SMTP reply defaults, reply_parse and reply_format: what
 * reaches smfi_setreply must be one line, with no '%', naming the inbox.
 */
#include "unit.h"

#include <string.h>

#include "reply.h"

/* ---- defaults -------------------------------------------------------------- */

/* Every default is a 4xx/5xx code with a same-class enhanced code, has a
 * unique config name, and round-trips through reply_parse (so it can be
 * copied into postinbox.conf as is). */
static void
test_defaults_are_well_formed(void **state)
{
    for (int r = 0; r < REPLY_COUNT; r++) {
        reply_t def, parsed;
        char line[300], err[200] = "";
        reply_default((reply_id_t)r, &def);
        const char *name = reply_name((reply_id_t)r);
        assert_non_null(name);
        assert_true(def.code >= 400 && def.code <= 599);
        assert_int_equal(def.xcode[0], '0' + def.code / 100);
        assert_true(def.text[0] != '\0');
        assert_null(strpbrk(def.text, "\r\n%"));
        for (int other = 0; other < r; other++)
            assert_string_not_equal(name, reply_name((reply_id_t)other));
        snprintf(line, sizeof(line), "%d %s %s", def.code, def.xcode, def.text);
        if (reply_parse(line, &parsed, err, sizeof(err)) != 0)
            fail_msg("default reply_%s \"%s\" does not parse: %s", name, line, err);
        assert_int_equal(parsed.code, def.code);
        assert_string_equal(parsed.xcode, def.xcode);
        assert_string_equal(parsed.text, def.text);
    }
}

/* The codes of DESIGN.md's SMTP table. */
static void
test_default_codes(void **state)
{
    static const struct {
        reply_id_t id;
        const char *name;
        int code;
        const char *xcode;
    } want[] = {
        { REPLY_RCPT_DISABLED, "rcpt_disabled", 550, "5.2.1" },
        { REPLY_RCPT_SUSPENDED, "rcpt_suspended", 450, "4.2.1" },
        { REPLY_RCPT_UNKNOWN, "rcpt_unknown", 550, "5.1.1" },
        { REPLY_SENDER_NOT_GRANTED, "sender_not_granted", 553, "5.7.1" },
        { REPLY_SENDER_INACTIVE, "sender_inactive", 550, "5.7.1" },
        { REPLY_SPOOF, "spoof", 550, "5.7.1" },
        { REPLY_BURST, "burst", 451, "4.7.1" },
        { REPLY_DAILY, "daily", 451, "4.7.1" },
        { REPLY_BACKEND, "backend", 451, "4.3.0" },
        { REPLY_MALFORMED, "malformed", 553, "5.1.3" },
        { REPLY_RCPT_SUPPRESSED, "rcpt_suppressed", 550, "5.1.1" },
        { REPLY_SIGN_FAILED, "sign_failed", 451, "4.3.0" },
        { REPLY_DOMAIN_HELD, "domain_held", 451, "4.7.0" },
    };
    assert_int_equal(UNIT_ROWS(want), REPLY_COUNT);
    for (size_t i = 0; i < UNIT_ROWS(want); i++) {
        reply_t def;
        reply_default(want[i].id, &def);
        assert_string_equal(reply_name(want[i].id), want[i].name);
        assert_int_equal(def.code, want[i].code);
        assert_string_equal(def.xcode, want[i].xcode);
    }
}

/* ---- reply_parse ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *value;
    int ok;
    int code;
    const char *xcode, *text;
} parse_row_t;

#define X16 "xxxxxxxxxxxxxxxx"
#define X64 X16 X16 X16 X16
#define X255 X64 X64 X64 X16 X16 X16 "xxxxxxxxxxxxxxx"

static const parse_row_t parse_rows[] = {
    { "parse: 550 5.2.1 text", "550 5.2.1 inbox {inbox} is disabled", 1, 550, "5.2.1", "inbox {inbox} is disabled" },
    { "parse: 451 4.7.1 text", "451 4.7.1 retry in {retry} s", 1, 451, "4.7.1", "retry in {retry} s" },
    { "parse: three-digit subject and detail", "554 5.123.456 x", 1, 554, "5.123.456", "x" },
    { "parse: text with a '%' is kept (reply_format drops it)", "550 5.7.1 100% sure", 1, 550, "5.7.1",
      "100% sure" },
    { "parse rejects: two-digit code", "55 5.2.1 text", 0, 0, NULL, NULL },
    { "parse rejects: four-digit code", "5500 5.2.1 text", 0, 0, NULL, NULL },
    { "parse rejects: 2xx code", "250 2.0.0 ok", 0, 0, NULL, NULL },
    { "parse rejects: 3xx code", "354 3.0.0 go on", 0, 0, NULL, NULL },
    { "parse rejects: 6xx code", "650 6.0.0 no", 0, 0, NULL, NULL },
    { "parse rejects: code not followed by a space", "550-5.2.1 text", 0, 0, NULL, NULL },
    { "parse rejects: leading sign", "+55 5.2.1 text", 0, 0, NULL, NULL },
    { "parse rejects: class mismatch 550 4.2.1", "550 4.2.1 x", 0, 0, NULL, NULL },
    { "parse rejects: class mismatch 451 5.7.1", "451 5.7.1 x", 0, 0, NULL, NULL },
    { "parse rejects: no enhanced code", "550 mailbox closed", 0, 0, NULL, NULL },
    { "parse rejects: enhanced code with two parts", "550 5.2 text", 0, 0, NULL, NULL },
    { "parse rejects: enhanced code with four parts", "550 5.2.1.1 text", 0, 0, NULL, NULL },
    { "parse rejects: empty subject", "550 5..1 text", 0, 0, NULL, NULL },
    { "parse rejects: empty detail", "550 5.1. text", 0, 0, NULL, NULL },
    { "parse rejects: letters in enhanced code", "550 5.x.1 text", 0, 0, NULL, NULL },
    { "parse rejects: two-digit class", "550 55.1.1 text", 0, 0, NULL, NULL },
    { "parse rejects: no text", "550 5.2.1", 0, 0, NULL, NULL },
    { "parse rejects: empty text", "550 5.2.1 ", 0, 0, NULL, NULL },
    { "parse rejects: LF in text", "550 5.2.1 gone\n250 ok", 0, 0, NULL, NULL },
    { "parse rejects: CR in text", "550 5.2.1 gone\r", 0, 0, NULL, NULL },
    { "parse: text of 255 bytes (the most)", "550 5.2.1 " X255, 1, 550, "5.2.1", X255 },
    { "parse rejects: text of 256 bytes", "550 5.2.1 " X255 "x", 0, 0, NULL, NULL },
    { "parse rejects: empty value", "", 0, 0, NULL, NULL },
};

static void
test_parse(void **state)
{
    const parse_row_t *row = *state;
    reply_t out, before;
    char err[200] = "";
    reply_default(REPLY_SPOOF, &out);
    before = out;
    int rc = reply_parse(row->value, &out, err, sizeof(err));
    if (row->ok) {
        if (rc != 0)
            fail_msg("\"%s\" refused: %s", row->value, err);
        assert_int_equal(out.code, row->code);
        assert_string_equal(out.xcode, row->xcode);
        assert_string_equal(out.text, row->text);
    } else {
        if (rc == 0)
            fail_msg("\"%s\" accepted as %d %s %s", row->value, out.code, out.xcode, out.text);
        assert_int_equal(rc, -1);
        assert_true(err[0] != '\0');
        /* A refused value leaves the reply as it was (reload keeps the old one). */
        assert_int_equal(out.code, before.code);
        assert_string_equal(out.xcode, before.xcode);
        assert_string_equal(out.text, before.text);
    }
}

/* ---- reply_format ---------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *template;
    const char *inbox, *status, *reset;
    long retry;
    int no_vars;     /* pass NULL vars */
    size_t outlen;   /* 0: a big buffer */
    const char *want;
    const char *recipient, *reason;
} format_row_t;

static const format_row_t format_rows[] = {
    { "format: {inbox}", "inbox {inbox} is disabled", "bob@example.com", NULL, NULL, 0, 0, 0,
      "inbox bob@example.com is disabled", NULL, NULL },
    { "format: {inbox} and {status}", "sending inbox {inbox} is {status}", "bob@example.com", "suspended", NULL, 0,
      0, 0, "sending inbox bob@example.com is suspended", NULL, NULL },
    { "format: {retry}", "retry in {retry} s", "a@b.c", NULL, NULL, 37, 0, 0, "retry in 37 s", NULL, NULL },
    { "format: {reset}", "resets at {reset}", "a@b.c", NULL, "2024-03-02T00:00:00Z", 0, 0, 0,
      "resets at 2024-03-02T00:00:00Z", NULL, NULL },
    { "format: every placeholder, some twice", "{inbox}/{status}/{retry}/{reset}/{inbox}", "x@y.z", "active",
      "R", 5, 0, 0, "x@y.z/active/5/R/x@y.z", NULL, NULL },
    { "format: unknown placeholder kept literally", "{inbox} {unknown} {retry", "a@b.c", NULL, NULL, 0, 0, 0,
      "a@b.c {unknown} {retry", NULL, NULL },
    { "format: NULL vars give empty values and 0", "[{inbox}][{status}][{retry}][{reset}]", NULL, NULL, NULL, 0, 1,
      0, "[][][0][]", NULL, NULL },
    { "format: NULL inbox gives empty", "<{inbox}>", NULL, NULL, NULL, 0, 0, 0, "<>", NULL, NULL },
    { "format: CR/LF in the inbox stripped", "no such inbox {inbox}", "a@b.c\r\n250 2.0.0 ok", NULL, NULL, 0, 0, 0,
      "no such inbox a@b.c250 2.0.0 ok", NULL, NULL },
    { "format: controls and DEL stripped", "[{inbox}]", "a\x01\x1b\t\x7f@b.c", NULL, NULL, 0, 0, 0, "[a@b.c]", NULL, NULL },
    { "format: '%' stripped from values", "{inbox}", "100%s%n@b.c", NULL, NULL, 0, 0, 0, "100sn@b.c", NULL, NULL },
    { "format: '%' and CR/LF stripped from the template", "100% %s\r\nsure", "a@b.c", NULL, NULL, 0, 0, 0,
      "100 ssure", NULL, NULL },
    { "format: truncated to a small buffer", "inbox {inbox} is disabled", "bob@example.com", NULL, NULL, 0, 0, 12,
      "inbox bob@e", NULL, NULL },
    { "format: truncated inside the template", "abcdefghij", NULL, NULL, NULL, 0, 0, 5, "abcd", NULL, NULL },
    { "format: buffer of one byte", "inbox {inbox}", "a@b.c", NULL, NULL, 0, 0, 1, "", NULL, NULL },
    { "format: negative retry", "{retry}", NULL, NULL, NULL, -3, 0, 0, "-3", NULL, NULL },
    { "format: {recipient} and {reason}", "<{recipient}> on the list of {inbox}: {reason}", "a@b.c", NULL, NULL, 0, 0,
      0, "<x@y.z> on the list of a@b.c: hard bounce 5.1.1 (2026-11-22)", "x@y.z",
      "hard bounce 5.1.1 (2026-11-22)" },
    { "format: NULL recipient and reason give empty", "[{recipient}][{reason}]", "a@b.c", NULL, NULL, 0, 0, 0, "[][]",
      NULL, NULL },
    { "format: CR/LF and '%' in {recipient} stripped", "<{recipient}>", NULL, NULL, NULL, 0, 0, 0,
      "<x250 okn@y.z>", "x\r\n250 ok%n@y.z", NULL },
};

static void
test_format(void **state)
{
    const format_row_t *row = *state;
    reply_t reply = { 550, "5.0.0", "" };
    reply_vars_t vars = { row->inbox, row->status, row->retry, row->reset, row->recipient, row->reason };
    char out[600];
    size_t outlen = row->outlen ? row->outlen : 512;
    snprintf(reply.text, sizeof(reply.text), "%s", row->template);
    memset(out, 'Z', sizeof(out));
    reply_format(&reply, row->no_vars ? NULL : &vars, out, outlen);
    assert_string_equal(out, row->want);
    assert_true(strlen(out) < outlen);
    assert_int_equal(out[outlen], 'Z'); /* nothing written past outlen */
    assert_null(strpbrk(out, "\r\n%"));
}

/* A zero-length buffer is left alone. */
static void
test_format_zero_buffer(void **state)
{
    reply_t reply;
    reply_vars_t vars = { "a@b.c", NULL, 0, NULL, NULL, NULL };
    char out[4] = "ZZZ";
    reply_default(REPLY_RCPT_DISABLED, &reply);
    reply_format(&reply, &vars, out, 0);
    assert_string_equal(out, "ZZZ");
}

/* A long address with every placeholder never overflows, at every size. */
static void
test_format_every_buffer_size(void **state)
{
    reply_t reply = { 451, "4.7.1", "{inbox} {inbox} {status} {retry} {reset} {inbox} <{recipient}> {reason}" };
    char inbox[255];
    memset(inbox, 'a', sizeof(inbox) - 1);
    inbox[sizeof(inbox) - 1] = '\0';
    reply_vars_t vars = { inbox, "suspended", 123456789, "2024-03-02T00:00:00Z", inbox, "complaint (2026-11-22)" };
    char full[2048];
    reply_format(&reply, &vars, full, sizeof(full));
    for (size_t outlen = 1; outlen < sizeof(full); outlen++) {
        char out[2048 + 1];
        out[outlen] = 'Z';
        reply_format(&reply, &vars, out, outlen);
        assert_int_equal(out[outlen], 'Z');
        assert_true(strlen(out) < outlen);
        assert_memory_equal(out, full, strlen(out)); /* a prefix of the full text */
    }
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add(&suite, "defaults are well formed and parse back", test_defaults_are_well_formed, NULL);
    unit_add(&suite, "defaults follow the SMTP table", test_default_codes, NULL);
    unit_add_rows(&suite, test_parse, parse_rows, sizeof(parse_rows[0]), UNIT_ROWS(parse_rows));
    unit_add_rows(&suite, test_format, format_rows, sizeof(format_rows[0]), UNIT_ROWS(format_rows));
    unit_add(&suite, "format: zero-length buffer untouched", test_format_zero_buffer, NULL);
    unit_add(&suite, "format: never overflows at any buffer size", test_format_every_buffer_size, NULL);
    return unit_run("reply", &suite, NULL, NULL);
}
