/*
 * Per-request results and their accumulation. Each worker thread owns one
 * tally per phase and is its only writer; the main thread reads the `live`
 * counters while the run goes (relaxed atomics) and merges the tallies
 * after the threads joined. The time series slices a phase into intervals
 * from a start time shared by all threads, so merged slots line up.
 */
#ifndef TOOLS_LOAD_TALLY_H
#define TOOLS_LOAD_TALLY_H

#include <stdint.h>

#include "tools/load/hist.h"
#include "tools/load/outcome.h"

#define LOAD_TALLY_MAGIC 0x74616c6cu
#define LOAD_STATUS_MAX 600 /* status codes 0..599 counted one by one */
#define LOAD_LAT_HIGHEST (1ull << 36) /* µs, about 19 hours */
#define LOAD_LAT_PRECISION 8          /* 0.4% relative error */
#define LOAD_SLOT_PRECISION 5         /* 3% relative error per interval */

enum load_err {
    LOAD_ERR_NONE = -1,
    LOAD_ERR_CONNECT,  /* could not connect */
    LOAD_ERR_TLS,      /* TLS handshake or record failure */
    LOAD_ERR_TIMEOUT,  /* no complete response within --timeout */
    LOAD_ERR_IO,       /* reset or closed before the response was complete */
    LOAD_ERR_PROTOCOL, /* a response we could not parse */
    LOAD_ERR_STATUS,   /* status >= 500 */
    LOAD_ERR__COUNT,
};

/* What happened to one request. */
struct load_result {
    int status; /* 0: no response */
    enum load_err err;
    enum load_outcome outcome;
    uint64_t body_bytes;
    uint64_t head_bytes;
    uint64_t start_us; /* intended send time (open loop) or send time */
    uint64_t done_us;
};

/* One interval of the time series. */
struct load_slot {
    uint64_t requests, responses, errors, hits, bytes;
    struct load_hist *lat; /* NULL until the first response */
};

struct load_tally {
    unsigned magic;
    uint64_t requests; /* live: written by the owner with relaxed stores */
    uint64_t errors;   /* live */
    uint64_t hits;     /* live */
    uint64_t responses; /* live */
    uint64_t err[LOAD_ERR__COUNT];
    uint64_t outcome[LOAD_OUT__COUNT];
    uint64_t status[LOAD_STATUS_MAX];
    uint64_t status_other;
    uint64_t body_bytes, head_bytes, hit_bytes;
    struct load_hist *lat; /* latency of requests that got a response, µs */
    uint64_t t0_us, interval_us;
    struct load_slot *slots;
    size_t n_slots, cap_slots;
};

/* A tally whose series starts at t0_us in steps of interval_us. */
struct load_tally *load_tally_new(uint64_t t0_us, uint64_t interval_us);
void load_tally_free(struct load_tally **tp);
void load_tally_record(struct load_tally *t, const struct load_result *r);
/* Adds src into dst (same t0 and interval). */
void load_tally_merge(struct load_tally *dst, const struct load_tally *src);
/* Folds a last interval shorter than half a step (the drain after the
   end of a phase, elapsed_us after t0) into the one before it, so no
   point of the series is computed over a sliver of time. */
void load_tally_fold_tail(struct load_tally *t, uint64_t elapsed_us);
/* Relaxed read of a live counter, safe while the owner writes. */
uint64_t load_tally_live(const uint64_t *counter);
/* "connect", "tls", "timeout", "io", "protocol", "status_5xx". */
const char *load_err_name(enum load_err e);

#endif
