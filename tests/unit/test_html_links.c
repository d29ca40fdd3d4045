/*
 * test_html_links.c -- the HTML scanner of click and open tracking: href
 * values double-quoted, single-quoted and unquoted with their exact
 * offsets; character references (the five names, numeric ones, a bare
 * '&', the ones a browser decodes and the scanner does not); the links
 * left alone (schemes, refused bytes, notrack, other tags); comments,
 * conditional comments, bogus comments and raw text; quoted history
 * (blockquote, Gmail's gmail_quote div, Outlook's divRplyFwdMsg and
 * appendonsend); </body>; the input ending inside a tag; NUL bytes.  Then
 * the sizes: a 3 MB attribute, 10,000 links over max_links, URLs of 2048
 * and 2049 bytes, and inputs built to make a careless scanner quadratic.
 */
#include "unit.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "html_links.h"

#define BIG 100
#define NONE HTML_LINKS_NONE
#define BYTES(s) s, sizeof(s) - 1
#define MAX_WANT 3
#define PER_FILL SIZE_MAX
#define SLOW_MS 1000 /* far above a linear scan of a few MB, even under ASan */

typedef struct {
    size_t start;    /* where the raw value starts */
    const char *raw; /* the raw value, so len = strlen(raw) */
    const char *url; /* the decoded URL */
} want_link_t;

typedef struct {
    const char *name;
    const char *html;
    size_t len;
    size_t max_links;
    size_t skipped;
    size_t body_close;
    size_t count;
    want_link_t links[MAX_WANT];
} scan_row_t;

