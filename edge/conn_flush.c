/*
 * Direct writes to clients. libevent's socket bufferevent arms EPOLLOUT
 * whenever output is added and disarms it once written: two epoll_ctl per
 * response. Here a callback on each client's output buffer queues the
 * connection once per loop pass; the worker's flush event (run later in
 * the same pass) writes the output straight to the socket and hands over
 * to the bufferevent's write event only when the socket is full.
 */
#include "config.h"

#include <errno.h>

#include <event2/buffer.h>

#include "common/assert.h"
#include "edge/edge_int.h"

static void
on_out_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;

    (void)buf;
    if (info->n_added == 0 || c->dirty)
        return;
    c->dirty = true;
    TAILQ_INSERT_TAIL(&c->w->dirty, c, dirty_link);
    event_active(c->w->ev_flush, EV_WRITE, 0);
}

void
conn_flush_direct(struct conn *c)
{
    c->direct = true;
    bufferevent_disable(c->bev, EV_WRITE);
    evbuffer_add_cb(bufferevent_get_output(c->bev), on_out_added, c);
}

void
conn_flush_stop(struct conn *c)
{
    conn_flush_forget(c);
    if (c->direct)
        evbuffer_remove_cb(bufferevent_get_output(c->bev), on_out_added, c);
    c->direct = false;
}

void
conn_flush_forget(struct conn *c)
{
    if (c->dirty) {
        TAILQ_REMOVE(&c->w->dirty, c, dirty_link);
        c->dirty = false;
    }
}

/* Writes what the socket takes; false when the connection was dropped. */
static bool
flush_one(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int n = 0;

    if (bufferevent_get_enabled(c->bev) & EV_WRITE)
        return true; /* libevent is writing: its callback follows */
    if (evbuffer_get_length(out) > 0) {
        /* A socket bufferevent keeps its output's start frozen; its own
         * write path thaws it the same way. */
        evbuffer_unfreeze(out, 1);
        n = evbuffer_write(out, bufferevent_getfd(c->bev));
        evbuffer_freeze(out, 1);
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        conn_abort(c); /* reset by the peer: nothing left to say */
        return false;
    }
    if (evbuffer_get_length(out) > 0) {
        bufferevent_enable(c->bev, EV_WRITE); /* socket full: wait for it */
        return true;
    }
    conn_on_drained(c);
    return true;
}

void
conn_flush_run(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct conn *c;
    unsigned budget = 4096; /* a pump that refills forever yields */

    (void)fd;
    (void)what;
    while ((c = TAILQ_FIRST(&w->dirty)) != NULL && budget-- > 0) {
        TAILQ_REMOVE(&w->dirty, c, dirty_link);
        c->dirty = false;
        (void)flush_one(c);
    }
    if (!TAILQ_EMPTY(&w->dirty))
        event_active(w->ev_flush, EV_WRITE, 0);
}
