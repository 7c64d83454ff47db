/*
 * Storing and freshness: the storability rules of RFC 9111 §3 (method,
 * status, no-store, private, Authorization, Set-Cookie, Vary: *), the
 * lifetime precedence s-maxage > max-age > Expires > heuristic (§4.2.1-2),
 * invalid Expires, Age (§4.2.3), targeted fields, site overrides and the
 * stale windows recorded in the metadata.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cache/policy.h"

#define NF(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))
#define D 784111777LL /* Sun, 06 Nov 1994 08:49:37 GMT */
#define DATE "Sun, 06 Nov 1994 08:49:37 GMT"
#define T0 (D * 1000) /* the response arrives at its Date */

static struct cache_meta m;

static struct h1_field
fld(const char *name, const char *value)
{
    struct h1_field f = { .name = name, .name_len = (uint32_t)strlen(name),
                          .value = value,
                          .value_len = (uint32_t)strlen(value) };

    return f;
}

/* IMF-fixdate of t, from a small ring of buffers. */
static const char *
at(int64_t t)
{
    static char ring[8][CACHE_DATE_LEN + 1];
    static unsigned i;
    char *b = ring[i++ % 8];

    cache_date_format(t, b);
    return b;
}

static enum cache_store
store_full(enum h1_method method, int status, const struct h1_field *rf,
           uint32_t rn, const struct h1_field *qf, uint32_t qn,
           const struct cache_site_policy *sp)
{
    struct cache_exchange x = {
        .method = method, .req_fields = qf, .n_req_fields = qn,
        .status = status, .resp_fields = rf, .n_resp_fields = rn,
        .request_ms = T0, .response_ms = T0,
    };
    struct cache_cc rcc, cc;

    cache_cc_parse_request(&rcc, qf, qn, sp);
    cache_cc_parse_response(&cc, rf, rn, sp);
    return cache_store_decide(&m, &x, &rcc, &cc, sp);
}

static enum cache_store
store(int status, const struct h1_field *rf, uint32_t rn)
{
    return store_full(H1_M_GET, status, rf, rn, NULL, 0, NULL);
}

static enum cache_store
store_sp(int status, const struct h1_field *rf, uint32_t rn,
         const struct cache_site_policy *sp)
{
    return store_full(H1_M_GET, status, rf, rn, NULL, 0, sp);
}

static void
test_lifetime_precedence(void **state)
{
    struct h1_field f[] = { fld("Date", DATE),
                            fld("Last-Modified", at(D - 1000)),
                            fld("Expires", at(D + 300)),
                            fld("Cache-Control", "max-age=60, s-maxage=120") };

    (void)state;
    assert_int_equal(store(200, f, 4), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 120000); /* s-maxage */
    assert_true(m.flags & CACHE_META_SHARED_MAXAGE);
    f[3] = fld("Cache-Control", "max-age=60");
    assert_int_equal(store(200, f, 4), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 60000); /* max-age */
    assert_false(m.flags & CACHE_META_SHARED_MAXAGE);
    assert_int_equal(store(200, f, 3), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 300000); /* Expires - Date */
    assert_false(m.flags & CACHE_META_HEURISTIC);
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 100000); /* 10% of 1000 s */
    assert_true(m.flags & CACHE_META_HEURISTIC);
    assert_int_equal(m.last_modified_s, D - 1000);
    assert_int_equal(m.date_s, D);
}

static void
test_expires_edge_cases(void **state)
{
    struct h1_field f[] = { fld("Date", DATE), fld("ETag", "\"v1\""),
                            fld("Expires", "0"), fld("Expires", at(D + 60)) };

    (void)state;
    /* §5.3: invalid (notably "0") means already expired */
    assert_int_equal(store(200, f, 3), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 0);
    f[2] = fld("Expires", at(D - 60));
    assert_int_equal(store(200, f, 3), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 0);
    f[2] = fld("Expires", "Sun, 06 Nov 1994 08:49:37 UTC");
    assert_int_equal(store(200, f, 3), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 0);
    /* two Expires fields: stale (§4.2.1) */
    f[2] = fld("Expires", at(D + 60));
    assert_int_equal(store(200, f, 4), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 0);
    /* expired and no validator: nothing could reuse it */
    f[1] = fld("X-Other", "1");
    f[2] = fld("Expires", "0");
    assert_int_equal(store(200, f, 3), CACHE_STORE_USELESS);
}

