/*
 * html_links.c -- the links and the </body> of outbound HTML, for
 * tracking.  See html_links.h.
 *
 * One pass over the bytes in the HTML5 tokenizer's states that mail needs
 * (WHATWG HTML, "Tokenization"):
 *   data           memchr to the next '<'; "<" + letter is a start tag,
 *                  "</" + letter an end tag, "</>" nothing, any other '<'
 *                  is text
 *   tag            the name up to whitespace, '/' or '>'; then attributes:
 *                  a name (its first byte may be '='), optionally '=' and a
 *                  value "...", '...' or unquoted up to whitespace or '>';
 *                  '/' between attributes is skipped; '>' outside quotes
 *                  ends the tag.  Whitespace is TAB, LF, FF, CR and space
 *                  (HTML5 turns CR into LF before tokenizing).
 *   comment        "<!--" to the first "-->" or "--!>"; "<!-->" and
 *                  "<!--->" end at once.  Outlook's "<!--[if mso]>" ...
 *                  "<![endif]-->" is one such comment; the downlevel-revealed
 *                  "<![if !mso]>" and "<![endif]>" are bogus comments, and
 *                  what is between them is markup, as in a browser.
 *   bogus comment  "<!" not followed by "--" (DOCTYPE, CDATA, conditionals),
 *                  "<?", "</" + neither letter nor '>': to the next '>'
 *                  (a '>' in a doctype's quoted identifier ends it too, as
 *                  in HTML5).
 *   raw text       after the start tag of style, title, textarea, xmp,
 *                  iframe, noembed or noframes: up to "</NAME" (any case)
 *                  followed by whitespace, '/' or '>', which is then
 *                  tokenized as an end tag; script likewise, through
 *                  HTML5's escaped states ("<!--" then "<script>" inside a
 *                  script: the next "</script>" does not end it, "-->"
 *                  comes first); after <plaintext>, to the end.
 * The input ending inside a tag, comment or raw text ends the scan; such a
 * tag is not a tag (neither reported nor counted in skipped), such a
 * comment runs to the end.  Every byte is looked at a bounded number of
 * times: once by the tokenizer, once more when the first href, class or id
 * value of a tag is decoded.
 *
 * Character references in attribute values (decoded for href, class, id):
 * "&amp;" "&lt;" "&gt;" "&quot;" "&apos;" (in this case only) and "&#NNN;"
 * "&#xHHH;".  Where a browser decodes, or may decode, something this
 * table does not know, the decoder says "unsure" and the link is left
 * alone, so a tracked URL is always the one the browser would have
 * followed:
 *   - "&NAME;" with any other alphanumeric NAME ("&AMP;", "&nbsp;", and
 *     names no table has: the 2,231-entry table is not shipped);
 *   - "&#NNN" and "&#xHHH" without their ';' (browsers decode them anyway);
 *   - "&NAME" without ';' where NAME is one of the 106 legacy names HTML5
 *     decodes without it ("&copy", "&not", "&para", ...), unless '=' follows
 *     (in an attribute, "&copy=1" stays text: HTML5's historical rule).
 * Any other '&' is text ("?a=1&b=2", "&#", "&#x", "&=").
 *
 * Quoted history is counted, not built as a tree: open <blockquote>s; the
 * divs open since a div whose class holds the word gmail_quote; after a
 * start tag with id divRplyFwdMsg or appendonsend, the rest of the
 * document.  Counts never go below zero.  Knowingly simpler than a
 * browser's tree builder: an end tag a browser ignores (one not in scope,
 * such as </div> inside a table cell of the quote) still closes here, and
 * a </blockquote> that implicitly closes divs does not close them here.
 * class and id are decoded as href is and compared in any ASCII case
 * (HTML compares them exactly in standards mode; matching more only keeps
 * more out of tracking); an "unsure" reference in them is a character
 * that matches nothing (so "gmail&lowbar;quote" is not the word).
 *
 * The tokenizer states are switched as a browser's tree builder switches
 * them in the body, not per insertion mode: a raw text start tag that a
 * browser ignores (<xmp> in a select, <script> in a frameset) still starts
 * raw text here, and svg and math content is read as HTML (<svg><style>
 * is raw text here, <![CDATA[ a bogus comment to the first '>').
 */
