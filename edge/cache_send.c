/*
 * Answering from a cached object: conditionals (304/412), ranges (206 with
 * one range or multipart/byteranges, 416), the response head (stored
 * fields, Age, Cache-Status, Via, framing) and the body, referenced chunk
 * by chunk into the output buffer: a hit copies no body byte. A busy
 * object streams as it fills; the waiter's event wakes the pump.
 */
#include "config.h"

#include <stdio.h>
#include <sys/uio.h>
#include <string.h>
#include <strings.h>

#include "common/assert.h"
#include "common/clock.h"
#include "edge/edge_int.h"

#define HEAD_MAX 1024 /* our own fields after the stored block */
#define HEAD_LINE 64  /* the status line */
#define DIRECT_IOV 16 /* head parts and body runs in one direct writev */

static void
on_ref_done(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    cache_chunk_unref(arg);
}

static void
validators(const struct cache_obj *o, struct cache_validators *v)
{
    v->etag = o->etag;
    v->etag_len = o->etag ? strlen(o->etag) : 0;
    v->last_modified_s = o->meta.last_modified_s;
    v->date_s = o->meta.date_s;
}

static const char *
content_type(const struct cache_obj *o, size_t *len)
{
    const char *p = o->head, *end = o->head + o->head_len;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));

        if (eol == NULL)
            break;
        if ((size_t)(eol - p) > 14 && strncasecmp(p, "content-type:", 13) == 0) {
            const char *v = p + 13;

            while (*v == ' ' || *v == '\t')
                v++;
            *len = (size_t)(eol - v) - (eol[-1] == '\r');
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

/* Body state of o, in RAM or on disk; *len its length, -1 when unknown. */
static enum cache_obj_state
body_state(const struct cache_obj *o, int64_t *len)
{
    uint64_t avail, total;
    enum cache_obj_state st;

    if (cache_disk_body(o) != NULL) {
        st = cache_disk_state(o, &avail, &total);
    } else {
        st = cache_obj_state(o);
        total = st == CACHE_OBJ_COMPLETE ? cache_obj_body_len(o) : o->expected_len;
    }
    *len = total == CACHE_LEN_UNKNOWN ? -1 : (int64_t)total;
    return st;
}

bool
cache_send_filling(const struct cache_obj *o)
{
    int64_t len;

    return body_state(o, &len) == CACHE_OBJ_BUSY;
}

/* Moves the send position to body offset pos. */
static void
seek(struct creq *q, uint64_t pos)
{
    if (cache_disk_body(q->obj) != NULL)
        q->cur.pos = pos;
    else
        (void)cache_obj_cursor_seek(&q->cur, q->obj, pos);
}

/* The stored block as status sends it (cache_field_answers), without
 * Content-Type when a multipart one replaces it. */
static void
add_stored(struct evbuffer *out, const struct cache_obj *o, int status, bool skip_ctype)
{
    const char *p = o->head, *end = o->head + o->head_len;

    if (!skip_ctype && status == o->meta.status) {
        evbuffer_add(out, o->head, o->head_len);
        return;
    }
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) + 1 : (size_t)(end - p);
        const char *colon = memchr(p, ':', n);
        size_t nl = colon ? (size_t)(colon - p) : 0;

        if (!(skip_ctype && n > 13 && strncasecmp(p, "content-type:", 13) == 0) &&
            cache_field_answers(status, p, nl))
            evbuffer_add(out, p, n);
        p += n;
    }
}

/* The status line into buf (HEAD_LINE bytes); its length. */
static size_t
status_line(char *buf, int status)
{
    int n = snprintf(buf, HEAD_LINE, "HTTP/1.1 %d %s\r\n", status, h1_reason(status));

    return n > 0 && n < HEAD_LINE ? (size_t)n : 0;
}

/* Our fields after the stored ones (Age, Cache-Status, Via, extra, framing,
 * Connection) and the blank line into buf (HEAD_MAX bytes); their length.
 * Decides chunked framing and keep-alive for a length of len (-1: unknown). */
