/*
 * mime_parse.h -- the bodies and attachments of an inbound message, for
 * the message.parsed event.
 *
 * Public: mime_limits_default, mime_message_new, mime_parse_message,
 * mime_parsed_free, mime_parsed_json.
 * GMime parses the MIME structure (call header_init once first); this
 * module picks the bodies the way mail clients do -- the first text/plain
 * and the first text/html that are not attachments (no "attachment"
 * disposition, no filename) -- decodes them to UTF-8 whatever the declared
 * charset says (the declared one, else UTF-8 if valid, else windows-1252),
 * extracts the reply (lib/mail/reply_extract), and lists the other leaf parts
 * as attachments, with their decoded size and SHA-256, computed streaming.
 * Not listed: later inline text/plain or text/html parts (Apple Mail's
 * split bodies) and other inline text types inside multipart/alternative.  An
 * attached message (message/rfc822) is one attachment; its bodies are not
 * ours.  Nesting is followed MIME_MAX_DEPTH levels deep; a multipart GMime
 * found no parts in (missing boundary) gives its raw text as the text.
 *
 * Thread-safe (no state but GMime's own), linear in the message, memory
 * bounded by the limits plus GMime's copy of the message.  Broken MIME
 * (truncated multiparts, missing boundaries, bad base64, NUL bytes, 8-bit
 * headers, unknown charsets) gives partial data and defects > 0, never a
 * crash.  Every string is valid UTF-8 without NUL.  Logs nothing.
 */
#ifndef POSTINBOX_MIME_PARSE_H
#define POSTINBOX_MIME_PARSE_H

#include <gmime/gmime.h>
#include <jansson.h>
#include <stddef.h>

#define MIME_MAX_DEPTH 32 /* multipart nesting followed; deeper is a defect */

typedef struct {
    size_t text_max;        /* bytes of UTF-8 text kept */
    size_t html_max;        /* bytes of UTF-8 HTML kept */
    size_t reply_max;       /* bytes of reply kept */
    size_t attachments_max; /* attachments listed */
} mime_limits_t;

typedef struct {
    char *filename;     /* decoded (RFC 2231/2047) UTF-8, or NULL */
    char *content_type; /* "type/subtype" lower case */
    char *content_id;   /* without <>, or NULL */
    int is_inline;      /* Content-Disposition inline, or in multipart/related with a Content-ID and no disposition */
    size_t size;        /* decoded bytes */
    char sha256[65];    /* hex of the decoded content */
} mime_attachment_t;

typedef struct {
    char *text;         /* the first text/plain body (not an attachment), UTF-8, or NULL */
    int text_truncated;
    char *html;         /* the first text/html body, UTF-8, or NULL */
    int html_truncated;
    char *reply;        /* the text (else the HTML as text) without quoted history/signature, or NULL */
    mime_attachment_t *attachments;
    size_t attachment_count;
    int attachments_truncated; /* more than attachments_max; the rest are not listed */
    int defects;        /* how often the parser had to guess (broken MIME, charset fallback); 0 if clean */
} mime_parsed_t;

/* 256 KiB of text, 512 KiB of HTML, 64 KiB of reply, 100 attachments. */
mime_limits_t mime_limits_default(void);

/* Parses raw[0..len) (copied; raw may be freed after).  Parser warnings
 * are remembered for mime_parse_message's defects.  NULL only if nothing
 * could be parsed at all (no input). */
GMimeMessage *mime_message_new(const char *raw, size_t len);

/* Fills *out (always initialised; free with mime_parsed_free).  msg may be
 * NULL (out is then empty); limits NULL means the defaults. */
void mime_parse_message(GMimeMessage *msg, const mime_limits_t *limits, mime_parsed_t *out);
void mime_parsed_free(mime_parsed_t *p);

/* {text, html, reply, textTruncated, htmlTruncated, attachments: [{filename,
 * contentType, contentId, inline, size, sha256}], attachmentsTruncated},
 * null for what is missing.  NULL only if out of memory. */
json_t *mime_parsed_json(const mime_parsed_t *p);

#endif
