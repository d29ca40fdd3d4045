/*
 * test_compose.c -- the message an inbox sends through the API: each good
 * request is composed, parsed back with GMime and its headers and bodies
 * compared; each bad one (header injection with CR/LF/NUL, invalid UTF-8,
 * malformed addresses, too many recipients, oversize fields, bad message
 * ids) is refused with the expected code.
 */
#include "unit.h"

#include <gmime/gmime.h>
#include <string.h>

#include "compose.h"
#include "header.h"

#define S(lit) { lit, sizeof(lit) - 1 }
#define SKIP_HEADER "(GMime shows the IDN decoded)"
#define NONE { NULL, 0 }

/* ---- good requests ------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *display_name;
    compose_str_t to[3];
    compose_str_t cc[2];
    compose_str_t subject, text, html, in_reply_to;
    compose_str_t refs[2];
    /* expected */
    const char *to_header;       /* decoded, as GMime formats the list */
    const char *cc_header;       /* NULL: no Cc */
    const char *subject_decoded;
    const char *content_type;    /* of the top part */
    const char *text_body;       /* NULL: none expected */
    const char *html_body;
    const char *rcpts;           /* envelope, comma-joined */
    const char *refs_header;     /* NULL: none */
} good_row_t;

static const good_row_t good_rows[] = {
    { "plain text, one recipient", "Bob", { S("friend@remote.test") }, { NONE }, S("hello"), S("Hi there.\n"), NONE,
      NONE, { NONE }, "friend@remote.test", NULL, "hello", "text/plain", "Hi there.\n", NULL, "friend@remote.test",
      NULL },
    { "html only", NULL, { S("a@remote.test") }, { NONE }, S("html"), NONE, S("<p>Hi</p>"), NONE, { NONE },
      "a@remote.test", NULL, "html", "text/html", NULL, "<p>Hi</p>", "a@remote.test", NULL },
    { "text and html: multipart/alternative", "Bob", { S("a@remote.test") }, { NONE }, S("both"), S("plain"),
      S("<b>rich</b>"), NONE, { NONE }, "a@remote.test", NULL, "both", "multipart/alternative", "plain",
      "<b>rich</b>", "a@remote.test", NULL },
    { "non-ASCII subject and bodies", "Zoë Ünïcode", { S("a@remote.test") }, { NONE }, S("café ✓ 日本"),
      S("Grüße 🎉\n"), S("<p>été</p>"), NONE, { NONE }, "a@remote.test", NULL, "café ✓ 日本",
      "multipart/alternative", "Grüße 🎉\n", "<p>été</p>", "a@remote.test", NULL },
    { "names, angle brackets, cc, duplicate envelope recipient", NULL,
      { S("Alice Example <alice@remote.test>"), S("<b@remote.test>"), S("\"Quoted, Name\" <c@remote.test>") },
      { S("ALICE@remote.test"), S("d@remote.test") }, S("s"), S("x"), NONE, NONE, { NONE },
      "Alice Example <alice@remote.test>, b@remote.test, \"Quoted, Name\" <c@remote.test>",
      "ALICE@remote.test, d@remote.test", "s", "text/plain", "x", NULL,
      "alice@remote.test,b@remote.test,c@remote.test,d@remote.test", NULL },
    { "reply: In-Reply-To and References", NULL, { S("a@remote.test") }, { NONE }, S("Re: x"), S("y"), NONE,
      S("<orig-1@remote.test>"), { S("<root@remote.test>"), S("<orig-1@remote.test>") }, "a@remote.test", NULL,
      "Re: x", "text/plain", "y", NULL, "a@remote.test", "<root@remote.test> <orig-1@remote.test>" },
    { "empty subject", NULL, { S("a@remote.test") }, { NONE }, S(""), S("y"), NONE, NONE, { NONE }, "a@remote.test",
      NULL, "", "text/plain", "y", NULL, "a@remote.test", NULL },
    /* one parsed value for the envelope and the header: the canonical
     * spelling (quotes only where needed, whitespace trimmed, case kept) */
    { "a TAB inside the brackets is not sent", "Bob", { S("Name <\tbob@remote.test>") }, { NONE }, S("s"), S("x"),
      NONE, NONE, { NONE }, "Name <bob@remote.test>", NULL, "s", "text/plain", "x", NULL, "bob@remote.test", NULL },
    { "needless quotes dropped in both", NULL, { S("\"a.b\"@remote.test") }, { NONE }, S("s"), S("x"), NONE, NONE,
      { NONE }, "a.b@remote.test", NULL, "s", "text/plain", "x", NULL, "a.b@remote.test", NULL },
    { "a needed quote kept in both: one mailbox, not a group", NULL, { S("\"Mallory:ceo\"@bank.example") }, { NONE },
      S("s"), S("x"), NONE, NONE, { NONE }, "\"Mallory:ceo\"@bank.example", NULL, "s", "text/plain", "x", NULL,
      "\"Mallory:ceo\"@bank.example", NULL },
    { "a display name with specials is quoted", NULL, { S("Mallory: <ceo@bank.example>") }, { NONE }, S("s"), S("x"),
      NONE, NONE, { NONE }, "\"Mallory:\" <ceo@bank.example>", NULL, "s", "text/plain", "x", NULL,
      "ceo@bank.example", NULL },
    { "a long display name is folded by GMime, not refused", NULL,
      { S("very long name very long name very long name very long name very long name very long name <a@remote.test>") },
      { NONE }, S("s"), S("x"), NONE, NONE, { NONE },
      "very long name very long name very long name very long name very long name\r\n\tvery long name <a@remote.test>",
      NULL, "s", "text/plain", "x", NULL, "a@remote.test", NULL },
    { "case kept in both", NULL, { S("Bob.Smith@Remote.Test") }, { NONE }, S("s"), S("x"), NONE, NONE, { NONE },
      "Bob.Smith@Remote.Test", NULL, "s", "text/plain", "x", NULL, "Bob.Smith@Remote.Test", NULL },
    { "an IDN domain as A-labels", NULL, { S("a@xn--bcher-kva.example") }, { NONE }, S("s"), S("x"), NONE, NONE,
      { NONE }, SKIP_HEADER, NULL, "s", "text/plain", "x", NULL, "a@xn--bcher-kva.example", NULL },
    /* line ends: LF and CRLF are both line ends, sent as CRLF */
    { "LF, CRLF and a final line without one", NULL, { S("a@remote.test") }, { NONE }, S("s"), S("a\r\nb\nc"), NONE,
      NONE, { NONE }, "a@remote.test", NULL, "s", "text/plain", "a\nb\nc", NULL, "a@remote.test", NULL },
    { "CRLF in a base64 or QP body", NULL, { S("a@remote.test") }, { NONE }, S("s"),
      S("\xc3\xa9t\xc3\xa9\nsecond\r\nthird\n"), S("<p>\xc3\xa9</p>\n<p>x</p>"), NONE, { NONE }, "a@remote.test",
      NULL, "s", "multipart/alternative", "\xc3\xa9t\xc3\xa9\nsecond\nthird\n", "<p>\xc3\xa9</p>\n<p>x</p>",
      "a@remote.test", NULL },
    { "body lines starting with dots and From", NULL, { S("a@remote.test") }, { NONE }, S("dots"),
      S(".\n..\nFrom me\n.end\n"), NONE, NONE, { NONE }, "a@remote.test", NULL, "dots", "text/plain",
      ".\n..\nFrom me\n.end\n", NULL, "a@remote.test", NULL },
};

