/*
 * http_framing.h -- whether a request's headers say unambiguously where
 * its body ends (RFC 9112 section 6), checked before a byte of it is read.
 *
 * Public: http_framing_t, http_framing_header, http_framing_verdict.
 * A proxy and the server behind it must agree on the end of a body, or
 * a second request hides inside the first (request smuggling).  So a
 * request is refused, never served by "the first header wins", when it
 * has two Content-Length headers (equal or not), two Transfer-Encoding
 * headers, both Content-Length and Transfer-Encoding, Transfer-Encoding
 * on HTTP/1.0, or a header name that is not a token (a space before the
 * colon: "Content-Length : 5" would be read as no length at all): 400.
 * A Transfer-Encoding other than exactly "chunked" is 501 (the only
 * coding served).  A malformed Content-Length value never gets here:
 * libmicrohttpd answers it 400 itself.  Pure: no I/O, logs nothing.
 */
#ifndef POSTINBOX_HTTP_FRAMING_H
#define POSTINBOX_HTTP_FRAMING_H

#include <stddef.h>

typedef struct {
    int content_length;       /* Content-Length headers seen */
    int transfer_encoding;    /* Transfer-Encoding headers seen */
    int not_chunked;          /* a Transfer-Encoding value other than "chunked" */
    int bad_name;             /* a header name that is not an RFC 9110 token */
} http_framing_t;

/* Takes one header as received (name of name_len bytes, value trimmed). */
void http_framing_header(http_framing_t *f, const char *name, size_t name_len, const char *value);

/* 0 if the request may be read; else the HTTP status (400 or 501) with
 * *code and *message (static text) for the error body.  version is the
 * request's ("HTTP/1.1"). */
int http_framing_verdict(const http_framing_t *f, const char *version, const char **code, const char **message);

#endif
