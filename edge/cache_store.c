/*
 * The leader's side of a cache fetch: what the upstream's response head
 * decides (store and stream to every waiter, pass, refresh on a 304, serve
 * stale on an error), filling the object as the body arrives, and ending
 * it. The follower and lookup side is cache_flow.c.
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

/* Followers are woken per this many new body bytes. */
#define NOTIFY_STEP (128 * 1024)

/* Queues a complete object for the disk tier; never waits for the disk. A
 * refusal (queue full, disk full, larger than a disk fill may be) is
 * counted: the response was still stored in RAM. */
static void
store_disk(struct conn *c, struct cache_obj *o)
{
    int rc;

    if (c->w->srv->disk == NULL)
        return;
    rc = cache_lmdb_store(c->w->srv->disk, o, (uint64_t)clock_wall_ms());
    if (rc != 0) {
        stat_inc(ST_CACHE_DISK_DROP);
        log_debug("disk store of %.*s refused: %s", (int)o->key_len, o->key,
                  strerror(-rc));
    }
}

/*
 * Hit-for-pass: later requests for the key skip the queue for a while. A
 * response with Vary marks only its variant (its Vary names and the
 * request's vary key, like a stored variant), so one uncacheable variant
 * neither hides nor replaces the others; Vary: * (no request matches it)
 * marks nothing.
 */
static void
mark_hit_for_pass(struct conn *c, const struct h1_response *rsp)
{
    struct creq *q = c->cq;
    uint32_t ms = c->wc->conf->cache.hit_for_pass_ms;
    struct cache_meta m = { 0 };
    struct cache_obj *o;
    char names[512];
    int nl, kl = 0;

    if (ms == 0)
        return;
    nl = cache_vary_names_build(names, sizeof names, rsp->fields, rsp->n_fields, 0);
    if (nl < 0 || cache_vary_names_is_star(names, (size_t)nl))
        return;
    if (nl > 0)
        kl = cache_vary_key_build(q->varybuf, sizeof q->varybuf, names, (size_t)nl,
                                  c->req.fields, c->req.n_fields);
    if (kl < 0)
        return;
    m.response_ms = m.request_ms = clock_wall_ms();
    m.date_s = m.response_ms / 1000;
    m.lifetime_ms = ms;
    m.swr_ms = m.sie_ms = -1;
    m.last_modified_s = -1;
    m.flags = CACHE_META_HIT_FOR_PASS;
    o = cache_obj_new(q->key.hash, q->key.buf, q->key.len, q->varybuf, (size_t)kl,
                      nl > 0 ? names : NULL, NULL, NULL, 0, &m, 0);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    (void)cache_ram_insert(c->w->srv->ram, o);
    cache_obj_unref(&o);
}

static const char *
etag_of(const struct h1_response *rsp, char *buf, size_t cap)
{
    const struct h1_field *f = h1_field_find(rsp->fields, rsp->n_fields, "etag");

    if (f == NULL || f->value_len == 0 || f->value_len >= cap)
        return NULL;
    memcpy(buf, f->value, f->value_len);
    buf[f->value_len] = '\0';
    return buf;
}

/*
 * Drops the targeted fields (RFC 9213: CDN-Cache-Control, the node's own,
 * Surrogate-Control) from a header block in place: they steer this node,
 * not the clients. Returns the new length.
 */
static size_t
strip_targeted(char *head, size_t len, const struct cache_site_policy *sp)
{
    size_t r = 0, w = 0;

    while (r < len) {
        char *eol = memchr(head + r, '\n', len - r);
        size_t n = eol ? (size_t)(eol - (head + r)) + 1 : len - r;
        char *colon = memchr(head + r, ':', n);

        if (colon == NULL || !cache_cc_is_targeted(head + r, (size_t)(colon - (head + r)), sp)) {
            memmove(head + w, head + r, n);
            w += n;
        }
        r += n;
    }
    return w;
}

