/*
 * Cache directives: Cache-Control list parsing (every directive, quoted
 * and invalid arguments, repeats, quoted commas, unknown directives),
 * qualified no-cache / private lists, targeted fields (RFC 9213 precedence
 * and Structured Field parsing), Surrogate-Control, request directives and
 * Pragma, and the site switches that ignore them.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/policy.h"

#define FLD(n, v)                                                          \
    { .name = (n), .value = (v), .name_len = sizeof(n) - 1,                \
      .value_len = sizeof(v) - 1 }
#define NF(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static struct cache_cc
resp1(const char *name, const char *value)
{
    struct h1_field f = { .name = name, .name_len = (uint32_t)strlen(name),
                          .value = value,
                          .value_len = (uint32_t)strlen(value) };
    struct cache_cc cc;

    cache_cc_parse_response(&cc, &f, 1, NULL);
    return cc;
}

static struct cache_cc
cc1(const char *value)
{
    return resp1("Cache-Control", value);
}

static struct cache_cc
req1(const char *value)
{
    struct h1_field f = { .name = "Cache-Control", .name_len = 13,
                          .value = value,
                          .value_len = (uint32_t)strlen(value) };
    struct cache_cc cc;

    cache_cc_parse_request(&cc, &f, 1, NULL);
    return cc;
}

static void
test_no_fields(void **state)
{
    struct cache_cc cc;

    (void)state;
    cache_cc_parse_response(&cc, NULL, 0, NULL);
    assert_int_equal(cc.source, CACHE_CC_SRC_NONE);
    assert_int_equal(cc.flags, 0);
    assert_int_equal(cc.max_age_s, -1);
    assert_int_equal(cc.s_maxage_s, -1);
    assert_int_equal(cc.swr_s, -1);
    assert_int_equal(cc.sie_s, -1);
}

static void
test_max_age_forms(void **state)
{
    struct cache_cc cc;

    (void)state;
    cc = cc1("max-age=60");
    assert_int_equal(cc.source, CACHE_CC_SRC_CC);
    assert_int_equal(cc.max_age_s, 60);
    assert_false(cc.flags & CACHE_CC_INVALID);
    /* RFC 9111 §5.2: recipients ought to accept the quoted form too */
    assert_int_equal(cc1("max-age=\"3600\"").max_age_s, 3600);
    assert_int_equal(cc1("max-age=003600").max_age_s, 3600);
    assert_int_equal(cc1("MAX-AGE=7").max_age_s, 7);
    assert_int_equal(cc1("max-age=0").max_age_s, 0);
    /* §1.2.2: overflow is 2^31 */
    assert_int_equal(cc1("max-age=99999999999999999999999").max_age_s,
                     CACHE_DELTA_MAX);
    assert_int_equal(cc1("max-age=2147483648").max_age_s, CACHE_DELTA_MAX);
    assert_int_equal(cc1("max-age=2147483647").max_age_s, 2147483647);
}

static void
assert_invalid_max_age(const char *v)
{
    struct cache_cc cc = cc1(v);

    assert_true(cc.flags & CACHE_CC_INVALID);
    assert_int_equal(cc.max_age_s, 0); /* §4.2.1: stale */
}

static void
test_max_age_invalid_is_stale(void **state)
{
    (void)state;
    assert_invalid_max_age("max-age=-1");
    assert_invalid_max_age("max-age=3600.0");
    assert_invalid_max_age("max-age=3600.5");
    assert_invalid_max_age("max-age=a3600");
    assert_invalid_max_age("max-age=3600a");
    assert_invalid_max_age("max-age='3600'");
    assert_invalid_max_age("max-age=\"-5\"");
    assert_invalid_max_age("max-age=\"\"");
    assert_invalid_max_age("max-age =3600");
    assert_invalid_max_age("max-age= 3600");
    assert_invalid_max_age("max-age=");
    assert_invalid_max_age("max-age");
    assert_invalid_max_age("max-age=\"36\"00");
}

