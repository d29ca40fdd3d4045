/*
 * test_domain_cache.c -- the foreign-domain cache: hits within the TTL,
 * misses after it, disabled with TTL 0, collisions never answer wrongly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "domain_cache.h"

static void
test_hit_and_miss(void **state)
{
    domain_cache_t *c = domain_cache_new(5000);
    (void)state;
    assert_non_null(c);
    assert_int_equal(domain_cache_is_foreign(c, "remote.test"), 0);
    domain_cache_note_foreign(c, "remote.test");
    assert_int_equal(domain_cache_is_foreign(c, "remote.test"), 1);
    assert_int_equal(domain_cache_is_foreign(c, "remote.tes"), 0);
    assert_int_equal(domain_cache_is_foreign(c, "other.test"), 0);
    domain_cache_free(c);
}

static void
test_expiry(void **state)
{
    struct timespec pause = { 0, 80 * 1000000 };
    domain_cache_t *c = domain_cache_new(50);
    (void)state;
    domain_cache_note_foreign(c, "remote.test");
    assert_int_equal(domain_cache_is_foreign(c, "remote.test"), 1);
    nanosleep(&pause, NULL);
    assert_int_equal(domain_cache_is_foreign(c, "remote.test"), 0);
    domain_cache_free(c);
}

static void
test_disabled(void **state)
{
    domain_cache_t *c = domain_cache_new(0);
    (void)state;
    domain_cache_note_foreign(c, "remote.test");
    assert_int_equal(domain_cache_is_foreign(c, "remote.test"), 0);
    domain_cache_free(c);
    assert_int_equal(domain_cache_is_foreign(NULL, "remote.test"), 0);
}

static void
test_many_domains_no_false_hits(void **state)
{
    char name[64];
    domain_cache_t *c = domain_cache_new(60000);
    (void)state;
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof(name), "d%d.test", i);
        domain_cache_note_foreign(c, name);
    }
    /* The last one is always present; a name never noted is never a hit. */
    assert_int_equal(domain_cache_is_foreign(c, "d19999.test"), 1);
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof(name), "never%d.test", i);
        assert_int_equal(domain_cache_is_foreign(c, name), 0);
    }
    domain_cache_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_miss),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_many_domains_no_false_hits),
    };
    return cmocka_run_group_tests_name("domain_cache", tests, NULL, NULL);
}
