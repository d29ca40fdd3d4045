/*
 * domain_name.c -- typed, stored and shown forms of a domain name.  See
 * domain_name.h.
 */
#include "domain_name.h"

#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "validate.h"

int
domain_name_to_ace(const char *in, size_t len, char *ace, size_t *ace_len)
{
    char given[4 * DOMAIN_NAME_MAX + 1];
    char *converted = NULL;

    if (len >= sizeof(given) || !utf8_is_valid(in, len))
        return 0;
    memcpy(given, in, len);
    given[len] = '\0';
    if (idn2_to_ascii_8z(given, &converted, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK)
        return 0;
    size_t n = strlen(converted);
    int ok = n > 0 && n <= DOMAIN_NAME_MAX;
    if (ok) {
        memcpy(ace, converted, n + 1);
        *ace_len = n;
    }
    idn2_free(converted);
    return ok;
}

/* Whether name (ASCII, lower case) has a label starting "xn--". */
static int
domain_name_has_alabel(const char *name)
{
    for (const char *p = name; p != NULL; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL)
        if (strncmp(p, "xn--", 4) == 0)
            return 1;
    return 0;
}

/* The U-label form of ace (a new string for idn2_free), or NULL when a
 * label does not decode into a name that encodes back to ace. */
static char *
domain_name_decode(const char *ace)
{
    char *u = NULL, *back = NULL;
    int ok = idn2_to_unicode_8z8z(ace, &u, 0) == IDN2_OK &&
             idn2_to_ascii_8z(u, &back, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) == IDN2_OK && strcmp(back, ace) == 0;
    idn2_free(back);
    if (!ok) {
        idn2_free(u);
        return NULL;
    }
    return u;
}

domain_name_status_t
domain_name_canonical(const char *in, char out[DOMAIN_NAME_MAX + 1])
{
    size_t len = in ? strlen(in) : 0, n;
    int eight_bit = 0;

    out[0] = '\0';
    if (len > 0 && in[len - 1] == '.')
        len--; /* the root's dot: "example.com." is example.com */
    if (len == 0)
        return DOMAIN_NAME_MALFORMED;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)in[i] >= 0x80)
            eight_bit = 1;
        else if (in[i] == '\0' || (unsigned char)in[i] < 0x21 || in[i] == 0x7f)
            return DOMAIN_NAME_MALFORMED;
    }
    if (eight_bit) {
        if (len > 4 * DOMAIN_NAME_MAX)
            return DOMAIN_NAME_TOO_LONG;
        if (!domain_name_to_ace(in, len, out, &n)) {
            out[0] = '\0';
            return DOMAIN_NAME_IDNA;
        }
    } else {
        if (len > DOMAIN_NAME_MAX)
            return DOMAIN_NAME_TOO_LONG;
        memcpy(out, in, len);
        out[len] = '\0';
        ascii_lower(out);
    }
    if (!valid_hostname(out)) {
        out[0] = '\0';
        return DOMAIN_NAME_MALFORMED;
    }
    if (domain_name_has_alabel(out)) {
        /* an A-label must be one IDNA would write: decode it and back */
        char *u = domain_name_decode(out);
        idn2_free(u);
        if (u == NULL) {
            out[0] = '\0';
            return DOMAIN_NAME_IDNA;
        }
    }
    return DOMAIN_NAME_OK;
}

const char *
domain_name_unicode(const char *ace, char *out, size_t size)
{
    char *u = domain_name_has_alabel(ace) ? domain_name_decode(ace) : NULL;

    if (size == 0)
        return out;
    if (u != NULL && strlen(u) < size)
        snprintf(out, size, "%s", u);
    else
        snprintf(out, size, "%s", ace);
    idn2_free(u);
    return out;
}