static void
test_repeats(void **state)
{
    struct h1_field two[] = { FLD("Cache-Control", "max-age=1800"),
                              FLD("Cache-Control", "max-age=1") };
    struct h1_field same[] = { FLD("Cache-Control", "max-age=60"),
                               FLD("cache-control", "max-age=60") };
    struct cache_cc cc;

    (void)state;
    /* conflicting values: §4.2.1 lets us consider the response stale */
    assert_invalid_max_age("max-age=1800, max-age=1");
    assert_invalid_max_age("max-age=1, max-age=1800");
    cache_cc_parse_response(&cc, two, NF(two), NULL);
    assert_true(cc.flags & CACHE_CC_INVALID);
    assert_int_equal(cc.max_age_s, 0);
    cache_cc_parse_response(&cc, same, NF(same), NULL);
    assert_false(cc.flags & CACHE_CC_INVALID);
    assert_int_equal(cc.max_age_s, 60);
    /* an invalid first value is not rescued by a later valid one */
    assert_invalid_max_age("max-age=x, max-age=60");
}

static void
test_quoted_strings_hide_directives(void **state)
{
    struct cache_cc cc;

    (void)state;
    cc = cc1("extension=\"max-age=3600\", max-age=1");
    assert_int_equal(cc.max_age_s, 1);
    cc = cc1("max-age=1, extension=\"max-age=3600, no-store\"");
    assert_int_equal(cc.max_age_s, 1);
    assert_false(cc.flags & CACHE_CC_NO_STORE);
    cc = cc1("foo=\"a\\\"b, no-store\", public");
    assert_false(cc.flags & CACHE_CC_NO_STORE);
    assert_true(cc.flags & CACHE_CC_PUBLIC);
}

static void
test_every_flag(void **state)
{
    struct cache_cc cc;

    (void)state;
    cc = cc1("no-store, no-cache, private, public, must-revalidate, "
             "proxy-revalidate, must-understand, no-transform, immutable");
    assert_int_equal(cc.flags,
                     CACHE_CC_NO_STORE | CACHE_CC_NO_CACHE | CACHE_CC_PRIVATE |
                         CACHE_CC_PUBLIC | CACHE_CC_MUST_REVALIDATE |
                         CACHE_CC_PROXY_REVALIDATE | CACHE_CC_MUST_UNDERSTAND |
                         CACHE_CC_NO_TRANSFORM | CACHE_CC_IMMUTABLE);
    cc = cc1("s-maxage=120, stale-while-revalidate=30, stale-if-error=600");
    assert_int_equal(cc.s_maxage_s, 120);
    assert_int_equal(cc.swr_s, 30);
    assert_int_equal(cc.sie_s, 600);
    assert_int_equal(cc.max_age_s, -1);
    /* an argument on a flag directive does not hide it */
    assert_true(cc1("no-store=1").flags & CACHE_CC_NO_STORE);
    assert_true(cc1("no-store =1").flags & CACHE_CC_NO_STORE);
}

static void
test_invalid_s_maxage_and_windows(void **state)
{
    struct cache_cc cc;

    (void)state;
    cc = cc1("s-maxage=1.5");
    assert_true(cc.flags & CACHE_CC_INVALID);
    assert_int_equal(cc.s_maxage_s, 0);
    /* a bad stale window is ignored: no staleness is granted */
    cc = cc1("max-age=5, stale-while-revalidate=abc, stale-if-error=-1");
    assert_int_equal(cc.swr_s, -1);
    assert_int_equal(cc.sie_s, -1);
    assert_false(cc.flags & CACHE_CC_INVALID);
    assert_int_equal(cc1("stale-if-error=1, stale-if-error=2").sie_s, -1);
}

static void
test_unknown_and_empty_elements(void **state)
{
    struct cache_cc cc;

    (void)state;
    cc = cc1("foo=bar, , baz,, max-age=5, ,x-y=\"z\"");
    assert_int_equal(cc.max_age_s, 5);
    assert_int_equal(cc.flags, 0);
    cc = cc1(" , ");
    assert_int_equal(cc.source, CACHE_CC_SRC_CC);
    assert_int_equal(cc.max_age_s, -1);
}

static void
test_lines_combine(void **state)
{
    struct h1_field f[] = { FLD("Cache-Control", "public"),
                            FLD("X-Other", "no-store"),
                            FLD("Cache-Control", "max-age=5, no-transform") };
    struct cache_cc cc;

    (void)state;
    cache_cc_parse_response(&cc, f, NF(f), NULL);
    assert_int_equal(cc.flags, CACHE_CC_PUBLIC | CACHE_CC_NO_TRANSFORM);
    assert_int_equal(cc.max_age_s, 5);
}

