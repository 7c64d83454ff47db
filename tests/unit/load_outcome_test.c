/*
 * Cache outcome from Cache-Status (RFC 9211: the last member is the cache
 * nearest to the client; quoted strings may hide commas and semicolons)
 * and from X-Cache as Squid, nginx, Varnish VCLs and CDNs write it.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tools/load/outcome.h"

struct vec {
    const char *value;
    enum load_outcome want;
};

static void
test_cache_status(void **state)
{
    static const struct vec v[] = {
        { "strata; hit; ttl=42", LOAD_OUT_HIT },
        { "strata; fwd=miss; stored", LOAD_OUT_MISS },
        { "strata;fwd=uri-miss", LOAD_OUT_MISS },
        { "strata; fwd=vary-miss", LOAD_OUT_MISS },
        { "strata; fwd=stale; fwd-status=304", LOAD_OUT_MISS },
        { "strata; fwd=bypass", LOAD_OUT_BYPASS },
        { "strata; fwd=method", LOAD_OUT_BYPASS },
        { "strata; fwd=request", LOAD_OUT_BYPASS },
        { "strata; hit=?1", LOAD_OUT_HIT },
        { "strata; hit=?0; fwd=miss", LOAD_OUT_MISS },
        { "Strata; HIT", LOAD_OUT_HIT },
        { "origin-cache; hit, strata; fwd=uri-miss", LOAD_OUT_MISS },
        { "shield; fwd=miss, edge; hit", LOAD_OUT_HIT },
        { "strata; detail=\"x, y; hit\"", LOAD_OUT_NONE },
        { "strata; detail=\"a\\\"; hit\"; fwd=miss", LOAD_OUT_MISS },
        { "\"quoted, name\"; hit", LOAD_OUT_HIT },
        { "strata; key=\"k\"", LOAD_OUT_NONE },
        { "strata", LOAD_OUT_NONE },
        { "", LOAD_OUT_NONE },
    };

    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        enum load_outcome got = load_outcome_cache_status(v[i].value, strlen(v[i].value));

        if (got != v[i].want)
            fail_msg("'%s': got %s, want %s", v[i].value, load_outcome_name(got),
                     load_outcome_name(v[i].want));
    }
}

static void
test_x_cache(void **state)
{
    static const struct vec v[] = {
        { "HIT", LOAD_OUT_HIT },
        { "hit", LOAD_OUT_HIT },
        { "MISS", LOAD_OUT_MISS },
        { "HIT from squid.example:3128", LOAD_OUT_HIT },
        { "TCP_MISS from proxy", LOAD_OUT_MISS },
        { "TCP_MEM_HIT", LOAD_OUT_HIT },
        { "MISS, HIT", LOAD_OUT_HIT },
        { "HIT, MISS", LOAD_OUT_MISS },
        { "  STALE ", LOAD_OUT_HIT },
        { "UPDATING", LOAD_OUT_HIT },
        { "EXPIRED", LOAD_OUT_MISS },
        { "REVALIDATED", LOAD_OUT_MISS },
        { "BYPASS", LOAD_OUT_BYPASS },
        { "PASS", LOAD_OUT_BYPASS },
        { "Error from cloudfront", LOAD_OUT_NONE },
        { "", LOAD_OUT_NONE },
    };

    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        enum load_outcome got = load_outcome_x_cache(v[i].value, strlen(v[i].value));

        if (got != v[i].want)
            fail_msg("'%s': got %s, want %s", v[i].value, load_outcome_name(got),
                     load_outcome_name(v[i].want));
    }
}

static void
test_names(void **state)
{
    (void)state;
    assert_string_equal(load_outcome_name(LOAD_OUT_HIT), "hit");
    assert_string_equal(load_outcome_name(LOAD_OUT_NORESP), "no_response");
    assert_string_equal(load_outcome_name(LOAD_OUT__COUNT), "?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_status),
        cmocka_unit_test(test_x_cache),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
