/*
 * reply_extract.c -- cutting quoted history and signatures from a reply;
 * crude HTML to text.  See reply_extract.h.
 *
 * Line by line, looking at most three lines ahead, so linear in the text.
 * The markers are the ones mail clients write (Gmail, Apple Mail,
 * Thunderbird, Outlook, in a few languages); an attribution must hold a
 * digit or an '@' (a date, an address) so "On reflection, here is what I
 * wrote:" is not taken for one.
 */
#include "reply_extract.h"

#include <ctype.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ATTRIBUTION_MAX 512 /* bytes of a (joined) attribution line */
#define LOOKAHEAD 3         /* lines after "From:" searched for "Sent:" */

typedef struct {
    const char *s;
    size_t len;
} span_t;

/* ---- lines and spans ------------------------------------------------------------ */

/* The line starting at p (without its LF or CR); *next is where the following one starts. */
static span_t
line_at(const char *p, const char *end, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    *next = nl ? nl + 1 : end;
    if (stop > p && stop[-1] == '\r')
        stop--;
    return (span_t){ p, (size_t)(stop - p) };
}

static span_t
trim(span_t l)
{
    while (l.len > 0 && (l.s[0] == ' ' || l.s[0] == '\t')) {
        l.s++;
        l.len--;
    }
    while (l.len > 0 && isspace((unsigned char)l.s[l.len - 1]))
        l.len--;
    return l;
}

static int
blank(span_t l)
{
    return trim(l).len == 0;
}

static int
starts_with(span_t l, const char *prefix)
{
    size_t n = strlen(prefix);
    return l.len >= n && strncasecmp(l.s, prefix, n) == 0;
}

static int
contains(span_t l, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= l.len; i++)
        if (strncasecmp(l.s + i, needle, n) == 0)
            return 1;
    return 0;
}

static int
any_starts_with(span_t l, const char *const *prefixes)
{
    for (size_t i = 0; prefixes[i]; i++)
        if (starts_with(l, prefixes[i]))
            return 1;
    return 0;
}

/* The text between runs of at least two dashes ("-----Original Message-----"). */
static int
dashed_title(span_t l, span_t *title)
{
    l = trim(l);
    size_t lead = 0, tail = 0;
    while (lead < l.len && l.s[lead] == '-')
        lead++;
    while (tail < l.len - lead && l.s[l.len - 1 - tail] == '-')
        tail++;
    if (lead < 2)
        return 0;
    *title = trim((span_t){ l.s + lead, l.len - lead - tail });
    return 1;
}

/* ---- markers -------------------------------------------------------------------- */

static int
is_quote(span_t l)
{
    l = trim(l);
    return l.len > 0 && l.s[0] == '>';
}

static int
is_signature(span_t l)
{
    return l.len == 3 && memcmp(l.s, "-- ", 3) == 0;
}

static int
is_forward_marker(span_t l)
{
    static const char *const titles[] = { "forwarded message", "weitergeleitete nachricht", "message transféré",
                                          "mensaje reenviado", "messaggio inoltrato", "doorgestuurd bericht", NULL };
    span_t title;
    l = trim(l);
    if (starts_with(l, "Begin forwarded message") || starts_with(l, "Anfang der weitergeleiteten"))
        return 1;
    if (!dashed_title(l, &title))
        return 0;
    for (size_t i = 0; titles[i]; i++)
        if (contains(title, titles[i]))
            return 1;
    return 0;
}

static int
is_original_message(span_t l)
{
    static const char *const titles[] = { "original message", "ursprüngliche nachricht", "message d'origine",
                                          "mensaje original", "messaggio originale", "oorspronkelijk bericht",
                                          "mensagem original", "originalmeddelande", NULL };
    span_t title;
    if (!dashed_title(l, &title))
        return 0;
    for (size_t i = 0; titles[i]; i++)
        if (title.len == strlen(titles[i]) && strncasecmp(title.s, titles[i], title.len) == 0)
            return 1;
    return 0;
}