static void
test_expires_without_date_and_invalid_max_age(void **state)
{
    struct h1_field f[] = { fld("Expires", at(D + 90)),
                            fld("Cache-Control", "max-age=abc"),
                            fld("ETag", "\"x\"") };

    (void)state;
    /* no Date: the response time stands in (RFC 9110 §6.6.1) */
    assert_int_equal(store(200, f, 1), CACHE_STORE_OK);
    assert_int_equal(m.date_s, D);
    assert_int_equal(m.lifetime_ms, 90000);
    /* an invalid max-age still overrides Expires: stale */
    assert_int_equal(store(200, f, 3), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 0);
    /* an invalid Date is replaced too */
    f[1] = fld("Date", "yesterday");
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    assert_int_equal(m.date_s, D);
}

static void
test_heuristic_rules(void **state)
{
    struct cache_site_policy sp = { .heuristic_cap_ms = 3600 * 1000 };
    struct cache_site_policy off = { .heuristic_cap_ms = -1 };
    struct h1_field f[] = { fld("Date", DATE),
                            fld("Last-Modified", at(D - 100 * 86400)),
                            fld("Cache-Control", "public") };

    (void)state;
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, CACHE_HEURISTIC_CAP_MS); /* 10 days cut */
    assert_int_equal(store_sp(200, f, 2, &sp), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 3600 * 1000);
    assert_int_equal(store_sp(200, f, 2, &off), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 0); /* kept for revalidation only */
    assert_false(m.flags & CACHE_META_HEURISTIC);
    /* 302 is not heuristically cacheable: not storable without more */
    assert_int_equal(store(302, f, 2), CACHE_STORE_STATUS);
    /* public makes it explicitly cacheable, heuristic allowed (§4.2.2) */
    assert_int_equal(store(302, f, 3), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, CACHE_HEURISTIC_CAP_MS);
    /* Last-Modified after Date: no heuristic */
    f[1] = fld("Last-Modified", at(D + 10));
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 0);
}

static void
test_default_cacheable_statuses(void **state)
{
    static const int yes[] = { 200, 203, 204, 300, 301, 308,
                               404, 405, 410, 414, 501 };
    static const int no[] = { 201, 202, 302, 303, 307, 400,
                              403, 500, 502, 503, 299 };
    struct h1_field f[] = { fld("Date", DATE),
                            fld("Last-Modified", at(D - 1000)) };
    unsigned bad = 0;

    (void)state;
    for (size_t i = 0; i < NF(yes); i++) {
        bad += store(yes[i], f, 2) != CACHE_STORE_OK;
        bad += m.lifetime_ms != 100000;
        bad += !cache_status_cacheable(yes[i]);
    }
    for (size_t i = 0; i < NF(no); i++) {
        bad += store(no[i], f, 2) != CACHE_STORE_STATUS;
        bad += cache_status_cacheable(no[i]);
    }
    assert_int_equal(bad, 0);
    assert_true(cache_status_cacheable(206));
}

static void
test_other_statuses_need_explicit_freshness(void **state)
{
    struct h1_field f[] = { fld("Date", DATE), fld("Cache-Control", "max-age=30"),
                            fld("Expires", at(D + 30)) };
    struct h1_field e[] = { fld("Date", DATE), fld("Expires", at(D + 30)) };

    (void)state;
    assert_int_equal(store(302, f, 2), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 30000);
    assert_int_equal(store(500, e, 2), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 30000);
    assert_int_equal(store(599, f, 2), CACHE_STORE_OK);
    /* never: interim, partial (we store whole objects), 304 */
    assert_int_equal(store(100, f, 2), CACHE_STORE_STATUS);
    assert_int_equal(store(206, f, 2), CACHE_STORE_STATUS);
    assert_int_equal(store(304, f, 2), CACHE_STORE_STATUS);
}

static void
test_methods(void **state)
{
    struct h1_field f[] = { fld("Cache-Control", "max-age=60") };

    (void)state;
    assert_int_equal(store_full(H1_M_HEAD, 200, f, 1, NULL, 0, NULL),
                     CACHE_STORE_METHOD);
    assert_int_equal(store_full(H1_M_POST, 200, f, 1, NULL, 0, NULL),
                     CACHE_STORE_METHOD);
    assert_int_equal(store_full(H1_M_OTHER, 200, f, 1, NULL, 0, NULL),
                     CACHE_STORE_METHOD);
    /* metadata is filled whatever the verdict */
    assert_int_equal(m.lifetime_ms, 60000);
    assert_int_equal(store_full(H1_M_GET, 200, f, 1, NULL, 0, NULL),
                     CACHE_STORE_OK);
}

