/*
 * header.c -- RFC 2047 decoding through GMime, then utf8_sanitize.
 * See header.h.
 */
#include "header.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

void
header_init(void)
{
    g_mime_init();
}

char *
header_decode(const char *raw, size_t max_bytes)
{
    char *decoded, *out;
    char *unfolded = strdup(raw ? raw : "");
    if (unfolded == NULL)
        return NULL;
    /* Unfold: CR/LF followed by whitespace is one space. */
    size_t o = 0;
    for (size_t i = 0; unfolded[i]; i++) {
        if (unfolded[i] == '\r' || unfolded[i] == '\n')
            continue;
        unfolded[o++] = unfolded[i];
    }
    unfolded[o] = '\0';
    decoded = g_mime_utils_header_decode_text(NULL, unfolded);
    if (decoded) {
        out = utf8_sanitize(decoded, strlen(decoded), max_bytes);
        g_free(decoded);
    } else {
        out = utf8_sanitize(unfolded, o, max_bytes);
    }
    free(unfolded);
    return out;
}
