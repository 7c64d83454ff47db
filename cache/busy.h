/*
 * Busy objects: request coalescing. The first miss for a primary key becomes
 * the leader and fetches; later misses for the same key, on any worker, join
 * as followers and wait. With Vary, a key may have one entry per variant
 * (cache_busy_join_match). The leader publishes the outcome once the response
 * head is known: an object to stream (its body grows as it arrives), PASS
 * (not cacheable: followers fetch on their own) or FAILED (with a status).
 * Every change wakes the waiters through their own event_base (event_active
 * is thread-safe once evthread_use_pthreads() ran), so a waiter only ever
 * touches its connection on its own worker.
 *
 * Ownership: entries are refcounted (atomic); the table holds one reference
 * while the entry is indexed, each leader/follower holds one.
 */
#ifndef CACHE_BUSY_H
#define CACHE_BUSY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

struct event;
struct cache_obj;
struct cache_busy;
struct cache_busy_entry;

enum cache_busy_state {
    CACHE_BUSY_FETCHING, /* no response head yet */
    CACHE_BUSY_OBJECT,   /* an object is streaming: read it */
    CACHE_BUSY_PASS,     /* not cacheable: fetch on your own */
    CACHE_BUSY_FAILED,   /* the fetch failed: see status */
};

/* A waiter: wake is activated (EV_READ) on every change of the entry. */
struct cache_busy_waiter {
    struct event *wake;
    bool linked;
    TAILQ_ENTRY(cache_busy_waiter) link;
};

struct cache_busy *cache_busy_new(void);
void cache_busy_free(struct cache_busy **bp);

/*
 * Joins the fetch for key, or starts it. Returns an entry reference; *leader
 * is true when the caller must fetch and publish the outcome. key is copied.
 */
struct cache_busy_entry *cache_busy_join(struct cache_busy *b, uint64_t hash,
                                         const char *key, size_t key_len,
                                         bool *leader);
/* Decides whether a published object serves the caller (its variant). */
typedef bool cache_busy_match_fn(const struct cache_obj *o, void *arg);
/*
 * Like cache_busy_join, for requests of a key with variants: an entry whose
 * published object does not match (match(o, arg) false) is skipped, and
 * when no entry is left a new one is indexed beside the others, so one
 * fetch runs per variant. An entry still fetching, or whose object
 * matches, is joined. match runs under the table's locks: it must not
 * call back into the table.
 */
struct cache_busy_entry *cache_busy_join_match(struct cache_busy *b, uint64_t hash,
                                               const char *key, size_t key_len,
                                               cache_busy_match_fn *match, void *arg,
                                               bool *leader);
/* True when a fetch for key is under way (no side effects). */
bool cache_busy_exists(struct cache_busy *b, uint64_t hash, const char *key,
                       size_t key_len);

/* Leader: publishes the object (takes its own reference), PASS or FAILED. */
void cache_busy_publish(struct cache_busy_entry *e, enum cache_busy_state st,
                        struct cache_obj *o, int status);
/* Leader: more body bytes were appended, or the object ended. */
void cache_busy_notify(struct cache_busy_entry *e);
/* Leader: removes the entry from the table; later lookups use the tiers. */
void cache_busy_unindex(struct cache_busy *b, struct cache_busy_entry *e);

/* Reads the published outcome; *op gets a new object reference or NULL. */
enum cache_busy_state cache_busy_state(struct cache_busy_entry *e,
                                       struct cache_obj **op, int *status);

void cache_busy_wait(struct cache_busy_entry *e, struct cache_busy_waiter *w);
void cache_busy_unwait(struct cache_busy_entry *e, struct cache_busy_waiter *w);

struct cache_busy_entry *cache_busy_entry_ref(struct cache_busy_entry *e);
void cache_busy_entry_unref(struct cache_busy_entry **ep);

#endif