static const scan_row_t scan_rows[] = {
    { "double-quoted value", BYTES("<p><a href=\"https://e.com/a\">x</a></p>"), BIG, 0, NONE, 1, { { 12, "https://e.com/a", "https://e.com/a" } } },
    { "single-quoted value", BYTES("<a href='http://e.com/b'>x</a>"), BIG, 0, NONE, 1, { { 9, "http://e.com/b", "http://e.com/b" } } },
    { "unquoted value ends at whitespace", BYTES("<a href=https://e.com/c?x=1 title=t>x</a>"), BIG, 0, NONE, 1, { { 8, "https://e.com/c?x=1", "https://e.com/c?x=1" } } },
    { "unquoted value ends at '>'", BYTES("<a href=https://e.com/d>x</a>"), BIG, 0, NONE, 1, { { 8, "https://e.com/d", "https://e.com/d" } } },
    { "unquoted value keeps quotes and '/'", BYTES("<a href=https://e.com/e'f/>x</a>"), BIG, 0, NONE, 1, { { 8, "https://e.com/e'f/", "https://e.com/e'f/" } } },
    { "whitespace around '='", BYTES("<a href = \n \"https://e.com/f\">x</a>"), BIG, 0, NONE, 1, { { 13, "https://e.com/f", "https://e.com/f" } } },
    { "tag and attribute names in any case", BYTES("<A HREF=\"HTTPS://E.COM/G\">x</A>"), BIG, 0, NONE, 1, { { 9, "HTTPS://E.COM/G", "HTTPS://E.COM/G" } } },
    { "mixed-case scheme", BYTES("<a href=\"HtTp://e.com/\">x</a>"), BIG, 0, NONE, 1, { { 9, "HtTp://e.com/", "HtTp://e.com/" } } },
    { "other attributes first", BYTES("<a class=\"btn\" style=\"color:red\" target=_blank href=\"https://e.com/h\">"), BIG, 0, NONE, 1, { { 53, "https://e.com/h", "https://e.com/h" } } },
    { "'>' inside a quoted value does not end the tag", BYTES("<a title=\"a>b\" data-x='c>d' href=\"https://e.com/i\">"), BIG, 0, NONE, 1, { { 34, "https://e.com/i", "https://e.com/i" } } },
    { "'/' between attributes", BYTES("<a/href=\"https://e.com/j\"/><a href=\"https://e.com/k\"/>"), BIG, 0, NONE, 2, { { 9, "https://e.com/j", "https://e.com/j" }, { 36, "https://e.com/k", "https://e.com/k" } } },
    { "several links in order", BYTES("<a href=\"https://e.com/1\">1</a> <a href=\"https://e.com/2\">2</a><a href=\"https://e.com/3\">3</a>"), BIG, 0, NONE, 3, { { 9, "https://e.com/1", "https://e.com/1" }, { 41, "https://e.com/2", "https://e.com/2" }, { 72, "https://e.com/3", "https://e.com/3" } } },
    { "one character after //", BYTES("<a href=\"http://x\">x</a>"), BIG, 0, NONE, 1, { { 9, "http://x", "http://x" } } },
    { "tag across lines", BYTES("<a\n\thref=\"https://e.com/l\"\r\n>x</a>"), BIG, 0, NONE, 1, { { 10, "https://e.com/l", "https://e.com/l" } } },
    { "&amp; decoded, raw span kept", BYTES("<a href=\"https://e.com/?a=1&amp;b=2\">x</a>"), BIG, 0, NONE, 1, { { 9, "https://e.com/?a=1&amp;b=2", "https://e.com/?a=1&b=2" } } },
    { "numeric references decoded", BYTES("<a href=\"https://e.com/&#65;&#x42;&#X43;&#0000068;\">x</a>"), BIG, 0, NONE, 1, { { 9, "https://e.com/&#65;&#x42;&#X43;&#0000068;", "https://e.com/ABCD" } } },
    { "&apos; decoded", BYTES("<a href=\"https://e.com/&apos;q&apos;\">x</a>"), BIG, 0, NONE, 1, { { 9, "https://e.com/&apos;q&apos;", "https://e.com/'q'" } } },
    { "unquoted value decoded", BYTES("<a href=https://e.com/?a&amp;b>x</a>"), BIG, 0, NONE, 1, { { 8, "https://e.com/?a&amp;b", "https://e.com/?a&b" } } },
    { "bare '&' is text", BYTES("<a href=\"https://e.com/?a=1&b=2&=3&#&#x;&&\">x</a>"), BIG, 0, NONE, 1, { { 9, "https://e.com/?a=1&b=2&=3&#&#x;&&", "https://e.com/?a=1&b=2&=3&#&#x;&&" } } },
    { "legacy name then '=' is text", BYTES("<a href=\"https://e.com/?x=1&copy=2&not=3\">x</a>"), BIG, 0, NONE, 1, { { 9, "https://e.com/?x=1&copy=2&not=3", "https://e.com/?x=1&copy=2&not=3" } } },
    { "name longer than a legacy one is text", BYTES("<a href=\"https://e.com/?a&copyright=1&notx\">x</a>"), BIG, 0, NONE, 1, { { 9, "https://e.com/?a&copyright=1&notx", "https://e.com/?a&copyright=1&notx" } } },
    { "unknown named reference: untracked", BYTES("<a href=\"https://e.com/?a&nbsp;b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "named reference in upper case: untracked", BYTES("<a href=\"https://e.com/?a&AMP;b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "&lowbar; is not in the table: untracked", BYTES("<a href=\"https://e.com/a&lowbar;b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "legacy name without ';': untracked", BYTES("<a href=\"https://e.com/?a=1&not_x=2\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "legacy name at the end of the value: untracked", BYTES("<a href=\"https://e.com/?a=1&copy\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "&amp without ';': untracked", BYTES("<a href=\"https://e.com/?a=1&amp/b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "numeric reference without ';': untracked", BYTES("<a href=\"https://e.com/&#65x\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "numeric reference to non-ASCII: untracked", BYTES("<a href=\"https://e.com/caf&#233;\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "numeric reference to LF: untracked", BYTES("<a href=\"https://e.com/a&#10;b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "numeric reference to NUL: untracked", BYTES("<a href=\"https://e.com/a&#0;b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "huge numeric reference: untracked", BYTES("<a href=\"https://e.com/a&#99999999999999999999;\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "&quot; decoded is refused", BYTES("<a href=\"https://e.com/&quot;x\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "&lt; decoded is refused", BYTES("<a href=\"https://e.com/&lt;x\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "decoded leading space trimmed", BYTES("<a href=\"&#32;https://e.com/m\">x</a>"), BIG, 0, NONE, 1, { { 9, "&#32;https://e.com/m", "https://e.com/m" } } },
    { "leading and trailing whitespace trimmed", BYTES("<a href=\" \n\thttps://e.com/n \r\n\f \">x</a>"), BIG, 0, NONE, 1, { { 9, " \n\thttps://e.com/n \r\n\f ", "https://e.com/n" } } },
    { "whitespace inside: untracked", BYTES("<a href=\"https://e.com/a b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "tab inside: untracked", BYTES("<a href=\"https://e.com/a\tb\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "mailto: untracked", BYTES("<a href=\"mailto:bob@example.com\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "tel: untracked", BYTES("<a href=\"tel:+4912345\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "anchor: untracked", BYTES("<a href=\"#top\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "relative path: untracked", BYTES("<a href=\"/path/page.html\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "relative file: untracked", BYTES("<a href=\"page.html\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "protocol-relative: untracked", BYTES("<a href=\"//e.com/x\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "ftp: untracked", BYTES("<a href=\"ftp://e.com/f\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "javascript: untracked", BYTES("<a href=\"javascript:alert(1)\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "JAVASCRIPT: untracked", BYTES("<a href=\"JAVASCRIPT:alert(1)\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "java&#x09;script: untracked", BYTES("<a href=\"JaVa&#x09;script:alert(1)\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "java TAB script: untracked", BYTES("<a href=\"java\tscript:alert(1)\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "empty href: untracked", BYTES("<a href=\"\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "whitespace-only href: untracked", BYTES("<a href=\"  \t \">x</a>"), BIG, 1, NONE, 0, {  } },
    { "nothing after //: untracked", BYTES("<a href=\"https://\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "one slash: untracked", BYTES("<a href=\"https:/e.com/\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "http without colon: untracked", BYTES("<a href=\"http//e.com/\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "data URL: untracked", BYTES("<a href=\"data:text/html,x\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "scheme after whitespace and text: untracked", BYTES("<a href=\"x https://e.com/\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "href without a value: untracked", BYTES("<a href>x</a><a href=>y</a>"), BIG, 2, NONE, 0, {  } },
    { "'\"' (in single quotes): untracked", BYTES("<a href='https://e.com/a\"b'>x</a>"), BIG, 1, NONE, 0, {  } },
    { "'<': untracked", BYTES("<a href=\"https://e.com/a<b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "'>': untracked", BYTES("<a href=\"https://e.com/a>b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "backslash: untracked", BYTES("<a href=\"https://e.com/a\\b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "backquote: untracked", BYTES("<a href=\"https://e.com/a`b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "DEL: untracked", BYTES("<a href=\"https://e.com/a\177b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "byte 0x80: untracked", BYTES("<a href=\"https://e.com/a\200b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "UTF-8: untracked", BYTES("<a href=\"https://e.com/a\303\251b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "NUL: untracked", BYTES("<a href=\"https://e.com/a\000b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "control byte: untracked", BYTES("<a href=\"https://e.com/a\001b\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "data-postinbox-notrack before href", BYTES("<a data-postinbox-notrack href=\"https://e.com/\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "data-postinbox-notrack after href, any case and value", BYTES("<a href=\"https://e.com/\" DATA-POSTINBOX-NOTRACK=\"no\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "data-postinbox-notrack on another tag has no effect", BYTES("<p data-postinbox-notrack><a href=\"https://e.com/o\">x</a></p>"), BIG, 0, NONE, 1, { { 35, "https://e.com/o", "https://e.com/o" } } },
    { "duplicate href: the first wins", BYTES("<a href=\"https://e.com/first\" href=\"https://e.com/second\">x</a>"), BIG, 0, NONE, 1, { { 9, "https://e.com/first", "https://e.com/first" } } },
    { "duplicate href: a first mailto wins", BYTES("<a href=\"mailto:a@b.c\" HREF=\"https://e.com/\">x</a>"), BIG, 1, NONE, 0, {  } },
    { "<area href> is not a link", BYTES("<map><area href=\"https://e.com/area\"></map>"), BIG, 0, NONE, 0, {  } },
    { "<abbr href> is not a link", BYTES("<abbr href=\"https://e.com/abbr\">x</abbr>"), BIG, 0, NONE, 0, {  } },
    { "<ab href> is not a link", BYTES("<ab href=\"https://e.com/ab\">x</ab>"), BIG, 0, NONE, 0, {  } },
    { "an end tag's href is not a link", BYTES("</a href=\"https://e.com/end\">"), BIG, 0, NONE, 0, {  } },
    { "'=href' is another attribute", BYTES("<a =href=\"https://e.com/\">x</a>"), BIG, 0, NONE, 0, {  } },
    { "'xhref' is another attribute", BYTES("<a xhref=\"https://e.com/\" hrefx=\"https://e.com/\">x</a>"), BIG, 0, NONE, 0, {  } },
    { "<a> without href", BYTES("<a name=\"top\">x</a>"), BIG, 0, NONE, 0, {  } },
    { "tag name with NUL is not 'a'", BYTES("<a\000 href=\"https://e.com/\">x</a>"), BIG, 0, NONE, 0, {  } },
    { "link in a comment", BYTES("<!-- <a href=\"https://e.com/c\">x</a> -->"), BIG, 0, NONE, 0, {  } },
    { "link in a comment with '--' inside", BYTES("<!-- a -- b <a href=\"https://e.com/c\"> -- > -->"), BIG, 0, NONE, 0, {  } },
    { "'<!-->' ends at once", BYTES("<!--><a href=\"https://e.com/p\">x</a>"), BIG, 0, NONE, 1, { { 14, "https://e.com/p", "https://e.com/p" } } },
    { "'<!--->' ends at once", BYTES("<!---><a href=\"https://e.com/q\">x</a>"), BIG, 0, NONE, 1, { { 15, "https://e.com/q", "https://e.com/q" } } },
    { "'<!---->' is an empty comment", BYTES("<!----><a href=\"https://e.com/r\">x</a>"), BIG, 0, NONE, 1, { { 16, "https://e.com/r", "https://e.com/r" } } },
    { "'--!>' ends a comment", BYTES("<!-- x --!><a href=\"https://e.com/s\">x</a>"), BIG, 0, NONE, 1, { { 20, "https://e.com/s", "https://e.com/s" } } },
    { "'<!--!>' does not end it", BYTES("<!--!><a href=\"https://e.com/s\">x</a>"), BIG, 0, NONE, 0, {  } },
    { "unterminated comment runs to the end", BYTES("<!-- <a href=\"https://e.com/c\">x</a></body>"), BIG, 0, NONE, 0, {  } },
    { "Outlook conditional comment", BYTES("<!--[if mso]><a href=\"https://e.com/mso\">x</a><![endif]--><a href=\"https://e.com/all\">y</a>"), BIG, 0, NONE, 1, { { 67, "https://e.com/all", "https://e.com/all" } } },
    { "downlevel-revealed conditional is markup", BYTES("<![if !mso]><a href=\"https://e.com/nonmso\">x</a><![endif]>"), BIG, 0, NONE, 1, { { 21, "https://e.com/nonmso", "https://e.com/nonmso" } } },
    { "doctype", BYTES("<!DOCTYPE html><html><a href=\"https://e.com/t\">x</a>"), BIG, 0, NONE, 1, { { 30, "https://e.com/t", "https://e.com/t" } } },
    { "processing instruction", BYTES("<?xml version=\"1.0\"?><a href=\"https://e.com/u\">x</a>"), BIG, 0, NONE, 1, { { 30, "https://e.com/u", "https://e.com/u" } } },
    { "CDATA is a bogus comment to the first '>'", BYTES("<![CDATA[ <a href=\"https://e.com/cdata\"> ]]><a href=\"https://e.com/v\">"), BIG, 0, NONE, 1, { { 53, "https://e.com/v", "https://e.com/v" } } },
    { "'</' + digit is a bogus comment", BYTES("</3 <a href=\"https://e.com/w\">x</a>"), BIG, 0, NONE, 0, {  } },
    { "'</>' is nothing", BYTES("</><a href=\"https://e.com/x\">x</a>"), BIG, 0, NONE, 1, { { 12, "https://e.com/x", "https://e.com/x" } } },
    { "'<' + space is text", BYTES("a < b <a href=\"https://e.com/y\">x</a>"), BIG, 0, NONE, 1, { { 15, "https://e.com/y", "https://e.com/y" } } },
    { "'<' + digit is text", BYTES("1<2 <a href=\"https://e.com/z\">x</a>"), BIG, 0, NONE, 1, { { 13, "https://e.com/z", "https://e.com/z" } } },
    { "link in <script>", BYTES("<script>x <a href=\"https://e.com/in\">y</a></script><a href=\"https://e.com/after\">z</a>"), BIG, 0, NONE, 1, { { 60, "https://e.com/after", "https://e.com/after" } } },
    { "link in <style>", BYTES("<style>x <a href=\"https://e.com/in\">y</a></style><a href=\"https://e.com/after\">z</a>"), BIG, 0, NONE, 1, { { 58, "https://e.com/after", "https://e.com/after" } } },
    { "link in <title>", BYTES("<title>x <a href=\"https://e.com/in\">y</a></title><a href=\"https://e.com/after\">z</a>"), BIG, 0, NONE, 1, { { 58, "https://e.com/after", "https://e.com/after" } } },
    { "link in <textarea>", BYTES("<textarea>x <a href=\"https://e.com/in\">y</a></textarea><a href=\"https://e.com/after\">z</a>"), BIG, 0, NONE, 1, { { 64, "https://e.com/after", "https://e.com/after" } } },
    { "link in <xmp>", BYTES("<xmp>x <a href=\"https://e.com/in\">y</a></xmp><a href=\"https://e.com/after\">z</a>"), BIG, 0, NONE, 1, { { 54, "https://e.com/after", "https://e.com/after" } } },
    { "link in <iframe>", BYTES("<iframe>x <a href=\"https://e.com/in\">y</a></iframe><a href=\"https://e.com/after\">z</a>"), BIG, 0, NONE, 1, { { 60, "https://e.com/after", "https://e.com/after" } } },
    { "link in <noembed>", BYTES("<noembed>x <a href=\"https://e.com/in\">y</a></noembed><a href=\"https://e.com/after\">z</a>"), BIG, 0, NONE, 1, { { 62, "https://e.com/after", "https://e.com/after" } } },
    { "link in <noframes>", BYTES("<noframes>x <a href=\"https://e.com/in\">y</a></noframes><a href=\"https://e.com/after\">z</a>"), BIG, 0, NONE, 1, { { 64, "https://e.com/after", "https://e.com/after" } } },
    { "raw text end tag in any case, with attributes", BYTES("<SCRIPT type=x>'<a href=\"https://e.com/in\">'</Script foo='>'><a href=\"https://e.com/after\">"), BIG, 0, NONE, 1, { { 70, "https://e.com/after", "https://e.com/after" } } },
    { "'</scripty' does not end a script", BYTES("<script></scripty><a href=\"https://e.com/in\"></script>"), BIG, 0, NONE, 0, {  } },
    { "unterminated <style> runs to the end", BYTES("<style>p{} <a href=\"https://e.com/in\"></body>"), BIG, 0, NONE, 0, {  } },
    { "<plaintext> runs to the end", BYTES("<plaintext><a href=\"https://e.com/in\"></plaintext></body>"), BIG, 0, NONE, 0, {  } },
    { "script: '<!--' then '<script>' keeps '</script>' inside", BYTES("<script><!--<script></script><a href=\"https://e.com/in\"></script>--></script><a href=\"https://e.com/out\">"), BIG, 0, NONE, 1, { { 86, "https://e.com/out", "https://e.com/out" } } },
    { "script: '-->' leaves the double escape", BYTES("<script><!--<script>--></script><a href=\"https://e.com/out\">"), BIG, 0, NONE, 1, { { 41, "https://e.com/out", "https://e.com/out" } } },
    { "script: '<!--' alone does not hide '</script>'", BYTES("<script><!-- x </script><a href=\"https://e.com/out\">"), BIG, 0, NONE, 1, { { 33, "https://e.com/out", "https://e.com/out" } } },
    { "script: '<!-->' escapes nothing", BYTES("<script><!--><script></script><a href=\"https://e.com/out\">"), BIG, 0, NONE, 1, { { 39, "https://e.com/out", "https://e.com/out" } } },
    { "script: '<scripty>' does not double-escape", BYTES("<script><!--<scripty></script><a href=\"https://e.com/out\">"), BIG, 0, NONE, 1, { { 39, "https://e.com/out", "https://e.com/out" } } },
    { "script: unterminated double escape runs to the end", BYTES("<script><!--<script></script><a href=\"https://e.com/in\"></body>"), BIG, 0, NONE, 0, {  } },
    { "<noscript> is markup", BYTES("<noscript><a href=\"https://e.com/ns\">x</a></noscript>"), BIG, 0, NONE, 1, { { 19, "https://e.com/ns", "https://e.com/ns" } } },
    { "blockquote nesting", BYTES("<a href=\"https://e.com/t1\">t1</a><blockquote type=\"cite\"><a href=\"https://e.com/q1\">q1</a><BLOCKQUOTE><a href=\"https://e.com/q2\">q2</a></blockquote><a href=\"https://e.com/q3\">q3</a></blockquote><a href=\"https://e.com/t2\">t2</a>"), BIG, 3, NONE, 2, { { 9, "https://e.com/t1", "https://e.com/t1" }, { 203, "https://e.com/t2", "https://e.com/t2" } } },
    { "stray </blockquote> does not go negative", BYTES("</blockquote></blockquote><a href=\"https://e.com/t\">t</a><blockquote><a href=\"https://e.com/q\">q</a>"), BIG, 1, NONE, 1, { { 35, "https://e.com/t", "https://e.com/t" } } },
    { "unclosed blockquote runs to the end", BYTES("<blockquote><p>old</p></div><a href=\"https://e.com/q\">q</a><a href=\"https://e.com/q\">q</a>"), BIG, 2, NONE, 0, {  } },
    { "gmail_quote div with nested divs", BYTES("<div dir=\"ltr\"><a href=\"https://e.com/t1\">t1</a></div><div class=\"gmail_quote\"><div dir=\"ltr\"><div><a href=\"https://e.com/q1\">q1</a></div></div><a href=\"https://e.com/q2\">q2</a></div><a href=\"https://e.com/t2\">t2</a>"), BIG, 2, NONE, 2, { { 24, "https://e.com/t1", "https://e.com/t1" }, { 192, "https://e.com/t2", "https://e.com/t2" } } },
    { "gmail_quote among other classes", BYTES("<div class=\"x gmail_quote\tgmail_quote_container\"><a href=\"https://e.com/q\">q</a></div><a href=\"https://e.com/t\">t</a>"), BIG, 1, NONE, 1, { { 95, "https://e.com/t", "https://e.com/t" } } },
    { "gmail_quote in any case, decoded", BYTES("<div class=GMAIL_QUOTE><a href=\"https://e.com/q\">q</a></div><div class=\"gmail&#95;quote\"><a href=\"https://e.com/q\">q</a></div>"), BIG, 2, NONE, 0, {  } },
    { "gmail_quote_x is not gmail_quote", BYTES("<div class=\"gmail_quote_x\"><a href=\"https://e.com/a\">a</a></div><div class=\"xgmail_quote\"><a href=\"https://e.com/b\">b</a></div>"), BIG, 0, NONE, 2, { { 36, "https://e.com/a", "https://e.com/a" }, { 99, "https://e.com/b", "https://e.com/b" } } },
    { "gmail_quote on a span is not history", BYTES("<span class=\"gmail_quote\"><a href=\"https://e.com/a\">a</a></span>"), BIG, 0, NONE, 1, { { 35, "https://e.com/a", "https://e.com/a" } } },
    { "gmail_quote: a second class attribute is ignored", BYTES("<div class=\"x\" class=\"gmail_quote\"><a href=\"https://e.com/a\">a</a></div>"), BIG, 0, NONE, 1, { { 44, "https://e.com/a", "https://e.com/a" } } },
    { "stray </div> before a gmail_quote", BYTES("</div></div><div class=\"gmail_quote\"><a href=\"https://e.com/q\">q</a></div><a href=\"https://e.com/t\">t</a>"), BIG, 1, NONE, 1, { { 83, "https://e.com/t", "https://e.com/t" } } },
    { "divRplyFwdMsg: the rest is history", BYTES("<a href=\"https://e.com/t\">t</a><hr><div id=\"divRplyFwdMsg\" dir=\"ltr\"><b>From:</b> <a href=\"mailto:b@x.org\">b</a></div><div><a href=\"https://e.com/q\">q</a></div>"), BIG, 2, NONE, 1, { { 9, "https://e.com/t", "https://e.com/t" } } },
    { "appendonsend: the rest is history", BYTES("<div id=\"appendonsend\"></div><hr><a href=\"https://e.com/q\">q</a>"), BIG, 1, NONE, 0, {  } },
    { "the id on the link itself", BYTES("<a id=\"divRplyFwdMsg\" href=\"https://e.com/q\">q</a>"), BIG, 1, NONE, 0, {  } },
    { "an id that only starts like it", BYTES("<div id=\"divRplyFwdMsgX\"></div><div id=\"xappendonsend\"></div><a href=\"https://e.com/t\">t</a>"), BIG, 0, NONE, 1, { { 70, "https://e.com/t", "https://e.com/t" } } },
    { "history tags in comments do not count", BYTES("<!-- <blockquote> --><a href=\"https://e.com/t\">t</a>"), BIG, 0, NONE, 1, { { 30, "https://e.com/t", "https://e.com/t" } } },
    { "body_close", BYTES("<html><body><p>x</p></body></html>"), BIG, 0, 20, 0, {  } },
    { "body_close: the last one outside comments and raw text", BYTES("<body></body><!-- </body> --></BODY >x<script></body></script><style></body></style><title></body>"), BIG, 0, 29, 0, {  } },
    { "body_close: only in a comment", BYTES("<body><!-- </body> -->x"), BIG, 0, NONE, 0, {  } },
    { "body_close: '</bodyx>' is another tag", BYTES("<body>x</bodyx></body-x>"), BIG, 0, NONE, 0, {  } },
    { "body_close: '</body' at the end is not a tag", BYTES("<body>x</body"), BIG, 0, NONE, 0, {  } },
    { "body_close: with attributes and '/'", BYTES("<body>x</body foo=\">\"/>"), BIG, 0, 7, 0, {  } },
    { "no body", BYTES("<p>hello</p>"), BIG, 0, NONE, 0, {  } },
    { "body_close in quoted history still counts", BYTES("<blockquote></body></blockquote>"), BIG, 0, 12, 0, {  } },
    { "unterminated tag at the end", BYTES("<a href=\"https://e.com/x\">ok</a><a href=\"https://e.com/y\""), BIG, 0, NONE, 1, { { 9, "https://e.com/x", "https://e.com/x" } } },
    { "unterminated quote at the end", BYTES("<a href=\"https://e.com/x\">ok</a><a href=\"https://e.com/y>"), BIG, 0, NONE, 1, { { 9, "https://e.com/x", "https://e.com/x" } } },
    { "unquoted value at the end", BYTES("<a href=\"https://e.com/x\">ok</a><a href=https://e.com/y"), BIG, 0, NONE, 1, { { 9, "https://e.com/x", "https://e.com/x" } } },
    { "tag name at the end", BYTES("<a href=\"https://e.com/x\">ok</a><a"), BIG, 0, NONE, 1, { { 9, "https://e.com/x", "https://e.com/x" } } },
    { "'<' and '</' at the end", BYTES("<a href=\"https://e.com/x\">ok</a></"), BIG, 0, NONE, 1, { { 9, "https://e.com/x", "https://e.com/x" } } },
    { "NUL bytes around a link", BYTES("\000<p\000>\000<a href=\"https://e.com/nul\">\000</a>\000"), BIG, 0, NONE, 1, { { 15, "https://e.com/nul", "https://e.com/nul" } } },
    { "NUL inside an attribute name", BYTES("<a hr\000ef=\"https://e.com/\">x</a>"), BIG, 0, NONE, 0, {  } },
    { "max_links 0", BYTES("<a href=\"https://e.com/\">x</a><a href=\"mailto:x@y.z\">y</a>"), 0, 2, NONE, 0, {  } },
    { "max_links 1", BYTES("<a href=\"mailto:x@y.z\">y</a><a href=\"https://e.com/1\">1</a><a href=\"https://e.com/2\">2</a>"), 1, 2, NONE, 1, { { 37, "https://e.com/1", "https://e.com/1" } } },
    { "empty input", BYTES(""), BIG, 0, NONE, 0, {  } },
    { "no markup", BYTES("hello & goodbye"), BIG, 0, NONE, 0, {  } },
};

/* What holds for every scan: links in order, inside the input, not
 * overlapping, each an http(s) URL of printable ASCII. */
static void
check_invariants(size_t len, size_t max_links, const html_scan_t *scan)
{
    size_t end = 0;
    assert_true(scan->count <= max_links);
    assert_true(scan->body_close == NONE || scan->body_close < len);
    for (size_t k = 0; k < scan->count; k++) {
        const html_link_t *l = &scan->links[k];
        assert_true(l->start >= end);
        assert_true(l->len <= len - l->start);
        end = l->start + l->len;
        assert_non_null(l->url);
        size_t n = strlen(l->url);
        assert_true(n > 7 && n <= HTML_LINKS_URL_MAX);
        assert_true(strncasecmp(l->url, "http://", 7) == 0 || strncasecmp(l->url, "https://", 8) == 0);
        for (size_t i = 0; i < n; i++)
            assert_true(l->url[i] > 0x20 && l->url[i] < 0x7f && strchr("\"<>\\`", l->url[i]) == NULL);
    }
}

static void
test_scan(void **state)
{
    const scan_row_t *row = *state;
    html_scan_t scan;
    assert_int_equal(html_links_scan(row->html, row->len, row->max_links, &scan), 0);
    check_invariants(row->len, row->max_links, &scan);
    if (scan.count != row->count) {
        char got[1024] = "";
        for (size_t k = 0; k < scan.count && strlen(got) < 900; k++)
            snprintf(got + strlen(got), sizeof got - strlen(got), " [%zu,%zu) %.60s", scan.links[k].start,
                     scan.links[k].start + scan.links[k].len, scan.links[k].url);
        fail_msg("want %zu links, got %zu:%s", row->count, scan.count, got);
    }
    for (size_t k = 0; k < row->count; k++) {
        const want_link_t *w = &row->links[k];
        const html_link_t *l = &scan.links[k];
        assert_int_equal(l->start, w->start);
        assert_int_equal(l->len, strlen(w->raw));
        assert_memory_equal(row->html + l->start, w->raw, l->len);
        assert_string_equal(l->url, w->url);
    }
    assert_int_equal(scan.skipped, row->skipped);
    assert_int_equal(scan.body_close, row->body_close);
    html_scan_free(&scan);
    assert_null(scan.links);
    assert_int_equal(scan.count, 0);
}

/* ---- sizes ---------------------------------------------------------------------- */

static double
ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* prefix, then fill repeated to reach total bytes, then suffix: malloc'd, *len set. */
static char *
build(const char *prefix, const char *fill, size_t total, const char *suffix, size_t *len)
{
    size_t p = strlen(prefix), f = strlen(fill), s = strlen(suffix), n = p;
    char *buf = malloc(p + total + f + s + 1);
    assert_non_null(buf);
    memcpy(buf, prefix, p);
    while (n < p + total) {
        memcpy(buf + n, fill, f);
        n += f;
    }
    memcpy(buf + n, suffix, s);
    n += s;
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Scans buf, frees it, checks the invariants and the time; the scan is returned. */
static html_scan_t
timed_scan(char *buf, size_t len, size_t max_links, const char *what)
{
    html_scan_t scan;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(html_links_scan(buf, len, max_links, &scan), 0);
    double ms = ms_since(&t0);
    if (ms > SLOW_MS)
        fail_msg("%s: %zu bytes scanned in %.0f ms", what, len, ms);
    check_invariants(len, max_links, &scan);
    free(buf);
    return scan;
}

#define MB3 ((size_t)3 << 20)

static void
test_big_attribute(void **state)
{
    (void)state;
    size_t len;
    char *buf = build("<a title=\"", "lorem ipsum > dolor ", MB3, "\" href=\"https://e.com/big\">x</a></body>", &len);
    html_scan_t scan = timed_scan(buf, len, BIG, "3 MB title");
    assert_int_equal(scan.count, 1);
    assert_int_equal(scan.links[0].start, len - strlen("https://e.com/big\">x</a></body>"));
    assert_string_equal(scan.links[0].url, "https://e.com/big");
    assert_int_equal(scan.body_close, len - strlen("</body>"));
    html_scan_free(&scan);

    buf = build("<a href=\"https://e.com/", "abcdefgh&amp;", MB3, "\">x</a>", &len);
    scan = timed_scan(buf, len, BIG, "3 MB href");
    assert_int_equal(scan.count, 0);
    assert_int_equal(scan.skipped, 1);
    html_scan_free(&scan);

    buf = build("<a href=\"https://e.com/ws", " \t\n", MB3, "\">x</a>", &len);
    scan = timed_scan(buf, len, BIG, "3 MB of trailing whitespace");
    assert_int_equal(scan.count, 1);
    assert_int_equal(scan.links[0].start, 9);
    assert_int_equal(scan.links[0].len, len - 9 - strlen("\">x</a>"));
    assert_string_equal(scan.links[0].url, "https://e.com/ws");
    html_scan_free(&scan);

    buf = build("<div class=\"", "a&copy b&#98; ", MB3, "gmail_quote\"><a href=\"https://e.com/q\">q</a></div>", &len);
    scan = timed_scan(buf, len, BIG, "3 MB class");
    assert_int_equal(scan.count, 0);
    assert_int_equal(scan.skipped, 1);
    html_scan_free(&scan);

    buf = build("<a href=\"https://e.com/\" title=\"", "never closed ", MB3, "", &len);
    scan = timed_scan(buf, len, BIG, "3 MB unterminated");
    assert_int_equal(scan.count, 0);
    assert_int_equal(scan.skipped, 0);
    html_scan_free(&scan);
}

static void
test_many_links(void **state)
{
    (void)state;
    size_t n = 10000, used = 0;
    char *buf = malloc(n * 64 + 64);
    assert_non_null(buf);
    used += (size_t)sprintf(buf, "<html><body>");
    for (size_t k = 0; k < n; k++)
        used += (size_t)sprintf(buf + used, "<p><a href=\"https://e.com/%zu\">%zu</a></p>\n", k, k);
    used += (size_t)sprintf(buf + used, "</body></html>");
    size_t body = used - strlen("</body></html>");
    html_scan_t scan = timed_scan(buf, used, 1000, "10,000 links");
    assert_int_equal(scan.count, 1000);
    assert_int_equal(scan.skipped, 9000);
    assert_int_equal(scan.body_close, body);
    for (size_t k = 0; k < scan.count; k++) {
        char want[64];
        snprintf(want, sizeof want, "https://e.com/%zu", k);
        assert_string_equal(scan.links[k].url, want);
    }
    html_scan_free(&scan);
}

/* A URL of exactly n decoded bytes; amp: spelled with "&amp;" for its '&'s. */
static void
url_of_length(size_t n, int amp, int tracked)
{
    char *url = malloc(n + 1), *html = malloc(n * 5 + 64);
    assert_non_null(url);
    assert_non_null(html);
    memcpy(url, "https://e.com/", 14);
    for (size_t k = 14; k < n; k++)
        url[k] = (k % 7 == 0) ? '&' : (char)('a' + k % 26);
    url[n] = '\0';
    size_t used = (size_t)sprintf(html, "<a href=\"");
    for (size_t k = 0; k < n; k++)
        used += (size_t)sprintf(html + used, "%s", (url[k] == '&' && amp) ? "&amp;" : (char[]){ url[k], '\0' });
    used += (size_t)sprintf(html + used, "\">x</a>");
    html_scan_t scan = timed_scan(html, used, BIG, "long URL");
    assert_int_equal(scan.count, tracked ? 1 : 0);
    assert_int_equal(scan.skipped, tracked ? 0 : 1);
    if (tracked)
        assert_string_equal(scan.links[0].url, url);
    html_scan_free(&scan);
    free(url);
}

static void
test_url_length(void **state)
{
    (void)state;
    url_of_length(HTML_LINKS_URL_MAX, 0, 1);
    url_of_length(HTML_LINKS_URL_MAX + 1, 0, 0);
    url_of_length(HTML_LINKS_URL_MAX, 1, 1); /* the decoded length counts, not the raw one */
    url_of_length(HTML_LINKS_URL_MAX + 1, 1, 0);
}

/* Inputs that would be quadratic in a scanner that looks back or starts over. */
static void
test_pathological(void **state)
{
    (void)state;
    static const struct {
        const char *what, *prefix, *fill, *suffix;
        size_t count, skipped; /* skipped PER_FILL: one for each copy of fill */
    } cases[] = {
        { "'<' everywhere", "", "<", "<a href=\"https://e.com/\">", 1, 0 },
        { "'</' everywhere", "", "</", "", 0, 0 },
        { "'<!' everywhere", "", "<!", "", 0, 0 },
        { "'<a ' everywhere", "", "<a ", "", 0, 0 },
        { "attributes without end", "<a ", "x=y ", "", 0, 0 },
        { "'>' in a comment", "<!--", ">", "--><a href=\"https://e.com/\">", 1, 0 },
        { "'-' and '>' in a comment", "<!--", "-!->", "--><a href=\"https://e.com/\">", 1, 0 },
        { "almost end tags in a script", "<script>", "</scrip</scriptx", "</script><a href=\"https://e.com/\">", 1, 0 },
        { "script escapes", "<script><!--<script>", "-<-</scriptx<!--", "--></script><a href=\"https://e.com/\">", 1, 0 },
        { "'&' names in a class", "<div class=\"", "&copy&not&nbsp;&a", "\"></div><a href=\"https://e.com/\">", 1, 0 },
        { "digits of a numeric reference", "<a href=\"https://e.com/&#", "9", ";\">", 0, 1 },
        { "one long name", "<a href=\"https://e.com/&", "a", ";\">", 0, 1 },
        { "nested gmail_quote divs", "", "<div class=gmail_quote>", "<a href=\"https://e.com/\">", 0, 1 },
        { "links in a blockquote", "<blockquote>", "<a href=\"https://e.com/\">", "", 0, PER_FILL },
    };
    for (size_t c = 0; c < UNIT_ROWS(cases); c++) {
        size_t len, total = (size_t)2 << 20, fill = strlen(cases[c].fill);
        size_t skipped = cases[c].skipped == PER_FILL ? (total + fill - 1) / fill : cases[c].skipped;
        char *buf = build(cases[c].prefix, cases[c].fill, total, cases[c].suffix, &len);
        html_scan_t scan = timed_scan(buf, len, BIG, cases[c].what);
        if (scan.count != cases[c].count || scan.skipped != skipped)
            fail_msg("%s: %zu links, %zu skipped", cases[c].what, scan.count, scan.skipped);
        html_scan_free(&scan);
    }
}

/* Depth counted both ways: 100,000 nested blockquotes then as many closes. */
static void
test_deep_nesting(void **state)
{
    (void)state;
    size_t n = 100000, len;
    const char *open = "<blockquote><div class=gmail_quote>", *close = "</div></blockquote>";
    char *buf = malloc(n * (strlen(open) + strlen(close)) + 128);
    assert_non_null(buf);
    len = (size_t)sprintf(buf, "<a href=\"https://e.com/1\">");
    for (size_t k = 0; k < n; k++)
        len += (size_t)sprintf(buf + len, "%s", open);
    len += (size_t)sprintf(buf + len, "<a href=\"https://e.com/q\">");
    for (size_t k = 0; k < n; k++)
        len += (size_t)sprintf(buf + len, "%s", close);
    len += (size_t)sprintf(buf + len, "</div></blockquote><a href=\"https://e.com/2\">");
    html_scan_t scan = timed_scan(buf, len, BIG, "deep nesting");
    assert_int_equal(scan.count, 2);
    assert_int_equal(scan.skipped, 1);
    assert_string_equal(scan.links[0].url, "https://e.com/1");
    assert_string_equal(scan.links[1].url, "https://e.com/2");
    html_scan_free(&scan);
}

static void
test_scan_free(void **state)
{
    (void)state;
    html_scan_t scan;
    html_scan_free(NULL);
    assert_int_equal(html_links_scan(BYTES("<a href=\"https://e.com/\">"), BIG, &scan), 0);
    assert_int_equal(scan.count, 1);
    html_scan_free(&scan);
    html_scan_free(&scan); /* left empty: a second free is harmless */
    assert_int_equal(scan.body_close, NONE);
    assert_int_equal(html_links_scan(NULL, 0, BIG, &scan), 0);
    assert_int_equal(scan.count, 0);
    assert_int_equal(scan.body_close, NONE);
    html_scan_free(&scan);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_scan, scan_rows, sizeof(scan_rows[0]), UNIT_ROWS(scan_rows));
    unit_add(&suite, "a 3 MB attribute", test_big_attribute, NULL);
    unit_add(&suite, "10,000 links, max_links 1000", test_many_links, NULL);
    unit_add(&suite, "URLs of 2048 and 2049 bytes", test_url_length, NULL);
    unit_add(&suite, "inputs that could be quadratic", test_pathological, NULL);
    unit_add(&suite, "100,000 nested quotes", test_deep_nesting, NULL);
    unit_add(&suite, "html_scan_free", test_scan_free, NULL);
    return unit_run("html_links", &suite, NULL, NULL);
}
