/*
 * Request dispatch: admin paths, then content requests. A content request
 * gets a struct origin_req, parked on its connection (conn->cur) while it
 * waits (latency, delay_ms, fail=hang) or streams; it is freed just before
 * the final call into evhttp, or by the connection's close callback.
 *
 * Response headers: Date, X-Origin-Request (1-based sequence of every
 * request this process received, admin ones included, never reset) and X-Origin-Conn (the
 * connection's 1-based id) on every response; Content-Type and the cache
 * headers the query asks for on content responses.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOG_MOD "origin"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/log.h"
#include "tools/origin/origin_int.h"

#define LM_EPOCH 1577836800       /* 2020-01-01T00:00:00Z */
#define LM_SPAN (3 * 365 * 86400) /* generated dates fall in 2020-2022 */

/* Date, X-Origin-Request and X-Origin-Conn: every response has them. */
static void
add_common(struct origin_conn *c, struct evhttp_request *req)
{
    static time_t cached_at;
    static char date[40];
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    time_t now = time(NULL);
    char num[24];

    if (now != cached_at) {
        origin_http_date(now, date, sizeof date);
        cached_at = now;
    }
    evhttp_add_header(h, "Date", date);
    snprintf(num, sizeof num, "%" PRIu64, ++c->srv->next_req_seq);
    evhttp_add_header(h, "X-Origin-Request", num);
    snprintf(num, sizeof num, "%" PRIu64, c->id);
    evhttp_add_header(h, "X-Origin-Conn", num);
}

/* Frees our state; never touches r->req. */
void
origin_req_free(struct origin_req **rp)
{
    struct origin_req *r = *rp;

    *rp = NULL;
    CHECK_OBJ(r, ORIGIN_REQ_MAGIC);
    if (r->conn->cur == r)
        r->conn->cur = NULL;
    if (r->timer != NULL)
        event_free(r->timer);
    if (r->fd >= 0)
        close(r->fd);
    origin_params_clear(&r->p);
    r->magic = 0;
    free(r);
}

/* The connection is going away. If evhttp already let go of the request
 * (client closed mid-answer), it is ours to free. */
void
origin_req_abort(struct origin_req **rp)
{
    struct origin_req *r = *rp;

    CHECK_OBJ(r, ORIGIN_REQ_MAGIC);
    if (evhttp_request_get_connection(r->req) == NULL)
        evhttp_request_free(r->req);
    origin_req_free(rp);
}

/* Arms r's one-shot timer (replacing any); cb gets r as its argument. */
void
origin_req_timer(struct origin_req *r, unsigned ms, event_callback_fn cb)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

    if (r->timer != NULL)
        event_free(r->timer);
    r->timer = evtimer_new(r->conn->srv->base, cb, r);
    if (r->timer == NULL || evtimer_add(r->timer, &tv) != 0) {
        log_err("cannot arm a timer");
        abort();
    }
}

/* A short text/plain answer that ends the request. */
static void
reply_text(struct origin_req *r, int status, const char *text)
{
    struct evhttp_request *req = r->req;
    struct evbuffer *buf = r->conn->srv->scratch;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
    if (origin_status_has_body(status) && r->method != ORIGIN_M_HEAD) {
        evbuffer_add(buf, text, strlen(text));
        origin_stats.bytes += strlen(text);
    }
    origin_stats_count_status(status);
    origin_req_free(&r);
    evhttp_send_reply(req, status, origin_reason(status), buf);
}

static void
make_etag(const struct origin_req *r, char *buf, size_t n)
{
    uint64_t seed = r->size ^ ((uint64_t)r->mtime << 20);
    uint64_t h = origin_hash(r->target, strlen(r->target), seed);

    snprintf(buf, n, "%s\"%016" PRIx64 "\"",
             r->p.etag == ORIGIN_ETAG_WEAK ? "W/" : "", h);
}

static time_t
last_modified(const struct origin_req *r)
{
    if (r->fd >= 0)
        return r->mtime;
    return LM_EPOCH + (time_t)(r->hash % LM_SPAN);
}

static void
add_date_header(struct evkeyvalq *h, const char *name, time_t t)
{
    char date[40];

    origin_http_date(t, date, sizeof date);
    evhttp_add_header(h, name, date);
}

static void
add_content_headers(struct origin_req *r, const char *etag)
{
    const struct origin_params *p = &r->p;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    char cookie[64];

    evhttp_add_header(h, "Content-Type", r->ctype);
    if (p->cc != NULL)
        evhttp_add_header(h, "Cache-Control", p->cc);
    if (p->has_expires)
        add_date_header(h, "Expires", time(NULL) + (time_t)p->expires_s);
    if (etag != NULL)
        evhttp_add_header(h, "ETag", etag);
    if (p->lm)
        add_date_header(h, "Last-Modified", last_modified(r));
    if (p->vary != NULL)
        evhttp_add_header(h, "Vary", p->vary);
    if (p->tags != NULL)
        evhttp_add_header(h, "Surrogate-Key", p->tags);
    if (p->set_cookie) {
        snprintf(cookie, sizeof cookie, "sid=%08" PRIx64 "; Path=/; HttpOnly",
                 r->hash >> 32);
        evhttp_add_header(h, "Set-Cookie", cookie);
    }
    for (unsigned i = 0; i < p->nhdr; i++)
        evhttp_add_header(h, p->hdr_name[i], p->hdr_value[i]);
}

/* RFC 9110 13.2: only for GET/HEAD that would answer 2xx; If-None-Match
 * wins over If-Modified-Since. */
