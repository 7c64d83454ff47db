/*
 * The upstream exchange of one request: pick a server of the site, send the
 * rewritten head and stream the request body, read and check the response
 * head, and stream the response body to the client, moving buffers without
 * copying and pausing whichever side reads faster than the other writes.
 * A request that failed before any response byte is retried once on
 * another server when that is safe (idempotent, no body consumed).
 *
 * After proxy_start() the request's slices (c->req pointers) are invalid:
 * only its scalar fields (method, version, body kind) are used.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "proxy"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/log.h"
#include "common/stats.h"
#include "edge/edge_int.h"
#include "edge/proxy_int.h"

static const struct h1_limits rsp_limits = {
    .request_line = 16384,
    .field_line = 16384,
    .header_section = 65536,
    .max_fields = RSP_MAX_FIELDS,
};

static void send_to_server(struct proxy *px);

static bool
idempotent(enum h1_method m)
{
    return m == H1_M_GET || m == H1_M_HEAD || m == H1_M_OPTIONS ||
           m == H1_M_TRACE || m == H1_M_PUT || m == H1_M_DELETE;
}

static void
drop_upstream(struct proxy *px)
{
    if (px->uc != NULL)
        upstream_conn_release(&px->uc, false, &px->conf->upstream);
}

void
proxy_end(struct conn *c)
{
    struct proxy *px = c->px;

    c->px = NULL;
    if (px == NULL)
        return;
    CHECK_OBJ(px, PROXY_MAGIC);
    drop_upstream(px);
    evbuffer_drain(px->head, evbuffer_get_length(px->head));
    if (c->px_spare == NULL)
        c->px_spare = px;
    else
        proxy_destroy(&px);
}

void
proxy_destroy(struct proxy **pp)
{
    struct proxy *px = *pp;

    *pp = NULL;
    if (px == NULL)
        return;
    CHECK_OBJ(px, PROXY_MAGIC);
    drop_upstream(px);
    evbuffer_free(px->head);
    px->magic = 0;
    free(px);
}

/* Failed before the client saw a response head: answer with status. */
void
proxy_fail_early(struct proxy *px, int status)
{
    struct conn *c = px->c;

    drop_upstream(px);
    if (cache_flow_on_fail(c, &status)) {
        px->detached = true;
        px->done = true;
        return; /* answered from the cache (stale-if-error) */
    }
    /* An unread request body leaves the framing in doubt: close after. */
    conn_respond_error(c, status, !px->req_done);
}

/* Failed after the response head went out: the client sees a cut. */
static void
fail_late(struct proxy *px)
{
    if (px->store) {
        drop_upstream(px);
        cache_flow_on_body_end(px->c, false); /* readers see the cut */
        px->done = true;
        if (px->c->done_pending || px->c->zombie)
            conn_response_done(px->c, false);
        return;
    }
    conn_abort(px->c);
}

/* Store or detached mode: the upstream side ends; the client's response
 * ends on its own (and may have ended already, waiting for this). */
static void
finish_upstream(struct proxy *px, bool reuse)
{
    struct conn *c = px->c;

    /* Called once the whole body arrived: the object is complete whether
     * or not the connection can be reused. */
    if (px->store)
        cache_flow_on_body_end(c, true);
    upstream_conn_release(&px->uc, reuse, &px->conf->upstream);
    px->done = true;
    if (c->done_pending || c->zombie)
        conn_response_done(c, c->done_keep);
}

bool
proxy_filling(const struct proxy *px)
{
    return (px->store || px->detached) && !px->done;
}

static void
finish(struct proxy *px)
{
    struct conn *c = px->c;
    struct evbuffer *in = bufferevent_get_input(px->uc->bev);
    bool reuse = px->rsp.keep_alive && px->req_done &&
                 px->rsp.body != H1_BODY_EOF && evbuffer_get_length(in) == 0;

    if (px->store || px->detached) {
        finish_upstream(px, reuse);
        return;
    }
    if (px->rsp_chunk_out)
        evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
    upstream_conn_release(&px->uc, reuse, &px->conf->upstream);
    conn_response_done(c, px->req_done);
}

/* Moves n payload bytes to the client, as one chunk when re-chunking. */
static void
move_body(struct proxy *px, struct evbuffer *in, size_t n)
{
    struct evbuffer *out = bufferevent_get_output(px->c->bev);

    if (px->rsp_chunk_out)
        evbuffer_add_printf(out, "%zx\r\n", n);
    evbuffer_remove_buffer(in, out, n);
    if (px->rsp_chunk_out)
        evbuffer_add(out, "\r\n", 2);
    px->c->bytes_out += n;
}

