/*
 * Reusing a stored response (RFC 9111 §4, §4.2.4, §5.2.1; RFC 5861):
 * fresh, stale but allowed, or validate first. The request's directives
 * can only make a stored response less acceptable, except max-stale and
 * stale-if-error, which accept staleness the response did not forbid.
 * The response's windows extend its lifetime (age < lifetime + window);
 * the request's limits are "no more than" (staleness <= limit). Also the
 * Age and Cache-Status ttl= values in whole seconds.
 */
#include "config.h"

#include "cache/policy_int.h"

/* No stale serving at all (must-revalidate / proxy-revalidate). */
static bool
never_stale(const struct cache_meta *m)
{
    return (m->flags & CACHE_META_MUST_REVALIDATE) != 0;
}

/* Staleness the request accepts on its own (§5.2.1.2), in ms; -1 none.
 * s-maxage implies proxy-revalidate, which the client cannot relax. */
static int64_t
client_stale_ms(const struct cache_meta *m, const struct cache_cc *rcc)
{
    if (rcc == NULL || rcc->max_stale_s < 0 ||
        (m->flags & (CACHE_META_SHARED_MAXAGE | CACHE_META_NO_CACHE)))
        return -1;
    return rcc->max_stale_s * 1000;
}

/* Request max-age and min-fresh (§5.2.1.1, §5.2.1.3) met? */
static bool
request_limits_ok(const struct cache_meta *m, const struct cache_cc *rcc,
                  int64_t age)
{
    if (rcc == NULL)
        return true;
    if (rcc->max_age_s >= 0 && age > rcc->max_age_s * 1000)
        return false;
    if (rcc->min_fresh_s >= 0 && m->lifetime_ms - age < rcc->min_fresh_s * 1000)
        return false;
    return true;
}

static enum cache_serve
decide(const struct cache_meta *m, const struct cache_cc *rcc, int64_t now_ms)
{
    int64_t age = cache_meta_age_ms(m, now_ms);
    int64_t stale = age - m->lifetime_ms; /* > -1 ms: stale */
    int64_t client;

    if (rcc != NULL && (rcc->flags & CACHE_CC_NO_CACHE))
        return CACHE_SERVE_MUST_VALIDATE; /* §5.2.1.4 */
    if (m->flags & CACHE_META_NO_CACHE)
        return CACHE_SERVE_MUST_VALIDATE; /* §5.2.2.4 */
    if (!request_limits_ok(m, rcc, age))
        return CACHE_SERVE_MUST_VALIDATE;
    if (stale < 0)
        return CACHE_SERVE_FRESH;
    if (never_stale(m))
        return CACHE_SERVE_MUST_VALIDATE; /* §5.2.2.2, §5.2.2.8 */
    if (m->swr_ms >= 0 && stale < m->swr_ms)
        return CACHE_SERVE_STALE_REVALIDATE;
    client = client_stale_ms(m, rcc);
    if (client >= 0 && stale <= client)
        return CACHE_SERVE_STALE_OK;
    return CACHE_SERVE_MUST_VALIDATE;
}

enum cache_serve
cache_serve_decide(const struct cache_meta *m, const struct cache_cc *rcc,
                   int64_t now_ms)
{
    enum cache_serve d = decide(m, rcc, now_ms);

    /* §5.2.1.7: only a stored response, or 504 */
    if (d == CACHE_SERVE_MUST_VALIDATE && rcc != NULL &&
        (rcc->flags & CACHE_CC_ONLY_IF_CACHED))
        return CACHE_SERVE_GATEWAY_TIMEOUT;
    return d;
}

bool
cache_serve_request_forbids(const struct cache_meta *m, const struct cache_cc *rcc,
                            int64_t now_ms)
{
    return rcc != NULL && decide(m, NULL, now_ms) == CACHE_SERVE_FRESH &&
           decide(m, rcc, now_ms) == CACHE_SERVE_MUST_VALIDATE;
}

bool
cache_serve_stale_on_error(const struct cache_meta *m,
                           const struct cache_cc *rcc, int64_t now_ms)
{
    int64_t stale = cache_meta_age_ms(m, now_ms) - m->lifetime_ms;
    bool own_windows_only = (m->flags & CACHE_META_SHARED_MAXAGE) != 0;

    if (never_stale(m))
        return false;
    if (m->sie_ms >= 0 && stale < m->sie_ms)
        return true;
    if (m->flags & CACHE_META_NO_CACHE)
        return false; /* only its own stale-if-error may relax no-cache */
    if (stale < 0)
        return true; /* still fresh: serving it needs no excuse */
    if (own_windows_only || rcc == NULL)
        return false;
    /* RFC 5861 §4 request stale-if-error, and max-stale (§5.2.1.2) */
    if (rcc->sie_s >= 0 && stale <= rcc->sie_s * 1000)
        return true;
    return rcc->max_stale_s >= 0 && stale <= rcc->max_stale_s * 1000;
}

/* Seconds for the Age field (§5.1) and Cache-Status ttl= (RFC 9211). */
int64_t
cache_meta_age_s(const struct cache_meta *m, int64_t now_ms)
{
    int64_t s = cache_meta_age_ms(m, now_ms) / 1000;

    return s < CACHE_DELTA_MAX ? s : CACHE_DELTA_MAX;
}

int64_t
cache_meta_ttl_s(const struct cache_meta *m, int64_t now_ms)
{
    int64_t left = m->lifetime_ms - cache_meta_age_ms(m, now_ms);
    int64_t s = pol_floor_div(left, 1000);

    if (left > 0)
        return s;
    return s < -1 ? s : -1;
}

bool
cache_meta_is_fresh(const struct cache_meta *m, int64_t now_ms)
{
    return cache_meta_age_ms(m, now_ms) < m->lifetime_ms;
}
