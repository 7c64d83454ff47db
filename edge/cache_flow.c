/*
 * A GET or HEAD through the cache: key, lookup in the RAM tier (with Vary),
 * the serve decision (fresh, stale, validate), and on a miss request
 * coalescing: the first request for a key fetches (the leader) and every
 * other one waits for the leader's outcome and streams the same object.
 * The leader's own client reads the object like any follower, so the
 * upstream fills the object at the upstream's pace whatever its client's.
 * With Vary there is one fetch per variant: a follower given another
 * variant looks up again (vary_restart).
 *
 * The request head stays in the client's input buffer (c->req slices stay
 * valid) until the request is answered from an object or proxied.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "cache"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/stats.h"
#include "edge/edge_int.h"


/* Lookups a follower may redo when the fetch it joined was another variant
 * (a third variant may have joined the second fetch, and so on). */
#define VARY_RESTARTS_MAX 3

static void on_wake(evutil_socket_t fd, short what, void *arg);

struct creq *
cache_flow_creq(struct conn *c)
{
    if (c->cq == NULL) {
        c->cq = xcalloc(1, sizeof *c->cq);
        c->cq->wake = event_new(c->w->base, -1, 0, on_wake, c);
        c->cq->waiter.wake = c->cq->wake;
    }
    return c->cq;
}

/* conf (-1 = none) into the cache's policy (0 = none). */
static void
site_policy(struct creq *q, const struct conf *conf, const struct conf_site *s)
{
    const struct conf_site_cache *sc = &s->cache;

    memset(&q->sp, 0, sizeof q->sp);
    q->sp.default_ttl_ms = sc->default_ttl_ms > 0 ? sc->default_ttl_ms : 0;
    q->sp.min_ttl_ms = sc->min_ttl_ms > 0 ? sc->min_ttl_ms : 0;
    q->sp.max_ttl_ms = sc->max_ttl_ms > 0 ? sc->max_ttl_ms : 0;
    q->sp.heuristic_cap_ms = sc->heuristic_max_ms > 0 ? sc->heuristic_max_ms : -1;
    q->sp.swr_grace_ms = sc->stale_while_revalidate_ms;
    q->sp.sie_grace_ms = sc->stale_if_error_ms;
    q->sp.target_field = conf->cache.targeted_field;
    q->sp.ignore_cache_control = sc->ignore_cache_control;
    q->sp.store_set_cookie = sc->store_set_cookie;
    memset(&q->rules, 0, sizeof q->rules);
    q->rules.drop_query = sc->query == CONF_QUERY_DROP;
    q->rules.sort_query = sc->query == CONF_QUERY_SORT;
    q->rules.ignore = (const char *const *)sc->query_ignore;
    q->rules.n_ignore = (uint32_t)sc->n_query_ignore;
}

static int
build_key(struct conn *c, struct creq *q)
{
    const struct h1_request *r = &c->req;
    const char *host = r->host ? r->host : q->site->name;
    size_t hlen = r->host ? r->host_len : strlen(q->site->name);
    size_t need = hlen + r->path_len + 80;

    if (need > q->keycap) {
        free(q->keybuf);
        q->keycap = (uint32_t)(need < 1024 ? 1024 : need);
        q->keybuf = xmalloc(q->keycap);
    }
    q->key.buf = q->keybuf;
    q->key.cap = q->keycap;
    return cache_key_build(&q->key, CACHE_SCHEME_HTTP, host, hlen, r->path,
                           r->path_len, &q->rules);
}

/*
 * Tier and busy-entry match: the request's values of the object's Vary
 * names. A hit-for-pass marker made from a response with Vary carries its
 * names and vary key too, so it only matches its own variant.
 */
static bool
match_vary(const struct cache_obj *o, void *arg)
{
    struct conn *c = arg;
    struct creq *q = c->cq;
    int n;

    if (o->vary_names == NULL || o->vary_names[0] == '\0')
        return o->vary_key_len == 0;
    n = cache_vary_key_build(q->varybuf, sizeof q->varybuf, o->vary_names,
                             strlen(o->vary_names), c->req.fields, c->req.n_fields);
    return n >= 0 && (uint32_t)n == o->vary_key_len &&
           memcmp(q->varybuf, o->vary_key, (size_t)n) == 0;
}


