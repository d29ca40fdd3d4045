/*
 * test_policy_proto.c -- the Postfix policy protocol as the policy service
 * reads it: where a request ends however it arrives, what is read from it,
 * and every kind of malformed input (missing '=', NUL bytes, over-long
 * lines and requests, no terminating empty line, duplicate attributes,
 * invalid UTF-8), then the answers written back.
 */
#include "unit.h"

#include <string.h>

#include "policy_proto.h"

/* A request as Postfix 3.7 sends it at RCPT. */
#define POSTFIX_RCPT                                                                                           \
    "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.7\n"      \
    "client_name=mail.example\nclient_port=40123\nreverse_client_name=mail.example\nserver_address=127.0.0.1\n" \
    "server_port=25\nhelo_name=mail.example\nsender=bob--acme@sandbox.test\nrecipient=friend@remote.test\n"   \
    "recipient_count=0\nqueue_id=\nstress=\nsasl_method=PLAIN\nsasl_username=alice@example.test\n"           \
    "sasl_sender=\nsize=0\nccert_subject=\nccert_issuer=\nccert_fingerprint=\nccert_pubkey_fingerprint=\n"   \
    "encryption_protocol=\nencryption_cipher=\nencryption_keysize=0\netrn_domain=\n"                          \
    "instance=5f1c.6655f0a3.1b2c3.0\npolicy_context=\ncompatibility_level=3.6\nmail_version=3.7.11\n\n"

/* ---- framing ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *in;
    size_t len;          /* 0: strlen(in) */
    ssize_t want;        /* request length, 0 (need more) or -1 */
    const char *err;     /* substring of the error when -1 */
} frame_row_t;

static const frame_row_t frame_rows[] = {
    { "Postfix request framed whole", POSTFIX_RCPT, 0, (ssize_t)sizeof(POSTFIX_RCPT) - 1, NULL },
    { "request ends at its empty line", "request=smtpd_access_policy\n\n", 0, 29, NULL },
    { "CRLF line ends tolerated", "request=smtpd_access_policy\r\nsender=a@b.c\r\n\r\n", 0, 45, NULL },
    { "two pipelined requests: the first only", "request=smtpd_access_policy\n\nrequest=smtpd_access_policy\n\n", 0,
      29, NULL },
    { "no empty line yet: need more", "request=smtpd_access_policy\nsender=a@b.c\n", 0, 0, NULL },
    { "half a line: need more", "request=smtpd_acc", 0, 0, NULL },
    { "nothing yet: need more", "", 0, 0, NULL },
    { "a lone empty line is an (empty) request", "\n", 0, 1, NULL },
    { "NUL bytes do not confuse framing", "sender=a\0b\n\n", 12, 12, NULL },
};

/* Frames the row once whole and once byte by byte: same answer. */
static void
test_frame(void **state)
{
    const frame_row_t *row = *state;
    size_t len = row->len ? row->len : strlen(row->in);
    char err[256] = "";
    policy_framer_t framer;

    memset(&framer, 0, sizeof(framer));
    assert_int_equal(policy_frame(&framer, row->in, len, err, sizeof(err)), row->want);
    memset(&framer, 0, sizeof(framer));
    ssize_t got = 0;
    for (size_t i = 1; i <= len && got == 0; i++)
        got = policy_frame(&framer, row->in, i, err, sizeof(err));
    assert_int_equal(got, row->want);
    if (row->err)
        assert_non_null(strstr(err, row->err));
}

/* Each byte is examined once: a request fed one byte at a time costs as
 * much as one fed whole (the scan resumes where it stopped). */
static void
test_frame_resumes(void **state)
{
    policy_framer_t framer;
    char err[256];
    const char *in = POSTFIX_RCPT;
    memset(&framer, 0, sizeof(framer));
    assert_int_equal(policy_frame(&framer, in, 100, err, sizeof(err)), 0);
    assert_int_equal(framer.scanned, 100);
    assert_int_equal(policy_frame(&framer, in, 100, err, sizeof(err)), 0);
    assert_int_equal(framer.scanned, 100);
    assert_int_equal(policy_frame(&framer, in, strlen(in), err, sizeof(err)), (ssize_t)strlen(in));
}

