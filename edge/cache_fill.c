/*
 * Objects too large for the RAM tier (Content-Length above cache.max_object)
 * are filled into the disk tier instead: the body goes chunk by chunk to
 * the LMDB writer (cache_lmdb_fill_*) and never sits whole in memory. The
 * published object is a stub whose body is the fill, so the leader's client
 * and every follower read the committed chunks from disk at their own pace
 * (cache_disk.c). The upstream is read as fast as the disk takes it: when
 * the fill has enough uncommitted bytes the upstream read pauses until the
 * writer's next commit.
 *
 * Threads: the writer thread reports commits through fill_notify, which
 * only wakes waiters (event_active) and unindexes the busy entry once the
 * fill ended, so later requests find the stored object. Everything else
 * runs on the leader's worker.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "cache"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/stats.h"
#include "edge/edge_int.h"

/* What the writer's callbacks need: the busy entry to wake and unindex. */
struct fill_link {
    struct cache_busy *table;
    struct cache_busy_entry *busy; /* our reference, dropped at the end */
    struct cache_lmdb_fill *fill;  /* atomic: set once begin returned */
};

/* Writer thread. The entry reference goes at the end state: the entry
 * holds the stub, which holds the fill, which holds this link. */
static void
fill_notify(void *arg)
{
    struct fill_link *fl = arg;
    struct cache_lmdb_fill *f = __atomic_load_n(&fl->fill, __ATOMIC_ACQUIRE);
    struct cache_busy_entry *e = fl->busy;
    uint64_t committed;

    if (e == NULL)
        return;
    if (f != NULL && cache_lmdb_fill_progress(f, &committed, NULL, NULL) !=
                         CACHE_LMDB_FILL_OPEN) {
        fl->busy = NULL;
        cache_busy_unindex(fl->table, e);
        cache_busy_notify(e);
        cache_busy_entry_unref(&e);
        return;
    }
    cache_busy_notify(e);
}

static void
fill_release(void *arg)
{
    struct fill_link *fl = arg;

    if (fl->busy != NULL)
        cache_busy_entry_unref(&fl->busy);
    free(fl);
}

/* The leader's upstream may go on once the writer caught up. */
static void
on_fill_wake(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct creq *q = c->cq;
    bool go = true;
    uint64_t committed;

    (void)fd;
    (void)what;
    if (q->dfill == NULL)
        return;
    if (cache_lmdb_fill_progress(q->dfill, &committed, NULL, &go) ==
            CACHE_LMDB_FILL_OPEN && !go)
        return;
    proxy_store_resume(c);
}

bool
cache_fill_wanted(const struct conn *c, const struct h1_response *rsp)
{
    return c->w->srv->disk != NULL && rsp->body == H1_BODY_LENGTH &&
           rsp->content_length > c->wc->conf->cache.max_object &&
           rsp->content_length <= c->wc->conf->cache.disk.max_object;
}

int
cache_fill_begin(struct conn *c, struct cache_obj *stub, uint64_t len)
{
    struct creq *q = c->cq;
    struct cache_lmdb *l = c->w->srv->disk;
    struct fill_link *fl = xcalloc(1, sizeof *fl);
    struct cache_lmdb_fill *f;
    int err = 0;

    ASSERT(q->busy != NULL && q->dfill == NULL);
    fl->table = c->w->srv->busy;
    fl->busy = cache_busy_entry_ref(q->busy);
    f = cache_lmdb_fill_begin(l, stub, len, (uint64_t)clock_wall_ms(), fill_notify,
                              fill_release, fl, &err);
    if (f == NULL) {
        fill_release(fl);
        stat_inc(ST_CACHE_DISK_FILL_FAIL);
        return err;
    }
    __atomic_store_n(&fl->fill, f, __ATOMIC_RELEASE);
    if (stub->expected_len != len) /* an overflowing object is shared */
        stub->expected_len = len;
    cache_disk_attach(stub, l, NULL, f);
    q->dfill = f;
    if (q->fill_wake == NULL) {
        q->fill_wake = event_new(c->w->base, -1, 0, on_fill_wake, c);
        q->fill_waiter.wake = q->fill_wake;
    }
    cache_busy_wait(q->busy, &q->fill_waiter);
    stat_inc(ST_CACHE_DISK_FILL);
    return 0;
}

/*
 * A body of unknown length outgrew CACHE_FILL_OVERFLOW: the object
 * moves to a disk fill. Its bytes so far are copied into the fill, and its
 * readers (the leader's client, followers) switch to the disk body at the
 * offset they reached (the chain they read stays until they let go).
 * Returns as cache_fill_body.
 */
int
cache_fill_overflow(struct conn *c)
{
    struct creq *q = c->cq;
    struct cache_obj *o = q->fill;
    struct cache_obj_cursor cur;
    struct cache_chunk *ch;
    const char *p;
    size_t n;
    int rc = 0;

    q->overflow_tried = true;
    if (cache_fill_begin(c, o, CACHE_LEN_UNKNOWN) != 0)
        return 0; /* no disk fill now: it stays in RAM, up to max_object */
    cache_obj_cursor_init(&cur, o);
    while ((n = cache_obj_read(&cur, o, &p, &ch, SIZE_MAX)) > 0) {
        int r = cache_lmdb_fill_append(q->dfill, p, n);

        if (r < 0) {
            rc = r;
            break;
        }
        rc |= r;
    }
    q->fill = NULL;
    cache_obj_unref(&o); /* the busy entry and the readers keep it */
    return rc < 0 ? -1 : rc;
}

int
cache_fill_body(struct conn *c, struct evbuffer *in, size_t n)
{
    struct creq *q = c->cq;
    int pause = 0;

    while (n > 0) {
        struct evbuffer_iovec v;
        size_t m;
        int rc;

        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        m = v.iov_len < n ? v.iov_len : n;
        rc = cache_lmdb_fill_append(q->dfill, v.iov_base, m);
        if (rc < 0)
            return rc;
        pause |= rc;
        evbuffer_drain(in, m);
        n -= m;
    }
    return pause;
}

void
cache_fill_end(struct conn *c, bool complete)
{
    struct creq *q = c->cq;

    if (q->dfill == NULL)
        return;
    cache_busy_unwait(q->busy, &q->fill_waiter);
    if (q->fill_wake != NULL)
        event_del(q->fill_wake);
    cache_lmdb_fill_end(q->dfill, complete);
    if (complete)
        stat_inc(ST_CACHE_STORE);
    else
        stat_inc(ST_CACHE_DISK_FILL_FAIL);
    cache_lmdb_fill_unref(&q->dfill);
}
