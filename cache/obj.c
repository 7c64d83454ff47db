/*
 * cache/obj.c: objects and their refcounted body chunks (contract in obj.h).
 *
 * One allocation holds the struct and copies of its strings; chunks are
 * separate because an output buffer may keep one alive after its object is
 * gone. Chunk sizing keeps small objects small: with a Content-Length the
 * chunks are exactly the remaining length (at most CACHE_CHUNK_SIZE); without
 * one, they start at CHUNK_MIN and double up to CACHE_CHUNK_SIZE, so an
 * unknown-length body wastes less than half its size and long bodies still
 * get full chunks.
 *
 * Publication: the single writer fills chunk data, then release-stores the
 * chunk's len, then the object's body_len; a new chunk is linked with a
 * release store of next once its predecessor is full. Readers acquire-load
 * the same fields, so every byte they are shown is written.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cache/obj.h"
#include "common/alloc.h"
#include "common/assert.h"

#define CHUNK_MIN 4096u

struct cache_chunk *
cache_chunk_new(uint32_t cap)
{
    struct cache_chunk *c = xmalloc(sizeof *c + cap);

    c->next = NULL;
    c->refcnt = 1;
    c->len = 0;
    c->cap = cap;
    return c;
}

static uint32_t
first_cap(uint64_t expected_len)
{
    if (expected_len == CACHE_LEN_UNKNOWN)
        return CHUNK_MIN;
    if (expected_len == 0)
        return 1;
    return expected_len < CACHE_CHUNK_SIZE ? (uint32_t)expected_len : CACHE_CHUNK_SIZE;
}

/* Capacity of the chunk after prev: what Content-Length says remains, else double. */
static uint32_t
next_cap(const struct cache_obj *o, uint32_t prev)
{
    uint64_t done = __atomic_load_n(&o->body_len, __ATOMIC_RELAXED);
    uint64_t want;

    if (o->expected_len != CACHE_LEN_UNKNOWN && done < o->expected_len)
        want = o->expected_len - done;
    else if ((want = (uint64_t)prev * 2) < CHUNK_MIN)
        want = CHUNK_MIN;
    return want < CACHE_CHUNK_SIZE ? (uint32_t)want : CACHE_CHUNK_SIZE;
}

/* Copies n bytes to *sp and returns the copy (NUL-terminated), or NULL for NULL. */
static char *
put(char **sp, const char *src, size_t n)
{
    char *d = *sp;

    if (src == NULL)
        return NULL;
    memcpy(d, src, n);
    d[n] = '\0';
    *sp = d + n + 1;
    return d;
}