/* A line of POLICY_LINE_MAX bytes passes; one byte more is refused as
 * soon as it arrives, before any newline. */
static void
test_frame_line_limit(void **state)
{
    size_t size = POLICY_LINE_MAX + 64;
    char *buf = malloc(size), err[256] = "";
    policy_framer_t framer;

    memcpy(buf, "helo_name=", 10);
    memset(buf + 10, 'x', POLICY_LINE_MAX - 10);
    buf[POLICY_LINE_MAX] = '\n';
    buf[POLICY_LINE_MAX + 1] = '\n';
    memset(&framer, 0, sizeof(framer));
    assert_int_equal(policy_frame(&framer, buf, POLICY_LINE_MAX + 2, err, sizeof(err)), POLICY_LINE_MAX + 2);

    buf[POLICY_LINE_MAX] = 'x';
    buf[POLICY_LINE_MAX + 1] = 'x';
    memset(&framer, 0, sizeof(framer));
    assert_int_equal(policy_frame(&framer, buf, POLICY_LINE_MAX + 1, err, sizeof(err)), 0); /* maybe "\r" next */
    assert_int_equal(policy_frame(&framer, buf, POLICY_LINE_MAX + 2, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "longer than"));

    /* LINE_MAX + 1 bytes then a newline: over the limit too. */
    buf[POLICY_LINE_MAX + 1] = '\n';
    memset(&framer, 0, sizeof(framer));
    assert_int_equal(policy_frame(&framer, buf, POLICY_LINE_MAX + 2, err, sizeof(err)), -1);
    free(buf);
}

/* Short lines that never end the request: refused at POLICY_REQUEST_MAX
 * bytes or POLICY_ATTRS_MAX lines, whichever comes first. */
static void
test_frame_request_limits(void **state)
{
    char *buf = malloc(POLICY_REQUEST_MAX + 8000), err[256] = "";
    policy_framer_t framer;
    size_t len = 0;
    ssize_t got = 0;

    /* 300 lines of 200 bytes: too many lines (60 KB is under the size limit). */
    memset(&framer, 0, sizeof(framer));
    for (int i = 0; i < 300 && got == 0; i++) {
        memset(buf + len, 'a', 199);
        buf[len + 1] = '=';
        buf[len + 199] = '\n';
        len += 200;
        got = policy_frame(&framer, buf, len, err, sizeof(err));
    }
    assert_int_equal(got, -1);
    assert_non_null(strstr(err, "lines"));
    assert_int_equal(len, (POLICY_ATTRS_MAX + 1) * 200);

    /* 8 lines of 8 KB: the size limit. */
    memset(&framer, 0, sizeof(framer));
    len = 0;
    got = 0;
    while (got == 0 && len < POLICY_REQUEST_MAX) {
        memset(buf + len, 'b', 7999);
        buf[len + 1] = '=';
        buf[len + 7999] = '\n';
        len += 8000;
        if (len > POLICY_REQUEST_MAX)
            len = POLICY_REQUEST_MAX;
        got = policy_frame(&framer, buf, len, err, sizeof(err));
    }
    assert_int_equal(got, -1);
    assert_non_null(strstr(err, "request longer than"));
    free(buf);
}

/* ---- parsing ------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *in;
    size_t len;               /* 0: strlen(in) */
    int ok;
    policy_attr_t attr;       /* when ok: this attribute ... */
    const char *value;        /* ... has this value (NULL: absent) */
    const char *err;          /* when not ok: substring of the error */
} parse_row_t;

#define REQ "request=smtpd_access_policy\n"
#define OK(in, attr, value) in, 0, 1, attr, value, NULL
#define BAD(in, err) in, 0, 0, 0, NULL, err
#define BADN(in, len, err) in, len, 0, 0, NULL, err

