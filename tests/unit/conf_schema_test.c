/*
 * conf/schema.c: every key, its type and range, and the exact report
 * (FILE:LINE:COL) for each kind of mistake, several at once.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "tests/unit/conf_test_util.h"

/* One line, so the keys under test start on line 2. */
#define SITE "sites: [{name: s, hosts: \"*\", origin: \"127.0.0.1:9\"}]\n"

#define load_ok conf_test_load_ok
#define expect_errors conf_test_expect_errors

static const char every_key[] =
    "workers: 3\n"
    "node_id: edge-fra-1\n"
    "log:\n"
    "  level: debug\n"
    "  access_log: /var/log/strata/access.log\n"
    "data_dir: /srv/strata\n"
    "drain_timeout: 1m30s\n"
    "listen: [\"0.0.0.0:80\", \"[::]:80\", \"localhost:8080\"]\n"
    "limits:\n"
    "  request_line: 4KiB\n"
    "  field_line: 2k\n"
    "  header_section: 64KiB\n"
    "  fields: 50\n"
    "  request_body: 0\n"
    "  header_timeout: 5s\n"
    "  idle_timeout: 2m\n"
    "  body_timeout: 15\n"
    "  send_timeout: 500ms\n"
    "  max_connections: 1\n"
    "upstream:\n"
    "  connect_timeout: 1s\n"
    "  read_timeout: 1h\n"
    "  write_timeout: 45s\n"
    "  keepalive: 0\n"
    "  keepalive_timeout: 24h\n"
    "cache:\n"
    "  enabled: false\n"
    "  memory: 1GiB\n"
    "  max_object: 100MiB\n"
    "  hit_for_pass: 2s\n"
    "  targeted_field: Fra-Cache-Control\n"
    "  strip_targeted: false\n"
    "sites:\n"
    "  - name: a\n"
    "    hosts: [a.example.com, \"*.A.example.com\"]\n"
    "    origin: [\"10.0.0.1:80\", \"[2001:db8::1]:8080\"]\n"
    "    trust_forwarded: true\n"
    "    cache:\n"
    "      enabled: false\n"
    "      default_ttl: 5m\n"
    "      min_ttl: 1m\n"
    "      max_ttl: 1d\n"
    "      ignore_cache_control: true\n"
    "      stale_while_revalidate: 10s\n"
    "      stale_if_error: 1h\n"
    "      store_set_cookie: true\n"
    "      query: drop\n"
    "      query_ignore: [utm_*, fbclid, gclid]\n"
    "      heuristic_max: 12h\n"
    "  - name: b\n"
    "    hosts: \"*\"\n"
    "    origin: \"10.0.0.2:80\"\n"
    "default_site: b\n";

static void
assert_top(const struct conf *c)
{
    assert_int_equal(c->workers, 3);
    assert_string_equal(c->node_id, "edge-fra-1");
    assert_int_equal(c->log_level, LOG_LVL_DEBUG);
    assert_string_equal(c->access_log, "/var/log/strata/access.log");
    assert_string_equal(c->data_dir, "/srv/strata");
    assert_int_equal(c->drain_timeout_ms, 90000);
    assert_int_equal(c->n_listen, 3);
    assert_string_equal(c->listen[0].text, "0.0.0.0:80");
    assert_string_equal(c->listen[1].text, "[::]:80");
    assert_string_equal(c->listen[2].text, "127.0.0.1:8080");
}

static void
assert_limits(const struct conf *c)
{
    assert_int_equal(c->limits.request_line, 4096);
    assert_int_equal(c->limits.field_line, 2048);
    assert_int_equal(c->limits.header_section, 65536);
    assert_int_equal(c->limits.fields, 50);
    assert_int_equal(c->limits.request_body, 0);
    assert_int_equal(c->limits.header_timeout_ms, 5000);
    assert_int_equal(c->limits.idle_timeout_ms, 120000);
    assert_int_equal(c->limits.body_timeout_ms, 15000);
    assert_int_equal(c->limits.send_timeout_ms, 500);
    assert_int_equal(c->limits.max_connections, 1);
    assert_int_equal(c->upstream.connect_timeout_ms, 1000);
    assert_int_equal(c->upstream.read_timeout_ms, 3600000);
    assert_int_equal(c->upstream.write_timeout_ms, 45000);
    assert_int_equal(c->upstream.keepalive, 0);
    assert_int_equal(c->upstream.keepalive_timeout_ms, 86400000);
}