static size_t
opt_strlen(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

/* Bytes of the block that holds the struct and its strings. */
static size_t
block_size(size_t key_len, size_t vary_key_len, size_t names_len, size_t etag_len,
           size_t head_len)
{
    return sizeof(struct cache_obj) + key_len + vary_key_len + names_len + etag_len +
           head_len + 5;
}

struct cache_obj *
cache_obj_new(uint64_t hash, const char *key, size_t key_len, const char *vary_key,
              size_t vary_key_len, const char *vary_names, const char *etag,
              const char *head, size_t head_len, const struct cache_meta *meta,
              uint64_t expected_len)
{
    size_t names_len = opt_strlen(vary_names), etag_len = opt_strlen(etag);
    struct cache_obj *o;
    char *s;

    ASSERT(key != NULL && meta != NULL);
    ASSERT(key_len <= UINT32_MAX && vary_key_len <= UINT32_MAX && head_len <= UINT32_MAX);
    ASSERT(vary_key != NULL || vary_key_len == 0);
    ASSERT(head != NULL || head_len == 0);
    o = xcalloc(1, block_size(key_len, vary_key_len, names_len, etag_len, head_len));
    s = (char *)(o + 1);
    o->magic = CACHE_OBJ_MAGIC;
    o->refcnt = 1;
    o->hash = hash;
    o->key = put(&s, key, key_len);
    o->key_len = (uint32_t)key_len;
    o->vary_key = put(&s, vary_key, vary_key_len);
    o->vary_key_len = (uint32_t)vary_key_len;
    o->vary_names = put(&s, vary_names, names_len);
    o->etag = put(&s, etag, etag_len);
    o->head = put(&s, head, head_len);
    o->head_len = (uint32_t)head_len;
    o->meta = *meta;
    o->first = o->tail = cache_chunk_new(first_cap(expected_len));
    o->expected_len = expected_len;
    o->state = CACHE_OBJ_BUSY;
    return o;
}

struct cache_obj *
cache_obj_ref(struct cache_obj *o)
{
    unsigned before;

    CHECK_OBJ(o, CACHE_OBJ_MAGIC);
    before = __atomic_fetch_add(&o->refcnt, 1, __ATOMIC_RELAXED);
    ASSERT(before > 0);
    return o;
}

static void
obj_destroy(struct cache_obj *o)
{
    struct cache_chunk *c = o->first, *next;

    ASSERT(o->tier == NULL);
    if (o->ext_release != NULL)
        o->ext_release(o->ext);
    for (; c != NULL; c = next) {
        next = c->next;
        /* A chunk kept by an output buffer must not point into freed ones. */
        __atomic_store_n(&c->next, NULL, __ATOMIC_RELAXED);
        cache_chunk_unref(c);
    }
    o->magic = 0;
    free(o);
}

void
cache_obj_unref(struct cache_obj **op)
{
    struct cache_obj *o = *op;
    unsigned before;

    *op = NULL;
    CHECK_OBJ(o, CACHE_OBJ_MAGIC);
    before = __atomic_fetch_sub(&o->refcnt, 1, __ATOMIC_ACQ_REL);
    ASSERT(before > 0);
    if (before == 1)
        obj_destroy(o);
}

char *
cache_obj_reserve(struct cache_obj *o, size_t *room)
{
    struct cache_chunk *t;
    uint32_t len;

    CHECK_OBJ(o, CACHE_OBJ_MAGIC);
    ASSERT(cache_obj_state(o) == CACHE_OBJ_BUSY);
    t = o->tail;
    len = __atomic_load_n(&t->len, __ATOMIC_RELAXED);
    if (len == t->cap) {
        /* Link lazily, so a full tail is not followed by an empty chunk. */
        o->tail = cache_chunk_new(next_cap(o, t->cap));
        __atomic_store_n(&t->next, o->tail, __ATOMIC_RELEASE);
        t = o->tail;
        len = 0;
    }
    *room = t->cap - len;
    return t->data + len;
}

void
cache_obj_commit(struct cache_obj *o, size_t n)
{
    struct cache_chunk *t = o->tail;
    uint32_t len = __atomic_load_n(&t->len, __ATOMIC_RELAXED);

    ASSERT(n <= t->cap - len);
    __atomic_store_n(&t->len, len + (uint32_t)n, __ATOMIC_RELEASE);
    __atomic_store_n(&o->body_len, o->body_len + n, __ATOMIC_RELEASE);
}

void
cache_obj_append(struct cache_obj *o, const void *p, size_t n)
{
    const char *src = p;

    while (n > 0) {
        size_t room;
        char *d = cache_obj_reserve(o, &room);

        if (room > n)
            room = n;
        memcpy(d, src, room);
        cache_obj_commit(o, room);
        src += room;
        n -= room;
    }
}

/* What the object costs in RAM: its block plus every chunk's capacity. */
static size_t
obj_charge(const struct cache_obj *o)
{
    size_t sum = block_size(o->key_len, o->vary_key_len, opt_strlen(o->vary_names),
                            opt_strlen(o->etag), o->head_len);

    for (const struct cache_chunk *c = o->first; c != NULL; c = c->next)
        sum += sizeof *c + c->cap;
    return sum;
}

void
cache_obj_finish(struct cache_obj *o, enum cache_obj_state st)
{
    CHECK_OBJ(o, CACHE_OBJ_MAGIC);
    ASSERT(st == CACHE_OBJ_COMPLETE || st == CACHE_OBJ_FAILED);
    ASSERT(cache_obj_state(o) == CACHE_OBJ_BUSY);
    o->charge = obj_charge(o);
    __atomic_store_n(&o->state, (int)st, __ATOMIC_RELEASE);
}

enum cache_obj_state
cache_obj_state(const struct cache_obj *o)
{
    CHECK_OBJ(o, CACHE_OBJ_MAGIC);
    return (enum cache_obj_state)__atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
}

uint64_t
cache_obj_body_len(const struct cache_obj *o)
{
    CHECK_OBJ(o, CACHE_OBJ_MAGIC);
    return __atomic_load_n(&o->body_len, __ATOMIC_ACQUIRE);
}

void
cache_obj_cursor_init(struct cache_obj_cursor *cur, const struct cache_obj *o)
{
    CHECK_OBJ(o, CACHE_OBJ_MAGIC);
    cur->chunk = o->first;
    cur->off = 0;
    cur->pos = 0;
}

/* pos may equal the published length: the cursor then waits at the end. */
bool
cache_obj_cursor_seek(struct cache_obj_cursor *cur, const struct cache_obj *o, uint64_t pos)
{
    struct cache_chunk *c, *next;
    uint64_t rem = pos;

    if (pos > cache_obj_body_len(o))
        return false;
    /* Every chunk before the one holding pos is full and linked. */
    for (c = o->first; rem >= c->cap; c = next) {
        next = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE);
        if (next == NULL)
            break;
        rem -= c->cap;
    }
    cur->chunk = c;
    cur->off = (uint32_t)rem;
    cur->pos = pos;
    return true;
}

size_t
cache_obj_read(struct cache_obj_cursor *cur, const struct cache_obj *o, const char **p,
               struct cache_chunk **chunk, size_t max)
{
    CHECK_OBJ(o, CACHE_OBJ_MAGIC);
    *p = NULL;
    *chunk = NULL;
    if (max == 0)
        return 0;
    for (;;) {
        struct cache_chunk *c = cur->chunk, *next;
        uint32_t len = __atomic_load_n(&c->len, __ATOMIC_ACQUIRE);
        size_t run = len - cur->off;

        if (run > 0) {
            if (run > max)
                run = max;
            *p = c->data + cur->off;
            *chunk = c;
            cur->off += (uint32_t)run;
            cur->pos += run;
            return run;
        }
        if (cur->off < c->cap) /* not written yet */
            return 0;
        next = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE);
        if (next == NULL) /* full; the next one is not linked yet */
            return 0;
        cur->chunk = next;
        cur->off = 0;
    }
}

void
cache_chunk_ref(struct cache_chunk *c)
{
    unsigned before = __atomic_fetch_add(&c->refcnt, 1, __ATOMIC_RELAXED);

    ASSERT(before > 0);
}

void
cache_chunk_unref(struct cache_chunk *c)
{
    unsigned before = __atomic_fetch_sub(&c->refcnt, 1, __ATOMIC_ACQ_REL);

    ASSERT(before > 0);
    if (before == 1)
        free(c);
}
