/*
 * address.c -- envelope address normalisation.  See address.h.
 * Deliberately strict: anything a mail admin would not call an address
 * (controls, spaces outside quotes, missing parts, over-long parts, more
 * than one '@' outside quotes, a domain that is neither LDH labels nor an
 * address literal, invalid UTF-8) is ADDRESS_MALFORMED; the milter then
 * refuses it cleanly.  International addresses (SMTPUTF8, RFC 6531): a
 * local part may be UTF-8 (kept as it is: inbox names are ASCII, so it
 * names no inbox); a domain written with U-labels ("bücher.example") is
 * converted to its A-labels ("xn--bcher-kva.example", IDNA2008 with the
 * UTS #46 mapping, libidn2), the form Postfix matches its tables with, so
 * both spellings are one address; a domain IDNA refuses is malformed.  What is kept is canonical, as Postfix
 * logs it: quotes and backslashes that are not needed are gone, so
 * "agent--demo"@d, agent\-\-demo@d and agent--demo@d are one address.
 * ADDRESS_STRICT (addresses we write ourselves, lib/mail/compose) reads
 * no more than RFC 5321 writes: one dot-atom or one quoted string, an
 * address literal that is an IP address or a general literal.
 */
#include "address.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain_name.h"
#include "utf8.h"

/* A character of an RFC 5322 atom (8-bit clean, as Postfix): printable,
 * not a space and not one of the specials. */
static int
address_atom_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f && strchr("()<>@,;:\\\".[]", c) == NULL;
}

/* Whether local (len bytes, unquoted) is a dot-atom: atoms separated by
 * single dots, so it needs no quotes. */
static int
address_dot_atom(const char *local, size_t len)
{
    if (len == 0 || local[0] == '.' || local[len - 1] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)local[i];
        if (c == '.' ? local[i + 1] == '.' : !address_atom_char(c))
            return 0;
    }
    return 1;
}

/* The domain part: LDH labels of 1-63 characters (no leading or trailing
 * hyphen) separated by single dots, or an address literal "[...]" of
 * letters, digits, '.', ':' and '-'.  Lower-cased into out. */
static int
address_domain_ok(const char *in, size_t len, char *out)
{
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    if (in[0] == '[') {
        if (len < 3 || in[len - 1] != ']')
            return 0;
        for (size_t i = 1; i + 1 < len; i++) {
            unsigned char c = (unsigned char)in[i];
            if (!(isalnum(c) || c == '.' || c == ':' || c == '-'))
                return 0;
        }
        return 1;
    }
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)in[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || in[i - 1] == '-' || in[i - label] == '-')
                return 0;
            label = 0;
        } else if (isalnum(c) || c == '-') {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* A strict address literal: "[" IPv4 "]", "[IPv6:" IPv6 "]" or a
 * general literal "[tag:text]" of LDH tag and printable dtext (RFC 5321
 * 4.1.3), in[0..len) including the brackets. */
static int
address_literal_strict(const char *in, size_t len)
{
    char body[256];
    unsigned char addr[16];
    const char *colon;
    size_t n = len - 2;

    if (n == 0 || n >= sizeof(body))
        return 0;
    memcpy(body, in + 1, n);
    body[n] = '\0';
    if (inet_pton(AF_INET, body, addr) == 1)
        return 1;
    if (strncasecmp(body, "IPv6:", 5) == 0)
        return inet_pton(AF_INET6, body + 5, addr) == 1;
    colon = strchr(body, ':');
    if (colon == NULL || colon == body || colon[1] == '\0' || colon[-1] == '-')
        return 0;
    for (const char *p = body; p < colon; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return 0;
    for (const char *p = colon + 1; *p; p++)
        if (*p < 33 || *p > 126 || *p == '[' || *p == ']' || *p == '\\')
            return 0;
    return 1;
}

/* ADDRESS_STRICT's local part: one dot-atom or one quoted string of
 * printable ASCII (RFC 5321 Dot-string / Quoted-string) ending right
 * before the '@' at in[at].  The unquoted, unescaped text goes to local. */
static int
address_local_strict(const char *in, size_t at, char *local, size_t *local_len)
{
    size_t n = 0;
    if (at == 0 || at > ADDRESS_MAX)
        return 0;
    if (in[0] != '"') {
        for (size_t i = 0; i < at; i++) {
            if ((unsigned char)in[i] >= 0x80)
                return 0;
            local[n++] = in[i];
        }
        *local_len = n;
        return address_dot_atom(local, n);
    }
    if (at < 3 || in[at - 1] != '"')
        return 0;
    for (size_t i = 1; i + 1 < at; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\\' && i + 2 < at)
            c = (unsigned char)in[++i];
        else if (c == '\\' || c == '"')
            return 0;
        if (c < 0x20 || c >= 0x7f)
            return 0;
        local[n++] = (char)c;
    }
    *local_len = n;
    return n > 0;
}

/* Whether in[0..len) holds a byte >= 0x80. */
static int
address_has_8bit(const char *in, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)in[i] >= 0x80)
            return 1;
    return 0;
}

