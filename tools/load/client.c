/*
 * Connection state machine: DOWN -> CONNECTING -> (HANDSHAKE) -> OPEN.
 * A request in flight is written, then its response head is found and
 * parsed in the read buffer; body bytes are consumed where they land and
 * the buffer is reused. Level-triggered events: a read handler reads once
 * (more when the buffer filled up, or TLS holds decrypted bytes), so one
 * busy connection cannot starve the others.
 *
 * A reused keep-alive connection may have been closed by the server just
 * as we sent: when it ends before any response byte, the request is sent
 * once more on a fresh connection, as browsers and proxies do for GET.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "common/clock.h"
#include "tools/load/client_int.h"

const struct h1_limits load_conn_limits = {
    .request_line = 8192,
    .field_line = RBUF_SIZE,
    .header_section = RBUF_SIZE,
    .max_fields = MAX_FIELDS,
};

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void on_fail_event(evutil_socket_t fd, short what, void *arg);

struct load_conn *
load_conn_new(const struct load_conn_cfg *cfg, unsigned id)
{
    struct load_conn *c = xcalloc(1, sizeof *c);

    c->magic = LOAD_CONN_MAGIC;
    c->id = id;
    c->cfg = *cfg;
    c->fd = -1;
    c->wbuf = xmalloc(cfg->wbuf_size);
    c->rbuf = xmalloc(RBUF_SIZE);
    event_assign(&c->ev_fail, cfg->base, -1, 0, on_fail_event, c);
    return c;
}

void
load_conn_close_socket(struct load_conn *c)
{
    if (c->st != ST_DOWN) {
        event_del(&c->ev_read);
        event_del(&c->ev_write);
        load_tls_conn_free(&c->tls);
        close(c->fd);
    }
    c->fd = -1;
    c->st = ST_DOWN;
    c->wr_armed = false;
    c->rlen = 0;
    c->uses = 0;
}

void
load_conn_free(struct load_conn **cp)
{
    struct load_conn *c = *cp;

    *cp = NULL;
    if (c == NULL)
        return;
    CHECK_OBJ(c, LOAD_CONN_MAGIC);
    load_conn_close_socket(c);
    event_del(&c->ev_fail);
    free(c->wbuf);
    free(c->rbuf);
    c->magic = 0;
    free(c);
}

unsigned
load_conn_id(const struct load_conn *c)
{
    return c->id;
}

char *
load_conn_buf(struct load_conn *c)
{
    return c->wbuf;
}

bool
load_conn_busy(const struct load_conn *c)
{
    return c->busy;
}

static void
wr_arm(struct load_conn *c, bool on)
{
    if (on && !c->wr_armed)
        event_add(&c->ev_write, NULL);
    else if (!on && c->wr_armed)
        event_del(&c->ev_write);
    c->wr_armed = on;
}

/* Ends the request in flight and reports it. */
void
load_conn_finish(struct load_conn *c)
{
    c->busy = false;
    c->res.start_us = c->start_us;
    c->res.done_us = clock_mono_us();
    c->cfg.on_done(c, &c->res, c->cfg.arg);
}

static void fail_later(struct load_conn *c, enum load_err err);

void
load_conn_fail(struct load_conn *c, enum load_err err)
{
    if (c->in_send) {
        fail_later(c, err);
        return;
    }
    load_conn_close_socket(c);
    c->res.status = 0;
    c->res.err = err;
    c->res.outcome = LOAD_OUT_NORESP;
    load_conn_finish(c);
}

/* Reports a failure from the event loop, not from the caller's stack. */
static void
fail_later(struct load_conn *c, enum load_err err)
{
    load_conn_close_socket(c);
    c->fail_err = err;
    event_active(&c->ev_fail, EV_TIMEOUT, 1);
}

static void
on_fail_event(evutil_socket_t fd, short what, void *arg)
{
    struct load_conn *c = arg;

    if (c->busy)
        load_conn_fail(c, c->fail_err);
}

static void
reset_response(struct load_conn *c)
{
    memset(&c->scan, 0, sizeof c->scan);
    memset(&c->res, 0, sizeof c->res);
    c->res.err = LOAD_ERR_NONE;
    c->in_body = false;
    c->got = 0;
    c->rlen = 0;
}

static void
connected(struct load_conn *c)
{
    event_add(&c->ev_read, NULL);
    wr_arm(c, false);
    c->st = ST_OPEN;
    if (c->cfg.tls != NULL) {
        c->tls = load_tls_conn_new(c->cfg.tls, c->fd, c->cfg.sni);
        if (c->tls == NULL) {
            load_conn_fail(c, LOAD_ERR_TLS);
            return;
        }
        c->st = ST_HANDSHAKE;
    }
    on_write(c->fd, EV_WRITE, c);
}

