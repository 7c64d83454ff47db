/*
 * Serving decisions for a stored response: fresh, stale-while-revalidate,
 * request max-stale / max-age / min-fresh / no-cache / only-if-cached,
 * must-revalidate and s-maxage limits, stale-if-error on upstream
 * failure, and whether only the request forbids a fresh response. Metadata is built directly; time is passed in.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cache/policy.h"

#define T0 1700000000000LL /* response received; Date is the same second */
#define S(x) ((int64_t)(x) * 1000)

/* Stored 60 s lifetime, no windows; age 0 at T0. */
static struct cache_meta
meta(void)
{
    struct cache_meta m = {
        .status = 200, .request_ms = T0, .response_ms = T0,
        .date_s = T0 / 1000, .age_s = 0, .lifetime_ms = S(60),
        .swr_ms = -1, .sie_ms = -1, .last_modified_s = -1,
    };

    return m;
}

static struct cache_cc
req(const char *cc)
{
    struct h1_field f = { .name = "Cache-Control", .name_len = 13,
                          .value = cc, .value_len = (uint32_t)strlen(cc) };
    struct cache_cc r;

    cache_cc_parse_request(&r, &f, 1, NULL);
    return r;
}

static void
test_fresh_then_validate(void **state)
{
    struct cache_meta m = meta();

    (void)state;
    assert_int_equal(cache_serve_decide(&m, NULL, T0), CACHE_SERVE_FRESH);
    assert_int_equal(cache_serve_decide(&m, NULL, T0 + S(60) - 1),
                     CACHE_SERVE_FRESH);
    assert_int_equal(cache_serve_decide(&m, NULL, T0 + S(60)),
                     CACHE_SERVE_MUST_VALIDATE);
    assert_int_equal(cache_meta_age_s(&m, T0 + S(42)), 42);
    assert_int_equal(cache_meta_ttl_s(&m, T0 + S(42)), 18);
}

static void
test_age_from_upstream_counts(void **state)
{
    struct cache_meta m = meta();

    (void)state;
    m.age_s = 50; /* e.g. a shield kept it 50 s already */
    assert_int_equal(cache_serve_decide(&m, NULL, T0 + S(9)),
                     CACHE_SERVE_FRESH);
    assert_int_equal(cache_serve_decide(&m, NULL, T0 + S(10)),
                     CACHE_SERVE_MUST_VALIDATE);
}

static void
test_stale_while_revalidate(void **state)
{
    struct cache_meta m = meta();
    struct cache_cc nc = req("no-cache");

    (void)state;
    m.swr_ms = S(30);
    assert_int_equal(cache_serve_decide(&m, NULL, T0 + S(60)),
                     CACHE_SERVE_STALE_REVALIDATE);
    assert_int_equal(cache_serve_decide(&m, NULL, T0 + S(89)),
                     CACHE_SERVE_STALE_REVALIDATE);
    assert_int_equal(cache_serve_decide(&m, NULL, T0 + S(90)),
                     CACHE_SERVE_MUST_VALIDATE);
    /* the client insisting on validation wins */
    assert_int_equal(cache_serve_decide(&m, &nc, T0 + S(70)),
                     CACHE_SERVE_MUST_VALIDATE);
}

static void
test_must_revalidate_forbids_stale(void **state)
{
    struct cache_meta m = meta();
    struct cache_cc ms = req("max-stale");

    (void)state;
    m.flags = CACHE_META_MUST_REVALIDATE;
    m.swr_ms = S(30); /* cannot happen from fill(), still refused */
    assert_int_equal(cache_serve_decide(&m, &ms, T0 + S(59)),
                     CACHE_SERVE_FRESH);
    assert_int_equal(cache_serve_decide(&m, &ms, T0 + S(61)),
                     CACHE_SERVE_MUST_VALIDATE);
    assert_int_equal(cache_serve_decide(&m, NULL, T0 + S(61)),
                     CACHE_SERVE_MUST_VALIDATE);
}

