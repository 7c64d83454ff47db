/*
 * Storing and freshness (RFC 9111 §3, §4.2): whether a response may be
 * stored by a shared cache, its freshness lifetime after site rules, its
 * stale windows and its age. Lifetimes and ages are milliseconds; Date,
 * Expires, Last-Modified and Age have one-second resolution, so
 * apparent_age compares whole seconds (otherwise the truncation of Date
 * would age every response by up to a second).
 */
#include "config.h"

#include "cache/policy_int.h"

/* RFC 9110 §15.1: heuristically cacheable. */
bool
cache_status_cacheable(int status)
{
    switch (status) {
    case 200: case 203: case 204: case 206: case 300: case 301:
    case 308: case 404: case 405: case 410: case 414: case 501:
        return true;
    default:
        return false;
    }
}

/* Final statuses whose semantics we implement (for must-understand). */
static bool
status_understood(int s)
{
    if (cache_status_cacheable(s))
        return true;
    return (s >= 200 && s <= 206) || (s >= 300 && s <= 308 && s != 306) ||
           (s >= 400 && s <= 417) || s == 421 || s == 422 || s == 426 ||
           s == 428 || s == 429 || s == 431 || s == 451 ||
           (s >= 500 && s <= 505);
}

bool
cache_field_unstorable(const char *name, size_t len)
{
    static const char *const never[] = {
        "connection", "proxy-connection", "keep-alive", "te",
        "transfer-encoding", "upgrade", "trailer", "proxy-authenticate",
        "proxy-authentication-info", "proxy-authorization", "age",
        "set-cookie", "set-cookie2", "content-length",
    };

    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        if (pol_ieq(name, len, never[i]))
            return true;
    }
    return false;
}

/* Exactly one field named lc holding a valid HTTP-date. */
static int
one_date(const struct h1_field *f, uint32_t n, const char *lc, int64_t now_s,
         int64_t *t)
{
    const struct h1_field *fl = pol_field_find(f, n, lc);

    if (fl == NULL)
        return -1;
    if (pol_field_count(f, n, lc) != 1 || pol_date(fl, now_s, t) != 0)
        return -2;
    return 0;
}

/*
 * Age at receipt (§4.2.3 age_value). A list (one line "10, 20", or several
 * lines, which are one list) counts by its first member (§5.1); a first
 * member that is not delta-seconds makes the field ignored: 0.
 */
static int64_t
age_value(const struct h1_field *f, uint32_t n)
{
    const struct h1_field *fl = pol_field_find(f, n, "age");
    const char *p, *e;
    size_t elen;
    int64_t v;

    if (fl == NULL)
        return 0;
    p = fl->value;
    if (!pol_list_next(&p, fl->value + fl->value_len, &e, &elen) ||
        pol_delta(e, elen, &v) != 0)
        return 0;
    return v;
}

/* Expires counts unless a targeted field or the site overrides it. */
static bool
expires_applies(const struct cache_cc *cc, const struct cache_site_policy *sp)
{
    return cc->source != CACHE_CC_SRC_CDN && cc->source != CACHE_CC_SRC_NODE &&
           cc->source != CACHE_CC_SRC_SURROGATE && !sp->ignore_cache_control;
}

/* §4.2.1: s-maxage > max-age > Expires - Date; -1 when none. An invalid
 * or repeated Expires means already expired (§5.3). */
static int64_t
explicit_ms(const struct cache_meta *m, const struct h1_field *f, uint32_t n,
            const struct cache_cc *cc, const struct cache_site_policy *sp)
{
    int64_t exp;
    int rc;

    if (cc->s_maxage_s >= 0)
        return cc->s_maxage_s * 1000;
    if (cc->max_age_s >= 0)
        return cc->max_age_s * 1000;
    if (!expires_applies(cc, sp))
        return -1;
    rc = one_date(f, n, "expires", pol_floor_div(m->response_ms, 1000), &exp);
    if (rc == -1)
        return -1;
    if (rc != 0 || exp <= m->date_s)
        return 0;
    return (exp - m->date_s) * 1000;
}

static bool
heuristic_allowed(int status, const struct cache_cc *cc)
{
    return cache_status_cacheable(status) || (cc->flags & CACHE_CC_PUBLIC);
}

/* §4.2.2: 10% of Date - Last-Modified, capped; -1 when not allowed. */
static int64_t
heuristic_ms(const struct cache_meta *m, const struct cache_cc *cc,
             const struct cache_site_policy *sp)
{
    int64_t cap = sp->heuristic_cap_ms ? sp->heuristic_cap_ms
                                       : CACHE_HEURISTIC_CAP_MS;
    int64_t h;

    if (cap < 0 || !heuristic_allowed(m->status, cc) ||
        m->last_modified_s < 0 || m->last_modified_s > m->date_s)
        return -1;
    h = (m->date_s - m->last_modified_s) * 100;
    return h < cap ? h : cap;
}

