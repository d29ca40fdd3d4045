/*
 * domain_cache.c -- a direct-mapped table of foreign domains with expiry.
 * See domain_cache.h.  A collision simply replaces the older entry: the
 * worst case is one more lookup, never a wrong answer.
 */
#include "domain_cache.h"
#include "clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DOMAIN_CACHE_SLOTS 4096
#define DOMAIN_CACHE_NAME 254

typedef struct {
    char name[DOMAIN_CACHE_NAME];
    long long expires_ms;
} domain_cache_slot_t;

struct domain_cache {
    pthread_mutex_t lock;
    long ttl_ms;
    domain_cache_slot_t slots[DOMAIN_CACHE_SLOTS];
};

/* FNV-1a. */
static unsigned
domain_cache_slot(const char *domain)
{
    unsigned h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)domain; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % DOMAIN_CACHE_SLOTS;
}

domain_cache_t *
domain_cache_new(long ttl_ms)
{
    domain_cache_t *cache = calloc(1, sizeof(*cache));
    if (cache == NULL)
        return NULL;
    pthread_mutex_init(&cache->lock, NULL);
    cache->ttl_ms = ttl_ms;
    return cache;
}

void
domain_cache_free(domain_cache_t *cache)
{
    if (cache == NULL)
        return;
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

int
domain_cache_is_foreign(domain_cache_t *cache, const char *domain)
{
    int hit;
    if (cache == NULL || cache->ttl_ms <= 0 || strlen(domain) >= DOMAIN_CACHE_NAME)
        return 0;
    domain_cache_slot_t *slot = &cache->slots[domain_cache_slot(domain)];
    pthread_mutex_lock(&cache->lock);
    hit = slot->expires_ms > clock_ms() && strcmp(slot->name, domain) == 0;
    pthread_mutex_unlock(&cache->lock);
    return hit;
}

void
domain_cache_note_foreign(domain_cache_t *cache, const char *domain)
{
    if (cache == NULL || cache->ttl_ms <= 0 || strlen(domain) >= DOMAIN_CACHE_NAME)
        return;
    domain_cache_slot_t *slot = &cache->slots[domain_cache_slot(domain)];
    pthread_mutex_lock(&cache->lock);
    strcpy(slot->name, domain);
    slot->expires_ms = clock_ms() + cache->ttl_ms;
    pthread_mutex_unlock(&cache->lock);
}
