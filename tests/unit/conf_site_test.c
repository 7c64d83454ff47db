/*
 * conf/site.c: which site a Host gets (exact, longest wildcard, "*",
 * default_site, none) and the checks that span sites.
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

#define ORIGIN "origin: \"127.0.0.1:9\""

#define load_ok conf_test_load_ok
#define expect_errors conf_test_expect_errors

/* The name of the site found for host, or "-" for none. */
static const char *
find(const struct conf *c, const char *host)
{
    const struct conf_site *s = conf_site_find(c, host, strlen(host));

    return s ? s->name : "-";
}

static const char routing[] =
    "sites:\n"
    "  - name: exact\n"
    "    hosts: [example.com, www.example.com, \"[::1]\", 192.0.2.1]\n"
    "    " ORIGIN "\n"
    "  - name: wild\n"
    "    hosts: [\"*.example.com\"]\n"
    "    " ORIGIN "\n"
    "  - name: deeper\n"
    "    hosts: [\"*.cdn.example.com\", Static.Example.ORG]\n"
    "    " ORIGIN "\n"
    "  - name: any\n"
    "    hosts: \"*\"\n"
    "    " ORIGIN "\n"
    "  - name: fallback\n"
    "    hosts: only.fallback.test\n"
    "    " ORIGIN "\n"
    "default_site: fallback\n";

static void
test_match_order(void **state)
{
    struct conf *c = load_ok(routing);

    (void)state;
    assert_string_equal(find(c, "example.com"), "exact");
    assert_string_equal(find(c, "www.example.com"), "exact");
    assert_string_equal(find(c, "a.example.com"), "wild");
    assert_string_equal(find(c, "a.b.example.com"), "wild");
    assert_string_equal(find(c, "img.cdn.example.com"), "deeper");
    assert_string_equal(find(c, "x.y.cdn.example.com"), "deeper");
    assert_string_equal(find(c, "cdn.example.com"), "wild");
    assert_string_equal(find(c, "static.example.org"), "deeper");
    assert_string_equal(find(c, "[::1]"), "exact");
    assert_string_equal(find(c, "192.0.2.1"), "exact");
    assert_string_equal(find(c, "192.0.2.2"), "any");
    assert_string_equal(find(c, "example.org"), "any");
    assert_string_equal(find(c, "notexample.com"), "any");
    assert_string_equal(find(c, ".example.com"), "any");
    assert_string_equal(find(c, ""), "any");
    assert_string_equal(find(c, "only.fallback.test"), "fallback");
    conf_unref(&c);
}

static void
test_case_trailing_dot_and_length(void **state)
{
    struct conf *c = load_ok(routing);

    (void)state;
    assert_string_equal(find(c, "WWW.Example.COM"), "exact");
    assert_string_equal(find(c, "A.EXAMPLE.COM"), "wild");
    assert_string_equal(find(c, "www.example.com."), "exact");
    assert_string_equal(find(c, "a.example.com."), "wild");
    /* Only host[0..len) counts. */
    assert_string_equal(conf_site_find(c, "example.com:8080", 11)->name,
                        "exact");
    assert_string_equal(conf_site_find(c, "www.example.comX", 15)->name,
                        "exact");
    assert_string_equal(conf_site_find(c, "example.com", 7)->name, "any");
    assert_string_equal(conf_site_find(c, NULL, 0)->name, "any");
    conf_unref(&c);
}

static void
test_default_site_and_none(void **state)
{
    struct conf *c = load_ok("sites:\n"
                             "  - {name: a, hosts: a.test, " ORIGIN "}\n"
                             "  - {name: b, hosts: \"*.b.test\", " ORIGIN
                             "}\n"
                             "default_site: b\n");

    (void)state;
    assert_int_equal(c->default_site, 1);
    assert_string_equal(find(c, "a.test"), "a");
    assert_string_equal(find(c, "x.b.test"), "b");
    assert_string_equal(find(c, "b.test"), "b"); /* via default_site */
    assert_string_equal(find(c, "other"), "b");
    conf_unref(&c);
    c = load_ok("sites:\n"
                "  - {name: a, hosts: a.test, " ORIGIN "}\n"
                "  - {name: b, hosts: \"*.b.test\", " ORIGIN "}\n");
    assert_int_equal(c->default_site, -1);
    assert_string_equal(find(c, "b.test"), "-");
    assert_string_equal(find(c, "other"), "-");
    assert_string_equal(find(c, ""), "-");
    assert_string_equal(find(c, "a.test"), "a");
    conf_unref(&c);
}

static void
test_many_sites(void **state)
{
    char *yaml = malloc(200 * 128), *p = yaml;
    char host[64], name[16];
    struct conf *c;

    (void)state;
    p += sprintf(p, "sites:\n");
    for (int i = 0; i < 200; i++)
        p += sprintf(p, "  - {name: s%d, hosts: [h%d.test, \"*.w%d.test\"], "
                        "origin: \"10.0.%d.%d:80\"}\n",
                     i, i, i, i / 256, i % 256);
    c = load_ok(yaml);
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "s%d", i);
        snprintf(host, sizeof host, "h%d.test", i);
        assert_string_equal(find(c, host), name);
        snprintf(host, sizeof host, "x.w%d.test", i);
        assert_string_equal(find(c, host), name);
    }
    assert_string_equal(find(c, "h200.test"), "-");
    conf_unref(&c);
    free(yaml);
}