static const parse_row_t parse_rows[] = {
    /* what is read */
    { "Postfix request: sender", OK(POSTFIX_RCPT, POLICY_ATTR_SENDER, "bob--acme@sandbox.test") },
    { "Postfix request: recipient", OK(POSTFIX_RCPT, POLICY_ATTR_RECIPIENT, "friend@remote.test") },
    { "Postfix request: sasl_username", OK(POSTFIX_RCPT, POLICY_ATTR_SASL_USERNAME, "alice@example.test") },
    { "Postfix request: client_address", OK(POSTFIX_RCPT, POLICY_ATTR_CLIENT_ADDRESS, "192.0.2.7") },
    { "Postfix request: instance", OK(POSTFIX_RCPT, POLICY_ATTR_INSTANCE, "5f1c.6655f0a3.1b2c3.0") },
    { "Postfix request: empty queue_id is present and empty", OK(POSTFIX_RCPT, POLICY_ATTR_QUEUE_ID, "") },
    { "absent attribute is NULL", OK(REQ "\n", POLICY_ATTR_SENDER, NULL) },
    { "value may hold '='", OK(REQ "sender=a=b@c.d\n\n", POLICY_ATTR_SENDER, "a=b@c.d") },
    { "empty value (null sender)", OK(REQ "sender=\n\n", POLICY_ATTR_SENDER, "") },
    { "CRLF line ends", OK("request=smtpd_access_policy\r\nsender=a@b.c\r\n\r\n", POLICY_ATTR_SENDER, "a@b.c") },
    { "attribute order does not matter", OK("sender=a@b.c\n" REQ "\n", POLICY_ATTR_REQUEST, "smtpd_access_policy") },
    { "UTF-8 (SMTPUTF8) sender kept", OK(REQ "sender=j\xc3\xb6rg@example.com\n\n", POLICY_ATTR_SENDER,
                                          "j\xc3\xb6rg@example.com") },
    { "4-byte UTF-8 kept", OK(REQ "sender=\xf0\x9f\x93\xab@example.com\n\n", POLICY_ATTR_SENDER,
                              "\xf0\x9f\x93\xab@example.com") },
    { "unknown attributes ignored", OK(REQ "x_future=1\nsender=a@b.c\n\n", POLICY_ATTR_SENDER, "a@b.c") },
    { "invalid UTF-8 in an ignored attribute is ignored",
      OK(REQ "helo_name=\xff\xfe\nsender=a@b.c\n\n", POLICY_ATTR_SENDER, "a@b.c") },
    { "control character in an ignored attribute is ignored",
      OK(REQ "helo_name=a\tb\nsender=a@b.c\n\n", POLICY_ATTR_SENDER, "a@b.c") },
    { "duplicate attribute, same value: fine", OK(REQ "sender=a@b.c\nsender=a@b.c\n\n", POLICY_ATTR_SENDER,
                                                  "a@b.c") },
    { "duplicate ignored attribute, different values: fine",
      OK(REQ "helo_name=a\nhelo_name=b\nsender=a@b.c\n\n", POLICY_ATTR_SENDER, "a@b.c") },
    { "duplicate request line is fine", OK(REQ REQ "\n", POLICY_ATTR_REQUEST, "smtpd_access_policy") },

    /* malformed */
    { "missing '='", BAD(REQ "sender a@b.c\n\n", "line 2 has no '='") },
    { "line of only a name", BAD(REQ "garbage\n\n", "no '='") },
    { "empty attribute name", BAD(REQ "=value\n\n", "empty attribute name") },
    { "NUL byte in a value", BADN(REQ "sender=a\0@b.c\n\n", sizeof(REQ "sender=a\0@b.c\n\n") - 1, "NUL") },
    { "NUL byte in an ignored attribute", BADN(REQ "helo\0name=x\n\n", sizeof(REQ "helo\0name=x\n\n") - 1, "NUL") },
    { "NUL byte alone on a line", BADN(REQ "\0\n\n", sizeof(REQ "\0\n\n") - 1, "NUL") },
    { "duplicate attribute with different values",
      BAD(REQ "sasl_username=alice\nsasl_username=mallory\n\n", "sasl_username sent twice") },
    { "duplicate sender with different values", BAD(REQ "sender=a@b.c\nsender=x@y.z\n\n", "sender sent twice") },
    { "duplicate request type differing", BAD(REQ "request=other\n\n", "request sent twice") },
    { "invalid UTF-8: lone continuation byte", BAD(REQ "sender=a\x80@b.c\n\n", "sender is not valid UTF-8") },
    { "invalid UTF-8: Latin-1 byte", BAD(REQ "recipient=j\xf6rg@b.c\n\n", "recipient is not valid UTF-8") },
    { "invalid UTF-8: overlong '/'", BAD(REQ "sender=\xc0\xaf@b.c\n\n", "not valid UTF-8") },
    { "invalid UTF-8: overlong 3-byte", BAD(REQ "sender=\xe0\x80\xaf@b.c\n\n", "not valid UTF-8") },
    { "invalid UTF-8: surrogate", BAD(REQ "sender=\xed\xa0\x80@b.c\n\n", "not valid UTF-8") },
    { "invalid UTF-8: beyond U+10FFFF", BAD(REQ "sender=\xf4\x90\x80\x80@b.c\n\n", "not valid UTF-8") },
    { "invalid UTF-8: truncated at end of value", BAD(REQ "sender=a@b.c\xe2\x82\n\n", "not valid UTF-8") },
    { "invalid UTF-8: 0xff", BAD(REQ "sasl_username=\xff\n\n", "sasl_username is not valid UTF-8") },
    { "control character in a value read", BAD(REQ "sasl_username=al\tice\n\n", "not valid UTF-8 text") },
    { "DEL in a value read", BAD(REQ "queue_id=AB\x7f\n\n", "not valid UTF-8 text") },
    { "bare CR inside a value read", BAD(REQ "sender=a\rb@c.d\n\n", "not valid UTF-8 text") },
    { "no terminating empty line", BAD(REQ "sender=a@b.c\n", "not ended by one empty line") },
    { "last line without newline", BAD(REQ "sender=a@b.c", "not ended by one empty line") },
    { "bytes after the empty line", BAD(REQ "\nsender=a@b.c\n\n", "not ended by one empty line") },
    { "empty request", BAD("\n", "no request attribute") },
    { "no request attribute", BAD("sender=a@b.c\n\n", "no request attribute") },
    { "foreign request type", BAD("request=junk\n\n", "not smtpd_access_policy") },
    { "recipient_count not a number", BAD(REQ "recipient_count=two\n\n", "recipient_count") },
    { "recipient_count negative", BAD(REQ "recipient_count=-1\n\n", "recipient_count") },
    { "recipient_count absurd", BAD(REQ "recipient_count=99999999999999999999\n\n", "recipient_count") },
};