/* "On <date>, <name> wrote:" and its translations, in s[0..len). */
static int
attribution_text(span_t l)
{
    static const struct {
        const char *prefix, *verb;
    } forms[] = {
        { "On ", "wrote" },         { "Am ", "schrieb" },    { "Le ", "a écrit" },
        { "El ", "escribió" },      { "Il ", "ha scritto" }, { "Op ", "schreef" },
        { "Em ", "escreveu" },      { "Den ", "skrev" },     { "W dniu ", "napisał" },
    };
    l = trim(l);
    if (l.len == 0 || l.len > ATTRIBUTION_MAX || l.s[l.len - 1] != ':')
        return 0;
    int dated = 0;
    for (size_t i = 0; i < l.len && !dated; i++)
        dated = isdigit((unsigned char)l.s[i]) || l.s[i] == '@';
    if (!dated)
        return 0;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        if (starts_with(l, forms[i].prefix) && contains(l, forms[i].verb))
            return 1;
    return 0;
}

/* An attribution on line a alone, or wrapped over a and b. */
static int
is_attribution(span_t a, const span_t *b)
{
    if (attribution_text(a))
        return 1;
    if (b == NULL || a.len + 1 + b->len > ATTRIBUTION_MAX)
        return 0;
    char joined[ATTRIBUTION_MAX + 1];
    span_t t = trim(a);
    memcpy(joined, t.s, t.len);
    joined[t.len] = ' ';
    memcpy(joined + t.len + 1, b->s, b->len);
    return attribution_text((span_t){ joined, t.len + 1 + b->len });
}

static int
is_from_field(span_t l)
{
    static const char *const names[] = { "From:", "*From:*", "Von:", "De :", "De:", "Van:", "Da:", "Från:", NULL };
    return any_starts_with(trim(l), names);
}

static int
is_sent_field(span_t l)
{
    static const char *const names[] = { "Sent:", "*Sent:*", "Gesendet:", "Envoyé :", "Envoyé:", "Enviado:",
                                         "Enviado el:", "Verzonden:", "Inviato:", "Skickat:", NULL };
    return any_starts_with(trim(l), names);
}

static int
is_underscores(span_t l)
{
    l = trim(l);
    if (l.len < 10)
        return 0;
    for (size_t i = 0; i < l.len; i++)
        if (l.s[i] != '_')
            return 0;
    return 1;
}

/* Whether the history starts at lines[0] (lines[1..n) follow it). */
static int
history_starts(const span_t *lines, size_t n)
{
    if (is_original_message(lines[0]) || is_attribution(lines[0], n > 1 ? &lines[1] : NULL))
        return 1;
    if (is_from_field(lines[0])) {
        for (size_t i = 1; i < n; i++)
            if (is_sent_field(lines[i]))
                return 1;
        return 0;
    }
    if (is_underscores(lines[0]))
        for (size_t i = 1; i < n; i++) {
            if (blank(lines[i]))
                continue;
            return is_from_field(lines[i]);
        }
    return 0;
}

/* ---- reply_extract ------------------------------------------------------------ */

/* Appends a line, at most one blank line in a row, none at the start. */
static void
keep_line(GString *out, span_t l)
{
    if (blank(l)) {
        if (out->len == 0 || (out->len >= 2 && out->str[out->len - 1] == '\n' && out->str[out->len - 2] == '\n'))
            return;
        g_string_append_c(out, '\n');
        return;
    }
    g_string_append_len(out, l.s, (gssize)l.len);
    g_string_append_c(out, '\n');
}

/* Drops trailing whitespace and cuts at max_bytes on a character boundary. */
static char *
finish(GString *out, size_t max_bytes)
{
    size_t len = out->len;
    while (len > 0 && isspace((unsigned char)out->str[len - 1]))
        len--;
    if (len > max_bytes) {
        len = max_bytes;
        while (len > 0 && ((unsigned char)out->str[len] & 0xc0) == 0x80)
            len--;
    }
    char *result = len ? strndup(out->str, len) : NULL;
    g_string_free(out, TRUE);
    return result;
}