static void
test_no_store_and_must_understand(void **state)
{
    struct h1_field f[] = { fld("Cache-Control", "max-age=60, no-store") };
    struct h1_field mu[] = { fld("Cache-Control",
                                 "max-age=60, no-store, must-understand") };
    struct h1_field q[] = { fld("Cache-Control", "no-store") };
    struct h1_field ok[] = { fld("Cache-Control", "max-age=60") };
    struct cache_site_policy sp = { .ignore_request_cc = true };

    (void)state;
    assert_int_equal(store(200, f, 1), CACHE_STORE_NO_STORE);
    /* §5.2.2.3: an understood status lifts no-store */
    assert_int_equal(store(200, mu, 1), CACHE_STORE_OK);
    assert_int_equal(store(299, mu, 1), CACHE_STORE_STATUS);
    /* request no-store (§5.2.1.5) */
    assert_int_equal(store_full(H1_M_GET, 200, ok, 1, q, 1, NULL),
                     CACHE_STORE_NO_STORE);
    assert_int_equal(store_full(H1_M_GET, 200, ok, 1, q, 1, &sp),
                     CACHE_STORE_OK);
}

static void
test_private(void **state)
{
    struct h1_field f[] = { fld("Cache-Control", "private, max-age=60") };
    struct h1_field q[] = { fld("Cache-Control", "private=\"X-User\", max-age=60"),
                            fld("X-User", "bob") };

    (void)state;
    assert_int_equal(store(200, f, 1), CACHE_STORE_PRIVATE);
    assert_int_equal(store(200, q, 2), CACHE_STORE_OK);
}

static void
test_authorization(void **state)
{
    struct h1_field auth[] = { fld("Authorization", "Bearer x") };
    struct h1_field f[] = { fld("Cache-Control", "max-age=60") };

    (void)state;
    assert_int_equal(store_full(H1_M_GET, 200, f, 1, auth, 1, NULL),
                     CACHE_STORE_AUTHORIZATION);
    f[0] = fld("Cache-Control", "max-age=60, public");
    assert_int_equal(store_full(H1_M_GET, 200, f, 1, auth, 1, NULL),
                     CACHE_STORE_OK);
    f[0] = fld("Cache-Control", "s-maxage=60");
    assert_int_equal(store_full(H1_M_GET, 200, f, 1, auth, 1, NULL),
                     CACHE_STORE_OK);
    f[0] = fld("Cache-Control", "max-age=60, must-revalidate");
    assert_int_equal(store_full(H1_M_GET, 200, f, 1, auth, 1, NULL),
                     CACHE_STORE_OK);
    f[0] = fld("Cache-Control", "max-age=60, proxy-revalidate");
    assert_int_equal(store_full(H1_M_GET, 200, f, 1, auth, 1, NULL),
                     CACHE_STORE_AUTHORIZATION);
}

static void
test_set_cookie(void **state)
{
    struct cache_site_policy sp = { .store_set_cookie = true };
    struct h1_field f[] = { fld("Cache-Control", "max-age=60"),
                            fld("Set-Cookie", "a=1") };

    (void)state;
    assert_int_equal(store(200, f, 2), CACHE_STORE_SET_COOKIE);
    assert_int_equal(store_sp(200, f, 2, &sp), CACHE_STORE_OK);
    f[0] = fld("Cache-Control", "max-age=60, no-cache=\"Set-Cookie\"");
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    f[0] = fld("Cache-Control", "max-age=60, private=\"set-cookie\"");
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    f[0] = fld("Cache-Control", "max-age=60, private=\"X-Other\"");
    assert_int_equal(store(200, f, 2), CACHE_STORE_SET_COOKIE);
}

static void
test_vary_star(void **state)
{
    struct h1_field f[] = { fld("Cache-Control", "max-age=60"),
                            fld("Vary", "Accept-Encoding") };

    (void)state;
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    f[1] = fld("Vary", "*");
    assert_int_equal(store(200, f, 2), CACHE_STORE_VARY_STAR);
    f[1] = fld("Vary", "Accept, *");
    assert_int_equal(store(200, f, 2), CACHE_STORE_VARY_STAR);
}

