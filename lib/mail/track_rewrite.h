/*
 * track_rewrite.h -- an outbound message made trackable: its HTML links
 * pointed at the tracking listener, an open pixel, and the RFC 8058
 * List-Unsubscribe fields.
 *
 * Public: track_options_t, track_result_t, track_rewrite, track_result_clear,
 * track_unsubscribe_fields.
 *
 * GMime parses the message (lib/mail/mime_parse's mime_message_new, so
 * the guard of lib/mail/gmime_guard runs first) and walks its parts;
 * never hand-parsed MIME.  Each text/html part that is not an attachment
 * (no "attachment" disposition, no filename) and whose charset keeps
 * ASCII as ASCII (not UTF-16/32, UCS-2/4, UTF-7) is decoded from its
 * transfer encoding and scanned by lib/mail/html_links: with clicks, each
 * link it reports becomes {base}/c/{token} (numbered from 1 in document
 * order over the whole message, at most max_links); with opens, a 1x1
 * image {base}/o/{token} goes before the part's last </body> (at the end
 * when it has none).  The new HTML is encoded again as the part says; a
 * 7bit or 8bit part inside a multipart whose lines would pass 998 octets
 * becomes quoted-printable (its own header says so), the message's own
 * top-level part is left alone instead (its header is not ours to change
 * here).  Plain-text parts, attachments, attached messages and every
 * other byte of the message are written back as they came.  The new body
 * (what follows the message header, CRLF line ends) is what the milter
 * gives smfi_replacebody and the DKIM signer.
 *
 * Tokens: lib/mail/track_token.h, over the message's tracking id, the
 * link number and the link's URL.  Thread-safe (GMime's own state only);
 * linear in the message; logs nothing.
 */
#ifndef POSTINBOX_TRACK_REWRITE_H
#define POSTINBOX_TRACK_REWRITE_H

#include <stddef.h>

#include "track_token.h"

typedef struct {
    const char *base_url;          /* tracking_base_url, no final '/' */
    const track_keys_t *keys;
    int opens;                     /* add the pixel */
    int clicks;                    /* rewrite the links */
    size_t max_links;              /* tracking_max_links */
} track_options_t;

typedef struct {
    char *body;                    /* the new body (CRLF), NULL: the message is unchanged */
    size_t body_len;
    char **links;                  /* URL of link n at links[n - 1] */
    size_t link_count;
    int html_parts;                /* HTML parts changed */
    int pixels;                    /* open pixels added */
    size_t skipped;                /* links left as they were (html_links' reasons, max_links) */
    int parts_left;                /* HTML parts left alone (charset, a top-level line too long) */
} track_result_t;

/* Rewrites message[0..len) (header and body, as the milter kept them)
 * for the tracking id.  0 with *out (track_result_clear it; out->body
 * NULL when nothing changed); -1 with err (out of memory, a token that
 * could not be made): the message then goes as it is. */
int track_rewrite(const track_options_t *opt, const unsigned char id[TRACK_ID_LEN], const char *message,
                  size_t len, track_result_t *out, char *err, size_t errlen);
void track_result_clear(track_result_t *r);

/* The List-Unsubscribe value "<{base}/u/{token}>, <mailto:{inbox}?subject=unsubscribe>"
 * for the message's one recipient into out: 0, -1 (too long, no token). */
int track_unsubscribe_fields(const track_options_t *opt, const unsigned char id[TRACK_ID_LEN],
                             const char *recipient, const char *inbox, char *out, size_t outlen);

/* RFC 8058's List-Unsubscribe-Post value. */
#define TRACK_UNSUBSCRIBE_POST "List-Unsubscribe=One-Click"

#endif
