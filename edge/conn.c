/*
 * A client connection: reads request heads with the strict parser, routes
 * each request to its site, hands it to the upstream exchange, and keeps
 * requests in order (one at a time; pipelined bytes wait in the input
 * buffer). Deadlines: header (whole head), idle (between requests), body
 * and send (between reads / writes), linger (after a close).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_MOD "conn"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/stats.h"
#include "edge/edge_int.h"

#define LINGER_MS 2000

static void handle_input(struct conn *c);

static void
arm_timer(struct conn *c, uint32_t ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    evtimer_add(c->timer, &tv);
}

static const struct conf *
cur_conf(const struct conn *c)
{
    return c->wc ? c->wc->conf : c->w->wc->conf;
}

static void
conn_free(struct conn *c)
{
    CHECK_OBJ(c, CONN_MAGIC);
    conn_flush_forget(c);
    if (c->px != NULL)
        proxy_end(c);
    proxy_destroy(&c->px_spare);
    cache_flow_free(c);
    if (c->wc != NULL)
        worker_conf_release(c->w, c->wc);
    event_free(c->timer);
    conn_read_free(c);
    bufferevent_free(c->bev);
    if (c->pair_peer != NULL)
        bufferevent_free(c->pair_peer);
    worker_conn_gone(c->w, c);
    stat_dec(ST_CONN_LIVE);
    free(c->fields);
    free(c->ibuf);
    c->magic = 0;
    free(c);
}

void
conn_abort(struct conn *c)
{
    conn_free(c);
}

/* Output is flushed: shut our side, then read until the peer closes, so an
 * unread request does not turn our last response into a reset. */
static void
start_linger(struct conn *c)
{
    if (c->internal) { /* no socket to shut: the pair peer discards */
        conn_free(c);
        return;
    }
    c->state = CS_LINGER;
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    bufferevent_disable(c->bev, EV_WRITE);
    conn_read_enable(c, true);
    c->ibuf_len = 0;
    evbuffer_drain(bufferevent_get_input(c->bev),
                   evbuffer_get_length(bufferevent_get_input(c->bev)));
    arm_timer(c, LINGER_MS);
}

static void
close_after_output(struct conn *c)
{
    c->state = CS_CLOSING;
    c->keep_alive = false;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        start_linger(c);
}

static void
wait_next_request(struct conn *c)
{
    c->state = CS_HEAD;
    c->head_started = false;
    memset(&c->scan, 0, sizeof c->scan);
    arm_timer(c, cur_conf(c)->limits.idle_timeout_ms);
    conn_set_timeouts(c, 0);
    conn_read_enable(c, true);
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        handle_input(c);
}