static void
assert_sites(const struct conf *c)
{
    assert_int_equal(c->n_sites, 2);
    assert_string_equal(c->sites[0].name, "a");
    assert_int_equal(c->sites[0].n_hosts, 2);
    assert_string_equal(c->sites[0].hosts[0], "a.example.com");
    assert_string_equal(c->sites[0].hosts[1], "*.a.example.com");
    assert_int_equal(c->sites[0].n_origins, 2);
    assert_string_equal(c->sites[0].origins[0].text, "10.0.0.1:80");
    assert_string_equal(c->sites[0].origins[1].text, "[2001:db8::1]:8080");
    assert_true(c->sites[0].trust_forwarded);
    assert_string_equal(c->sites[1].name, "b");
    assert_int_equal(c->sites[1].n_hosts, 1);
    assert_string_equal(c->sites[1].hosts[0], "*");
    assert_int_equal(c->sites[1].n_origins, 1);
    assert_false(c->sites[1].trust_forwarded);
    assert_int_equal(c->default_site, 1);
}

static void
assert_cache(const struct conf *c)
{
    const struct conf_site_cache *a = &c->sites[0].cache;

    assert_false(c->cache.enabled);
    assert_int_equal(c->cache.memory, 1ull << 30);
    assert_int_equal(c->cache.max_object, 100ull << 20);
    assert_int_equal(c->cache.hit_for_pass_ms, 2000);
    assert_string_equal(c->cache.targeted_field, "Fra-Cache-Control");
    assert_false(c->cache.strip_targeted);
    assert_false(a->enabled);
    assert_int_equal(a->default_ttl_ms, 300000);
    assert_int_equal(a->min_ttl_ms, 60000);
    assert_int_equal(a->max_ttl_ms, 86400000);
    assert_true(a->ignore_cache_control);
    assert_int_equal(a->stale_while_revalidate_ms, 10000);
    assert_int_equal(a->stale_if_error_ms, 3600000);
    assert_true(a->store_set_cookie);
    assert_int_equal(a->query, CONF_QUERY_DROP);
    assert_int_equal(a->n_query_ignore, 3);
    assert_string_equal(a->query_ignore[0], "utm_*");
    assert_string_equal(a->query_ignore[1], "fbclid");
    assert_string_equal(a->query_ignore[2], "gclid");
    assert_int_equal(a->heuristic_max_ms, 43200000);
    assert_true(c->sites[1].cache.enabled); /* b keeps the defaults */
    assert_int_equal(c->sites[1].cache.max_ttl_ms, -1);
}

static void
test_every_key(void **state)
{
    struct conf *c = load_ok(every_key);

    (void)state;
    assert_top(c);
    assert_limits(c);
    assert_sites(c);
    assert_cache(c);
    conf_unref(&c);
}

static void
test_big_values(void **state)
{
    struct conf *c = load_ok(SITE "workers: 256\n"
                                  "limits:\n"
                                  "  request_body: 16TiB\n"
                                  "  request_line: 1MiB\n"
                                  "  field_line: 256\n"
                                  "  header_section: 16MiB\n"
                                  "  fields: 10000\n"
                                  "  max_connections: 1000000\n"
                                  "upstream: {keepalive: 10000}\n");

    (void)state;
    assert_int_equal(c->workers, 256);
    assert_int_equal(c->limits.request_body, 16ull << 40);
    assert_int_equal(c->limits.request_line, 1 << 20);
    assert_int_equal(c->limits.field_line, 256);
    assert_int_equal(c->limits.header_section, 16 << 20);
    assert_int_equal(c->limits.fields, 10000);
    assert_int_equal(c->limits.max_connections, 1000000);
    assert_int_equal(c->upstream.keepalive, 10000);
    conf_unref(&c);
}

static void
test_log_levels_and_access_log(void **state)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    static const char *const off[] = { "off", "", "~", "null" };
    char yaml[256];
    struct conf *c;

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        snprintf(yaml, sizeof yaml, SITE "log: {level: %s}\n", names[i]);
        c = load_ok(yaml);
        assert_int_equal(c->log_level, (enum log_level)i);
        conf_unref(&c);
    }
    for (size_t i = 0; i < 4; i++) {
        snprintf(yaml, sizeof yaml, SITE "log:\n  access_log: %s\n", off[i]);
        c = load_ok(yaml);
        assert_null(c->access_log);
        conf_unref(&c);
    }
    c = load_ok(SITE "log: {access_log: \"./off\"}\n");
    assert_string_equal(c->access_log, "./off");
    conf_unref(&c);
}

