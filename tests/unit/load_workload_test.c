/*
 * Workload parsing and building: sizes and size distributions, header
 * lines and profiles, URL files (weights, comments, absolute URLs, bad
 * lines reported with their line number), request formatting and picking.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/load/workload.h"

static void
test_size_parse(void **state)
{
    static const struct {
        const char *s;
        uint64_t v;
    } good[] = {
        { "0", 0 },           { "1024", 1024 },        { "16KiB", 16384 }, { "16k", 16384 },
        { "16kb", 16384 },    { "1.5MiB", 1572864 },   { "2G", 2147483648ull },
        { "100b", 100 },      { "3m", 3145728 },
    };
    static const char *const bad[] = { "", "k", "12x", "-1", "1 KiB", "1e300G", "KiB1" };
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(load_size_parse(good[i].s, &v), 0);
        assert_int_equal(v, good[i].v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(load_size_parse(bad[i], &v), -EINVAL);
}

static void
test_sizes_parse(void **state)
{
    struct load_sizes s;
    char err[256];

    (void)state;
    assert_int_equal(load_sizes_parse("4096", &s, err, sizeof err), 0);
    assert_int_equal(s.kind, LOAD_SIZES_FIXED);
    assert_int_equal(s.fixed, 4096);
    assert_int_equal(load_sizes_parse("fixed:1k", &s, err, sizeof err), 0);
    assert_int_equal(s.fixed, 1024);
    assert_int_equal(load_sizes_parse("uniform:min=10,max=20", &s, err, sizeof err), 0);
    assert_int_equal(s.kind, LOAD_SIZES_UNIFORM);
    assert_int_equal(s.min, 10);
    assert_int_equal(s.max, 20);
    assert_int_equal(
        load_sizes_parse("lognormal:median=8KiB,sigma=1.5,max=1MiB", &s, err, sizeof err), 0);
    assert_int_equal(s.kind, LOAD_SIZES_LOGNORMAL);
    assert_true(fabs(s.mu - log(8192)) < 1e-9);
    assert_true(fabs(s.sigma - 1.5) < 1e-12);
    assert_int_equal(s.min, 1);
    assert_int_equal(s.max, 1048576);
}

static void
test_sizes_parse_errors(void **state)
{
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        { "lognormal:sigma=1", "median" },
        { "lognormal:median=8k", "median" },
        { "lognormal:median=8k,sigma=x", "sigma" },
        { "lognormal:median=8k,sigma=1,colour=red", "colour" },
        { "lognormal:median", "key=value" },
        { "uniform:min=10,max=5", "min is above max" },
        { "pareto:1", "expected" },
        { "fixed:abc", "bad size" },
    };
    struct load_sizes s;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(load_sizes_parse(bad[i].spec, &s, err, sizeof err), -EINVAL);
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("%s: message '%s' lacks '%s'", bad[i].spec, err, bad[i].msg);
    }
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void
test_sizes_draw(void **state)
{
    struct load_sizes s;
    struct load_rng r;
    uint64_t v[20001];
    char err[128];

    (void)state;
    assert_int_equal(
        load_sizes_parse("lognormal:median=10000,sigma=1,min=100,max=200000", &s, err,
                         sizeof err),
        0);
    load_rng_seed(&r, 1, LOAD_RNG_SIZES, 0);
    for (size_t i = 0; i < 20001; i++) {
        v[i] = load_sizes_draw(&s, &r);
        assert_true(v[i] >= 100 && v[i] <= 200000);
    }
    qsort(v, 20001, sizeof v[0], cmp_u64);
    assert_true(fabs((double)v[10000] / 10000.0 - 1) < 0.05);
    /* exp(1) = 2.72: the 84th percentile is one sigma up. */
    assert_true(fabs((double)v[16827] / (10000.0 * M_E) - 1) < 0.08);
}