static void
pause_if_full(struct proxy *px)
{
    if (evbuffer_get_length(bufferevent_get_output(px->c->bev)) > EDGE_OUT_HIGH &&
        px->uc != NULL) {
        bufferevent_disable(px->uc->bev, EV_READ);
        px->paused = true;
    }
}

static void
store_body(struct proxy *px, struct evbuffer *in, size_t n)
{
    int rc;

    if (!px->store) {
        evbuffer_drain(in, n); /* detached: nobody wants it */
        return;
    }
    rc = cache_flow_on_body(px->c, in, n);
    if (rc < 0) {
        px->store_failed = true;
    } else if (rc == 1 && px->uc != NULL && !px->paused) {
        bufferevent_disable(px->uc->bev, EV_READ); /* the disk catches up */
        px->paused = true;
    }
}

static void
pump_response(struct proxy *px)
{
    struct evbuffer *in = bufferevent_get_input(px->uc->bev);
    size_t avail = evbuffer_get_length(in);
    void (*move)(struct proxy *, struct evbuffer *, size_t) =
        px->store || px->detached ? store_body : move_body;
    int rc = 0;

    switch (px->rsp.body) {
    case H1_BODY_NONE:
        rc = 1;
        break;
    case H1_BODY_LENGTH: {
        size_t n = px->rsp_left < avail ? (size_t)px->rsp_left : avail;

        if (n > 0)
            move(px, in, n);
        px->rsp_left -= n;
        rc = px->rsp_left == 0;
        break;
    }
    case H1_BODY_CHUNKED:
        rc = proxy_walk_chunked(&px->rsp_ch, in, move, px);
        break;
    case H1_BODY_EOF:
        if (avail > 0)
            move(px, in, avail);
        break; /* ends at EOF */
    }
    if (rc < 0 || px->store_failed) {
        stat_inc(ST_UP_BAD_RESPONSE);
        fail_late(px);
        return;
    }
    if (rc == 1) {
        finish(px);
        return;
    }
    if (!px->store && !px->detached)
        pause_if_full(px);
}

/* The response head is complete: check it, answer the client's head. */
static int
take_response_head(struct proxy *px, const char *p, size_t head_len)
{
    struct conn *c = px->c;
    bool unknown_len, ka;

    px->rsp.fields = px->rfields;
    px->rsp.fields_cap = RSP_MAX_FIELDS;
    if (h1_response_parse(&px->rsp, p, head_len, c->req.method, &rsp_limits) != 0)
        return -EPROTO;
    if (px->rsp.status < 200)
        return 1; /* interim: skip it, we answered Expect ourselves */
    px->rsp_left = px->rsp.content_length;
    h1_chunked_init(&px->rsp_ch);
    if (c->cq != NULL && c->cache_on) {
        switch (cache_flow_on_response(c, &px->rsp)) {
        case CQR_STORE:
            px->store = true;
            px->head_sent = true;
            return 0;
        case CQR_SENT_FROM_CACHE:
            px->detached = true;
            px->head_sent = true;
            return 0;
        case CQR_PASS:
            break;
        }
    }
    if (c->cq != NULL && !c->cache_on)
        cache_flow_invalidate(c, &px->rsp);
    unknown_len = px->rsp.body == H1_BODY_CHUNKED || px->rsp.body == H1_BODY_EOF;
    px->rsp_chunk_out = unknown_len && c->req.version_minor >= 1;
    if (unknown_len && !px->rsp_chunk_out)
        c->keep_alive = false; /* HTTP/1.0 client: the close ends the body */
    ka = c->keep_alive && !c->w->draining && !c->peer_eof;
    c->status = px->rsp.status;
    fwd_response_head(bufferevent_get_output(c->bev), &px->rsp, c->req.version_minor,
                      px->conf->node_id, worker_date(c->w), ka, px->rsp_chunk_out,
                      c->cache_status,
                      px->conf->cache.strip_targeted ? px->conf->cache.targeted_field : NULL);
    px->head_sent = true;
    return 0;
}

static void
read_response_head(struct proxy *px)
{
    struct evbuffer *in = bufferevent_get_input(px->uc->bev);

    for (;;) {
        size_t len = evbuffer_get_length(in);
        const char *p;
        int rc;

        if (len == 0)
            return;
        if (len > rsp_limits.header_section + 4)
            len = rsp_limits.header_section + 4;
        p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
        rc = h1_head_scan(&px->rscan, p, len, &rsp_limits, false);
        if (rc == 0)
            return;
        if (rc > 0) {
            size_t head_len = (size_t)rc;

            rc = take_response_head(px, p, head_len);
            evbuffer_drain(in, head_len);
            memset(&px->rscan, 0, sizeof px->rscan);
            if (rc == 1)
                continue;
        }
        if (rc < 0) {
            stat_inc(ST_UP_BAD_RESPONSE);
            proxy_fail_early(px, 502);
            return;
        }
        px->st = UP_BODY;
        if (px->detached && px->rsp.body != H1_BODY_NONE) {
            finish_upstream(px, false); /* a 5xx we answered with stale */
            return;
        }
        pump_response(px);
        return;
    }
}

