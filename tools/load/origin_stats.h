/*
 * Reads strata-origin's counters (GET /__stats: JSON with at least
 * "requests" and "bytes") so strata-load can tell how much traffic reached
 * the origin during a run. Blocking, bounded by a timeout; called by the
 * main thread between phases only.
 */
#ifndef TOOLS_LOAD_ORIGIN_STATS_H
#define TOOLS_LOAD_ORIGIN_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "tools/load/options.h"

struct load_origin_stats {
    uint64_t requests; /* requests the origin answered */
    uint64_t bytes;    /* body bytes the origin sent */
};

/* Fetches t (http only). Returns 0, or -errno with a message in err. */
int load_origin_stats_fetch(const struct load_target *t, uint64_t timeout_ms,
                            struct load_origin_stats *out, char *err, size_t errlen);
/* Parses a /__stats body; -EINVAL when it is not the expected JSON. */
int load_origin_stats_parse(const char *body, size_t len, struct load_origin_stats *out);

#endif
