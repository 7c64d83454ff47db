/*
 * cache/ram.c: the RAM tier (contract in ram.h).
 *
 * Each shard has its own lock, a chained hash table of entries (power-of-two
 * buckets, doubled when there are more entries than buckets), the two
 * S3-FIFO queues and the ghost. An entry (struct ram_ent, which obj->tier
 * points to while the object is indexed) carries the queue links and the
 * frequency, so objects know nothing of the tier. Hashes are remixed before
 * they pick a shard (top bits) and a bucket (low bits), so callers' hashes
 * need not be uniform in any particular bits.
 *
 * Ghost: cache/ram_ghost.c. Variants: a key keeps at most
 * CACHE_RAM_MAX_VARIANTS; a new one beyond replaces the oldest.
 *
 * Entries that leave the index are chained on a local `dead` list and their
 * objects unref'd after the shard is unlocked.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache/ram.h"
#include "cache/ram_int.h"
#include "common/alloc.h"
#include "common/assert.h"

/* murmur3 finalizer: a bijection, so equal mixes mean equal hashes. */
static uint64_t
mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static struct ram_shard *
shard_of(const struct cache_ram *r, uint64_t mh)
{
    return &r->shards[(mh >> 58) & (r->nshards - 1)];
}

static struct ram_ent **
bucket(struct ram_shard *s, uint64_t mh)
{
    return &s->buckets[mh & s->mask];
}

static bool
same_key(const struct ram_ent *e, uint64_t mh, const char *key, size_t key_len)
{
    if (e->mhash != mh || e->key_len != key_len)
        return false;
    /* Fetch the object (refcount) and the key in parallel, not one by one. */
    __builtin_prefetch(e->obj, 1);
    return memcmp(e->key, key, key_len) == 0;
}

static bool
same_variant(const struct cache_obj *a, const struct cache_obj *b)
{
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 &&
           a->vary_key_len == b->vary_key_len &&
           (a->vary_key_len == 0 || memcmp(a->vary_key, b->vary_key, a->vary_key_len) == 0);
}

static void
fifo_push(struct ram_fifo *f, struct ram_ent *e)
{
    e->newer = NULL;
    e->older = f->head;
    if (f->head != NULL)
        f->head->newer = e;
    else
        f->tail = e;
    f->head = e;
    f->bytes += e->charge;
}

static void
fifo_unlink(struct ram_fifo *f, struct ram_ent *e)
{
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        f->head = e->older;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        f->tail = e->newer;
    f->bytes -= e->charge;
}

/* Unlinks *pp from its chain, queue and object; chains it on *dead. */
static void
unlink_at(struct ram_shard *s, struct ram_ent **pp, struct ram_ent **dead)
{
    struct ram_ent *e = *pp;

    *pp = e->hnext;
    fifo_unlink(&s->fifo[e->queue], e);
    s->count--;
    e->obj->tier = NULL;
    e->hnext = *dead;
    *dead = e;
}

static void
ent_unlink(struct ram_shard *s, struct ram_ent *e, struct ram_ent **dead)
{
    struct ram_ent **pp = bucket(s, e->mhash);

    while (*pp != e)
        pp = &(*pp)->hnext;
    unlink_at(s, pp, dead);
}

/* Drops the tier's references; called with no shard lock held. */
static void
release(struct ram_ent *dead)
{
    struct ram_ent *next;

    for (; dead != NULL; dead = next) {
        next = dead->hnext;
        cache_obj_unref(&dead->obj);
        free(dead);
    }
}

/* Doubles the buckets; each chain splits in two, keeping its order. */
static void
table_grow(struct ram_shard *s)
{
    size_t old_n = s->mask + 1;
    struct ram_ent **b = xcalloc(old_n * 2, sizeof *b);

    for (size_t i = 0; i < old_n; i++) {
        struct ram_ent **tails[2] = { &b[i], &b[i + old_n] };
        struct ram_ent *e = s->buckets[i], *next;

        for (; e != NULL; e = next) {
            struct ram_ent ***t = &tails[(e->mhash & old_n) != 0];

            next = e->hnext;
            **t = e;
            *t = &e->hnext;
        }
        *tails[0] = *tails[1] = NULL;
    }
    free(s->buckets);
    s->buckets = b;
    s->mask = old_n * 2 - 1;
}

