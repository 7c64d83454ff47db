/*
 * The cache sections: top-level `cache:` with its `disk:` and each site's
 * `cache:` (keys in conf/schema.c, their converters in conf/value.c, the
 * checks between keys in conf/schema.c): values, defaults, query_ignore
 * patterns, and the exact report (FILE:LINE:COL) for each mistake.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "tests/unit/conf_test_util.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SITE "sites: [{name: s, hosts: \"*\", origin: \"127.0.0.1:9\"}]\n"
/* cache.disk keys start on line 4, column 5. */
#define DISK SITE "cache:\n  disk:\n"

#define load_ok conf_test_load_ok
#define expect_errors conf_test_expect_errors
#define expect_site_cache_errors conf_test_expect_site_cache_errors

/* Loads SITE_CACHE + keys (the site's cache section) + an origin. */
static struct conf *
load_site_cache(const char *keys)
{
    char yaml[2048];

    snprintf(yaml, sizeof yaml, SITE_CACHE "%s    origin: \"127.0.0.1:9\"\n",
             keys);
    return load_ok(yaml);
}

static void
test_defaults_when_left_out(void **state)
{
    static const char *const empty[] = { "", "cache:\n", "cache: {}\n",
                                         "cache: ~\n" };
    char yaml[256];
    struct conf *c;

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        snprintf(yaml, sizeof yaml, SITE "%s", empty[i]);
        c = load_ok(yaml);
        assert_true(c->cache.enabled);
        assert_int_equal(c->cache.memory, 256 * MIB);
        assert_int_equal(c->cache.max_object, 64 * MIB);
        assert_int_equal(c->cache.hit_for_pass_ms, 10000);
        assert_string_equal(c->cache.targeted_field, "Strata-Cache-Control");
        assert_true(c->cache.strip_targeted);
        conf_unref(&c);
    }
    c = load_site_cache("      enabled: false\n");
    assert_false(c->sites[0].cache.enabled);
    assert_int_equal(c->sites[0].cache.default_ttl_ms, -1);
    assert_int_equal(c->sites[0].cache.min_ttl_ms, -1);
    assert_int_equal(c->sites[0].cache.max_ttl_ms, -1);
    assert_int_equal(c->sites[0].cache.heuristic_max_ms, 86400000);
    assert_int_equal(c->sites[0].cache.query, CONF_QUERY_KEEP);
    assert_int_equal(c->sites[0].cache.n_query_ignore, 0);
    conf_unref(&c);
    c = load_site_cache("");  /* `cache:` left empty */
    assert_true(c->sites[0].cache.enabled);
    assert_int_equal(c->sites[0].cache.default_ttl_ms, -1);
    conf_unref(&c);
}

static void
test_top_level_keys(void **state)
{
    struct conf *c = load_ok(SITE "cache:\n"
                                  "  enabled: false\n"
                                  "  memory: 2GiB\n"
                                  "  max_object: 2GiB\n"
                                  "  hit_for_pass: 0s\n"
                                  "  targeted_field: Edge-Cache-Control\n"
                                  "  strip_targeted: no\n");

    (void)state;
    assert_false(c->cache.enabled);
    assert_int_equal(c->cache.memory, 2048 * MIB);
    assert_int_equal(c->cache.max_object, 2048 * MIB);
    assert_int_equal(c->cache.hit_for_pass_ms, 0);
    assert_string_equal(c->cache.targeted_field, "Edge-Cache-Control");
    assert_false(c->cache.strip_targeted);
    conf_unref(&c);
    c = load_ok(SITE "cache: {memory: 1MiB, max_object: 1, hit_for_pass: "
                     "24h, targeted_field: \"x-My_cc.1!\"}\n");
    assert_int_equal(c->cache.memory, MIB);
    assert_int_equal(c->cache.max_object, 1);
    assert_int_equal(c->cache.hit_for_pass_ms, 86400000);
    assert_string_equal(c->cache.targeted_field, "x-My_cc.1!");
    conf_unref(&c);
}

