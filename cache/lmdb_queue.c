/*
 * cache/lmdb_queue.c: what callers queue to the LMDB tier's writer
 * (contract in lmdb_tier.h; the queue itself is lmdb_writer.c's): stores,
 * removals and drops.
 *
 * A store larger than one write batch is queued as a fill (lmdb_fill.c)
 * whose ops copy their bytes from the object: written across several
 * commits under a fill marker, header last, so it is found only whole and
 * a crash leaves nothing. Such stores are bounded by max_fills, not by the
 * queue's limits.

 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache/lmdb_int.h"
#include "common/alloc.h"
#include "common/assert.h"

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
  int rc;

  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  op = xcalloc(1, sizeof *op + key_len);
  op->kind = LMDB_OP_REMOVE_KEY;
  op->hash = hash;
  op->key_len = key_len;
  memcpy(op->key, key, key_len);
  if ((rc = lmdb_queue_op(l, op)) != 0)
    lmdb_op_free(op);
  return rc;
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
