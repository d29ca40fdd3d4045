/*
 * domain_name.h -- a mail domain's name as an admin types it, and as it
 * is stored, looked up in DNS and shown.
 *
 * Public: domain_name_canonical, domain_name_unicode, domain_name_to_ace,
 * DOMAIN_NAME_MAX, domain_name_status_t.
 *
 * Stored and looked up: the A-label form, lower case, without the final
 * dot ("xn--bcher-kva.example"), what Postfix matches its tables with and
 * what DNS serves.  Typed: either form; U-labels ("Bücher.example") are
 * converted with IDNA2008 and the UTS #46 mapping (libidn2: case folded,
 * NFC), A-labels are checked by decoding them.  Shown: the U-label form
 * next to the stored one when they differ.  A name is at most 253 octets
 * (255 on the wire), labels 1-63 octets of letters, digits and hyphens
 * (not first or last), and at least two labels.  Logs nothing.
 */
#ifndef POSTINBOX_DOMAIN_NAME_H
#define POSTINBOX_DOMAIN_NAME_H

#include <stddef.h>

#define DOMAIN_NAME_MAX 253

typedef enum {
    DOMAIN_NAME_OK = 0,
    DOMAIN_NAME_MALFORMED, /* not a host name: a character, an empty or oversized label, one label */
    DOMAIN_NAME_TOO_LONG,  /* over DOMAIN_NAME_MAX octets (as A-labels) */
    DOMAIN_NAME_IDNA,      /* U-labels IDNA refuses, or an A-label that does not decode */
} domain_name_status_t;

/* in (NUL-terminated, any case, one final dot allowed) as the stored form
 * in out (DOMAIN_NAME_MAX + 1 bytes). */
domain_name_status_t domain_name_canonical(const char *in, char out[DOMAIN_NAME_MAX + 1]);
/* The U-label form of a canonical name into out (size bytes, UTF-8); the
 * name itself when it has no A-label or does not decode.  Returns out. */
const char *domain_name_unicode(const char *ace, char *out, size_t size);
/* in[0..len) (UTF-8 with U-labels) as A-labels into ace (at least
 * DOMAIN_NAME_MAX + 1 bytes), *ace_len its length; 0 when IDNA refuses
 * it or it is longer.  The conversion address_canonical uses too. */
int domain_name_to_ace(const char *in, size_t len, char *ace, size_t *ace_len);

#endif
