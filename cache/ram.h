/*
 * RAM tier: COMPLETE objects indexed by (hash, key, vary_key) in a sharded
 * hash table, evicted by bytes with S3-FIFO (Yang et al., SOSP'23): a small
 * FIFO (~10% of a shard's bytes) that new objects enter, a main FIFO, and a
 * ghost of hashes evicted from the small FIFO. An object the ghost remembers
 * enters main directly. A hit bumps a 2-bit frequency; leaving small, an
 * object hit at least once moves to main (else its hash goes to the ghost);
 * leaving main, an object hit since its last lap is reinserted with its
 * frequency decremented (else it is evicted).
 *
 * Threads: every function may be called from any thread. A call locks the
 * one shard its hash selects (foreach and stats: each shard in turn); there
 * is no global lock and a lookup allocates nothing.
 *
 * Ownership: the tier holds one reference per indexed object and drops it
 * when the object is evicted, replaced or removed, after unlocking, so no
 * object is freed under a shard lock. Readers keep objects alive with the
 * references lookups return; evicting never waits for them.
 *
 * Budget: bytes are charged as obj->charge (set by cache_obj_finish) plus a
 * small per-entry overhead. Each of the N shards gets budget / N bytes and
 * never holds more after an insert returns. N is the largest power of two
 * up to 64 that leaves every shard max(1 MiB, 2 * max_object) bytes (1 when
 * the budget is smaller), so each shard holds a few of the largest objects.
 */
#ifndef CACHE_RAM_H
#define CACHE_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/obj.h"

#define CACHE_RAM_MAGIC 0x72616d31u

struct cache_ram;

struct cache_ram_stats {
    unsigned shards;
    size_t budget;       /* bytes, as configured */
    size_t bytes;        /* charged bytes held: small_bytes + main_bytes */
    size_t small_bytes;
    size_t main_bytes;
    uint64_t objects;    /* indexed objects (variants count one each) */
    uint64_t inserts;    /* successful inserts, replacements included */
    uint64_t replaces;   /* inserts that replaced the same key and vary_key */
    uint64_t variant_drops; /* oldest variants dropped for a key's newest */
    uint64_t ghost_hits; /* inserts that went straight to main */
    uint64_t evictions;  /* objects evicted for space */
    uint64_t removes;    /* objects removed by key, object or foreach */
    uint64_t hits;
    uint64_t misses;
};

/*
 * Variant selector for lookups. Runs under the shard lock: it must be short,
 * must not block and must not call into the tier.
 */
typedef bool cache_ram_match_fn(const struct cache_obj *o, void *arg);

/*
 * Purge visitor for cache_ram_foreach. Runs under the shard lock (same rules
 * as cache_ram_match_fn; it may cache_obj_ref the object to use it later).
 * Returns true to remove the object from the tier.
 */
typedef bool cache_ram_visit_fn(struct cache_obj *o, void *arg);

/*
 * Creates an empty tier of budget_bytes (> 0). Objects whose body is longer
 * than max_object_bytes, or whose charge exceeds one shard's budget, are
 * refused. Single owner: release with cache_ram_free.
 */
struct cache_ram *cache_ram_new(size_t budget_bytes, size_t max_object_bytes);
/* Drops every indexed object's reference and frees the tier; *rp = NULL. */
void cache_ram_free(struct cache_ram **rp);

/* The most variants (Vary) of one key the tier holds: a new one beyond it
 * replaces the key's oldest, so no client can make a key's lookups slow. */
#define CACHE_RAM_MAX_VARIANTS 64u

/*
 * Indexes o, which must be COMPLETE; the tier takes its own reference (the
 * caller keeps its own). An indexed object with the same key and vary_key is
 * replaced: it is unlinked and unref'd, and o takes over its queue and
 * frequency (a 304 refresh keeps an object's standing). Inserting an object
 * that is already indexed is a no-op; an object is indexed by at most one
 * tier at a time (o->tier is the tier's). Evicts until the shard fits o.
 * Returns 0, or -E2BIG when o is too large to keep (nothing changes then).
 */
int cache_ram_insert(struct cache_ram *r, struct cache_obj *o);

/*
 * Finds the variants of key (hash = its XXH3) and returns a new reference
 * to the first, newest first, for which match(o, arg) is true (match NULL:
 * any variant), bumping its frequency; NULL when none matches. *key_seen
 * (may be NULL) is set to whether any variant of the key is indexed, so the
 * caller can tell fwd=uri-miss from fwd=vary-miss.
 */
struct cache_obj *cache_ram_lookup(struct cache_ram *r, uint64_t hash, const char *key,
                                   size_t key_len, cache_ram_match_fn *match, void *arg,
                                   bool *key_seen);

/* Removes every variant of key; returns how many were removed. */
int cache_ram_remove_key(struct cache_ram *r, uint64_t hash, const char *key,
                         size_t key_len);
/* Removes o if that very object is still indexed; returns whether it was. */
bool cache_ram_remove_obj(struct cache_ram *r, struct cache_obj *o);

/*
 * Calls fn on every indexed object, one shard at a time under its lock, and
 * removes those for which fn returns true. Not a snapshot: objects inserted
 * meanwhile may or may not be visited. Returns how many were removed.
 */
size_t cache_ram_foreach(struct cache_ram *r, cache_ram_visit_fn *fn, void *arg);

/* Sums the shards' counters into *st (each shard read under its lock). */
void cache_ram_stats(const struct cache_ram *r, struct cache_ram_stats *st);

#endif