static void
test_request_max_stale(void **state)
{
    struct cache_meta m = meta();
    struct cache_cc any = req("max-stale");
    struct cache_cc five = req("max-stale=5");

    (void)state;
    assert_int_equal(cache_serve_decide(&m, &any, T0 + S(3600)),
                     CACHE_SERVE_STALE_OK);
    assert_int_equal(cache_serve_decide(&m, &five, T0 + S(65)),
                     CACHE_SERVE_STALE_OK);
    assert_int_equal(cache_serve_decide(&m, &five, T0 + S(65) + 1),
                     CACHE_SERVE_MUST_VALIDATE);
    /* inside a stale-while-revalidate window the cache revalidates anyway */
    m.swr_ms = S(30);
    assert_int_equal(cache_serve_decide(&m, &any, T0 + S(70)),
                     CACHE_SERVE_STALE_REVALIDATE);
    assert_int_equal(cache_serve_decide(&m, &any, T0 + S(100)),
                     CACHE_SERVE_STALE_OK);
}

static void
test_s_maxage_limits_client_staleness(void **state)
{
    struct cache_meta m = meta();
    struct cache_cc any = req("max-stale");

    (void)state;
    m.flags = CACHE_META_SHARED_MAXAGE;
    assert_int_equal(cache_serve_decide(&m, &any, T0 + S(61)),
                     CACHE_SERVE_MUST_VALIDATE);
    m.swr_ms = S(30); /* the response's own window still applies */
    assert_int_equal(cache_serve_decide(&m, &any, T0 + S(61)),
                     CACHE_SERVE_STALE_REVALIDATE);
}

static void
test_no_cache_both_sides(void **state)
{
    struct cache_meta m = meta();
    struct cache_cc nc = req("no-cache");
    struct h1_field pragma = { .name = "Pragma", .name_len = 6,
                               .value = "no-cache", .value_len = 8 };
    struct cache_cc pr;

    (void)state;
    assert_int_equal(cache_serve_decide(&m, &nc, T0), CACHE_SERVE_MUST_VALIDATE);
    cache_cc_parse_request(&pr, &pragma, 1, NULL);
    assert_int_equal(cache_serve_decide(&m, &pr, T0), CACHE_SERVE_MUST_VALIDATE);
    m.flags = CACHE_META_NO_CACHE;
    assert_int_equal(cache_serve_decide(&m, NULL, T0), CACHE_SERVE_MUST_VALIDATE);
}

static void
test_request_max_age_and_min_fresh(void **state)
{
    struct cache_meta m = meta();
    struct cache_cc zero = req("max-age=0");
    struct cache_cc thirty = req("max-age=30");
    struct cache_cc mf = req("min-fresh=10");
    struct cache_cc both = req("max-age=30, max-stale");

    (void)state;
    assert_int_equal(cache_serve_decide(&m, &zero, T0),
                     CACHE_SERVE_FRESH); /* age 0 is not greater than 0 */
    assert_int_equal(cache_serve_decide(&m, &zero, T0 + 1),
                     CACHE_SERVE_MUST_VALIDATE);
    assert_int_equal(cache_serve_decide(&m, &thirty, T0 + S(20)),
                     CACHE_SERVE_FRESH);
    assert_int_equal(cache_serve_decide(&m, &thirty, T0 + S(31)),
                     CACHE_SERVE_MUST_VALIDATE);
    assert_int_equal(cache_serve_decide(&m, &mf, T0 + S(50)),
                     CACHE_SERVE_FRESH);
    assert_int_equal(cache_serve_decide(&m, &mf, T0 + S(51)),
                     CACHE_SERVE_MUST_VALIDATE);
    /* max-stale does not lift a max-age limit on age */
    assert_int_equal(cache_serve_decide(&m, &both, T0 + S(61)),
                     CACHE_SERVE_MUST_VALIDATE);
}

/* Cache-Status fwd=request: fresh, and only the request forbids it. */
static void
test_request_forbids_fresh(void **state)
{
    struct cache_meta m = meta();
    struct cache_cc nc = req("no-cache");
    struct cache_cc zero = req("max-age=0");
    struct cache_cc mf = req("min-fresh=3600");
    struct cache_cc ms = req("max-stale");
    struct h1_field pragma = { .name = "Pragma", .name_len = 6,
                               .value = "no-cache", .value_len = 8 };
    struct cache_cc pr;

    (void)state;
    cache_cc_parse_request(&pr, &pragma, 1, NULL);
    assert_true(cache_serve_request_forbids(&m, &nc, T0));
    assert_true(cache_serve_request_forbids(&m, &pr, T0));
    assert_true(cache_serve_request_forbids(&m, &zero, T0 + 1));
    assert_true(cache_serve_request_forbids(&m, &mf, T0));
    assert_false(cache_serve_request_forbids(&m, &zero, T0)); /* servable */
    assert_false(cache_serve_request_forbids(&m, &ms, T0));
    assert_false(cache_serve_request_forbids(&m, NULL, T0));
    /* stale, or validated on every use anyway: fwd=stale */
    assert_false(cache_serve_request_forbids(&m, &nc, T0 + S(60)));
    m.flags = CACHE_META_NO_CACHE;
    assert_false(cache_serve_request_forbids(&m, &nc, T0));
}

