/*
 * Ranges on stored bodies: the RFC 9110 §14.1.2 examples, suffix and open
 * ranges, coalescing, unsatisfiable sets (416), ignored sets (200), the
 * part limit, If-Range (§13.1.5) and multipart/byteranges framing.
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

#include "cache/policy.h"

#define D 784111777LL /* Sun, 06 Nov 1994 08:49:37 GMT */
#define NOW ((D + 100) * 1000)
#define LEN 10000

/* Stored: ETag "abc", Last-Modified two minutes before Date (strong). */
static const struct cache_validators v = {
    .etag = "\"abc\"", .etag_len = 5, .last_modified_s = D - 120,
    .date_s = D,
};

static struct cache_range r[CACHE_RANGE_MAX];
static unsigned n;

static enum cache_range_result
eval_len(const char *range, uint64_t len)
{
    struct h1_field f = { .name = "Range", .name_len = 5, .value = range,
                          .value_len = (uint32_t)strlen(range) };

    memset(r, 0xff, sizeof r);
    return cache_range_eval(r, &n, H1_M_GET, &f, 1, &v, len, NOW);
}

static enum cache_range_result
eval(const char *range)
{
    return eval_len(range, LEN);
}

static enum cache_range_result
eval_if(const char *range, const char *if_range,
        const struct cache_validators *sv)
{
    struct h1_field f[] = {
        { .name = "Range", .name_len = 5, .value = range,
          .value_len = (uint32_t)strlen(range) },
        { .name = "If-Range", .name_len = 8, .value = if_range,
          .value_len = (uint32_t)strlen(if_range) },
    };

    return cache_range_eval(r, &n, H1_M_GET, f, 2, sv, LEN, NOW);
}

static void
assert_one(const char *range, uint64_t s, uint64_t e)
{
    assert_int_equal(eval(range), CACHE_RANGE_PARTIAL);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].start, s);
    assert_int_equal(r[0].end, e);
}

static void
test_rfc_examples(void **state)
{
    (void)state;
    assert_one("bytes=0-499", 0, 499);
    assert_one("bytes=500-999", 500, 999);
    assert_one("bytes=-500", 9500, 9999);
    assert_one("bytes=9500-", 9500, 9999);
    assert_int_equal(eval("bytes=0-0,-1"), CACHE_RANGE_PARTIAL);
    assert_int_equal(n, 2);
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[0].end, 0);
    assert_int_equal(r[1].start, 9999);
    assert_int_equal(r[1].end, 9999);
    /* §14.1.2 "bytes=500-600,601-999" and "bytes=500-700,601-999" */
    assert_one("bytes=500-600,601-999", 500, 999);
    assert_one("bytes=500-700,601-999", 500, 999);
    assert_one("bytes=601-999,500-600", 500, 999);
}

static void
test_clamping_and_forms(void **state)
{
    (void)state;
    assert_one("bytes=9000-20000", 9000, 9999);
    assert_one("bytes=-20000", 0, 9999);
    assert_one("bytes=0-", 0, 9999);
    assert_one("Bytes=1-1", 1, 1);
    assert_one("bytes= 5-6 ,", 5, 6);
    assert_one("bytes=0-99999999999999999999999", 0, 9999);
    assert_one("bytes=9999-9999", 9999, 9999);
}

static void
test_multiple_ranges_keep_order(void **state)
{
    (void)state;
    assert_int_equal(eval("bytes=500-599, 0-99, 200-299"), CACHE_RANGE_PARTIAL);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].start, 500);
    assert_int_equal(r[1].start, 0);
    assert_int_equal(r[2].end, 299);
    /* a later range bridging two earlier ones merges all three */
    assert_int_equal(eval("bytes=0-9, 20-29, 5-25"), CACHE_RANGE_PARTIAL);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[0].end, 29);
    /* unsatisfiable parts are dropped */
    assert_int_equal(eval("bytes=20000-, 0-9"), CACHE_RANGE_PARTIAL);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].end, 9);
}

static void
test_unsatisfiable(void **state)
{
    (void)state;
    assert_int_equal(eval("bytes=10000-"), CACHE_RANGE_UNSATISFIABLE);
    assert_int_equal(eval("bytes=10000-10001"), CACHE_RANGE_UNSATISFIABLE);
    assert_int_equal(eval("bytes=-0"), CACHE_RANGE_UNSATISFIABLE);
    assert_int_equal(eval("bytes=99999999999999999999999-"),
                     CACHE_RANGE_UNSATISFIABLE);
    assert_int_equal(eval("bytes=20000-, -0"), CACHE_RANGE_UNSATISFIABLE);
    assert_int_equal(eval_len("bytes=0-0", 0), CACHE_RANGE_UNSATISFIABLE);
    assert_int_equal(eval_len("bytes=-5", 0), CACHE_RANGE_UNSATISFIABLE);
}