/* Explicit, else the site default, else heuristic; then site clamps. */
static void
lifetime(struct cache_meta *m, const struct h1_field *f, uint32_t n,
         const struct cache_cc *cc, const struct cache_site_policy *sp)
{
    int64_t life = explicit_ms(m, f, n, cc, sp);

    if (life < 0 && sp->default_ttl_ms > 0 && heuristic_allowed(m->status, cc)) {
        life = sp->default_ttl_ms;
    } else if (life < 0) {
        life = heuristic_ms(m, cc, sp);
        if (life >= 0)
            m->flags |= CACHE_META_HEURISTIC;
    }
    if (life < 0) {
        m->lifetime_ms = 0; /* nothing to clamp: no lifetime was given */
        return;
    }
    if (sp->min_ttl_ms > 0 && life < sp->min_ttl_ms)
        life = sp->min_ttl_ms;
    if (sp->max_ttl_ms > 0 && life > sp->max_ttl_ms)
        life = sp->max_ttl_ms;
    m->lifetime_ms = life;
}

/*
 * RFC 5861 windows. must-revalidate / proxy-revalidate forbid both;
 * no-cache forbids serving without validation, so only an explicit
 * stale-if-error survives it. Site grace never overrides no-cache or
 * s-maxage (implied proxy-revalidate); the response's own windows do.
 */
static void
windows(struct cache_meta *m, const struct cache_cc *cc,
        const struct cache_site_policy *sp)
{
    bool grace = !(m->flags & (CACHE_META_MUST_REVALIDATE | CACHE_META_NO_CACHE |
                               CACHE_META_SHARED_MAXAGE));

    m->swr_ms = m->sie_ms = -1;
    if (m->flags & CACHE_META_MUST_REVALIDATE)
        return;
    if (cc->swr_s >= 0 && !(m->flags & CACHE_META_NO_CACHE))
        m->swr_ms = cc->swr_s * 1000;
    else if (grace && sp->swr_grace_ms > 0)
        m->swr_ms = sp->swr_grace_ms;
    if (cc->sie_s >= 0)
        m->sie_ms = cc->sie_s * 1000;
    else if (grace && sp->sie_grace_ms > 0)
        m->sie_ms = sp->sie_grace_ms;
}

void
cache_meta_fill(struct cache_meta *m, int status, const struct h1_field *f,
                uint32_t n, const struct cache_cc *cc,
                const struct cache_site_policy *sp, int64_t request_ms,
                int64_t response_ms)
{
    int64_t now_s = pol_floor_div(response_ms, 1000);

    sp = pol_site(sp);
    memset(m, 0, sizeof *m);
    m->status = status;
    m->request_ms = request_ms;
    m->response_ms = response_ms;
    if (one_date(f, n, "date", now_s, &m->date_s) != 0)
        m->date_s = now_s; /* RFC 9110 §6.6.1: the recipient's own time */
    m->age_s = age_value(f, n);
    if (one_date(f, n, "last-modified", now_s, &m->last_modified_s) != 0)
        m->last_modified_s = -1;
    if (cc->flags & (CACHE_CC_MUST_REVALIDATE | CACHE_CC_PROXY_REVALIDATE))
        m->flags |= CACHE_META_MUST_REVALIDATE;
    if (cc->flags & CACHE_CC_NO_CACHE)
        m->flags |= CACHE_META_NO_CACHE;
    if (cc->flags & CACHE_CC_IMMUTABLE)
        m->flags |= CACHE_META_IMMUTABLE;
    if (cc->s_maxage_s >= 0)
        m->flags |= CACHE_META_SHARED_MAXAGE;
    lifetime(m, f, n, cc, sp);
    windows(m, cc, sp);
}

/* §3: final, and understood where it matters; 206 and 304 never (we
 * store whole objects; a 304 only refreshes). */
static bool
status_storable(int status, const struct cache_cc *cc)
{
    if (status < 200 || status > 999 || status == 206 || status == 304)
        return false;
    return !(cc->flags & CACHE_CC_MUST_UNDERSTAND) || status_understood(status);
}

static bool
vary_star(const struct h1_field *f, uint32_t n)
{
    const struct h1_field *fl;
    uint32_t i = 0;

    while ((fl = pol_field_next(f, n, "vary", &i)) != NULL) {
        if (pol_list_has(fl->value, fl->value_len, "*", 1))
            return true;
    }
    return false;
}

/* Set-Cookie is stored only by a site rule or when the response names it
 * in a qualified private / no-cache (it is then left out of the head). */
static bool
cookie_blocks(const struct h1_field *f, uint32_t n, const struct cache_cc *cc,
              const struct cache_site_policy *sp)
{
    for (uint32_t i = 0; i < n && !sp->store_set_cookie; i++) {
        if ((pol_ieq(f[i].name, f[i].name_len, "set-cookie") ||
             pol_ieq(f[i].name, f[i].name_len, "set-cookie2")) &&
            !cache_cc_names_field(cc, f[i].name, f[i].name_len))
            return true;
    }
    return false;
}