/* Oldest of small: hit since insertion → main, else its hash → ghost. */
static void
evict_small(struct ram_shard *s, struct ram_ent **dead)
{
    struct ram_ent *e = s->fifo[RAM_Q_SMALL].tail;

    if (__atomic_load_n(&e->freq, __ATOMIC_RELAXED) > 0) {
        fifo_unlink(&s->fifo[RAM_Q_SMALL], e);
        __atomic_store_n(&e->freq, 0, __ATOMIC_RELAXED);
        e->queue = RAM_Q_MAIN;
        fifo_push(&s->fifo[RAM_Q_MAIN], e);
        return;
    }
    ram_ghost_add(s, e->mhash);
    ent_unlink(s, e, dead);
    s->evictions++;
}

/* Oldest of main: hit since its last lap → another lap, else evicted. */
static void
evict_main(struct ram_shard *s, struct ram_ent **dead)
{
    struct ram_fifo *f = &s->fifo[RAM_Q_MAIN];

    for (;;) {
        struct ram_ent *e = f->tail;
        uint8_t freq = __atomic_load_n(&e->freq, __ATOMIC_RELAXED);

        if (freq == 0) {
            ent_unlink(s, e, dead);
            s->evictions++;
            return;
        }
        __atomic_store_n(&e->freq, freq - 1, __ATOMIC_RELAXED);
        fifo_unlink(f, e);
        fifo_push(f, e);
    }
}

/* Evicts until charge more bytes fit; the caller checked charge <= budget. */
static void
make_room(struct ram_shard *s, size_t charge, struct ram_ent **dead)
{
    while (s->fifo[RAM_Q_SMALL].bytes + s->fifo[RAM_Q_MAIN].bytes + charge > s->budget) {
        if (s->fifo[RAM_Q_SMALL].bytes > s->small_budget || s->fifo[RAM_Q_MAIN].tail == NULL)
            evict_small(s, dead);
        else
            evict_main(s, dead);
    }
}

static void
shard_init(struct ram_shard *s, size_t budget)
{
    pthread_mutexattr_t a;

    pthread_mutexattr_init(&a);
    /* Critical sections are a few hundred ns: spin briefly before sleeping. */
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&s->lock, &a);
    pthread_mutexattr_destroy(&a);
    s->buckets = xcalloc(RAM_BUCKETS_MIN, sizeof *s->buckets);
    s->mask = RAM_BUCKETS_MIN - 1;
    s->budget = budget;
    s->small_budget = budget / 10;
    s->ghost_gen = 1;
}

/* A shard must hold two of the largest objects and at least RAM_SHARD_MIN_BYTES. */
static unsigned
shard_count(size_t budget, size_t max_object)
{
    size_t min = max_object > SIZE_MAX / 2 ? SIZE_MAX : 2 * max_object;
    unsigned n = RAM_SHARDS_MAX;

    if (min < RAM_SHARD_MIN_BYTES)
        min = RAM_SHARD_MIN_BYTES;
    while (n > 1 && budget / n < min)
        n /= 2;
    return n;
}

struct cache_ram *
cache_ram_new(size_t budget_bytes, size_t max_object_bytes)
{
    struct cache_ram *r = xcalloc(1, sizeof *r);
    uintptr_t at;

    ASSERT(budget_bytes > 0);
    r->magic = CACHE_RAM_MAGIC;
    r->nshards = shard_count(budget_bytes, max_object_bytes);
    r->budget = budget_bytes;
    r->max_object = max_object_bytes;
    r->shard_mem = xcalloc(1, r->nshards * sizeof *r->shards + RAM_CACHELINE);
    at = ((uintptr_t)r->shard_mem + RAM_CACHELINE - 1) & ~(uintptr_t)(RAM_CACHELINE - 1);
    r->shards = (struct ram_shard *)at;
    for (unsigned i = 0; i < r->nshards; i++)
        shard_init(&r->shards[i], budget_bytes / r->nshards);
    return r;
}