#include "html_links.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- bytes ---------------------------------------------------------------------- */

typedef struct {
    size_t start;
    size_t len;
} span_t; /* bytes [start, start + len) of the input */

static int
is_ws(unsigned char c)
{
    return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static int
is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int
is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}

static int
hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* 1 if s[0..len) is word (lowercase ASCII) in any ASCII case. */
static int
equal_lower(const unsigned char *s, size_t len, const char *word)
{
    size_t k = 0;
    for (; k < len; k++)
        if (word[k] == '\0' || lower(s[k]) != (unsigned char)word[k])
            return 0;
    return word[k] == '\0';
}

/* ---- character references ------------------------------------------------------- */

#define CH_END (-1)    /* no more characters */
#define CH_UNSURE (-2) /* a reference a browser decodes, or may, and this table does not */

/* The characters of one attribute value: p[i..end). */
typedef struct {
    const unsigned char *p;
    size_t i;
    size_t end;
} chars_t;

/* HTML5's named references that are decoded without their ';', sorted as
 * strcmp does (WHATWG entities.json, the names without ';'). */
static const char *const legacy_names[] = {
    "AElig",  "AMP",    "Aacute", "Acirc",  "Agrave", "Aring",  "Atilde", "Auml",   "COPY",   "Ccedil", "ETH",
    "Eacute", "Ecirc",  "Egrave", "Euml",   "GT",     "Iacute", "Icirc",  "Igrave", "Iuml",   "LT",     "Ntilde",
    "Oacute", "Ocirc",  "Ograve", "Oslash", "Otilde", "Ouml",   "QUOT",   "REG",    "THORN",  "Uacute", "Ucirc",
    "Ugrave", "Uuml",   "Yacute", "aacute", "acirc",  "acute",  "aelig",  "agrave", "amp",    "aring",  "atilde",
    "auml",   "brvbar", "ccedil", "cedil",  "cent",   "copy",   "curren", "deg",    "divide", "eacute", "ecirc",
    "egrave", "eth",    "euml",   "frac12", "frac14", "frac34", "gt",     "iacute", "icirc",  "iexcl",  "igrave",
    "iquest", "iuml",   "laquo",  "lt",     "macr",   "micro",  "middot", "nbsp",   "not",    "ntilde", "oacute",
    "ocirc",  "ograve", "ordf",   "ordm",   "oslash", "otilde", "ouml",   "para",   "plusmn", "pound",  "quot",
    "raquo",  "reg",    "sect",   "shy",    "sup1",   "sup2",   "sup3",   "szlig",  "thorn",  "times",  "uacute",
    "ucirc",  "ugrave", "uml",    "uuml",   "yacute", "yen",    "yuml",
};
#define LEGACY_NAME_MAX 6

/* s[0..len) against a NUL-terminated name, in strcmp's order. */
static int
compare_name(const unsigned char *s, size_t len, const char *name)
{
    size_t nlen = strlen(name);
    int c = memcmp(s, name, len < nlen ? len : nlen);
    if (c != 0)
        return c;
    return len < nlen ? -1 : len > nlen;
}