/* §3: public, max-age, s-maxage or Expires make any status storable. */
static bool
explicitly_cacheable(const struct cache_exchange *x, const struct cache_cc *cc,
                     const struct cache_site_policy *sp)
{
    if (cc->flags & CACHE_CC_PUBLIC || cc->max_age_s >= 0 || cc->s_maxage_s >= 0)
        return true;
    return expires_applies(cc, sp) &&
           pol_field_find(x->resp_fields, x->n_resp_fields, "expires") != NULL;
}

/* Could anything ever reuse it: lifetime, a validator or a stale window. */
static bool
reusable(const struct cache_meta *m, const struct cache_exchange *x)
{
    if (m->lifetime_ms > 0 && !(m->flags & CACHE_META_NO_CACHE))
        return true;
    if (m->swr_ms > 0 || m->sie_ms > 0 || m->last_modified_s >= 0)
        return true;
    return pol_field_find(x->resp_fields, x->n_resp_fields, "etag") != NULL;
}

enum cache_store
cache_store_decide(struct cache_meta *m, const struct cache_exchange *x,
                   const struct cache_cc *rcc, const struct cache_cc *cc,
                   const struct cache_site_policy *sp)
{
    const struct h1_field *rf = x->resp_fields;
    uint32_t rn = x->n_resp_fields;
    bool no_store;

    sp = pol_site(sp);
    cache_meta_fill(m, x->status, rf, rn, cc, sp, x->request_ms, x->response_ms);
    if (x->method != H1_M_GET)
        return CACHE_STORE_METHOD;
    if (!status_storable(x->status, cc))
        return CACHE_STORE_STATUS;
    if (vary_star(rf, rn))
        return CACHE_STORE_VARY_STAR;
    /* §5.2.2.3: must-understand with an understood status lifts no-store */
    no_store = (cc->flags & CACHE_CC_NO_STORE) &&
               !(cc->flags & CACHE_CC_MUST_UNDERSTAND);
    if (no_store || (rcc != NULL && (rcc->flags & CACHE_CC_NO_STORE)))
        return CACHE_STORE_NO_STORE;
    if (cc->flags & CACHE_CC_PRIVATE)
        return CACHE_STORE_PRIVATE;
    if (pol_field_find(x->req_fields, x->n_req_fields, "authorization") &&
        !(cc->flags & (CACHE_CC_PUBLIC | CACHE_CC_MUST_REVALIDATE)) &&
        cc->s_maxage_s < 0)
        return CACHE_STORE_AUTHORIZATION; /* §3.5 */
    if (cookie_blocks(rf, rn, cc, sp))
        return CACHE_STORE_SET_COOKIE;
    if (!cache_status_cacheable(x->status) && !explicitly_cacheable(x, cc, sp))
        return CACHE_STORE_STATUS;
    if (!reusable(m, x))
        return CACHE_STORE_USELESS;
    return CACHE_STORE_OK;
}

bool
cache_response_invalidates(enum h1_method method, int status)
{
    bool safe = method == H1_M_GET || method == H1_M_HEAD ||
                method == H1_M_OPTIONS || method == H1_M_TRACE;

    return !safe && status >= 200 && status < 400;
}

const char *
cache_store_reason(enum cache_store v)
{
    static const char *const names[] = {
        [CACHE_STORE_OK] = "ok",
        [CACHE_STORE_METHOD] = "method",
        [CACHE_STORE_STATUS] = "status",
        [CACHE_STORE_NO_STORE] = "no-store",
        [CACHE_STORE_PRIVATE] = "private",
        [CACHE_STORE_AUTHORIZATION] = "authorization",
        [CACHE_STORE_SET_COOKIE] = "set-cookie",
        [CACHE_STORE_VARY_STAR] = "vary-star",
        [CACHE_STORE_USELESS] = "useless",
    };

    if ((unsigned)v >= sizeof names / sizeof names[0])
        return "unknown";
    return names[v];
}

void
cache_meta_refresh(struct cache_meta *m, const struct h1_field *stored,
                   uint32_t n_stored, const struct h1_field *f304,
                   uint32_t n304, const struct cache_site_policy *sp,
                   int64_t request_ms, int64_t response_ms)
{
    struct cache_cc cc;
    int status = m->status;

    cache_cc_parse_response(&cc, stored, n_stored, sp);
    cache_meta_fill(m, status, stored, n_stored, &cc, sp, request_ms,
                    response_ms);
    m->age_s = age_value(f304, n304); /* Age is never in the stored head */
}

/* §4.2.3 */
int64_t
cache_meta_age_ms(const struct cache_meta *m, int64_t now_ms)
{
    int64_t apparent = pol_floor_div(m->response_ms, 1000) - m->date_s;
    int64_t delay = m->response_ms - m->request_ms;
    int64_t corrected, initial, resident;

    apparent = apparent > 0 ? apparent * 1000 : 0;
    corrected = m->age_s * 1000 + (delay > 0 ? delay : 0);
    initial = apparent > corrected ? apparent : corrected;
    resident = now_ms - m->response_ms;
    return initial + (resident > 0 ? resident : 0);
}