static void
test_site_fields_required(void **state)
{
    (void)state;
    expect_errors("sites:\n"
                  "  - hosts: a\n"
                  "  - name: b\n"
                  "    hosts: []\n"
                  "    origin: []\n",
                  "t.yaml:2:5: sites[0] has no 'name'\n"
                  "t.yaml:2:5: sites[0] has no 'origin'\n"
                  "t.yaml:4:12: sites[1].hosts must not be empty\n"
                  "t.yaml:5:13: sites[1].origin must not be empty\n");
    expect_errors("sites: [x, [], {name: a, hosts: a, " ORIGIN "}]\n",
                  "t.yaml:1:9: sites[0] must be a mapping, not a scalar\n"
                  "t.yaml:1:12: sites[1] must be a mapping, not a list\n");
    expect_errors("sites: [{name: \"a b\", hosts: a, " ORIGIN "}]\n",
                  "t.yaml:1:16: sites[0].name: 'a b' is not a name (1 to "
                  "64 of A-Z a-z 0-9 . _ -)\n");
}

/* A misspelt required key is reported once, as the typo. */
static void
test_typo_of_required_key(void **state)
{
    (void)state;
    expect_errors("sites:\n"
                  "  - name: demo\n"
                  "    hots: [\"*\"]\n"
                  "    origns: [\"127.0.0.1:8081\"]\n",
                  "t.yaml:3:5: unknown key 'hots' in site (did you mean "
                  "'hosts'?)\n"
                  "t.yaml:4:5: unknown key 'origns' in site (did you mean "
                  "'origin'?)\n");
    expect_errors("sites:\n"
                  "  - name: demo\n"
                  "    hosts: [\"*\"]\n"
                  "    upstream: [\"127.0.0.1:8081\"]\n",
                  "t.yaml:2:5: sites[0] has no 'origin'\n"
                  "t.yaml:4:5: unknown key 'upstream' in site\n");
}

static void
test_at_least_one_site(void **state)
{
    (void)state;
    expect_errors("workers: 1\n",
                  "t.yaml:1:1: at least one site is required "
                  "(sites: [...])\n");
    expect_errors("sites: []\n",
                  "t.yaml:1:8: at least one site is required "
                  "(sites: [...])\n");
    expect_errors("sites:\n",
                  "t.yaml:1:7: at least one site is required "
                  "(sites: [...])\n");
    expect_errors("sites: {name: a}\n",
                  "t.yaml:1:8: sites must be a list, not a mapping\n");
}

static void
test_duplicate_names_and_hosts(void **state)
{
    (void)state;
    expect_errors("sites:\n"
                  "  - {name: a, hosts: [x.test, X.Test], " ORIGIN "}\n"
                  "  - {name: a, hosts: [\"*\"], " ORIGIN "}\n"
                  "  - {name: c, hosts: [\"*\", y.test, x.test], " ORIGIN
                  "}\n",
                  "t.yaml:2:31: host pattern 'x.test' is listed twice in "
                  "this site (first at 2:23)\n"
                  "t.yaml:3:12: duplicate site name 'a' (first at 2:12)\n"
                  "t.yaml:4:23: host pattern '*' is already used by site "
                  "'a' (at 3:23)\n"
                  "t.yaml:4:36: host pattern 'x.test' is already used by "
                  "site 'a' (at 2:23)\n");
    expect_errors("sites:\n"
                  "  - {hosts: [\"*.x.test\"], " ORIGIN "}\n"
                  "  - {name: b, hosts: \"*.X.TEST\", " ORIGIN "}\n",
                  "t.yaml:2:5: sites[0] has no 'name'\n"
                  "t.yaml:3:22: host pattern '*.x.test' is already used by "
                  "sites[0] (at 2:14)\n");
}

static void
test_bad_host_patterns(void **state)
{
    (void)state;
    expect_errors("sites:\n"
                  "  - name: a\n"
                  "    hosts:\n"
                  "      - \"*foo\"\n"
                  "      - a.*.b\n"
                  "      - a.test:8080\n"
                  "      - \"*.\"\n"
                  "      - [x]\n"
                  "    " ORIGIN "\n",
                  "t.yaml:4:9: sites[0].hosts: bad host pattern '*foo': '*' "
                  "is allowed only as the whole pattern or as a leading "
                  "'*.' label\n"
                  "t.yaml:5:9: sites[0].hosts: bad host pattern 'a.*.b': "
                  "'*' is allowed only as the whole pattern or as a leading "
                  "'*.' label\n"
                  "t.yaml:6:9: sites[0].hosts: bad host pattern "
                  "'a.test:8080': host patterns take no port\n"
                  "t.yaml:7:9: sites[0].hosts: bad host pattern '*.': empty "
                  "label (leading, trailing or double '.')\n"
                  "t.yaml:8:9: sites[0].hosts must be a host pattern, not a "
                  "list\n");
}

static void
test_default_site_unknown(void **state)
{
    (void)state;
    expect_errors("sites: [{name: docs, hosts: a, " ORIGIN "}]\n"
                  "default_site: dcos\n",
                  "t.yaml:2:15: default_site 'dcos' is not a site's name "
                  "(did you mean 'docs'?)\n");
    expect_errors("sites: [{name: docs, hosts: a, " ORIGIN "}]\n"
                  "default_site: web\n",
                  "t.yaml:2:15: default_site 'web' is not a site's name\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_order),
        cmocka_unit_test(test_case_trailing_dot_and_length),
        cmocka_unit_test(test_default_site_and_none),
        cmocka_unit_test(test_many_sites),
        cmocka_unit_test(test_site_fields_required),
        cmocka_unit_test(test_typo_of_required_key),
        cmocka_unit_test(test_at_least_one_site),
        cmocka_unit_test(test_duplicate_names_and_hosts),
        cmocka_unit_test(test_bad_host_patterns),
        cmocka_unit_test(test_default_site_unknown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