void
cache_ram_free(struct cache_ram **rp)
{
    struct cache_ram *r = *rp;

    *rp = NULL;
    if (r == NULL)
        return;
    CHECK_OBJ(r, CACHE_RAM_MAGIC);
    for (unsigned i = 0; i < r->nshards; i++) {
        struct ram_shard *s = &r->shards[i];
        struct ram_ent *dead = NULL;

        for (size_t b = 0; b <= s->mask; b++)
            while (s->buckets[b] != NULL)
                unlink_at(s, &s->buckets[b], &dead);
        release(dead);
        free(s->buckets);
        free(s->ghost);
        pthread_mutex_destroy(&s->lock);
    }
    free(r->shard_mem);
    r->magic = 0;
    free(r);
}

/*
 * The entry of e's variant (same key and vary key), or NULL; *oldest the
 * oldest other variant of e's key (chains are newest first) and *others how
 * many there are. Shard locked.
 */
static struct ram_ent *
find_variant(struct ram_shard *s, const struct ram_ent *e, struct ram_ent **oldest,
             unsigned *others)
{
    struct ram_ent *same = NULL;

    *oldest = NULL;
    *others = 0;
    for (struct ram_ent *x = *bucket(s, e->mhash); x != NULL; x = x->hnext) {
        if (!same_key(x, e->mhash, e->key, e->key_len))
            continue;
        if (same == NULL && same_variant(x->obj, e->obj)) {
            same = x;
        } else {
            *oldest = x;
            (*others)++;
        }
    }
    return same;
}

/* Links e (or finds its object already indexed: false). Shard locked. */
static bool
insert_locked(struct ram_shard *s, struct ram_ent *e, struct ram_ent **dead)
{
    struct ram_ent **head, *old, *oldest;
    unsigned others;

    old = find_variant(s, e, &oldest, &others);
    if (old != NULL && old->obj == e->obj)
        return false;
    ASSERT(e->obj->tier == NULL); /* indexed by one tier at a time */
    /* Lookups walk a key's variants under the lock: a key never has more
     * than CACHE_RAM_MAX_VARIANTS (Vary: User-Agent and the like). */
    if (old == NULL && others >= CACHE_RAM_MAX_VARIANTS) {
        ent_unlink(s, oldest, dead);
        s->variant_drops++;
    }
    if (old != NULL) {
        e->queue = old->queue;
        e->freq = old->freq;
        ent_unlink(s, old, dead);
        s->replaces++;
    } else if (ram_ghost_take(s, e->mhash)) {
        e->queue = RAM_Q_MAIN;
        s->ghost_hits++;
    }
    make_room(s, e->charge, dead);
    head = bucket(s, e->mhash);
    e->hnext = *head;
    *head = e;
    fifo_push(&s->fifo[e->queue], e);
    e->obj = cache_obj_ref(e->obj);
    e->obj->tier = e;
    s->count++;
    s->inserts++;
    if (s->count > s->mask + 1)
        table_grow(s);
    return true;
}

int
cache_ram_insert(struct cache_ram *r, struct cache_obj *o)
{
    struct ram_ent *e, *dead = NULL;
    struct ram_shard *s;
    bool linked;

    CHECK_OBJ(r, CACHE_RAM_MAGIC);
    ASSERT(cache_obj_state(o) == CACHE_OBJ_COMPLETE);
    if (cache_obj_body_len(o) > r->max_object)
        return -E2BIG;
    e = xcalloc(1, sizeof *e);
    e->obj = o;
    e->mhash = mix(o->hash);
    e->key = o->key;
    e->key_len = o->key_len;
    e->charge = o->charge + sizeof *e;
    e->queue = RAM_Q_SMALL;
    s = shard_of(r, e->mhash);
    if (e->charge > s->budget) {
        free(e);
        return -E2BIG;
    }
    pthread_mutex_lock(&s->lock);
    linked = insert_locked(s, e, &dead);
    pthread_mutex_unlock(&s->lock);
    if (!linked)
        free(e);
    release(dead);
    return 0;
}