static size_t
head_tail(struct conn *c, const struct cache_obj *o, int status, int64_t len,
          const char *extra, char *buf)
{
    struct creq *q = c->cq;
    const char *conn = "\r\n";
    char framing[48] = "";
    int n;

    q->send_chunked = len < 0 && c->req.version_minor >= 1 && !c->is_head && status != 304;
    if (len < 0 && !q->send_chunked && !c->is_head)
        c->keep_alive = false;
    /* A 304 carries no framing: it has no body whatever the stored one. */
    if (status != 304 && len >= 0)
        snprintf(framing, sizeof framing, "Content-Length: %lld\r\n", (long long)len);
    else if (status != 304 && q->send_chunked)
        snprintf(framing, sizeof framing, "Transfer-Encoding: chunked\r\n");
    if (!c->keep_alive || c->w->draining)
        conn = "Connection: close\r\n\r\n";
    else if (c->req.version_minor == 0)
        conn = "Connection: keep-alive\r\n\r\n";
    n = snprintf(buf, HEAD_MAX, "Age: %lld\r\nCache-Status: %s\r\nVia: 1.1 %s\r\n%s%s%s",
                 (long long)cache_meta_age_s(&o->meta, clock_wall_ms()), q->status,
                 c->wc->conf->node_id, extra ? extra : "", framing, conn);
    /* Bounded: status 128, node_id 64 (validated), extra 256 bytes. */
    ASSERT(n > 0 && n < HEAD_MAX);
    return (size_t)n;
}

/* Writes the status line, stored fields, the leader's own ones and ours;
 * framing by the caller's length (-1: unknown). */
static void
write_head(struct conn *c, const struct cache_obj *o, int status, int64_t len,
           const char *extra)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct creq *q = c->cq;
    char line[HEAD_LINE], tail[HEAD_MAX];
    size_t nt = head_tail(c, o, status, len, extra, tail);

    evbuffer_add(out, line, status_line(line, status));
    add_stored(out, o, status, extra != NULL && strncmp(extra, "Content-Type:", 13) == 0);
    if (q->own_len > 0)
        evbuffer_add(out, q->own, q->own_len);
    evbuffer_add(out, tail, nt);
}

/* Queues what writev did not take of iov (w bytes were written): the head
 * parts are copied, the body is left to the pump (from body offset *done). */
static void
queue_rest(struct evbuffer *out, const struct iovec *iov, size_t nhead, size_t w,
           uint64_t *done)
{
    for (size_t i = 0; i < nhead; i++) {
        size_t skip = w < iov[i].iov_len ? w : iov[i].iov_len;

        evbuffer_add(out, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip);
        w -= skip;
    }
    *done = w; /* body bytes written */
}

/*
 * A whole COMPLETE body in RAM, to a client whose output is empty: the head
 * (status line and our fields from the stack, the stored block from o) and
 * the body's chunks go out in one writev, so a hit allocates nothing; what
 * the socket does not take is queued the usual way (the pump adds the body
 * from where the write stopped). false when this does not apply.
 */
static bool
send_direct(struct conn *c, const struct cache_obj *o, int64_t len)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct creq *q = c->cq;
    char line[HEAD_LINE], tail[HEAD_MAX];
    struct iovec iov[DIRECT_IOV];
    struct cache_obj_cursor cur = q->cur;
    size_t n = 0, nhead;
    uint64_t done = 0;
    ssize_t w;

    if (!c->direct || c->dirty || c->state == CS_PROXY || evbuffer_get_length(out) > 0 ||
        q->own_len > 0 || len < 0 || cache_disk_body(o) != NULL ||
        cache_obj_state(o) != CACHE_OBJ_COMPLETE)
        return false;
    iov[n++] = (struct iovec){ line, status_line(line, o->meta.status) };
    iov[n++] = (struct iovec){ (void *)o->head, o->head_len };
    iov[n++] = (struct iovec){ tail, head_tail(c, o, o->meta.status, len, NULL, tail) };
    nhead = n;
    while (!c->is_head && n < DIRECT_IOV) {
        struct cache_chunk *ch;
        const char *p;
        size_t run = cache_obj_read(&cur, o, &p, &ch, SIZE_MAX);

        if (run == 0)
            break;
        iov[n++] = (struct iovec){ (void *)p, run };
    }
    w = writev(bufferevent_getfd(c->bev), iov, (int)n);
    queue_rest(out, iov, nhead, w > 0 ? (size_t)w : 0, &done);
    if (done > 0) {
        (void)cache_obj_cursor_seek(&q->cur, o, done);
        c->bytes_out += done;
    }
    return true; /* an error is the flush's to see, as with any write */
}

