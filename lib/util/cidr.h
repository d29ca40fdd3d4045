/*
 * cidr.h -- lists of IPv4/IPv6 networks ("127.0.0.0/8, ::1/128").
 *
 * Public: cidr_list_parse, cidr_list_match_text, cidr_list_match_sockaddr,
 * cidr_list_free.  Used for trusted_networks (and later for the webhook
 * allow list).  Logs nothing.
 */
#ifndef POSTINBOX_CIDR_H
#define POSTINBOX_CIDR_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct cidr_list cidr_list_t;

/* Parses a comma/space separated list; "" or "none" gives an empty list.
 * On error returns NULL and writes a reason naming the bad entry. */
cidr_list_t *cidr_list_parse(const char *text, char *err, size_t errlen);
void cidr_list_free(cidr_list_t *list);
size_t cidr_list_count(const cidr_list_t *list);
/* 1 if the address (text form) is in the list, 0 if not or unparsable. */
int cidr_list_match_text(const cidr_list_t *list, const char *addr);
/* 1 if the socket address is in the list; IPv4-mapped IPv6 counts as IPv4. */
int cidr_list_match_sockaddr(const cidr_list_t *list, const struct sockaddr *sa);

#endif
