/*
 * ssrf.h -- which addresses an outbound webhook may connect to.
 *
 * Public: ssrf_classify, ssrf_refusal, ssrf_format_address, ssrf_literal_host.
 * Webhook URLs come from tenants, so a URL must not reach the operator's
 * own network: loopback, private (RFC 1918, ULA), link-local, CGNAT,
 * multicast, and reserved, documentation, benchmarking and unspecified
 * ranges are refused -- also when spelled as IPv6 embeddings of an IPv4
 * address (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96, NAT64
 * 64:ff9b::/96, 6to4 2002::/16), which take the class of the IPv4
 * address they carry -- unless webhook_allow_networks lists them.
 * The allow list: an IPv4-mapped address (::ffff:a.b.c.d) is the IPv4
 * address, as the kernel treats it on an IPv6 socket, so an IPv4 entry
 * admits it; the other embeddings are IPv6 addresses that a gateway may
 * turn into IPv4 ones, and only an IPv6 entry covering them admits them
 * (127.0.0.0/8 admits 127.0.0.1 and ::ffff:127.0.0.1, never ::127.0.0.1,
 * 64:ff9b::7f00:1 or 2002:7f00:1::).  An entry with a port admits that
 * port only.  The check is made on the address actually connected to
 * (libcurl's open-socket callback), after DNS, so a rebinding name cannot
 * slip by; ssrf_literal_host refuses literal addresses early, when an
 * endpoint is added.
 * Logs nothing.
 */
#ifndef POSTINBOX_SSRF_H
#define POSTINBOX_SSRF_H

#include <stddef.h>
#include <sys/socket.h>

#include "cidr.h"

/* Room for any address ssrf_format_address writes. */
#define SSRF_ADDRESS_LEN 64

/* The class of a refused address ("loopback", "private", "link-local",
 * "cgnat", "multicast", "reserved", "documentation", "unspecified",
 * "broadcast", "not-ip"), or NULL for a public address. */
const char *ssrf_classify(const struct sockaddr *sa, socklen_t len);

/* NULL if connecting to sa is allowed: a public address, or one in allow
 * (an IPv4-mapped address counts as its IPv4 address; the other embedded
 * forms only match IPv6 entries; an entry's port must be sa's).
 * Otherwise the class, as ssrf_classify. */
const char *ssrf_refusal(const struct sockaddr *sa, socklen_t len, const cidr_list_t *allow);

/* The numeric address of sa ("192.0.2.1", "2001:db8::1") into out. */
void ssrf_format_address(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen);

/* Whether a URL's host is a literal address that connecting to port would
 * refuse: host as in the URL (brackets around IPv6), any spelling of IPv4
 * that inet_aton and libcurl take ("2130706433", "0x7f.1", "127.1",
 * "0177.0.0.1").  NULL if host is a name or an allowed address;
 * otherwise the class, with the address in canonical form in text. */
const char *ssrf_literal_host(const char *host, size_t hostlen, int port, const cidr_list_t *allow,
                              char text[SSRF_ADDRESS_LEN]);

#endif
