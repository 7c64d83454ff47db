/*
 * Busy-object table: a small hash table of fetches under way, one mutex per
 * shard for the index and one per entry for its state and waiters (taken
 * in that order). A key may have several entries: one per variant.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cache/busy.h"
#include "cache/obj.h"
#include "common/alloc.h"
#include "common/assert.h"

#define BUSY_MAGIC 0x62757379u
#define ENTRY_MAGIC 0x62656e74u
#define N_SHARDS 64
#define N_BUCKETS 256 /* per shard; entries live only while fetching */

struct cache_busy_entry {
    unsigned magic;
    unsigned refcnt; /* atomic */
    pthread_mutex_t mu;
    uint64_t hash;
    char *key;
    size_t key_len;
    bool indexed;
    enum cache_busy_state state;
    int status;
    struct cache_obj *obj;
    TAILQ_HEAD(, cache_busy_waiter) waiters;
    struct cache_busy_entry *next; /* bucket chain, under the shard lock */
};

struct busy_shard {
    pthread_mutex_t mu;
    struct cache_busy_entry *buckets[N_BUCKETS];
};

struct cache_busy {
    unsigned magic;
    struct busy_shard shards[N_SHARDS];
};

struct cache_busy *
cache_busy_new(void)
{
    struct cache_busy *b = xcalloc(1, sizeof *b);

    b->magic = BUSY_MAGIC;
    for (unsigned i = 0; i < N_SHARDS; i++)
        pthread_mutex_init(&b->shards[i].mu, NULL);
    return b;
}

void
cache_busy_free(struct cache_busy **bp)
{
    struct cache_busy *b = *bp;

    *bp = NULL;
    if (b == NULL)
        return;
    CHECK_OBJ(b, BUSY_MAGIC);
    for (unsigned i = 0; i < N_SHARDS; i++) {
        for (unsigned j = 0; j < N_BUCKETS; j++) {
            struct cache_busy_entry *e = b->shards[i].buckets[j], *next;

            for (; e != NULL; e = next) {
                next = e->next;
                e->indexed = false;
                cache_busy_entry_unref(&e);
            }
        }
        pthread_mutex_destroy(&b->shards[i].mu);
    }
    b->magic = 0;
    free(b);
}

static struct busy_shard *
shard_of(struct cache_busy *b, uint64_t hash)
{
    return &b->shards[hash % N_SHARDS];
}

static struct cache_busy_entry **
bucket_of(struct busy_shard *s, uint64_t hash)
{
    return &s->buckets[(hash / N_SHARDS) % N_BUCKETS];
}

static bool
same_key(const struct cache_busy_entry *e, uint64_t hash, const char *key, size_t key_len)
{
    return e->hash == hash && e->key_len == key_len && memcmp(e->key, key, key_len) == 0;
}

static struct cache_busy_entry *
find(struct busy_shard *s, uint64_t hash, const char *key, size_t key_len)
{
    struct cache_busy_entry *e;

    for (e = *bucket_of(s, hash); e != NULL; e = e->next)
        if (same_key(e, hash, key, key_len))
            return e;
    return NULL;
}

/* Under the shard lock: the entry of key to join, or NULL. One whose object
 * matches comes before one still fetching (or ending); one whose object
 * does not match is never joined. */
static struct cache_busy_entry *
find_match(struct busy_shard *s, uint64_t hash, const char *key, size_t key_len,
           cache_busy_match_fn *match, void *arg)
{
    struct cache_busy_entry *e, *other = NULL;

    if (match == NULL)
        return find(s, hash, key, key_len);
    for (e = *bucket_of(s, hash); e != NULL; e = e->next) {
        bool same = false;

        if (!same_key(e, hash, key, key_len))
            continue;
        pthread_mutex_lock(&e->mu);
        if (e->state == CACHE_BUSY_OBJECT && e->obj != NULL)
            same = match(e->obj, arg);
        else if (other == NULL)
            other = e;
        pthread_mutex_unlock(&e->mu);
        if (same)
            return e;
    }
    return other;
}

static struct cache_busy_entry *
entry_new(uint64_t hash, const char *key, size_t key_len)
{
    struct cache_busy_entry *e = xcalloc(1, sizeof *e);

    e->magic = ENTRY_MAGIC;
    e->refcnt = 1;
    pthread_mutex_init(&e->mu, NULL);
    e->hash = hash;
    e->key = xstrndup(key, key_len);
    e->key_len = key_len;
    e->state = CACHE_BUSY_FETCHING;
    TAILQ_INIT(&e->waiters);
    return e;
}

struct cache_busy_entry *
cache_busy_join(struct cache_busy *b, uint64_t hash, const char *key,
                size_t key_len, bool *leader)
{
    return cache_busy_join_match(b, hash, key, key_len, NULL, NULL, leader);
}