static size_t
count(const compose_str_t *list, size_t max)
{
    size_t n = 0;
    while (n < max && list[n].data != NULL)
        n++;
    return n;
}

static compose_request_t
request_of(const good_row_t *row)
{
    compose_request_t req = {
        .from_address = "bob--acme@sandbox.test",
        .display_name = row->display_name,
        .to = row->to,
        .to_count = count(row->to, 3),
        .cc = row->cc,
        .cc_count = count(row->cc, 2),
        .subject = row->subject,
        .text = row->text,
        .html = row->html,
        .in_reply_to = row->in_reply_to,
        .references = row->refs,
        .references_count = count(row->refs, 2),
    };
    return req;
}

/* The decoded text with CRLF (the wire form) turned back into LF. */
static char *
part_text(GMimeObject *obj)
{
    char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
    size_t o = 0;
    /* the decoded content is canonical too: every line end CRLF */
    for (size_t i = 0; t[i]; i++) {
        if (t[i] == '\r')
            assert_int_equal(t[i + 1], '\n');
        if (t[i] == '\n')
            assert_true(i > 0 && t[i - 1] == '\r');
    }
    for (size_t i = 0; t[i]; i++)
        if (!(t[i] == '\r' && t[i + 1] == '\n'))
            t[o++] = t[i];
    t[o] = '\0';
    return t;
}

