/*
 * test_reply_extract.c -- what is left of a reply once the quoted history
 * and the signature are cut: Gmail, Apple Mail, Thunderbird, Outlook
 * (both header styles) and localized attributions; forwarded messages
 * kept; things that only look like markers left alone.  Then the crude
 * HTML to text rendering the HTML-only messages go through.
 */
#include "unit.h"

#include <string.h>

#include "reply_extract.h"

#define BIG ((size_t)1 << 20)

typedef struct {
    const char *name;
    const char *in;
    size_t max;
    const char *want; /* NULL: nothing left */
} reply_row_t;

static const reply_row_t reply_rows[] = {
    /* no history */
    { "plain text unchanged", "Hello\n\nSee you.\n", BIG, "Hello\n\nSee you." },
    { "trailing blank lines trimmed", "Hi\n\n  \n\t\n", BIG, "Hi" },
    { "leading blank lines trimmed", "\n\n  \nHi\n", BIG, "Hi" },
    { "empty", "", BIG, NULL },
    { "only whitespace", " \n\t\n", BIG, NULL },
    { "CRLF lines", "Yes.\r\n\r\n> quoted\r\n", BIG, "Yes." },

    /* quoting */
    { "quoted lines dropped", "Answer\n> question\n> more\n", BIG, "Answer" },
    { "inline reply keeps the answers", "> q1\nA1\n\n> q2\nA2\n", BIG, "A1\n\nA2" },
    { "indented quote dropped", "A\n   > q\n", BIG, "A" },
    { "nested quotes dropped", "A\n>> old\n> > older\n", BIG, "A" },
    { "only quotes", "> a\n> b\n", BIG, NULL },

    /* attributions */
    { "Gmail attribution", "Sure.\n\nOn Mon, Jul 1, 2024 at 9:15 AM Bob <bob@example.org> wrote:\n\n> Lunch?\n", BIG,
      "Sure." },
    { "Gmail attribution wrapped over two lines",
      "Sure.\n\nOn Mon, Jul 1, 2024 at 9:15 AM Bob Builder <bob@example.org>\nwrote:\n\n> Lunch?\n", BIG, "Sure." },
    { "wrapped in the middle of the name", "Ok\nOn Tue, 2 Jul 2024 at 10:00, Bob\nBuilder <b@x.org> wrote:\nold text\n",
      BIG, "Ok" },
    { "Apple Mail attribution", "Lovely\n\nOn 1 Jul 2024, at 09:00, Bob <bob@example.org> wrote:\n\nPhotos\n", BIG,
      "Lovely" },
    { "Thunderbird attribution", "Done.\n\nOn 01/07/2024 09:00, Bob Builder wrote:\n> Please do it\n", BIG, "Done." },
    { "history without '>' after the attribution", "Top.\nOn Mon, Jul 1, 2024, Bob <b@x.org> wrote:\nOld text\n",
      BIG, "Top." },
    { "German attribution", "Danke!\n\nAm 01.07.2024 um 09:00 schrieb Bob Builder <bob@example.org>:\n> Frage\n", BIG,
      "Danke!" },
    { "French attribution", "Merci.\n\nLe lun. 1 juil. 2024 à 09:00, Bob <bob@example.org> a écrit :\n> Question\n",
      BIG, "Merci." },
    { "Spanish attribution", "Gracias.\n\nEl lun, 1 jul 2024 a las 9:00, Bob (<bob@example.org>) escribió:\n> P\n",
      BIG, "Gracias." },
    { "Dutch attribution", "Prima.\n\nOp ma 1 jul 2024 om 09:00 schreef Bob <bob@example.org>:\n> V\n", BIG,
      "Prima." },
    { "Italian attribution", "Grazie.\n\nIl giorno lun 1 lug 2024 alle ore 09:00 Bob <b@x.org> ha scritto:\n> D\n",
      BIG, "Grazie." },
    { "'On ... wrote:' without a date or address is text", "On reflection, here is what I wrote:\nThe plan.\n", BIG,
      "On reflection, here is what I wrote:\nThe plan." },
    { "'On' line without a colon is text", "On Monday 3 people came\nand left.\n", BIG,
      "On Monday 3 people came\nand left." },

    /* Outlook */
    { "Original Message separator", "See below.\n\n-----Original Message-----\nFrom: Bob\nSent: today\n\nOld\n", BIG,
      "See below." },
    { "Original Message, other dash counts", "Ok\n----- Original Message -----\nold\n", BIG, "Ok" },
    { "Ursprüngliche Nachricht", "Gut.\n-----Ursprüngliche Nachricht-----\nVon: Bob\n", BIG, "Gut." },
    { "Outlook From/Sent block", "Thanks.\n\nFrom: Bob Builder <bob@example.org>\nSent: Monday, July 1, 2024 9:00 AM\n"
                                 "To: Alice\nSubject: report\n\nHere.\n",
      BIG, "Thanks." },
    { "Outlook bold header block from HTML", "Thanks.\n\n*From:* Bob\n*Sent:* Monday\n*To:* Alice\n\nOld\n", BIG,
      "Thanks." },
    { "German Outlook block", "Danke.\n\nVon: Bob\nGesendet: Montag, 1. Juli 2024 09:00\nAn: Alice\n", BIG,
      "Danke." },
    { "Outlook underscores then From", "Regards,\nAlice\n\n________________________________\nFrom: Bob\n"
                                       "Date: Monday\nSubject: x\n\nold\n",
      BIG, "Regards,\nAlice" },
    { "underscores, blank line, then From", "Hi\n________________________________\n\nFrom: Bob\nold\n", BIG, "Hi" },
    { "underscores without From are text", "Sign here:\n____________________\nName\n", BIG,
      "Sign here:\n____________________\nName" },
    { "From: line without Sent: is text", "From: the team\nWe are happy.\n", BIG, "From: the team\nWe are happy." },

    /* forwarded messages are content */
    { "Gmail forward kept", "FYI\n\n---------- Forwarded message ---------\nFrom: Bob <bob@example.org>\n"
                            "Date: Mon, Jul 1, 2024 at 9:00 AM\nSubject: report\nTo: Alice\n\nThe report.\n",
      BIG,
      "FYI\n\n---------- Forwarded message ---------\nFrom: Bob <bob@example.org>\n"
      "Date: Mon, Jul 1, 2024 at 9:00 AM\nSubject: report\nTo: Alice\n\nThe report." },
    { "Apple forward kept", "See this.\n\nBegin forwarded message:\n\nFrom: Bob <bob@example.org>\nOld\n", BIG,
      "See this.\n\nBegin forwarded message:\n\nFrom: Bob <bob@example.org>\nOld" },
    { "forward keeps its own quotes", "FYI\n---------- Forwarded message ---------\nText\n> quoted inside\n", BIG,
      "FYI\n---------- Forwarded message ---------\nText\n> quoted inside" },
    { "signature before a forward: forward kept",
      "FYI\n-- \nAlice\n\n---------- Forwarded message ---------\nFrom: Bob\n\nBody\n", BIG,
      "FYI\n---------- Forwarded message ---------\nFrom: Bob\n\nBody" },
    { "history before a forward cuts it", "Ok\n\nOn Mon, Jul 1, 2024 Bob <b@x.org> wrote:\n"
                                          "> ---------- Forwarded message ---------\n> x\n",
      BIG, "Ok" },

    /* signatures */
    { "signature dropped", "Thanks!\n\n-- \nAlice Example\nACME Corp\n", BIG, "Thanks!" },
    { "signature then quoted history", "Lovely, thanks!\n\n-- \nAlice\nSent from my iPhone\n\n> On 1 Jul 2024 wrote:\n",
      BIG, "Lovely, thanks!" },
    { "'--' without the space is text", "a\n--\nb\n", BIG, "a\n--\nb" },
    { "'-- x' is text", "a\n-- x\n", BIG, "a\n-- x" },
    { "blank lines between answers collapse", "A\n\n> q\n\n> q\n\nB\n", BIG, "A\n\nB" },

    /* limits */
    { "cut at max", "abcdef", 3, "abc" },
    { "cut on a character boundary", "ab\xc3\xa9", 3, "ab" },
    { "4-byte character not split", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 6, "\xf0\x9f\x98\x80" },
};

