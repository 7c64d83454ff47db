/*
 * Response side of a connection: find and parse the head in the read
 * buffer (interim 1xx heads skipped), take the status and cache outcome
 * before the buffer is reused, then count body bytes by their framing
 * (Content-Length, chunked, or until the end of the stream).
 */
#include "config.h"

#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "common/assert.h"
#include "tools/load/client_int.h"
#include "tools/load/outcome.h"

/* Last field named name (the one nearest to us), or NULL. */
static const struct h1_field *
last_field(const struct h1_response *r, const char *name)
{
    const struct h1_field *f = NULL;
    size_t len = strlen(name);

    for (uint32_t i = 0; i < r->n_fields; i++)
        if (r->fields[i].name_len == len && strncasecmp(r->fields[i].name, name, len) == 0)
            f = &r->fields[i];
    return f;
}

/* Takes what we need from a final head before its bytes are reused. */
static void
take_head(struct load_conn *c)
{
    const struct h1_field *f = last_field(&c->resp, "cache-status");

    c->res.status = c->resp.status;
    if (f != NULL) {
        c->res.outcome = load_outcome_cache_status(f->value, f->value_len);
    } else if ((f = last_field(&c->resp, "x-cache")) != NULL) {
        c->res.outcome = load_outcome_x_cache(f->value, f->value_len);
    } else {
        c->res.outcome = LOAD_OUT_NONE;
    }
    c->keep_alive = c->resp.keep_alive;
    c->body = c->resp.body;
    c->body_left = c->body == H1_BODY_LENGTH ? c->resp.content_length : 0;
    h1_chunked_init(&c->ch);
    c->in_body = true;
}

/* Finds and parses the final head; its length, 0 for more bytes, or -1
   when the request failed. Interim 1xx heads are skipped. */
static int
parse_head(struct load_conn *c)
{
    for (;;) {
        int n = h1_head_scan(&c->scan, c->rbuf, c->rlen, &load_conn_limits, false), rc = 0;

        if (n == 0 && c->rlen == RBUF_SIZE)
            n = -431;
        if (n == 0)
            return 0;
        if (n > 0) {
            c->resp.fields = c->fields;
            c->resp.fields_cap = MAX_FIELDS;
            rc = h1_response_parse(&c->resp, c->rbuf, (size_t)n, H1_M_GET, &load_conn_limits);
        }
        if (n < 0 || rc < 0 || c->resp.status == 101) {
            load_conn_fail(c, LOAD_ERR_PROTOCOL);
            return -1;
        }
        c->res.head_bytes += (uint64_t)n;
        if (c->resp.status >= 200) {
            take_head(c);
            return n;
        }
        memmove(c->rbuf, c->rbuf + n, c->rlen - (size_t)n);
        c->rlen -= (size_t)n;
        memset(&c->scan, 0, sizeof c->scan);
    }
}

/* Consumes body bytes p[0..n); returns how many, or -1 for bad framing. */
static ssize_t
body_bytes(struct load_conn *c, const char *p, size_t n)
{
    size_t used = 0, take;

    switch (c->body) {
    case H1_BODY_NONE:
        return 0;
    case H1_BODY_LENGTH:
        take = n < c->body_left ? n : (size_t)c->body_left;
        c->body_left -= take;
        c->res.body_bytes += take;
        return (ssize_t)take;
    case H1_BODY_EOF:
        c->res.body_bytes += n;
        return (ssize_t)n;
    case H1_BODY_CHUNKED:
        break;
    }
    while (used < n && !c->ch.done) {
        int r;

        if (c->ch.data_left > 0) {
            take = n - used < c->ch.data_left ? n - used : (size_t)c->ch.data_left;
            h1_chunked_skip_data(&c->ch, take);
            c->res.body_bytes += take;
            used += take;
            continue;
        }
        r = h1_chunked_parse(&c->ch, p + used, n - used);
        if (r < 0)
            return -1;
        if (r == 0 && c->ch.data_left == 0 && !c->ch.done)
            break; /* needs more framing bytes */
        used += (size_t)r;
    }
    return (ssize_t)used;
}

static bool
body_done(const struct load_conn *c)
{
    switch (c->body) {
    case H1_BODY_NONE:
        return true;
    case H1_BODY_LENGTH:
        return c->body_left == 0;
    case H1_BODY_CHUNKED:
        return c->ch.done;
    case H1_BODY_EOF:
        break;
    }
    return false;
}

void
load_conn_process(struct load_conn *c)
{
    size_t off = 0, avail;
    ssize_t used;

    if (!c->in_body) {
        int n = parse_head(c);

        if (n <= 0)
            return;
        off = (size_t)n;
    }
    avail = c->rlen - off;
    used = body_bytes(c, c->rbuf + off, avail);
    if (used < 0) {
        load_conn_fail(c, LOAD_ERR_PROTOCOL);
        return;
    }
    if (!body_done(c)) {
        /* Keep bytes the chunk parser has not taken yet at the front. */
        memmove(c->rbuf, c->rbuf + off + (size_t)used, avail - (size_t)used);
        c->rlen = avail - (size_t)used;
        return;
    }
    /* Bytes after the body were never asked for: do not reuse the socket. */
    load_conn_complete(c, c->keep_alive && (size_t)used == avail);
}

void
load_conn_complete(struct load_conn *c, bool reuse)
{
    c->res.err = c->res.status >= 500 ? LOAD_ERR_STATUS : LOAD_ERR_NONE;
    c->rlen = 0;
    c->uses++;
    if (!reuse)
        load_conn_close_socket(c);
    load_conn_finish(c);
}