static void
on_up_read(struct bufferevent *bev, void *arg)
{
    struct proxy *px = arg;

    (void)bev;
    px->got_byte = true;
    if (px->st == UP_BODY)
        pump_response(px);
    else
        read_response_head(px);
}

static void
on_up_write(struct bufferevent *bev, void *arg)
{
    struct proxy *px = arg;

    (void)bev;
    if (px->client_paused && !px->req_done) {
        px->client_paused = false;
        conn_read_enable(px->c, true);
        proxy_pump_request(px);
    }
}

static void
retry_or_fail(struct proxy *px, int status)
{
    bool stale_reuse = px->uc != NULL && px->uc->reused;

    drop_upstream(px);
    /* A pooled connection the server closed as we sent is no real try. */
    if (px->retryable && !px->got_byte && (stale_reuse || px->tries < MAX_TRIES)) {
        if (!stale_reuse)
            px->server++;
        stat_inc(ST_UP_RETRY);
        send_to_server(px);
        return;
    }
    proxy_fail_early(px, status);
}

static void
on_up_event(struct bufferevent *bev, short what, void *arg)
{
    struct proxy *px = arg;

    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        const struct conf_upstream *u = &px->conf->upstream;
        struct timeval rt = { u->read_timeout_ms / 1000, (u->read_timeout_ms % 1000) * 1000 };
        struct timeval wt = { u->write_timeout_ms / 1000, (u->write_timeout_ms % 1000) * 1000 };

        px->uc->connected = true;
        bufferevent_set_timeouts(px->uc->bev, &rt, &wt);
        return;
    }
    if (px->st == UP_BODY) {
        if ((what & BEV_EVENT_EOF) && px->rsp.body == H1_BODY_EOF) {
            pump_response(px);
            px->rsp.keep_alive = false;
            finish(px);
            return;
        }
        stat_inc(what & BEV_EVENT_TIMEOUT ? ST_UP_TIMEOUT : ST_UP_BAD_RESPONSE);
        fail_late(px);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        stat_inc(ST_UP_TIMEOUT);
        drop_upstream(px);
        proxy_fail_early(px, 504);
        return;
    }
    if (!px->uc->connected && !px->uc->reused)
        stat_inc(ST_UP_CONNECT_FAIL);
    retry_or_fail(px, 502);
}

/* Writes a pooled connection's output at once; true when all went out
 * (libevent keeps a socket bufferevent's output start frozen). */
static bool
write_now(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);

    evbuffer_unfreeze(out, 1);
    (void)evbuffer_write(out, bufferevent_getfd(bev));
    evbuffer_freeze(out, 1);
    return evbuffer_get_length(out) == 0;
}

static void
send_to_server(struct proxy *px)
{
    struct conn *c = px->c;
    const struct conf_addr *a = &px->site->origins[px->server % px->site->n_origins];
    const struct conf_upstream *u = &px->conf->upstream;
    struct timeval ct = { u->connect_timeout_ms / 1000, (u->connect_timeout_ms % 1000) * 1000 };
    struct timeval rt = { u->read_timeout_ms / 1000, (u->read_timeout_ms % 1000) * 1000 };
    struct timeval wt = { u->write_timeout_ms / 1000, (u->write_timeout_ms % 1000) * 1000 };
    struct evbuffer *out;

    px->tries++;
    snprintf(c->upstream, sizeof c->upstream, "%s", a->text);
    px->uc = upstream_conn_get(c->w->pool, a);
    if (px->uc == NULL) {
        retry_or_fail(px, 502);
        return;
    }
    bufferevent_setcb(px->uc->bev, on_up_read, on_up_write, on_up_event, px);
    bufferevent_setwatermark(px->uc->bev, EV_READ, 0, EDGE_UP_READ_MAX);
    /* While connecting, the write deadline is the connect deadline. */
    bufferevent_set_timeouts(px->uc->bev, &rt, px->uc->reused ? &wt : &ct);
    out = bufferevent_get_output(px->uc->bev);
    /* A pooled connection writes the head itself (write_now): with
     * EV_WRITE enabled, queuing it would arm EPOLLOUT for nothing. */
    if (px->uc->reused && px->req_done)
        bufferevent_disable(px->uc->bev, EV_WRITE);
    if (px->retryable)
        evbuffer_add(out, evbuffer_pullup(px->head, -1), evbuffer_get_length(px->head));
    else
        evbuffer_add_buffer(out, px->head);
    px->st = UP_SENDING;
    memset(&px->rscan, 0, sizeof px->rscan);
    if (px->uc->reused && px->req_done && write_now(px->uc->bev)) {
        bufferevent_enable(px->uc->bev, EV_READ);
        return; /* the whole head went out: no EPOLLOUT round trip */
    }
    bufferevent_enable(px->uc->bev, EV_READ | EV_WRITE);
    proxy_pump_request(px);
}