static void
test_reply(void **state)
{
    const reply_row_t *row = *state;
    char *out = reply_extract(row->in, row->max);
    if (row->want == NULL) {
        if (out != NULL)
            fail_msg("want nothing, got \"%s\"", out);
        return;
    }
    if (out == NULL)
        fail_msg("want \"%s\", got nothing", row->want);
    if (strcmp(out, row->want) != 0)
        fail_msg("want \"%s\"\n got \"%s\"", row->want, out);
    assert_true(unit_utf8_valid(out, strlen(out)));
    free(out);
}

typedef struct {
    const char *name;
    const char *html;
    size_t max;
    const char *want;
} html_row_t;

static const html_row_t html_rows[] = {
    { "tags stripped", "<b>bold</b> and <i>italic</i>", BIG, "bold and italic" },
    { "br and p are line breaks", "one<br>two<p>three</p>four", BIG, "one\ntwo\nthree\nfour" },
    { "div blocks", "<div>a</div><div>b</div>", BIG, "a\nb" },
    { "at most one blank line", "a<br><br><br><br>b", BIG, "a\n\nb" },
    { "whitespace collapsed", "a \n\t  b", BIG, "a b" },
    { "named entities", "&lt;tag&gt; &amp; &quot;q&quot; &apos;s&nbsp;x", BIG, "<tag> & \"q\" 's x" },
    { "numeric entities", "&#233;&#xE9;&#x1F600;", BIG, "\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80" },
    { "NUL and surrogate references become U+FFFD", "a&#0;b&#xD800;c", BIG, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c" },
    { "unknown entity kept", "&bogus; & &", BIG, "&bogus; & &" },
    { "script, style, head dropped", "<head><title>T</title></head><style>x{}</style>A<script>if(a<b)x()</script>B",
      BIG, "AB" },
    { "comments dropped", "a<!-- hidden <b>x</b> -->b", BIG, "ab" },
    { "'>' inside an attribute", "<a title=\"a>b\">link</a>", BIG, "link" },
    { "a lone '<' is text", "1 < 2", BIG, "1 < 2" },
    { "blockquote lines prefixed", "Yes<blockquote>Old<br>Older</blockquote>", BIG, "Yes\n> Old\n> Older" },
    { "nested blockquote", "A<blockquote>B<blockquote>C</blockquote></blockquote>D", BIG, "A\n> B\n>> C\nD" },
    { "unclosed tag", "text <b", BIG, "text" },
    { "unclosed script", "a<script>never closed", BIG, "a" },
    { "table cells spaced", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", BIG, "a b\nc" },
    { "capped", "<p>abcdefgh</p>", 4, "abcd" },
    { "empty", "", BIG, "" },
};

static void
test_html(void **state)
{
    const html_row_t *row = *state;
    char *out = reply_extract_html_to_text(row->html, row->max);
    assert_non_null(out);
    if (strcmp(out, row->want) != 0)
        fail_msg("want \"%s\"\n got \"%s\"", row->want, out);
    free(out);
}

/* A Gmail HTML reply: rendered, then cut at the attribution. */
static void
test_html_reply(void **state)
{
    static const char html[] =
        "<div dir=\"ltr\">Sounds good &amp; see you <b>Friday</b>.<br>Bob</div><br>"
        "<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, Jul 1, 2024 at 10:00 AM "
        "Alice &lt;alice@example.com&gt; wrote:<br></div><blockquote class=\"gmail_quote\">Shall we meet?"
        "</blockquote></div>";
    char *text = reply_extract_html_to_text(html, BIG);
    char *reply = reply_extract(text, BIG);
    assert_string_equal(reply, "Sounds good & see you Friday.\nBob");
    free(reply);
    free(text);
}

/* 100,000 lines of markers and quotes: linear, bounded. */
static void
test_long_input(void **state)
{
    static const char *const lines[] = { "> quoted\n", "text line\n", "-- \n", "From: x\n", "_____________\n",
                                         "On 1 Jan\n", "<b>&amp;</b>\n" };
    size_t n = 100000, used = 0;
    char *in = malloc(n * 16 + 1);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++) {
        const char *l = lines[(i * 7 + i / 3) % UNIT_ROWS(lines)];
        memcpy(in + used, l, strlen(l));
        used += strlen(l);
    }
    in[used] = '\0';
    char *out = reply_extract(in, 65536);
    if (out != NULL) {
        assert_true(strlen(out) <= 65536);
        free(out);
    }
    out = reply_extract_html_to_text(in, 65536);
    assert_non_null(out);
    assert_true(strlen(out) <= 65536);
    free(out);
    free(in);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_reply, reply_rows, sizeof(reply_rows[0]), UNIT_ROWS(reply_rows));
    unit_add_rows(&suite, test_html, html_rows, sizeof(html_rows[0]), UNIT_ROWS(html_rows));
    unit_add(&suite, "Gmail HTML reply", test_html_reply, NULL);
    unit_add(&suite, "100,000 lines", test_long_input, NULL);
    return unit_run("reply_extract", &suite, NULL, NULL);
}