static void
test_useless_and_no_cache(void **state)
{
    struct h1_field none[] = { fld("Date", DATE) };
    struct h1_field etag[] = { fld("Date", DATE), fld("ETag", "\"e\"") };
    struct h1_field nc[] = { fld("Cache-Control", "no-cache, max-age=60"),
                             fld("ETag", "\"e\"") };

    (void)state;
    assert_int_equal(store(200, none, 1), CACHE_STORE_USELESS);
    assert_int_equal(store(200, etag, 2), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 0);
    assert_int_equal(store(200, nc, 1), CACHE_STORE_USELESS);
    assert_int_equal(store(200, nc, 2), CACHE_STORE_OK);
    assert_true(m.flags & CACHE_META_NO_CACHE);
    assert_int_equal(m.lifetime_ms, 60000);
}

static void
test_targeted_fields(void **state)
{
    struct h1_field f[] = { fld("Cache-Control", "no-store"),
                            fld("CDN-Cache-Control", "max-age=600") };
    struct h1_field g[] = { fld("Date", DATE), fld("Expires", at(D + 60)),
                            fld("Last-Modified", at(D - 1000)),
                            fld("CDN-Cache-Control", "public") };
    struct h1_field none[] = { fld("Cache-Control", "no-store"),
                               fld("CDN-Cache-Control", "none"),
                               fld("ETag", "\"e\"") };

    (void)state;
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 600000);
    /* the targeted field is used instead of Cache-Control and Expires */
    assert_int_equal(store(200, g, 4), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 100000);
    assert_true(m.flags & CACHE_META_HEURISTIC);
    /* RFC 9213 §3.1: no-store for everyone but CDNs */
    assert_int_equal(store(200, none, 3), CACHE_STORE_OK);
    f[1] = fld("CDN-Cache-Control", "private");
    assert_int_equal(store(200, f, 2), CACHE_STORE_PRIVATE);
}

static void
test_site_ttl_rules(void **state)
{
    struct cache_site_policy def = { .default_ttl_ms = 300000 };
    struct cache_site_policy clamp = { .min_ttl_ms = 60000,
                                       .max_ttl_ms = 3600000 };
    struct cache_site_policy ign = { .ignore_cache_control = true,
                                     .default_ttl_ms = 300000 };
    struct h1_field f[] = { fld("Date", DATE),
                            fld("Last-Modified", at(D - 1000)),
                            fld("Cache-Control", "max-age=10") };
    struct h1_field priv[] = { fld("Cache-Control", "private, no-store"),
                               fld("Expires", "0") };

    (void)state;
    assert_int_equal(store_sp(200, f, 3, &def), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 10000); /* explicit beats default */
    assert_int_equal(store_sp(200, f, 2, &def), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 300000); /* default beats heuristic */
    assert_false(m.flags & CACHE_META_HEURISTIC);
    assert_int_equal(store_sp(200, f, 1, &def), CACHE_STORE_OK);
    assert_int_equal(store_sp(500, f, 1, &def), CACHE_STORE_STATUS);
    assert_int_equal(store_sp(200, f, 3, &clamp), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 60000);
    f[2] = fld("Cache-Control", "max-age=86400");
    assert_int_equal(store_sp(200, f, 3, &clamp), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 3600000);
    /* clamps bound a lifetime; they do not invent one */
    assert_int_equal(store_sp(200, f, 1, &clamp), CACHE_STORE_USELESS);
    assert_int_equal(m.lifetime_ms, 0);
    assert_int_equal(store_sp(200, priv, 2, &ign), CACHE_STORE_OK);
    assert_int_equal(m.lifetime_ms, 300000);
}

