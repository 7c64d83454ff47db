/*
 * conf/load.c, conf/default.c, conf/conf.c: files, YAML syntax errors,
 * the node tree bounds, defaults, the embedded default, refcounting.
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
#include <unistd.h>

#include <cmocka.h>

#include "common/assert.h"
#include "conf/conf.h"
#include "tests/unit/conf_test_util.h"

#define SITE "sites: [{name: s, hosts: \"*\", origin: \"127.0.0.1:9\"}]\n"

#define load_ok conf_test_load_ok

/* Loads yaml expecting -EINVAL; returns the messages, one per line. */
static char *
load_fail(const char *yaml, size_t len)
{
    struct conf_errors e = { 0 };
    struct conf *c = (struct conf *)&e; /* must stay untouched */
    size_t n = 1;
    char *out;

    assert_int_equal(conf_load_string("t.yaml", yaml, len, &c, &e), -EINVAL);
    assert_ptr_equal(c, &e);
    assert_true(e.n > 0);
    for (size_t i = 0; i < e.n; i++)
        n += strlen(e.msgs[i]) + 1;
    out = calloc(1, n);
    for (size_t i = 0; i < e.n; i++) {
        strcat(out, e.msgs[i]);
        strcat(out, "\n");
    }
    conf_errors_free(&e);
    assert_null(e.msgs);
    assert_int_equal(e.n, 0);
    return out;
}

static void
expect_errors(const char *yaml, const char *want)
{
    char *got = load_fail(yaml, strlen(yaml));

    assert_string_equal(got, want);
    free(got);
}

static unsigned
online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

/* Every field a config without those keys must have. */
static void
assert_defaults(const struct conf *c)
{
    assert_int_equal(c->magic, CONF_MAGIC);
    assert_int_equal(c->workers, online_cores());
    assert_string_equal(c->node_id, "strata");
    assert_int_equal(c->log_level, LOG_LVL_INFO);
    assert_null(c->access_log);
    assert_string_equal(c->data_dir, "./var");
    assert_int_equal(c->drain_timeout_ms, 10000);
    assert_int_equal(c->n_listen, 1);
    assert_string_equal(c->listen[0].text, "127.0.0.1:8080");
    assert_int_equal(c->limits.request_line, 8192);
    assert_int_equal(c->limits.field_line, 8192);
    assert_int_equal(c->limits.header_section, 32768);
    assert_int_equal(c->limits.fields, 100);
    assert_int_equal(c->limits.request_body, 1ull << 30);
    assert_int_equal(c->limits.header_timeout_ms, 10000);
    assert_int_equal(c->limits.idle_timeout_ms, 60000);
    assert_int_equal(c->limits.body_timeout_ms, 30000);
    assert_int_equal(c->limits.send_timeout_ms, 60000);
    assert_int_equal(c->limits.max_connections, 10000);
    assert_int_equal(c->upstream.connect_timeout_ms, 3000);
    assert_int_equal(c->upstream.read_timeout_ms, 30000);
    assert_int_equal(c->upstream.write_timeout_ms, 30000);
    assert_int_equal(c->upstream.keepalive, 32);
    assert_int_equal(c->upstream.keepalive_timeout_ms, 30000);
    assert_int_equal(c->default_site, -1);
    assert_true(c->cache.enabled);
    assert_int_equal(c->cache.memory, 256ull << 20);
    assert_int_equal(c->cache.max_object, 64ull << 20);
    assert_int_equal(c->cache.hit_for_pass_ms, 10000);
    assert_string_equal(c->cache.targeted_field, "Strata-Cache-Control");
    assert_true(c->cache.strip_targeted);
}

/* A site's cache keys left out: RFC-pure, nothing invented. */
static void
assert_site_cache_defaults(const struct conf_site *s)
{
    const struct conf_site_cache *sc = &s->cache;

    assert_true(sc->enabled);
    assert_int_equal(sc->default_ttl_ms, -1);
    assert_int_equal(sc->min_ttl_ms, -1);
    assert_int_equal(sc->max_ttl_ms, -1);
    assert_false(sc->ignore_cache_control);
    assert_int_equal(sc->stale_while_revalidate_ms, 0);
    assert_int_equal(sc->stale_if_error_ms, 0);
    assert_false(sc->store_set_cookie);
    assert_int_equal(sc->query, CONF_QUERY_KEEP);
    assert_null(sc->query_ignore);
    assert_int_equal(sc->n_query_ignore, 0);
    assert_int_equal(sc->heuristic_max_ms, 86400000);
}