static void
test_ignored(void **state)
{
    static const char *const bad[] = {
        "bytes=5-1", "bytes=abc", "items=0-1", "bytes=", "bytes 0-1",
        "bytes=--1", "bytes=1-2-3", "bytes=1", "bytes=0-1,x", "bytes=,",
        "bytes=-", "bytes = 0-1", "bytes=0x1-2", "",
    };
    unsigned wrong = 0;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wrong += eval(bad[i]) != CACHE_RANGE_NONE;
        wrong += n != 0;
    }
    assert_int_equal(wrong, 0);
}

static void
test_part_limit(void **state)
{
    char buf[256];
    size_t pos;

    (void)state;
    pos = (size_t)snprintf(buf, sizeof buf, "bytes=0-0");
    for (unsigned i = 1; i < CACHE_RANGE_MAX; i++)
        pos += (size_t)snprintf(buf + pos, sizeof buf - pos, ",%u-%u",
                                i * 10, i * 10);
    assert_int_equal(eval(buf), CACHE_RANGE_PARTIAL);
    assert_int_equal(n, CACHE_RANGE_MAX);
    snprintf(buf + pos, sizeof buf - pos, ",900-900");
    assert_int_equal(eval(buf), CACHE_RANGE_NONE);
}

static void
test_method_and_length_gates(void **state)
{
    struct h1_field f = { .name = "Range", .name_len = 5,
                          .value = "bytes=0-1", .value_len = 9 };
    struct h1_field two[] = { f, f };

    (void)state;
    assert_int_equal(cache_range_eval(r, &n, H1_M_HEAD, &f, 1, &v, LEN, NOW),
                     CACHE_RANGE_NONE);
    assert_int_equal(cache_range_eval(r, &n, H1_M_GET, &f, 1, &v,
                                      CACHE_LEN_UNKNOWN, NOW),
                     CACHE_RANGE_NONE);
    assert_int_equal(cache_range_eval(r, &n, H1_M_GET, two, 2, &v, LEN, NOW),
                     CACHE_RANGE_NONE);
    assert_int_equal(cache_range_eval(r, &n, H1_M_GET, NULL, 0, &v, LEN, NOW),
                     CACHE_RANGE_NONE);
}

static void
test_if_range(void **state)
{
    struct cache_validators weak = v, young = v;

    (void)state;
    assert_int_equal(eval_if("bytes=0-1", "\"abc\"", &v), CACHE_RANGE_PARTIAL);
    assert_int_equal(eval_if("bytes=0-1", "\"abd\"", &v), CACHE_RANGE_NONE);
    assert_int_equal(eval_if("bytes=0-1", "W/\"abc\"", &v), CACHE_RANGE_NONE);
    weak.etag = "W/\"abc\"";
    weak.etag_len = 7;
    assert_int_equal(eval_if("bytes=0-1", "\"abc\"", &weak), CACHE_RANGE_NONE);
    /* Last-Modified 08:47:37 is strong: 120 s before Date */
    assert_int_equal(eval_if("bytes=0-1", "Sun, 06 Nov 1994 08:47:37 GMT", &v),
                     CACHE_RANGE_PARTIAL);
    assert_int_equal(eval_if("bytes=0-1", "Sun, 06 Nov 1994 08:47:38 GMT", &v),
                     CACHE_RANGE_NONE);
    young.last_modified_s = D - 30; /* weak: too close to Date */
    assert_int_equal(eval_if("bytes=0-1", "Sun, 06 Nov 1994 08:49:07 GMT",
                             &young),
                     CACHE_RANGE_NONE);
    assert_int_equal(eval_if("bytes=0-1", "garbage", &v), CACHE_RANGE_NONE);
    /* a date on a Wednesday is a date, not a weak entity-tag */
    young.last_modified_s = D - 4 * 86400;
    assert_int_equal(eval_if("bytes=0-1", "Wed, 02 Nov 1994 08:49:37 GMT",
                             &young),
                     CACHE_RANGE_PARTIAL);
    /* If-Range holds but the range is unsatisfiable: still 416 */
    assert_int_equal(eval_if("bytes=20000-", "\"abc\"", &v),
                     CACHE_RANGE_UNSATISFIABLE);
}

static void
test_content_range(void **state)
{
    struct cache_range one = { 0, 499 };
    char buf[64];

    (void)state;
    assert_int_equal(cache_range_content_range(buf, sizeof buf, &one, LEN), 17);
    assert_string_equal(buf, "bytes 0-499/10000");
    assert_int_equal(cache_range_content_range(buf, sizeof buf, NULL, LEN), 13);
    assert_string_equal(buf, "bytes */10000");
    assert_int_equal(cache_range_content_range(buf, 17, &one, LEN), -ENOSPC);
    assert_int_equal(cache_range_content_range(buf, 18, &one, LEN), 17);
}