static void
test_qualified_lists(void **state)
{
    struct cache_cc cc;

    (void)state;
    cc = cc1("no-cache=\"Set-Cookie, X-Foo\", max-age=60");
    assert_false(cc.flags & CACHE_CC_NO_CACHE);
    assert_true(cc.flags & CACHE_CC_NAMES);
    assert_true(cache_cc_names_field(&cc, "set-cookie", 10));
    assert_true(cache_cc_names_field(&cc, "X-FOO", 5));
    assert_false(cache_cc_names_field(&cc, "X-Bar", 5));
    assert_false(cache_cc_names_field(&cc, "Set", 3));
    cc = cc1("private=\"X-Secret\"");
    assert_false(cc.flags & CACHE_CC_PRIVATE);
    assert_true(cache_cc_names_field(&cc, "x-secret", 8));
    /* token form is accepted too (§5.2) */
    cc = cc1("no-cache=Set-Cookie");
    assert_true(cache_cc_names_field(&cc, "Set-Cookie", 10));
    assert_false(cc.flags & CACHE_CC_NO_CACHE);
    /* an empty list names nothing and does not make it unqualified */
    cc = cc1("no-cache=\"\"");
    assert_int_equal(cc.flags, 0);
    /* unqualified wins when both appear */
    cc = cc1("no-cache=\"a\", no-cache");
    assert_true(cc.flags & CACHE_CC_NO_CACHE);
    /* more lists than we track: the unqualified form, conservatively */
    cc = cc1("private=\"a\", private=\"b\", no-cache=\"c\", no-cache=\"d\", "
             "private=\"e\"");
    assert_true(cc.flags & CACHE_CC_PRIVATE);
    assert_false(cc.flags & CACHE_CC_NO_CACHE);
    cc = cc1("public");
    assert_false(cache_cc_names_field(&cc, "a", 1));
}

static void
test_cdn_cache_control_wins(void **state)
{
    /* RFC 9213 §3.1 examples */
    struct h1_field f1[] = { FLD("Cache-Control", "max-age=60, s-maxage=120"),
                             FLD("CDN-Cache-Control", "max-age=600") };
    struct h1_field f2[] = { FLD("CDN-Cache-Control", "max-age=600"),
                             FLD("Cache-Control", "no-store") };
    struct h1_field f3[] = { FLD("Cache-Control", "no-store"),
                             FLD("CDN-Cache-Control", "none") };
    struct cache_cc cc;

    (void)state;
    cache_cc_parse_response(&cc, f1, NF(f1), NULL);
    assert_int_equal(cc.source, CACHE_CC_SRC_CDN);
    assert_int_equal(cc.max_age_s, 600);
    assert_int_equal(cc.s_maxage_s, -1);
    cache_cc_parse_response(&cc, f2, NF(f2), NULL);
    assert_int_equal(cc.max_age_s, 600);
    assert_false(cc.flags & CACHE_CC_NO_STORE);
    cache_cc_parse_response(&cc, f3, NF(f3), NULL);
    assert_int_equal(cc.source, CACHE_CC_SRC_CDN);
    assert_int_equal(cc.flags, 0);
}

static void
test_target_list_order(void **state)
{
    struct cache_site_policy sp = { .target_field = "Strata-Cache-Control" };
    struct h1_field f[] = { FLD("Cache-Control", "max-age=1"),
                            FLD("Surrogate-Control", "max-age=2"),
                            FLD("CDN-Cache-Control", "max-age=3"),
                            FLD("strata-cache-control", "max-age=4") };
    struct cache_cc cc;

    (void)state;
    cache_cc_parse_response(&cc, f, 4, &sp);
    assert_int_equal(cc.source, CACHE_CC_SRC_NODE);
    assert_int_equal(cc.max_age_s, 4);
    cache_cc_parse_response(&cc, f, 3, &sp);
    assert_int_equal(cc.source, CACHE_CC_SRC_CDN);
    assert_int_equal(cc.max_age_s, 3);
    cache_cc_parse_response(&cc, f, 2, &sp);
    assert_int_equal(cc.source, CACHE_CC_SRC_SURROGATE);
    assert_int_equal(cc.max_age_s, 2);
    cache_cc_parse_response(&cc, f, 1, &sp);
    assert_int_equal(cc.source, CACHE_CC_SRC_CC);
    assert_int_equal(cc.max_age_s, 1);
    /* the node field means nothing to a node not configured for it */
    cache_cc_parse_response(&cc, f, 4, NULL);
    assert_int_equal(cc.source, CACHE_CC_SRC_CDN);
}

