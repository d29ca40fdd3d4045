/*
 * test_mime_parse.c -- bodies, reply and attachments of inbound messages:
 * each fixture in tests/fixtures/mime/ (hand-written: charsets, transfer
 * encodings, alternative/mixed/related, RFC 2231 names, an attached
 * message, reply styles, broken MIME) gives the decoded text, HTML, reply,
 * attachment list with exact sizes and SHA-256 (checked with sha256sum),
 * and defects.  Generated hostile input (10,000 nested multiparts, 5,000
 * attachments, a 20 MB body, every truncation, random MIME pieces, parsing
 * on several threads at once) must give bounded, valid output.  The
 * address headers that make GMime 3.2.13 leak (lib/mail/gmime_guard) leak
 * nothing: measured on the heap here, and by LeakSanitizer in an ASan build.
 */
#define _GNU_SOURCE /* memmem */
#include "unit.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>

#include <malloc.h>
#include <stdlib.h>

#include "dsn.h"
#include "gmime_guard.h"
#include "header.h"
#include "mime_parse.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/fixtures/mime"
#endif

static const char SKIP[] = "(not checked)"; /* a row's field that is not compared */

typedef struct {
    const char *name;
    const char *file;
    const char *text;  /* NULL: must be NULL; SKIP */
    const char *html;
    const char *reply;
    size_t attachments;
    int defects;       /* 0: none; 1: some */
} mime_row_t;

static const mime_row_t mime_rows[] = {
    { "plain ASCII", "plain_ascii.eml", "Hello Bob,\n\nThe meeting is at 3pm.\n\nAlice\n", NULL,
      "Hello Bob,\n\nThe meeting is at 3pm.\n\nAlice", 0, 0 },
    { "ISO-8859-1 quoted-printable, soft line break", "latin1_qp.eml",
      "Café crème brûlée, s'il vous plaît. Une très longue ligne qui est coupée.\n", NULL, SKIP, 0, 0 },
    { "windows-1252 8bit (quotes, dash, euro)", "windows1252.eml", "“Quoted” – costs €5 … naïve\n", NULL, SKIP, 0,
      0 },
    { "KOI8-R 8bit", "koi8r.eml", "Привет, мир! Это письмо в KOI8-R.\n", NULL, SKIP, 0, 0 },
    { "Shift_JIS base64", "shift_jis_base64.eml", "こんにちは、世界。日本語のメールです。\n", NULL, SKIP, 0, 0 },
    { "UTF-8 base64", "utf8_base64.eml", "Grüße aus Köln 🎉\nΕλληνικά και русский.\n", NULL, SKIP, 0, 0 },
    { "HTML only: reply from the HTML", "html_only.eml", NULL, SKIP, "Sounds good & see you Friday.\nBob", 0, 0 },
    { "multipart/alternative", "alternative.eml", "Plain version: été.\n", "<p>HTML version: été.</p>\n",
      "Plain version: été.", 0, 0 },
    { "mixed with a PDF", "mixed_pdf.eml", "Please find the invoice attached.\n", NULL,
      "Please find the invoice attached.", 1, 0 },
    { "related with inline images", "related_inline.eml", NULL, "<p>Logo: <img src=\"cid:logo@example.com\"></p>\n",
      "Logo:", 2, 0 },
    { "RFC 2231 and RFC 2047 filenames", "rfc2231_filename.eml", "Three files.\n", NULL, "Three files.", 3, 0 },
    { "attached message is an attachment", "attached_message.eml", "See the message below.\n", NULL,
      "See the message below.", 1, 0 },
    { "Gmail reply, wrapped attribution", "reply_gmail.eml", SKIP, NULL, "Yes, 12:30 works for me.", 0, 0 },
    { "Outlook reply, underscores and From/Sent", "reply_outlook.eml", SKIP, NULL,
      "Thanks, I will review it today.\n\nRegards,\nAlice", 0, 0 },
    { "Apple Mail reply, signature", "reply_apple.eml", SKIP, NULL, "Lovely, thanks!", 0, 0 },
    /* broken */
    { "truncated multipart keeps the text", "broken_truncated.eml", "The text survives.\n", NULL, SKIP, 1, 1 },
    { "multipart without boundary: its text kept", "broken_no_boundary.eml",
      "--x\nContent-Type: text/plain\n\nBody of a multipart without boundary.\n--x--\n", NULL, SKIP, 0, 1 },
    { "boundary never closed", "broken_unclosed.eml", "First part.\n", "<p>Never closed.</p>\n", "First part.", 0,
      1 },
    { "bad base64: the valid characters decoded", "broken_base64.eml", "Hello world", NULL, "Hello world", 0, 0 },
    { "NUL bytes in headers and body", "broken_nul.eml", "before after\nline two\n", NULL, SKIP, 0, 0 },
    { "8-bit headers", "broken_8bit_header.eml", "Hallo.\n", NULL, "Hallo.", 1, 1 },
    { "charset=unknown-xyz: Latin-1 guessed", "broken_unknown_charset.eml", "Déjà vu\n", NULL, SKIP, 0, 1 },
    { "UTF-8 labelled Shift_JIS", "broken_lying_charset.eml", "Ünïcödé is UTF-8 here ✓\n", NULL, SKIP, 0, 1 },
    { "headers only", "headers_only.eml", "", NULL, NULL, 0, 1 },
};