/* Proxies the request without the cache (bypass, pass, hit-for-pass). */
static void
pass(struct conn *c, const char *why)
{
    struct creq *q = c->cq;

    q->mode = CQ_PASS;
    snprintf(q->status, sizeof q->status, "strata; fwd=%s", why);
    c->cache_status = q->status;
    c->state = CS_PROXY;
    proxy_start(c, q->site, q->head_len);
}

static void
fetch(struct conn *c)
{
    struct creq *q = c->cq;
    bool leader = true;

    if (!q->prejoined)
        q->busy = cache_busy_join_match(c->w->srv->busy, q->key.hash, q->key.buf,
                                        q->key.len, match_vary, c, &leader);
    q->prejoined = false;
    q->leader = leader;
    if (leader) {
        q->mode = CQ_FETCH;
        q->request_ms = clock_wall_ms();
        snprintf(q->status, sizeof q->status, "strata; fwd=%s", q->miss_kind);
        c->cache_status = q->status;
        c->state = CS_PROXY;
        proxy_start(c, q->site, q->head_len);
        return;
    }
    q->mode = CQ_WAIT;
    c->state = CS_CACHE;
    cache_busy_wait(q->busy, &q->waiter);
    on_wake(-1, 0, c); /* the outcome may be known already */
}

/*
 * The disk tier, after a RAM miss: a stub with the stored head, whose body
 * is read from disk as it is sent (cache_disk.c), and promoted into RAM
 * when a whole-body GET reads an object that fits there.
 */
static struct cache_obj *
disk_lookup(struct conn *c, bool *key_seen)
{
    struct creq *q = c->cq;
    struct cache_lmdb *l = c->w->srv->disk;
    struct cache_lmdb_ref ref;
    bool seen = false;
    struct cache_obj *o;

    o = cache_lmdb_lookup_head(l, q->key.hash, q->key.buf, q->key.len, match_vary, c,
                               &seen, (uint64_t)clock_wall_ms(), &ref);
    *key_seen = *key_seen || seen;
    if (o == NULL)
        return NULL;
    if (o->meta.flags & CACHE_META_HIT_FOR_PASS) {
        cache_lmdb_unpin(l, &ref);
        cache_obj_unref(&o);
        return NULL;
    }
    stat_inc(ST_CACHE_DISK_HIT);
    cache_disk_attach(o, l, &ref, NULL);
    return o;
}

/* Why a stored response is not used: only the client's directives
 * (fresh otherwise), or its own staleness / no-cache (or our revalidation). */
static const char *
validate_kind(const struct creq *q, const struct cache_obj *o, int64_t now)
{
    if (!q->revalidate && cache_serve_request_forbids(&o->meta, &q->rcc, now))
        return "request";
    return "stale";
}

static void
serve_found(struct conn *c, struct cache_obj *o)
{
    struct creq *q = c->cq;
    int64_t now = clock_wall_ms();
    enum cache_serve d = cache_serve_decide(&o->meta, &q->rcc, now);

    switch (d) {
    case CACHE_SERVE_STALE_REVALIDATE:
        revalidate_spawn(c, o);
        /* fall through */
    case CACHE_SERVE_FRESH:
    case CACHE_SERVE_STALE_OK:
        stat_inc(ST_CACHE_HIT);
        snprintf(q->status, sizeof q->status, "strata; hit; ttl=%lld",
                 (long long)cache_meta_ttl_s(&o->meta, now));
        cache_send_obj(c, o, q->status);
        cache_obj_unref(&o);
        return;
    case CACHE_SERVE_MUST_VALIDATE:
        q->miss_kind = validate_kind(q, o, now);
        if (c->req.method == H1_M_HEAD) {
            cache_obj_unref(&o);
            pass(c, q->miss_kind);
            return;
        }
        q->obj = o; /* kept: validators, and stale-if-error */
        fetch(c);
        return;
    case CACHE_SERVE_GATEWAY_TIMEOUT:
        cache_obj_unref(&o);
        conn_respond_error(c, 504, false);
        return;
    }
}

/* RAM, then disk: serves what it finds, else fetches or joins the fetch of
 * the key (of the request's variant, once known). */
