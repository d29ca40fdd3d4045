/*
 * test_track.c -- tracking without a server: tokens (the MAC covers kind,
 * message, link and URL; another key, a flipped byte, a wrong URL all
 * fail; rotation: an old key still verifies), the rewrite of whole
 * messages through GMime (links and pixel in the HTML part only, the text
 * part and attachments byte for byte, a 7bit part that would pass 998
 * octets becomes quoted-printable, a UTF-16 part left alone, broken MIME
 * survives), the List-Unsubscribe value, and who asked (lib/net/track_agent).
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "header.h"
#include "track_agent.h"
#include "track_rewrite.h"
#include "track_token.h"

static const unsigned char test_id[TRACK_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

/* Keys from text (one per line) through a file of mode 0600. */
static track_keys_t *
test_keys(const char *text)
{
    char path[] = "/tmp/test_track.XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (long)strlen(text));
    close(fd);
    track_keys_t *keys = track_keys_load(path, err, sizeof(err));
    unlink(path);
    return keys;
}

#define KEY1 "key-one-0123456789abcdefghijklmnopqrstuvwxyz"
#define KEY2 "key-two-0123456789abcdefghijklmnopqrstuvwxyz"

static void
test_token(void **state)
{
    track_keys_t *k1 = test_keys(KEY1 "\n"), *k2 = test_keys(KEY2 "\n"), *rotated = test_keys(KEY2 "\n" KEY1 "\n");
    char tok[TRACK_TOKEN_MAX], other[TRACK_TOKEN_MAX];
    unsigned char id[TRACK_ID_LEN];
    unsigned link = 0;
    (void)state;
    assert_non_null(k1);
    assert_non_null(rotated);
    assert_int_equal(track_token_make(k1, TRACK_CLICK, test_id, 7, "https://example.com/a", tok), 0);
    assert_int_equal(strlen(tok), TRACK_TOKEN_LEN);
    assert_int_equal(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), TRACK_TOKEN_LEN);
    assert_int_equal(track_token_parse(tok, strlen(tok), id, &link), 0);
    assert_memory_equal(id, test_id, TRACK_ID_LEN);
    assert_int_equal(link, 7);
    assert_true(track_token_verify(k1, TRACK_CLICK, tok, strlen(tok), "https://example.com/a"));
    assert_false(track_token_verify(k1, TRACK_CLICK, tok, strlen(tok), "https://example.com/b"));
    assert_false(track_token_verify(k1, TRACK_OPEN, tok, strlen(tok), "https://example.com/a"));
    assert_false(track_token_verify(k2, TRACK_CLICK, tok, strlen(tok), "https://example.com/a"));
    /* rotation: KEY2 signs now, KEY1's tokens still verify */
    assert_true(track_token_verify(rotated, TRACK_CLICK, tok, strlen(tok), "https://example.com/a"));
    assert_int_equal(track_token_make(rotated, TRACK_CLICK, test_id, 7, "https://example.com/a", other), 0);
    assert_string_not_equal(other, tok);
    assert_false(track_token_verify(k1, TRACK_CLICK, other, strlen(other), "https://example.com/a"));
    /* every byte of the token counts */
    for (size_t i = 0; i < TRACK_TOKEN_LEN - 1; i++) {   /* the last character carries 2 unused bits */
        memcpy(other, tok, sizeof(other));
        other[i] = other[i] == 'A' ? 'B' : 'A';
        assert_false(track_token_verify(k1, TRACK_CLICK, other, strlen(other), "https://example.com/a"));
    }
    assert_int_equal(track_token_parse(tok, strlen(tok) - 1, id, &link), -1);
    assert_int_equal(track_token_parse("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", 34, id, &link), -1);
    assert_int_equal(track_token_make(k1, TRACK_CLICK, test_id, 65536, "x", tok), -1);
    track_keys_free(k1);
    track_keys_free(k2);
    track_keys_free(rotated);
}

static void
test_keys_refused(void **state)
{
    char path[] = "/tmp/test_track.XXXXXX", err[256];
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "short\n", 6), 6);
    close(fd);
    assert_null(track_keys_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, "shorter than 32"));
    assert_null(strstr(err, "short\n"));
    unlink(path);
    assert_null(track_keys_load("/nonexistent/keys", err, sizeof(err)));
}

/* ---- the rewrite ---------------------------------------------------------------------------- */

#define TEXT_PART "Plain: https://example.com/plain\r\n"
#define ATTACHMENT "PGEgaHJlZj0iaHR0cHM6Ly9leGFtcGxlLmNvbS9hdHQiPng8L2E+\r\n"

static const char *const alternative =
    "From: a@x.test\r\nTo: b@y.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
    "preface\r\n--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
    "--a\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" TEXT_PART
    "--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    "<html><body><a href=3D\"https://example.com/one\">one</a> <a href=3D\"mailto:x@y\">m</a>\r\n"
    "</body></html>\r\n--a--\r\n"
    "--m\r\nContent-Type: text/html; name=\"att.html\"\r\nContent-Disposition: attachment; filename=\"att.html\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n" ATTACHMENT "--m--\r\nepilogue\r\n";