/* Builds the object for a storable response; NULL when it cannot be. */
static struct cache_obj *
make_object(struct conn *c, const struct h1_response *rsp, const struct cache_cc *cc,
            const struct cache_meta *m, bool stub)
{
    struct creq *q = c->cq;
    char names[512], etag[256];
    int nl, kl = 0;
    /* Room for a Date of ours (RFC 9110 §6.6.1) */
    size_t cap = cache_head_bound(0, rsp->fields, rsp->n_fields) + CACHE_DATE_LEN + 8;
    size_t hl = 0;
    char *head;
    struct cache_obj *o = NULL;
    /* A stub's body is on disk: its chain stays empty. */
    uint64_t expected = stub || rsp->body == H1_BODY_NONE ? 0
                        : rsp->body == H1_BODY_LENGTH ? rsp->content_length
                                                      : CACHE_LEN_UNKNOWN;

    nl = cache_vary_names_build(names, sizeof names, rsp->fields, rsp->n_fields, 0);
    if (nl < 0 || cache_vary_names_is_star(names, (size_t)nl))
        return NULL;
    if (nl > 0) {
        kl = cache_vary_key_build(q->varybuf, sizeof q->varybuf, names, (size_t)nl,
                                  c->req.fields, c->req.n_fields);
        if (kl < 0)
            return NULL;
    }
    head = xmalloc(cap);
    if (cache_head_build(head, cap, &hl, rsp->fields, rsp->n_fields, cc) == 0 &&
        cache_head_add_date(head, cap, &hl, m->date_s) == 0) {
        if (c->wc->conf->cache.strip_targeted)
            hl = strip_targeted(head, hl, &q->sp);
        o = cache_obj_new(q->key.hash, q->key.buf, q->key.len, q->varybuf, (size_t)kl,
                          nl > 0 ? names : NULL, etag_of(rsp, etag, sizeof etag),
                          head, hl, m, expected);
    }
    free(head);
    return o;
}

/* The leader's own fields of rsp, those the object leaves out (see
 * cache_head_leader); *len 0 when none. The caller frees the block. */
static char *
leader_fields(struct conn *c, const struct h1_response *rsp, const struct cache_cc *cc,
              size_t *len)
{
    size_t cap = cache_head_bound(0, rsp->fields, rsp->n_fields);
    char *own = xmalloc(cap + 1);

    if (cache_head_leader(own, cap, len, rsp->fields, rsp->n_fields, cc) != 0)
        *len = 0; /* cannot happen: cap bounds every field */
    if (c->wc->conf->cache.strip_targeted)
        *len = strip_targeted(own, *len, &c->cq->sp);
    return own;
}

/* The leader's decision on a fresh (non-304) response head. */
static enum cqr
decide_store(struct conn *c, const struct h1_response *rsp)
{
    struct creq *q = c->cq;
    const struct conf *conf = c->wc->conf;
    struct cache_exchange x = {
        .method = c->req.method, .req_fields = c->req.fields,
        .n_req_fields = c->req.n_fields, .status = rsp->status,
        .resp_fields = rsp->fields, .n_resp_fields = rsp->n_fields,
        .request_ms = q->request_ms, .response_ms = clock_wall_ms(),
    };
    struct cache_cc cc;
    struct cache_meta m;
    enum cache_store v;
    struct cache_obj *o = NULL;
    bool disk = cache_fill_wanted(c, rsp);
    char *own;
    size_t own_len = 0;

    cache_cc_parse_response(&cc, rsp->fields, rsp->n_fields, &q->sp);
    v = cache_store_decide(&m, &x, &q->rcc, &cc, &q->sp);
    if (v == CACHE_STORE_OK && !q->no_store &&
        (disk || !(rsp->body == H1_BODY_LENGTH &&
                   rsp->content_length > conf->cache.max_object)))
        o = make_object(c, rsp, &cc, &m, disk);
    if (o != NULL && disk && cache_fill_begin(c, o, rsp->content_length) != 0)
        cache_obj_unref(&o);
    if (o == NULL) {
        stat_inc(ST_CACHE_PASS);
        cache_flow_publish(c, CACHE_BUSY_PASS, NULL, 0);
        cache_flow_release_busy(q);
        if (v != CACHE_STORE_OK && v != CACHE_STORE_AUTHORIZATION && !q->no_store)
            mark_hit_for_pass(c, rsp);
        q->mode = CQ_PASS;
        return CQR_PASS;
    }
    q->fill = disk ? NULL : o;
    q->notified = 0;
    q->overflow_tried = false;
    cache_flow_publish(c, CACHE_BUSY_OBJECT, o, 0);
    q->mode = CQ_SEND;
    cache_busy_wait(q->busy, &q->waiter);
    snprintf(q->status, sizeof q->status, "strata; fwd=%s; stored", q->miss_kind);
    own = leader_fields(c, rsp, &cc, &own_len);
    cache_send_leader(c, o, q->status, own, own_len);
    free(own);
    if (disk)
        cache_obj_unref(&o); /* the busy entry and the sender hold it */
    return CQR_STORE;
}

