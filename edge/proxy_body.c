/*
 * Request bodies on their way upstream: Content-Length bodies moved as they
 * are, chunked ones walked and re-chunked (extensions and trailers
 * dropped), with backpressure on the client when the upstream is slow; and
 * the chunked walker both directions share.
 */
#include "config.h"

#include <string.h>

#include "common/assert.h"
#include "common/stats.h"
#include "edge/edge_int.h"
#include "edge/proxy_int.h"

/* Walks chunked framing in `in`; payload runs go to move(). */
int
proxy_walk_chunked(struct h1_chunked *ch, struct evbuffer *in,
                   void (*move)(struct proxy *, struct evbuffer *, size_t),
                   struct proxy *px)
{
    size_t avail;

    while (!ch->done && (avail = evbuffer_get_length(in)) > 0) {
        struct evbuffer_iovec v;
        int rc;

        if (ch->data_left > 0) {
            size_t n = ch->data_left < avail ? (size_t)ch->data_left : avail;

            move(px, in, n);
            h1_chunked_skip_data(ch, n);
            continue;
        }
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        rc = h1_chunked_parse(ch, v.iov_base, v.iov_len);
        if (rc < 0)
            return -1;
        evbuffer_drain(in, (size_t)rc);
    }
    return ch->done ? 1 : 0;
}

static void
move_req_chunk(struct proxy *px, struct evbuffer *in, size_t n)
{
    struct evbuffer *out = bufferevent_get_output(px->uc->bev);

    evbuffer_add_printf(out, "%zx\r\n", n);
    evbuffer_remove_buffer(in, out, n);
    evbuffer_add(out, "\r\n", 2);
    px->req_total += n;
}

void
proxy_pump_request(struct proxy *px)
{
    struct conn *c = px->c;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out;
    int rc;

    if (px->req_done || px->uc == NULL)
        return;
    out = bufferevent_get_output(px->uc->bev);
    if (px->req_body == H1_BODY_LENGTH) {
        size_t avail = evbuffer_get_length(in);
        size_t n = px->req_left < avail ? (size_t)px->req_left : avail;

        evbuffer_remove_buffer(in, out, n);
        px->req_left -= n;
        px->req_total += n;
        px->req_done = px->req_left == 0;
    } else {
        rc = proxy_walk_chunked(&px->req_ch, in, move_req_chunk, px);
        if (rc < 0 || px->req_total > px->conf->limits.request_body) {
            stat_inc(ST_REQ_BAD);
            proxy_fail_early(px, rc < 0 ? 400 : 413);
            return;
        }
        if (rc == 1) {
            evbuffer_add(out, "0\r\n\r\n", 5);
            px->req_done = true;
        }
    }
    if (px->req_done) {
        conn_set_timeouts(c, 0);
        return;
    }
    if (c->peer_eof) {
        conn_abort(c); /* the client went away mid-body */
        return;
    }
    if (evbuffer_get_length(out) > EDGE_OUT_HIGH) {
        conn_read_enable(c, false);
        px->client_paused = true;
    }
}

void
proxy_on_client_read(struct conn *c)
{
    struct proxy *px = c->px;

    if (px == NULL)
        return;
    if (!px->req_done)
        proxy_pump_request(px);
    else if (c->peer_eof)
        c->keep_alive = false;
}

