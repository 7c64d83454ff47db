/*
 * The live progress line: elapsed time, req/s over the last second,
 * errors and hit ratio, rewritten in place on stderr about once a second.
 * Shown only when enabled (by default: stderr is a terminal), so logs and
 * pipes stay clean. Used by the main thread only.
 */
#ifndef TOOLS_LOAD_PROGRESS_H
#define TOOLS_LOAD_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct load_progress {
    bool on;
    bool shown; /* a line is on screen */
    uint64_t last_us, last_requests;
};

/* mode: -1 when stderr is a terminal, 0 never, 1 always. */
void load_progress_init(struct load_progress *p, int mode);
/* Totals so far of the phase that started at start_us; phase is a label
   ("warm-up", "run"). */
void load_progress_update(struct load_progress *p, const char *phase, uint64_t now_us,
                          uint64_t start_us, uint64_t requests, uint64_t errors,
                          uint64_t hits, uint64_t responses);
/* Erases the line before other output. */
void load_progress_clear(struct load_progress *p);

#endif