static void
lookup(struct conn *c)
{
    struct creq *q = c->cq;
    bool key_seen = false;
    struct cache_obj *o;

    o = cache_ram_lookup(c->w->srv->ram, q->key.hash, q->key.buf, q->key.len,
                         match_vary, c, &key_seen);
    if (o != NULL && (o->meta.flags & CACHE_META_HIT_FOR_PASS)) {
        bool fresh = cache_meta_is_fresh(&o->meta, clock_wall_ms());

        cache_obj_unref(&o);
        if (fresh) {
            pass(c, "bypass; detail=hit-for-pass");
            return;
        }
    }
    if (o == NULL && c->w->srv->disk != NULL)
        o = disk_lookup(c, &key_seen);
    if (o != NULL) {
        serve_found(c, o);
        return;
    }
    if (q->vary_restarts == 0) /* one miss per request */
        stat_inc(ST_CACHE_MISS);
    if (q->rcc.flags & CACHE_CC_ONLY_IF_CACHED) {
        conn_respond_error(c, 504, false);
        return;
    }
    q->miss_kind = key_seen || q->vary_restarts > 0 ? "vary-miss" : "uri-miss";
    if (c->req.method == H1_M_HEAD) {
        pass(c, q->miss_kind); /* a HEAD brings no body to store */
        return;
    }
    fetch(c);
}

void
cache_flow_start(struct conn *c, const struct conf_site *site, size_t head_len)
{
    struct creq *q = cache_flow_creq(c);
    int rc;

    q->mode = CQ_NONE;
    q->site = site;
    q->head_len = head_len;
    q->status[0] = '\0';
    q->vary_restarts = 0;
    site_policy(q, c->wc->conf, site);
    cache_cc_parse_request(&q->rcc, c->req.fields, c->req.n_fields, &q->sp);
    if (q->revalidate)
        q->rcc.flags |= CACHE_CC_NO_CACHE;
    q->no_store = (q->rcc.flags & CACHE_CC_NO_STORE) != 0;
    rc = build_key(c, q);
    if (rc == -EINVAL) {
        conn_respond_error(c, 400, true);
        return;
    }
    if (rc < 0) {
        pass(c, "bypass");
        return;
    }
    lookup(c);
}

void
cache_flow_release_busy(struct creq *q)
{
    if (q->busy == NULL)
        return;
    cache_busy_unwait(q->busy, &q->waiter);
    cache_busy_entry_unref(&q->busy);
    q->leader = false;
}

/* Leader: the outcome is known; later lookups go to the tiers. */
void
cache_flow_publish(struct conn *c, enum cache_busy_state st, struct cache_obj *o, int status)
{
    struct creq *q = c->cq;

    if (q->busy == NULL || !q->leader)
        return;
    cache_busy_publish(q->busy, st, o, status);
    if (st != CACHE_BUSY_OBJECT || !cache_send_filling(o))
        cache_busy_unindex(c->w->srv->busy, q->busy);
}

/*
 * Follower: the fetch joined brought another variant. Looks up again: a hit
 * now, or one fetch of this variant that the other followers of it join
 * (cache_busy_join_match skips the mismatched entry), stored as usual.
 * Bounded, so that no waiter loops: then it fetches on its own, unstored.
 */
static void
vary_restart(struct conn *c)
{
    struct creq *q = c->cq;

    cache_flow_release_busy(q);
    if (q->vary_restarts >= VARY_RESTARTS_MAX) {
        pass(c, "vary-miss");
        return;
    }
    q->vary_restarts++;
    if (q->obj != NULL)
        cache_obj_unref(&q->obj); /* the lookup finds it again */
    lookup(c);
}

static void
follower_outcome(struct conn *c)
{
    struct creq *q = c->cq;
    struct cache_obj *o = NULL;
    int status = 0;
    enum cache_busy_state st = cache_busy_state(q->busy, &o, &status);

    switch (st) {
    case CACHE_BUSY_FETCHING:
        return;
    case CACHE_BUSY_OBJECT:
        if (!match_vary(o, c)) {
            cache_obj_unref(&o);
            vary_restart(c);
            return;
        }
        stat_inc(ST_CACHE_COLLAPSED);
        q->mode = CQ_SEND;
        snprintf(q->status, sizeof q->status, "strata; fwd=%s; collapsed", q->miss_kind);
        cache_send_obj(c, o, q->status);
        cache_obj_unref(&o);
        return;
    case CACHE_BUSY_PASS:
        cache_flow_release_busy(q);
        pass(c, q->miss_kind);
        return;
    case CACHE_BUSY_FAILED:
        cache_flow_release_busy(q);
        if (status == 0) { /* the leader went away: fetch ourselves */
            fetch(c);
            return;
        }
        conn_respond_error(c, status, false);
        return;
    }
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    if (c->cq->mode == CQ_WAIT)
        follower_outcome(c);
    else if (c->cq->mode == CQ_SEND)
        cache_send_pump(c);
}