static char *
read_fixture(const char *file, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, file);
    gchar *data = NULL;
    gsize size = 0;
    if (!g_file_get_contents(path, &data, &size, NULL))
        fail_msg("cannot read %s", path);
    *len = size;
    return data;
}

static void
check_text(const char *what, const char *s, size_t max)
{
    if (s == NULL)
        return;
    size_t len = strlen(s);
    if (len > max)
        fail_msg("%s: %zu bytes, more than %zu", what, len, max);
    if (!unit_utf8_valid(s, len))
        fail_msg("%s: not valid UTF-8", what);
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') || s[i] == 0x7f)
            fail_msg("%s: control 0x%02x", what, (unsigned char)s[i]);
}

/* What holds for every result, whatever the input. */
static void
check_invariants(const mime_parsed_t *p, const mime_limits_t *limits)
{
    check_text("text", p->text, limits->text_max);
    check_text("html", p->html, limits->html_max);
    check_text("reply", p->reply, limits->reply_max);
    assert_true(p->attachment_count <= limits->attachments_max);
    for (size_t i = 0; i < p->attachment_count; i++) {
        const mime_attachment_t *a = &p->attachments[i];
        check_text("filename", a->filename, 1024);
        check_text("content id", a->content_id, 998);
        assert_non_null(a->content_type);
        check_text("content type", a->content_type, 998);
        assert_int_equal(strlen(a->sha256), 64);
    }
    json_t *json = mime_parsed_json(p);
    assert_non_null(json);
    json_decref(json);
}

static void
parse(const char *raw, size_t len, const mime_limits_t *limits, mime_parsed_t *out)
{
    GMimeMessage *msg = mime_message_new(raw, len);
    mime_parse_message(msg, limits, out);
    if (msg != NULL)
        g_object_unref(msg);
}

static void
parse_fixture(const char *file, const mime_limits_t *limits, mime_parsed_t *out)
{
    size_t len;
    char *raw = read_fixture(file, &len);
    parse(raw, len, limits, out);
    g_free(raw);
}

static void
want(const char *what, const char *got, const char *wanted)
{
    if (wanted == SKIP)
        return;
    if (wanted == NULL) {
        if (got != NULL)
            fail_msg("%s: want NULL, got \"%s\"", what, got);
        return;
    }
    if (got == NULL || strcmp(got, wanted) != 0)
        fail_msg("%s: want \"%s\"\n got \"%s\"", what, wanted, got ? got : "(null)");
}

static void
test_fixture(void **state)
{
    const mime_row_t *row = *state;
    mime_limits_t limits = mime_limits_default();
    mime_parsed_t p;
    parse_fixture(row->file, &limits, &p);
    check_invariants(&p, &limits);
    want("text", p.text, row->text);
    want("html", p.html, row->html);
    want("reply", p.reply, row->reply);
    if (p.attachment_count != row->attachments)
        fail_msg("attachments: want %zu, got %zu", row->attachments, p.attachment_count);
    if ((p.defects != 0) != row->defects)
        fail_msg("defects: want %s, got %d", row->defects ? "some" : "none", p.defects);
    assert_false(p.text_truncated);
    assert_false(p.html_truncated);
    assert_false(p.attachments_truncated);
    mime_parsed_free(&p);
}