static void
test_stale_windows(void **state)
{
    struct cache_site_policy grace = { .swr_grace_ms = 10000,
                                       .sie_grace_ms = 3600000 };
    struct h1_field f[] = { fld("Cache-Control", "max-age=60, "
                                "stale-while-revalidate=30, stale-if-error=600") };

    (void)state;
    assert_int_equal(store(200, f, 1), CACHE_STORE_OK);
    assert_int_equal(m.swr_ms, 30000);
    assert_int_equal(m.sie_ms, 600000);
    assert_int_equal(store_sp(200, f, 1, &grace), CACHE_STORE_OK);
    assert_int_equal(m.swr_ms, 30000); /* the response's own win */
    f[0] = fld("Cache-Control", "max-age=60");
    assert_int_equal(store(200, f, 1), CACHE_STORE_OK);
    assert_int_equal(m.swr_ms, -1); /* RFC-pure: nothing stale by default */
    assert_int_equal(m.sie_ms, -1);
    assert_int_equal(store_sp(200, f, 1, &grace), CACHE_STORE_OK);
    assert_int_equal(m.swr_ms, 10000);
    assert_int_equal(m.sie_ms, 3600000);
    f[0] = fld("Cache-Control", "max-age=60, must-revalidate, "
               "stale-while-revalidate=30, stale-if-error=600");
    assert_int_equal(store_sp(200, f, 1, &grace), CACHE_STORE_OK);
    assert_true(m.flags & CACHE_META_MUST_REVALIDATE);
    assert_int_equal(m.swr_ms, -1);
    assert_int_equal(m.sie_ms, -1);
    f[0] = fld("Cache-Control", "max-age=60, proxy-revalidate");
    assert_int_equal(store_sp(200, f, 1, &grace), CACHE_STORE_OK);
    assert_true(m.flags & CACHE_META_MUST_REVALIDATE);
    assert_int_equal(m.sie_ms, -1);
}

static void
test_windows_with_no_cache_and_s_maxage(void **state)
{
    struct cache_site_policy grace = { .swr_grace_ms = 10000,
                                       .sie_grace_ms = 20000 };
    struct h1_field f[] = { fld("Cache-Control", "no-cache, max-age=60, "
                                "stale-while-revalidate=30, stale-if-error=600"),
                            fld("ETag", "\"e\"") };

    (void)state;
    assert_int_equal(store_sp(200, f, 2, &grace), CACHE_STORE_OK);
    assert_int_equal(m.swr_ms, -1);     /* no serving without validation */
    assert_int_equal(m.sie_ms, 600000); /* but its own stale-if-error */
    f[0] = fld("Cache-Control", "no-cache, max-age=60");
    assert_int_equal(store_sp(200, f, 2, &grace), CACHE_STORE_OK);
    assert_int_equal(m.sie_ms, -1); /* grace never relaxes no-cache */
    f[0] = fld("Cache-Control", "s-maxage=60");
    assert_int_equal(store_sp(200, f, 2, &grace), CACHE_STORE_OK);
    assert_int_equal(m.swr_ms, -1); /* s-maxage implies proxy-revalidate */
    assert_int_equal(m.sie_ms, -1);
    f[0] = fld("Cache-Control", "s-maxage=1, stale-while-revalidate=59");
    assert_int_equal(store_sp(200, f, 2, &grace), CACHE_STORE_OK);
    assert_int_equal(m.swr_ms, 59000);
    assert_false(m.flags & CACHE_META_MUST_REVALIDATE);
}

static void
test_invalidation_by_unsafe_methods(void **state)
{
    static const enum h1_method unsafe[] = { H1_M_POST, H1_M_PUT,
                                             H1_M_DELETE, H1_M_PATCH,
                                             H1_M_CONNECT, H1_M_OTHER };
    static const enum h1_method safe[] = { H1_M_GET, H1_M_HEAD, H1_M_OPTIONS,
                                           H1_M_TRACE };
    unsigned bad = 0;

    (void)state;
    for (size_t i = 0; i < NF(unsafe); i++) {
        bad += !cache_response_invalidates(unsafe[i], 200);
        bad += !cache_response_invalidates(unsafe[i], 303);
        bad += cache_response_invalidates(unsafe[i], 404);
        bad += cache_response_invalidates(unsafe[i], 500);
        bad += cache_response_invalidates(unsafe[i], 100);
    }
    for (size_t i = 0; i < NF(safe); i++)
        bad += cache_response_invalidates(safe[i], 200);
    assert_int_equal(bad, 0);
}

static void
test_flags_and_reasons(void **state)
{
    struct h1_field f[] = { fld("Cache-Control", "max-age=60, immutable") };

    (void)state;
    assert_int_equal(store(200, f, 1), CACHE_STORE_OK);
    assert_true(m.flags & CACHE_META_IMMUTABLE);
    assert_int_equal(m.status, 200);
    assert_int_equal(m.request_ms, T0);
    assert_int_equal(m.response_ms, T0);
    assert_int_equal(m.last_modified_s, -1);
    assert_string_equal(cache_store_reason(CACHE_STORE_OK), "ok");
    assert_string_equal(cache_store_reason(CACHE_STORE_NO_STORE), "no-store");
    assert_string_equal(cache_store_reason(CACHE_STORE_USELESS), "useless");
    assert_string_equal(cache_store_reason((enum cache_store)99), "unknown");
}