static void
test_booleans(void **state)
{
    static const char *const yes[] = { "true", "True", "yes", "on", "TRUE" };
    static const char *const no[] = { "false", "False", "no", "off" };
    char yaml[256];
    struct conf *c;

    (void)state;
    for (size_t i = 0; i < 5; i++) {
        snprintf(yaml, sizeof yaml,
                 "sites: [{name: s, hosts: a, origin: \"1.2.3.4:5\", "
                 "trust_forwarded: %s}]\n", yes[i]);
        c = load_ok(yaml);
        assert_true(c->sites[0].trust_forwarded);
        conf_unref(&c);
    }
    for (size_t i = 0; i < 4; i++) {
        snprintf(yaml, sizeof yaml,
                 "sites: [{name: s, hosts: a, origin: \"1.2.3.4:5\", "
                 "trust_forwarded: %s}]\n", no[i]);
        c = load_ok(yaml);
        assert_false(c->sites[0].trust_forwarded);
        conf_unref(&c);
    }
}

static void
test_single_item_lists_and_empty_sections(void **state)
{
    struct conf *c = load_ok(SITE "listen: \"[::1]:8443\"\n"
                                  "limits:\n"
                                  "upstream: ~\n"
                                  "log: {}\n");

    (void)state;
    assert_int_equal(c->n_listen, 1);
    assert_string_equal(c->listen[0].text, "[::1]:8443");
    assert_int_equal(c->limits.fields, 100);
    assert_int_equal(c->upstream.keepalive, 32);
    conf_unref(&c);
}

static void
test_quoted_numbers_are_fine(void **state)
{
    struct conf *c = load_ok(SITE "workers: \"4\"\n"
                                  "limits: {request_line: '1 KiB'}\n");

    (void)state;
    assert_int_equal(c->workers, 4);
    assert_int_equal(c->limits.request_line, 1024);
    conf_unref(&c);
}

static void
test_unknown_keys(void **state)
{
    (void)state;
    expect_errors(SITE "wrokers: 2\n",
                  "t.yaml:2:1: unknown key 'wrokers' at top level (did you "
                  "mean 'workers'?)\n");
    expect_errors(SITE "colour: blue\n",
                  "t.yaml:2:1: unknown key 'colour' at top level\n");
    expect_errors(SITE "log:\n  levle: info\n",
                  "t.yaml:3:3: unknown key 'levle' in log (did you mean "
                  "'level'?)\n");
    expect_errors(SITE "limits:\n  request_lines: 1KiB\n",
                  "t.yaml:3:3: unknown key 'request_lines' in limits (did "
                  "you mean 'request_line'?)\n");
    expect_errors(SITE "upstream:\n  keep_alive: 2\n",
                  "t.yaml:3:3: unknown key 'keep_alive' in upstream (did "
                  "you mean 'keepalive'?)\n");
    expect_errors("sites:\n"
                  "  - name: demo\n"
                  "    hosts: [\"*\"]\n"
                  "    origin: [\"127.0.0.1:8081\"]\n"
                  "    origns: [\"127.0.0.1:8082\"]\n",
                  "t.yaml:5:5: unknown key 'origns' in site (did you mean "
                  "'origin'?)\n");
    expect_errors(SITE "Workers: 2\n",
                  "t.yaml:2:1: unknown key 'Workers' at top level (did you "
                  "mean 'workers'?)\n");
    expect_errors(SITE "\"a\\tb\": 1\n",
                  "t.yaml:2:1: unknown key 'a?b' at top level\n");
}

static void
test_duplicate_keys(void **state)
{
    (void)state;
    expect_errors(SITE "workers: 2\nworkers: 3\n",
                  "t.yaml:3:1: duplicate key 'workers' (first at 2:1)\n");
    expect_errors(SITE "limits:\n  fields: 1\n  fields: 2\n",
                  "t.yaml:4:3: duplicate key 'fields' (first at 3:3)\n");
    expect_errors("sites:\n"
                  "  - {name: a, hosts: x, origin: \"1.2.3.4:5\", name: b}\n",
                  "t.yaml:2:46: duplicate key 'name' (first at 2:6)\n");
}