struct cache_obj *
cache_ram_lookup(struct cache_ram *r, uint64_t hash, const char *key, size_t key_len,
                 cache_ram_match_fn *match, void *arg, bool *key_seen)
{
    uint64_t mh = mix(hash);
    struct ram_shard *s;
    struct cache_obj *found = NULL;
    bool seen = false;

    CHECK_OBJ(r, CACHE_RAM_MAGIC);
    s = shard_of(r, mh);
    pthread_mutex_lock(&s->lock);
    for (struct ram_ent *e = *bucket(s, mh); e != NULL; e = e->hnext) {
        uint8_t freq;

        if (!same_key(e, mh, key, key_len))
            continue;
        seen = true;
        if (match != NULL && !match(e->obj, arg))
            continue;
        found = cache_obj_ref(e->obj);
        freq = __atomic_load_n(&e->freq, __ATOMIC_RELAXED);
        if (freq < RAM_FREQ_MAX)
            __atomic_store_n(&e->freq, freq + 1, __ATOMIC_RELAXED);
        break;
    }
    if (found != NULL)
        s->hits++;
    else
        s->misses++;
    pthread_mutex_unlock(&s->lock);
    if (key_seen != NULL)
        *key_seen = seen;
    return found;
}

int
cache_ram_remove_key(struct cache_ram *r, uint64_t hash, const char *key, size_t key_len)
{
    uint64_t mh = mix(hash);
    struct ram_ent **pp, *dead = NULL;
    struct ram_shard *s;
    int n = 0;

    CHECK_OBJ(r, CACHE_RAM_MAGIC);
    s = shard_of(r, mh);
    pthread_mutex_lock(&s->lock);
    for (pp = bucket(s, mh); *pp != NULL;) {
        if (same_key(*pp, mh, key, key_len)) {
            unlink_at(s, pp, &dead);
            n++;
        } else {
            pp = &(*pp)->hnext;
        }
    }
    s->removes += (uint64_t)n;
    pthread_mutex_unlock(&s->lock);
    release(dead);
    return n;
}

bool
cache_ram_remove_obj(struct cache_ram *r, struct cache_obj *o)
{
    struct ram_ent **pp, *dead = NULL;
    struct ram_shard *s;
    uint64_t mh;

    CHECK_OBJ(r, CACHE_RAM_MAGIC);
    CHECK_OBJ(o, CACHE_OBJ_MAGIC);
    mh = mix(o->hash);
    s = shard_of(r, mh);
    pthread_mutex_lock(&s->lock);
    for (pp = bucket(s, mh); *pp != NULL; pp = &(*pp)->hnext) {
        if ((*pp)->obj == o) {
            unlink_at(s, pp, &dead);
            s->removes++;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    release(dead);
    return dead != NULL;
}

size_t
cache_ram_foreach(struct cache_ram *r, cache_ram_visit_fn *fn, void *arg)
{
    size_t removed = 0;

    CHECK_OBJ(r, CACHE_RAM_MAGIC);
    for (unsigned i = 0; i < r->nshards; i++) {
        struct ram_shard *s = &r->shards[i];
        struct ram_ent *dead = NULL;
        size_t n = 0;

        pthread_mutex_lock(&s->lock);
        for (size_t b = 0; b <= s->mask; b++) {
            for (struct ram_ent **pp = &s->buckets[b]; *pp != NULL;) {
                if (fn((*pp)->obj, arg)) {
                    unlink_at(s, pp, &dead);
                    n++;
                } else {
                    pp = &(*pp)->hnext;
                }
            }
        }
        s->removes += n;
        pthread_mutex_unlock(&s->lock);
        release(dead);
        removed += n;
    }
    return removed;
}

void
cache_ram_stats(const struct cache_ram *r, struct cache_ram_stats *st)
{
    CHECK_OBJ(r, CACHE_RAM_MAGIC);
    memset(st, 0, sizeof *st);
    st->shards = r->nshards;
    st->budget = r->budget;
    for (unsigned i = 0; i < r->nshards; i++) {
        struct ram_shard *s = &r->shards[i];

        pthread_mutex_lock(&s->lock);
        st->small_bytes += s->fifo[RAM_Q_SMALL].bytes;
        st->main_bytes += s->fifo[RAM_Q_MAIN].bytes;
        st->objects += s->count;
        st->inserts += s->inserts;
        st->replaces += s->replaces;
        st->variant_drops += s->variant_drops;
        st->ghost_hits += s->ghost_hits;
        st->evictions += s->evictions;
        st->removes += s->removes;
        st->hits += s->hits;
        st->misses += s->misses;
        pthread_mutex_unlock(&s->lock);
    }
    st->bytes = st->small_bytes + st->main_bytes;
}