/* §4.2.3 with every term: apparent age, response delay, Age, residence. */
static void
test_age_calculation(void **state)
{
    struct cache_meta a = { .request_ms = T0 - 2000, .response_ms = T0,
                            .date_s = D - 10, .age_s = 5,
                            .lifetime_ms = 60000 };

    (void)state;
    /* apparent 10 s > corrected 5 + 2 s */
    assert_int_equal(cache_meta_age_ms(&a, T0), 10000);
    assert_int_equal(cache_meta_age_ms(&a, T0 + 4500), 14500);
    assert_int_equal(cache_meta_age_s(&a, T0 + 4500), 14);
    /* corrected age_value wins when larger */
    a.age_s = 100;
    assert_int_equal(cache_meta_age_ms(&a, T0), 102000);
    /* a Date ahead of our clock gives no apparent age */
    a.age_s = 0;
    a.date_s = D + 30;
    a.request_ms = T0;
    assert_int_equal(cache_meta_age_ms(&a, T0 + 1000), 1000);
    /* a sub-second Date truncation adds no age */
    a.date_s = D;
    a.response_ms = a.request_ms = T0 + 999;
    assert_int_equal(cache_meta_age_ms(&a, T0 + 999), 0);
    /* the Age field never exceeds 2^31 */
    a.age_s = CACHE_DELTA_MAX;
    assert_int_equal(cache_meta_age_s(&a, T0 + 10000000), CACHE_DELTA_MAX);
}

static void
test_age_field_parsing(void **state)
{
    struct h1_field f[] = { fld("Cache-Control", "max-age=60"),
                            fld("Age", "30"), fld("Age", "30") };
    static const char *const bad[] = { "\"30\"", "-30", "30.5", "3 0", "", "x, 30", "-1, 30" };
    unsigned wrong = 0;

    (void)state;
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    assert_int_equal(m.age_s, 30);
    assert_true(cache_meta_is_fresh(&m, T0 + 29999));
    assert_false(cache_meta_is_fresh(&m, T0 + 30000));
    /* RFC 9111 §5.1: a list (repeated lines too) counts by its first member */
    f[2] = fld("Age", "40");
    assert_int_equal(store(200, f, 3), CACHE_STORE_OK);
    assert_int_equal(m.age_s, 30);
    f[1] = fld("Age", "10, 20");
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    assert_int_equal(m.age_s, 10);
    f[1] = fld("Age", " , 7 ,8");
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    assert_int_equal(m.age_s, 7);
    f[1] = fld("Age", "99999999999999");
    assert_int_equal(store(200, f, 2), CACHE_STORE_OK);
    assert_int_equal(m.age_s, CACHE_DELTA_MAX);
    for (size_t i = 0; i < NF(bad); i++) {
        f[1] = fld("Age", bad[i]);
        store(200, f, 2);
        wrong += m.age_s != 0;
    }
    assert_int_equal(wrong, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifetime_precedence),
        cmocka_unit_test(test_expires_edge_cases),
        cmocka_unit_test(test_expires_without_date_and_invalid_max_age),
        cmocka_unit_test(test_heuristic_rules),
        cmocka_unit_test(test_default_cacheable_statuses),
        cmocka_unit_test(test_other_statuses_need_explicit_freshness),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_no_store_and_must_understand),
        cmocka_unit_test(test_private),
        cmocka_unit_test(test_authorization),
        cmocka_unit_test(test_set_cookie),
        cmocka_unit_test(test_vary_star),
        cmocka_unit_test(test_useless_and_no_cache),
        cmocka_unit_test(test_targeted_fields),
        cmocka_unit_test(test_site_ttl_rules),
        cmocka_unit_test(test_stale_windows),
        cmocka_unit_test(test_windows_with_no_cache_and_s_maxage),
        cmocka_unit_test(test_invalidation_by_unsafe_methods),
        cmocka_unit_test(test_flags_and_reasons),
        cmocka_unit_test(test_age_calculation),
        cmocka_unit_test(test_age_field_parsing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