static void
test_site_keys(void **state)
{
    struct conf *c = load_site_cache("      enabled: off\n"
                                     "      default_ttl: 0s\n"
                                     "      min_ttl: 0\n"
                                     "      max_ttl: 1h\n"
                                     "      ignore_cache_control: true\n"
                                     "      stale_while_revalidate: 30s\n"
                                     "      stale_if_error: 1d\n"
                                     "      store_set_cookie: yes\n"
                                     "      query: sort\n"
                                     "      query_ignore: [utm_*, fbclid]\n"
                                     "      heuristic_max: 0s\n");
    const struct conf_site_cache *sc = &c->sites[0].cache;

    (void)state;
    assert_false(sc->enabled);
    assert_int_equal(sc->default_ttl_ms, 0);
    assert_int_equal(sc->min_ttl_ms, 0);
    assert_int_equal(sc->max_ttl_ms, 3600000);
    assert_true(sc->ignore_cache_control);
    assert_int_equal(sc->stale_while_revalidate_ms, 30000);
    assert_int_equal(sc->stale_if_error_ms, 86400000);
    assert_true(sc->store_set_cookie);
    assert_int_equal(sc->query, CONF_QUERY_SORT);
    assert_int_equal(sc->n_query_ignore, 2);
    assert_string_equal(sc->query_ignore[0], "utm_*");
    assert_string_equal(sc->query_ignore[1], "fbclid");
    assert_int_equal(sc->heuristic_max_ms, 0);
    conf_unref(&c);
}

static void
test_query_modes_and_long_lifetimes(void **state)
{
    struct conf *c = load_site_cache("      query: drop\n"
                                     "      max_ttl: 2147483648s\n"
                                     "      default_ttl: 365d\n"
                                     "      heuristic_max: 1d12h\n");

    (void)state;
    assert_int_equal(c->sites[0].cache.query, CONF_QUERY_DROP);
    assert_int_equal(c->sites[0].cache.max_ttl_ms, 2147483648000ll);
    assert_int_equal(c->sites[0].cache.default_ttl_ms, 365ll * 86400000);
    assert_int_equal(c->sites[0].cache.heuristic_max_ms, 36 * 3600000ll);
    conf_unref(&c);
    c = load_site_cache("      query: keep\n");
    assert_int_equal(c->sites[0].cache.query, CONF_QUERY_KEEP);
    conf_unref(&c);
}

/* Two sites keep their own rules. */
static void
test_sites_are_independent(void **state)
{
    struct conf *c = load_ok("sites:\n"
                             "  - name: a\n"
                             "    hosts: a.example\n"
                             "    origin: \"127.0.0.1:9\"\n"
                             "    cache: {max_ttl: 1m, query_ignore: x}\n"
                             "  - name: b\n"
                             "    hosts: b.example\n"
                             "    origin: \"127.0.0.1:9\"\n");

    (void)state;
    assert_int_equal(c->sites[0].cache.max_ttl_ms, 60000);
    assert_int_equal(c->sites[0].cache.n_query_ignore, 1);
    assert_string_equal(c->sites[0].cache.query_ignore[0], "x");
    assert_int_equal(c->sites[1].cache.max_ttl_ms, -1);
    assert_int_equal(c->sites[1].cache.n_query_ignore, 0);
    assert_null(c->sites[1].cache.query_ignore);
    conf_unref(&c);
}