static void
test_defaults(void **state)
{
    struct conf *c = load_ok(SITE);

    (void)state;
    assert_defaults(c);
    assert_string_equal(c->source, "t.yaml");
    assert_int_equal(c->refcnt, 1);
    assert_int_equal(c->n_sites, 1);
    assert_string_equal(c->sites[0].name, "s");
    assert_site_cache_defaults(&c->sites[0]);
    conf_unref(&c);
    assert_null(c);
}

static void
test_embedded_default(void **state)
{
    struct conf_errors e = { 0 };
    struct conf *c = NULL;

    (void)state;
    assert_non_null(strstr(conf_default_yaml(), "127.0.0.1:8081"));
    assert_int_equal(conf_load_default(&c, &e), 0);
    assert_int_equal(e.n, 0);
    assert_defaults(c);
    assert_string_equal(c->source, "<default>");
    assert_int_equal(c->n_sites, 1);
    assert_string_equal(c->sites[0].name, "default");
    assert_int_equal(c->sites[0].n_hosts, 1);
    assert_string_equal(c->sites[0].hosts[0], "*");
    assert_int_equal(c->sites[0].n_origins, 1);
    assert_string_equal(c->sites[0].origins[0].text, "127.0.0.1:8081");
    assert_false(c->sites[0].trust_forwarded);
    assert_site_cache_defaults(&c->sites[0]);
    assert_ptr_equal(conf_site_find(c, "any.host", 8), &c->sites[0]);
    conf_unref(&c);
}

/* The example file restates every default: it must load to the same. */
static void
test_example_file_is_the_default(void **state)
{
    const char *srcdir = getenv("srcdir");
    struct conf_errors e = { 0 };
    struct conf *c = NULL;
    char path[4096];

    (void)state;
    snprintf(path, sizeof path, "%s/conf/examples/strata.yaml",
             srcdir ? srcdir : ".");
    assert_int_equal(conf_load_file(path, &c, &e), 0);
    assert_int_equal(e.n, 0);
    assert_defaults(c);
    assert_string_equal(c->source, path);
    assert_int_equal(c->n_sites, 1);
    assert_string_equal(c->sites[0].name, "default");
    assert_string_equal(c->sites[0].hosts[0], "*");
    assert_string_equal(c->sites[0].origins[0].text, "127.0.0.1:8081");
    assert_false(c->sites[0].trust_forwarded);
    assert_site_cache_defaults(&c->sites[0]);
    conf_unref(&c);
}

static void
test_missing_file(void **state)
{
    struct conf_errors e = { 0 };
    struct conf *c = NULL;

    (void)state;
    assert_int_equal(conf_load_file("/nonexistent/strata.yaml", &c, &e),
                     -ENOENT);
    assert_null(c);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.msgs[0], "/nonexistent/strata.yaml: cannot open: "
                                   "No such file or directory");
    conf_errors_free(&e);
    assert_int_equal(conf_load_file("/", &c, &e), -EISDIR);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.msgs[0], "/: cannot read: Is a directory");
    conf_errors_free(&e);
    assert_int_equal(conf_load_file("/nonexistent", &c, NULL), -ENOENT);
}

static void
test_empty_document(void **state)
{
    (void)state;
    expect_errors("", "t.yaml:1:1: at least one site is required "
                      "(sites: [...])\n");
    expect_errors("# only a comment\n",
                  "t.yaml:1:1: at least one site is required "
                  "(sites: [...])\n");
    expect_errors("~\n", "t.yaml:1:1: at least one site is required "
                         "(sites: [...])\n");
}

static void
test_syntax_errors(void **state)
{
    (void)state;
    expect_errors("workers: 2\n  bad: [\n",
                  "t.yaml:2:6: mapping values are not allowed in this "
                  "context\n");
    expect_errors("listen: [1, 2\nworkers: 3\n",
                  "t.yaml:2:8: did not find expected ',' or ']' (while "
                  "parsing a flow sequence at 1:9)\n");
    expect_errors("log:\n\tlevel: info\n",
                  "t.yaml:2:1: found character that cannot start any "
                  "token (while scanning for the next token at 2:1)\n");
    expect_errors("node_id: \"abc\n",
                  "t.yaml:2:1: found unexpected end of stream (while "
                  "scanning a quoted scalar at 1:10)\n");
    expect_errors("sites: *nope\n", "t.yaml:1:8: found undefined alias\n");
}

static void
test_bad_utf8(void **state)
{
    (void)state;
    expect_errors(SITE "node_id: a\xff\n",
                  "t.yaml:2:11: invalid leading UTF-8 octet\n");
}

static void
test_nul_byte(void **state)
{
    static const char yaml[] = SITE "node_id: \"a\\0b\"\n";

    (void)state;
    expect_errors(yaml, "t.yaml:2:10: node_id contains a NUL byte\n");
}

