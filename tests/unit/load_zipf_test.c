/*
 * Zipf sampler: ranks stay in range, runs are reproducible, and seeded
 * samples match the distribution: a chi-square test over 64 ranks for
 * several exponents (including 0 = uniform and the special case 1), and
 * frequency ratios for a catalogue of a million objects.
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

#include "tools/load/zipf.h"

#define SAMPLES 200000

static void
test_init_rejects(void **state)
{
    struct load_zipf z;

    (void)state;
    assert_int_equal(load_zipf_init(&z, 0, 1.0), -EINVAL);
    assert_int_equal(load_zipf_init(&z, 10, -0.5), -EINVAL);
    assert_int_equal(load_zipf_init(&z, 10, NAN), -EINVAL);
    assert_int_equal(load_zipf_init(&z, 10, INFINITY), -EINVAL);
    assert_int_equal(load_zipf_init(&z, 1, 0.8), 0);
}

static void
test_single_rank(void **state)
{
    struct load_zipf z;
    struct load_rng r;

    (void)state;
    assert_int_equal(load_zipf_init(&z, 1, 0.8), 0);
    load_rng_seed(&r, 7, 1, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(load_zipf_sample(&z, &r), 1);
}

static void
test_reproducible(void **state)
{
    struct load_zipf z;

    (void)state;
    assert_int_equal(load_zipf_init(&z, 100000, 0.8), 0);
    for (uint64_t k = 0; k < 1000; k++) {
        struct load_rng a, b;

        load_rng_seed(&a, 42, LOAD_RNG_MEASURE, k);
        load_rng_seed(&b, 42, LOAD_RNG_MEASURE, k);
        assert_int_equal(load_zipf_sample(&z, &a), load_zipf_sample(&z, &b));
    }
}

/* Chi-square statistic of SAMPLES draws over n ranks against k^-alpha. */
static double
chi_square(uint64_t n, double alpha, uint64_t seed)
{
    struct load_zipf z;
    struct load_rng r;
    uint64_t *seen = calloc(n + 1, sizeof *seen);
    double h = 0, chi = 0;

    assert_non_null(seen);
    assert_int_equal(load_zipf_init(&z, n, alpha), 0);
    load_rng_seed(&r, seed, 3, 0);
    for (int i = 0; i < SAMPLES; i++) {
        uint64_t k = load_zipf_sample(&z, &r);

        assert_true(k >= 1 && k <= n);
        seen[k]++;
    }
    for (uint64_t k = 1; k <= n; k++)
        h += pow((double)k, -alpha);
    for (uint64_t k = 1; k <= n; k++) {
        double expect = SAMPLES * pow((double)k, -alpha) / h;

        chi += ((double)seen[k] - expect) * ((double)seen[k] - expect) / expect;
    }
    free(seen);
    return chi;
}

static void
test_chi_square(void **state)
{
    static const double alphas[] = { 0.0, 0.5, 0.8, 0.99, 1.0, 1.01, 1.2, 2.0 };

    (void)state;
    /* 63 degrees of freedom: the 0.1% critical value is 103.4. */
    for (size_t i = 0; i < sizeof alphas / sizeof alphas[0]; i++) {
        double chi = chi_square(64, alphas[i], 1000 + i);

        if (chi >= 103.4)
            fail_msg("alpha %.2f: chi-square %.1f >= 103.4", alphas[i], chi);
    }
}

/* A wrong exponent must fail the same test: the test has teeth. */
static void
test_chi_square_detects_mismatch(void **state)
{
    struct load_zipf z;
    struct load_rng r;
    uint64_t seen[65] = { 0 };
    double h = 0, chi = 0;

    (void)state;
    assert_int_equal(load_zipf_init(&z, 64, 0.9), 0);
    load_rng_seed(&r, 5, 3, 0);
    for (int i = 0; i < SAMPLES; i++)
        seen[load_zipf_sample(&z, &r)]++;
    for (int k = 1; k <= 64; k++)
        h += pow(k, -0.8);
    for (int k = 1; k <= 64; k++) {
        double expect = SAMPLES * pow(k, -0.8) / h;

        chi += (seen[k] - expect) * (seen[k] - expect) / expect;
    }
    assert_true(chi > 103.4);
}

static void
test_large_catalogue_ratios(void **state)
{
    const uint64_t n = 1000000;
    const double alpha = 0.8;
    struct load_zipf z;
    struct load_rng r;
    uint64_t c1 = 0, c2 = 0, c10 = 0, top = 0;
    double h = 0;

    (void)state;
    assert_int_equal(load_zipf_init(&z, n, alpha), 0);
    load_rng_seed(&r, 9, 3, 0);
    for (int i = 0; i < 2000000; i++) {
        uint64_t k = load_zipf_sample(&z, &r);

        assert_true(k >= 1 && k <= n);
        c1 += k == 1;
        c2 += k == 2;
        c10 += k == 10;
        top += k <= 1000;
    }
    for (uint64_t k = 1; k <= n; k++)
        h += pow((double)k, -alpha);
    /* P(1)/P(2) = 2^0.8 = 1.741, P(1)/P(10) = 10^0.8 = 6.31. */
    assert_true(fabs((double)c1 / (double)c2 / pow(2, alpha) - 1) < 0.05);
    assert_true(fabs((double)c1 / (double)c10 / pow(10, alpha) - 1) < 0.08);
    assert_true(fabs((double)c1 / 2e6 * h - 1) < 0.03);
    {
        double htop = 0;

        for (uint64_t k = 1; k <= 1000; k++)
            htop += pow((double)k, -alpha);
        assert_true(fabs((double)top / 2e6 / (htop / h) - 1) < 0.02);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_rejects),
        cmocka_unit_test(test_single_rank),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_chi_square),
        cmocka_unit_test(test_chi_square_detects_mismatch),
        cmocka_unit_test(test_large_catalogue_ratios),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