static void
test_boundary(void **state)
{
    char a[CACHE_BOUNDARY_LEN + 1], b[CACHE_BOUNDARY_LEN + 1];
    char c[CACHE_BOUNDARY_LEN + 1];

    (void)state;
    cache_range_boundary(a, 42);
    cache_range_boundary(b, 42);
    cache_range_boundary(c, 43);
    assert_int_equal(strlen(a), CACHE_BOUNDARY_LEN);
    assert_int_equal(strspn(a, "0123456789abcdef"), CACHE_BOUNDARY_LEN);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

static void
test_multipart_framing(void **state)
{
    static const char bnd[] = "THIS_STRING_SEPARATES";
    struct cache_range parts[2] = { { 500, 999 }, { 7000, 7999 } };
    char buf[256];
    uint64_t total = 0;
    int w;

    (void)state;
    w = cache_range_part_head(buf, sizeof buf, bnd, "application/pdf", 15,
                              &parts[0], 8000);
    assert_string_equal(buf, "\r\n--THIS_STRING_SEPARATES\r\n"
                             "Content-Type: application/pdf\r\n"
                             "Content-Range: bytes 500-999/8000\r\n\r\n");
    assert_int_equal(w, (int)strlen(buf));
    total += (uint64_t)w + 500;
    w = cache_range_part_head(buf, sizeof buf, bnd, "application/pdf", 15,
                              &parts[1], 8000);
    total += (uint64_t)w + 1000;
    w = cache_range_multipart_tail(buf, sizeof buf, bnd);
    assert_string_equal(buf, "\r\n--THIS_STRING_SEPARATES--\r\n");
    total += (uint64_t)w;
    assert_int_equal(cache_range_multipart_len(parts, 2, bnd, 15, true, 8000),
                     total);
    w = cache_range_part_head(buf, sizeof buf, bnd, NULL, 0, &parts[0], 8000);
    assert_string_equal(buf, "\r\n--THIS_STRING_SEPARATES\r\n"
                             "Content-Range: bytes 500-999/8000\r\n\r\n");
    assert_int_equal(cache_range_multipart_len(parts, 1, bnd, 0, false, 8000),
                     (uint64_t)w + 500 + strlen(bnd) + 8);
    assert_int_equal(cache_range_part_head(buf, 10, bnd, NULL, 0, &parts[0],
                                           8000), -ENOSPC);
}

/* Random Range / If-Range values in exact-size heap buffers (ASan). */
static void
test_garbage_never_overreads(void **state)
{
    static const char alpha[] = "bytes=-,0123456789 W/\"\tx";
    uint64_t seed = 12345;
    unsigned bad = 0;

    (void)state;
    for (unsigned i = 0; i < 20000; i++) {
        size_t len;
        char *buf;
        struct h1_field f[2];
        enum cache_range_result rr;

        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        len = (size_t)(seed >> 59); /* 0..31 */
        buf = malloc(len + 6);
        assert_non_null(buf);
        memcpy(buf, "bytes=", 6);
        for (size_t j = 6; j < len + 6; j++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[j] = alpha[(seed >> 33) % (sizeof alpha - 1)];
        }
        f[0] = (struct h1_field){ .name = "Range", .name_len = 5,
                                  .value = buf,
                                  .value_len = (uint32_t)len + 6 };
        f[1] = (struct h1_field){ .name = "If-Range", .name_len = 8,
                                  .value = buf + 6,
                                  .value_len = (uint32_t)len };
        rr = cache_range_eval(r, &n, H1_M_GET, f, 1 + (i & 1), &v,
                              i % 50, NOW);
        bad += rr == CACHE_RANGE_PARTIAL && (n == 0 || n > CACHE_RANGE_MAX);
        for (unsigned k = 0; rr == CACHE_RANGE_PARTIAL && k < n; k++)
            bad += r[k].start > r[k].end || r[k].end >= i % 50;
        free(buf);
    }
    assert_int_equal(bad, 0);
}

/* RFC 9110 §14.2: Range only where the answer would be a 200. */
static void
test_range_applies_to_200_only(void **state)
{
    static const int no[] = { 201, 203, 204, 206, 301, 404, 410, 500 };

    (void)state;
    assert_true(cache_range_applies(200));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(cache_range_applies(no[i]));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),
        cmocka_unit_test(test_clamping_and_forms),
        cmocka_unit_test(test_multiple_ranges_keep_order),
        cmocka_unit_test(test_unsatisfiable),
        cmocka_unit_test(test_ignored),
        cmocka_unit_test(test_part_limit),
        cmocka_unit_test(test_method_and_length_gates),
        cmocka_unit_test(test_if_range),
        cmocka_unit_test(test_content_range),
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_multipart_framing),
        cmocka_unit_test(test_garbage_never_overreads),
        cmocka_unit_test(test_range_applies_to_200_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
