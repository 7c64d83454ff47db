/*
 * The request head of a client connection (see conn.c): begins a request,
 * scans and parses its head (from the input buffer, or in place from the
 * connection's own buffer when it came whole and alone), routes it to its
 * site, and ends the head wherever it lives (conn_consume_head).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/stats.h"
#include "edge/edge_int.h"

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
    conn_arm_timer(c, conf->limits.header_timeout_ms);
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

void
conn_head_input(struct conn *c)
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
