/*
 * cache/lmdb_lookup.c: the LMDB tier's lookups (contract in lmdb_tier.h),
 * on any thread: a removal not yet committed hides its key, a hit records
 * its access (batched) and is counted, and a lookup for streaming pins what
 * it returns (lmdb_pin.c).
 */
#include "config.h"

#include "cache/lmdb_int.h"
#include "common/assert.h"

static struct cache_obj *lookup(struct cache_lmdb *l, uint64_t hash,
                                const char *key, size_t key_len,
                                cache_ram_match_fn *match, void *arg,
                                bool *key_seen, uint64_t now_ms,
                                struct cache_lmdb_ref *ref, bool body) {
  struct cache_obj *o = NULL;
  bool seen = false;

  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  /* A removal not committed yet hides the key, checked before the read
   * (whose snapshot may predate the commit) and after it (the removal may
   * have been asked meanwhile). */
  if (!lmdb_pend_has(l, hash)) {
    o = lmdb_env_find(l, hash, key, key_len, match, arg, &seen, ref, body);
    if (lmdb_pend_has(l, hash)) {
      if (o != NULL)
        cache_obj_unref(&o);
      seen = false;
    }
  }
  if (key_seen != NULL)
    *key_seen = seen;
  if (o == NULL) {
    LMDB_COUNT(l, misses, 1);
    return NULL;
  }
  LMDB_COUNT(l, hits, 1);
  lmdb_queue_touch(l, ref->id, now_ms);
  return o;
}

struct cache_obj *cache_lmdb_lookup(struct cache_lmdb *l, uint64_t hash,
                                    const char *key, size_t key_len,
                                    cache_ram_match_fn *match, void *arg,
                                    bool *key_seen, uint64_t now_ms) {
  struct cache_lmdb_ref ref;

  return lookup(l, hash, key, key_len, match, arg, key_seen, now_ms, &ref,
                true);
}

/*
 * The object found is pinned (lmdb_pin.c): gen read before the lookup's
 * read txn and again after the pin tells whether a deletion committed in
 * between; then the pin may have come too late, so it is dropped and the
 * key looked up again.
 */
struct cache_obj *cache_lmdb_lookup_head(struct cache_lmdb *l, uint64_t hash,
                                         const char *key, size_t key_len,
                                         cache_ram_match_fn *match, void *arg,
                                         bool *key_seen, uint64_t now_ms,
                                         struct cache_lmdb_ref *ref) {
  for (int tries = 0; tries < 4; tries++) {
    uint64_t gen = lmdb_pins_gen(l->pins);
    struct cache_obj *o = lookup(l, hash, key, key_len, match, arg, key_seen,
                                 now_ms, ref, false);

    if (o == NULL)
      return NULL;
    if (lmdb_pin_take(l->pins, ref->id, hash) == 0) {
      if (lmdb_pins_gen(l->pins) == gen)
        return o;
      lmdb_pin_drop(l->pins, ref->id);
    }
    cache_obj_unref(&o);
  }
  return NULL; /* deleted under our feet each time: a miss */
}
