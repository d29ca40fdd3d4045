/*
 * html_links.h -- where the links and the end of the body are in the HTML
 * of an outbound message, for click and open tracking.
 *
 * Public: html_link_t, html_scan_t, html_links_scan, html_scan_free,
 * HTML_LINKS_NONE, HTML_LINKS_URL_MAX.
 * Finds, never rewrites: the caller splices a tracking URL over each
 * reported href value and the pixel before body_close.  A linear scan of
 * bytes (NULs and invalid UTF-8 included) that tokenizes as HTML5 does
 * for mail: tags and their attributes (quoted or not, a '>' inside quotes
 * is not the end, the first of two same-named attributes wins),
 * comments (Outlook's conditional ones too), doctypes and bogus comments,
 * and the raw text of script, style, title, textarea, xmp, iframe,
 * noembed and noframes (and plaintext, to the end).  A link is reported
 * when it is an <a> start tag whose href, decoded and trimmed, is an
 * http:// or https:// URL that is safe to send back in a Location header;
 * links in quoted history (<blockquote>, Gmail's gmail_quote div, what
 * follows Outlook's divRplyFwdMsg or appendonsend) and links marked
 * data-postinbox-notrack are left alone.  Pure: no I/O, no globals, no
 * logging; thread-safe.  O(n) time; memory O(reported links and URLs).
 */
#ifndef POSTINBOX_HTML_LINKS_H
#define POSTINBOX_HTML_LINKS_H

#include <stddef.h>

#define HTML_LINKS_NONE ((size_t)-1) /* body_close when there is no </body> */
#define HTML_LINKS_URL_MAX 2048      /* bytes of a decoded URL that is still tracked */

typedef struct {
    size_t start; /* offset of the href value's first byte (inside the quotes if quoted) */
    size_t len;   /* bytes of the raw value, undecoded, quotes excluded */
    char *url;    /* the decoded, trimmed URL, NUL-terminated, malloc'd */
} html_link_t;

typedef struct {
    html_link_t *links; /* in document order */
    size_t count;
    size_t body_close; /* offset of the '<' of the last </body> outside comments and raw text, or HTML_LINKS_NONE */
    size_t skipped;    /* <a href> start tags seen but not reported, whatever the reason (max_links too) */
} html_scan_t;

/* Scans html[0..len) and fills *out with at most max_links links.  0, or
 * -1 when out of memory (*out is then empty, with nothing to free).  *out
 * is always initialised, so html_scan_free may follow either way. */
int html_links_scan(const char *html, size_t len, size_t max_links, html_scan_t *out);

/* Frees the links and their URLs; *scan is left empty.  NULL is fine. */
void html_scan_free(html_scan_t *scan);

#endif
