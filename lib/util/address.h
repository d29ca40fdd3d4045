/*
 * address.h -- envelope addresses as Postfix hands them to a milter.
 *
 * Public: address_normalize, address_canonical, address_domain.
 * Strips the angle brackets and a source route, refuses what is not one
 * local@domain (or the null sender), and gives the canonical form: the
 * local part unquoted and unescaped, then quoted again only where RFC 5321
 * needs it (as Postfix does), the whole lower-cased, since inbox addresses
 * are matched case-insensitively.  SMTPUTF8: a UTF-8 local part is kept (it
 * must be UTF-8); a domain in U-labels is given as its A-labels (IDNA2008,
 * UTS #46 mapping, libidn2), a domain IDNA refuses is malformed.  Every door looks up this form, so no
 * spelling of an inbox's address escapes its checks.  Logs nothing.
 */
#ifndef POSTINBOX_ADDRESS_H
#define POSTINBOX_ADDRESS_H

#include <stddef.h>

#define ADDRESS_MAX 254

typedef enum { ADDRESS_OK = 0, ADDRESS_NULL_SENDER, ADDRESS_MALFORMED } address_status_t;

/* Normalises "<Foo@Example.COM>" (or "<\"Foo\"@Example.COM>") to
 * "foo@example.com" in out (at least ADDRESS_MAX + 1 bytes).  "<>" gives
 * ADDRESS_NULL_SENDER and "". */
address_status_t address_normalize(const char *in, char *out, size_t outlen);
/* address_canonical's flags. */
#define ADDRESS_STRICT 1u    /* RFC 5321 Mailbox as written: no brackets, whitespace, source route,
                                escapes outside quotes or quoted pieces; the local part one dot-atom
                                or one quoted string of printable ASCII; a literal an IP address */
#define ADDRESS_KEEP_CASE 2u /* not lower-cased: the canonical spelling of what was given */

/* The one grammar behind address_normalize (flags 0 is address_normalize):
 * out gets the canonical form, quotes only where RFC 5321 needs them.
 * The null sender is ADDRESS_MALFORMED under ADDRESS_STRICT. */
address_status_t address_canonical(const char *in, unsigned flags, char *out, size_t outlen);
/* The part after the last '@' of a normalised address. */
const char *address_domain(const char *normalized);

#endif