static void
start_part(struct conn *c)
{
    struct creq *q = c->cq;
    const struct cache_range *r = &q->ranges[q->range_i];
    size_t ctl = 0;
    const char *ct = content_type(q->obj, &ctl);
    char buf[512];
    int n;

    int64_t len;

    (void)body_state(q->obj, &len);
    n = cache_range_part_head(buf, sizeof buf, q->boundary, ct, ctl, r, (uint64_t)len);
    if (n > 0)
        evbuffer_add(bufferevent_get_output(c->bev), buf, (size_t)n);
    seek(q, r->start);
    q->send_end = r->end + 1;
}

static bool
send_ranges(struct conn *c, const struct cache_obj *o, uint64_t len)
{
    struct creq *q = c->cq;
    struct cache_validators v;
    char extra[256];
    enum cache_range_result rr;

    validators(o, &v);
    rr = cache_range_eval(q->ranges, &q->n_ranges, c->req.method, c->req.fields,
                          c->req.n_fields, &v, len, clock_wall_ms());
    if (rr == CACHE_RANGE_NONE)
        return false;
    if (rr == CACHE_RANGE_UNSATISFIABLE) {
        char cr[96];

        cache_range_content_range(cr, sizeof cr, NULL, len);
        snprintf(extra, sizeof extra, "Content-Range: %s\r\n", cr);
        c->status = 416;
        write_head(c, o, 416, 0, extra);
        q->send_end = 0;
        return true;
    }
    c->status = 206;
    q->range_i = 0;
    if (q->n_ranges == 1) {
        char cr[96];

        cache_range_content_range(cr, sizeof cr, &q->ranges[0], len);
        snprintf(extra, sizeof extra, "Content-Range: %s\r\n", cr);
        write_head(c, o, 206, (int64_t)(q->ranges[0].end - q->ranges[0].start + 1), extra);
        seek(q, q->ranges[0].start);
        q->send_end = q->ranges[0].end + 1;
        q->n_ranges = 0; /* no part framing */
        return true;
    }
    {
        size_t ctl = 0;
        const char *ct = content_type(o, &ctl);
        uint64_t total;

        cache_range_boundary(q->boundary, q->key.hash ^ (uint64_t)clock_mono_us());
        total = cache_range_multipart_len(q->ranges, q->n_ranges, q->boundary, ctl,
                                          ct != NULL, len);
        /* The stored Content-Type is replaced by the multipart one. */
        snprintf(extra, sizeof extra, "Content-Type: multipart/byteranges; boundary=%s\r\n",
                 q->boundary);
        write_head(c, o, 206, (int64_t)total, extra);
        start_part(c);
    }
    return true;
}

/* Writes the head answering the request from o: 304/412 by the
 * preconditions (stored 2xx only), 206/416 by Range (stored 200 only, and
 * complete), else o's own status. */
static void
answer_head(struct conn *c, struct cache_obj *o, enum cache_obj_state st, int64_t len)
{
    struct creq *q = c->cq;
    struct cache_validators v;
    enum cache_cond cond = CACHE_COND_PROCEED;

    validators(o, &v);
    if (cache_cond_applies(o->meta.status))
        cond = cache_cond_eval(c->req.method, c->req.fields, c->req.n_fields, &v,
                               clock_wall_ms());
    if (cond != CACHE_COND_PROCEED) {
        c->status = cond == CACHE_COND_NOT_MODIFIED ? 304 : 412;
        write_head(c, o, c->status, 0, NULL);
        q->send_end = 0;
        return;
    }
    c->status = o->meta.status;
    if (st == CACHE_OBJ_COMPLETE && cache_range_applies(o->meta.status) &&
        send_ranges(c, o, (uint64_t)len))
        return;
    if (!send_direct(c, o, len))
        write_head(c, o, o->meta.status, len, NULL);
}

