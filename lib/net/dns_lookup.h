/*
 * dns_lookup.h -- DNS questions with a deadline, over libunbound.
 *
 * Public: dns_resolver_t, dns_status_t, dns_answer_t, dns_resolver_new,
 * dns_resolver_free, dns_resolver_set_cancel, dns_resolver_cancelled, dns_resolver_name,
 * dns_lookup, dns_answer_clear,
 * dns_status_word.
 *
 * libunbound (Debian's libunbound-dev) because it is a whole resolver
 * from a well-kept project (NLnet Labs, the authors of NSD and Unbound):
 * it follows CNAMEs, retries, can validate DNSSEC, and asks either the
 * system's resolvers or one given server -- which is how the tests point
 * it at their own NSD.  The question is asked asynchronously and waited
 * for with poll(2) until the deadline, then cancelled: never longer than
 * the caller said.  One resolver per thread (a libunbound context is
 * not shared here).  Logs nothing.
 */
#ifndef POSTINBOX_DNS_LOOKUP_H
#define POSTINBOX_DNS_LOOKUP_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct dns_resolver dns_resolver_t;

typedef enum {
    DNS_OK = 0,      /* records of that type (count > 0) */
    DNS_NXDOMAIN,    /* no such name */
    DNS_NODATA,      /* the name exists, no record of that type */
    DNS_SERVFAIL,    /* the server failed or refused (any other rcode) */
    DNS_TIMEOUT,     /* no answer within the deadline */
    DNS_ERROR,       /* a local failure (err says) */
} dns_status_t;

#define DNS_TYPE_TXT 16
#define DNS_TYPE_MX 15

/* The records: TXT as their strings joined; MX as "PREF HOST." (host in
 * lower case). */
typedef struct {
    char **records;
    size_t count;
} dns_answer_t;

/* server: "" for the system's resolvers (/etc/resolv.conf), else an
 * address with an optional port, "127.0.0.1@5353" (dns_resolver).  NULL
 * with err. */
dns_resolver_t *dns_resolver_new(const char *server, char *err, size_t errlen);
void dns_resolver_free(dns_resolver_t *r);
/* A question under way gives up (DNS_TIMEOUT, "cancelled") within 200 ms
 * of *cancel becoming non-zero: a stopping daemon does not wait for DNS. */
void dns_resolver_set_cancel(dns_resolver_t *r, const atomic_int *cancel);
/* Whether that flag is set: answers since are not to be believed. */
int dns_resolver_cancelled(const dns_resolver_t *r);
/* Who answers: the server given, or "the system resolver". */
const char *dns_resolver_name(const dns_resolver_t *r);
/* The records of type (DNS_TYPE_*) at name, within timeout_ms. */
dns_status_t dns_lookup(dns_resolver_t *r, const char *name, int type, long timeout_ms, dns_answer_t *out, char *err,
                        size_t errlen);
void dns_answer_clear(dns_answer_t *a);
/* "ok", "nxdomain", "nodata", "servfail", "timeout", "error". */
const char *dns_status_word(dns_status_t st);

#endif