char *
reply_extract(const char *text, size_t max_bytes)
{
    if (text == NULL)
        return NULL;
    const char *end = text + strlen(text), *p = text;
    GString *out = g_string_sized_new(256);
    span_t window[LOOKAHEAD + 1];
    const char *after[LOOKAHEAD + 1];
    size_t have = 0;
    int forwarded = 0, in_signature = 0;

    /* window[0] is the current line, window[1..have) the ones after it. */
    while (have > 0 || p < end) {
        while (have < LOOKAHEAD + 1 && p < end) {
            window[have] = line_at(p, end, &after[have]);
            p = after[have++];
        }
        span_t line = window[0];
        if (forwarded) {
            keep_line(out, line);
        } else if (is_forward_marker(line)) {
            forwarded = 1;
            in_signature = 0;
            keep_line(out, line);
        } else if (in_signature || is_quote(line)) {
            /* dropped */
        } else if (is_signature(line)) {
            in_signature = 1;
        } else if (history_starts(window, have)) {
            break;
        } else {
            keep_line(out, line);
        }
        memmove(window, window + 1, (have - 1) * sizeof(window[0]));
        have--;
    }
    return finish(out, max_bytes);
}

/* ---- HTML to text ------------------------------------------------------------- */

typedef struct {
    GString *out;
    int quote_depth;  /* open <blockquote>s */
    int line_start;   /* nothing but the quote prefix on this line yet */
} html_text_t;

/* A line break: hard (<br>, a newline reference) always, at most one blank
 * line in a row; soft (a block element's edge) only if the line has text. */
static void
emit_newline(html_text_t *t, int hard)
{
    GString *out = t->out;
    while (out->len > 0 && out->str[out->len - 1] == ' ')
        g_string_truncate(out, out->len - 1);
    if ((!hard && t->line_start) || out->len == 0 ||
        (out->len >= 2 && out->str[out->len - 1] == '\n' && out->str[out->len - 2] == '\n')) {
        t->line_start = 1;
        return;
    }
    g_string_append_c(out, '\n');
    t->line_start = 1;
}

static void
emit_text(html_text_t *t, const char *s, size_t len)
{
    if (t->line_start) {
        for (int i = 0; i < t->quote_depth && i < 16; i++)
            g_string_append_c(t->out, '>');
        if (t->quote_depth > 0)
            g_string_append_c(t->out, ' ');
        t->line_start = 0;
    }
    g_string_append_len(t->out, s, (gssize)len);
}

static void
emit_space(html_text_t *t)
{
    GString *out = t->out;
    if (t->line_start || (out->len > 0 && out->str[out->len - 1] == ' '))
        return;
    g_string_append_c(out, ' ');
}