address_status_t
address_canonical(const char *in, unsigned flags, char *out, size_t outlen)
{
    size_t len, start = 0, at = 0, n, o = 0, local_len = 0, dom_len;
    char local[ADDRESS_MAX + 1], ace[254];
    const char *dom;
    int ats = 0, strict = (flags & ADDRESS_STRICT) != 0;

    if (outlen < ADDRESS_MAX + 1 || in == NULL)
        return ADDRESS_MALFORMED;
    out[0] = '\0';
    len = strlen(in);
    if (!strict) {
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
    }
    n = len > start ? len - start : 0;
    if (n == 0)
        return strict ? ADDRESS_MALFORMED : ADDRESS_NULL_SENDER;
    if (n > 2 * ADDRESS_MAX)
        return ADDRESS_MALFORMED;
    in += start;
    /* The local part as Postfix reads it: quoted strings and backslash
     * escapes are taken apart ("agent--demo" and agent\-\-demo are both
     * agent--demo); exactly one '@' outside quotes ends it. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '"') {
            for (i++; i < n && in[i] != '"'; i++) {
                if (in[i] == '\\' && i + 1 < n)
                    i++;
                if ((unsigned char)in[i] < 0x20 || in[i] == 0x7f || local_len >= ADDRESS_MAX)
                    return ADDRESS_MALFORMED;
                local[local_len++] = in[i];
            }
            if (i == n)
                return ADDRESS_MALFORMED; /* unterminated quote */
            continue;
        }
        if (c == '@') {
            ats++;
            at = i;
            continue;
        }
        if (ats > 0)
            continue; /* the domain, checked below */
        if (c == '\\' && i + 1 < n)
            c = (unsigned char)in[++i];
        else if (c == ' ' || c == '<' || c == '>' || c == '\\')
            return ADDRESS_MALFORMED;
        if (c < 0x20 || c == 0x7f || local_len >= ADDRESS_MAX)
            return ADDRESS_MALFORMED;
        local[local_len++] = (char)c;
    }
    if (ats != 1 || local_len == 0 || memchr(in + at + 1, '"', n - at - 1) != NULL)
        return ADDRESS_MALFORMED;
    /* Strict: what was read above must also have been written as RFC 5321
     * writes it (no escapes outside quotes, no quoted pieces, no specials). */
    if (strict && !address_local_strict(in, at, local, &local_len))
        return ADDRESS_MALFORMED;
    /* A UTF-8 local part (SMTPUTF8) must be UTF-8. */
    if (address_has_8bit(local, local_len) && !utf8_is_valid(local, local_len))
        return ADDRESS_MALFORMED;
    dom = in + at + 1;
    dom_len = n - at - 1;
    if (!strict && dom_len > 0 && dom[0] != '[' && address_has_8bit(dom, dom_len)) {
        if (!domain_name_to_ace(dom, dom_len, ace, &dom_len))
            return ADDRESS_MALFORMED;
        dom = ace;
    }
    /* The canonical form: the local part quoted only when it must be. */
    int quote = !address_dot_atom(local, local_len);
    if (quote)
        out[o++] = '"';
    for (size_t i = 0; i < local_len; i++) {
        if (o + 3 > 64 + 2)
            goto malformed; /* longer than a local part may be */
        if (quote && (local[i] == '"' || local[i] == '\\'))
            out[o++] = '\\';
        out[o++] = (flags & ADDRESS_KEEP_CASE) ? local[i] : (char)tolower((unsigned char)local[i]);
    }
    if (quote)
        out[o++] = '"';
    if (o > 64 || o + 1 + dom_len > ADDRESS_MAX)
        goto malformed;
    out[o++] = '@';
    if (!address_domain_ok(dom, dom_len, out + o))
        goto malformed;
    if (strict && dom[0] == '[' && !address_literal_strict(dom, dom_len))
        goto malformed;
    if (flags & ADDRESS_KEEP_CASE)
        memcpy(out + o, dom, dom_len);
    out[o + dom_len] = '\0';
    return ADDRESS_OK;
malformed:
    out[0] = '\0';
    return ADDRESS_MALFORMED;
}

address_status_t
address_normalize(const char *in, char *out, size_t outlen)
{
    return address_canonical(in, 0, out, outlen);
}

const char *
address_domain(const char *normalized)
{
    const char *at = strrchr(normalized, '@');
    return at ? at + 1 : "";
}
