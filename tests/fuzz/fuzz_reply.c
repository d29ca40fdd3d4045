/*
 * fuzz_reply.c -- reply extraction: the text of a mail body without its
 * quoted history and signature (reply_extract), and HTML rendered to text
 * first (reply_extract_html_to_text), with small and large output bounds.
 * The first byte picks the path and the bound; the rest is the body.
 */
#include "fuzz.h"

#include "reply_extract.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned mode = data[0];
    size_t max = (mode & 2) ? 64 : 65536;
    char *body = fuzz_cstring(data + 1, size - 1);
    if (body == NULL)
        return 0;
    if (mode & 1) {
        char *text = reply_extract_html_to_text(body, max);
        char *reply = text ? reply_extract(text, max) : NULL;
        free(reply);
        free(text);
    } else {
        free(reply_extract(body, max));
    }
    free(body);
    return 0;
}