static void
test_query_ignore_patterns(void **state)
{
    struct conf *c = load_site_cache("      query_ignore:\n"
                                     "        - utm_*\n"
                                     "        - \"%66bclid\"\n"
                                     "        - a%5bb%5d\n"
                                     "        - a%2A\n"
                                     "        - ut\n"
                                     "        - Fbclid\n");
    const struct conf_site_cache *sc = &c->sites[0].cache;

    (void)state;
    assert_int_equal(sc->n_query_ignore, 6);
    assert_string_equal(sc->query_ignore[0], "utm_*");
    assert_string_equal(sc->query_ignore[1], "fbclid");
    assert_string_equal(sc->query_ignore[2], "a%5Bb%5D");
    assert_string_equal(sc->query_ignore[3], "a%2A");
    assert_string_equal(sc->query_ignore[4], "ut"); /* not under utm_* */
    assert_string_equal(sc->query_ignore[5], "Fbclid");
    conf_unref(&c);
    c = load_site_cache("      query_ignore: gclid\n");
    assert_int_equal(c->sites[0].cache.n_query_ignore, 1);
    assert_string_equal(c->sites[0].cache.query_ignore[0], "gclid");
    conf_unref(&c);
    c = load_site_cache("      query_ignore: []\n");
    assert_int_equal(c->sites[0].cache.n_query_ignore, 0);
    conf_unref(&c);
}

static void
test_query_ignore_errors(void **state)
{
    (void)state;
    expect_site_cache_errors(
        "      query_ignore: [\"a=b\", \"a b\", \"*\", \"a*b\", \"%zz\", "
        "\"\"]\n",
        "t.yaml:5:22: sites[0].cache.query_ignore: bad parameter name "
        "'a=b': '=', '&' and '#' must be escaped (%3D, %26, %23)\n"
        "t.yaml:5:29: sites[0].cache.query_ignore: bad parameter name "
        "'a b': spaces, control characters and non-ASCII bytes must be "
        "escaped (%20 for a space)\n"
        "t.yaml:5:36: sites[0].cache.query_ignore: bad parameter name "
        "'*': '*' alone matches every parameter (use query: drop)\n"
        "t.yaml:5:41: sites[0].cache.query_ignore: bad parameter name "
        "'a*b': '*' is allowed only at the end (%2A for a literal '*')\n"
        "t.yaml:5:48: sites[0].cache.query_ignore: bad parameter name "
        "'%zz': '%' must start an escape of two hex digits (%25 for "
        "'%')\n"
        "t.yaml:5:55: sites[0].cache.query_ignore: bad parameter name '': "
        "a parameter name must be 1 to 128 bytes\n");
    expect_site_cache_errors(
        "      query_ignore: [fbclid, gclid, \"%66bclid\"]\n",
        "t.yaml:5:37: sites[0].cache.query_ignore: 'fbclid' is listed twice "
        "(first at 5:22)\n");
    expect_site_cache_errors(
        "      query_ignore: [utm_source, gclid, utm_*, utm_*, utm_s*]\n",
        "t.yaml:5:22: sites[0].cache.query_ignore: 'utm_source' is already "
        "matched by 'utm_*' (at 5:41)\n"
        "t.yaml:5:48: sites[0].cache.query_ignore: 'utm_*' is listed twice "
        "(first at 5:41)\n"
        "t.yaml:5:55: sites[0].cache.query_ignore: 'utm_s*' is already "
        "matched by 'utm_*' (at 5:41)\n");
    expect_site_cache_errors(
        "      query_ignore: [a*, a]\n",
        "t.yaml:5:26: sites[0].cache.query_ignore: 'a' is already matched "
        "by 'a*' (at 5:22)\n");
}

static void
test_query_ignore_types_and_bounds(void **state)
{
    char keys[1024] = "      query_ignore: [";
    struct conf *c;

    (void)state;
    expect_site_cache_errors(
        "      query_ignore:\n",
        "t.yaml:5:20: sites[0].cache.query_ignore has no value (expected a "
        "parameter name)\n");
    expect_site_cache_errors(
        "      query_ignore: {a: 1}\n",
        "t.yaml:5:21: sites[0].cache.query_ignore must be a list, not a "
        "mapping\n");
    expect_site_cache_errors(
        "      query_ignore: [[a], ~]\n",
        "t.yaml:5:22: sites[0].cache.query_ignore must be a parameter name, "
        "not a list\n"
        "t.yaml:5:27: sites[0].cache.query_ignore has no value (expected a "
        "parameter name)\n");
    for (int i = 0; i < 65; i++)
        snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%sp%d",
                 i ? ", " : "", i);
    strcat(keys, "]\n");
    expect_site_cache_errors(keys, "t.yaml:5:21: sites[0].cache.query_ignore: "
                                   "at most 64 names, not 65\n");
    strcpy(strstr(keys, ", p64]"), "]\n");
    c = load_site_cache(keys);
    assert_int_equal(c->sites[0].cache.n_query_ignore, 64);
    assert_string_equal(c->sites[0].cache.query_ignore[63], "p63");
    conf_unref(&c);
}

