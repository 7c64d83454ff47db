/*
 * cache/lmdb_ops.c: the LMDB tier's write operations above the primitives
 * of lmdb_tier.c (lookups are in lmdb_lookup.c): store, remove, drop,
 * touch, evict, and a fill's chunk, end and abort, composed into the two
 * kinds of txn the writer
 * thread runs: eviction ahead of a batch, and the batch itself. No LMDB
 * calls here; byte formats in lmdb_int.h.
 *
 * Space: when live bytes plus the batch would pass the high watermark,
 * lmdb_ops_make_room evicts (lru order) down to low minus the batch in a
 * txn of its own, then commits one more (stamp) txn, because LMDB reuses
 * the pages a txn frees only from the txn after next on. After a batch, if
 * live bytes still exceed high, it evicts in the batch's txn.
 *
 * Counters are added only once the txn that did the work has committed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache/lmdb_int.h"
#include "common/alloc.h"
#include "common/assert.h"

#define SCAN_IDS 16

struct tally {
  uint64_t stores, replaces, removes, evictions;
};

static void tally_add(struct cache_lmdb *l, const struct tally *t) {
  LMDB_COUNT(l, stores, t->stores);
  LMDB_COUNT(l, replaces, t->replaces);
  LMDB_COUNT(l, removes, t->removes);
  LMDB_COUNT(l, evictions, t->evictions);
}

/* Adds or deletes the urls and tags entries of object id. */
static int index_set(struct cache_lmdb *l, uint64_t id, const char *key,
                     size_t key_len, const char *head, size_t head_len,
                     bool add) {
  uint8_t ub[LMDB_KEY_MAX], idb[8];
  size_t un = lmdb_ukey(ub, key, key_len, id), tn;
  struct lmdb_tag_iter it;
  const char *t;
  int rc;

  lmdb_be64_put(idb, id);
  rc = add ? lmdb_w_put(l, LMDB_DB_URLS, ub, un, "", 0)
           : lmdb_w_del(l, LMDB_DB_URLS, ub, un, NULL, 0);
  lmdb_tag_iter_init(&it, head, head_len);
  while (rc == 0 && lmdb_tag_next(&it, &t, &tn)) {
    if (tn <= LMDB_KEY_MAX) /* longer tags are not indexed */
      rc = add ? lmdb_w_put(l, LMDB_DB_TAGS, t, tn, idb, 8)
               : lmdb_w_del(l, LMDB_DB_TAGS, t, tn, idb, 8);
  }
  return rc;
}

static int lru_set(struct cache_lmdb *l, uint64_t hash, uint64_t id,
                   uint64_t ms) {
  uint8_t lk[LMDB_LKEY_LEN], hv[8], ib[8], bv[LMDB_BYID_LEN];
  int rc;

  lmdb_lkey(lk, ms, id);
  lmdb_le64_put(hv, hash);
  lmdb_be64_put(ib, id);
  lmdb_le64_put(bv, hash);
  lmdb_le64_put(bv + 8, ms);
  rc = lmdb_w_put(l, LMDB_DB_LRU, lk, sizeof lk, hv, sizeof hv);
  return rc != 0 ? rc
                 : lmdb_w_put(l, LMDB_DB_BYID, ib, sizeof ib, bv, sizeof bv);
}

/* Reads id's byid entry: 0 with *hash and *ms, -ENOENT when none is valid. */
static int byid_get(struct cache_lmdb *l, uint64_t id, uint64_t *hash,
                    uint64_t *ms) {
  uint8_t ib[8];
  const void *v;
  size_t vn;
  int rc;

  lmdb_be64_put(ib, id);
  if ((rc = lmdb_w_get(l, LMDB_DB_BYID, ib, sizeof ib, &v, &vn)) != 0)
    return rc;
  if (vn != LMDB_BYID_LEN)
    return -ENOENT;
  *hash = lmdb_le64_get(v);
  *ms = lmdb_le64_get((const uint8_t *)v + 8);
  return 0;
}

static int lru_unset(struct cache_lmdb *l, uint64_t id) {
  uint8_t lk[LMDB_LKEY_LEN], ib[8];
  uint64_t hash, ms;
  int rc = byid_get(l, id, &hash, &ms);

  if (rc == 0) {
    lmdb_lkey(lk, ms, id);
    rc = lmdb_w_del(l, LMDB_DB_LRU, lk, sizeof lk, NULL, 0);
  }
  lmdb_be64_put(ib, id);
  if (rc == 0 || rc == -ENOENT)
    rc = lmdb_w_del(l, LMDB_DB_BYID, ib, sizeof ib, NULL, 0);
  return rc;
}

