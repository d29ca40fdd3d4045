/*
 * track_rewrite.c -- links, pixel and List-Unsubscribe.  See track_rewrite.h.
 */
#include "track_rewrite.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "html_links.h"
#include "mime_parse.h"
#include "strbuf.h"

#define TRACK_LINE_MAX 998   /* RFC 5322 2.1.1, without the CRLF */

/* The state of one rewrite. */
typedef struct {
    const track_options_t *opt;
    const unsigned char *id;
    GMimeObject *top;
    track_result_t *out;
    int failed;              /* a token or memory: the whole rewrite fails */
} track_walk_t;

/* A charset whose bytes for ASCII are ASCII (so tags and URLs can be
 * found and written as bytes): everything but the wide and 7-bit
 * encodings. */
static int
track_charset_ascii_compatible(const char *charset)
{
    static const char *const wide[] = { "utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2", "ucs-4",
                                        "ucs4", "utf-7", "utf7", NULL };
    if (charset == NULL)
        return 1;
    for (int i = 0; wide[i] != NULL; i++)
        if (strncasecmp(charset, wide[i], strlen(wide[i])) == 0)
            return 0;
    return 1;
}

/* Whether some line of p[0..n) is longer than TRACK_LINE_MAX octets. */
static int
track_has_long_line(const char *p, size_t n)
{
    size_t line = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            line = 0;
        } else if (p[i] != '\r' && ++line > TRACK_LINE_MAX) {
            return 1;
        }
    }
    return 0;
}

/* "{base}/{kind}/{token}" into buf for link (0: the pixel). */
static int
track_url(track_walk_t *w, track_kind_t kind, unsigned link, const char *subject, char *buf, size_t buflen)
{
    char token[TRACK_TOKEN_MAX];
    if (track_token_make(w->opt->keys, kind, w->id, link, subject, token) != 0)
        return -1;
    int n = snprintf(buf, buflen, "%s/%c/%s", w->opt->base_url, (char)kind, token);
    return n > 0 && (size_t)n < buflen ? 0 : -1;
}

/* The pixel's <img> for the message into b: 0, -1. */
static int
track_pixel(track_walk_t *w, strbuf_t *b)
{
    char url[1024];
    if (track_url(w, TRACK_OPEN, 0, "", url, sizeof(url)) != 0)
        return -1;
    strbuf_puts(b, "<img src=\"");
    strbuf_puts(b, url);
    strbuf_puts(b, "\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;width:1px;height:1px;border:0\">");
    w->out->pixels++;
    return 0;
}

/* The new HTML of one part into b: its links (clicks) and pixel (opens),
 * spliced in document order.  Returns whether anything changed. */
static int
track_html(track_walk_t *w, const char *html, size_t len, strbuf_t *b)
{
    const track_options_t *opt = w->opt;
    size_t room = opt->clicks && opt->max_links > w->out->link_count ? opt->max_links - w->out->link_count : 0;
    html_scan_t scan;
    size_t at = 0, pixel_at = (size_t)-1;
    int changed = 0;
    char url[1024];

    if (html_links_scan(html, len, room, &scan) != 0) {
        w->failed = 1;
        return 0;
    }
    w->out->skipped += scan.skipped;
    if (opt->opens)
        pixel_at = scan.body_close != (size_t)-1 ? scan.body_close : len;
    for (size_t i = 0; i <= scan.count && !w->failed; i++) {
        const html_link_t *l = i < scan.count ? &scan.links[i] : NULL;
        size_t next = l ? l->start : len;
        if (pixel_at != (size_t)-1 && pixel_at <= next) {
            strbuf_add(b, html + at, pixel_at - at);
            at = pixel_at;
            pixel_at = (size_t)-1;
            if (track_pixel(w, b) != 0)
                w->failed = 1;
            changed = 1;
        }
        if (l == NULL || w->failed)
            break;
        unsigned n = (unsigned)w->out->link_count + 1;
        char **grown = realloc(w->out->links, n * sizeof(char *));
        if (grown != NULL)
            w->out->links = grown;
        if (grown == NULL || track_url(w, TRACK_CLICK, n, l->url, url, sizeof(url)) != 0 ||
            (w->out->links[n - 1] = strdup(l->url)) == NULL) {
            w->failed = 1;
            break;
        }
        w->out->link_count = n;
        strbuf_add(b, html + at, l->start - at);
        strbuf_puts(b, url);
        at = l->start + l->len;
        changed = 1;
    }
    strbuf_add(b, html + at, len - at);
    html_scan_free(&scan);
    if (b->failed)
        w->failed = 1;
    return changed;
}