static void
test_ranges(void **state)
{
    (void)state;
    expect_errors(SITE "cache:\n  memory: 1023KiB\n",
                  "t.yaml:3:11: cache.memory must be at least 1MiB, not "
                  "'1023KiB'\n");
    expect_errors(SITE "cache:\n  max_object: 0\n",
                  "t.yaml:3:15: cache.max_object must be at least 1B, not "
                  "'0'\n");
    expect_errors(SITE "cache:\n  hit_for_pass: 1d1ms\n",
                  "t.yaml:3:17: cache.hit_for_pass must be in 0s..24h, not "
                  "'1d1ms'\n");
    expect_errors(SITE "cache:\n  memory: 99999999999TiB\n",
                  "t.yaml:3:11: cache.memory: '99999999999TiB' is not a "
                  "size: too large\n");
    expect_site_cache_errors(
        "      max_ttl: 2147483649s\n"
        "      stale_if_error: 24856d\n"
        "      heuristic_max: -1s\n",
        "t.yaml:5:16: sites[0].cache.max_ttl must be in 0s..2147483648s, "
        "not '2147483649s'\n"
        "t.yaml:6:23: sites[0].cache.stale_if_error must be in "
        "0s..2147483648s, not '24856d'\n"
        "t.yaml:7:22: sites[0].cache.heuristic_max: '-1s' is not a "
        "duration: expected a number with a unit (ms, s, m, h, d)\n");
}

static void
test_bad_values(void **state)
{
    (void)state;
    expect_errors(SITE "cache:\n  enabled: maybe\n",
                  "t.yaml:3:12: cache.enabled must be true or false, not "
                  "'maybe'\n");
    expect_errors(SITE "cache:\n  targeted_field: Strata Cache\n",
                  "t.yaml:3:19: cache.targeted_field: 'Strata Cache' is not "
                  "a field name (1 to 64 of A-Z a-z 0-9 ! # $ % & ' * + - . "
                  "^ _ ` | ~)\n");
    expect_errors(SITE "cache:\n  targeted_field: \"Strata:CC\"\n",
                  "t.yaml:3:19: cache.targeted_field: 'Strata:CC' is not a "
                  "field name (1 to 64 of A-Z a-z 0-9 ! # $ % & ' * + - . "
                  "^ _ ` | ~)\n");
    expect_errors(SITE "cache:\n  targeted_field: cdn-cache-control\n",
                  "t.yaml:3:19: cache.targeted_field: CDN-Cache-Control is "
                  "always read; name a field of this node's own, such as "
                  "Strata-Cache-Control\n");
    expect_errors(SITE "cache:\n  targeted_field: Cache-Control\n",
                  "t.yaml:3:19: cache.targeted_field: Cache-Control is "
                  "always read; name a field of this node's own, such as "
                  "Strata-Cache-Control\n");
    expect_errors(SITE "cache:\n  targeted_field: Surrogate-Control\n",
                  "t.yaml:3:19: cache.targeted_field: Surrogate-Control is "
                  "always read; name a field of this node's own, such as "
                  "Strata-Cache-Control\n");
    expect_site_cache_errors(
        "      query: sorted\n"
        "      store_set_cookie: 1\n"
        "      default_ttl: 1 week\n",
        "t.yaml:5:14: sites[0].cache.query must be keep, sort or drop, not "
        "'sorted' (did you mean 'sort'?)\n"
        "t.yaml:6:25: sites[0].cache.store_set_cookie must be true or "
        "false, not '1'\n"
        "t.yaml:7:20: sites[0].cache.default_ttl: '1 week' is not a "
        "duration: expected a number with a unit (ms, s, m, h, d)\n");
    expect_site_cache_errors(
        "      query: all\n",
        "t.yaml:5:14: sites[0].cache.query must be keep, sort or drop, not "
        "'all'\n");
}