static bool
not_modified(const struct origin_req *r, const char *etag)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    const char *inm, *ims;
    time_t t;

    if (r->method != ORIGIN_M_GET && r->method != ORIGIN_M_HEAD)
        return false;
    if (r->p.status < 200 || r->p.status > 299)
        return false;
    inm = evhttp_find_header(in, "If-None-Match");
    if (inm != NULL)
        return origin_etag_match(inm, etag);
    ims = evhttp_find_header(in, "If-Modified-Since");
    if (!r->p.lm || ims == NULL || origin_http_date_parse(ims, &t) != 0)
        return false;
    return last_modified(r) <= t;
}

/* Answers r now: failure, 304, or the full response. */
static void
respond(struct origin_req *r)
{
    char etag[48], text[64];
    const char *tag = NULL;
    struct evhttp_request *req;

    CHECK_OBJ(r, ORIGIN_REQ_MAGIC);
    if (r->p.fail == ORIGIN_FAIL_STATUS) {
        snprintf(text, sizeof text, "strata-origin: injected failure %d\n",
                 r->p.fail_status);
        reply_text(r, r->p.fail_status, text);
        return;
    }
    if (r->p.etag != ORIGIN_ETAG_NONE) {
        make_etag(r, etag, sizeof etag);
        tag = etag;
    }
    add_content_headers(r, tag);
    if (!not_modified(r, tag)) {
        origin_stream_start(r, r->p.status);
        return;
    }
    origin_stats.not_modified++;
    origin_stats_count_status(304);
    req = r->req;
    origin_req_free(&r);
    evhttp_send_reply(req, 304, origin_reason(304), NULL);
}

/* fail=reset: abortive close (RST) without a byte of response. */
static void
reset_connection(struct origin_req *r)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    struct origin_conn *c = r->conn;

    origin_stats.resets++;
    if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
        log_warn("SO_LINGER: %s", strerror(errno));
    /* The close callback frees r; evhttp frees the request. */
    evhttp_connection_free(c->evcon);
}

static void
on_delay(evutil_socket_t fd, short what, void *arg)
{
    struct origin_req *r = arg;

    CHECK_OBJ(r, ORIGIN_REQ_MAGIC);
    if (r->p.fail == ORIGIN_FAIL_RESET)
        reset_connection(r);
    else
        respond(r);
}

/* Media type, flavour, body size and source (file or generated). */
static void
resolve(struct origin_req *r, const char *target)
{
    const struct origin_conf *conf = r->conn->srv->conf;
    size_t path_len = strcspn(target, "?#");
    uint64_t fsize;
    const char *type;

    r->hash = origin_hash(target, strlen(target), 0);
    r->size = r->p.size;
    if (conf->root != NULL &&
        origin_file_open(conf->root, target, &r->fd, &fsize, &r->mtime) == 0)
        r->size = fsize;
    type = origin_media_type(target, path_len, &r->flav);
    if (r->p.type != NULL) {
        type = r->p.type;
        r->flav = origin_flavour_of(type);
    }
    snprintf(r->ctype, sizeof r->ctype, "%s", type);
}

static struct origin_req *
req_new(struct origin_conn *c, struct evhttp_request *req, const char *target)
{
    struct origin_req *r = xcalloc(1, sizeof *r);

    r->magic = ORIGIN_REQ_MAGIC;
    r->conn = c;
    r->req = req;
    r->target = target;
    r->fd = -1;
    r->method = origin_method_of(evhttp_request_get_command(req));
    return r;
}

static void
count_request(const struct origin_req *r, const char *target)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);

    origin_stats_count_conn(r->conn);
    origin_stats.requests++;
    origin_stats.by_method[r->method]++;
    origin_stats.received_bytes += evbuffer_get_length(in);
    origin_stats_count_path(target);
}

static void
content_request(struct origin_conn *c, struct evhttp_request *req,
                const char *target)
{
    struct origin_req *r = req_new(c, req, target);
    const char *bad = NULL;
    char text[160];
    unsigned delay;

    count_request(r, target);
    if (origin_params_parse(&r->p, target, &bad) != 0) {
        snprintf(text, sizeof text, "strata-origin: bad parameter '%.100s'\n",
                 bad);
        reply_text(r, 400, text);
        return;
    }
    resolve(r, target);
    ASSERT(c->cur == NULL);
    c->cur = r;
    delay = c->srv->conf->latency_ms + r->p.delay_ms;
    if (r->p.fail == ORIGIN_FAIL_HANG) {
        origin_conn_park_reads(c);
        return;
    }
    if (delay > 0 || r->p.fail == ORIGIN_FAIL_RESET) {
        /* Even a reset without delay runs from a timer, outside evhttp. */
        origin_conn_park_reads(c);
        origin_req_timer(r, delay, on_delay);
        return;
    }
    respond(r);
}

/* An absolute-form target (http://host/p?q) names the same resource as
 * its origin-form (/p?q): bodies depend on path and query only. */
static const char *
origin_form(const char *t)
{
    size_t skip = 0;
    const char *p;

    if (strncasecmp(t, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(t, "https://", 8) == 0)
        skip = 8;
    else
        return t;
    p = t + skip + strcspn(t + skip, "/?");
    return *p == '/' ? p : t;
}

/* evhttp's generic callback: every request lands here. */
void
origin_handler_on_request(struct evhttp_request *req, void *arg)
{
    struct origin_srv *srv = arg;
    const char *target = evhttp_request_get_uri(req);
    struct origin_conn *c;

    CHECK_OBJ(srv, ORIGIN_SRV_MAGIC);
    c = origin_conn_of(srv, req);
    add_common(c, req);
    if (target == NULL) {
        evhttp_send_reply(req, 400, origin_reason(400), NULL);
        return;
    }
    target = origin_form(target);
    if (origin_admin_handle(c, req, target))
        return;
    content_request(c, req, target);
}