static void
test_parse(void **state)
{
    const parse_row_t *row = *state;
    size_t len = row->len ? row->len : strlen(row->in);
    policy_request_t *req = malloc(sizeof(*req));
    char err[256] = "";
    int rc = policy_parse(row->in, len, req, err, sizeof(err));
    if (row->ok) {
        if (rc != 0)
            fail_msg("refused: %s", err);
        if (row->value == NULL)
            assert_null(req->value[row->attr]);
        else
            assert_string_equal(policy_get(req, row->attr), row->value);
    } else {
        assert_int_equal(rc, -1);
        if (strstr(err, row->err) == NULL)
            fail_msg("error \"%s\" does not say \"%s\"", err, row->err);
    }
    free(req);
}

/* Framing then parsing every prefix of a request, as a stalled client
 * would leave it, never reads past the bytes given nor accepts it. */
static void
test_parse_truncated(void **state)
{
    policy_request_t *req = malloc(sizeof(*req));
    char err[256];
    const char *in = POSTFIX_RCPT;
    size_t len = strlen(in);
    for (size_t i = 0; i < len; i++) {
        char *copy = malloc(i + 1);
        memcpy(copy, in, i);
        assert_int_equal(policy_parse(copy, i, req, err, sizeof(err)), -1);
        free(copy);
    }
    assert_int_equal(policy_parse(in, len, req, err, sizeof(err)), 0);
    free(req);
}

