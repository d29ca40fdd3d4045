/*
 * address.c -- envelope address normalisation.  See address.h.
 * Deliberately strict: anything a mail admin would not call an address
 * (controls, spaces outside quotes, missing parts, over-long parts, bytes
 * >= 0x80 in the domain) is ADDRESS_MALFORMED; the milter then leaves
 * the decision to Postfix's own checks or refuses it cleanly.
 */
#include "address.h"

#include <ctype.h>
#include <string.h>

address_status_t
address_normalize(const char *in, char *out, size_t outlen)
{
    size_t len, start = 0, at = 0, n;
    int quoted = 0;

    if (outlen < ADDRESS_MAX + 1 || in == NULL)
        return ADDRESS_MALFORMED;
    out[0] = '\0';
    len = strlen(in);
    while (len > 0 && isspace((unsigned char)in[len - 1]))
        len--;
    while (start < len && isspace((unsigned char)in[start]))
        start++;
    if (start < len && in[start] == '<') {
        if (in[len - 1] != '>')
            return ADDRESS_MALFORMED;
        start++;
        len--;
    }
    /* RFC 5321 source route "@a,@b:user@host": keep only the mailbox. */
    if (start < len && in[start] == '@') {
        const char *colon = memchr(in + start, ':', len - start);
        if (colon == NULL)
            return ADDRESS_MALFORMED;
        start = (size_t)(colon - in) + 1;
    }
    n = len > start ? len - start : 0;
    if (n == 0)
        return ADDRESS_NULL_SENDER;
    if (n > ADDRESS_MAX)
        return ADDRESS_MALFORMED;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[start + i];
        if (c == '"') {
            quoted = !quoted;
        } else if (c < 0x20 || c == 0x7f || ((c == ' ' || c == '<' || c == '>') && !quoted)) {
            goto malformed; /* out holds a partial copy: clear it */
        } else if (c == '@' && !quoted) {
            at = i;
        }
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    if (quoted || at == 0 || at == n - 1 || n - at - 1 > 253 || at > 64)
        goto malformed;
    for (size_t i = at + 1; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == '[' || c == ']' || c == ':'))
            goto malformed;
    }
    if (out[at + 1] == '.' || out[n - 1] == '.' || strstr(out + at, ".."))
        goto malformed;
    return ADDRESS_OK;
malformed:
    out[0] = '\0';
    return ADDRESS_MALFORMED;
}

const char *
address_domain(const char *normalized)
{
    const char *at = strrchr(normalized, '@');
    return at ? at + 1 : "";
}
