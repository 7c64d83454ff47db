/*
 * Connection tracking: ids for X-Origin-Conn (1-based, in accept order),
 * the accepted_connections counter, and the one request a connection may be
 * answering (conn->cur), released when evhttp closes the connection.
 *
 * evhttp 2.1 has no accept hook that sees the evhttp_connection. It does ask
 * us for each accepted socket's bufferevent (evhttp_set_bevcb): there we
 * count the connection and activate an "attach" event. The event runs in
 * the same loop pass, before any I/O on the new socket (which only becomes
 * readable at the next poll), and finds the evhttp_connection: evhttp makes
 * it the bufferevent's callback argument. Attaching installs the close
 * callback, so connections that never send a request are released too.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>

#define LOG_MOD "origin"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/log.h"
#include "tools/origin/origin_int.h"

static void
list_insert(struct origin_srv *srv, struct origin_conn *c)
{
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
}

static void
list_remove(struct origin_srv *srv, struct origin_conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void
by_fd_set(struct origin_srv *srv, int fd, struct origin_conn *c)
{
    size_t need = (size_t)fd + 1;

    if (need > srv->by_fd_len) {
        size_t n = srv->by_fd_len ? srv->by_fd_len : 64;

        while (n < need)
            n *= 2;
        srv->by_fd = xrealloc(srv->by_fd, n * sizeof *srv->by_fd);
        memset(srv->by_fd + srv->by_fd_len, 0,
               (n - srv->by_fd_len) * sizeof *srv->by_fd);
        srv->by_fd_len = n;
    }
    srv->by_fd[fd] = c;
}

static void
conn_free(struct origin_conn **cp)
{
    struct origin_conn *c = *cp;
    struct origin_srv *srv = c->srv;

    *cp = NULL;
    CHECK_OBJ(c, ORIGIN_CONN_MAGIC);
    ASSERT(c->cur == NULL);
    if (c->attach_ev != NULL)
        event_free(c->attach_ev);
    if (c->fd >= 0 && (size_t)c->fd < srv->by_fd_len &&
        srv->by_fd[c->fd] == c)
        srv->by_fd[c->fd] = NULL;
    list_remove(srv, c);
    if (c->live_counted)
        origin_stats.live_connections--;
    c->magic = 0;
    free(c);
}

/* evhttp is freeing the connection: drop whatever we still hold on it. */
static void
on_close(struct evhttp_connection *evcon, void *arg)
{
    struct origin_conn *c = arg;

    CHECK_OBJ(c, ORIGIN_CONN_MAGIC);
    ASSERT(c->evcon == evcon);
    if (c->cur != NULL)
        origin_req_abort(&c->cur);
    conn_free(&c);
}

static void
attach(struct origin_conn *c)
{
    bufferevent_data_cb rcb, wcb;
    bufferevent_event_cb ecb;
    void *cbarg = NULL;
    int one = 1;

    if (c->attach_ev != NULL) {
        event_free(c->attach_ev);
        c->attach_ev = NULL;
    }
    bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &cbarg);
    c->evcon = cbarg;
    c->fd = bufferevent_getfd(c->bev);
    ASSERT(c->evcon != NULL && c->fd >= 0);
    ASSERT(evhttp_connection_get_bufferevent(c->evcon) == c->bev);
    evhttp_connection_set_closecb(c->evcon, on_close, c);
    by_fd_set(c->srv, c->fd, c);
    /* Without it, the last partial segment of a response waits for the
     * client's delayed ACK (40 ms) behind Nagle's algorithm. */
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 &&
        errno != EOPNOTSUPP)
        log_warn("TCP_NODELAY: %s", strerror(errno));
}

static void
on_attach(evutil_socket_t fd, short what, void *arg)
{
    struct origin_conn *c = arg;

    CHECK_OBJ(c, ORIGIN_CONN_MAGIC);
    attach(c);
}

/* evhttp_set_bevcb callback: one call per accepted socket. */
struct bufferevent *
origin_conn_bevcb(struct event_base *base, void *arg)
{
    struct origin_srv *srv = arg;
    struct origin_conn *c;

    CHECK_OBJ(srv, ORIGIN_SRV_MAGIC);
    c = xcalloc(1, sizeof *c);
    c->magic = ORIGIN_CONN_MAGIC;
    c->srv = srv;
    c->fd = -1;
    c->id = ++srv->next_conn_id;
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    c->attach_ev = event_new(base, -1, 0, on_attach, c);
    if (c->bev == NULL || c->attach_ev == NULL) {
        log_err("out of memory for a new connection");
        abort();
    }
    list_insert(srv, c);
    origin_stats.accepted_connections++;
    event_active(c->attach_ev, EV_TIMEOUT, 1);
    return c->bev;
}

/* The connection req arrived on. Never NULL while req is attached. */
struct origin_conn *
origin_conn_of(struct origin_srv *srv, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev;
    struct origin_conn *c;
    int fd;

    ASSERT(evcon != NULL);
    bev = evhttp_connection_get_bufferevent(evcon);
    fd = bufferevent_getfd(bev);
    if (fd >= 0 && (size_t)fd < srv->by_fd_len) {
        c = srv->by_fd[fd];
        if (c != NULL && c->evcon == evcon)
            return c;
    }
    /* Not attached yet (see the file comment): attach now. */
    for (c = srv->conns; c != NULL; c = c->next) {
        if (c->bev == bev && c->evcon == NULL) {
            attach(c);
            return c;
        }
    }
    ASSERT(!"request on a connection we never saw");
    return NULL;
}

/*
 * Call before answering later than from the request callback (delays,
 * fail=hang, streaming). While a request waits for its reply, evhttp 2.1
 * stops reading the connection (older versions aborted on bytes arriving
 * then), so a client that goes away is not noticed and a hung request
 * would hold its connection forever. Do what evhttp itself does while
 * writing: read, to see EOF (evhttp then frees the connection and our close
 * callback runs), but with no read callback, so a pipelined request waits
 * in the input buffer until evhttp reads the next request.
 */
void
origin_conn_park_reads(struct origin_conn *c)
{
    bufferevent_data_cb rcb, wcb;
    bufferevent_event_cb ecb;
    void *cbarg;

    CHECK_OBJ(c, ORIGIN_CONN_MAGIC);
    bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &cbarg);
    bufferevent_setcb(c->bev, NULL, wcb, ecb, cbarg);
    bufferevent_enable(c->bev, EV_READ);
}

/* At shutdown, after evhttp_free(): releases connections never attached. */
void
origin_conn_free_all(struct origin_srv *srv)
{
    while (srv->conns != NULL) {
        struct origin_conn *c = srv->conns;

        if (c->cur != NULL)
            origin_req_free(&c->cur);
        conn_free(&c);
    }
    free(srv->by_fd);
    srv->by_fd = NULL;
    srv->by_fd_len = 0;
}