static void
start_connect(struct load_conn *c)
{
    int one = 1, fd;

    fd = socket(c->cfg.addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail_later(c, LOAD_ERR_CONNECT);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->st = ST_CONNECTING;
    event_assign(&c->ev_read, c->cfg.base, fd, EV_READ | EV_PERSIST, on_read, c);
    event_assign(&c->ev_write, c->cfg.base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    if (connect(fd, c->cfg.addr, c->cfg.addr_len) == 0)
        connected(c);
    else if (errno == EINPROGRESS)
        wr_arm(c, true);
    else
        fail_later(c, LOAD_ERR_CONNECT);
}

void
load_conn_send(struct load_conn *c, size_t len, uint64_t start_us)
{
    CHECK_OBJ(c, LOAD_CONN_MAGIC);
    ASSERT(!c->busy && len <= c->cfg.wbuf_size);
    c->busy = true;
    c->retried = false;
    c->wlen = len;
    c->woff = 0;
    c->start_us = start_us;
    c->sent_us = clock_mono_us();
    reset_response(c);
    c->in_send = true;
    if (c->st == ST_DOWN)
        start_connect(c);
    else
        on_write(c->fd, EV_WRITE, c);
    c->in_send = false;
}

/* recv/SSL_read: > 0 bytes, 0 at end of stream, -EAGAIN, or -errno. */
static ssize_t
io_read(struct load_conn *c, char *buf, size_t len)
{
    ssize_t n;
    int want = 0;

    if (c->tls != NULL) {
        n = load_tls_conn_read(c->tls, buf, len, &want);
        if (n == -EAGAIN)
            wr_arm(c, want == LOAD_TLS_WANT_WRITE);
        return n;
    }
    n = recv(c->fd, buf, len, 0);
    if (n >= 0)
        return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
}

static ssize_t
io_write(struct load_conn *c, const char *buf, size_t len)
{
    ssize_t n;
    int want = LOAD_TLS_WANT_WRITE;

    if (c->tls != NULL)
        n = load_tls_conn_write(c->tls, buf, len, &want);
    else if ((n = send(c->fd, buf, len, MSG_NOSIGNAL)) < 0)
        n = errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
    if (n == -EAGAIN)
        wr_arm(c, want == LOAD_TLS_WANT_WRITE);
    return n;
}

/* The connection broke: resend once if nothing came back on a reused
   socket, else fail the request. */
static void
broken(struct load_conn *c, enum load_err err)
{
    bool resend = c->got == 0 && c->uses > 0 && !c->retried;

    if (!resend) {
        load_conn_fail(c, err);
        return;
    }
    load_conn_close_socket(c);
    c->retried = true;
    c->woff = 0;
    reset_response(c);
    start_connect(c);
}

static void
try_write(struct load_conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = io_write(c, c->wbuf + c->woff, c->wlen - c->woff);

        if (n == -EAGAIN)
            return;
        if (n <= 0) {
            broken(c, c->tls ? LOAD_ERR_TLS : LOAD_ERR_IO);
            return;
        }
        c->woff += (size_t)n;
    }
    wr_arm(c, false);
}

static void
handshake(struct load_conn *c)
{
    int rc = load_tls_conn_handshake(c->tls);

    if (rc < 0) {
        load_conn_fail(c, LOAD_ERR_TLS);
        return;
    }
    wr_arm(c, rc == LOAD_TLS_WANT_WRITE);
    if (rc != 0)
        return;
    c->st = ST_OPEN;
    if (c->busy)
        try_write(c);
}

static void read_response(struct load_conn *c);

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
    struct load_conn *c = arg;
    int err = 0;
    socklen_t len = sizeof err;

    switch (c->st) {
    case ST_CONNECTING:
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
            load_conn_fail(c, LOAD_ERR_CONNECT);
        else
            connected(c);
        break;
    case ST_HANDSHAKE:
        handshake(c);
        break;
    case ST_OPEN:
        if (c->busy && c->woff < c->wlen)
            try_write(c);
        else if (c->busy)
            read_response(c); /* TLS read that waited for writability */
        else
            wr_arm(c, false);
        break;
    case ST_DOWN:
        break;
    }
}

/* Bytes on an idle connection: the server closed it, or misbehaves. */
static void
idle_read(struct load_conn *c)
{
    ssize_t n = io_read(c, c->rbuf, RBUF_SIZE);

    if (n != -EAGAIN)
        load_conn_close_socket(c);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
    struct load_conn *c = arg;

    if (c->st == ST_HANDSHAKE)
        handshake(c);
    else if (c->st == ST_OPEN && !c->busy)
        idle_read(c);
    else if (c->st == ST_OPEN && c->woff < c->wlen)
        try_write(c); /* TLS write that waited for readability */
    else if (c->st == ST_OPEN)
        read_response(c);
}

static void
read_response(struct load_conn *c)
{
    for (int i = 0; i < READS_PER_EVENT && c->busy; i++) {
        size_t room = RBUF_SIZE - c->rlen;
        ssize_t n = io_read(c, c->rbuf + c->rlen, room);

        if (n == -EAGAIN)
            return;
        if (n == 0 && c->in_body && c->body == H1_BODY_EOF) {
            load_conn_complete(c, false);
            return;
        }
        if (n <= 0) {
            broken(c, n == -EPROTO ? LOAD_ERR_TLS : LOAD_ERR_IO);
            return;
        }
        c->got += (uint64_t)n;
        c->rlen += (size_t)n;
        load_conn_process(c);
        /* A short plain read drained the socket: wait for the next event. */
        if ((size_t)n < room && (c->tls == NULL || !load_tls_conn_pending(c->tls)))
            return;
    }
}

bool
load_conn_expire(struct load_conn *c, uint64_t now_us, uint64_t timeout_us)
{
    CHECK_OBJ(c, LOAD_CONN_MAGIC);
    if (!c->busy || now_us < c->sent_us + timeout_us)
        return false;
    event_del(&c->ev_fail);
    load_conn_fail(c, LOAD_ERR_TIMEOUT);
    return true;
}

void
load_conn_abandon(struct load_conn *c)
{
    CHECK_OBJ(c, LOAD_CONN_MAGIC);
    event_del(&c->ev_fail);
    c->busy = false;
    load_conn_close_socket(c);
}
