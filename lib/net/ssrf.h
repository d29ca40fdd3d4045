/*
 * ssrf.h -- which addresses an outbound webhook may connect to.
 *
 * Public: ssrf_classify, ssrf_refusal, ssrf_format_address.
 * Webhook URLs come from tenants, so a URL must not reach the operator's
 * own network: loopback, private (RFC 1918, ULA), link-local, CGNAT,
 * multicast, and reserved, documentation, benchmarking and unspecified
 * ranges are refused -- also when spelled as IPv6 embeddings of an IPv4
 * address (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96, NAT64
 * 64:ff9b::/96, 6to4 2002::/16) -- unless webhook_allow_networks lists
 * them.  The check is made on the address actually connected to (libcurl's
 * open-socket callback), after DNS, so a rebinding name cannot slip by.
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
 * (the address itself or the IPv4 address it embeds).  Otherwise the
 * class, as ssrf_classify. */
const char *ssrf_refusal(const struct sockaddr *sa, socklen_t len, const cidr_list_t *allow);

/* The numeric address of sa ("192.0.2.1", "2001:db8::1") into out. */
void ssrf_format_address(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen);

#endif