static void
test_header_check(void **state)
{
    const char *n, *v;
    size_t nl, vl;
    char err[128];

    (void)state;
    assert_int_equal(load_header_check("Accept-Encoding:  br, gzip  ", &n, &nl, &v, &vl, err,
                                       sizeof err),
                     0);
    assert_int_equal(nl, 15);
    assert_memory_equal(v, "br, gzip", 8);
    assert_int_equal(vl, 8);
    assert_int_equal(load_header_check("X-Empty:", &n, &nl, &v, &vl, err, sizeof err), 0);
    assert_int_equal(vl, 0);
    assert_int_equal(load_header_check("NoColon", &n, &nl, &v, &vl, err, sizeof err), -EINVAL);
    assert_int_equal(load_header_check(": x", &n, &nl, &v, &vl, err, sizeof err), -EINVAL);
    assert_int_equal(load_header_check("Bad Name: x", &n, &nl, &v, &vl, err, sizeof err),
                     -EINVAL);
    assert_int_equal(load_header_check("X: a\r\nInjected: 1", &n, &nl, &v, &vl, err,
                                       sizeof err),
                     -EINVAL);
}

static void
test_profile_parse(void **state)
{
    struct load_profile p = { 0 };
    char err[128];

    (void)state;
    assert_int_equal(load_profile_parse("3:Accept-Encoding: br|User-Agent:x", &p, err,
                                        sizeof err),
                     0);
    assert_true(p.weight == 3);
    assert_string_equal(p.lines, "Accept-Encoding: br\r\nUser-Agent: x\r\n");
    load_profile_clear(&p);
    assert_int_equal(load_profile_parse("0.5:", &p, err, sizeof err), 0);
    assert_string_equal(p.lines, "");
    load_profile_clear(&p);
    assert_int_equal(load_profile_parse("Accept: x", &p, err, sizeof err), -EINVAL);
    assert_int_equal(load_profile_parse("-1:A: b", &p, err, sizeof err), -EINVAL);
    assert_int_equal(load_profile_parse("1:Bad Name: b", &p, err, sizeof err), -EINVAL);
    assert_null(p.lines);
}

static void
test_urls_parse(void **state)
{
    static const char text[] = "# a site\n"
                               "\n"
                               "/index.html 10\n"
                               "  /css/site.css\t2.5  \r\n"
                               "/img/a.png\n"
                               "http://static.example.com/app.js 0\n"
                               "https://cdn.example.com:8443\n";
    struct load_url_list l = { 0 };
    char err[256];

    (void)state;
    assert_int_equal(load_urls_parse("site.txt", text, sizeof text - 1, &l, err, sizeof err),
                     0);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.v[0].path, "/index.html");
    assert_null(l.v[0].host);
    assert_true(l.v[0].weight == 10);
    assert_string_equal(l.v[1].path, "/css/site.css");
    assert_true(l.v[1].weight == 2.5);
    assert_true(l.v[2].weight == 1);
    assert_string_equal(l.v[3].host, "static.example.com");
    assert_string_equal(l.v[3].path, "/app.js");
    assert_true(l.v[3].weight == 0);
    assert_string_equal(l.v[4].host, "cdn.example.com:8443");
    assert_string_equal(l.v[4].path, "/");
    load_url_list_free(&l);
    assert_int_equal(l.n, 0);
}

static void
test_urls_bad_lines(void **state)
{
    static const struct {
        const char *text, *err;
    } bad[] = {
        { "/a\n/b\nrelative/path\n", "f.txt:3: expected '/path'" },
        { "/a x\n", "f.txt:1: bad weight" },
        { "# c\n\n/a -2\n", "f.txt:3: bad weight" },
        { "/a 1 2\n", "f.txt:1: bad weight" },
        { "/a\nhttp:///x\n", "f.txt:2: empty host" },
        { "/a\n/b\n/c\nhttp://u@h/x\n", "f.txt:4: user info" },
        { "ftp://h/x", "f.txt:1: expected" },
        { "/a\x01\n", "f.txt:1: bad character" },
        { "# only comments\n\n", "f.txt: no URL" },
        { "/a 0\n/b 0\n", "f.txt: no URL with a positive weight" },
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct load_url_list l = { 0 };

        err[0] = '\0';
        assert_int_equal(
            load_urls_parse("f.txt", bad[i].text, strlen(bad[i].text), &l, err, sizeof err),
            -EINVAL);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            fail_msg("case %zu: got '%s', want '%s...'", i, err, bad[i].err);
        load_url_list_free(&l);
    }
}

