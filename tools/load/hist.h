/*
 * HDR-style latency histogram: log-linear buckets with 2^precision
 * sub-buckets per power of two, so any recorded value is reported within a
 * relative error of 2^-precision (0.4% at precision 8), from 1 up to
 * `highest`. Values below 2^(precision+1) are exact. Recording is a few
 * integer operations and never allocates. Single owner: each worker thread
 * fills its own and the main thread merges them after the threads joined.
 */
#ifndef TOOLS_LOAD_HIST_H
#define TOOLS_LOAD_HIST_H

#include <stdint.h>

#define LOAD_HIST_MAGIC 0x68697374u

struct load_hist {
    unsigned magic;
    unsigned precision;
    uint32_t n_buckets;
    uint64_t highest; /* larger values are recorded as highest */
    uint64_t count;
    uint64_t sum;
    uint64_t min; /* UINT64_MAX while empty */
    uint64_t max;
    uint64_t clamped; /* values that were above highest */
    uint64_t *counts;
};

/* Returns a histogram owned by the caller, or NULL when precision is not in
   1..16 or highest < 2^(precision+1). */
struct load_hist *load_hist_new(unsigned precision, uint64_t highest);
/* Frees *hp (NULL allowed); *hp is NULL afterwards. */
void load_hist_free(struct load_hist **hp);
void load_hist_reset(struct load_hist *h);
void load_hist_record(struct load_hist *h, uint64_t v);
/* Adds src into dst; -EINVAL when their precision or highest differ. */
int load_hist_merge(struct load_hist *dst, const struct load_hist *src);
/*
 * Value at percentile p (0..100): the highest value equivalent to the
 * bucket holding that rank, capped by the largest value recorded, so it is
 * never below the true value and within the relative error above it.
 * p = 0 gives the minimum. Returns 0 for an empty histogram.
 */
uint64_t load_hist_value_at(const struct load_hist *h, double p);
/* Exact mean of the recorded (clamped) values; 0 when empty. */
double load_hist_mean(const struct load_hist *h);

#endif