/*
 * The 304's fields, plus a Date (now_ms) when it has none: the refreshed
 * head then dates from this exchange (RFC 9110 §6.6.1), not from the
 * stored response, whose Date would make it stale at once. *n the count;
 * the caller frees the array.
 */
static struct h1_field *
fields_304(const struct h1_response *rsp, int64_t now_ms, char date[CACHE_DATE_LEN + 1],
           uint32_t *n)
{
    struct h1_field *f = xcalloc(rsp->n_fields + 1, sizeof *f);

    *n = rsp->n_fields;
    if (*n > 0)
        memcpy(f, rsp->fields, *n * sizeof *f);
    if (h1_field_find(rsp->fields, rsp->n_fields, "date") == NULL) {
        cache_date_format(now_ms / 1000, date);
        f[*n].name = "Date";
        f[*n].name_len = 4;
        f[*n].value = date;
        f[*n].value_len = CACHE_DATE_LEN;
        (*n)++;
    }
    return f;
}

/* The ETag of a header block, NUL-terminated in buf; NULL when none. */
static const char *
head_etag(const char *head, size_t len, char *buf, size_t cap)
{
    struct cache_revalidation rv;

    cache_validators_find(&rv, head, len);
    if (rv.if_none_match == NULL || rv.if_none_match_len >= cap)
        return NULL;
    memcpy(buf, rv.if_none_match, rv.if_none_match_len);
    buf[rv.if_none_match_len] = '\0';
    return buf;
}

/* Copies old's RAM body into o and completes it: chunks belong to one
 * object, so the body is copied, once. */
static void
copy_body(struct cache_obj *o, const struct cache_obj *old)
{
    struct cache_obj_cursor cur;

    cache_obj_cursor_init(&cur, old);
    for (;;) {
        const char *p;
        struct cache_chunk *ch;
        size_t n = cache_obj_read(&cur, old, &p, &ch, SIZE_MAX);

        if (n == 0)
            break;
        cache_obj_append(o, p, n);
    }
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
}

/* A copy of old with the head and meta refreshed by a 304 (§3.2). */
static struct cache_obj *
refreshed(struct conn *c, const struct cache_obj *old, const struct h1_response *rsp)
{
    int64_t now = clock_wall_ms();
    char date[CACHE_DATE_LEN + 1], etag[256];
    uint32_t nf;
    struct h1_field *f = fields_304(rsp, now, date, &nf);
    size_t cap = cache_head_bound(old->head_len, f, nf), hl = 0;
    char *head = xmalloc(cap);
    struct h1_field *stored = xcalloc(256, sizeof *stored);
    struct cache_meta m = old->meta;
    struct cache_obj *o = NULL;
    const struct cache_disk_body *db = cache_disk_body(old);
    /* A disk body that fits RAM is read in (and stored again under the
     * new head); a larger one stays on disk, read through a stub. */
    bool stub = db != NULL && db->ref.body_len > c->wc->conf->cache.max_object;
    int ns;

    if (cache_head_update(head, cap, &hl, old->head, old->head_len, f, nf) == 0 &&
        (ns = cache_head_split(head, hl, stored, 256)) >= 0) {
        /* Freshness comes from the updated block (new Date, directives). */
        cache_meta_refresh(&m, stored, (uint32_t)ns, f, nf, &c->cq->sp, c->cq->request_ms, now);
        o = cache_obj_new(old->hash, old->key, old->key_len, old->vary_key,
                          old->vary_key_len, old->vary_names,
                          head_etag(head, hl, etag, sizeof etag), head, hl, &m,
                          stub ? 0 : db != NULL ? db->ref.body_len : cache_obj_body_len(old));
    }
    free(f);
    free(stored);
    free(head);
    if (o == NULL || db == NULL) {
        if (o != NULL)
            copy_body(o, old);
        return o;
    }
    if (stub)
        return cache_disk_restub(o, old);
    if (!cache_disk_load(o, old))
        cache_obj_unref(&o);
    return o;
}

/* Answers from the stale (or refreshed) candidate; own: the leader's
 * own fields of the upstream response (NULL none). */