static void
assert_cdn_ignored(const char *v)
{
    struct h1_field f[] = { FLD("Cache-Control", "max-age=1"),
                            { .name = "CDN-Cache-Control", .name_len = 17,
                              .value = v, .value_len = (uint32_t)strlen(v) } };
    struct cache_cc cc;

    cache_cc_parse_response(&cc, f, 2, NULL);
    assert_int_equal(cc.source, CACHE_CC_SRC_CC);
    assert_int_equal(cc.max_age_s, 1);
}

static void
test_targeted_parse_errors_fall_back(void **state)
{
    (void)state;
    assert_cdn_ignored("");
    assert_cdn_ignored("Max-Age=60"); /* SF keys are lower case */
    assert_cdn_ignored("max-age=60,");
    assert_cdn_ignored(",max-age=60");
    assert_cdn_ignored("max-age=60;");
    assert_cdn_ignored("max-age=1234567890123456");
    assert_cdn_ignored("max-age=\"unterminated");
    assert_cdn_ignored("max-age=60 no-store");
    assert_cdn_ignored("max-age=?2");
    assert_cdn_ignored("max-age=1.2345");
    assert_cdn_ignored("no-cache=\"a\\b\"");
}

static void
test_targeted_sf_values(void **state)
{
    struct h1_field lines[] = { FLD("CDN-Cache-Control", "max-age=5"),
                                FLD("CDN-Cache-Control", "no-transform") };
    struct h1_field bad_line[] = { FLD("CDN-Cache-Control", "max-age=5"),
                                   FLD("CDN-Cache-Control", "X") };
    struct cache_cc cc;

    (void)state;
    cc = resp1("CDN-Cache-Control", "max-age=60;foo=1, no-cache=\"a, b\"");
    assert_int_equal(cc.max_age_s, 60);
    assert_true(cache_cc_names_field(&cc, "b", 1));
    assert_false(cc.flags & CACHE_CC_NO_CACHE);
    /* Dictionary: a repeated key overwrites */
    assert_int_equal(resp1("CDN-Cache-Control", "max-age=1, max-age=60")
                         .max_age_s, 60);
    /* well-formed SF, wrong type for max-age: invalid freshness */
    cc = resp1("CDN-Cache-Control", "max-age=1.5");
    assert_int_equal(cc.source, CACHE_CC_SRC_CDN);
    assert_true(cc.flags & CACHE_CC_INVALID);
    assert_true(resp1("CDN-Cache-Control", "max-age=\"60\"").flags &
                CACHE_CC_INVALID);
    assert_true(resp1("CDN-Cache-Control", "max-age=-5").flags &
                CACHE_CC_INVALID);
    assert_true(resp1("CDN-Cache-Control", "max-age=tok").flags &
                CACHE_CC_INVALID);
    assert_false(resp1("CDN-Cache-Control", "no-store=?0").flags &
                 CACHE_CC_NO_STORE);
    assert_true(resp1("CDN-Cache-Control", "no-store=?1").flags &
                CACHE_CC_NO_STORE);
    cc = resp1("CDN-Cache-Control",
               "x=(1 \"a\" b);p, y=:aGk=:, z=@1, w=%\"x%20\", public");
    assert_int_equal(cc.source, CACHE_CC_SRC_CDN);
    assert_int_equal(cc.flags, CACHE_CC_PUBLIC);
    assert_int_equal(resp1("CDN-Cache-Control", "max-age=99999999999")
                         .max_age_s, CACHE_DELTA_MAX);
    cache_cc_parse_response(&cc, lines, 2, NULL);
    assert_int_equal(cc.max_age_s, 5);
    assert_true(cc.flags & CACHE_CC_NO_TRANSFORM);
    cache_cc_parse_response(&cc, bad_line, 2, NULL);
    assert_int_equal(cc.source, CACHE_CC_SRC_NONE);
}