/* The body of the part of the given subtype (NULL if none). */
static char *
find_body(GMimeObject *top, const char *subtype)
{
    if (GMIME_IS_MULTIPART(top)) {
        for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(top)); i++) {
            char *t = find_body(g_mime_multipart_get_part(GMIME_MULTIPART(top), i), subtype);
            if (t)
                return t;
        }
        return NULL;
    }
    if (g_mime_content_type_is_type(g_mime_object_get_content_type(top), "text", subtype))
        return part_text(top);
    return NULL;
}

/* got equals want; a 7bit body may gain the line end the message needs
 * at its end. */
static void
assert_body(char *got, const char *want)
{
    size_t g = strlen(got), w = strlen(want);
    if (g == w + 1 && (w == 0 || want[w - 1] != '\n') && got[g - 1] == '\n')
        got[g - 1] = '\0';
    assert_string_equal(got, want);
}

static void
check_transfer_encodings(GMimeObject *top)
{
    if (GMIME_IS_MULTIPART(top)) {
        for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(top)); i++)
            check_transfer_encodings(g_mime_multipart_get_part(GMIME_MULTIPART(top), i));
        return;
    }
    GMimeContentEncoding enc = g_mime_part_get_content_encoding(GMIME_PART(top));
    assert_true(enc == GMIME_CONTENT_ENCODING_7BIT || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
                enc == GMIME_CONTENT_ENCODING_BASE64);
    assert_string_equal(g_mime_object_get_content_type_parameter(top, "charset"), "utf-8");
}