static enum cqr
send_stale(struct conn *c, int status, const char *detail, const char *own, size_t own_len)
{
    struct creq *q = c->cq;
    struct cache_obj *o = q->obj;
    int64_t now = clock_wall_ms();

    q->obj = NULL;
    cache_flow_publish(c, CACHE_BUSY_OBJECT, o, 0);
    cache_flow_release_busy(q);
    q->mode = CQ_SEND;
    /* fwd=request when only the client's directives made us ask. */
    snprintf(q->status, sizeof q->status, "strata; fwd=%s; fwd-status=%d; ttl=%lld; detail=%s",
             q->miss_kind != NULL ? q->miss_kind : "stale", status,
             (long long)cache_meta_ttl_s(&o->meta, now), detail);
    cache_send_leader(c, o, q->status, own, own_len);
    cache_obj_unref(&o);
    return CQR_SENT_FROM_CACHE;
}

/* RFC 9111 §4.3.4: does the 304 select the stored response? */
static bool
answers_stored(const struct cache_obj *o, const struct h1_response *rsp)
{
    struct cache_validators v = {
        .etag = o->etag, .etag_len = o->etag != NULL ? strlen(o->etag) : 0,
        .last_modified_s = o->meta.last_modified_s, .date_s = o->meta.date_s,
    };

    return cache_cond_304_matches(&v, rsp->fields, rsp->n_fields, clock_wall_ms());
}

/* A 502 of our own, sent through the cache path (never stored). */
static struct cache_obj *
bad_gateway(const struct creq *q)
{
    static const char body[] = "502 Bad Gateway\n";
    char head[128];
    char d[CACHE_DATE_LEN + 1];
    struct cache_meta m = { .status = 502, .last_modified_s = -1, .swr_ms = -1,
                            .sie_ms = -1 };
    struct cache_obj *o;
    int n;

    m.request_ms = m.response_ms = clock_wall_ms();
    m.date_s = m.response_ms / 1000;
    cache_date_format(m.date_s, d);
    n = snprintf(head, sizeof head, "Date: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Cache-Control: no-store\r\n", d);
    o = cache_obj_new(q->key.hash, q->key.buf, q->key.len, NULL, 0, NULL, NULL, head,
                      (size_t)n, &m, sizeof body - 1);
    cache_obj_append(o, body, sizeof body - 1);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    return o;
}

/*
 * The revalidation's 304 selects nothing stored (its validator is not the
 * one we sent, RFC 9111 §4.3.4): it updates nothing, and the stored
 * response is outdated, so it is dropped (disk first, see
 * cache_flow_invalidate). Like Varnish and nginx with an upstream answer
 * they cannot use, the client (whose request was unconditional: the
 * validators were ours) gets 502; its retry, and the followers, which
 * fetch again at once, miss and fetch the whole response.
 */
static enum cqr
validator_mismatch(struct conn *c)
{
    struct creq *q = c->cq;
    struct cache_obj *o = bad_gateway(q);

    stat_inc(ST_UP_BAD_RESPONSE);
    if (c->w->srv->disk != NULL)
        (void)cache_lmdb_remove_key(c->w->srv->disk, q->key.hash, q->key.buf, q->key.len);
    (void)cache_ram_remove_obj(c->w->srv->ram, q->obj);
    cache_obj_unref(&q->obj);
    cache_flow_publish(c, CACHE_BUSY_FAILED, NULL, 0); /* followers fetch */
    cache_flow_release_busy(q);
    q->mode = CQ_SEND;
    snprintf(q->status, sizeof q->status,
             "strata; fwd=%s; fwd-status=304; detail=validator-mismatch",
             q->miss_kind != NULL ? q->miss_kind : "stale");
    cache_send_obj(c, o, q->status);
    cache_obj_unref(&o);
    return CQR_SENT_FROM_CACHE;
}

/* The 304 refreshes the stored response; CQR_PASS when it cannot. */
static enum cqr
revalidated(struct conn *c, const struct h1_response *rsp)
{
    struct creq *q = c->cq;
    struct cache_obj *o = refreshed(c, q->obj, rsp);
    struct cache_cc cc;
    enum cqr r;
    size_t own_len = 0;
    char *own;

    if (o == NULL)
        return CQR_PASS;
    stat_inc(ST_CACHE_REVALIDATED);
    /* A disk stub is served refreshed but not stored: its body stays
     * where it is, under the old head (revalidated again). */
    if (cache_disk_body(o) == NULL) {
        (void)cache_ram_insert(c->w->srv->ram, o);
        store_disk(c, o);
    }
    cache_obj_unref(&q->obj);
    q->obj = o;
    cache_cc_parse_response(&cc, rsp->fields, rsp->n_fields, &q->sp);
    own = leader_fields(c, rsp, &cc, &own_len);
    r = send_stale(c, 304, "revalidated", own, own_len);
    free(own);
    return r;
}

