/*
 * A worker: one event loop with its share of the connections, driven by
 * one thread at a time. It issues requests closed-loop (each connection
 * sends again as soon as it is free) or open-loop on a fixed schedule:
 * request k of the run is due at start + k / rate, worker i takes every
 * k = i mod workers, and latency runs from the due time, so a slow server
 * cannot hide queueing delay (no coordinated omission, as in wrk2).
 * Request k's URL depends only on (seed, phase, k): see rng.h.
 */
#ifndef TOOLS_LOAD_WORKER_H
#define TOOLS_LOAD_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tools/load/tally.h"
#include "tools/load/tls.h"
#include "tools/load/workload.h"

#define LOAD_WORKER_MAGIC 0x776f726bu

/* What a phase (warm-up or measurement) asks of one worker. */
struct load_phase {
    uint64_t start_us; /* schedule origin and series start, same for all */
    uint64_t end_us;   /* no new request from then on; 0: no time limit */
    uint64_t quota;    /* requests to issue; UINT64_MAX: no limit */
    uint64_t stream;   /* LOAD_RNG_WARMUP or LOAD_RNG_MEASURE */
};

struct load_worker_cfg {
    const struct load_workload *wl; /* borrowed, shared */
    struct load_tls *tls;           /* borrowed, shared; NULL: plain */
    const struct sockaddr *addr;    /* borrowed */
    socklen_t addr_len;
    const char *sni;
    unsigned index, n_workers, n_conns;
    double rate; /* requests/s of the whole run; 0: closed loop */
    uint64_t seed;
    uint64_t timeout_us;
};

struct load_worker;

/* A worker and its (closed) connections; NULL when libevent fails. */
struct load_worker *load_worker_new(const struct load_worker_cfg *cfg);
void load_worker_free(struct load_worker **wp);
/* Runs one phase on the calling thread until it is over and every request
   in flight has ended; results go to t (owned by the caller). */
void load_worker_run(struct load_worker *w, const struct load_phase *ph, struct load_tally *t);
/* Open loop: requests due before the end of the last phase that were never
   sent because every connection was busy. */
uint64_t load_worker_unsent(const struct load_worker *w);
/* Requests dropped in flight by load_worker_stop_all(). */
uint64_t load_worker_abandoned(const struct load_worker *w);
/* Makes every worker drop what is in flight and end its phase soon.
   Async-signal-safe. */
void load_worker_stop_all(void);
bool load_worker_stopping(void);

#endif