static void
test_good(void **state)
{
    const good_row_t *row = *state;
    compose_request_t req = request_of(row);
    compose_message_t msg;
    compose_error_t err;
    GMimeStream *stream;
    GMimeParser *parser;
    GMimeMessage *parsed;
    char *s, joined[1024] = "";

    assert_int_equal(compose_build(&req, &msg, &err), 0);
    /* 7-bit, CRLF only, no line over 998 */
    for (size_t i = 0, col = 0; i < msg.len; i++, col++) {
        unsigned char c = (unsigned char)msg.data[i];
        assert_true(c < 0x80);
        if (c == '\n') {
            assert_true(i > 0 && msg.data[i - 1] == '\r');
            col = 0;
        }
        assert_true(col <= 1000);
    }
    stream = g_mime_stream_mem_new_with_buffer(msg.data, msg.len);
    parser = g_mime_parser_new_with_stream(stream);
    parsed = g_mime_parser_construct_message(parser, NULL);
    assert_non_null(parsed);

    s = internet_address_list_to_string(g_mime_message_get_from(parsed), NULL, FALSE);
    if (row->display_name) {
        char want[256];
        snprintf(want, sizeof(want), "%s <bob--acme@sandbox.test>", row->display_name);
        assert_string_equal(s, want);
    } else {
        assert_string_equal(s, "bob--acme@sandbox.test");
    }
    g_free(s);
    s = internet_address_list_to_string(g_mime_message_get_to(parsed), NULL, FALSE);
    if (strcmp(row->to_header, SKIP_HEADER) != 0)
        assert_string_equal(s, row->to_header);
    g_free(s);
    if (row->cc_header) {
        s = internet_address_list_to_string(g_mime_message_get_cc(parsed), NULL, FALSE);
        assert_string_equal(s, row->cc_header);
        g_free(s);
    } else {
        assert_null(g_mime_object_get_header(GMIME_OBJECT(parsed), "Cc"));
    }
    assert_string_equal(g_mime_message_get_subject(parsed) ? g_mime_message_get_subject(parsed) : "",
                        row->subject_decoded);
    assert_non_null(g_mime_message_get_date(parsed));
    assert_non_null(g_mime_object_get_header(GMIME_OBJECT(parsed), "MIME-Version"));

    /* Message-ID: <32 hex @ domain of the inbox>, the same as returned */
    const char *mid = g_mime_message_get_message_id(parsed);
    assert_non_null(mid);
    assert_int_equal(strlen(mid), 32 + 1 + strlen("sandbox.test"));
    assert_string_equal(mid + 33, "sandbox.test");
    char bracketed[300];
    snprintf(bracketed, sizeof(bracketed), "<%s>", mid);
    assert_string_equal(bracketed, msg.message_id);

    if (row->in_reply_to.data) {
        const char *irt = g_mime_object_get_header(GMIME_OBJECT(parsed), "In-Reply-To");
        assert_non_null(irt);
        assert_non_null(strstr(irt, row->in_reply_to.data));
    } else {
        assert_null(g_mime_object_get_header(GMIME_OBJECT(parsed), "In-Reply-To"));
    }
    if (row->refs_header) {
        const char *refs = g_mime_object_get_header(GMIME_OBJECT(parsed), "References");
        assert_non_null(refs);
        GMimeReferences *list = g_mime_references_parse(NULL, refs);
        char got[512] = "";
        for (int i = 0; i < g_mime_references_length(list); i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s<%s>", i ? " " : "",
                     g_mime_references_get_message_id(list, i));
        g_mime_references_free(list);
        assert_string_equal(got, row->refs_header);
    }

    GMimeObject *top = g_mime_message_get_mime_part(parsed);
    char *ct = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(top));
    assert_string_equal(ct, row->content_type);
    g_free(ct);
    check_transfer_encodings(top);
    s = find_body(top, "plain");
    if (row->text_body) {
        assert_non_null(s);
        assert_body(s, row->text_body);
    } else {
        assert_null(s);
    }
    g_free(s);
    s = find_body(top, "html");
    if (row->html_body) {
        assert_non_null(s);
        assert_body(s, row->html_body);
    } else {
        assert_null(s);
    }
    g_free(s);

    for (size_t i = 0; i < msg.rcpt_count; i++)
        snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", i ? "," : "", msg.rcpts[i]);
    assert_string_equal(joined, row->rcpts);
    /* Envelope and header agree: each mailbox To and Cc show, as a mail
     * client reads it, is an envelope recipient, spelled the same; no group. */
    InternetAddressList *lists[] = { g_mime_message_get_to(parsed), g_mime_message_get_cc(parsed) };
    for (size_t l = 0; l < 2; l++) {
        for (int i = 0; lists[l] && i < internet_address_list_length(lists[l]); i++) {
            InternetAddress *ia = internet_address_list_get_address(lists[l], i);
            const char *addr;
            int found = 0;
            assert_true(INTERNET_ADDRESS_IS_MAILBOX(ia));
            addr = internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia));
            for (size_t r = 0; r < msg.rcpt_count && !found; r++)
                found = strcasecmp(msg.rcpts[r], addr) == 0;
            if (!found)
                fail_msg("header mailbox %s is no envelope recipient (%s)", addr, joined);
        }
    }

    g_object_unref(parsed);
    g_object_unref(parser);
    g_object_unref(stream);
    compose_message_free(&msg);
}

/* ---- bad requests ------------------------------------------------------------ */

typedef struct {
    const char *name;
    compose_str_t to[2];
    compose_str_t subject, text, html, in_reply_to;
    const char *code;
    const char *field;   /* expected at the start of the message */
} bad_row_t;

