/*
 * Zipf sampling by rejection-inversion. H is an integral of the hat function
 * h(x) = x^-alpha; a uniform draw between H(n + 0.5) and H(1.5) - 1 is
 * inverted to x, rounded to k, and accepted when it falls under the true
 * mass of k. The helpers keep H and its inverse exact near alpha = 1, where
 * the closed forms divide by zero.
 */
#include "config.h"

#include <errno.h>
#include <math.h>

#include "tools/load/zipf.h"

/* log1p(x) / x, with its series near 0. */
static double
helper1(double x)
{
    if (fabs(x) > 1e-8)
        return log1p(x) / x;
    return 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

/* expm1(x) / x, with its series near 0. */
static double
helper2(double x)
{
    if (fabs(x) > 1e-8)
        return expm1(x) / x;
    return 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x));
}

static double
hat(double alpha, double x)
{
    return exp(-alpha * log(x));
}

static double
hat_integral(double alpha, double x)
{
    double lx = log(x);

    return helper2((1 - alpha) * lx) * lx;
}

static double
hat_integral_inv(double alpha, double x)
{
    double t = x * (1 - alpha);

    if (t < -1)
        t = -1; /* rounding can push it just past the pole */
    return exp(helper1(t) * x);
}

int
load_zipf_init(struct load_zipf *z, uint64_t n, double alpha)
{
    if (n < 1 || !isfinite(alpha) || alpha < 0)
        return -EINVAL;
    z->n = n;
    z->alpha = alpha;
    z->h_x1 = hat_integral(alpha, 1.5) - 1;
    z->h_n = hat_integral(alpha, (double)n + 0.5);
    z->s = 2 - hat_integral_inv(alpha, hat_integral(alpha, 2.5) - hat(alpha, 2));
    return 0;
}

uint64_t
load_zipf_sample(const struct load_zipf *z, struct load_rng *r)
{
    /* Expected iterations are below 1.1 for every alpha; the bound only
       guards against a broken float environment. */
    for (int i = 0; i < 1000; i++) {
        double u = z->h_n + load_rng_double(r) * (z->h_x1 - z->h_n);
        double x = hat_integral_inv(z->alpha, u);
        double kd = floor(x + 0.5);
        uint64_t k;

        if (kd < 1)
            kd = 1;
        else if (kd > (double)z->n)
            kd = (double)z->n;
        k = (uint64_t)kd;
        if (kd - x <= z->s ||
            u >= hat_integral(z->alpha, kd + 0.5) - hat(z->alpha, kd))
            return k;
    }
    return 1;
}