/* Drops the request head from the input once nothing needs its slices. */
void
cache_flow_drain_head(struct conn *c)
{
    struct creq *q = c->cq;

    if (q != NULL && q->head_len > 0) {
        conn_consume_head(c, q->head_len);
        q->head_len = 0;
    }
}

void
cache_flow_client_gone(struct conn *c)
{
    struct creq *q = c->cq;

    if (q == NULL)
        return;
    if (q->busy != NULL)
        cache_busy_unwait(q->busy, &q->waiter);
    event_del(q->wake);
    q->mode = CQ_NONE; /* nothing is sent any more; q->fill keeps filling */
}

void
cache_flow_end(struct conn *c)
{
    struct creq *q = c->cq;

    if (q == NULL)
        return;
    event_del(q->wake);
    if (q->fill != NULL || q->dfill != NULL)
        cache_flow_on_body_end(c, false);
    if (q->busy != NULL && q->leader &&
        cache_busy_state(q->busy, NULL, NULL) == CACHE_BUSY_FETCHING)
        cache_flow_publish(c, CACHE_BUSY_FAILED, NULL, 0); /* followers fetch */
    cache_flow_release_busy(q);
    cache_flow_drain_head(c);
    if (q->obj != NULL)
        cache_obj_unref(&q->obj);
    cache_disk_end(q);
    q->mode = CQ_NONE;
    q->prejoined = false;
    q->revalidate = false;
    q->key.len = 0; /* the next request on this connection has its own */
}

void
cache_flow_free(struct conn *c)
{
    struct creq *q = c->cq;

    if (q == NULL)
        return;
    cache_flow_end(c);
    event_free(q->wake);
    if (q->fill_wake != NULL)
        event_free(q->fill_wake);
    free(q->keybuf);
    free(q);
    c->cq = NULL;
}

static void
drop_url(struct conn *c, const char *v, size_t len)
{
    struct creq *q = c->cq;
    char buf[4096];
    struct cache_key k = { .buf = buf, .cap = sizeof buf };
    int rc;

    if (len > 0 && v[0] == '/')   /* relative: the request's authority */
        rc = cache_key_build(&k, CACHE_SCHEME_HTTP, q->key.buf + 7, q->key.path_off - 7,
                             v, len, &q->rules);
    else
        rc = cache_key_build_url(&k, v, len, &q->rules);
    /* Only the same host: a response must not purge another site's URLs. */
    if (rc < 0 || k.path_off != q->key.path_off ||
        memcmp(k.buf, q->key.buf, k.path_off) != 0)
        return;
    /* Disk first: from then on disk lookups miss the key (never refused),
     * so a RAM miss cannot bring the old copy back from disk. */
    if (c->w->srv->disk != NULL)
        (void)cache_lmdb_remove_key(c->w->srv->disk, k.hash, k.buf, k.len);
    cache_ram_remove_key(c->w->srv->ram, k.hash, k.buf, k.len);
}

void
cache_flow_invalidate(struct conn *c, const struct h1_response *rsp)
{
    struct creq *q = c->cq;
    static const char *const names[] = { "location", "content-location" };

    if (q == NULL || q->key.len == 0 ||
        !cache_response_invalidates(c->req.method, rsp->status))
        return;
    if (c->w->srv->disk != NULL) /* first: see drop_url */
        (void)cache_lmdb_remove_key(c->w->srv->disk, q->key.hash, q->key.buf, q->key.len);
    cache_ram_remove_key(c->w->srv->ram, q->key.hash, q->key.buf, q->key.len);
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        const struct h1_field *f = h1_field_find(rsp->fields, rsp->n_fields, names[i]);

        if (f != NULL)
            drop_url(c, f->value, f->value_len);
    }
    stat_inc(ST_CACHE_INVALIDATE);
}

/* Unsafe method: remember the target's key for invalidation on success. */
int
cache_flow_note_target(struct conn *c, const struct conf_site *site)
{
    struct creq *q = cache_flow_creq(c);

    q->mode = CQ_NONE;
    q->site = site;
    q->head_len = 0;
    site_policy(q, c->wc->conf, site);
    q->key.len = 0;
    return build_key(c, q) < 0 ? -EINVAL : 0;
}