static void
log_access(struct conn *c)
{
    char line[1024];
    double ms = (double)(clock_mono_us() - c->t_start_us) / 1000.0;
    int n;

    n = snprintf(line, sizeof line, "%s %s %s %s %s %d %llu %.3f \"%s\" %s\n",
                 worker_log_time(c->w), c->peer, c->method, c->host[0] ? c->host : "-",
                 c->path, c->status, (unsigned long long)c->bytes_out, ms,
                 c->cache_status ? c->cache_status : "-",
                 c->upstream[0] ? c->upstream : "-");
    if (n > 0)
        worker_alog_append(c->w, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void
count_status(int status)
{
    if (status >= 500)
        stat_inc(ST_RESP_5XX);
    else if (status >= 400)
        stat_inc(ST_RESP_4XX);
    else if (status >= 300)
        stat_inc(ST_RESP_3XX);
    else
        stat_inc(ST_RESP_2XX);
}

void
conn_response_done(struct conn *c, bool can_keep_alive)
{
    if (c->zombie) {
        if (c->px != NULL && proxy_filling(c->px))
            return; /* the fill still runs for the followers */
        count_status(c->status);
        log_access(c);
        conn_free(c);
        return;
    }
    if (c->px != NULL && proxy_filling(c->px)) {
        /* Sent, but the object is still filling from this upstream. */
        c->done_pending = true;
        c->done_keep = can_keep_alive;
        conn_read_enable(c, false);
        return;
    }
    c->done_pending = false;
    if (c->head_pending > 0) { /* answered by strata itself (route's errors) */
        conn_consume_head(c, c->head_pending);
        c->head_pending = 0;
    }
    cache_flow_end(c);
    count_status(c->status);
    log_access(c);
    if (c->px != NULL)
        proxy_end(c);
    if (c->wc != NULL)
        worker_conf_release(c->w, c->wc);
    c->wc = NULL;
    c->n_requests++;
    if (!can_keep_alive || !c->keep_alive || c->w->draining || c->peer_eof) {
        close_after_output(c);
        return;
    }
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > EDGE_OUT_LOW) {
        /* The next request waits until the output drained. Reading goes
         * on (bounded by CONN_READ_HIGH): stopping it here and starting
         * it again once flushed would cost an epoll_ctl per response. */
        c->state = CS_FLUSH;
        return;
    }
    wait_next_request(c);
}

void
conn_drain(struct conn *c)
{
    c->keep_alive = false;
    if (c->state == CS_HEAD && !c->head_started)
        conn_free(c);
}

/* Copies what the access log and routing need out of the input buffer. */
static void
copy_request_names(struct conn *c)
{
    const struct h1_request *r = &c->req;
    size_t n;

    n = r->method_len < sizeof c->method ? r->method_len : sizeof c->method - 1;
    memcpy(c->method, r->method_str, n);
    c->method[n] = '\0';
    n = r->path_len < sizeof c->path ? r->path_len : sizeof c->path - 1;
    memcpy(c->path, r->path, n);
    c->path[n] = '\0';
}

/* Lowercases the Host into c->host without port or trailing dot. */
static int
normalize_host(struct conn *c)
{
    const char *h = c->req.host;
    size_t n = c->req.host_len, i, end = n;

    c->host[0] = '\0';
    if (h == NULL)
        return 0;
    if (n > 0 && h[0] == '[') {
        const char *rb = memchr(h, ']', n);
        if (rb == NULL)
            return -EINVAL;
        end = (size_t)(rb - h) + 1;
    } else {
        const char *colon = memchr(h, ':', n);
        if (colon != NULL)
            end = (size_t)(colon - h);
    }
    if (end > 0 && h[end - 1] == '.')
        end--;
    if (end == 0 || end >= sizeof c->host)
        return -EINVAL;
    for (i = 0; i < end; i++)
        c->host[i] = (char)tolower((unsigned char)h[i]);
    c->host[end] = '\0';
    return 0;
}

static void
route(struct conn *c, size_t head_len)
{
    const struct conf *conf = c->wc->conf;
    const struct conf_site *site;

    /* Until the cache flow or the proxy takes the request (and consumes its
     * head), an answer of strata's own leaves the head to
     * conn_response_done: a kept-alive 404 read the same head forever. */
    c->head_pending = head_len;
    copy_request_names(c);
    c->keep_alive = c->req.keep_alive;
    c->is_head = c->req.method == H1_M_HEAD;
    if (normalize_host(c) != 0) {
        conn_respond_error(c, 400, true);
        return;
    }
    if (c->req.method == H1_M_CONNECT) {
        conn_respond_error(c, 405, true);
        return;
    }
    if (fwd_is_loop(&c->req, conf->node_id)) {
        stat_inc(ST_REQ_LOOP);
        conn_respond_error(c, 508, true);
        return;
    }
    site = conf_site_find(conf, c->host, strlen(c->host));
    if (site == NULL) {
        stat_inc(ST_REQ_NO_SITE);
        /* A body we will not read leaves the framing in doubt: close. */
        conn_respond_error(c, 404, c->req.body != H1_BODY_NONE);
        return;
    }
    if (c->w->srv->ram != NULL && conf->cache.enabled && site->cache.enabled) {
        if (c->req.method == H1_M_GET || c->req.method == H1_M_HEAD) {
            c->cache_on = true;
            c->state = CS_CACHE;
            c->head_pending = 0;
            cache_flow_start(c, site, head_len);
            return;
        }
        if (c->req.method != H1_M_OPTIONS && c->req.method != H1_M_TRACE)
            (void)cache_flow_note_target(c, site); /* unsafe: invalidates */
    }
    c->state = CS_PROXY;
    c->head_pending = 0;
    proxy_start(c, site, head_len);
}

static void
begin_request(struct conn *c)
{
    const struct conf *conf;

    c->head_started = true;
    c->head_pending = 0;
    c->t_start_us = clock_mono_us();
    c->wc = worker_conf_acquire(c->w);
    conf = c->wc->conf;
    c->status = 0;
    c->is_head = false;
    c->cache_on = false;
    c->done_pending = false;
    c->bytes_out = 0;
    c->cache_status = NULL;
    c->upstream[0] = '\0';
    c->host[0] = '\0';
    strcpy(c->method, "-");
    strcpy(c->path, "-");
    if (c->req.fields_cap < conf->limits.fields) {
        free(c->fields);
        c->req.fields_cap = conf->limits.fields;
        c->fields = xcalloc(c->req.fields_cap, sizeof *c->fields);
    }
    arm_timer(c, conf->limits.header_timeout_ms);
}

static void
limits_of(const struct conn *c, struct h1_limits *lim)
{
    lim->request_line = c->wc->conf->limits.request_line;
    lim->field_line = c->wc->conf->limits.field_line;
    lim->header_section = c->wc->conf->limits.header_section;
    lim->max_fields = c->wc->conf->limits.fields;
}

static void parse_head(struct conn *c, const unsigned char *p, size_t len,
                       const struct h1_limits *lim);

static void
handle_input(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    struct h1_limits lim;

    if (len == 0)
        return;
    if (!c->head_started)
        begin_request(c);
    limits_of(c, &lim);
    if (len > (size_t)lim.header_section + 4)
        len = (size_t)lim.header_section + 4;
    parse_head(c, evbuffer_pullup(in, (ev_ssize_t)len), len, &lim);
}

bool
conn_input_flat(struct conn *c, size_t n)
{
    struct h1_limits lim;
    struct h1_scan sc;

    if (!c->head_started)
        begin_request(c);
    limits_of(c, &lim);
    sc = c->scan;
    if (h1_head_scan(&sc, c->ibuf, n, &lim, true) != (int)n)
        return false; /* partial, followed by more, or bad: the input's way */
    c->ibuf_len = (uint32_t)n;
    parse_head(c, (const unsigned char *)c->ibuf, n, &lim);
    return true;
}

void
conn_consume_head(struct conn *c, size_t n)
{
    if (c->ibuf_len > 0) {
        ASSERT(n == c->ibuf_len); /* a flat head came alone */
        c->ibuf_len = 0;
        return;
    }
    evbuffer_drain(bufferevent_get_input(c->bev), n);
}

/* Scans and parses the head at p (len bytes, from the input or ibuf). */
static void
parse_head(struct conn *c, const unsigned char *p, size_t len, const struct h1_limits *lim)
{
    int rc = h1_head_scan(&c->scan, (const char *)p, len, lim, true);

    if (rc == 0)
        return;
    if (rc > 0) {
        size_t head_len = (size_t)rc;

        c->req.fields = c->fields;
        rc = h1_request_parse(&c->req, (const char *)p, head_len, lim);
        if (rc == 0)
            rc = (int)head_len;
    }
    evtimer_del(c->timer);
    stat_inc(ST_REQ_TOTAL);
    if (rc < 0) {
        stat_inc(ST_REQ_BAD);
        conn_respond_error(c, -rc, true);
        return;
    }
    route(c, (size_t)rc);
}

void
conn_input(struct conn *c)
{
    switch (c->state) {
    case CS_HEAD:
        handle_input(c);
        break;
    case CS_PROXY:
        proxy_on_client_read(c);
        break;
    case CS_LINGER:
        evbuffer_drain(bufferevent_get_input(c->bev),
                       evbuffer_get_length(bufferevent_get_input(c->bev)));
        break;
    default:
        break; /* pipelined bytes wait for their turn */
    }
}

/* Output dropped to the low mark (or empty): what the state does next. */
void
conn_on_drained(struct conn *c)
{
    size_t out = evbuffer_get_length(bufferevent_get_output(c->bev));

    switch (c->state) {
    case CS_PROXY:
        proxy_on_client_drained(c);
        break;
    case CS_CACHE:
        if (c->cq != NULL && c->cq->mode == CQ_SEND)
            cache_send_pump(c);
        break;
    case CS_FLUSH:
        if (out <= EDGE_OUT_LOW)
            wait_next_request(c);
        break;
    case CS_CLOSING:
        if (out == 0)
            start_linger(c);
        break;
    default:
        break;
    }
}

static void
on_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    /* Empty again: back to direct writes (see conn_flush.c). */
    if (c->direct && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE);
    conn_on_drained(c);
}

