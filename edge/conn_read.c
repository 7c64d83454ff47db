/*
 * Direct reads from clients. libevent's socket bufferevent asks the kernel
 * how much is readable (ioctl FIONREAD) before every read: one syscall per
 * request for nothing. Client sockets get their own read event instead,
 * which recv()s straight into the bufferevent's input buffer and hands
 * over to the connection's input handler; the input stays bounded by
 * CONN_READ_HIGH (reading pauses above it and resumes once it is drained).
 */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "edge/edge_int.h"

#define READ_SLICE (64 * 1024)
#define SMALL_READ 2048 /* most request heads; larger ones read on */
#define PARSED (-3)     /* read_flat: the head was parsed in place */

static void
arm(struct conn *c)
{
    struct timeval tv = { c->read_ms / 1000, (c->read_ms % 1000) * 1000 };

    event_add(c->ev_read, c->read_ms ? &tv : NULL);
}

/*
 * An empty input: most requests are a few hundred bytes, and a 64 KiB
 * slice reserved for each (freed again once the request is drained) is a
 * large allocation per request. Read into the stack and add what came
 * (one small chain). recv's result.
 */
static ssize_t
recv_small(struct evbuffer *in, evutil_socket_t fd)
{
    char buf[SMALL_READ];
    ssize_t n = recv(fd, buf, sizeof buf, 0);

    if (n > 0)
        evbuffer_add(in, buf, (size_t)n);
    return n;
}

/* recv into a READ_SLICE reserved in the input; -2 when no space could be
 * reserved (out of memory). */
static ssize_t
recv_slice(struct evbuffer *in, evutil_socket_t fd)
{
    struct evbuffer_iovec v;
    ssize_t n;

    if (evbuffer_reserve_space(in, READ_SLICE, &v, 1) < 1)
        return -2;
    n = recv(fd, v.iov_base, v.iov_len, 0);
    v.iov_len = n > 0 ? (size_t)n : 0;
    evbuffer_commit_space(in, &v, 1);
    return n;
}

/* Reads what the socket has: small first when the input is empty. After a
 * full small read, what the slice read finds (more bytes, or an EOF or
 * error, seen again at the next read event) does not undo it. */
static ssize_t
read_input(struct evbuffer *in, evutil_socket_t fd, size_t have)
{
    ssize_t n, more;

    if (have > 0)
        return recv_slice(in, fd);
    n = recv_small(in, fd);
    if (n < SMALL_READ)
        return n;
    more = recv_slice(in, fd);
    return more > 0 ? n + more : n;
}

/*
 * A new request into an empty input: read into the connection's own buffer
 * and parse a head that came whole and alone in place, so a request costs
 * no allocation. PARSED when it was (c may be gone then); else what
 * read_input would return, with the bytes (if any) added to the input.
 */
static ssize_t
read_flat(struct conn *c, evutil_socket_t fd)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    ssize_t n;

    if (c->ibuf == NULL)
        c->ibuf = xmalloc(CONN_IBUF);
    n = recv(fd, c->ibuf, CONN_IBUF, 0);
    if (n > 0 && n < CONN_IBUF && conn_input_flat(c, (size_t)n))
        return PARSED;
    if (n > 0) {
        evbuffer_unfreeze(in, 0);
        evbuffer_add(in, c->ibuf, (size_t)n);
        evbuffer_freeze(in, 0);
    }
    return n;
}

static void
on_sock_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t have = evbuffer_get_length(in);
    ssize_t n;

    if (what & EV_TIMEOUT) {
        conn_event(c, BEV_EVENT_TIMEOUT | BEV_EVENT_READING);
        return;
    }
    if (have >= CONN_READ_HIGH) {
        event_del(c->ev_read); /* resumes once the input is drained */
        c->read_full = true;
        return;
    }
    if (have == 0 && c->state == CS_HEAD && c->ibuf_len == 0) {
        n = read_flat(c, fd);
        if (n == PARSED)
            return;
    } else {
        /* A socket bufferevent keeps its input's end frozen for itself. */
        evbuffer_unfreeze(in, 0);
        n = read_input(in, fd, have);
        evbuffer_freeze(in, 0);
    }
    if (n == -2)
        return; /* no memory for the slice: try again at the next event */
    if (n > 0)
        conn_input(c);
    else if (n == 0)
        conn_event(c, BEV_EVENT_EOF | BEV_EVENT_READING);
    else if (errno != EAGAIN && errno != EINTR)
        conn_event(c, BEV_EVENT_ERROR | BEV_EVENT_READING);
}

/* The input was drained below the bound: read again if we paused. */
static void
on_in_changed(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;

    if (info->n_deleted > 0 && c->read_full && c->reading &&
        evbuffer_get_length(buf) < CONN_READ_HIGH) {
        c->read_full = false;
        arm(c);
    }
}

void
conn_read_direct(struct conn *c)
{
    bufferevent_disable(c->bev, EV_READ);
    c->ev_read = event_new(c->w->base, bufferevent_getfd(c->bev), EV_READ | EV_PERSIST,
                           on_sock_read, c);
    ASSERT(c->ev_read != NULL);
    evbuffer_add_cb(bufferevent_get_input(c->bev), on_in_changed, c);
}

void
conn_read_enable(struct conn *c, bool on)
{
    if (c->ev_read == NULL) {
        if (on)
            bufferevent_enable(c->bev, EV_READ);
        else
            bufferevent_disable(c->bev, EV_READ);
        return;
    }
    if (on == c->reading)
        return;
    c->reading = on;
    c->read_full = false;
    if (on)
        arm(c);
    else
        event_del(c->ev_read);
}

void
conn_read_timeout(struct conn *c, uint32_t ms)
{
    if (c->ev_read == NULL || ms == c->read_ms)
        return;
    c->read_ms = ms;
    if (c->reading && !c->read_full)
        arm(c);
}

void
conn_read_free(struct conn *c)
{
    if (c->ev_read != NULL)
        event_free(c->ev_read);
    c->ev_read = NULL;
}