static track_options_t
test_opts(const track_keys_t *keys, int opens, int clicks)
{
    return (track_options_t){ .base_url = "https://t.test/pi", .keys = keys, .opens = opens, .clicks = clicks,
                              .max_links = 100 };
}

static void
test_rewrite_parts(void **state)
{
    track_keys_t *keys = test_keys(KEY1 "\n");
    track_options_t opt = test_opts(keys, 1, 1);
    track_result_t r;
    char err[256];
    (void)state;
    assert_int_equal(track_rewrite(&opt, test_id, alternative, strlen(alternative), &r, err, sizeof(err)), 0);
    assert_non_null(r.body);
    assert_int_equal(r.link_count, 1);
    assert_string_equal(r.links[0], "https://example.com/one");
    assert_int_equal(r.html_parts, 1);
    assert_int_equal(r.pixels, 1);
    assert_int_equal(r.skipped, 1);   /* the mailto */
    assert_non_null(strstr(r.body, "href=3D\"https://t.test/pi/c/"));
    assert_non_null(strstr(r.body, "<img src=3D\"https://t.test/pi/o/"));
    assert_null(strstr(r.body, "https://example.com/one"));
    /* the text part, the attachment, preface and epilogue as they came */
    assert_non_null(strstr(r.body, "\r\n\r\n" TEXT_PART "--a\r\n"));
    assert_non_null(strstr(r.body, "\r\n\r\n" ATTACHMENT "--m--\r\nepilogue"));
    assert_int_equal(strncmp(r.body, "preface\r\n--m\r\n", 14), 0);
    /* every line end CRLF */
    for (size_t i = 0; i < r.body_len; i++)
        if (r.body[i] == '\n')
            assert_int_equal(r.body[i - 1], '\r');
    track_result_clear(&r);

    /* clicks only: no pixel; opens only: no link */
    opt = test_opts(keys, 0, 1);
    assert_int_equal(track_rewrite(&opt, test_id, alternative, strlen(alternative), &r, err, sizeof(err)), 0);
    assert_int_equal(r.pixels, 0);
    assert_int_equal(r.link_count, 1);
    track_result_clear(&r);
    opt = test_opts(keys, 1, 0);
    assert_int_equal(track_rewrite(&opt, test_id, alternative, strlen(alternative), &r, err, sizeof(err)), 0);
    assert_int_equal(r.link_count, 0);
    assert_int_equal(r.pixels, 1);
    assert_non_null(strstr(r.body, "https://example.com/one"));
    track_result_clear(&r);
    track_keys_free(keys);
}

typedef struct {
    const char *name;
    const char *message;
    int changed;        /* a new body */
    const char *has;    /* in the new body */
} rewrite_row_t;

#define LONG_LINE_820                                                                                           \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const rewrite_row_t rewrite_rows[] = {
    { "a text-only message is not changed",
      "From: a@x.test\r\nContent-Type: text/plain\r\n\r\nhttps://example.com/\r\n", 0, NULL },
    { "a single-part HTML message: its body rewritten in its own encoding",
      "From: a@x.test\r\nContent-Type: text/html\r\n\r\n<a href=\"http://e.test/\">e</a></body>\r\n", 1,
      "<a href=\"https://t.test/pi/c/" },
    { "no </body>: the pixel at the end",
      "From: a@x.test\r\nContent-Type: text/html\r\n\r\n<p>hi", 1, "<p>hi<img src=\"https://t.test/pi/o/" },
    { "a 7bit part inside a multipart that would pass 998 octets becomes quoted-printable",
      "From: a@x.test\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n"
      LONG_LINE_820 "<a href=\"https://e.test/\">x</a>" LONG_LINE_820 "\r\n--b--\r\n", 1,
      "Content-Transfer-Encoding: quoted-printable" },
    { "the same line as the message's own part: left alone (its header is not ours)",
      "From: a@x.test\r\nContent-Type: text/html\r\n\r\n" LONG_LINE_820 "<a href=\"https://e.test/\">x</a>" LONG_LINE_820
      "\r\n", 0, NULL },
    { "a UTF-16 HTML part is left alone",
      "From: a@x.test\r\nContent-Type: text/html; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "PABhAA==\r\n", 0, NULL },
    { "an HTML attachment is left alone",
      "From: a@x.test\r\nContent-Type: text/html\r\nContent-Disposition: attachment\r\n\r\n<a href=\"https://e.test/\">x</a>\r\n",
      0, NULL },
    { "a multipart without its boundary: nothing to rewrite, no crash",
      "From: a@x.test\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n<a href=\"https://e.test/\">x</a>\r\n", 0, NULL },
    { "a truncated multipart: the HTML part that is there is rewritten",
      "From: a@x.test\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/html\r\n\r\n"
      "<a href=\"https://e.test/\">x</a>", 1, "https://t.test/pi/c/" },
    { "no body at all", "From: a@x.test\r\nContent-Type: text/html\r\n\r\n", 1, "<img src=\"https://t.test/pi/o/" },
    { "not MIME at all", "garbage without a header", 0, NULL },
};

