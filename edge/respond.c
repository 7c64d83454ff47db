/*
 * Responses the node makes itself: errors for bad requests, unknown sites,
 * loops and upstream failures. Short plain-text bodies, never cached
 * downstream, and Connection: close whenever the framing is in doubt.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/assert.h"
#include "edge/edge_int.h"

void
conn_respond_error(struct conn *c, int status, bool close)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    const char *reason = h1_reason(status);
    char body[128];
    int blen;

    if (status < 400 || status > 599)
        status = 400;
    if (close)
        c->keep_alive = false;
    blen = snprintf(body, sizeof body, "%d %s\n", status, reason);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\n"
                        "Date: %s\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %d\r\n"
                        "Cache-Control: no-store\r\n"
                        "%s\r\n",
                        status, reason, worker_date(c->w), blen,
                        c->keep_alive ? "" : "Connection: close\r\n");
    if (!c->is_head)
        evbuffer_add(out, body, (size_t)blen);
    c->status = status;
    c->bytes_out = (uint64_t)blen;
    conn_response_done(c, !close);
}