static void
test_two_documents(void **state)
{
    (void)state;
    expect_errors(SITE "---\nworkers: 2\n",
                  "t.yaml:2:1: a config holds one YAML document, found "
                  "another\n");
    expect_errors(SITE "---\nworkers: [\n",
                  "t.yaml:4:1: did not find expected node content (while "
                  "parsing a flow node at 4:1)\n");
}

static void
test_top_level_not_a_mapping(void **state)
{
    (void)state;
    expect_errors("- a\n- b\n",
                  "t.yaml:1:1: the top level must be a mapping, not a "
                  "list\n");
    expect_errors("strata\n",
                  "t.yaml:1:1: the top level must be a mapping, not a "
                  "scalar\n");
}

static void
test_aliases_expand(void **state)
{
    struct conf *c = load_ok(
        "sites:\n"
        "  - name: a\n"
        "    hosts: a.example\n"
        "    origin: &o [\"10.0.0.1:80\", \"10.0.0.2:80\"]\n"
        "  - name: b\n"
        "    hosts: b.example\n"
        "    origin: *o\n");

    (void)state;
    assert_int_equal(c->sites[1].n_origins, 2);
    assert_string_equal(c->sites[1].origins[1].text, "10.0.0.2:80");
    conf_unref(&c);
}

static void
test_alias_bomb_and_loop(void **state)
{
    static const char bomb[] =
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    char *got;

    (void)state;
    got = load_fail(bomb, strlen(bomb));
    /* One report: the schema never sees the tree. */
    assert_non_null(strstr(got, ": document too large (aliases?)\n"));
    assert_ptr_equal(strchr(got, '\n'), got + strlen(got) - 1);
    free(got);
    expect_errors("a: &a [*a]\n",
                  "t.yaml:1:4: document too deeply nested (aliases?)\n");
}

static void
test_errors_null_list(void **state)
{
    struct conf *c = NULL;

    (void)state;
    assert_int_equal(conf_load_string("t.yaml", "workers: 0\n", 11, &c, NULL),
                     -EINVAL);
    assert_null(c);
}

static void
test_errors_append(void **state)
{
    struct conf_errors e = { 0 };
    struct conf *c = NULL;

    (void)state;
    assert_int_equal(conf_load_string("a.yaml", "", 0, &c, &e), -EINVAL);
    assert_int_equal(conf_load_string("b.yaml", "", 0, &c, &e), -EINVAL);
    assert_int_equal(e.n, 2);
    assert_true(strncmp(e.msgs[0], "a.yaml:1:1: ", 12) == 0);
    assert_true(strncmp(e.msgs[1], "b.yaml:1:1: ", 12) == 0);
    conf_errors_free(&e);
    conf_errors_free(&e);
}

static void
test_string_not_nul_terminated(void **state)
{
    char buf[sizeof SITE + 16];
    struct conf_errors e = { 0 };
    struct conf *c = NULL;

    (void)state;
    memcpy(buf, SITE "workers: 300", sizeof SITE - 1 + 12);
    /* Only SITE + "workers: 3" is the document. */
    assert_int_equal(
        conf_load_string("t.yaml", buf, sizeof SITE - 1 + 10, &c, &e), 0);
    assert_int_equal(c->workers, 3);
    conf_unref(&c);
}

static void
test_refcount(void **state)
{
    struct conf *c = load_ok(SITE), *r;

    (void)state;
    r = conf_ref(c);
    assert_ptr_equal(r, c);
    assert_int_equal(c->refcnt, 2);
    r = conf_ref(c);
    assert_int_equal(c->refcnt, 3);
    conf_unref(&r);
    assert_null(r);
    assert_int_equal(c->refcnt, 2);
    r = c;
    conf_unref(&c);
    assert_null(c);
    assert_int_equal(r->refcnt, 1);
    assert_string_equal(r->sites[0].name, "s"); /* still alive */
    conf_unref(&r);                             /* frees: ASan checks */
    assert_null(r);
    conf_unref(&r); /* NULL is fine */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_embedded_default),
        cmocka_unit_test(test_example_file_is_the_default),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_empty_document),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_two_documents),
        cmocka_unit_test(test_top_level_not_a_mapping),
        cmocka_unit_test(test_aliases_expand),
        cmocka_unit_test(test_alias_bomb_and_loop),
        cmocka_unit_test(test_errors_null_list),
        cmocka_unit_test(test_errors_append),
        cmocka_unit_test(test_string_not_nul_terminated),
        cmocka_unit_test(test_refcount),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
