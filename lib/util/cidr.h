/*
 * cidr.h -- lists of IPv4/IPv6 networks ("127.0.0.0/8, ::1/128").
 *
 * Public: cidr_list_parse, cidr_list_parse_ports, cidr_list_match_text,
 * cidr_list_match_sockaddr, cidr_list_count, cidr_list_free.
 * Used for trusted_networks and policy_allow_networks (addresses only)
 * and for webhook_allow_networks, whose entries may name a port
 * ("127.0.0.1:8080", "[::1]:9000", "10.0.0.0/8:443", "[fd00::]/8:443"):
 * such an entry admits that port only.  An IPv4 entry is the IPv4-mapped
 * IPv6 range too (::ffff:a.b.c.d is how the kernel shows IPv4 on an IPv6
 * socket); no other IPv6 form of an IPv4 address matches it.  Logs nothing.
 */
#ifndef POSTINBOX_CIDR_H
#define POSTINBOX_CIDR_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct cidr_list cidr_list_t;

/* Parses a comma/space separated list; "" or "none" gives an empty list.
 * On error returns NULL and writes a reason naming the bad entry (an
 * entry with a port is one). */
cidr_list_t *cidr_list_parse(const char *text, char *err, size_t errlen);
/* The same, entries may end in ":PORT" (1-65535; IPv6 in brackets). */
cidr_list_t *cidr_list_parse_ports(const char *text, char *err, size_t errlen);
void cidr_list_free(cidr_list_t *list);
size_t cidr_list_count(const cidr_list_t *list);
/* 1 if the address (text form) is in the list, 0 if not or unparsable;
 * entries with a port never match (the text has none). */
int cidr_list_match_text(const cidr_list_t *list, const char *addr);
/* 1 if the socket address is in the list; IPv4-mapped IPv6 counts as
 * IPv4; an entry with a port matches only the address's own port. */
int cidr_list_match_sockaddr(const cidr_list_t *list, const struct sockaddr *sa);

#endif
