/*
 * dns_record.h -- DNS records as a zone file writes them.
 *
 * Public: dns_txt_strings, DNS_TXT_STRING_MAX.
 *
 * A TXT record is a list of character-strings of at most 255 octets each
 * (RFC 1035 3.3, 3.3.14); the value a DKIM or SPF check reads is their
 * concatenation (RFC 6376 3.6.2.2, RFC 7208 3.3).  A DKIM record of an
 * RSA 2048 key is about 400 octets, so it must be written as several
 * strings: NSD and BIND refuse a longer one.
 */
#ifndef POSTINBOX_DNS_RECORD_H
#define POSTINBOX_DNS_RECORD_H

#include <stddef.h>

#define DNS_TXT_STRING_MAX 255

/* value as zone-file text: "part" "part" ..., each part at most
 * DNS_TXT_STRING_MAX octets of value, '"' and '\' escaped, bytes outside
 * printable ASCII as \DDD.  The length written, or 0 when out (outlen)
 * has no room (out is then ""). */
size_t dns_txt_strings(const char *value, char *out, size_t outlen);

#endif
