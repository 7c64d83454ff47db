/*
 * A client connection: reads request heads with the strict parser, routes
 * each request to its site, hands it to the upstream exchange, and keeps
 * requests in order (one at a time; pipelined bytes wait in the input
 * buffer). Deadlines: header (whole head), idle (between requests), body
 * and send (between reads / writes), linger (after a close).
 */
#include "config.h"

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

void
conn_arm_timer(struct conn *c, uint32_t ms)
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
    conn_arm_timer(c, LINGER_MS);
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
    conn_arm_timer(c, cur_conf(c)->limits.idle_timeout_ms);
    conn_set_timeouts(c, 0);
    conn_read_enable(c, true);
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        conn_head_input(c);
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

void
conn_input(struct conn *c)
{
    switch (c->state) {
    case CS_HEAD:
        conn_head_input(c);
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
    conn_arm_timer(c, conf->limits.header_timeout_ms);
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
