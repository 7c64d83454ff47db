/*
 * Builds an immutable workload and turns (seed, request index) into request
 * bytes. Catalogue objects are not stored: an object's size and extension
 * are recomputed from (seed, id) when it is requested, so a catalogue of
 * any size costs no memory, and its URLs are the same in every run.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "tools/load/workload.h"

/* Extensions of a static site, by share of objects (sums to 100). */
static const struct {
    const char *ext;
    unsigned share;
} exts[] = {
    { "html", 10 }, { "css", 10 }, { "js", 15 },   { "png", 15 }, { "jpg", 30 },
    { "webp", 5 },  { "woff2", 5 }, { "svg", 5 },  { "json", 5 },
};

struct load_workload {
    unsigned magic;
    enum load_workload_kind kind;
    uint64_t seed;
    struct load_url_list urls; /* single mode: one entry */
    double *cum;               /* cumulative URL weights; NULL: uniform */
    uint64_t objects;
    struct load_zipf zipf;
    struct load_sizes sizes;
    char *prefix; /* catalogue path prefix, no trailing '/' */
    size_t prefix_len;
    char *cc; /* urlencoded Cache-Control; "" for none */
    size_t cc_len;
    uint64_t working_set;
    char *host; /* default Host value */
    size_t host_len;
    char *common; /* --header lines, each ending in CRLF, Host excluded */
    size_t common_len;
    struct load_profile *profiles; /* at least one (maybe without lines) */
    size_t *prof_len;
    double *prof_cum;
    size_t n_profiles;
    size_t max_len;
};