static void
test_surrogate_control(void **state)
{
    struct h1_field esi[] = { FLD("Surrogate-Control", "content=\"ESI/1.0\""),
                              FLD("Cache-Control", "max-age=60") };
    struct cache_cc cc;

    (void)state;
    cc = resp1("Surrogate-Control", "max-age=300");
    assert_int_equal(cc.source, CACHE_CC_SRC_SURROGATE);
    assert_int_equal(cc.max_age_s, 300);
    assert_int_equal(resp1("Surrogate-Control", "max-age=30+60").max_age_s,
                     30);
    assert_true(resp1("Surrogate-Control", "no-store-remote").flags &
                CACHE_CC_NO_STORE);
    /* aimed at another surrogate (ESI device token): not for us */
    cc = resp1("Surrogate-Control", "max-age=60;other, max-age=5");
    assert_int_equal(cc.max_age_s, 5);
    assert_false(cc.flags & CACHE_CC_INVALID);
    /* only about ESI: it says nothing about storing, Cache-Control rules */
    cache_cc_parse_response(&cc, esi, 2, NULL);
    assert_int_equal(cc.source, CACHE_CC_SRC_CC);
    assert_int_equal(cc.max_age_s, 60);
}

static void
test_ignore_cache_control_switch(void **state)
{
    struct cache_site_policy sp = { .ignore_cache_control = true };
    struct h1_field f[] = { FLD("Cache-Control", "private, no-store"),
                            FLD("CDN-Cache-Control", "max-age=9") };
    struct cache_cc cc;

    (void)state;
    cache_cc_parse_response(&cc, f, 1, &sp);
    assert_int_equal(cc.source, CACHE_CC_SRC_NONE);
    assert_int_equal(cc.flags, 0);
    cache_cc_parse_response(&cc, f, 2, &sp);
    assert_int_equal(cc.source, CACHE_CC_SRC_CDN);
    assert_int_equal(cc.max_age_s, 9);
}

static void
test_is_targeted(void **state)
{
    struct cache_site_policy sp = { .target_field = "Strata-Cache-Control" };

    (void)state;
    assert_true(cache_cc_is_targeted("cdn-cache-control", 17, NULL));
    assert_true(cache_cc_is_targeted("Surrogate-Control", 17, NULL));
    assert_false(cache_cc_is_targeted("Strata-Cache-Control", 20, NULL));
    assert_true(cache_cc_is_targeted("STRATA-CACHE-CONTROL", 20, &sp));
    assert_false(cache_cc_is_targeted("Cache-Control", 13, &sp));
}

static void
test_request_directives(void **state)
{
    struct cache_cc cc;

    (void)state;
    cc = req1("max-age=0");
    assert_int_equal(cc.max_age_s, 0);
    cc = req1("max-stale");
    assert_int_equal(cc.max_stale_s, CACHE_DELTA_MAX);
    assert_int_equal(req1("max-stale=30").max_stale_s, 30);
    assert_int_equal(req1("min-fresh=10").min_fresh_s, 10);
    assert_int_equal(req1("stale-if-error=60").sie_s, 60);
    cc = req1("no-cache, no-store, only-if-cached, no-transform");
    assert_int_equal(cc.flags, CACHE_CC_NO_CACHE | CACHE_CC_NO_STORE |
                                   CACHE_CC_ONLY_IF_CACHED |
                                   CACHE_CC_NO_TRANSFORM);
    /* invalid: max-age means 0 (validate), max-stale / min-fresh ignored */
    assert_int_equal(req1("max-age=abc").max_age_s, 0);
    assert_int_equal(req1("max-stale=-1").max_stale_s, -1);
    assert_int_equal(req1("min-fresh=1.5").min_fresh_s, -1);
}

static void
test_pragma(void **state)
{
    struct h1_field only[] = { FLD("Pragma", "foo, No-Cache") };
    struct h1_field both[] = { FLD("Pragma", "no-cache"),
                               FLD("Cache-Control", "max-age=5") };
    struct h1_field other[] = { FLD("Pragma", "no-cache-please") };
    struct cache_cc cc;

    (void)state;
    cache_cc_parse_request(&cc, only, 1, NULL);
    assert_true(cc.flags & CACHE_CC_NO_CACHE);
    /* §5.4: Pragma is ignored when Cache-Control is present */
    cache_cc_parse_request(&cc, both, 2, NULL);
    assert_false(cc.flags & CACHE_CC_NO_CACHE);
    assert_int_equal(cc.max_age_s, 5);
    cache_cc_parse_request(&cc, other, 1, NULL);
    assert_false(cc.flags & CACHE_CC_NO_CACHE);
    /* responses: Pragma means nothing */
    cache_cc_parse_response(&cc, only, 1, NULL);
    assert_int_equal(cc.flags, 0);
}

