/*
 * Bodies on the disk tier. A disk hit is a stub object (stored head and
 * metadata, no body in RAM) whose ext says where the chunks are: a stored
 * object, or one still being filled (cache_fill.c). Senders read it chunk
 * by chunk as the client drains, so a 1 GiB object streams with one chunk
 * in memory per connection, and a range reads only the chunks it covers.
 * A whole-body GET of an object small enough for RAM is promoted instead:
 * the chunks are read straight into a RAM object (no extra copy) that is
 * sent as it fills and inserted into the RAM tier once complete.
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

/* A stored object's stub holds the pin its lookup took (a fill pins its
 * own object): no eviction or removal cuts its readers. */
static void
body_release(void *p)
{
    struct cache_disk_body *b = p;

    if (b->fill != NULL)
        cache_lmdb_fill_unref(&b->fill);
    else
        cache_lmdb_unpin(b->l, &b->ref);
    free(b);
}

/* ref (without fill): pinned by its lookup; the stub takes that pin over. */
void
cache_disk_attach(struct cache_obj *o, struct cache_lmdb *l, const struct cache_lmdb_ref *ref,
                  struct cache_lmdb_fill *fill)
{
    struct cache_disk_body *b = xcalloc(1, sizeof *b);

    ASSERT(o->ext == NULL);
    b->l = l;
    if (ref != NULL)
        b->ref = *ref;
    b->fill = fill != NULL ? cache_lmdb_fill_ref(fill) : NULL;
    o->ext = b;
    /* Readers on other workers may be streaming o (a fill overflowing to
     * disk): they switch to the disk body once they see this. */
    __atomic_store_n(&o->ext_release, body_release, __ATOMIC_RELEASE);
}

const struct cache_disk_body *
cache_disk_body(const struct cache_obj *o)
{
    return __atomic_load_n(&o->ext_release, __ATOMIC_ACQUIRE) == body_release ? o->ext
                                                                               : NULL;
}

enum cache_obj_state
cache_disk_state(const struct cache_obj *o, uint64_t *avail, uint64_t *len)
{
    const struct cache_disk_body *b = cache_disk_body(o);
    struct cache_lmdb_ref ref;

    ASSERT(b != NULL);
    if (b->fill == NULL) {
        *avail = *len = b->ref.body_len;
        return CACHE_OBJ_COMPLETE;
    }
    switch (cache_lmdb_fill_progress(b->fill, avail, &ref, NULL)) {
    case CACHE_LMDB_FILL_OPEN:
        *len = o->expected_len;
        return CACHE_OBJ_BUSY;
    case CACHE_LMDB_FILL_DONE:
        *len = *avail;
        return CACHE_OBJ_COMPLETE;
    case CACHE_LMDB_FILL_FAILED:
        break;
    }
    *len = o->expected_len;
    return CACHE_OBJ_FAILED;
}

/* The chunk holding body offset pos, read from disk unless it is the one
 * the connection read last; NULL on a read error (counted, logged). */
static struct cache_chunk *
chunk_at(struct creq *q, const struct cache_disk_body *b, uint64_t avail, uint64_t pos)
{
    uint32_t idx = (uint32_t)(pos / CACHE_CHUNK_SIZE);
    uint64_t start = (uint64_t)idx * CACHE_CHUNK_SIZE;
    uint32_t want = avail - start < CACHE_CHUNK_SIZE ? (uint32_t)(avail - start)
                                                     : CACHE_CHUNK_SIZE;
    struct cache_lmdb_ref ref = b->ref;
    struct cache_chunk *ch;
    int rc;

    if (q->dchunk != NULL && q->dchunk_idx == idx)
        return q->dchunk;
    if (b->fill != NULL)
        (void)cache_lmdb_fill_progress(b->fill, &ref.body_len, &ref, NULL);
    ch = cache_chunk_new(want);
    rc = cache_lmdb_read_chunk(b->l, &ref, idx, ch->data, want);
    if (rc < 0 || (uint32_t)rc != want) {
        log_warn("disk chunk %u of %.*s: %s", idx, (int)q->key.len, q->key.buf,
                 rc < 0 ? strerror(-rc) : "short");
        stat_inc(ST_CACHE_DISK_READ_ERROR);
        cache_chunk_unref(ch);
        return NULL;
    }
    ch->len = want;
    if (q->dchunk != NULL)
        cache_chunk_unref(q->dchunk);
    q->dchunk = ch;
    q->dchunk_idx = idx;
    return ch;
}

size_t
cache_disk_read(struct creq *q, const struct cache_obj *o, size_t max, const char **p,
                struct cache_chunk **chp, enum cache_obj_state *st)
{
    const struct cache_disk_body *b = cache_disk_body(o);
    uint64_t avail, len, pos = q->cur.pos, off;
    struct cache_chunk *ch;
    size_t run;