/*
 * The client left while its request fills a cache object that other
 * requests stream: shut the client side, and keep the connection (and its
 * upstream exchange) until the fill ends, so the followers are not cut.
 */
static bool
zombify(struct conn *c)
{
    if (c->state != CS_PROXY || c->px == NULL || !proxy_filling(c->px) || c->internal)
        return false;
    c->zombie = true;
    cache_flow_client_gone(c);
    conn_flush_stop(c);
    conn_read_enable(c, false);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    evtimer_del(c->timer);
    shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
    return true;
}

void
conn_event(struct conn *c, short what)
{
    bool half_close = (what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
                      c->state == CS_PROXY;

    if (c->zombie || (!half_close && zombify(c)))
        return;
    if (what & BEV_EVENT_TIMEOUT) {
        stat_inc(what & BEV_EVENT_READING ? ST_CONN_TIMEOUT_BODY : ST_CONN_TIMEOUT_IDLE);
        if (c->state == CS_PROXY)
            proxy_on_client_gone(c);
        conn_free(c);
        return;
    }
    if (half_close) {
        /* Half close after a whole request: answer, then close. The proxy
         * decides whether the request was complete. */
        c->peer_eof = true;
        conn_read_enable(c, false);
        proxy_on_client_read(c);
        return;
    }
    if (c->state == CS_PROXY)
        proxy_on_client_gone(c);
    conn_free(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_input(arg);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn_event(arg, what);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    if (c->state == CS_HEAD) {
        if (c->head_started) {
            /* Slow or stalled head: answer 408 and close. */
            stat_inc(ST_CONN_TIMEOUT_HEADER);
            conn_respond_error(c, 408, true);
            return;
        }
        stat_inc(ST_CONN_TIMEOUT_IDLE);
    }
    conn_free(c);
}

void
conn_set_timeouts(struct conn *c, uint32_t read_ms)
{
    uint32_t send_ms = cur_conf(c)->limits.send_timeout_ms;
    struct timeval rt = { read_ms / 1000, (read_ms % 1000) * 1000 };
    struct timeval wt = { send_ms / 1000, (send_ms % 1000) * 1000 };

    if (c->ev_read != NULL) {
        conn_read_timeout(c, read_ms);
        bufferevent_set_timeouts(c->bev, NULL, &wt);
        return;
    }
    bufferevent_set_timeouts(c->bev, read_ms ? &rt : NULL, &wt);
}

static void
peer_text(char *out, size_t n, const struct sockaddr *sa)
{
    const void *a = NULL;

    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (a == NULL || evutil_inet_ntop(sa->sa_family, a, out, n) == NULL)
        snprintf(out, n, "-");
}

/* A connection on bev (socket or internal pair), registered with w; the
 * caller starts reading once its read path is set up. */
static struct conn *
conn_new(struct worker *w, struct bufferevent *bev, const char *peer)
{
    struct conn *c = xcalloc(1, sizeof *c);
    const struct conf *conf = w->wc->conf;

    c->magic = CONN_MAGIC;
    c->w = w;
    c->id = ++w->next_conn_id;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->bev = bev;
    c->timer = evtimer_new(w->base, on_timer, c);
    ASSERT(c->bev != NULL && c->timer != NULL);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_READ_HIGH);
    /* libevent's 16 KiB default per write turns a big body into many
     * syscalls; a write may take what the socket buffer takes. */
    bufferevent_set_max_single_write(c->bev, EDGE_OUT_HIGH);
    bufferevent_setwatermark(c->bev, EV_WRITE, EDGE_OUT_LOW, 0);
    conn_set_timeouts(c, 0);
    TAILQ_INSERT_TAIL(&w->conns, c, link);
    w->n_conns++;
    stat_inc(ST_CONN_ACCEPTED);
    stat_inc(ST_CONN_LIVE);
    c->state = CS_HEAD;
    /* The first request gets the header deadline from the first byte on;
     * until then the connection is idle. */
    arm_timer(c, conf->limits.header_timeout_ms);
    return c;
}

void
conn_accept(struct worker *w, int fd, const struct sockaddr *sa, int salen)
{
    struct conn *c;
    struct bufferevent *bev;
    char peer[64];
    int one = 1;

    (void)salen;
    peer_text(peer, sizeof peer, sa);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    ASSERT(bev != NULL);
    c = conn_new(w, bev, peer);
    conn_flush_direct(c);
    conn_read_direct(c);
    conn_read_enable(c, true);
}

struct conn *
conn_internal(struct worker *w, struct bufferevent *bev)
{
    struct conn *c = conn_new(w, bev, "internal");

    c->internal = true;
    conn_read_enable(c, true);
    return c;
}
