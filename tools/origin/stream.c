/*
 * Sending a content response. Small bodies go out in one evhttp reply.
 * Larger ones (and chunked=1, fail=partial, body_delay_ms) stream: the next
 * block is queued only once evhttp reports the previous one written (the
 * output buffer drained), so a slow reader holds the origin back and a
 * response of any size costs one block of references into the pools (or
 * one block read from a --root file).
 *
 * Framing: Content-Length unless chunked=1; chunked=1 means chunked coding
 * on HTTP/1.1 and a close-delimited body on HTTP/1.0.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/http_struct.h>

#define LOG_MOD "origin"
#include "common/assert.h"
#include "common/log.h"
#include "tools/origin/origin_int.h"

static int
read_file(int fd, struct evbuffer *out, uint64_t off, size_t n)
{
    while (n > 0) {
        struct evbuffer_iovec v;
        ssize_t got;

        if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) < 1)
            return -ENOMEM;
        if (v.iov_len > n)
            v.iov_len = n;
        got = pread(fd, v.iov_base, v.iov_len, (off_t)off);
        if (got <= 0)
            return got == 0 ? -EIO : -errno; /* 0: the file shrank */
        v.iov_len = (size_t)got;
        evbuffer_commit_space(out, &v, 1);
        off += (uint64_t)got;
        n -= (size_t)got;
    }
    return 0;
}

/* Appends body bytes [off, off + n) of r to out. */
static int
add_body(struct origin_req *r, struct evbuffer *out, uint64_t off, size_t n)
{
    int rc;

    if (r->fd < 0) {
        origin_body_add(out, r->flav, r->hash, off, n);
        return 0;
    }
    rc = read_file(r->fd, out, off, n);
    if (rc != 0) {
        log_warn("reading %s: %s", evhttp_request_get_uri(r->req),
                 strerror(-rc));
        evbuffer_drain(out, evbuffer_get_length(out));
    }
    return rc;
}

static void
on_flush_poll(evutil_socket_t fd, short what, void *arg)
{
    struct origin_req *r = arg;

    CHECK_OBJ(r, ORIGIN_REQ_MAGIC);
    if (evbuffer_get_length(bufferevent_get_output(r->conn->bev)) > 0) {
        origin_req_timer(r, 1, on_flush_poll);
        return;
    }
    /* The close callback frees r; evhttp frees the request. */
    evhttp_connection_free(r->conn->evcon);
}

/* Closes r's connection once what was queued has been written. Always from
 * a timer: never free the connection inside evhttp's own call stack. */
static void
close_when_flushed(struct origin_req *r)
{
    CHECK_OBJ(r, ORIGIN_REQ_MAGIC);
    origin_req_timer(r, 0, on_flush_poll);
}

static void send_next(struct origin_req *r);

static void
on_body_timer(evutil_socket_t fd, short what, void *arg)
{
    struct origin_req *r = arg;

    CHECK_OBJ(r, ORIGIN_REQ_MAGIC);
    send_next(r);
}

/* evhttp: the previous block has left the output buffer. */
static void
on_written(struct evhttp_connection *evcon, void *arg)
{
    struct origin_req *r = arg;

    CHECK_OBJ(r, ORIGIN_REQ_MAGIC);
    if (r->p.body_delay_ms > 0 && r->sent < r->limit) {
        origin_req_timer(r, r->p.body_delay_ms, on_body_timer);
        return;
    }
    send_next(r);
}

static void
send_next(struct origin_req *r)
{
    struct evbuffer *buf = r->conn->srv->scratch;
    size_t step = r->p.body_delay_ms > 0 ? ORIGIN_SLOW_STEP : ORIGIN_STEP;
    uint64_t left = r->limit - r->sent;
    struct evhttp_request *req = r->req;

    if (left == 0 && r->p.fail == ORIGIN_FAIL_PARTIAL) {
        close_when_flushed(r);
        return;
    }
    if (left == 0) {
        origin_req_free(&r);
        evhttp_send_reply_end(req);
        return;
    }
    if (left < step)
        step = (size_t)left;
    if (add_body(r, buf, r->sent, step) != 0) {
        close_when_flushed(r);
        return;
    }
    r->sent += step;
    origin_stats.bytes += step;
    evhttp_send_reply_chunk_with_cb(req, buf, on_written, r);
}

/* Content-Length, or what chunked=1 means for this request's version. */
static void
frame(struct origin_req *r, int status)
{
    struct evhttp_request *req = r->req;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char num[24];

    if (!origin_status_has_body(status))
        return;
    if (!r->p.chunked) {
        snprintf(num, sizeof num, "%" PRIu64, r->size);
        evhttp_add_header(h, "Content-Length", num);
    } else if (req->major == 1 && req->minor == 0) {
        /* No chunked coding in HTTP/1.0: the body ends at close. Dropping
         * the request's keep-alive makes evhttp close after the reply. */
        evhttp_remove_header(evhttp_request_get_input_headers(req),
                             "Connection");
        evhttp_add_header(h, "Connection", "close");
    } else if (r->method == ORIGIN_M_HEAD) {
        evhttp_add_header(h, "Transfer-Encoding", "chunked");
    }
}

static bool
is_small(const struct origin_req *r)
{
    return !r->p.chunked && r->p.fail != ORIGIN_FAIL_PARTIAL &&
           r->p.body_delay_ms == 0 && r->size <= ORIGIN_SMALL_BODY;
}

/* Sends r's head and body with this status; r is freed when done. */
void
origin_stream_start(struct origin_req *r, int status)
{
    struct evhttp_request *req = r->req;
    struct evbuffer *buf = r->conn->srv->scratch;
    bool body = origin_status_has_body(status) && r->method != ORIGIN_M_HEAD;

    CHECK_OBJ(r, ORIGIN_REQ_MAGIC);
    frame(r, status);
    origin_stats_count_status(status);
    r->limit = r->p.fail == ORIGIN_FAIL_PARTIAL ? r->size / 2 : r->size;
    if (body && !is_small(r)) {
        origin_conn_park_reads(r->conn);
        evhttp_send_reply_start(req, status, origin_reason(status));
        send_next(r);
        return;
    }
    if (body && add_body(r, buf, 0, (size_t)r->size) != 0) {
        close_when_flushed(r);
        return;
    }
    if (body)
        origin_stats.bytes += r->size;
    origin_req_free(&r);
    evhttp_send_reply(req, status, origin_reason(status), body ? buf : NULL);
}