/* Deletes id's header and names its body records in a marker, which the
 * writer deletes with them once unpinned (or open, after a crash). */
static int orphan(struct cache_lmdb *l, uint64_t hash, uint64_t id) {
  uint8_t kb[LMDB_OKEY_LEN], mk[LMDB_FILL_KEY_LEN], hv[8];
  int rc;

  lmdb_okey(kb, hash, id, 0);
  if ((rc = lmdb_w_del(l, LMDB_DB_OBJECTS, kb, sizeof kb, NULL, 0)) != 0)
    return rc;
  lmdb_fill_mkey(mk, id);
  lmdb_le64_put(hv, hash);
  return lmdb_w_put(l, LMDB_DB_META, mk, sizeof mk, hv, sizeof hv);
}

/*
 * Deletes object id of hash: records, index entries, eviction entries. A
 * pinned object (being streamed) keeps its body records until its last
 * pin is dropped: lookups stop finding it at once all the same.
 */
static int delete_obj(struct cache_lmdb *l, uint64_t hash, uint64_t id) {
  bool unpinned = lmdb_pin_claim(l->pins, id, hash, true);
  uint8_t kb[LMDB_OKEY_LEN];
  struct lmdb_hdr h;
  const void *v;
  size_t vn;
  int rc;

  lmdb_okey(kb, hash, id, 0);
  rc = lmdb_w_get(l, LMDB_DB_OBJECTS, kb, sizeof kb, &v, &vn);
  if (rc == 0) {
    void *copy = xmalloc(vn); /* v is only valid until the next write */

    memcpy(copy, v, vn);
    if (lmdb_hdr_decode(&h, copy, vn) == 0)
      rc = index_set(l, id, h.key, h.key_len, h.head, h.head_len, false);
    free(copy);
  } else if (rc == -ENOENT) {
    rc = 0; /* debris: urls and tags entries, if any, stay dangling */
  }
  if (rc == 0)
    rc = lru_unset(l, id);
  if (rc != 0)
    return rc;
  return unpinned ? lmdb_w_del_records(l, hash, id) : orphan(l, hash, id);
}

/* Deletes the records of orphans whose last pin was dropped. */
static int delete_released(struct cache_lmdb *l) {
  struct lmdb_pin_rel rel[32];
  size_t n = lmdb_pin_released(l->pins, rel, 32);
  uint8_t mk[LMDB_FILL_KEY_LEN];
  int rc = 0;

  for (size_t i = 0; i < n && rc == 0; i++) {
    lmdb_fill_mkey(mk, rel[i].id);
    rc = lmdb_w_del_records(l, rel[i].hash, rel[i].id);
    if (rc == 0)
      rc = lmdb_w_del(l, LMDB_DB_META, mk, sizeof mk, NULL, 0);
  }
  return rc;
}

/*
 * Deletes the objects of hash with this key (and this vary_key when
 * variant, with the key's oldest other variants beyond
 * CACHE_LMDB_MAX_VARIANTS - 1, as the new one makes the count): returns how
 * many were deleted, or -errno. Unreadable headers met on the way are
 * deleted too. Headers come newest first.
 */
static int remove_matching(struct cache_lmdb *l, uint64_t hash, const char *key,
                           size_t key_len, const char *vk, size_t vk_len,
                           bool variant) {
  uint64_t ids[SCAN_IDS], below = UINT64_MAX, id;
  int n, matched = 0, rc;
  unsigned others = 0;
  struct lmdb_hdr h;
  const void *v;
  size_t vn;

  do {
    n = 0;
    while (n < SCAN_IDS &&
           (rc = lmdb_w_prev_header(l, hash, below, &id, &v, &vn)) == 0) {
      below = id;
      if (lmdb_hdr_decode(&h, v, vn) != 0) {
        ids[n++] = id;
      } else if (h.key_len == key_len && memcmp(h.key, key, key_len) == 0 &&
                 (!variant ||
                  (h.vary_key_len == vk_len &&
                   (vk_len == 0 || memcmp(h.vary_key, vk, vk_len) == 0)) ||
                  ++others >= CACHE_LMDB_MAX_VARIANTS)) {
        ids[n++] = id;
        matched++;
      }
    }
    if (rc != 0 && rc != -ENOENT)
      return rc;
    for (int i = 0; i < n; i++)
      if ((rc = delete_obj(l, hash, ids[i])) != 0)
        return rc;
  } while (n == SCAN_IDS);
  return matched;
}