static void
test_parse_numbers_and_states(void **state)
{
    static const struct {
        const char *in;
        policy_state_t state;
        long count;
    } rows[] = {
        { REQ "protocol_state=RCPT\nrecipient_count=0\n\n", POLICY_STATE_RCPT, 0 },
        { REQ "protocol_state=MAIL\n\n", POLICY_STATE_MAIL, 0 },
        { REQ "protocol_state=END-OF-MESSAGE\nrecipient_count=3\n\n", POLICY_STATE_END_OF_MESSAGE, 3 },
        { REQ "protocol_state=DATA\nrecipient_count=3\n\n", POLICY_STATE_OTHER, 3 },
        { REQ "protocol_state=CONNECT\n\n", POLICY_STATE_OTHER, 0 },
        { REQ "protocol_state=VRFY\n\n", POLICY_STATE_OTHER, 0 },
        { REQ "protocol_state=\nrecipient_count=\n\n", POLICY_STATE_OTHER, 0 },
        { REQ "\n", POLICY_STATE_OTHER, 0 },
        { REQ "protocol_state=END-OF-MESSAGE\nrecipient_count=1000000\n\n", POLICY_STATE_END_OF_MESSAGE, 1000000 },
    };
    policy_request_t *req = malloc(sizeof(*req));
    char err[256];
    for (size_t i = 0; i < UNIT_ROWS(rows); i++) {
        assert_int_equal(policy_parse(rows[i].in, strlen(rows[i].in), req, err, sizeof(err)), 0);
        assert_int_equal(policy_state(req), rows[i].state);
        assert_int_equal(req->recipient_count, rows[i].count);
    }
    assert_int_equal(policy_parse(REQ "recipient_count=1000001\n\n", strlen(REQ "recipient_count=1000001\n\n"), req,
                                  err, sizeof(err)),
                     -1);
    free(req);
}

/* ---- answers ---------------------------------------------------------------------- */

static void
test_format_reply(void **state)
{
    decision_t d;
    char out[700];

    memset(&d, 0, sizeof(d));
    d.action = DECISION_CONTINUE;
    assert_int_equal(policy_format_reply(&d, out, sizeof(out)), strlen("action=DUNNO\n\n"));
    assert_string_equal(out, "action=DUNNO\n\n");

    d.action = DECISION_REJECT;
    d.code = 550;
    snprintf(d.xcode, sizeof(d.xcode), "5.2.1");
    snprintf(d.text, sizeof(d.text), "inbox carol--acme@sandbox.test is disabled");
    policy_format_reply(&d, out, sizeof(out));
    assert_string_equal(out, "action=550 5.2.1 inbox carol--acme@sandbox.test is disabled\n\n");

    d.action = DECISION_TEMPFAIL;
    d.code = 451;
    snprintf(d.xcode, sizeof(d.xcode), "4.7.1");
    snprintf(d.text, sizeof(d.text), "two\r\nlines\n");
    policy_format_reply(&d, out, sizeof(out));
    assert_string_equal(out, "action=451 4.7.1 two  lines \n\n");

    d.xcode[0] = '\0';
    snprintf(d.text, sizeof(d.text), "no enhanced code");
    policy_format_reply(&d, out, sizeof(out));
    assert_string_equal(out, "action=451 no enhanced code\n\n");

    assert_int_equal(policy_format_reply(&d, out, 10), 0);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_frame, frame_rows, sizeof(frame_rows[0]), UNIT_ROWS(frame_rows));
    unit_add(&suite, "framing resumes where it stopped", test_frame_resumes, NULL);
    unit_add(&suite, "over-long line refused", test_frame_line_limit, NULL);
    unit_add(&suite, "over-long request refused (lines, bytes)", test_frame_request_limits, NULL);
    unit_add_rows(&suite, test_parse, parse_rows, sizeof(parse_rows[0]), UNIT_ROWS(parse_rows));
    unit_add(&suite, "every truncation of a request is refused", test_parse_truncated, NULL);
    unit_add(&suite, "protocol states and recipient_count", test_parse_numbers_and_states, NULL);
    unit_add(&suite, "answers: DUNNO, NNN X.Y.Z text, one line", test_format_reply, NULL);
    return unit_run("policy_proto", &suite, NULL, NULL);
}
