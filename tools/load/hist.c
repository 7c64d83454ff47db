/*
 * Log-linear histogram. With P = precision, a value v >= 2^(P+1) with most
 * significant bit m falls in octave shift = m - P, whose 2^P buckets are
 * 2^shift wide; below 2^(P+1) buckets are 1 wide. A bucket's width is thus
 * at most 2^-P of its lower bound, which is the relative error bound.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "tools/load/hist.h"

static uint32_t
bucket_of(unsigned p, uint64_t v)
{
    unsigned msb, shift;

    if (v < (2ull << p))
        return (uint32_t)v;
    msb = 63u - (unsigned)__builtin_clzll(v);
    shift = msb - p;
    return (uint32_t)((2ull << p) + ((uint64_t)(shift - 1) << p) +
                      ((v >> shift) - (1ull << p)));
}

/* Highest value that lands in bucket i. */
static uint64_t
bucket_top(unsigned p, uint32_t i)
{
    uint64_t j, shift, low;

    if (i < (2ull << p))
        return i;
    j = i - (2ull << p);
    shift = (j >> p) + 1;
    low = ((j & ((1ull << p) - 1)) + (1ull << p)) << shift;
    return low + (1ull << shift) - 1;
}

struct load_hist *
load_hist_new(unsigned precision, uint64_t highest)
{
    struct load_hist *h;

    if (precision < 1 || precision > 16 || highest < (2ull << precision))
        return NULL;
    h = xcalloc(1, sizeof *h);
    h->magic = LOAD_HIST_MAGIC;
    h->precision = precision;
    h->highest = highest;
    h->n_buckets = bucket_of(precision, highest) + 1;
    h->counts = xcalloc(h->n_buckets, sizeof *h->counts);
    h->min = UINT64_MAX;
    return h;
}

void
load_hist_free(struct load_hist **hp)
{
    struct load_hist *h = *hp;

    *hp = NULL;
    if (h == NULL)
        return;
    CHECK_OBJ(h, LOAD_HIST_MAGIC);
    free(h->counts);
    h->magic = 0;
    free(h);
}

void
load_hist_reset(struct load_hist *h)
{
    CHECK_OBJ(h, LOAD_HIST_MAGIC);
    memset(h->counts, 0, h->n_buckets * sizeof *h->counts);
    h->count = h->sum = h->max = h->clamped = 0;
    h->min = UINT64_MAX;
}

void
load_hist_record(struct load_hist *h, uint64_t v)
{
    if (v > h->highest) {
        v = h->highest;
        h->clamped++;
    }
    h->counts[bucket_of(h->precision, v)]++;
    h->count++;
    h->sum += v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

int
load_hist_merge(struct load_hist *dst, const struct load_hist *src)
{
    CHECK_OBJ(dst, LOAD_HIST_MAGIC);
    CHECK_OBJ(src, LOAD_HIST_MAGIC);
    if (dst->precision != src->precision || dst->highest != src->highest)
        return -EINVAL;
    for (uint32_t i = 0; i < dst->n_buckets; i++)
        dst->counts[i] += src->counts[i];
    dst->count += src->count;
    dst->sum += src->sum;
    dst->clamped += src->clamped;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    return 0;
}

uint64_t
load_hist_value_at(const struct load_hist *h, double p)
{
    uint64_t rank, seen = 0;

    CHECK_OBJ(h, LOAD_HIST_MAGIC);
    if (h->count == 0)
        return 0;
    if (p <= 0)
        return h->min;
    if (p >= 100)
        return h->max;
    /* Smallest rank whose share of the count reaches p; the small
       tolerance keeps 50% of 10 at rank 5 despite rounding. */
    rank = (uint64_t)ceil((p / 100.0) * (double)h->count - 1e-9);
    if (rank < 1)
        rank = 1;
    for (uint32_t i = 0; i < h->n_buckets; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t top = bucket_top(h->precision, i);

            if (top > h->max)
                top = h->max;
            return top < h->min ? h->min : top;
        }
    }
    return h->max;
}

double
load_hist_mean(const struct load_hist *h)
{
    CHECK_OBJ(h, LOAD_HIST_MAGIC);
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}
