/*
 * http_framing.c -- refusing requests whose body has no single end.
 * See http_framing.h.
 */
#include "http_framing.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 tchar. */
static int
http_framing_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

void
http_framing_header(http_framing_t *f, const char *name, size_t name_len, const char *value)
{
    if (name_len == 0)
        f->bad_name = 1;
    for (size_t i = 0; i < name_len; i++)
        if (!http_framing_tchar((unsigned char)name[i]))
            f->bad_name = 1;
    if (name_len == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
        f->content_length++;
    } else if (name_len == 17 && strncasecmp(name, "Transfer-Encoding", 17) == 0) {
        f->transfer_encoding++;
        if (value == NULL || strcasecmp(value, "chunked") != 0)
            f->not_chunked = 1;
    }
}

int
http_framing_verdict(const http_framing_t *f, const char *version, const char **code, const char **message)
{
    *code = "bad_request";
    if (f->bad_name) {
        *message = "a header name is not a token (whitespace before the colon?)";
        return 400;
    }
    if (f->content_length > 1) {
        *message = "more than one Content-Length header";
        return 400;
    }
    if (f->transfer_encoding > 1) {
        *message = "more than one Transfer-Encoding header";
        return 400;
    }
    if (f->content_length > 0 && f->transfer_encoding > 0) {
        *message = "both Content-Length and Transfer-Encoding: the body's end is ambiguous";
        return 400;
    }
    if (f->transfer_encoding > 0 && version != NULL && strcmp(version, "HTTP/1.1") != 0) {
        *message = "Transfer-Encoding on a request older than HTTP/1.1";
        return 400;
    }
    if (f->not_chunked) {
        *code = "not_implemented";
        *message = "Transfer-Encoding other than chunked is not supported";
        return 501;
    }
    return 0;
}
