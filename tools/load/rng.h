/*
 * Counter-based random numbers for strata-load. Every random choice of a run
 * derives from (seed, stream, index) through SplitMix64, so request k of a
 * run picks the same URL whatever the thread count or timing: runs with the
 * same seed are reproducible. Header-only: the hot path inlines it.
 */
#ifndef TOOLS_LOAD_RNG_H
#define TOOLS_LOAD_RNG_H

#include <stdint.h>

/* Independent streams: one per kind of choice. */
#define LOAD_RNG_SIZES 0x73697a6573ull  /* object sizes and extensions */
#define LOAD_RNG_WARMUP 0x7761726dull   /* requests of the warm-up phase */
#define LOAD_RNG_MEASURE 0x6d656173ull  /* requests of the measured phase */

struct load_rng {
    uint64_t s;
};

static inline uint64_t
load_rng_next(struct load_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Seeds r for item index of stream in a run seeded with seed. */
static inline void
load_rng_seed(struct load_rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
    struct load_rng m = { seed ^ (stream * 0xd6e8feb86659fd93ull) };

    m.s = load_rng_next(&m) ^ (index * 0x9e3779b97f4a7c15ull);
    r->s = load_rng_next(&m);
}

/* Uniform double in [0, 1). */
static inline double
load_rng_double(struct load_rng *r)
{
    return (double)(load_rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
