/*
 * Cache outcome of one response as the client sees it, from the
 * `Cache-Status` field (RFC 9211) or, for caches that do not send it,
 * `X-Cache` (HIT/MISS and the variants of Squid, nginx, Varnish VCLs and
 * CDNs). Pure functions over field values.
 */
#ifndef TOOLS_LOAD_OUTCOME_H
#define TOOLS_LOAD_OUTCOME_H

#include <stddef.h>

enum load_outcome {
    LOAD_OUT_HIT,    /* answered from a cache */
    LOAD_OUT_MISS,   /* forwarded because the cache lacked a usable copy */
    LOAD_OUT_BYPASS, /* forwarded without a cache lookup (fwd=bypass etc.) */
    LOAD_OUT_NONE,   /* no cache outcome in the response */
    LOAD_OUT_NORESP, /* no response at all (an error) */
    LOAD_OUT__COUNT,
};

/*
 * Classifies a Cache-Status value v[0..len). Only the last list member
 * counts: it is the cache nearest to the client. "hit" gives HIT; a fwd
 * parameter of bypass, method or request gives BYPASS, any other fwd MISS;
 * neither gives NONE.
 */
enum load_outcome load_outcome_cache_status(const char *v, size_t len);
/* Classifies an X-Cache value by its last comma-separated member. */
enum load_outcome load_outcome_x_cache(const char *v, size_t len);
/* "hit", "miss", "bypass", "none", "no_response". */
const char *load_outcome_name(enum load_outcome o);

#endif