static void
want_attachment(const mime_attachment_t *a, const char *filename, const char *type, const char *content_id,
                int is_inline, size_t size, const char *sha256)
{
    want("filename", a->filename, filename);
    want("content type", a->content_type, type);
    want("content id", a->content_id, content_id);
    assert_int_equal(a->is_inline, is_inline);
    assert_int_equal(a->size, size);
    assert_string_equal(a->sha256, sha256);
}

/* Sizes and digests of the decoded attachments, as sha256sum gives them. */
static void
test_attachments(void **state)
{
    mime_parsed_t p;
    parse_fixture("mixed_pdf.eml", NULL, &p);
    want_attachment(&p.attachments[0], "invoice.pdf", "application/pdf", NULL, 0, 164,
                    "2a6fc3d02526cc71d72a76d1dc375691c2b1a55d2ac4b52de5ebe75d669b9339");
    mime_parsed_free(&p);

    parse_fixture("related_inline.eml", NULL, &p);
    /* a related image without Content-Disposition is inline too */
    want_attachment(&p.attachments[0], NULL, "image/png", "logo@example.com", 1, 70,
                    "7e5d14e2d6fa90fe84f70bc3ed1698498944f682827fb3c6543de7f21409795b");
    want_attachment(&p.attachments[1], "dot.png", "image/png", "dot@example.com", 1, 70,
                    "7e5d14e2d6fa90fe84f70bc3ed1698498944f682827fb3c6543de7f21409795b");
    mime_parsed_free(&p);

    parse_fixture("rfc2231_filename.eml", NULL, &p);
    want_attachment(&p.attachments[0], "€ rates 2024.txt", "application/octet-stream", NULL, 0, 6,
                    "993a59c7b9e6928909ca71b1385cb9ffa3a3e0078aff37513fde0baddf23e471"); /* "rates\n" */
    /* a text part with a filename is an attachment; continuations joined, Latin-1 decoded */
    want_attachment(&p.attachments[1], "résumé-long.txt", "text/plain", NULL, 0, 3,
                    "27b878c48eb50906b6b0f7096cd238dc86ece9938afaad79287e3754102862e3"); /* "CV\n" */
    want_attachment(&p.attachments[2], "übersicht.csv", "application/octet-stream", NULL, 0, 8,
                    "492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470"); /* "a,b\n1,2\n" */
    mime_parsed_free(&p);

    parse_fixture("attached_message.eml", NULL, &p);
    assert_string_equal(p.attachments[0].content_type, "message/rfc822");
    assert_string_equal(p.attachments[0].filename, "original.eml");
    assert_true(p.attachments[0].size > 200);
    assert_null(p.html); /* the attached message's HTML is not ours */
    mime_parsed_free(&p);

    parse_fixture("broken_8bit_header.eml", NULL, &p);
    assert_string_equal(p.attachments[0].filename, "Prüfung.txt");
    mime_parsed_free(&p);

    parse_fixture("broken_truncated.eml", NULL, &p);
    want_attachment(&p.attachments[0], "cut.pdf", "application/pdf", NULL, 0, 9,
                    "e5c62df5dab5c87b6a015ef3d43597074d1eec433b15f51aec63b8582d0e4ab4"); /* "%PDF-1.4\n" */
    mime_parsed_free(&p);
}