void
cache_send_obj(struct conn *c, struct cache_obj *o, const char *status)
{
    struct creq *q = c->cq;
    int64_t len;
    enum cache_obj_state st = body_state(o, &len);

    if (status != q->status)
        snprintf(q->status, sizeof q->status, "%s", status);
    c->cache_status = q->status;
    cache_disk_end(q); /* what the previous response read */
    if (q->obj != o) {
        if (q->obj != NULL)
            cache_obj_unref(&q->obj);
        q->obj = cache_obj_ref(o);
    }
    q->mode = CQ_SEND;
    if (c->state != CS_PROXY)
        c->state = CS_CACHE;
    cache_obj_cursor_init(&q->cur, o);
    q->send_end = len >= 0 ? (uint64_t)len : CACHE_LEN_UNKNOWN;
    q->n_ranges = 0;
    answer_head(c, o, st, len);
    if (c->is_head)
        q->send_end = 0;
    else if (st == CACHE_OBJ_COMPLETE && q->cur.pos == 0)
        cache_disk_promote_start(c);
    /* The request's slices are no longer needed. */
    conn_consume_head(c, q->head_len);
    q->head_len = 0;
    /* Inside the upstream exchange, pump from the loop: finishing the
     * response now would end the exchange under the proxy's feet. */
    if (c->state == CS_PROXY)
        event_active(q->wake, EV_READ, 0);
    else
        cache_send_pump(c);
}

void
cache_send_leader(struct conn *c, struct cache_obj *o, const char *kind, const char *own,
                  size_t own_len)
{
    struct creq *q = c->cq;

    /* Every path of cache_send_obj writes the head before it returns. */
    q->own = own;
    q->own_len = own_len;
    cache_send_obj(c, o, kind);
    q->own = NULL;
    q->own_len = 0;
}

/* Ends one part or the whole body; false when the response is complete. */
static bool
next_part(struct conn *c)
{
    struct creq *q = c->cq;
    char buf[128];
    int n;

    if (q->n_ranges == 0)
        return false;
    if (++q->range_i < q->n_ranges) {
        start_part(c);
        return true;
    }
    n = cache_range_multipart_tail(buf, sizeof buf, q->boundary);
    if (n > 0)
        evbuffer_add(bufferevent_get_output(c->bev), buf, (size_t)n);
    q->n_ranges = 0;
    return false;
}

static void
add_run(struct conn *c, const char *p, size_t n, struct cache_chunk *ch)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct creq *q = c->cq;

    if (q->send_chunked)
        evbuffer_add_printf(out, "%zx\r\n", n);
    cache_chunk_ref(ch);
    evbuffer_add_reference(out, p, n, on_ref_done, ch);
    if (q->send_chunked)
        evbuffer_add(out, "\r\n", 2);
    c->bytes_out += n;
}

/* The next run of the body at the cursor, from RAM or disk; *st the
 * body's state. A promotion reads the next chunk from disk when needed. */
static size_t
next_run(struct conn *c, size_t max, const char **p, struct cache_chunk **ch,
         enum cache_obj_state *st)
{
    struct creq *q = c->cq;

    if (cache_disk_body(q->obj) != NULL)
        return cache_disk_read(q, q->obj, max, p, ch, st);
    if (q->disk_src != NULL && q->cur.pos == cache_obj_body_len(q->obj) &&
        cache_obj_state(q->obj) == CACHE_OBJ_BUSY)
        (void)cache_disk_promote_step(c); /* failure: FAILED below */
    *st = cache_obj_state(q->obj);
    return cache_obj_read(&q->cur, q->obj, p, ch, max);
}

void
cache_send_pump(struct conn *c)
{
    struct creq *q = c->cq;
    struct evbuffer *out = bufferevent_get_output(c->bev);

    while (q->mode == CQ_SEND && evbuffer_get_length(out) < EDGE_OUT_HIGH) {
        uint64_t want = q->send_end - q->cur.pos;
        enum cache_obj_state st;
        struct cache_chunk *ch;
        const char *p;
        size_t n;
        int64_t len;

        if (q->send_end != CACHE_LEN_UNKNOWN && want == 0) {
            if (next_part(c))
                continue;
            if (q->send_chunked)
                evbuffer_add(out, "0\r\n\r\n", 5);
            q->mode = CQ_NONE;
            conn_response_done(c, true);
            return;
        }
        n = next_run(c, want > SIZE_MAX ? SIZE_MAX : (size_t)want, &p, &ch, &st);
        if (n > 0) {
            add_run(c, p, n, ch);
            continue;
        }
        if (st == CACHE_OBJ_BUSY)
            return; /* the leader's notify wakes us */
        if (st == CACHE_OBJ_FAILED || q->send_end != CACHE_LEN_UNKNOWN) {
            conn_abort(c); /* the object ended short: cut, never pad */
            return;
        }
        (void)body_state(q->obj, &len);
        q->send_end = (uint64_t)len;
    }
}