/*
 * Deletes the stored objects of o's key and vary key (and unreadable
 * headers met on the way), which o is about to replace; counts them as
 * replaces. Returns 0 or -errno.
 */
static int remove_variant(struct cache_lmdb *l, const struct cache_obj *o,
                          struct tally *t) {
  int rc = remove_matching(l, o->hash, o->key, o->key_len, o->vary_key,
                           o->vary_key_len, true);

  if (rc < 0)
    return rc;
  t->replaces += (uint64_t)rc;
  return 0;
}

/* Writes o's header (record 0) as object id with a body of len bytes. */
static int put_header(struct cache_lmdb *l, const struct cache_obj *o,
                      uint64_t id, uint64_t len) {
  uint8_t kb[LMDB_OKEY_LEN];
  void *p;
  int rc;

  lmdb_okey(kb, o->hash, id, 0);
  if ((rc = lmdb_w_reserve(l, LMDB_DB_OBJECTS, kb, sizeof kb, lmdb_hdr_size(o),
                           &p)) != 0)
    return rc;
  lmdb_hdr_encode_len(p, o, id, len);
  return 0;
}

/* Makes object id of o findable (urls, tags) and evictable (lru, byid). */
static int index_add(struct cache_lmdb *l, const struct cache_obj *o,
                     uint64_t id, uint64_t now_ms) {
  int rc = index_set(l, id, o->key, o->key_len, o->head, o->head_len, true);

  return rc != 0 ? rc : lru_set(l, o->hash, id, now_ms);
}

/* Writes body chunk idx (record idx + 1) from the cursor. */
static int put_chunk(struct cache_lmdb *l, struct cache_obj *o,
                     struct cache_obj_cursor *oc, uint64_t id, uint32_t idx) {
  size_t n = lmdb_chunk_len(cache_obj_body_len(o), idx), got = 0;
  uint8_t kb[LMDB_OKEY_LEN];
  char *p;
  int rc;

  lmdb_okey(kb, o->hash, id, idx + 1);
  if ((rc = lmdb_w_reserve(l, LMDB_DB_OBJECTS, kb, sizeof kb,
                           LMDB_CHUNK_SUM + n, (void **)&p)) != 0)
    return rc;
  while (got < n) {
    struct cache_chunk *c;
    const char *run;
    size_t k = cache_obj_read(oc, o, &run, &c, n - got);

    ASSERT(k > 0); /* COMPLETE: every byte is published */
    memcpy(p + LMDB_CHUNK_SUM + got, run, k);
    got += k;
  }
  lmdb_chunk_seal(p, n, id, idx + 1);
  return 0;
}

static int store_obj(struct cache_lmdb *l, struct cache_obj *o, uint64_t now_ms,
                     struct tally *t) {
  uint32_t nchunks = lmdb_nchunks(cache_obj_body_len(o));
  struct cache_obj_cursor oc;
  uint64_t id;
  int rc;

  if ((rc = remove_variant(l, o, t)) != 0)
    return rc;
  id = lmdb_w_new_id(l);
  if ((rc = put_header(l, o, id, cache_obj_body_len(o))) != 0)
    return rc;
  cache_obj_cursor_init(&oc, o);
  for (uint32_t i = 0; i < nchunks && rc == 0; i++)
    rc = put_chunk(l, o, &oc, id, i);
  if (rc == 0)
    rc = index_add(l, o, id, now_ms);
  t->stores += rc == 0;
  return rc;
}

/* The fill's id, taken at its first op and published for its readers. */
static uint64_t fill_id(struct cache_lmdb *l, struct cache_lmdb_fill *f) {
  uint64_t id = __atomic_load_n(&f->id, __ATOMIC_RELAXED);

  if (id == 0) {
    id = lmdb_w_new_id(l);
    /* The fill pins its object for as long as it lives: its readers
     * stream it after it is complete too, and a fill may outlive l. */
    (void)lmdb_pin_take(l->pins, id, f->hash); /* a new id: never refused */
    f->pins = lmdb_pins_ref(l->pins);
    __atomic_store_n(&f->id, id, __ATOMIC_RELEASE);
  }
  return id;
}