static void
test_ignore_request_cc(void **state)
{
    struct cache_site_policy sp = { .ignore_request_cc = true };
    struct h1_field f[] = { FLD("Cache-Control",
                                "no-cache, no-store, max-age=0, min-fresh=9, "
                                "max-stale=5, only-if-cached, "
                                "stale-if-error=7") };
    struct h1_field pragma[] = { FLD("Pragma", "no-cache") };
    struct cache_cc cc;

    (void)state;
    cache_cc_parse_request(&cc, f, 1, &sp);
    assert_int_equal(cc.flags, CACHE_CC_ONLY_IF_CACHED);
    assert_int_equal(cc.max_age_s, -1);
    assert_int_equal(cc.min_fresh_s, -1);
    assert_int_equal(cc.max_stale_s, 5);
    assert_int_equal(cc.sie_s, 7);
    cache_cc_parse_request(&cc, pragma, 1, &sp);
    assert_int_equal(cc.flags, 0);
}

/* Random field values in exact-size heap buffers: under ASan any read past
 * a value is caught. Only termination and sane outputs are checked. */
static void
test_garbage_never_overreads(void **state)
{
    static const char alpha[] = "\" ,=;\\()?:@%*-.+/0123456789amxAZ\t";
    static const char *const names[] = { "Cache-Control", "CDN-Cache-Control",
                                         "Surrogate-Control", "Pragma" };
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    unsigned bad = 0;

    (void)state;
    for (unsigned i = 0; i < 20000; i++) {
        size_t len;
        char *buf;
        struct h1_field f;
        struct cache_cc cc;

        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        len = (size_t)(seed >> 58); /* 0..63 */
        buf = malloc(len ? len : 1);
        assert_non_null(buf);
        for (size_t j = 0; j < len; j++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[j] = alpha[(seed >> 33) % (sizeof alpha - 1)];
        }
        f.name = names[i % 4];
        f.name_len = (uint32_t)strlen(f.name);
        f.value = buf;
        f.value_len = (uint32_t)len;
        cache_cc_parse_response(&cc, &f, 1, NULL);
        bad += cc.max_age_s < -1 || cc.max_age_s > CACHE_DELTA_MAX;
        bad += cc.n_names > CACHE_CC_MAX_NAMES;
        for (uint32_t k = 0; k < cc.n_names; k++)
            bad += cc.names[k].p < buf || cc.names[k].p + cc.names[k].len >
                                              buf + len;
        cache_cc_parse_request(&cc, &f, 1, NULL);
        bad += cc.max_stale_s < -1 || cc.max_stale_s > CACHE_DELTA_MAX;
        free(buf);
    }
    assert_int_equal(bad, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_fields),
        cmocka_unit_test(test_max_age_forms),
        cmocka_unit_test(test_max_age_invalid_is_stale),
        cmocka_unit_test(test_repeats),
        cmocka_unit_test(test_quoted_strings_hide_directives),
        cmocka_unit_test(test_every_flag),
        cmocka_unit_test(test_invalid_s_maxage_and_windows),
        cmocka_unit_test(test_unknown_and_empty_elements),
        cmocka_unit_test(test_lines_combine),
        cmocka_unit_test(test_qualified_lists),
        cmocka_unit_test(test_cdn_cache_control_wins),
        cmocka_unit_test(test_target_list_order),
        cmocka_unit_test(test_targeted_parse_errors_fall_back),
        cmocka_unit_test(test_targeted_sf_values),
        cmocka_unit_test(test_surrogate_control),
        cmocka_unit_test(test_ignore_cache_control_switch),
        cmocka_unit_test(test_is_targeted),
        cmocka_unit_test(test_request_directives),
        cmocka_unit_test(test_pragma),
        cmocka_unit_test(test_ignore_request_cc),
        cmocka_unit_test(test_garbage_never_overreads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