/* One leaf part: rewritten when it is an HTML body. */
static void
track_part(track_walk_t *w, GMimePart *part)
{
    GMimeObject *obj = GMIME_OBJECT(part);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    GMimeContentEncoding enc;
    GMimeDataWrapper *content;
    GMimeStream *decoded, *fresh;
    GByteArray *bytes;
    strbuf_t b = { 0 };
    size_t links_before = w->out->link_count;
    int pixels_before = w->out->pixels;

    if (ct == NULL || !g_mime_content_type_is_type(ct, "text", "html") || g_mime_part_is_attachment(part) ||
        g_mime_part_get_filename(part) != NULL || (content = g_mime_part_get_content(part)) == NULL)
        return;
    if (!track_charset_ascii_compatible(g_mime_object_get_content_type_parameter(obj, "charset"))) {
        w->out->parts_left++;
        return;
    }
    decoded = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(content, decoded);
    bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(decoded));
    /* an empty part's array has no data at all */
    if (!track_html(w, bytes->len ? (const char *)bytes->data : "", bytes->len, &b) || w->failed) {
        g_object_unref(decoded);
        free(b.data);
        return;
    }
    g_object_unref(decoded);
    enc = g_mime_part_get_content_encoding(part);
    if ((enc == GMIME_CONTENT_ENCODING_DEFAULT || enc == GMIME_CONTENT_ENCODING_7BIT ||
         enc == GMIME_CONTENT_ENCODING_8BIT) &&
        track_has_long_line(b.data, b.len)) {
        if (obj == w->top) {
            /* its Content-Transfer-Encoding is in the message header:
             * left as it is, and its links are not the message's */
            while (w->out->link_count > links_before)
                free(w->out->links[--w->out->link_count]);
            w->out->pixels = pixels_before;
            w->out->parts_left++;
            free(b.data);
            return;
        }
        g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    }
    fresh = g_mime_stream_mem_new_with_buffer(b.data, b.len);
    free(b.data);
    content = g_mime_data_wrapper_new_with_stream(fresh, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(part, content);
    g_object_unref(content);
    g_object_unref(fresh);
    w->out->html_parts++;
}

/* The parts under obj, MIME_MAX_DEPTH multiparts deep (as mime_parse);
 * an attached message is not entered. */
static void
track_walk(track_walk_t *w, GMimeObject *obj, int depth)
{
    if (obj == NULL || w->failed || depth > MIME_MAX_DEPTH)
        return;
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n && !w->failed; i++)
            track_walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
    } else if (GMIME_IS_PART(obj)) {
        track_part(w, GMIME_PART(obj));
    }
}

/* The body of msg as GMime writes it, with every line end CRLF. */
static int
track_body(GMimeObject *top, track_result_t *out)
{
    GMimeFormatOptions *fo = g_mime_format_options_new();
    GMimeStream *mem = g_mime_stream_mem_new();
    GByteArray *bytes;
    strbuf_t b = { 0 };

    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
    g_mime_object_write_content_to_stream(top, fo, mem);
    g_mime_format_options_free(fo);
    bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    const char *data = bytes->len ? (const char *)bytes->data : "";
    /* GMime's filter leaves CRLF alone and makes a bare LF CRLF; a lone
     * CR left by the content is kept as it came. */
    for (size_t i = 0, from = 0; i <= bytes->len; i++) {
        if (i == bytes->len || (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))) {
            strbuf_add(&b, data + from, i - from);
            if (i < bytes->len)
                strbuf_add(&b, "\r\n", 2);
            from = i + 1;
        }
    }
    g_object_unref(mem);
    if (b.failed) {
        free(b.data);
        return -1;
    }
    if (b.data == NULL && (b.data = strdup("")) == NULL)
        return -1;
    out->body = b.data;
    out->body_len = b.len;
    return 0;
}

int
track_rewrite(const track_options_t *opt, const unsigned char id[TRACK_ID_LEN], const char *message, size_t len,
              track_result_t *out, char *err, size_t errlen)
{
    GMimeMessage *msg;
    track_walk_t w = { .opt = opt, .id = id, .out = out };

    memset(out, 0, sizeof(*out));
    if (!opt->opens && !opt->clicks)
        return 0;
    if ((msg = mime_message_new(message, len)) == NULL)
        return 0;   /* nothing GMime could read: nothing to rewrite */
    w.top = g_mime_message_get_mime_part(msg);
    track_walk(&w, w.top, 0);
    if (!w.failed && out->html_parts > 0 && track_body(w.top, out) != 0)
        w.failed = 1;
    g_object_unref(msg);
    if (w.failed) {
        snprintf(err, errlen, "out of memory or no token");
        track_result_clear(out);
        return -1;
    }
    return 0;
}

void
track_result_clear(track_result_t *r)
{
    if (r == NULL)
        return;
    free(r->body);
    for (size_t i = 0; i < r->link_count; i++)
        free(r->links[i]);
    free(r->links);
    memset(r, 0, sizeof(*r));
}

int
track_unsubscribe_fields(const track_options_t *opt, const unsigned char id[TRACK_ID_LEN], const char *recipient,
                         const char *inbox, char *out, size_t outlen)
{
    char token[TRACK_TOKEN_MAX];
    int n;

    if (outlen > 0)
        out[0] = '\0';
    if (track_token_make(opt->keys, TRACK_UNSUBSCRIBE, id, 0, recipient, token) != 0)
        return -1;
    n = snprintf(out, outlen, "<%s/u/%s>, <mailto:%s?subject=unsubscribe>", opt->base_url, token, inbox);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}