static void
test_json(void **state)
{
    mime_parsed_t p;
    parse_fixture("mixed_pdf.eml", NULL, &p);
    json_t *json = mime_parsed_json(&p);
    char *dump = json_dumps(json, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(dump, "{\"attachments\":[{\"contentId\":null,\"contentType\":\"application/pdf\","
                              "\"filename\":\"invoice.pdf\",\"inline\":false,\"sha256\":"
                              "\"2a6fc3d02526cc71d72a76d1dc375691c2b1a55d2ac4b52de5ebe75d669b9339\",\"size\":164}],"
                              "\"attachmentsTruncated\":false,\"html\":null,\"htmlTruncated\":false,"
                              "\"reply\":\"Please find the invoice attached.\",\"text\":\"Please find the invoice "
                              "attached.\\n\",\"textTruncated\":false}");
    free(dump);
    json_decref(json);
    mime_parsed_free(&p);
}

/* Limits cut on a character boundary and say so. */
static void
test_limits(void **state)
{
    mime_limits_t limits = { .text_max = 4, .html_max = 9, .reply_max = 3, .attachments_max = 1 };
    mime_parsed_t p;
    parse_fixture("utf8_base64.eml", &limits, &p);
    assert_string_equal(p.text, "Grü"); /* "Grü" is 4 bytes */
    assert_true(p.text_truncated);
    assert_string_equal(p.reply, "Gr"); /* 3 bytes would split the ü */
    mime_parsed_free(&p);

    parse_fixture("alternative.eml", &limits, &p);
    assert_string_equal(p.html, "<p>HTML v");
    assert_true(p.html_truncated);
    mime_parsed_free(&p);

    parse_fixture("rfc2231_filename.eml", &limits, &p);
    assert_int_equal(p.attachment_count, 1);
    assert_true(p.attachments_truncated);
    check_invariants(&p, &limits);
    mime_parsed_free(&p);
}

static void
test_null_and_empty(void **state)
{
    mime_parsed_t p;
    assert_null(mime_message_new(NULL, 0));
    mime_parse_message(NULL, NULL, &p);
    assert_null(p.text);
    assert_int_equal(p.attachment_count, 0);
    json_t *json = mime_parsed_json(&p);
    assert_true(json_is_null(json_object_get(json, "text")));
    assert_int_equal(json_array_size(json_object_get(json, "attachments")), 0);
    json_decref(json);
    mime_parsed_free(&p);
    parse("", 0, NULL, &p); /* empty message */
    assert_null(p.text);
    mime_parsed_free(&p);
}

/* 10,000 multiparts inside each other, the text at the bottom. */
static void
test_deep_nesting(void **state)
{
    GString *raw = g_string_new("From: a@example.com\nMIME-Version: 1.0\n");
    for (int i = 0; i < 10000; i++)
        g_string_append_printf(raw, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
    g_string_append(raw, "Content-Type: text/plain\n\ndeep\n");
    for (int i = 9999; i >= 0; i--)
        g_string_append_printf(raw, "--b%d--\n", i);
    mime_limits_t limits = mime_limits_default();
    mime_parsed_t p;
    parse(raw->str, raw->len, &limits, &p);
    check_invariants(&p, &limits);
    assert_null(p.text); /* below MIME_MAX_DEPTH: not followed */
    assert_true(p.defects > 0);
    mime_parsed_free(&p);
    g_string_free(raw, TRUE);
}

/* 5,000 attachments: the first 100 listed, the HTML after them still found. */
static void
test_many_attachments(void **state)
{
    GString *raw = g_string_new("From: a@example.com\nMIME-Version: 1.0\n"
                                "Content-Type: multipart/mixed; boundary=\"m\"\n\n"
                                "--m\nContent-Type: text/plain\n\nmany\n");
    for (int i = 0; i < 5000; i++)
        g_string_append_printf(raw, "--m\nContent-Type: application/octet-stream\n"
                                    "Content-Disposition: attachment; filename=\"f%d.bin\"\n\n%d\n", i, i);
    g_string_append(raw, "--m\nContent-Type: text/html\n\n<p>last</p>\n--m--\n");
    mime_limits_t limits = mime_limits_default();
    mime_parsed_t p;
    parse(raw->str, raw->len, &limits, &p);
    check_invariants(&p, &limits);
    assert_int_equal(p.attachment_count, 100);
    assert_true(p.attachments_truncated);
    assert_string_equal(p.attachments[99].filename, "f99.bin");
    assert_int_equal(p.attachments[99].size, 2); /* "99" */
    assert_string_equal(p.text, "many"); /* the LF before a boundary is the boundary's */
    assert_string_equal(p.html, "<p>last</p>");
    mime_parsed_free(&p);
    g_string_free(raw, TRUE);
}

/* A 20 MB text body and a 20 MB base64 attachment. */
static void
test_huge(void **state)
{
    size_t big = 20u << 20;
    GString *raw = g_string_new("From: a@example.com\nMIME-Version: 1.0\n"
                                "Content-Type: multipart/mixed; boundary=\"h\"\n\n"
                                "--h\nContent-Type: text/plain; charset=iso-8859-1\n\n");
    for (size_t i = 0; i < big / 64; i++)
        g_string_append(raw, "\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9 line of latin-1 text, 64 bytes long....\n");
    g_string_append(raw, "--h\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n");
    guchar *blob = g_malloc(big);
    for (size_t i = 0; i < big; i++)
        blob[i] = (guchar)(i * 131 + (i >> 9));
    gchar *encoded = g_base64_encode(blob, big);
    for (size_t i = 0, n = strlen(encoded); i < n; i += 76) {
        g_string_append_len(raw, encoded + i, (gssize)(n - i < 76 ? n - i : 76));
        g_string_append_c(raw, '\n');
    }
    g_string_append(raw, "--h--\n");
    gchar *expected = g_compute_checksum_for_data(G_CHECKSUM_SHA256, blob, big); /* GLib's, not OpenSSL's */
    g_free(encoded);
    g_free(blob);

    mime_limits_t limits = mime_limits_default();
    mime_parsed_t p;
    parse(raw->str, raw->len, &limits, &p);
    check_invariants(&p, &limits);
    assert_true(p.text_truncated);
    assert_true(strlen(p.text) > limits.text_max - 4);
    assert_memory_equal(p.text, "éééééééééé line", 25);
    assert_int_equal(p.attachment_count, 1);
    assert_int_equal(p.attachments[0].size, big);
    assert_string_equal(p.attachments[0].sha256, expected);
    mime_parsed_free(&p);
    g_free(expected);
    g_string_free(raw, TRUE);
}

/* Every prefix of a few fixtures: no crash, safe output. */
static void
test_every_truncation(void **state)
{
    static const char *const files[] = { "mixed_pdf.eml", "related_inline.eml", "rfc2231_filename.eml",
                                         "attached_message.eml", "shift_jis_base64.eml", "html_only.eml" };
    mime_limits_t limits = mime_limits_default();
    for (size_t f = 0; f < UNIT_ROWS(files); f++) {
        size_t len;
        char *raw = read_fixture(files[f], &len);
        for (size_t cut = 0; cut <= len; cut += 3) {
            mime_parsed_t p;
            parse(raw, cut, &limits, &p);
            check_invariants(&p, &limits);
            mime_parsed_free(&p);
        }
        g_free(raw);
    }
}

/* Random bytes with MIME syntax mixed in. */
static void
test_random_messages(void **state)
{
    static const char *const pieces[] = {
        "Content-Type: multipart/mixed; boundary=\"B\"\n", "Content-Type: multipart/alternative; boundary=B\n",
        "--B\n", "--B--\n", "Content-Type: text/plain; charset=shift_jis\n", "Content-Type: text/html\n",
        "Content-Type: message/rfc822\n", "Content-Disposition: attachment; filename*=utf-8''%FF%00x\n",
        "Content-Transfer-Encoding: base64\n", "Content-Transfer-Encoding: quoted-printable\n", "=E9=00=\n",
        "SGVsbG8=\n", "\n", "\n\n", "\x00", "\xff\xfe\x81", "\r\n", "> quoted\n", "On 1 Jan 2024 x wrote:\n",
        "<blockquote>&#0;&amp", "Content-Type: text/plain; charset=utf-16\n", "Content-ID: <\x00>\n" };
    mime_limits_t limits = { .text_max = 300, .html_max = 300, .reply_max = 100, .attachments_max = 5 };
    unsigned long seed = 7;
    GString *raw = g_string_new(NULL);
    for (int iter = 0; iter < 3000; iter++) {
        g_string_truncate(raw, 0);
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        int n = (int)((seed >> 33) % 50);
        for (int k = 0; k < n; k++) {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            const char *piece = pieces[(seed >> 33) % UNIT_ROWS(pieces)];
            g_string_append_len(raw, piece, piece[0] ? (gssize)strlen(piece) : 1);
        }
        mime_parsed_t p;
        parse(raw->str, raw->len, &limits, &p);
        check_invariants(&p, &limits);
        mime_parsed_free(&p);
    }
    g_string_free(raw, TRUE);
}

/* Many threads parsing at once give what one thread gives. */
#define THREADS 4

static char *
fixture_json(const char *file)
{
    mime_parsed_t p;
    parse_fixture(file, NULL, &p);
    json_t *json = mime_parsed_json(&p);
    char *dump = json_dumps(json, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(json);
    mime_parsed_free(&p);
    return dump;
}

static void *
thread_main(void *arg)
{
    char **expected = arg;
    for (int round = 0; round < 20; round++)
        for (size_t i = 0; i < UNIT_ROWS(mime_rows); i++) {
            char *dump = fixture_json(mime_rows[i].file);
            int same = strcmp(dump, expected[i]) == 0;
            free(dump);
            if (!same)
                return (void *)mime_rows[i].file;
        }
    return NULL;
}

static void
test_threads(void **state)
{
    char *expected[UNIT_ROWS(mime_rows)];
    pthread_t threads[THREADS];
    for (size_t i = 0; i < UNIT_ROWS(mime_rows); i++)
        expected[i] = fixture_json(mime_rows[i].file);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, thread_main, expected), 0);
    for (int t = 0; t < THREADS; t++) {
        void *failed;
        pthread_join(threads[t], &failed);
        if (failed != NULL)
            fail_msg("%s parsed differently on a thread", (const char *)failed);
    }
    for (size_t i = 0; i < UNIT_ROWS(mime_rows); i++)
        free(expected[i]);
}

static int
group_setup(void **state)
{
    header_init();
    return 0;
}

/* ---- GMime 3.2.13's address-list leak (lib/mail/gmime_guard) ----------- */

typedef struct {
    const char *name;
    const char *value;
    int defused; /* what gmime_guard_value says */
} guard_row_t;

static const guard_row_t guard_rows[] = {
    { "guard: a@[]( (the fuzzer's find)", "a@[](", 1 },
    { "guard: literal, space, open comment", "a@[1.2.3.4] (x", 1 },
    { "guard: inside a group", "g: a@[](;", 1 },
    { "guard: after a good address", "a@b.c, a@[](", 1 },
    { "guard: folded before the comment", "a@[1.2.3.4]\r\n (", 1 },
    { "guard: two open", "a@[x]((", 1 },
    { "guard: a closed comment, then an open one", "a@[1](x)) b@[2](", 1 },
    { "guard: an escaped ')' closes nothing", "a@[1](\\)", 1 },
    { "guard: conservative inside an angle address", "N <a@[](>", 1 },
    { "guard: closed comment", "a@[1.2.3.4] (x)", 0 },
    { "guard: no literal", "a@b.c (", 0 },
    { "guard: plain", "Bob <bob@example.com>, carol@[192.0.2.1]", 0 },
    { "guard: empty", "", 0 },
};

/* Bytes the allocator has handed out (glibc); an ASan build answers 0
 * here and LeakSanitizer reports at exit instead. */
static size_t
heap_in_use(void)
{
    return mallinfo2().uordblks;
}

#define LEAK_ROUNDS 400
#define LEAK_SLACK (24 * 1024) /* GMime's and GLib's caches; one leak per round is 51 KB */

static void
test_guard(void **state)
{
    const guard_row_t *row = *state;
    size_t len = strlen(row->value), before = 0;
    char *copy = malloc(len + 1);

    memcpy(copy, row->value, len + 1);
    assert_int_equal(gmime_guard_value(copy, len), row->defused);
    if (!row->defused)
        assert_string_equal(copy, row->value);
    else
        assert_null(strpbrk(copy, "()"));
    /* what GMime is given after the guard does not leak */
    for (int i = 0; i < LEAK_ROUNDS + 20; i++) {
        if (i == 20)
            before = heap_in_use();
        InternetAddressList *list = internet_address_list_parse(NULL, copy);
        if (list)
            g_object_unref(list);
    }
    assert_true(heap_in_use() < before + LEAK_SLACK);
    free(copy);
}

/* A message whose From, To and Cc (and an attached message's From) are
 * each one of the leaking values: every GMime parse of it -- mime_parse,
 * the bounce reader, header_addresses -- leaks nothing. */
static const char LEAKY_MESSAGE[] =
    "From: a@[](\r\n"
    "To: Bob <bob@example.com>, x@[192.0.2.1] (open\r\n"
    "Cc: g: c@[1.2.3.4]\r\n (;\r\n"
    "Reply-To: r@[10.0.0.1](\r\n"
    "Subject: leak\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "a body line ](that stays as it is\r\n"
    "--b\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: inner@[10.0.0.1] (\r\n"
    "To: y@z.test\r\n"
    "\r\n"
    "inner body\r\n"
    "--b--\r\n";

static void
test_no_leak(void **state)
{
    size_t before = 0;
    (void)state;
    for (int i = 0; i < LEAK_ROUNDS + 20; i++) {
        mime_parsed_t p;
        dsn_report_t report;
        char *list[8];
        size_t count = 0;
        if (i == 20)
            before = heap_in_use();
        GMimeMessage *msg = mime_message_new(LEAKY_MESSAGE, sizeof(LEAKY_MESSAGE) - 1);
        mime_parse_message(msg, NULL, &p);
        mime_parsed_free(&p);
        if (msg != NULL)
            g_object_unref(msg);
        dsn_parse(LEAKY_MESSAGE, sizeof(LEAKY_MESSAGE) - 1, &report);
        dsn_report_free(&report);
        header_addresses("a@[](", list, &count, 8);
        header_addresses("x@[192.0.2.1] (open", list, &count, 8);
        for (size_t k = 0; k < count; k++)
            free(list[k]);
    }
    assert_true(heap_in_use() < before + LEAK_SLACK);
}

/* What is read from that message: the body untouched, the addresses
 * GMime can still make out of the defused headers. */
static void
test_leaky_message_read(void **state)
{
    mime_parsed_t p;
    (void)state;
    GMimeMessage *msg = mime_message_new(LEAKY_MESSAGE, sizeof(LEAKY_MESSAGE) - 1);
    assert_non_null(msg);
    mime_parse_message(msg, NULL, &p);
    assert_string_equal(p.text, "a body line ](that stays as it is");
    InternetAddressList *to = g_mime_message_get_to(msg);
    assert_true(internet_address_list_length(to) >= 2);
    assert_string_equal(
        internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(to, 1))),
        "x@[192.0.2.1]");
    mime_parsed_free(&p);
    g_object_unref(msg);
}

