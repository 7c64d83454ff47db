/*
 * Zipf(alpha) sampler over ranks 1..n: P(k) is proportional to 1 / k^alpha.
 * Rejection-inversion (Hörmann and Derflinger, 1996): O(1) memory and
 * expected O(1) time for any n and any alpha >= 0 (alpha = 0 is uniform),
 * so a catalogue of millions of objects costs nothing to set up.
 */
#ifndef TOOLS_LOAD_ZIPF_H
#define TOOLS_LOAD_ZIPF_H

#include <stdint.h>

#include "tools/load/rng.h"

struct load_zipf {
    uint64_t n;
    double alpha;
    double h_x1; /* H(1.5) - 1 */
    double h_n;  /* H(n + 0.5) */
    double s;    /* acceptance shortcut */
};

/* Prepares z; -EINVAL unless n >= 1 and alpha is finite and >= 0. */
int load_zipf_init(struct load_zipf *z, uint64_t n, double alpha);
/* Draws a rank in [1, n] from r. */
uint64_t load_zipf_sample(const struct load_zipf *z, struct load_rng *r);

#endif
