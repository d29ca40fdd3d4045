/*
 * domain_cache.h -- remembers, for a few seconds, domains that are not
 * ours, so outbound mail to the rest of the world costs no PostgreSQL
 * lookup per recipient.
 *
 * Public: domain_cache_new, domain_cache_free, domain_cache_is_foreign,
 * domain_cache_note_foreign.
 * Only negative answers are cached (a domain with no inbox and not a
 * managed domain); everything about our own domains is always read
 * fresh.  A domain verified, or an inbox created on it, is seen after at
 * most the TTL.  Fixed size, one mutex, no allocation after creation.
 * Logs nothing.
 */
#ifndef POSTINBOX_DOMAIN_CACHE_H
#define POSTINBOX_DOMAIN_CACHE_H

typedef struct domain_cache domain_cache_t;

/* ttl_ms 0 disables the cache (every call then answers "not cached"). */
domain_cache_t *domain_cache_new(long ttl_ms);
void domain_cache_free(domain_cache_t *cache);
/* 1 if domain (lower-case) was seen foreign within the TTL, else 0. */
int domain_cache_is_foreign(domain_cache_t *cache, const char *domain);
/* Records that a lookup found domain foreign. */
void domain_cache_note_foreign(domain_cache_t *cache, const char *domain);

#endif