struct cache_busy_entry *
cache_busy_join_match(struct cache_busy *b, uint64_t hash, const char *key,
                      size_t key_len, cache_busy_match_fn *match, void *arg,
                      bool *leader)
{
    struct busy_shard *s = shard_of(b, hash);
    struct cache_busy_entry *e;

    CHECK_OBJ(b, BUSY_MAGIC);
    pthread_mutex_lock(&s->mu);
    e = find_match(s, hash, key, key_len, match, arg);
    if (e != NULL) {
        __atomic_add_fetch(&e->refcnt, 1, __ATOMIC_RELAXED);
        *leader = false;
    } else {
        struct cache_busy_entry **bk = bucket_of(s, hash);

        e = entry_new(hash, key, key_len);
        e->indexed = true;
        e->refcnt = 2; /* the table's and the leader's */
        e->next = *bk;
        *bk = e;
        *leader = true;
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}

bool
cache_busy_exists(struct cache_busy *b, uint64_t hash, const char *key, size_t key_len)
{
    struct busy_shard *s = shard_of(b, hash);
    bool found;

    pthread_mutex_lock(&s->mu);
    found = find(s, hash, key, key_len) != NULL;
    pthread_mutex_unlock(&s->mu);
    return found;
}

/* Under e->mu. */
static void
wake_all(struct cache_busy_entry *e)
{
    struct cache_busy_waiter *w;

    TAILQ_FOREACH(w, &e->waiters, link)
        event_active(w->wake, EV_READ, 0);
}

void
cache_busy_publish(struct cache_busy_entry *e, enum cache_busy_state st,
                   struct cache_obj *o, int status)
{
    CHECK_OBJ(e, ENTRY_MAGIC);
    ASSERT(st != CACHE_BUSY_FETCHING);
    pthread_mutex_lock(&e->mu);
    ASSERT(e->state == CACHE_BUSY_FETCHING);
    e->state = st;
    e->status = status;
    if (o != NULL)
        e->obj = cache_obj_ref(o);
    wake_all(e);
    pthread_mutex_unlock(&e->mu);
}

void
cache_busy_notify(struct cache_busy_entry *e)
{
    pthread_mutex_lock(&e->mu);
    wake_all(e);
    pthread_mutex_unlock(&e->mu);
}

void
cache_busy_unindex(struct cache_busy *b, struct cache_busy_entry *e)
{
    struct busy_shard *s = shard_of(b, e->hash);
    struct cache_busy_entry **pp;
    bool was = false;

    pthread_mutex_lock(&s->mu);
    for (pp = bucket_of(s, e->hash); *pp != NULL; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            e->indexed = false;
            was = true;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (was)
        cache_busy_entry_unref(&e);
}

enum cache_busy_state
cache_busy_state(struct cache_busy_entry *e, struct cache_obj **op, int *status)
{
    enum cache_busy_state st;

    pthread_mutex_lock(&e->mu);
    st = e->state;
    if (op != NULL)
        *op = e->obj != NULL ? cache_obj_ref(e->obj) : NULL;
    if (status != NULL)
        *status = e->status;
    pthread_mutex_unlock(&e->mu);
    return st;
}

void
cache_busy_wait(struct cache_busy_entry *e, struct cache_busy_waiter *w)
{
    pthread_mutex_lock(&e->mu);
    if (!w->linked) {
        TAILQ_INSERT_TAIL(&e->waiters, w, link);
        w->linked = true;
    }
    pthread_mutex_unlock(&e->mu);
}

void
cache_busy_unwait(struct cache_busy_entry *e, struct cache_busy_waiter *w)
{
    pthread_mutex_lock(&e->mu);
    if (w->linked) {
        TAILQ_REMOVE(&e->waiters, w, link);
        w->linked = false;
    }
    pthread_mutex_unlock(&e->mu);
}

struct cache_busy_entry *
cache_busy_entry_ref(struct cache_busy_entry *e)
{
    CHECK_OBJ(e, ENTRY_MAGIC);
    __atomic_add_fetch(&e->refcnt, 1, __ATOMIC_RELAXED);
    return e;
}

void
cache_busy_entry_unref(struct cache_busy_entry **ep)
{
    struct cache_busy_entry *e = *ep;

    *ep = NULL;
    if (e == NULL)
        return;
    CHECK_OBJ(e, ENTRY_MAGIC);
    if (__atomic_sub_fetch(&e->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    ASSERT(TAILQ_EMPTY(&e->waiters) && !e->indexed);
    if (e->obj != NULL)
        cache_obj_unref(&e->obj);
    pthread_mutex_destroy(&e->mu);
    free(e->key);
    e->magic = 0;
    free(e);
}