static void
test_unknown_keys_and_types(void **state)
{
    (void)state;
    expect_errors(SITE "cache:\n  memroy: 1GiB\n  colour: blue\n",
                  "t.yaml:3:3: unknown key 'memroy' in cache (did you mean "
                  "'memory'?)\n"
                  "t.yaml:4:3: unknown key 'colour' in cache\n");
    expect_errors(SITE "cache:\n  max_ttl: 1h\n  query: sort\n",
                  "t.yaml:3:3: unknown key 'max_ttl' in cache (it goes in "
                  "sites[].cache)\n"
                  "t.yaml:4:3: unknown key 'query' in cache (it goes in "
                  "sites[].cache)\n");
    expect_site_cache_errors(
        "      memory: 1GiB\n"
        "      enabled: true\n",
        "t.yaml:5:7: unknown key 'memory' in site cache (it goes in the "
        "top-level cache)\n");
    expect_errors(SITE "cahce: {}\n",
                  "t.yaml:2:1: unknown key 'cahce' at top level (did you "
                  "mean 'cache'?)\n");
    expect_site_cache_errors(
        "      max_tll: 1h\n"
        "      max_ttl: 1h\n"
        "      max_ttl: 2h\n",
        "t.yaml:5:7: unknown key 'max_tll' in site cache (did you mean "
        "'max_ttl'?)\n"
        "t.yaml:7:7: duplicate key 'max_ttl' (first at 6:7)\n");
    expect_errors(SITE "cache: 5\n",
                  "t.yaml:2:8: cache must be a mapping, not a scalar\n");
    expect_errors("sites: [{name: s, hosts: a, origin: \"1.2.3.4:5\", "
                  "cache: [a]}]\n",
                  "t.yaml:1:57: sites[0].cache must be a mapping, not a "
                  "list\n");
    expect_errors(SITE "cache: {targeted_field: [a], memory: {}}\n",
                  "t.yaml:2:25: cache.targeted_field must be a field name, "
                  "not a list\n"
                  "t.yaml:2:38: cache.memory must be a size, not a "
                  "mapping\n");
    expect_site_cache_errors(
        "      query:\n"
        "      min_ttl: ~\n",
        "t.yaml:5:13: sites[0].cache.query has no value (expected keep, "
        "sort or drop)\n"
        "t.yaml:6:16: sites[0].cache.min_ttl has no value (expected a "
        "duration)\n");
}

static void
test_max_object_fits_memory(void **state)
{
    (void)state;
    expect_errors(SITE "cache:\n  max_object: 512MiB\n",
                  "t.yaml:3:15: cache.max_object (512MiB) must not exceed "
                  "cache.memory (256MiB)\n");
    expect_errors(SITE "cache:\n  memory: 32MiB\n",
                  "t.yaml:3:11: cache.max_object (64MiB) must not exceed "
                  "cache.memory (32MiB)\n");
    expect_errors(SITE "cache:\n  memory: 1MiB\n  max_object: 1025KiB\n",
                  "t.yaml:4:15: cache.max_object (1025KiB) must not exceed "
                  "cache.memory (1MiB)\n");
}