static void
test_urls_read_missing(void **state)
{
    struct load_url_list l = { 0 };
    char err[256];

    (void)state;
    assert_int_equal(load_urls_read("/nonexistent/urls.txt", &l, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/urls.txt"));
}

static struct load_workload *
catalogue(uint64_t objects, const char *const *headers, size_t n_headers)
{
    struct load_workload_spec sp = {
        .authority = "origin.test:8081", .path = "/", .objects = objects, .zipf = 0.8,
        .cache_control = "public, max-age=3600", .headers = headers, .n_headers = n_headers,
        .seed = 7,
    };
    char err[256];
    struct load_workload *w;

    assert_int_equal(load_sizes_parse("lognormal:median=8KiB,sigma=1", &sp.sizes, err,
                                      sizeof err),
                     0);
    w = load_workload_new(&sp, err, sizeof err);
    assert_non_null(w);
    return w;
}

static void
test_catalogue_format(void **state)
{
    static const char *const hdrs[] = { "Accept-Encoding: gzip", "host: edge.test" };
    struct load_workload *w = catalogue(1000, hdrs, 2);
    size_t cap = load_workload_max_len(w);
    char *buf = malloc(cap + 1), want[512];
    uint64_t total = 0;

    (void)state;
    assert_int_equal(load_workload_kind(w), LOAD_WL_CATALOGUE);
    assert_int_equal(load_workload_entries(w), 1000);
    for (uint64_t k = 0; k < 200; k++) {
        struct load_pick p, q;
        const char *ext;
        uint64_t size;
        size_t n;

        load_workload_pick(w, 7, LOAD_RNG_MEASURE, k, &p);
        load_workload_pick(w, 7, LOAD_RNG_MEASURE, k, &q);
        assert_true(p.index == q.index && p.index < 1000);
        size = load_workload_object(w, p.index, &ext);
        n = load_workload_format(w, &p, buf, cap);
        assert_true(n <= cap);
        buf[n] = '\0';
        snprintf(want, sizeof want,
                 "GET /obj/%llu.%s?size=%llu&cc=public%%2C%%20max-age%%3D3600 HTTP/1.1\r\n"
                 "Host: edge.test\r\nAccept-Encoding: gzip\r\n\r\n",
                 (unsigned long long)p.index, ext, (unsigned long long)size);
        assert_string_equal(buf, want);
    }
    for (uint64_t id = 0; id < 1000; id++) {
        const char *ext;

        total += load_workload_object(w, id, &ext);
    }
    assert_int_equal(load_workload_working_set(w), total);
    free(buf);
    load_workload_free(&w);
    assert_null(w);
}

static void
test_catalogue_popularity(void **state)
{
    struct load_workload *w = catalogue(100, NULL, 0);
    uint64_t first = 0, second = 0;

    (void)state;
    for (uint64_t k = 0; k < 100000; k++) {
        struct load_pick p;

        load_workload_pick(w, 7, LOAD_RNG_MEASURE, k, &p);
        first += p.index == 0;
        second += p.index == 1;
    }
    assert_true(fabs((double)first / (double)second / pow(2, 0.8) - 1) < 0.06);
    load_workload_free(&w);
}

static void
test_url_weights_and_profiles(void **state)
{
    static const char text[] = "/a 3\n/b 1\nhttp://other.test/c 0\n";
    struct load_url_list l = { 0 };
    struct load_profile prof[2];
    struct load_workload_spec sp = { .authority = "h:1", .path = "/", .urls = &l,
                                     .profiles = prof, .n_profiles = 2 };
    struct load_workload *w;
    uint64_t seen[3] = { 0 }, prof_seen[2] = { 0 };
    char err[256], buf[256];

    (void)state;
    memset(prof, 0, sizeof prof);
    assert_int_equal(load_urls_parse("u", text, sizeof text - 1, &l, err, sizeof err), 0);
    assert_int_equal(load_profile_parse("1:Accept-Encoding: br", &prof[0], err, sizeof err), 0);
    assert_int_equal(load_profile_parse("3:", &prof[1], err, sizeof err), 0);
    w = load_workload_new(&sp, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(l.n, 0); /* taken over */
    for (uint64_t k = 0; k < 40000; k++) {
        struct load_pick p;
        size_t n;

        load_workload_pick(w, 1, LOAD_RNG_MEASURE, k, &p);
        seen[p.index]++;
        prof_seen[p.profile]++;
        n = load_workload_format(w, &p, buf, sizeof buf);
        buf[n] = '\0';
        if (p.profile == 0)
            assert_non_null(strstr(buf, "\r\nAccept-Encoding: br\r\n\r\n"));
        else
            assert_non_null(strstr(buf, "HTTP/1.1\r\nHost: h:1\r\n\r\n"));
    }
    assert_int_equal(seen[2], 0);
    assert_true(fabs((double)seen[0] / (double)seen[1] / 3 - 1) < 0.05);
    assert_true(fabs((double)prof_seen[1] / (double)prof_seen[0] / 3 - 1) < 0.05);
    load_workload_free(&w);
}

static void
test_url_host_and_errors(void **state)
{
    static const char text[] = "http://site.test/x.css\n";
    static const char *const bad_hdr[] = { "Bad Header" };
    struct load_url_list l = { 0 };
    struct load_profile prof = { 0 };
    struct load_workload_spec sp = { .authority = "h:1", .path = "/", .urls = &l };
    struct load_workload *w;
    struct load_pick p = { 0, 0 };
    char err[256], buf[256];
    size_t n;

    (void)state;
    assert_int_equal(load_urls_parse("u", text, sizeof text - 1, &l, err, sizeof err), 0);
    w = load_workload_new(&sp, err, sizeof err);
    n = load_workload_format(w, &p, buf, sizeof buf);
    buf[n] = '\0';
    assert_string_equal(buf, "GET /x.css HTTP/1.1\r\nHost: site.test\r\n\r\n");
    load_workload_free(&w);
    sp.urls = NULL;
    sp.headers = bad_hdr;
    sp.n_headers = 1;
    assert_null(load_workload_new(&sp, err, sizeof err));
    assert_non_null(strstr(err, "Bad Header"));
    sp.n_headers = 0;
    assert_int_equal(load_profile_parse("1:Host: x", &prof, err, sizeof err), 0);
    sp.profiles = &prof;
    sp.n_profiles = 1;
    assert_null(load_workload_new(&sp, err, sizeof err));
    assert_non_null(strstr(err, "Host"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_parse),
        cmocka_unit_test(test_sizes_parse),
        cmocka_unit_test(test_sizes_parse_errors),
        cmocka_unit_test(test_sizes_draw),
        cmocka_unit_test(test_header_check),
        cmocka_unit_test(test_profile_parse),
        cmocka_unit_test(test_urls_parse),
        cmocka_unit_test(test_urls_bad_lines),
        cmocka_unit_test(test_urls_read_missing),
        cmocka_unit_test(test_catalogue_format),
        cmocka_unit_test(test_catalogue_popularity),
        cmocka_unit_test(test_url_weights_and_profiles),
        cmocka_unit_test(test_url_host_and_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