static void
emit_codepoint(html_text_t *t, unsigned long cp)
{
    char buf[4];
    size_t n;
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        cp = 0xfffd;
    if (cp == '\n' || cp == '\r') {
        emit_newline(t, 1);
        return;
    }
    if (cp == ' ' || cp == '\t' || cp == 0xa0) {
        emit_space(t);
        return;
    }
    if (cp < 0x20 || cp == 0x7f)
        return;
    if (cp < 0x80) {
        buf[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        buf[0] = (char)(0xc0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        buf[0] = (char)(0xe0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        buf[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        buf[0] = (char)(0xf0 | (cp >> 18));
        buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        buf[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    emit_text(t, buf, n);
}

/* Decodes the entity at p ('&'); returns the bytes consumed (0: not one). */
static size_t
entity(html_text_t *t, const char *p)
{
    static const struct {
        const char *name;
        unsigned long cp;
    } named[] = { { "amp", '&' },    { "lt", '<' },     { "gt", '>' },      { "quot", '"' },  { "apos", '\'' },
                  { "nbsp", 0xa0 },  { "copy", 0xa9 },  { "reg", 0xae },    { "hellip", 0x2026 },
                  { "mdash", 0x2014 }, { "ndash", 0x2013 }, { "rsquo", 0x2019 }, { "lsquo", 0x2018 },
                  { "ldquo", 0x201c }, { "rdquo", 0x201d }, { "euro", 0x20ac } };
    size_t len = 1;
    while (len < 12 && p[len] && p[len] != ';' && (isalnum((unsigned char)p[len]) || p[len] == '#'))
        len++;
    if (p[len] != ';' || len < 2)
        return 0;
    if (p[1] == '#') {
        int hex = p[2] == 'x' || p[2] == 'X';
        const char *digits = p + (hex ? 3 : 2);
        char *stop;
        if (digits == p + len)
            return 0;
        unsigned long cp = strtoul(digits, &stop, hex ? 16 : 10);
        if (stop != p + len)
            return 0;
        emit_codepoint(t, cp);
        return len + 1;
    }
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (strlen(named[i].name) == len - 1 && strncmp(p + 1, named[i].name, len - 1) == 0) {
            emit_codepoint(t, named[i].cp);
            return len + 1;
        }
    return 0;
}

/* Where the tag starting at p ('<') ends (after '>'), quoted values skipped. */
static const char *
tag_end(const char *p)
{
    char quote = 0;
    for (p++; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '>') {
            return p + 1;
        }
    }
    return p;
}

static int
name_is(const char *name, size_t len, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0)
            return 1;
    return 0;
}

/* Handles the tag at p; returns where to go on. */
static const char *
tag(html_text_t *t, const char *p)
{
    static const char *const skipped[] = { "script", "style", "head", "title", NULL };
    static const char *const blocks[] = { "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4",
                                          "h5", "h6", "hr", "pre", "blockquote", "dl", "dt", "dd", NULL };
    if (strncmp(p, "<!--", 4) == 0) {
        const char *close = strstr(p + 4, "-->");
        return close ? close + 3 : p + strlen(p);
    }
    const char *end = tag_end(p), *name = p + 1;
    int closing = *name == '/';
    if (closing)
        name++;
    size_t len = 0;
    while (isalnum((unsigned char)name[len]))
        len++;
    if (len == 0) { /* "a < b": not a tag */
        emit_text(t, "<", 1);
        return p + 1;
    }
    if (!closing && name_is(name, len, skipped)) {
        /* up to the matching end tag: its content is not text */
        for (const char *q = end; *q; q++)
            if (q[0] == '<' && q[1] == '/' && strncasecmp(q + 2, name, len) == 0 && !isalnum((unsigned char)q[2 + len]))
                return tag_end(q);
        return end + strlen(end);
    }
    if (len == 10 && strncasecmp(name, "blockquote", 10) == 0) {
        emit_newline(t, 0);
        t->quote_depth += closing ? (t->quote_depth > 0 ? -1 : 0) : 1;
        t->line_start = 1;
        return end;
    }
    if (len == 2 && strncasecmp(name, "br", 2) == 0)
        emit_newline(t, 1);
    else if (name_is(name, len, blocks))
        emit_newline(t, 0);
    else if (!closing && len == 2 && strncasecmp(name, "td", 2) == 0)
        emit_space(t);
    return end;
}

char *
reply_extract_html_to_text(const char *html, size_t max_bytes)
{
    html_text_t t = { .out = g_string_sized_new(256), .line_start = 1 };
    const char *p = html ? html : "";
    while (*p && t.out->len < max_bytes) {
        if (*p == '<') {
            p = tag(&t, p);
        } else if (*p == '&') {
            size_t used = entity(&t, p);
            if (used == 0)
                emit_text(&t, p, 1);
            p += used ? used : 1;
        } else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            emit_space(&t);
            p++;
        } else {
            emit_text(&t, p, 1);
            p++;
        }
    }
    char *text = finish(t.out, max_bytes);
    return text ? text : strdup("");
}