static void
test_ttl_order(void **state)
{
    struct conf *c;

    (void)state;
    expect_site_cache_errors(
        "      max_ttl: 1m\n"
        "      min_ttl: 2m\n",
        "t.yaml:6:16: sites[0].cache.min_ttl (2m) must not exceed "
        "sites[0].cache.max_ttl (1m)\n");
    expect_site_cache_errors(
        "      min_ttl: 1m\n"
        "      default_ttl: 30s\n",
        "t.yaml:6:20: sites[0].cache.default_ttl (30s) must be at least "
        "sites[0].cache.min_ttl (1m)\n");
    expect_site_cache_errors(
        "      default_ttl: 1d\n"
        "      max_ttl: 1h\n",
        "t.yaml:5:20: sites[0].cache.default_ttl (24h) must not exceed "
        "sites[0].cache.max_ttl (1h)\n");
    c = load_site_cache("      min_ttl: 1h\n"
                        "      max_ttl: 60m\n"
                        "      default_ttl: 3600s\n");
    assert_int_equal(c->sites[0].cache.min_ttl_ms, 3600000);
    assert_int_equal(c->sites[0].cache.max_ttl_ms, 3600000);
    conf_unref(&c);
    c = load_site_cache("      min_ttl: 1h\n"
                        "      default_ttl: 2h\n");
    assert_int_equal(c->sites[0].cache.default_ttl_ms, 7200000);
    conf_unref(&c);
    c = load_site_cache("      max_ttl: 0s\n"
                        "      default_ttl: 0s\n");
    assert_int_equal(c->sites[0].cache.max_ttl_ms, 0);
    conf_unref(&c);
}

/* Each site is checked, and all such mistakes are listed at once. */
static void
test_cross_checks_all_sites(void **state)
{
    (void)state;
    expect_errors("cache: {memory: 8MiB, max_object: 9MiB}\n"
                  "sites:\n"
                  "  - name: a\n"
                  "    hosts: a.example\n"
                  "    origin: \"127.0.0.1:9\"\n"
                  "    cache: {min_ttl: 2s, max_ttl: 1s}\n"
                  "  - name: b\n"
                  "    hosts: b.example\n"
                  "    origin: \"127.0.0.1:9\"\n"
                  "  - name: c\n"
                  "    hosts: c.example\n"
                  "    origin: \"127.0.0.1:9\"\n"
                  "    cache: {max_ttl: 1500ms, default_ttl: 2s}\n",
                  "t.yaml:1:35: cache.max_object (9MiB) must not exceed "
                  "cache.memory (8MiB)\n"
                  "t.yaml:6:22: sites[0].cache.min_ttl (2s) must not exceed "
                  "sites[0].cache.max_ttl (1s)\n"
                  "t.yaml:13:43: sites[2].cache.default_ttl (2s) must not "
                  "exceed sites[2].cache.max_ttl (1500ms)\n");
}

/* A bad value keeps its default, so checks between keys wait for a file
 * without other mistakes rather than compare with that default. */
static void
test_cross_checks_wait_for_valid_values(void **state)
{
    (void)state;
    expect_errors(SITE "cache:\n  memory: 1KiB\n  max_object: 512MiB\n",
                  "t.yaml:3:11: cache.memory must be at least 1MiB, not "
                  "'1KiB'\n");
    expect_site_cache_errors(
        "      min_ttl: 2m\n"
        "      max_ttl: 1m\n"
        "      query: all\n",
        "t.yaml:7:14: sites[0].cache.query must be keep, sort or drop, not "
        "'all'\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_when_left_out),
        cmocka_unit_test(test_top_level_keys),
        cmocka_unit_test(test_site_keys),
        cmocka_unit_test(test_query_modes_and_long_lifetimes),
        cmocka_unit_test(test_sites_are_independent),
        cmocka_unit_test(test_query_ignore_patterns),
        cmocka_unit_test(test_query_ignore_errors),
        cmocka_unit_test(test_query_ignore_types_and_bounds),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_unknown_keys_and_types),
        cmocka_unit_test(test_max_object_fits_memory),
        cmocka_unit_test(test_ttl_order),
        cmocka_unit_test(test_cross_checks_all_sites),
        cmocka_unit_test(test_cross_checks_wait_for_valid_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
