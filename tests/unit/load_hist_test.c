/*
 * HDR-style histogram: exact below 2^(P+1); every percentile of known and
 * random distributions at most 2^-P above the exact order statistic and
 * never below it; merging equals recording everything in one; clamping,
 * empty histograms and bad shapes.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tools/load/hist.h"
#include "tools/load/rng.h"

#define P 8
#define HIGHEST (1ull << 36)

static const double pcts[] = { 0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100 };

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Exact percentile with the histogram's rank rule. */
static uint64_t
exact(const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n - 1e-9);

    if (p <= 0 || rank < 1)
        return sorted[0];
    return sorted[(rank > n ? n : rank) - 1];
}

/* Records v[0..n) and checks every percentile against the bound. */
static void
check_bound(uint64_t *v, size_t n, unsigned precision)
{
    struct load_hist *h = load_hist_new(precision, HIGHEST);

    assert_non_null(h);
    for (size_t i = 0; i < n; i++)
        load_hist_record(h, v[i]);
    qsort(v, n, sizeof *v, cmp_u64);
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
        uint64_t want = exact(v, n, pcts[i]), got = load_hist_value_at(h, pcts[i]);

        if (got < want || (double)(got - want) > (double)want / (double)(1u << precision))
            fail_msg("p%g: got %llu, exact %llu", pcts[i], (unsigned long long)got,
                     (unsigned long long)want);
    }
    assert_int_equal(load_hist_value_at(h, 0), v[0]);
    assert_int_equal(load_hist_value_at(h, 100), v[n - 1]);
    load_hist_free(&h);
    assert_null(h);
}

static void
test_exact_small_values(void **state)
{
    struct load_hist *h = load_hist_new(P, HIGHEST);

    (void)state;
    for (uint64_t v = 0; v < (2u << P); v++)
        load_hist_record(h, v);
    for (uint64_t v = 1; v < (2u << P); v++)
        assert_int_equal(load_hist_value_at(h, 100.0 * (double)(v + 1) / (2u << P)), v);
    load_hist_free(&h);
}

static void
test_uniform(void **state)
{
    size_t n = 100000;
    uint64_t *v = malloc(n * sizeof *v);

    (void)state;
    for (size_t i = 0; i < n; i++)
        v[i] = 1 + i * 37; /* 1 .. 3.7 million */
    check_bound(v, n, P);
    free(v);
}

static void
test_log_uniform_random(void **state)
{
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof *v);
    struct load_rng r;

    (void)state;
    load_rng_seed(&r, 11, 1, 0);
    for (unsigned prec = 3; prec <= 12; prec += 3) {
        for (size_t i = 0; i < n; i++)
            v[i] = (uint64_t)exp(load_rng_double(&r) * log(1e10)); /* 1 µs .. 3 h */
        check_bound(v, n, prec);
    }
    free(v);
}

static void
test_bimodal(void **state)
{
    size_t n = 10000;
    uint64_t *v = malloc(n * sizeof *v);

    (void)state;
    for (size_t i = 0; i < n; i++)
        v[i] = i % 100 == 0 ? 2000000 + i : 300 + i % 50; /* 1% at 2 s */
    check_bound(v, n, P);
    free(v);
}

static void
test_mean_min_max(void **state)
{
    struct load_hist *h = load_hist_new(P, HIGHEST);

    (void)state;
    load_hist_record(h, 1000);
    load_hist_record(h, 3000);
    load_hist_record(h, 123456789);
    assert_int_equal(h->count, 3);
    assert_int_equal(h->min, 1000);
    assert_int_equal(h->max, 123456789);
    assert_true(fabs(load_hist_mean(h) - (1000 + 3000 + 123456789) / 3.0) < 1e-6);
    load_hist_free(&h);
}

static void
test_merge(void **state)
{
    struct load_hist *a = load_hist_new(P, HIGHEST), *b = load_hist_new(P, HIGHEST);
    struct load_hist *all = load_hist_new(P, HIGHEST), *other = load_hist_new(P + 1, HIGHEST);
    struct load_rng r;

    (void)state;
    load_rng_seed(&r, 3, 1, 0);
    for (int i = 0; i < 50000; i++) {
        uint64_t v = (uint64_t)exp(load_rng_double(&r) * 16);

        load_hist_record(i % 3 ? a : b, v);
        load_hist_record(all, v);
    }
    assert_int_equal(load_hist_merge(a, b), 0);
    assert_int_equal(a->count, all->count);
    assert_int_equal(a->sum, all->sum);
    assert_int_equal(a->min, all->min);
    assert_int_equal(a->max, all->max);
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++)
        assert_int_equal(load_hist_value_at(a, pcts[i]), load_hist_value_at(all, pcts[i]));
    assert_int_equal(load_hist_merge(a, other), -EINVAL);
    load_hist_free(&a);
    load_hist_free(&b);
    load_hist_free(&all);
    load_hist_free(&other);
}

static void
test_clamp_and_empty(void **state)
{
    struct load_hist *h = load_hist_new(P, 1u << 20);

    (void)state;
    assert_int_equal(load_hist_value_at(h, 50), 0);
    assert_true(load_hist_mean(h) == 0);
    load_hist_record(h, 5ull << 30);
    assert_int_equal(h->clamped, 1);
    assert_int_equal(load_hist_value_at(h, 100), 1u << 20);
    load_hist_reset(h);
    assert_int_equal(h->count, 0);
    assert_int_equal(load_hist_value_at(h, 99), 0);
    load_hist_free(&h);
    assert_null(load_hist_new(0, HIGHEST));
    assert_null(load_hist_new(17, HIGHEST));
    assert_null(load_hist_new(8, 100));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_small_values),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_log_uniform_random),
        cmocka_unit_test(test_bimodal),
        cmocka_unit_test(test_mean_min_max),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_clamp_and_empty),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
