/*
 * cache/lmdb_queue.c: what callers queue to the LMDB tier's writer
 * (contract in lmdb_tier.h; the queue itself is lmdb_writer.c's): stores,
 * removals and drops, and the set of removals not committed yet.
 *
 * A store larger than one write batch is queued as a fill (lmdb_fill.c)
 * whose ops copy their bytes from the object: written across several
 * commits under a fill marker, header last, so it is found only whole and
 * a crash leaves nothing. Such stores are bounded by max_fills, not by the
 * queue's limits.
 *
 * Removals are never refused: a full queue would lose an invalidation.
 * They bypass the count bound; memory stays bounded by the keys removed
 * meanwhile, because a removal of a key whose removal is still queued, with
 * no op of its hash queued since, is redundant and not queued again.
 * Until the writer commits a removal, lookups of its hash miss (pend set):
 * no variant stored before the removal reappears, while stores queued after
 * it become visible as they commit (the removal commits first, FIFO).
 *
 * Pend set: a hash table under the writer lock, allocated at the first
 * removal; npend (atomic) lets lookups skip the lock when it is empty.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache/lmdb_int.h"
#include "common/alloc.h"
#include "common/assert.h"

#define PEND_BUCKETS 256u

struct lmdb_pend {
  struct lmdb_pend *next;
  uint64_t hash;
  unsigned n;                 /* removals of hash queued, not yet done */
  const struct lmdb_op *open; /* the newest, while no op of hash followed */
};

/* Bytes a store may take on disk: records, checksums, index entries, page
 * slack. */
static uint64_t store_bytes(const struct cache_obj *o) {
  uint64_t body = cache_obj_body_len(o);

  return (lmdb_hdr_size(o) + body + 64u * lmdb_nchunks(body) + 2048u) / 4u * 5u;
}

int cache_lmdb_store(struct cache_lmdb *l, struct cache_obj *o,
                     uint64_t now_ms) {
  struct lmdb_op *op;
  uint64_t bytes;
  int rc;

  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  ASSERT(cache_obj_state(o) == CACHE_OBJ_COMPLETE);
  bytes = store_bytes(o);
  if (__atomic_load_n(&l->w.disabled, __ATOMIC_ACQUIRE))
    rc = -ENOSPC;
  else if (bytes > l->batch_bytes)
    rc = lmdb_fill_store(l, o, now_ms);
  else
    rc = 1;
  if (rc == -EAGAIN)
    LMDB_COUNT(l, store_queue_full, 1);
  else if (rc < 0)
    LMDB_COUNT(l, store_refused, 1);
  if (rc <= 0)
    return rc;
  op = xcalloc(1, sizeof *op);
  op->kind = LMDB_OP_STORE;
  op->obj = cache_obj_ref(o);
  op->hash = o->hash;
  op->now_ms = now_ms;
  op->bytes = (size_t)bytes;
  if ((rc = lmdb_queue_op(l, op)) != 0) {
    LMDB_COUNT(l, store_queue_full, 1);
    lmdb_op_free(op);
  }
  return rc;
}

int cache_lmdb_remove_key(struct cache_lmdb *l, uint64_t hash, const char *key,
                          size_t key_len) {
  struct lmdb_op *op;

  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  op = xcalloc(1, sizeof *op + key_len);
  op->kind = LMDB_OP_REMOVE_KEY;
  op->hash = hash;
  op->key_len = key_len;
  memcpy(op->key, key, key_len);
  if (lmdb_queue_op(l, op) != 0) /* -EALREADY: redundant; never -EAGAIN */
    lmdb_op_free(op);
  return 0;
}

/* A corrupt entry found by a reader; when the queue is full, a later read
 * retries. */
void lmdb_queue_drop(struct cache_lmdb *l, uint64_t hash, uint64_t id) {
  struct lmdb_op *op = xcalloc(1, sizeof *op);

  op->kind = LMDB_OP_DROP_ID;
  op->hash = hash;
  op->id = id;
  if (lmdb_queue_op(l, op) != 0)
    lmdb_op_free(op);
}

/* ---- removals not committed yet ---- */

static struct lmdb_pend **bucket(struct lmdb_writer *w, uint64_t hash) {
  return &w->pend[hash % PEND_BUCKETS];
}

static struct lmdb_pend *pend_find(struct lmdb_writer *w, uint64_t hash) {
  struct lmdb_pend *p;

  if (w->pend == NULL)
    return NULL;
  for (p = *bucket(w, hash); p != NULL && p->hash != hash; p = p->next)
    ;
  return p;
}

static bool same_key(const struct lmdb_op *a, const struct lmdb_op *b) {
  return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

bool lmdb_pend_note(struct cache_lmdb *l, const struct lmdb_op *op) {
  struct lmdb_writer *w = &l->w;
  struct lmdb_pend *p = pend_find(w, op->hash), **b;

  if (op->kind != LMDB_OP_REMOVE_KEY) {
    if (p != NULL) /* a later removal must run after this op */
      p->open = NULL;
    return true;
  }
  if (p != NULL && p->open != NULL && same_key(p->open, op))
    return false;
  if (p == NULL) {
    if (w->pend == NULL)
      w->pend = xcalloc(PEND_BUCKETS, sizeof *w->pend);
    b = bucket(w, op->hash);
    p = xcalloc(1, sizeof *p);
    p->hash = op->hash;
    p->next = *b;
    *b = p;
    __atomic_add_fetch(&w->npend, 1, __ATOMIC_SEQ_CST);
  }
  p->n++;
  p->open = op;
  return true;
}

void lmdb_pend_done(struct cache_lmdb *l, const struct lmdb_op *op) {
  struct lmdb_writer *w = &l->w;
  struct lmdb_pend **pp, *p;

  ASSERT(op->kind == LMDB_OP_REMOVE_KEY && w->pend != NULL);
  for (pp = bucket(w, op->hash); (p = *pp)->hash != op->hash; pp = &p->next)
    ;
  if (p->open == op) /* about to be freed */
    p->open = NULL;
  if (--p->n > 0)
    return;
  *pp = p->next;
  free(p);
  __atomic_sub_fetch(&w->npend, 1, __ATOMIC_SEQ_CST);
}

bool lmdb_pend_has(struct cache_lmdb *l, uint64_t hash) {
  struct lmdb_writer *w = &l->w;
  bool has;

  if (__atomic_load_n(&w->npend, __ATOMIC_SEQ_CST) == 0)
    return false;
  pthread_mutex_lock(&w->lock);
  has = pend_find(w, hash) != NULL;
  pthread_mutex_unlock(&w->lock);
  return has;
}

void lmdb_pend_free(struct cache_lmdb *l) {
  struct lmdb_writer *w = &l->w;

  for (unsigned i = 0; w->pend != NULL && i < PEND_BUCKETS; i++) {
    struct lmdb_pend *p, *next;

    for (p = w->pend[i]; p != NULL; p = next) {
      next = p->next;
      free(p);
    }
  }
  free(w->pend);
  w->pend = NULL;
  w->npend = 0;
}
