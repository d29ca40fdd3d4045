/*
 * fuzz_html_links.c -- the tracking scanner of outbound HTML
 * (html_links_scan).  The first byte picks max_links (0 to 7, or no
 * limit); the rest is the HTML, passed with its length (no NUL added, so
 * ASan sees any read past it).  The input is scanned twice, with that
 * limit and with none, and every invariant is checked with abort():
 * count <= max_links; links in increasing order, each [start, start+len)
 * inside the input and after the previous one; each URL http:// or
 * https:// (any case), at most HTML_LINKS_URL_MAX bytes and never longer
 * than its raw value, of printable ASCII without " < > \ `, and equal to
 * the raw value when that holds no '&' and no whitespace; body_close
 * inside the input or HTML_LINKS_NONE.  Between the two scans the limit
 * changes nothing else: the links of the first are the first links of
 * the second, count + skipped and body_close are the same.
 */
#include "fuzz.h"

#include <strings.h>

#include "html_links.h"

static int
is_ws(char c)
{
    return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static void
check_link(const char *html, const html_link_t *l)
{
    const char *raw = html + l->start;
    size_t n = strlen(l->url), plain = 1;
    if (n > HTML_LINKS_URL_MAX || n > l->len)
        abort();
    if (!((n > 7 && strncasecmp(l->url, "http://", 7) == 0) || (n > 8 && strncasecmp(l->url, "https://", 8) == 0)))
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l->url[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '`')
            abort();
    }
    for (size_t i = 0; i < l->len && plain; i++)
        plain = raw[i] != '&' && !is_ws(raw[i]);
    if (plain && (n != l->len || memcmp(l->url, raw, n) != 0))
        abort();
}

static void
check_scan(const char *html, size_t len, size_t max_links, const html_scan_t *scan)
{
    size_t end = 0;
    if (scan->count > max_links || (scan->count > 0 && scan->links == NULL))
        abort();
    if (scan->body_close != HTML_LINKS_NONE && scan->body_close >= len)
        abort();
    for (size_t k = 0; k < scan->count; k++) {
        const html_link_t *l = &scan->links[k];
        if (l->url == NULL || l->start < end || l->start > len || l->len > len - l->start)
            abort();
        end = l->start + l->len;
        check_link(html, l);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t max_links = (data[0] & 8) ? SIZE_MAX : (size_t)(data[0] & 7);
    const char *html = (const char *)data + 1;
    size_t len = size - 1;
    html_scan_t some, all;

    if (html_links_scan(html, len, max_links, &some) != 0)
        return 0;
    check_scan(html, len, max_links, &some);
    if (html_links_scan(html, len, SIZE_MAX, &all) != 0) {
        html_scan_free(&some);
        return 0;
    }
    check_scan(html, len, SIZE_MAX, &all);
    if (some.count > all.count || some.count + some.skipped != all.count + all.skipped ||
        some.body_close != all.body_close)
        abort();
    if (some.count < max_links && some.count != all.count)
        abort();
    for (size_t k = 0; k < some.count; k++)
        if (some.links[k].start != all.links[k].start || some.links[k].len != all.links[k].len ||
            strcmp(some.links[k].url, all.links[k].url) != 0)
            abort();
    html_scan_free(&some);
    html_scan_free(&all);
    if (some.count != 0 || some.links != NULL || some.body_close != HTML_LINKS_NONE)
        abort();
    return 0;
}