/* The site's responses go through the cache (as conn.c routes them). */
static bool
site_caches(const struct conn *c, const struct conf_site *site)
{
    return c->w->srv->ram != NULL && c->wc->conf->cache.enabled && site->cache.enabled;
}

/* The connection's spare exchange (or a new one), reset for a request. */
static struct proxy *
proxy_take(struct conn *c, const struct conf_site *site)
{
    struct proxy *px = c->px_spare;
    struct evbuffer *head;

    c->px_spare = NULL;
    if (px == NULL) {
        px = xmalloc(sizeof *px);
        px->head = evbuffer_new();
    }
    /* Everything before the field array starts zeroed; keep head. */
    head = px->head;
    memset(px, 0, offsetof(struct proxy, rfields));
    px->magic = PROXY_MAGIC;
    px->head = head;
    c->px = px;
    px->c = c;
    px->site = site;
    px->conf = c->wc->conf;
    px->req_body = c->req.body;
    px->req_left = c->req.content_length;
    px->req_done = c->req.body == H1_BODY_NONE;
    h1_chunked_init(&px->req_ch);
    return px;
}

/* Writes the upstream request head into px->head (fwd_request_head). */
static int
build_head(struct proxy *px, struct creq *q)
{
    struct conn *c = px->c;
    struct fwd_ctx f = { .site = px->site, .node_id = px->conf->node_id, .peer_ip = c->peer };

    if (q != NULL && q->mode == CQ_FETCH) {
        struct cache_revalidation rv = { 0 };

        if (q->obj != NULL)
            cache_validators_find(&rv, q->obj->head, q->obj->head_len);
        f.cache_fetch = true;
        f.inm = rv.if_none_match;
        f.inm_len = rv.if_none_match_len;
        f.ims = rv.if_modified_since;
        f.ims_len = rv.if_modified_since_len;
    }
    /* Through the cache: the origin gets the resource the key names. */
    f.key = q != NULL && q->key.len > 0 ? &q->key : NULL;
    return fwd_request_head(px->head, &c->req, &f, c->req.body == H1_BODY_CHUNKED);
}

void
proxy_start(struct conn *c, const struct conf_site *site, size_t head_len)
{
    struct proxy *px = proxy_take(c, site);
    const struct conf *conf = px->conf;
    struct creq *q = c->cache_on ? c->cq : NULL;
    bool fetching = q != NULL && q->mode == CQ_FETCH;

    if (c->req.body == H1_BODY_LENGTH && c->req.content_length > conf->limits.request_body) {
        conn_respond_error(c, 413, true);
        return;
    }
    /* Through a caching site, a method the cache does not handle (RFC 9211
     * §2.2); GET and HEAD got theirs from the cache flow. */
    if (c->cache_status == NULL && c->req.method != H1_M_GET &&
        c->req.method != H1_M_HEAD && site_caches(c, site))
        c->cache_status = "strata; fwd=method";
    if (build_head(px, q) < 0) {
        evbuffer_drain(px->head, evbuffer_get_length(px->head));
        conn_respond_error(c, 400, true);
        return;
    }
    /* A cache fetch keeps the head: its fields decide storing and serving. */
    if (!fetching) {
        conn_consume_head(c, head_len);
        if (q != NULL)
            q->head_len = 0;
    }
    if (c->req.expect_continue && !px->req_done)
        evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    px->retryable = idempotent(c->req.method) && px->req_done;
    if (!px->req_done)
        conn_set_timeouts(c, conf->limits.body_timeout_ms);
    send_to_server(px);
}

void
proxy_on_client_drained(struct conn *c)
{
    struct proxy *px = c->px;

    if (c->cq != NULL && c->cq->mode == CQ_SEND) {
        cache_send_pump(c);
        return;
    }
    if (px == NULL || !px->paused || px->uc == NULL)
        return;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > EDGE_OUT_LOW)
        return;
    px->paused = false;
    bufferevent_enable(px->uc->bev, EV_READ);
    pump_response(px);
}

void
proxy_store_resume(struct conn *c)
{
    struct proxy *px = c->px;

    if (px == NULL || !px->store || px->done || !px->paused || px->uc == NULL)
        return;
    px->paused = false;
    bufferevent_enable(px->uc->bev, EV_READ);
    pump_response(px);
}

void
proxy_on_client_gone(struct conn *c)
{
    if (c->px != NULL)
        drop_upstream(c->px);
}