    *st = cache_disk_state(o, &avail, &len);
    if (pos >= avail || max == 0 || *st == CACHE_OBJ_FAILED)
        return 0;
    if ((ch = chunk_at(q, b, avail, pos)) == NULL) {
        *st = CACHE_OBJ_FAILED;
        return 0;
    }
    off = pos % CACHE_CHUNK_SIZE;
    run = ch->len - off;
    if (run > max)
        run = (size_t)max;
    *p = ch->data + off;
    *chp = ch;
    q->cur.pos += run;
    return run;
}

/*
 * A whole-body GET of a stored object that fits the RAM tier: q->obj
 * becomes a RAM object read from disk as it is sent (cache_disk_promote_step)
 * and inserted into the RAM tier once whole (S3-FIFO admission decides how
 * long it stays).
 */
void
cache_disk_promote_start(struct conn *c)
{
    struct creq *q = c->cq;
    struct cache_obj *stub = q->obj, *o;
    const struct cache_disk_body *b = cache_disk_body(stub);

    if (b == NULL || b->fill != NULL || b->ref.body_len == 0 ||
        b->ref.body_len > c->wc->conf->cache.max_object || q->n_ranges > 0 ||
        q->send_end != b->ref.body_len)
        return;
    o = cache_obj_new(stub->hash, stub->key, stub->key_len, stub->vary_key,
                      stub->vary_key_len, stub->vary_names, stub->etag, stub->head,
                      stub->head_len, &stub->meta, b->ref.body_len);
    q->disk_src = stub; /* keeps our reference */
    q->obj = o;
    cache_obj_cursor_init(&q->cur, o);
}

/* Reads the next chunk into the promoted object; false on a read error. */
bool
cache_disk_promote_step(struct conn *c)
{
    struct creq *q = c->cq;
    struct cache_obj *o = q->obj;
    const struct cache_disk_body *b = cache_disk_body(q->disk_src);
    uint64_t done = cache_obj_body_len(o);
    uint32_t idx = (uint32_t)(done / CACHE_CHUNK_SIZE);
    size_t room;
    char *p = cache_obj_reserve(o, &room);
    int rc;

    ASSERT(done % CACHE_CHUNK_SIZE == 0 && done < b->ref.body_len);
    rc = cache_lmdb_read_chunk(b->l, &b->ref, idx, p, room);
    if (rc <= 0) {
        log_warn("disk chunk %u of %.*s: %s", idx, (int)q->key.len, q->key.buf,
                 rc < 0 ? strerror(-rc) : "empty");
        stat_inc(ST_CACHE_DISK_READ_ERROR);
        cache_obj_finish(o, CACHE_OBJ_FAILED);
        return false;
    }
    cache_obj_commit(o, (size_t)rc);
    if (cache_obj_body_len(o) == b->ref.body_len) {
        cache_obj_finish(o, CACHE_OBJ_COMPLETE);
        /* An invalidation while we read: serve it, but keep it out of RAM. */
        if (cache_lmdb_current(b->l, &b->ref))
            (void)cache_ram_insert(c->w->srv->ram, o);
        cache_obj_unref(&q->disk_src);
    }
    return true;
}

/* Drops what a request held of the disk tier. */
void
cache_disk_end(struct creq *q)
{
    if (q->dchunk != NULL) {
        cache_chunk_unref(q->dchunk);
        q->dchunk = NULL;
    }
    if (q->disk_src != NULL)
        cache_obj_unref(&q->disk_src);
}

/* Reads old's whole disk body into o (BUSY, empty) and completes it; false
 * on a read error. */
bool
cache_disk_load(struct cache_obj *o, const struct cache_obj *old)
{
    const struct cache_disk_body *b = cache_disk_body(old);

    ASSERT(b != NULL && b->fill == NULL);
    for (uint32_t idx = 0; idx < b->ref.nchunks; idx++) {
        size_t room;
        char *p = cache_obj_reserve(o, &room);
        int rc = cache_lmdb_read_chunk(b->l, &b->ref, idx, p, room);

        if (rc <= 0) {
            stat_inc(ST_CACHE_DISK_READ_ERROR);
            return false;
        }
        cache_obj_commit(o, (size_t)rc);
    }
    if (cache_obj_body_len(o) != b->ref.body_len)
        return false;
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    return true;
}

/* A 304 refresh of a disk stub: the new stub reads the same chunks. */
struct cache_obj *
cache_disk_restub(struct cache_obj *o, const struct cache_obj *old)
{
    const struct cache_disk_body *b = cache_disk_body(old);

    if (b->fill == NULL)
        cache_lmdb_pin_more(b->l, &b->ref); /* the new stub's own pin */
    cache_disk_attach(o, b->l, &b->ref, b->fill);
    return o;
}