static void
test_only_if_cached(void **state)
{
    struct cache_meta m = meta();
    struct cache_cc oic = req("only-if-cached");
    struct cache_cc oic_ms = req("only-if-cached, max-stale");

    (void)state;
    assert_int_equal(cache_serve_decide(&m, &oic, T0), CACHE_SERVE_FRESH);
    assert_int_equal(cache_serve_decide(&m, &oic, T0 + S(61)),
                     CACHE_SERVE_GATEWAY_TIMEOUT);
    assert_int_equal(cache_serve_decide(&m, &oic_ms, T0 + S(61)),
                     CACHE_SERVE_STALE_OK);
    assert_true(oic.flags & CACHE_CC_ONLY_IF_CACHED);
}

static void
test_stale_if_error(void **state)
{
    struct cache_meta m = meta();
    struct cache_cc sie = req("stale-if-error=100");
    struct cache_cc ms = req("max-stale=20");

    (void)state;
    /* fresh content can always stand in */
    assert_true(cache_serve_stale_on_error(&m, NULL, T0 + S(10)));
    /* RFC-pure: nothing stale without permission */
    assert_false(cache_serve_stale_on_error(&m, NULL, T0 + S(61)));
    assert_true(cache_serve_stale_on_error(&m, &sie, T0 + S(160)));
    assert_false(cache_serve_stale_on_error(&m, &sie, T0 + S(161)));
    assert_true(cache_serve_stale_on_error(&m, &ms, T0 + S(80)));
    m.sie_ms = S(600);
    assert_true(cache_serve_stale_on_error(&m, NULL, T0 + S(600)));
    assert_false(cache_serve_stale_on_error(&m, NULL, T0 + S(660)));
    m.flags = CACHE_META_MUST_REVALIDATE;
    assert_false(cache_serve_stale_on_error(&m, &sie, T0 + S(61)));
}

static void
test_stale_if_error_no_cache_and_s_maxage(void **state)
{
    struct cache_meta m = meta();
    struct cache_cc ms = req("max-stale");

    (void)state;
    m.flags = CACHE_META_NO_CACHE;
    assert_false(cache_serve_stale_on_error(&m, &ms, T0 + S(10)));
    m.sie_ms = S(60);
    assert_true(cache_serve_stale_on_error(&m, NULL, T0 + S(100)));
    m.flags = CACHE_META_SHARED_MAXAGE;
    m.sie_ms = -1;
    assert_false(cache_serve_stale_on_error(&m, &ms, T0 + S(61)));
    m.sie_ms = S(60);
    assert_true(cache_serve_stale_on_error(&m, &ms, T0 + S(61)));
}

static void
test_ttl_for_cache_status(void **state)
{
    struct cache_meta a = meta();

    (void)state;
    assert_int_equal(cache_meta_ttl_s(&a, T0), 60);
    assert_int_equal(cache_meta_ttl_s(&a, T0 + 59500), 0);
    assert_int_equal(cache_meta_ttl_s(&a, T0 + 60000), -1); /* stale */
    assert_int_equal(cache_meta_ttl_s(&a, T0 + 60500), -1);
    assert_int_equal(cache_meta_ttl_s(&a, T0 + 62000), -2);
    assert_true(cache_meta_is_fresh(&a, T0 + 59999));
    assert_false(cache_meta_is_fresh(&a, T0 + 60000));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_then_validate),
        cmocka_unit_test(test_age_from_upstream_counts),
        cmocka_unit_test(test_stale_while_revalidate),
        cmocka_unit_test(test_must_revalidate_forbids_stale),
        cmocka_unit_test(test_request_max_stale),
        cmocka_unit_test(test_s_maxage_limits_client_staleness),
        cmocka_unit_test(test_no_cache_both_sides),
        cmocka_unit_test(test_request_max_age_and_min_fresh),
        cmocka_unit_test(test_request_forbids_fresh),
        cmocka_unit_test(test_only_if_cached),
        cmocka_unit_test(test_stale_if_error),
        cmocka_unit_test(test_stale_if_error_no_cache_and_s_maxage),
        cmocka_unit_test(test_ttl_for_cache_status),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