static char *
urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = xmalloc(strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Cumulative sums of n weights at stride; NULL when all are equal. */
static double *
cumulative(const double *w, size_t n, size_t stride)
{
    bool equal = true;
    double *cum, sum = 0;

    for (size_t i = 1; i < n && equal; i++)
        equal = *(const double *)((const char *)w + i * stride) == w[0];
    if (equal)
        return NULL;
    cum = xmalloc(n * sizeof *cum);
    for (size_t i = 0; i < n; i++) {
        sum += *(const double *)((const char *)w + i * stride);
        cum[i] = sum;
    }
    return cum;
}

/* First index whose cumulative weight exceeds x (binary search). */
static size_t
search(const double *cum, size_t n, double x)
{
    size_t lo = 0, hi = n - 1;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Collects --header lines; a Host header replaces the default Host. */
static int
build_headers(struct load_workload *w, const struct load_workload_spec *sp, char *err,
              size_t errlen)
{
    size_t cap = 1, len = 0;

    for (size_t i = 0; i < sp->n_headers; i++)
        cap += strlen(sp->headers[i]) + 4;
    w->common = xmalloc(cap);
    w->common[0] = '\0';
    w->host = xstrdup(sp->authority);
    for (size_t i = 0; i < sp->n_headers; i++) {
        const char *n, *v;
        size_t nl, vl;

        if (load_header_check(sp->headers[i], &n, &nl, &v, &vl, err, errlen) != 0)
            return -EINVAL;
        if (nl == 4 && strncasecmp(n, "host", 4) == 0) {
            free(w->host);
            w->host = xstrndup(v, vl);
            continue;
        }
        len += (size_t)snprintf(w->common + len, cap - len, "%.*s: %.*s\r\n", (int)nl, n,
                                (int)vl, v);
    }
    w->host_len = strlen(w->host);
    w->common_len = len;
    return 0;
}

static int
build_profiles(struct load_workload *w, struct load_workload_spec *sp, char *err,
               size_t errlen)
{
    static struct load_profile none = { 1, NULL };
    double total = 0;

    w->n_profiles = sp->n_profiles ? sp->n_profiles : 1;
    w->profiles = xcalloc(w->n_profiles, sizeof *w->profiles);
    w->prof_len = xcalloc(w->n_profiles, sizeof *w->prof_len);
    if (sp->n_profiles == 0)
        w->profiles[0] = none;
    for (size_t i = 0; i < sp->n_profiles; i++) {
        w->profiles[i] = sp->profiles[i];
        sp->profiles[i].lines = NULL;
    }
    for (size_t i = 0; i < w->n_profiles; i++) {
        const char *l = w->profiles[i].lines ? w->profiles[i].lines : "";

        if (strncasecmp(l, "host:", 5) == 0 || strcasestr(l, "\nhost:") != NULL) {
            snprintf(err, errlen, "a profile cannot set Host (use --header)");
            return -EINVAL;
        }
        w->prof_len[i] = strlen(l);
    }
    for (size_t i = 0; i < w->n_profiles; i++)
        total += w->profiles[i].weight;
    if (!(total > 0)) {
        snprintf(err, errlen, "every profile has weight 0");
        return -EINVAL;
    }
    w->prof_cum = cumulative(&w->profiles[0].weight, w->n_profiles, sizeof *w->profiles);
    return 0;
}

static void
build_catalogue(struct load_workload *w, const struct load_workload_spec *sp)
{
    size_t n = strlen(sp->path);
    const char *dummy;

    w->kind = LOAD_WL_CATALOGUE;
    w->objects = sp->objects;
    w->sizes = sp->sizes;
    while (n > 0 && sp->path[n - 1] == '/')
        n--;
    w->prefix = xstrndup(sp->path, n);
    w->prefix_len = n;
    w->cc = urlencode(sp->cache_control ? sp->cache_control : "");
    w->cc_len = strlen(w->cc);
    for (uint64_t id = 0; id < w->objects; id++)
        w->working_set += load_workload_object(w, id, &dummy);
}

static size_t
compute_max_len(const struct load_workload *w)
{
    size_t fixed = strlen("GET  HTTP/1.1\r\nHost: \r\n\r\n") + w->common_len, prof = 0,
           target = 0;

    for (size_t i = 0; i < w->n_profiles; i++)
        prof = w->prof_len[i] > prof ? w->prof_len[i] : prof;
    if (w->kind == LOAD_WL_CATALOGUE)
        return fixed + prof + w->host_len + w->prefix_len + w->cc_len +
               strlen("/obj/.woff2?size=&cc=") + 2 * 20;
    for (size_t i = 0; i < w->urls.n; i++) {
        const struct load_url *u = &w->urls.v[i];
        size_t t = strlen(u->path) + (u->host ? strlen(u->host) : w->host_len);

        target = t > target ? t : target;
    }
    return fixed + prof + target;
}

struct load_workload *
load_workload_new(struct load_workload_spec *sp, char *err, size_t errlen)
{
    struct load_workload *w = xcalloc(1, sizeof *w);

    w->magic = LOAD_WORKLOAD_MAGIC;
    w->seed = sp->seed;
    if (build_headers(w, sp, err, errlen) != 0 || build_profiles(w, sp, err, errlen) != 0)
        goto fail;
    if (sp->urls != NULL) {
        w->kind = LOAD_WL_URLS;
        w->urls = *sp->urls;
        memset(sp->urls, 0, sizeof *sp->urls);
        w->cum = cumulative(&w->urls.v[0].weight, w->urls.n, sizeof *w->urls.v);
    } else if (sp->objects > 0) {
        if (load_zipf_init(&w->zipf, sp->objects, sp->zipf) != 0) {
            snprintf(err, errlen, "bad Zipf exponent %g (expected >= 0)", sp->zipf);
            goto fail;
        }
        build_catalogue(w, sp);
    } else {
        struct load_url u = { xstrdup(sp->path), NULL, 1 };

        w->kind = LOAD_WL_SINGLE;
        w->urls.v = xmalloc(sizeof u);
        w->urls.v[0] = u;
        w->urls.n = w->urls.cap = 1;
    }
    w->max_len = compute_max_len(w);
    return w;
fail:
    load_workload_free(&w);
    return NULL;
}

void
load_workload_free(struct load_workload **wp)
{
    struct load_workload *w = *wp;

    *wp = NULL;
    if (w == NULL)
        return;
    CHECK_OBJ(w, LOAD_WORKLOAD_MAGIC);
    load_url_list_free(&w->urls);
    for (size_t i = 0; i < w->n_profiles; i++)
        load_profile_clear(&w->profiles[i]);
    free(w->profiles);
    free(w->prof_len);
    free(w->prof_cum);
    free(w->cum);
    free(w->prefix);
    free(w->cc);
    free(w->host);
    free(w->common);
    w->magic = 0;
    free(w);
}

enum load_workload_kind
load_workload_kind(const struct load_workload *w)
{
    CHECK_OBJ(w, LOAD_WORKLOAD_MAGIC);
    return w->kind;
}

uint64_t
load_workload_entries(const struct load_workload *w)
{
    CHECK_OBJ(w, LOAD_WORKLOAD_MAGIC);
    return w->kind == LOAD_WL_CATALOGUE ? w->objects : w->urls.n;
}

uint64_t
load_workload_working_set(const struct load_workload *w)
{
    CHECK_OBJ(w, LOAD_WORKLOAD_MAGIC);
    return w->working_set;
}

size_t
load_workload_max_len(const struct load_workload *w)
{
    CHECK_OBJ(w, LOAD_WORKLOAD_MAGIC);
    return w->max_len;
}

uint64_t
load_workload_object(const struct load_workload *w, uint64_t id, const char **ext)
{
    struct load_rng r;
    uint64_t size, pick;

    load_rng_seed(&r, w->seed, LOAD_RNG_SIZES, id);
    size = load_sizes_draw(&w->sizes, &r);
    pick = load_rng_next(&r) % 100;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        if (pick < exts[i].share) {
            *ext = exts[i].ext;
            return size;
        }
        pick -= exts[i].share;
    }
    *ext = exts[0].ext;
    return size;
}

void
load_workload_pick(const struct load_workload *w, uint64_t seed, uint64_t stream, uint64_t k,
                   struct load_pick *p)
{
    struct load_rng r;

    load_rng_seed(&r, seed, stream, k);
    if (w->kind == LOAD_WL_CATALOGUE) {
        p->index = load_zipf_sample(&w->zipf, &r) - 1;
    } else if (w->cum == NULL) {
        p->index = (uint64_t)(load_rng_double(&r) * (double)w->urls.n);
    } else {
        p->index = search(w->cum, w->urls.n, load_rng_double(&r) * w->cum[w->urls.n - 1]);
    }
    if (w->prof_cum != NULL)
        p->profile = (uint32_t)search(w->prof_cum, w->n_profiles,
                                      load_rng_double(&r) * w->prof_cum[w->n_profiles - 1]);
    else
        p->profile = (uint32_t)(load_rng_next(&r) % w->n_profiles);
}

static char *
put(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

static char *
put_u64(char *o, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *o++ = tmp[--n];
    return o;
}

size_t
load_workload_format(const struct load_workload *w, const struct load_pick *p, char *buf,
                     size_t cap)
{
    const struct load_profile *pr = &w->profiles[p->profile];
    const char *host = w->host;
    size_t host_len = w->host_len;
    char *o = put(buf, "GET ", 4);

    ASSERT(cap >= w->max_len);
    if (w->kind == LOAD_WL_CATALOGUE) {
        const char *ext;
        uint64_t size = load_workload_object(w, p->index, &ext);

        o = put(o, w->prefix, w->prefix_len);
        o = put_u64(put(o, "/obj/", 5), p->index);
        *o++ = '.';
        o = put(o, ext, strlen(ext));
        o = put_u64(put(o, "?size=", 6), size);
        if (w->cc_len > 0)
            o = put(put(o, "&cc=", 4), w->cc, w->cc_len);
    } else {
        const struct load_url *u = &w->urls.v[p->index];

        o = put(o, u->path, strlen(u->path));
        if (u->host != NULL) {
            host = u->host;
            host_len = strlen(host);
        }
    }
    o = put(o, " HTTP/1.1\r\nHost: ", 17);
    o = put(put(o, host, host_len), "\r\n", 2);
    o = put(o, w->common, w->common_len);
    o = put(o, pr->lines ? pr->lines : "", w->prof_len[p->profile]);
    o = put(o, "\r\n", 2);
    return (size_t)(o - buf);
}