static void
test_wrong_node_types(void **state)
{
    (void)state;
    expect_errors(SITE "limits: 5\n",
                  "t.yaml:2:9: limits must be a mapping, not a scalar\n");
    expect_errors(SITE "log: [info]\n",
                  "t.yaml:2:6: log must be a mapping, not a list\n");
    expect_errors(SITE "workers: [1]\n",
                  "t.yaml:2:10: workers must be an integer, not a list\n");
    expect_errors(SITE "limits: {request_line: {a: 1}}\n",
                  "t.yaml:2:24: limits.request_line must be a size, not a "
                  "mapping\n");
    expect_errors(SITE "drain_timeout: []\n",
                  "t.yaml:2:16: drain_timeout must be a duration, not a "
                  "list\n");
    expect_errors(SITE "listen: {a: 1}\n",
                  "t.yaml:2:9: listen must be a list, not a mapping\n");
    expect_errors(SITE "listen: [[\"1.2.3.4:5\"]]\n",
                  "t.yaml:2:10: listen must be an address, not a list\n");
    expect_errors(SITE "node_id: {a: b}\n",
                  "t.yaml:2:10: node_id must be a name, not a mapping\n");
    expect_errors(SITE "data_dir: [a]\n",
                  "t.yaml:2:11: data_dir must be a path, not a list\n");
    expect_errors(SITE "default_site: [s]\n",
                  "t.yaml:2:15: default_site must be a site name, not a "
                  "list\n");
    expect_errors(SITE "? [a, b]\n: 1\n",
                  "t.yaml:2:3: a key must be a name, not a list\n");
}

static void
test_missing_values(void **state)
{
    (void)state;
    expect_errors(SITE "workers:\n",
                  "t.yaml:2:9: workers has no value (expected an "
                  "integer)\n");
    expect_errors(SITE "limits:\n  header_timeout: ~\n",
                  "t.yaml:3:19: limits.header_timeout has no value "
                  "(expected a duration)\n");
    expect_errors(SITE "data_dir: \"\"\n",
                  "t.yaml:2:11: data_dir: path must be 1 to 4095 bytes\n");
    expect_errors(SITE "listen:\n",
                  "t.yaml:2:8: listen has no value (expected an "
                  "address)\n");
    expect_errors("sites:\n  - name: a\n    hosts:\n    origin: ~\n",
                  "t.yaml:3:11: sites[0].hosts has no value (expected a "
                  "host pattern)\n"
                  "t.yaml:4:13: sites[0].origin has no value (expected an "
                  "address)\n");
    expect_errors(SITE "log: {level: }\n",
                  "t.yaml:2:14: log.level has no value (expected a log "
                  "level)\n");
}

static void
test_ranges(void **state)
{
    (void)state;
    expect_errors(SITE "workers: 0\n",
                  "t.yaml:2:10: workers must be in 1..256, not '0'\n");
    expect_errors(SITE "workers: 257\n",
                  "t.yaml:2:10: workers must be in 1..256, not '257'\n");
    expect_errors(SITE "workers: 2.5\n",
                  "t.yaml:2:10: workers: '2.5' is not an integer: expected "
                  "digits\n");
    expect_errors(SITE "workers: 99999999999999999999\n",
                  "t.yaml:2:10: workers: '99999999999999999999' is not an "
                  "integer: too large\n");
    expect_errors(SITE "limits:\n  request_line: 255\n",
                  "t.yaml:3:17: limits.request_line must be in 256B..1MiB, "
                  "not '255'\n");
    expect_errors(SITE "limits:\n  header_section: 17MiB\n",
                  "t.yaml:3:19: limits.header_section must be in "
                  "1KiB..16MiB, not '17MiB'\n");
    expect_errors(SITE "limits:\n  fields: 10001\n",
                  "t.yaml:3:11: limits.fields must be in 1..10000, not "
                  "'10001'\n");
    expect_errors(SITE "limits:\n  max_connections: 0\n",
                  "t.yaml:3:20: limits.max_connections must be in "
                  "1..1000000, not '0'\n");
    expect_errors(SITE "limits:\n  idle_timeout: 0s\n",
                  "t.yaml:3:17: limits.idle_timeout must be in 1ms..24h, "
                  "not '0s'\n");
    expect_errors(SITE "upstream:\n  read_timeout: 25h\n",
                  "t.yaml:3:17: upstream.read_timeout must be in 1ms..24h, "
                  "not '25h'\n");
    expect_errors(SITE "upstream:\n  keepalive: 10001\n",
                  "t.yaml:3:14: upstream.keepalive must be in 0..10000, not "
                  "'10001'\n");
    expect_errors(SITE "limits:\n  request_body: 99999999999TiB\n",
                  "t.yaml:3:17: limits.request_body: '99999999999TiB' is "
                  "not a size: too large\n");
}

