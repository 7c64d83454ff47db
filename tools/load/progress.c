/* Progress line on stderr: carriage return and erase-to-end, no scrolling. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "tools/load/progress.h"

void
load_progress_init(struct load_progress *p, int mode)
{
    p->on = mode == 1 || (mode < 0 && isatty(STDERR_FILENO));
    p->shown = false;
    p->last_us = 0;
    p->last_requests = 0;
}

void
load_progress_update(struct load_progress *p, const char *phase, uint64_t now_us,
                     uint64_t start_us, uint64_t requests, uint64_t errors, uint64_t hits,
                     uint64_t responses)
{
    double rate = 0;

    if (!p->on)
        return;
    if (p->last_us < start_us || requests < p->last_requests) {
        p->last_us = start_us; /* a new phase */
        p->last_requests = 0;
    }
    if (now_us > p->last_us)
        rate = (double)(requests - p->last_requests) * 1e6 / (double)(now_us - p->last_us);
    fprintf(stderr, "\r\033[K%-7s %6.1fs  %10.0f req/s  %12llu requests  %8llu errors  "
                    "hit %5.1f%%",
            phase, (double)(now_us - start_us) / 1e6, rate, (unsigned long long)requests,
            (unsigned long long)errors,
            responses ? 100.0 * (double)hits / (double)responses : 0.0);
    fflush(stderr);
    p->shown = true;
    p->last_us = now_us;
    p->last_requests = requests;
}

void
load_progress_clear(struct load_progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->shown = false;
}