/* The raw message's defused copy: only the address headers change, and
 * only their parentheses; a safe message is not copied. */
static void
test_guard_message(void **state)
{
    char *copy;
    const char safe[] = "From: a@b.c (Bob)\r\nTo: x@[1.2.3.4]\r\n\r\nbody a@[](\r\n";
    (void)state;
    assert_int_equal(gmime_guard_message(safe, sizeof(safe) - 1, &copy), 0);
    assert_null(copy);
    assert_int_equal(gmime_guard_message(LEAKY_MESSAGE, sizeof(LEAKY_MESSAGE) - 1, &copy), 1);
    assert_non_null(copy);
    for (size_t i = 0; i < sizeof(LEAKY_MESSAGE) - 1; i++)
        if (copy[i] != LEAKY_MESSAGE[i])
            assert_true((LEAKY_MESSAGE[i] == '(' || LEAKY_MESSAGE[i] == ')') && copy[i] == ' ');
#define HAS(lit) assert_non_null(memmem(copy, sizeof(LEAKY_MESSAGE) - 1, lit, sizeof(lit) - 1))
    HAS("From: a@[] \r\n");
    HAS("x@[192.0.2.1]  open\r\n");
    HAS("Cc: g: c@[1.2.3.4]\r\n  ;\r\n");
    HAS("a body line ](that");
    HAS("From: inner@[10.0.0.1]  \r\n");
#undef HAS
    free(copy);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_fixture, mime_rows, sizeof(mime_rows[0]), UNIT_ROWS(mime_rows));
    unit_add_rows(&suite, test_guard, guard_rows, sizeof(guard_rows[0]), UNIT_ROWS(guard_rows));
    unit_add(&suite, "address headers GMime 3.2.13 leaks on: no leak", test_no_leak, NULL);
    unit_add(&suite, "the defused copy of a message", test_guard_message, NULL);
    unit_add(&suite, "what is read from a message with such headers", test_leaky_message_read, NULL);
    unit_add(&suite, "attachment sizes and SHA-256", test_attachments, NULL);
    unit_add(&suite, "event payload", test_json, NULL);
    unit_add(&suite, "limits and truncation flags", test_limits, NULL);
    unit_add(&suite, "NULL and empty input", test_null_and_empty, NULL);
    unit_add(&suite, "10,000 nested multiparts", test_deep_nesting, NULL);
    unit_add(&suite, "5,000 attachments", test_many_attachments, NULL);
    unit_add(&suite, "20 MB body and attachment", test_huge, NULL);
    unit_add(&suite, "every truncation", test_every_truncation, NULL);
    unit_add(&suite, "random MIME", test_random_messages, NULL);
    unit_add(&suite, "four threads at once", test_threads, NULL);
    return unit_run("mime_parse", &suite, group_setup, NULL);
}