/*
 * Writes op's chunk record (none when len is 0; from op->obj when rec is
 * NULL: lmdb_fill_store's) and, with marker, the
 * fill's marker: rewritten with every chunk, so the first txn to commit a
 * record of the fill always holds it.
 */
static int fill_put(struct cache_lmdb *l, struct lmdb_op *op, uint64_t id,
                    bool marker) {
  uint8_t kb[LMDB_OKEY_LEN], mk[LMDB_FILL_KEY_LEN], hv[8];
  int rc = 0;

  if (marker) {
    lmdb_fill_mkey(mk, id);
    lmdb_le64_put(hv, op->hash);
    rc = lmdb_w_put(l, LMDB_DB_META, mk, sizeof mk, hv, sizeof hv);
  }
  if (rc != 0 || op->len == 0)
    return rc;
  if (op->rec == NULL) { /* a stored object's chunk: copied from it here */
    struct cache_obj_cursor oc;
    bool ok = cache_obj_cursor_seek(&oc, op->obj,
                                    (uint64_t)op->idx * CACHE_CHUNK_SIZE);

    ASSERT(ok);
    return put_chunk(l, op->obj, &oc, id, op->idx);
  }
  lmdb_okey(kb, op->hash, id, op->idx + 1);
  lmdb_chunk_seal(op->rec, op->len, id, op->idx + 1);
  return lmdb_w_put(l, LMDB_DB_OBJECTS, kb, sizeof kb, op->rec,
                    LMDB_CHUNK_SUM + op->len);
}

/* The last chunk, the header and the indexes, replacing the same variant. */
static int fill_end(struct cache_lmdb *l, struct lmdb_op *op, struct tally *t) {
  struct cache_obj *o = op->fill->stub;
  uint64_t id = fill_id(l, op->fill);
  uint64_t len = (uint64_t)op->idx * CACHE_CHUNK_SIZE + op->len;
  uint8_t mk[LMDB_FILL_KEY_LEN];
  int rc;

  /* Before the tail: the scan must not meet an unmarked record of ours. */
  if ((rc = remove_variant(l, o, t)) != 0)
    return rc;
  if ((rc = fill_put(l, op, id, false)) != 0)
    return rc;
  if ((rc = put_header(l, o, id, len)) != 0)
    return rc;
  rc = index_add(l, o, id, op->now_ms);
  lmdb_fill_mkey(mk, id);
  return rc != 0 ? rc : lmdb_w_del(l, LMDB_DB_META, mk, sizeof mk, NULL, 0);
}

/* Deletes whatever the fill wrote: its records and its marker. */
static int fill_abort(struct cache_lmdb *l, struct lmdb_op *op) {
  uint64_t id = __atomic_load_n(&op->fill->id, __ATOMIC_RELAXED);
  uint8_t mk[LMDB_FILL_KEY_LEN];
  int rc;

  if (id == 0) /* the writer never wrote for it */
    return 0;
  if ((rc = lmdb_w_del_records(l, op->hash, id)) != 0)
    return rc;
  lmdb_fill_mkey(mk, id);
  return lmdb_w_del(l, LMDB_DB_META, mk, sizeof mk, NULL, 0);
}

/* Moves id's lru entry to ms (never backwards); gone objects are skipped. */
static int touch_one(struct cache_lmdb *l, uint64_t id, uint64_t ms) {
  uint8_t lk[LMDB_LKEY_LEN];
  uint64_t hash, old;
  int rc = byid_get(l, id, &hash, &old);

  if (rc == -ENOENT || (rc == 0 && ms <= old))
    return 0;
  if (rc != 0)
    return rc;
  lmdb_lkey(lk, old, id);
  rc = lmdb_w_del(l, LMDB_DB_LRU, lk, sizeof lk, NULL, 0);
  return rc != 0 ? rc : lru_set(l, hash, id, ms);
}

/* The smallest lru key above k (16 bytes, big-endian). */
static void lkey_next(uint8_t k[LMDB_LKEY_LEN]) {
  for (int i = LMDB_LKEY_LEN - 1; i >= 0 && ++k[i] == 0; i--)
    ;
}

/*
 * Evicts oldest-accessed objects until live bytes <= target or none is
 * left. Pinned objects (being streamed) are passed over: evicting them
 * would free nothing until their readers are done.
 */