enum cqr
cache_flow_on_response(struct conn *c, const struct h1_response *rsp)
{
    struct creq *q = c->cq;
    int64_t now = clock_wall_ms();
    enum cqr r;

    if (q == NULL || q->mode != CQ_FETCH) {
        cache_flow_drain_head(c);
        return CQR_PASS;
    }
    if (q->obj != NULL && rsp->status == 304) {
        if (!answers_stored(q->obj, rsp))
            return validator_mismatch(c);
        r = revalidated(c, rsp);
        if (r == CQR_SENT_FROM_CACHE)
            return r;
    }
    if (q->obj != NULL && rsp->status >= 500 &&
        cache_serve_stale_on_error(&q->obj->meta, &q->rcc, now)) {
        stat_inc(ST_CACHE_STALE_ERROR);
        return send_stale(c, rsp->status, "stale-if-error", NULL, 0);
    }
    if (q->obj != NULL && rsp->status != 304)
        cache_obj_unref(&q->obj); /* replaced by what follows */
    r = decide_store(c, rsp);
    if (r == CQR_PASS)
        cache_flow_drain_head(c);
    return r;
}

int
cache_flow_on_body(struct conn *c, struct evbuffer *in, size_t n)
{
    struct creq *q = c->cq;
    size_t left = n;
    uint64_t body;

    if (q->dfill != NULL) {
        int rc = cache_fill_body(c, in, n);

        return rc < 0 ? -1 : rc;
    }

    while (left > 0) {
        struct evbuffer_iovec v;
        size_t m;

        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        m = v.iov_len < left ? v.iov_len : left;
        cache_obj_append(q->fill, v.iov_base, m);
        evbuffer_drain(in, m);
        left -= m;
    }
    body = cache_obj_body_len(q->fill);
    if (q->fill->expected_len == CACHE_LEN_UNKNOWN && c->w->srv->disk != NULL &&
        body > CACHE_FILL_OVERFLOW && !q->overflow_tried) {
        int rc = cache_fill_overflow(c);

        if (rc != 0 || q->fill == NULL)
            return rc;
    }
    if (body > c->wc->conf->cache.max_object && q->fill->expected_len == CACHE_LEN_UNKNOWN)
        return -1; /* too large for RAM: the store is abandoned */
    /* Waking every waiter for each small read costs a write per waiter:
     * wake them per NOTIFY_STEP bytes (and at the end). */
    if (body - q->notified >= NOTIFY_STEP || q->notified == 0) {
        q->notified = body;
        cache_busy_notify(q->busy);
    }
    return 0;
}

void
cache_flow_on_body_end(struct conn *c, bool complete)
{
    struct creq *q = c->cq;
    struct cache_obj *o = q->fill;

    if (q->dfill != NULL) {
        /* Complete: the writer's commit of the header ends the busy
         * entry; cut: followers must not join it any more. */
        cache_fill_end(c, complete);
        if (!complete && q->busy != NULL && q->leader)
            cache_busy_unindex(c->w->srv->busy, q->busy);
        return;
    }
    if (o == NULL)
        return;
    q->fill = NULL;
    cache_obj_finish(o, complete ? CACHE_OBJ_COMPLETE : CACHE_OBJ_FAILED);
    if (complete) {
        stat_inc(ST_CACHE_STORE);
        if (cache_ram_insert(c->w->srv->ram, o) != 0)
            stat_inc(ST_CACHE_TOO_BIG);
        store_disk(c, o);
    }
    if (q->busy != NULL) {
        cache_busy_notify(q->busy);
        if (q->leader)
            cache_busy_unindex(c->w->srv->busy, q->busy);
    }
    cache_obj_unref(&o);
}

bool
cache_flow_on_fail(struct conn *c, int *status)
{
    struct creq *q = c->cq;

    if (q == NULL || q->mode != CQ_FETCH)
        return false;
    if (q->obj != NULL) {
        if (cache_serve_stale_on_error(&q->obj->meta, &q->rcc, clock_wall_ms())) {
            stat_inc(ST_CACHE_STALE_ERROR);
            send_stale(c, *status, "stale-if-error", NULL, 0);
            return true;
        }
        *status = 504; /* must not serve stale (RFC 9111 §4.2.4) */
    }
    cache_flow_publish(c, CACHE_BUSY_FAILED, NULL, *status);
    cache_flow_release_busy(q);
    return false;
}