static const bad_row_t bad_rows[] = {
    { "no recipient", { NONE }, S("s"), S("t"), NONE, NONE, "missing_field", "to" },
    { "no subject", { S("a@remote.test") }, NONE, S("t"), NONE, NONE, "missing_field", "subject" },
    { "no body", { S("a@remote.test") }, S("s"), NONE, NONE, NONE, "missing_field", "text or html" },
    { "CRLF in subject (header injection)", { S("a@remote.test") }, S("hi\r\nBcc: victim@remote.test"), S("t"), NONE,
      NONE, "invalid_header", "subject" },
    { "LF in subject", { S("a@remote.test") }, S("hi\nX: y"), S("t"), NONE, NONE, "invalid_header", "subject" },
    { "bare CR in subject", { S("a@remote.test") }, S("hi\rX: y"), S("t"), NONE, NONE, "invalid_header", "subject" },
    { "NUL in subject", { S("a@remote.test") }, S("hi\0there"), S("t"), NONE, NONE, "invalid_header", "subject" },
    { "invalid UTF-8 in subject", { S("a@remote.test") }, S("caf\xc3"), S("t"), NONE, NONE, "invalid_utf8", "subject" },
    { "overlong UTF-8 in text", { S("a@remote.test") }, S("s"), S("\xc0\xaf"), NONE, NONE, "invalid_utf8", "text" },
    { "NUL in text", { S("a@remote.test") }, S("s"), S("a\0b"), NONE, NONE, "invalid_body", "text" },
    { "NUL in html", { S("a@remote.test") }, S("s"), NONE, S("<p>\0</p>"), NONE, "invalid_body", "html" },
    { "CRLF in an address (header injection)", { S("a@remote.test\r\nBcc: v@remote.test") }, S("s"), S("t"), NONE,
      NONE, "invalid_header", "to[0]" },
    { "CRLF in a display name", { S("Eve\r\nBcc: v@remote.test <a@remote.test>") }, S("s"), S("t"), NONE, NONE,
      "invalid_header", "to[0]" },
    { "NUL in an address", { S("a@remote.test\0b@evil.test") }, S("s"), S("t"), NONE, NONE, "invalid_header",
      "to[0]" },
    { "no @", { S("nobody") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    { "empty address", { S("") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    { "two addresses in one entry", { S("a@remote.test, b@remote.test") }, S("s"), S("t"), NONE, NONE,
      "invalid_address", "to[0]" },
    { "space in the address", { S("a b@remote.test") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    /* address_normalize takes a quoted local part, the SMTP command line cannot (no 503 later) */
    { "quoted local part with a space", { S("\"a b\"@remote.test") }, S("s"), S("t"), NONE, NONE,
      "invalid_address", "to[0]" },
    { "quoted local part with '>'", { S("Name <\"a>b\"@remote.test>") }, S("s"), S("t"), NONE, NONE,
      "invalid_address", "to[0]" },
    { "domain without a dot", { S("a@localhost") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    { "source route", { S("@relay.test:a@remote.test") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    { "non-ASCII address", { S("jos\xc3\xa9@remote.test") }, S("s"), S("t"), NONE, NONE, "invalid_address",
      "to[0]" },
    { "unbalanced angle bracket", { S("<a@remote.test") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    { "second recipient bad", { S("a@remote.test"), S("b@") }, S("s"), S("t"), NONE, NONE, "invalid_address",
      "to[1]" },
    /* the strict grammar (issue 10, item 7): what a header would read as
     * something else than the envelope says */
    { "a group that delivers elsewhere", { S("Mallory:ceo@bank.example;@evil.example") }, S("s"), S("t"), NONE, NONE,
      "invalid_address", "to[0]" },
    { "':' in the domain", { S("bob@example.o2:g") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    { "unquoted ':' in the local part (a group in To)", { S("Mallory:ceo@bank.example") }, S("s"), S("t"), NONE, NONE,
      "invalid_address", "to[0]" },
    { "unquoted ',' in the local part (two addresses in To)", { S("a,b@remote.test") }, S("s"), S("t"), NONE, NONE,
      "invalid_address", "to[0]" },
    { "unquoted ';' in the local part", { S("a;b@remote.test") }, S("s"), S("t"), NONE, NONE, "invalid_address",
      "to[0]" },
    { "a comment in the local part", { S("a(b)c@remote.test") }, S("s"), S("t"), NONE, NONE, "invalid_address",
      "to[0]" },
    { "unquoted trailing dot", { S("x <yz.@w>") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    { "two dots unquoted", { S("a..b@remote.test") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    { "a backslash outside quotes", { S("a\\-b@remote.test") }, S("s"), S("t"), NONE, NONE, "invalid_address",
      "to[0]" },
    { "quoted pieces", { S("\"a\".\"b\"@remote.test") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    { "the dotted-domain check looks at the domain only", { S("x <\"yz.\"@w>") }, S("s"), S("t"), NONE, NONE,
      "invalid_address", "to[0]" },
    { "an address literal", { S("a@[192.0.2.1]") }, S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    { "an A-label that is not punycode", { S("a@xn--zzzzzzz-invalid.example") }, S("s"), S("t"), NONE, NONE,
      "invalid_address", "to[0]" },
    { "an angle bracket in the display name", { S("Eve <evil@remote.test> <a@remote.test>") }, S("s"), S("t"), NONE,
      NONE, "invalid_address", "to[0]" },
    { "an encoded-word as the display name (it would read as another text)", { S("=?utf-8?q?x?= <a@remote.test>") },
      S("s"), S("t"), NONE, NONE, "invalid_address", "to[0]" },
    /* bodies: a CR that is no CRLF never reaches DATA */
    { "a body of one CR", { S("a@remote.test") }, S("s"), S("\r"), NONE, NONE, "invalid_body", "text" },
    { "a bare CR inside the text", { S("a@remote.test") }, S("s"), S("a\rb\n"), NONE, NONE, "invalid_body", "text" },
    { "CR CR LF", { S("a@remote.test") }, S("s"), S("a\r\r\nb"), NONE, NONE, "invalid_body", "text" },
    { "a bare CR in the html", { S("a@remote.test") }, S("s"), S("ok\n"), S("<p>\r</p>"), NONE, "invalid_body",
      "html" },
    { "a bare CR in a non-ASCII text", { S("a@remote.test") }, S("s"), S("caf\xc3\xa9\rx"), NONE, NONE,
      "invalid_body", "text" },
    { "TAB and specials in the subject are fine, CR is not", { S("a@remote.test") }, S("a\tb\rc"), S("t"), NONE, NONE,
      "invalid_header", "subject" },
    { "In-Reply-To without brackets", { S("a@remote.test") }, S("s"), S("t"), NONE, S("id@remote.test"),
      "invalid_message_id", "inReplyTo" },
    { "In-Reply-To with CRLF", { S("a@remote.test") }, S("s"), S("t"), NONE, S("<a@b>\r\nBcc: x@y.test"),
      "invalid_message_id", "inReplyTo" },
    { "In-Reply-To without @", { S("a@remote.test") }, S("s"), S("t"), NONE, S("<abc>"), "invalid_message_id",
      "inReplyTo" },
};

static void
test_bad(void **state)
{
    const bad_row_t *row = *state;
    compose_request_t req = {
        .from_address = "bob--acme@sandbox.test",
        .to = row->to,
        .to_count = count(row->to, 2),
        .subject = row->subject,
        .text = row->text,
        .html = row->html,
        .in_reply_to = row->in_reply_to,
    };
    compose_message_t msg;
    compose_error_t err;
    assert_int_equal(compose_build(&req, &msg, &err), -1);
    assert_string_equal(err.code, row->code);
    assert_true(strncmp(err.message, row->field, strlen(row->field)) == 0);
    assert_null(msg.data);
    assert_int_equal(msg.rcpt_count, 0);
}

/* ---- sizes ---------------------------------------------------------------------- */

static void
test_limits(void **state)
{
    static compose_str_t many[COMPOSE_MAX_RECIPIENTS + 1];
    static char addrs[COMPOSE_MAX_RECIPIENTS + 1][32];
    char *big = malloc(COMPOSE_MAX_BODY + 2), subject[COMPOSE_MAX_SUBJECT + 2];
    compose_message_t msg;
    compose_error_t err;
    compose_request_t req = { .from_address = "bob--acme@sandbox.test", .subject = S("s"), .text = S("t") };
    (void)state;

    for (int i = 0; i <= COMPOSE_MAX_RECIPIENTS; i++) {
        snprintf(addrs[i], sizeof(addrs[i]), "r%d@remote.test", i);
        many[i].data = addrs[i];
        many[i].len = strlen(addrs[i]);
    }
    req.to = many;
    req.to_count = COMPOSE_MAX_RECIPIENTS;
    assert_int_equal(compose_build(&req, &msg, &err), 0);
    assert_int_equal(msg.rcpt_count, COMPOSE_MAX_RECIPIENTS);
    compose_message_free(&msg);
    req.to_count = COMPOSE_MAX_RECIPIENTS + 1;
    assert_int_equal(compose_build(&req, &msg, &err), -1);
    assert_string_equal(err.code, "too_many_recipients");
    req.to_count = 40;
    req.cc = many + 40;
    req.cc_count = 11;
    assert_int_equal(compose_build(&req, &msg, &err), -1);
    assert_string_equal(err.code, "too_many_recipients");
    req.cc_count = 0;

    /* a body of exactly the limit, one long line: GMime picks QP or base64 */
    memset(big, 'x', COMPOSE_MAX_BODY + 1);
    big[COMPOSE_MAX_BODY + 1] = '\0';
    req.text = (compose_str_t){ big, COMPOSE_MAX_BODY };
    assert_int_equal(compose_build(&req, &msg, &err), 0);
    assert_true(msg.len > COMPOSE_MAX_BODY);
    compose_message_free(&msg);
    req.text.len = COMPOSE_MAX_BODY + 1;
    assert_int_equal(compose_build(&req, &msg, &err), -1);
    assert_string_equal(err.code, "too_large");
    req.text = (compose_str_t){ "t", 1 };

    memset(subject, 's', sizeof(subject));
    req.subject = (compose_str_t){ subject, COMPOSE_MAX_SUBJECT };
    assert_int_equal(compose_build(&req, &msg, &err), 0);
    compose_message_free(&msg);
    req.subject.len = COMPOSE_MAX_SUBJECT + 1;
    assert_int_equal(compose_build(&req, &msg, &err), -1);
    assert_string_equal(err.code, "too_large");
    free(big);
}

/* Two messages never share a Message-ID; a hostile display name from the
 * inbox row is made harmless, not passed on. */
static void
test_message_ids_and_display_name(void **state)
{
    compose_str_t to[] = { S("a@remote.test") };
    compose_request_t req = { .from_address = "Bob--Acme@Sandbox.test", .display_name = "Evil\r\nBcc: x@y.test",
                              .to = to, .to_count = 1, .subject = S("s"), .text = S("t") };
    compose_message_t a, b;
    compose_error_t err;
    (void)state;
    assert_int_equal(compose_build(&req, &a, &err), 0);
    assert_int_equal(compose_build(&req, &b, &err), 0);
    assert_string_not_equal(a.message_id, b.message_id);
    assert_null(strstr(a.data, "\r\nBcc:"));
    /* CR and LF became spaces inside the (quoted) name of From */
    assert_non_null(strstr(a.data, "\r\nFrom: \"Evil  Bcc: x@y.test\" <bob--acme@sandbox.test>\r\n"));
    compose_message_free(&a);
    compose_message_free(&b);
}

static void
test_valid_msgid(void **state)
{
    (void)state;
    assert_true(compose_valid_msgid("<a@b>", 5));
    assert_true(compose_valid_msgid("<CAF=x+y.z@mail.gmail.com>", 26));
    assert_false(compose_valid_msgid("<@b>", 4));
    assert_false(compose_valid_msgid("<a@>", 4));
    assert_false(compose_valid_msgid("<a@b@c>", 7));
    assert_false(compose_valid_msgid("<a b@c>", 7));
    assert_false(compose_valid_msgid("<a@b> <c@d>", 11));
    assert_false(compose_valid_msgid("a@b", 3));
}

int
main(void)
{
    static unit_suite_t suite;
    header_init();
    unit_add_rows(&suite, test_good, good_rows, sizeof(good_rows[0]), UNIT_ROWS(good_rows));
    unit_add_rows(&suite, test_bad, bad_rows, sizeof(bad_rows[0]), UNIT_ROWS(bad_rows));
    unit_add(&suite, "sizes: 50 recipients, 1 MB bodies, 998-byte subject", test_limits, NULL);
    unit_add(&suite, "fresh Message-IDs; display name made safe", test_message_ids_and_display_name, NULL);
    unit_add(&suite, "message id syntax", test_valid_msgid, NULL);
    return unit_run("compose", &suite, NULL, NULL);
}