static void
test_bad_values(void **state)
{
    (void)state;
    expect_errors(SITE "limits:\n  request_line: 8XB\n",
                  "t.yaml:3:17: limits.request_line: '8XB' is not a size: "
                  "unknown unit (use B, KiB, MiB, GiB or TiB)\n");
    expect_errors(SITE "drain_timeout: 10 sec\n",
                  "t.yaml:2:16: drain_timeout: '10 sec' is not a duration: "
                  "expected a number with a unit (ms, s, m, h, d)\n");
    expect_errors(SITE "node_id: edge fra\n",
                  "t.yaml:2:10: node_id: 'edge fra' is not a name (1 to 64 "
                  "of A-Z a-z 0-9 . _ -)\n");
    expect_errors(SITE "log: {level: verbose}\n",
                  "t.yaml:2:14: log.level must be error, warn, info or "
                  "debug, not 'verbose'\n");
    expect_errors("sites: [{name: s, hosts: a, origin: \"1.2.3.4:5\", "
                  "trust_forwarded: maybe}]\n",
                  "t.yaml:1:67: sites[0].trust_forwarded must be true or "
                  "false, not 'maybe'\n");
}

static void
test_listen_addresses(void **state)
{
    (void)state;
    expect_errors(SITE "listen: []\n",
                  "t.yaml:2:9: listen must not be empty\n");
    expect_errors(SITE "listen: [\"1.2.3.4:80\", \"1.2.3.4:080\"]\n",
                  "t.yaml:2:24: listen: '1.2.3.4:080' is listed twice\n");
    expect_errors(SITE "listen:\n"
                       "  - 127.0.0.1:0\n"
                       "  - \"::1:80\"\n"
                       "  - www.example.com:80\n",
                  "t.yaml:3:5: listen: bad address '127.0.0.1:0': port "
                  "must be a number in 1..65535\n"
                  "t.yaml:4:5: listen: bad address '::1:80': IPv6 addresses "
                  "go in brackets, e.g. [::1]:8080\n"
                  "t.yaml:5:5: listen: bad address 'www.example.com:80': "
                  "host must be an IP address or localhost (names are not "
                  "resolved)\n");
}

static void
test_field_line_fits_header_section(void **state)
{
    (void)state;
    expect_errors(SITE "limits:\n  field_line: 64KiB\n",
                  "t.yaml:3:15: limits.field_line (64KiB) must not exceed "
                  "limits.header_section (32KiB)\n");
    expect_errors(SITE "limits:\n  header_section: 4KiB\n",
                  "t.yaml:3:19: limits.field_line (8KiB) must not exceed "
                  "limits.header_section (4KiB)\n");
}

/* Every mistake is reported, in file order, whatever the walk order. */
static void
test_many_errors_at_once(void **state)
{
    (void)state;
    expect_errors("default_site: nope\n"
                  "workers: 0\n"
                  "log:\n"
                  "  level: loud\n"
                  "  acess_log: off\n"
                  "limits: {fields: 0, idle_timeout: soon}\n"
                  "listen: [\"1.2.3.4\"]\n"
                  "sites:\n"
                  "  - name: a\n"
                  "    hosts: [\"*foo\"]\n"
                  "    origin: [\"127.0.0.1:99999\"]\n"
                  "    extra: 1\n",
                  "t.yaml:1:15: default_site 'nope' is not a site's name\n"
                  "t.yaml:2:10: workers must be in 1..256, not '0'\n"
                  "t.yaml:4:10: log.level must be error, warn, info or "
                  "debug, not 'loud'\n"
                  "t.yaml:5:3: unknown key 'acess_log' in log (did you mean "
                  "'access_log'?)\n"
                  "t.yaml:6:18: limits.fields must be in 1..10000, not "
                  "'0'\n"
                  "t.yaml:6:35: limits.idle_timeout: 'soon' is not a "
                  "duration: expected a number with a unit (ms, s, m, h, "
                  "d)\n"
                  "t.yaml:7:10: listen: bad address '1.2.3.4': missing "
                  "':port'\n"
                  "t.yaml:10:13: sites[0].hosts: bad host pattern '*foo': "
                  "'*' is allowed only as the whole pattern or as a leading "
                  "'*.' label\n"
                  "t.yaml:11:14: sites[0].origin: bad address "
                  "'127.0.0.1:99999': port must be a number in 1..65535\n"
                  "t.yaml:12:5: unknown key 'extra' in site\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_big_values),
        cmocka_unit_test(test_log_levels_and_access_log),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_single_item_lists_and_empty_sections),
        cmocka_unit_test(test_quoted_numbers_are_fine),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_wrong_node_types),
        cmocka_unit_test(test_missing_values),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_listen_addresses),
        cmocka_unit_test(test_field_line_fits_header_section),
        cmocka_unit_test(test_many_errors_at_once),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
