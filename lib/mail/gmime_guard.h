/*
 * gmime_guard.h -- what GMime's address-list parser must not be given.
 *
 * Public: gmime_guard_value, gmime_guard_message.
 * GMime 3.2.13 (internet-address.c, address_parse) leaks the addr-spec it
 * has just read when a bare addr-spec whose domain is an address literal
 * is followed by a comment that never closes: "a@[](" leaks 128 bytes in
 * internet_address_list_parse, and so does every GMimeMessage the parser
 * builds with such a From, To, Cc, Bcc, Sender or Reply-To header (it
 * parses those lists as it reads the headers).  Any sender can write such
 * a header, so each one would leak in the milter and the policy daemon.
 * These functions find such a value -- a ']', optional whitespace, then
 * a '(' whose comment is still open at the end of the value -- before
 * GMime sees it, and defuse it: every parenthesis of the value becomes a
 * space (the value was malformed already; no comment survives to leak).
 * The test is conservative: it may defuse a value GMime would have read
 * without leaking, never the other way round.  Logs nothing.
 */
#ifndef POSTINBOX_GMIME_GUARD_H
#define POSTINBOX_GMIME_GUARD_H

#include <stddef.h>

/* Checks value[0..len) (one address-list header value, folded or not)
 * and defuses it in place.  Returns 1 if it was changed, else 0. */
int gmime_guard_value(char *value, size_t len);

/* Checks every line of raw[0..len) that starts a From, To, Cc, Bcc,
 * Sender or Reply-To header (at any depth: an attached message's headers
 * are parsed too), with its continuation lines.  0: raw is safe as it is
 * (*copy NULL); 1: *copy is a malloc'd copy of len bytes with those
 * values defused, to parse instead; -1: out of memory. */
int gmime_guard_message(const char *raw, size_t len, char **copy);

#endif