static void
test_rewrite(void **state)
{
    const rewrite_row_t *row = *state;
    track_keys_t *keys = test_keys(KEY1 "\n");
    track_options_t opt = test_opts(keys, 1, 1);
    track_result_t r;
    char err[256];
    assert_int_equal(track_rewrite(&opt, test_id, row->message, strlen(row->message), &r, err, sizeof(err)), 0);
    if (!row->changed) {
        assert_null(r.body);
        assert_int_equal(r.link_count, 0);
    } else {
        assert_non_null(r.body);
        assert_non_null(strstr(r.body, row->has));
    }
    track_result_clear(&r);
    track_keys_free(keys);
}

static void
test_unsubscribe(void **state)
{
    track_keys_t *keys = test_keys(KEY1 "\n");
    track_options_t opt = test_opts(keys, 0, 0);
    char value[512], small[40], tok[TRACK_TOKEN_MAX];
    (void)state;
    assert_int_equal(track_unsubscribe_fields(&opt, test_id, "r@y.test", "a@x.test", value, sizeof(value)), 0);
    assert_int_equal(strncmp(value, "<https://t.test/pi/u/", 21), 0);
    assert_non_null(strstr(value, ">, <mailto:a@x.test?subject=unsubscribe>"));
    memcpy(tok, value + 21, TRACK_TOKEN_LEN);
    tok[TRACK_TOKEN_LEN] = '\0';
    assert_true(track_token_verify(keys, TRACK_UNSUBSCRIBE, tok, TRACK_TOKEN_LEN, "r@y.test"));
    assert_false(track_token_verify(keys, TRACK_UNSUBSCRIBE, tok, TRACK_TOKEN_LEN, "other@y.test"));
    assert_int_equal(track_unsubscribe_fields(&opt, test_id, "r@y.test", "a@x.test", small, sizeof(small)), -1);
    track_keys_free(keys);
}

/* ---- who asked ------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *agent;
    int network;
    const char *agent_class;
    int machine;
    const char *reason;
} agent_row_t;

static const agent_row_t agent_rows[] = {
    { "Firefox", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", 0, "browser", 0, NULL },
    { "Chrome", "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", 0,
      "browser", 0, NULL },
    { "Apple Mail (WebKit without Safari)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko)",
      0, "mail_client", 0, NULL },
    { "Outlook", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)", 0, "mail_client", 0, NULL },
    { "Gmail's image proxy", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", 0,
      "image_proxy", 1, "user_agent" },
    { "Yahoo's", "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", 0, "image_proxy", 1,
      "user_agent" },
    { "a scanner that says Chrome", "Mozilla/5.0 Chrome/120.0 Barracuda", 0, "scanner", 1, "user_agent" },
    { "curl", "curl/7.88.1", 0, "bot", 1, "user_agent" },
    { "python-requests", "python-requests/2.31", 0, "bot", 1, "user_agent" },
    { "Apple MPP: a bare Mozilla/5.0 from its network", "Mozilla/5.0", 1, "image_proxy", 1, "network" },
    { "a browser from a machine network", "Mozilla/5.0 Firefox/128.0", 1, "image_proxy", 1, "network" },
    { "no User-Agent", NULL, 0, "unknown", 0, NULL },
    { "an empty one", "", 0, "unknown", 0, NULL },
};

static void
test_agent(void **state)
{
    const agent_row_t *row = *state;
    track_agent_t a;
    track_agent_classify(row->agent, row->network, &a);
    assert_string_equal(a.agent_class, row->agent_class);
    assert_int_equal(a.machine, row->machine);
    if (row->reason)
        assert_string_equal(a.reason, row->reason);
    else
        assert_null(a.reason);
}

int
main(void)
{
    static unit_suite_t suite;
    header_init();
    unit_add(&suite, "tokens: MAC over kind, message, link, URL; rotation", test_token, NULL);
    unit_add(&suite, "a key shorter than 32 characters, a missing file", test_keys_refused, NULL);
    unit_add(&suite, "rewrite: links and pixel in the HTML part only, the rest as it came", test_rewrite_parts, NULL);
    unit_add_rows(&suite, test_rewrite, rewrite_rows, sizeof(rewrite_rows[0]), UNIT_ROWS(rewrite_rows));
    unit_add(&suite, "List-Unsubscribe: the recipient's token and the mailto", test_unsubscribe, NULL);
    unit_add_rows(&suite, test_agent, agent_rows, sizeof(agent_rows[0]), UNIT_ROWS(agent_rows));
    return unit_run("track", &suite, NULL, NULL);
}