/* 1 if s[0..len) is one of legacy_names (binary search). */
static int
is_legacy_name(const unsigned char *s, size_t len)
{
    size_t lo = 0, hi = sizeof(legacy_names) / sizeof(legacy_names[0]);
    if (len > LEGACY_NAME_MAX)
        return 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_name(s, len, legacy_names[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

/* "&#" at c->i: the digits from k on. */
static int32_t
numeric_ref(chars_t *c, size_t k)
{
    const unsigned char *p = c->p;
    int hex = k < c->end && (p[k] == 'x' || p[k] == 'X');
    size_t first = k + (size_t)hex, m = first;
    uint32_t v = 0;
    for (; m < c->end; m++) {
        int d = hex ? hex_value(p[m]) : (is_digit(p[m]) ? p[m] - '0' : -1);
        if (d < 0)
            break;
        if (v <= 0x10FFFF) /* saturates: at most 0x10FFFF * 16 + 15 */
            v = v * (hex ? 16u : 10u) + (uint32_t)d;
    }
    if (m == first) { /* "&#", "&#x" without digits: text */
        c->i++;
        return '&';
    }
    if (m < c->end && p[m] == ';') {
        c->i = m + 1;
        /* HTML5: NUL, beyond Unicode and surrogates become U+FFFD; C1
         * controls map through windows-1252, to non-ASCII either way. */
        if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return 0xFFFD;
        return (int32_t)v;
    }
    c->i = m; /* decoded by browsers without its ';' */
    return CH_UNSURE;
}

/* '&' + an ASCII alphanumeric at c->i: the name starts at j. */
static int32_t
named_ref(chars_t *c, size_t j)
{
    static const struct {
        const char *name;
        char ch;
    } known[] = { { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' } };
    const unsigned char *p = c->p;
    size_t k = j;
    while (k < c->end && is_alnum(p[k]))
        k++;
    if (k < c->end && p[k] == ';') {
        c->i = k + 1;
        for (size_t n = 0; n < sizeof(known) / sizeof(known[0]); n++)
            if (k - j == strlen(known[n].name) && memcmp(p + j, known[n].name, k - j) == 0)
                return (unsigned char)known[n].ch;
        return CH_UNSURE;
    }
    if (is_legacy_name(p + j, k - j) && !(k < c->end && p[k] == '=')) {
        c->i = k;
        return CH_UNSURE;
    }
    c->i++; /* "&b=2": the '&' is text, the name is read as text after it */
    return '&';
}

/* The next character of the value: a byte, a reference's code point,
 * CH_UNSURE (the reference is skipped) or CH_END. */
static int32_t
next_char(chars_t *c)
{
    if (c->i >= c->end)
        return CH_END;
    const unsigned char *p = c->p;
    size_t j = c->i + 1;
    if (p[c->i] != '&') {
        c->i++;
        return p[j - 1];
    }
    if (j < c->end && p[j] == '#')
        return numeric_ref(c, j + 1);
    if (j < c->end && is_alnum(p[j]))
        return named_ref(c, j);
    c->i++;
    return '&';
}

static int
is_ws_char(int32_t ch)
{
    return ch >= 0 && ch < 0x80 && is_ws((unsigned char)ch);
}

/* ---- attribute values ----------------------------------------------------------- */

/* 1 if the decoded value is word (lowercase ASCII) in any ASCII case. */
static int
value_is(const unsigned char *p, span_t v, const char *word)
{
    chars_t c = { p, v.start, v.start + v.len };
    size_t k = 0;
    for (;;) {
        int32_t ch = next_char(&c);
        if (ch == CH_END)
            return word[k] == '\0';
        if (word[k] == '\0' || ch < 0 || ch >= 0x80 || lower((unsigned char)ch) != (unsigned char)word[k])
            return 0;
        k++;
    }
}

/* 1 if the decoded value, split at ASCII whitespace, holds word (lowercase
 * ASCII) in any ASCII case. */
static int
value_has_word(const unsigned char *p, span_t v, const char *word)
{
    const size_t differs = SIZE_MAX;
    size_t wlen = strlen(word), k = 0; /* bytes of word matched by the current token, or differs */
    chars_t c = { p, v.start, v.start + v.len };
    for (;;) {
        int32_t ch = next_char(&c);
        if (ch == CH_END || is_ws_char(ch)) {
            if (k == wlen)
                return 1;
            if (ch == CH_END)
                return 0;
            k = 0;
        } else if (k < wlen && ch >= 0 && ch < 0x80 && lower((unsigned char)ch) == (unsigned char)word[k]) {
            k++;
        } else {
            k = differs;
        }
    }
}

/* A byte a tracked URL may hold: printable ASCII, none of " < > \ `. */
static int
url_char(int32_t ch)
{
    return ch > 0x20 && ch < 0x7F && ch != '"' && ch != '<' && ch != '>' && ch != '\\' && ch != '`';
}

/* 1 if url[0..len) is "http://" or "https://" (any case) and more. */
static int
is_http_url(const char *url, size_t len)
{
    const unsigned char *u = (const unsigned char *)url;
    return (len > 7 && equal_lower(u, 7, "http://")) || (len > 8 && equal_lower(u, 8, "https://"));
}

/* The href value v decoded into buf (HTML_LINKS_URL_MAX bytes, not
 * NUL-terminated), leading and trailing ASCII whitespace dropped: its
 * length, or 0 if it is not a URL to track. */
static size_t
tracked_url(const unsigned char *p, span_t v, char *buf)
{
    chars_t c = { p, v.start, v.start + v.len };
    size_t len = 0;
    int trailing = 0; /* whitespace after the URL: only more may follow */
    for (;;) {
        int32_t ch = next_char(&c);
        if (ch == CH_END)
            break;
        if (is_ws_char(ch)) {
            trailing = len > 0;
            continue;
        }
        if (ch == CH_UNSURE || trailing || !url_char(ch) || len == HTML_LINKS_URL_MAX)
            return 0;
        buf[len++] = (char)ch;
    }
    return is_http_url(buf, len) ? len : 0;
}

/* ---- tags ----------------------------------------------------------------------- */

typedef struct {
    span_t name;
    span_t href, klass, id; /* the first of each, when has_* */
    int has_href, has_class, has_id;
    int notrack; /* data-postinbox-notrack, with a value or none */
} tag_t;

/* One attribute of a tag; a name seen before is ignored, as in HTML5. */
static void
tag_attribute(const unsigned char *p, tag_t *tag, span_t name, span_t value)
{
    const unsigned char *s = p + name.start;
    if (equal_lower(s, name.len, "href")) {
        if (!tag->has_href)
            tag->href = value;
        tag->has_href = 1;
    } else if (equal_lower(s, name.len, "class")) {
        if (!tag->has_class)
            tag->klass = value;
        tag->has_class = 1;
    } else if (equal_lower(s, name.len, "id")) {
        if (!tag->has_id)
            tag->id = value;
        tag->has_id = 1;
    } else if (equal_lower(s, name.len, "data-postinbox-notrack")) {
        tag->notrack = 1;
    }
}

/* The value after an attribute's '=' (and whitespace) at p[*i]: quoted or
 * unquoted.  0 if the input ends inside a quoted one. */
static int
attribute_value(const unsigned char *p, size_t n, size_t *i, span_t *value)
{
    size_t at = *i;
    if (p[at] == '"' || p[at] == '\'') {
        const unsigned char *q = memchr(p + at + 1, p[at], n - at - 1);
        if (q == NULL)
            return 0;
        *value = (span_t){ at + 1, (size_t)(q - p) - at - 1 };
        *i = (size_t)(q - p) + 1;
        return 1;
    }
    while (*i < n && !is_ws(p[*i]) && p[*i] != '>') /* '>' at once: an empty value */
        (*i)++;
    *value = (span_t){ at, *i - at };
    return 1;
}

/* The tag whose name starts at p[i] (after "<" or "</"): *tag filled and
 * *next just past its '>'.  0 if the input ends inside it. */
static int
parse_tag(const unsigned char *p, size_t n, size_t i, tag_t *tag, size_t *next)
{
    memset(tag, 0, sizeof *tag);
    tag->name.start = i;
    while (i < n && !is_ws(p[i]) && p[i] != '/' && p[i] != '>')
        i++;
    tag->name.len = i - tag->name.start;
    for (;;) {
        while (i < n && (is_ws(p[i]) || p[i] == '/'))
            i++;
        if (i == n)
            return 0;
        if (p[i] == '>') {
            *next = i + 1;
            return 1;
        }
        span_t name = { i, 0 }, value = { i, 0 };
        i++; /* the first byte of a name may be '=' */
        while (i < n && !is_ws(p[i]) && p[i] != '/' && p[i] != '>' && p[i] != '=')
            i++;
        name.len = i - name.start;
        while (i < n && is_ws(p[i]))
            i++;
        if (i < n && p[i] == '=') {
            i++;
            while (i < n && is_ws(p[i]))
                i++;
            if (i == n || !attribute_value(p, n, &i, &value))
                return 0;
        }
        tag_attribute(p, tag, name, value);
    }
}

/* ---- the scan ------------------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    size_t n;
    size_t max_links;
    size_t cap; /* slots allocated in out->links */
    html_scan_t *out;
    size_t blockquotes; /* open <blockquote> elements */
    size_t gmail_divs;  /* open divs from a gmail_quote one on; 0: not inside one */
    int outlook_rest;   /* an Outlook reply header was seen: the rest is history */
} scanner_t;

static int
in_history(const scanner_t *s)
{
    return s->blockquotes > 0 || s->gmail_divs > 0 || s->outlook_rest;
}

static int
tag_is(const scanner_t *s, const tag_t *t, const char *name)
{
    return equal_lower(s->p + t->name.start, t->name.len, name);
}

/* Appends a link; the URL copy is owned by out->links, freed by html_scan_free. */
static int
push_link(scanner_t *s, span_t value, const char *url, size_t len)
{
    html_scan_t *out = s->out;
    if (out->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        if (cap > s->max_links)
            cap = s->max_links;
        if (cap > SIZE_MAX / sizeof(html_link_t))
            return -1;
        html_link_t *links = realloc(out->links, cap * sizeof(html_link_t));
        if (links == NULL)
            return -1;
        out->links = links;
        s->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, url, len);
    copy[len] = '\0';
    out->links[out->count++] = (html_link_t){ value.start, value.len, copy };
    return 0;
}

/* An <a> start tag with an href: reported, or counted in skipped. */
static int
link_tag(scanner_t *s, const tag_t *t)
{
    char url[HTML_LINKS_URL_MAX];
    size_t len = 0;
    if (!in_history(s) && !t->notrack && s->out->count < s->max_links)
        len = tracked_url(s->p, t->href, url);
    if (len == 0) {
        s->out->skipped++;
        return 0;
    }
    return push_link(s, t->href, url, len);
}

static int
start_tag(scanner_t *s, const tag_t *t)
{
    if (t->has_id && (value_is(s->p, t->id, "divrplyfwdmsg") || value_is(s->p, t->id, "appendonsend")))
        s->outlook_rest = 1;
    if (tag_is(s, t, "blockquote")) {
        s->blockquotes++;
    } else if (tag_is(s, t, "div")) {
        if (s->gmail_divs > 0)
            s->gmail_divs++;
        else if (t->has_class && value_has_word(s->p, t->klass, "gmail_quote"))
            s->gmail_divs = 1;
    } else if (tag_is(s, t, "a") && t->has_href) {
        return link_tag(s, t);
    }
    return 0;
}

/* An end tag whose '<' is at lt. */
static void
end_tag(scanner_t *s, const tag_t *t, size_t lt)
{
    if (tag_is(s, t, "blockquote")) {
        if (s->blockquotes > 0)
            s->blockquotes--;
    } else if (tag_is(s, t, "div")) {
        if (s->gmail_divs > 0)
            s->gmail_divs--;
    } else if (tag_is(s, t, "body")) {
        s->out->body_close = lt;
    }
}

/* 1 if p[k..] is word (lowercase; any case in the input) followed by
 * whitespace, '/' or '>'. */
static int
word_at(const scanner_t *s, size_t k, const char *word)
{
    size_t len = strlen(word);
    if (k > s->n || s->n - k <= len || !equal_lower(s->p + k, len, word))
        return 0;
    unsigned char c = s->p[k + len];
    return is_ws(c) || c == '/' || c == '>';
}

/* 1 if p[k..] is "</" + word followed by whitespace, '/' or '>': the end
 * tag that ends a raw text element named word. */
static int
end_tag_at(const scanner_t *s, size_t k, const char *word)
{
    return k + 1 < s->n && s->p[k] == '<' && s->p[k + 1] == '/' && word_at(s, k + 2, word);
}

/* Where the raw text of the element named word ends, from i on: the '<'
 * of its end tag, or n. */
static size_t
raw_text_end(const scanner_t *s, size_t i, const char *word)
{
    while (i < s->n) {
        const unsigned char *lt = memchr(s->p + i, '<', s->n - i);
        if (lt == NULL)
            break;
        i = (size_t)(lt - s->p);
        if (end_tag_at(s, i, word))
            return i;
        i++;
    }
    return s->n;
}

/* HTML5's script data states: "<!--" escapes, "<script" inside that
 * double-escapes (a "</script>" then only goes back to escaped), "-->"
 * goes back to script data.  The order matters: each state + 1 is the
 * one after a '-'. */
enum { SCRIPT_DATA, ESCAPED, ESCAPED_DASH, ESCAPED_DASH_DASH, DOUBLE, DOUBLE_DASH, DOUBLE_DASH_DASH };

/* Where a script's text ends, from i on: the '<' of its end tag, or n. */
static size_t
script_end(const scanner_t *s, size_t i)
{
    const unsigned char *p = s->p;
    size_t n = s->n;
    int state = SCRIPT_DATA;
    while (i < n) {
        if (state == SCRIPT_DATA) {
            const unsigned char *lt = memchr(p + i, '<', n - i);
            if (lt == NULL)
                break;
            i = (size_t)(lt - p);
            if (end_tag_at(s, i, "script"))
                return i;
            if (n - i >= 4 && p[i + 1] == '!' && p[i + 2] == '-' && p[i + 3] == '-') {
                state = ESCAPED_DASH_DASH; /* so "<!-->" ends at once */
                i += 4;
            } else {
                i++;
            }
            continue;
        }
        int dbl = state >= DOUBLE;
        unsigned char c = p[i];
        if (c == '-') {
            state = (state == ESCAPED || state == DOUBLE) ? state + 1 : dbl ? DOUBLE_DASH_DASH : ESCAPED_DASH_DASH;
            i++;
        } else if (c == '>' && (state == ESCAPED_DASH_DASH || state == DOUBLE_DASH_DASH)) {
            state = SCRIPT_DATA;
            i++;
        } else if (c == '<' && !dbl) {
            if (end_tag_at(s, i, "script"))
                return i;
            if (word_at(s, i + 1, "script")) { /* "<script" + delimiter */
                state = DOUBLE;
                i += 8;
            } else {
                state = ESCAPED;
                i++;
            }
        } else if (c == '<' && end_tag_at(s, i, "script")) { /* double-escaped: back to escaped */
            state = ESCAPED;
            i += 9;
        } else {
            state = dbl ? DOUBLE : ESCAPED;
            i++;
        }
    }
    return n;
}

/* After the start tag t, where tokenizing goes on from next: past the
 * raw text of script, style, title, textarea, xmp, iframe, noembed and
 * noframes; n after plaintext. */
static size_t
after_start_tag(const scanner_t *s, const tag_t *t, size_t next)
{
    static const char *const raw[] = { "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes" };
    if (tag_is(s, t, "script"))
        return script_end(s, next);
    for (size_t k = 0; k < sizeof(raw) / sizeof(raw[0]); k++)
        if (tag_is(s, t, raw[k]))
            return raw_text_end(s, next, raw[k]);
    return tag_is(s, t, "plaintext") ? s->n : next;
}

/* Where the comment opened by "<!--" at i ends: just past its '>', or n. */
static size_t
comment_end(const unsigned char *p, size_t n, size_t i)
{
    size_t body = i + 4, j = body;
    while (j < n) {
        const unsigned char *gt = memchr(p + j, '>', n - j);
        if (gt == NULL)
            break;
        size_t k = (size_t)(gt - p);
        int abrupt = k == body || (k == body + 1 && p[body] == '-');            /* "<!-->", "<!--->" */
        int dashes = k >= body + 2 && p[k - 1] == '-' && p[k - 2] == '-';           /* "-->" */
        int bang = k >= body + 3 && p[k - 1] == '!' && p[k - 2] == '-' && p[k - 3] == '-'; /* "--!>" */
        if (abrupt || dashes || bang)
            return k + 1;
        j = k + 1;
    }
    return n;
}

/* Just past the next '>' from i on, or n (a bogus comment, a doctype). */
static size_t
past_gt(const unsigned char *p, size_t n, size_t i)
{
    const unsigned char *gt = i < n ? memchr(p + i, '>', n - i) : NULL;
    return gt ? (size_t)(gt - p) + 1 : n;
}

/* The tag, comment or text at the '<' at p[i]; *next is where the scan
 * goes on (n: it is over).  -1 if out of memory. */
static int
markup(scanner_t *s, size_t i, size_t *next)
{
    const unsigned char *p = s->p;
    size_t n = s->n;
    tag_t t;
    *next = n;
    if (n - i < 2)
        return 0; /* a '<' at the end is text */
    unsigned char c = p[i + 1];
    if (is_alpha(c)) {
        if (!parse_tag(p, n, i + 1, &t, next))
            return 0;
        if (start_tag(s, &t) < 0)
            return -1;
        *next = after_start_tag(s, &t, *next);
    } else if (c == '/') {
        if (n - i < 3)
            return 0; /* "</" at the end is text */
        if (is_alpha(p[i + 2])) {
            if (parse_tag(p, n, i + 2, &t, next))
                end_tag(s, &t, i);
        } else {
            *next = p[i + 2] == '>' ? i + 3 : past_gt(p, n, i + 2);
        }
    } else if (c == '!') {
        *next = (n - i >= 4 && p[i + 2] == '-' && p[i + 3] == '-') ? comment_end(p, n, i) : past_gt(p, n, i + 2);
    } else if (c == '?') {
        *next = past_gt(p, n, i + 2);
    } else {
        *next = i + 1; /* "a < b": text */
    }
    return 0;
}

int
html_links_scan(const char *html, size_t len, size_t max_links, html_scan_t *out)
{
    *out = (html_scan_t){ .body_close = HTML_LINKS_NONE };
    scanner_t s = { .p = (const unsigned char *)html, .n = len, .max_links = max_links, .out = out };
    size_t i = 0;
    while (i < len) {
        const unsigned char *lt = memchr(s.p + i, '<', len - i);
        if (lt == NULL)
            break;
        if (markup(&s, (size_t)(lt - s.p), &i) < 0) {
            html_scan_free(out);
            return -1;
        }
    }
    return 0;
}

void
html_scan_free(html_scan_t *scan)
{
    if (scan == NULL)
        return;
    for (size_t k = 0; k < scan->count; k++)
        free(scan->links[k].url);
    free(scan->links);
    *scan = (html_scan_t){ .body_close = HTML_LINKS_NONE };
}