static int evict(struct cache_lmdb *l, uint64_t target, struct tally *t) {
  uint8_t lk[LMDB_KEY_MAX], from[LMDB_LKEY_LEN];
  size_t kn, vn, fromlen = 0;
  const void *k, *v;
  uint64_t used;
  int rc;

  for (;;) {
    if ((rc = lmdb_w_usage(l, &used)) != 0 || used <= target)
      return rc;
    rc = lmdb_w_seek(l, LMDB_DB_LRU, from, fromlen, &k, &kn, &v, &vn);
    if (rc != 0)
      return rc == -ENOENT ? 0 : rc;
    memcpy(lk, k, kn);
    if (kn == LMDB_LKEY_LEN && vn == 8) {
      uint64_t hash = lmdb_le64_get(v), id = lmdb_be64_get(lk + 8);

      if (!lmdb_pin_claim(l->pins, id, hash, false)) {
        memcpy(from, lk, sizeof from);
        lkey_next(from);
        fromlen = sizeof from;
        continue;
      }
      if ((rc = delete_obj(l, hash, id)) != 0)
        return rc;
      t->evictions++;
    }
    if ((rc = lmdb_w_del(l, LMDB_DB_LRU, lk, kn, NULL, 0)) != 0)
      return rc;
  }
}

int lmdb_ops_make_room(struct cache_lmdb *l, uint64_t need, bool force) {
  struct tally t = {0};
  uint64_t used;
  int rc;

  if ((rc = lmdb_w_begin(l)) != 0)
    return rc;
  if ((rc = lmdb_w_usage(l, &used)) != 0 ||
      (!force && used + need <= l->high_bytes)) {
    lmdb_w_abort(l);
    return rc;
  }
  rc = evict(l, l->low_bytes > need ? l->low_bytes - need : 0, &t);
  if (rc != 0) {
    lmdb_w_abort(l);
    lmdb_pin_txn_end(l->pins, false);
    return rc;
  }
  rc = lmdb_w_commit(l);
  lmdb_pin_txn_end(l->pins, rc == 0);
  if (rc == 0 && (rc = lmdb_w_begin(l)) == 0)
    rc = lmdb_w_commit(l); /* the stamp txn: now the freed pages are reusable */
  if (rc == 0)
    tally_add(l, &t);
  return rc;
}

static int apply_op(struct cache_lmdb *l, struct lmdb_op *op, bool stores,
                    struct tally *t) {
  int rc = 0;

  switch (op->kind) {
  case LMDB_OP_STORE:
    if (stores)
      rc = store_obj(l, op->obj, op->now_ms, t);
    break;
  case LMDB_OP_REMOVE_KEY:
    rc = remove_matching(l, op->hash, op->key, op->key_len, NULL, 0, false);
    break;
  case LMDB_OP_DROP_ID:
    rc = delete_obj(l, op->hash, op->id);
    rc = rc == 0 ? 1 : rc;
    break;
  case LMDB_OP_FILL_CHUNK: /* skipped once failed: settled as dropped */
    if (!op->fill->w_dead)
      rc = fill_put(l, op, fill_id(l, op->fill), true);
    break;
  case LMDB_OP_FILL_END:
    if (!op->fill->w_dead)
      rc = fill_end(l, op, t);
    break;
  case LMDB_OP_FILL_ABORT:
    rc = fill_abort(l, op);
    break;
  }
  if (rc > 0)
    t->removes += (uint64_t)rc;
  return rc < 0 ? rc : 0;
}

int lmdb_ops_apply(struct cache_lmdb *l, struct lmdb_op *ops,
                   const struct lmdb_touch *touches, unsigned ntouches,
                   bool stores) {
  struct tally t = {0};
  uint64_t used;
  int rc;

  if ((rc = lmdb_w_begin(l)) != 0)
    return rc;
  rc = delete_released(l);
  for (struct lmdb_op *op = ops; op != NULL && rc == 0; op = op->next)
    rc = apply_op(l, op, stores, &t);
  for (unsigned i = 0; i < ntouches && rc == 0; i++)
    rc = touch_one(l, touches[i].id, touches[i].ms);
  if (rc == 0 && (rc = lmdb_w_usage(l, &used)) == 0 && used > l->high_bytes)
    rc = evict(l, l->low_bytes, &t);
  if (rc != 0) {
    lmdb_w_abort(l);
    lmdb_pin_txn_end(l->pins, false);
    return rc;
  }
  rc = lmdb_w_commit(l);
  lmdb_pin_txn_end(l->pins, rc == 0);
  if (rc == 0) {
    tally_add(l, &t);
    LMDB_COUNT(l, commits, 1);
  }
  return rc;
}
