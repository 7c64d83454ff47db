/*
 * cache/lmdb_fill.c: fills, the LMDB tier's incremental stores (contract in
 * lmdb_tier.h). The filler copies body bytes into a chunk buffer and queues
 * each full one to the writer (lmdb_writer.c), which writes it in its next
 * round (lmdb_ops.c); once that commits, the new committed length is
 * published here and the fill notified. No LMDB calls here. A COMPLETE
 * object too big for one write batch is stored as a fill too
 * (lmdb_fill_store: no filler, no notify; its ops read the object itself).
 *
 * Sides: begin, append and end run on the filler's thread; settle, fail_op
 * and notify_all on the writer thread; progress anywhere, lock-free. The
 * filler reaches the tier only under the fill's lock and while f->l is set;
 * the writer clears it once done with the fill (unregister), close clears
 * what is left: so a fill may outlive the tier.
 *
 * Lock order: a fill's lock, then the writer's. The writer never holds its
 * lock while taking a fill's; notifies run with neither held.
 *
 * Life: registered at begin (the tier's reference; at most max_fills). The
 * writer takes the id at the first op and rewrites the marker with every
 * chunk; END writes the header and deletes the marker; ABORT deletes the
 * records and the marker. A failure publishes FAILED once (counted,
 * notified) and leaves an ABORT to clean up. The fill is unregistered (tier
 * and stub released) when DONE, or once its ABORT ran or was dropped (the
 * writer dead, closing, another error than a full disk or map): then the
 * marker stays, and the next open deletes what the fill wrote.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "lmdb"
#include "cache/lmdb_int.h"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/log.h"

#define FILL_MAGIC 0x666c6c31u /* "fll1" */

/* ---- references ---- */

static void fill_free(struct cache_lmdb_fill *f) {
  ASSERT(!f->registered && !f->w_notify);
  if (f->stub != NULL) /* never registered, or detached with the tier gone */
    cache_obj_unref(&f->stub);
  if (f->pins != NULL) {
    lmdb_pin_drop(f->pins, f->id);
    lmdb_pins_unref(&f->pins);
  }
  free(f->buf);
  pthread_mutex_destroy(&f->lock);
  if (f->release != NULL)
    f->release(f->arg);
  f->magic = 0;
  free(f);
}

struct cache_lmdb_fill *cache_lmdb_fill_ref(struct cache_lmdb_fill *f) {
  CHECK_OBJ(f, FILL_MAGIC);
  __atomic_fetch_add(&f->refcnt, 1, __ATOMIC_RELAXED);
  return f;
}

void cache_lmdb_fill_unref(struct cache_lmdb_fill **fp) {
  struct cache_lmdb_fill *f = *fp;
  unsigned before;

  *fp = NULL;
  CHECK_OBJ(f, FILL_MAGIC);
  before = __atomic_fetch_sub(&f->refcnt, 1, __ATOMIC_ACQ_REL);
  ASSERT(before > 0);
  if (before == 1)
    fill_free(f);
}

/* ---- the filler's side ---- */

static int published_err(struct cache_lmdb_fill *f) {
  int err = __atomic_load_n(&f->err, __ATOMIC_ACQUIRE);

  return err != 0 ? err : -EIO;
}

/* Disk bytes an op may take, estimated as for a store. */
static size_t op_bytes(size_t hdr, size_t len) {
  return (hdr + len + 64u + (hdr > 0 ? 2048u : 0)) / 4u * 5u;
}

static struct lmdb_op *op_new(struct cache_lmdb_fill *f,
                              enum lmdb_op_kind kind) {
  struct lmdb_op *op = xcalloc(1, sizeof *op);

  op->kind = kind;
  op->fill = cache_lmdb_fill_ref(f);
  op->hash = f->hash;
  op->now_ms = f->now_ms;
  return op;
}

/* Turns a fill's chunk or end into its abort: its bytes are dropped. */
static void make_abort(struct lmdb_op *op, int err) {
  free(op->rec);
  op->rec = NULL;
  op->kind = LMDB_OP_FILL_ABORT;
  op->len = 0;
  op->bytes = 0;
  op->err = err;
}

/*
 * Queues op (consumed either way) while the tier has the fill. 0; -ENOSPC
 * while writes are disabled (op queued as the fill's abort); else the error
 * the writer or close failed the fill with: nothing queued.
 */
static int queue(struct cache_lmdb_fill *f, struct lmdb_op *op) {
  int rc = 0;

  pthread_mutex_lock(&f->lock);
  if (f->l == NULL || f->final_queued) {
    rc = published_err(f);
  } else {
    if (op->kind != LMDB_OP_FILL_ABORT &&
        __atomic_load_n(&f->l->w.disabled, __ATOMIC_ACQUIRE)) {
      make_abort(op, -ENOSPC);
      rc = -ENOSPC;
    }
    f->final_queued = op->kind != LMDB_OP_FILL_CHUNK;
    if (op->kind == LMDB_OP_FILL_CHUNK)
      __atomic_add_fetch(&f->inflight, op->len, __ATOMIC_RELAXED);
    (void)lmdb_queue_op(f->l, op); /* fill ops are never refused */
    op = NULL;
  }
  pthread_mutex_unlock(&f->lock);
  if (op != NULL)
    lmdb_op_free(op);
  return rc;
}

/* 0, or the error every append returns from now on. */
static int filler_err(struct cache_lmdb_fill *f) {
  if (f->ferr == 0 &&
      __atomic_load_n(&f->state, __ATOMIC_ACQUIRE) == CACHE_LMDB_FILL_FAILED)
    f->ferr = published_err(f);
  return f->ferr;
}

/* A failure the filler found (the size limit): the writer cleans up. */
static int filler_fail(struct cache_lmdb_fill *f, int err) {
  struct lmdb_op *op = op_new(f, LMDB_OP_FILL_ABORT);

  op->err = err;
  (void)queue(f, op); /* refused when the writer or close failed it first */
  free(f->buf);
  f->buf = NULL;
  f->buf_len = 0;
  return f->ferr = err;
}

static int queue_chunk(struct cache_lmdb_fill *f) {
  struct lmdb_op *op = op_new(f, LMDB_OP_FILL_CHUNK);
  int rc;

  op->rec = f->buf;
  op->idx = f->nqueued;
  op->len = CACHE_CHUNK_SIZE;
  op->bytes = op_bytes(0, CACHE_CHUNK_SIZE);
  f->buf = NULL;
  f->buf_len = 0;
  if ((rc = queue(f, op)) == 0)
    f->nqueued++;
  return rc;
}

int cache_lmdb_fill_append(struct cache_lmdb_fill *f, const void *p, size_t n) {
  const uint8_t *s = p;
  int rc;

  CHECK_OBJ(f, FILL_MAGIC);
  ASSERT(!f->ended);
  if ((rc = filler_err(f)) != 0)
    return rc;
  if (n > f->max_bytes - f->appended)
    return filler_fail(f, -E2BIG);
  while (n > 0) {
    size_t k = CACHE_CHUNK_SIZE - f->buf_len;

    if (f->buf == NULL)
      f->buf = xmalloc(LMDB_CHUNK_SUM + CACHE_CHUNK_SIZE);
    k = k < n ? k : n;
    memcpy(f->buf + LMDB_CHUNK_SUM + f->buf_len, s, k);
    f->buf_len += k;
    f->appended += k;
    s += k;
    n -= k;
    if (f->buf_len == CACHE_CHUNK_SIZE && (rc = queue_chunk(f)) != 0)
      return f->ferr = rc;
  }
  return __atomic_load_n(&f->inflight, __ATOMIC_RELAXED) >=
         CACHE_LMDB_FILL_INFLIGHT;
}

void cache_lmdb_fill_end(struct cache_lmdb_fill *f, bool complete) {
  struct lmdb_op *op;

  CHECK_OBJ(f, FILL_MAGIC);
  ASSERT(!f->ended);
  f->ended = true;
  if (filler_err(f) != 0) /* its abort is queued or done */
    return;
  op = op_new(f, complete ? LMDB_OP_FILL_END : LMDB_OP_FILL_ABORT);
  if (complete && f->buf_len > 0) {
    op->rec = f->buf;
    f->buf = NULL;
  }
  op->idx = f->nqueued;
  op->len = complete ? (uint32_t)f->buf_len : 0;
  op->bytes = complete ? op_bytes(f->hdr_bytes, op->len) : 0;
  op->err = -ECANCELED;
  free(f->buf);
  f->buf = NULL;
  f->buf_len = 0;
  f->ferr = queue(f, op);
}

enum cache_lmdb_fill_state cache_lmdb_fill_progress(struct cache_lmdb_fill *f,
                                                    uint64_t *committed,
                                                    struct cache_lmdb_ref *ref,
                                                    bool *inflight_ok) {
  enum cache_lmdb_fill_state st;
  uint64_t c, id;
  uint32_t n;

  CHECK_OBJ(f, FILL_MAGIC);
  st = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
  c = __atomic_load_n(&f->committed, __ATOMIC_ACQUIRE);
  id = __atomic_load_n(&f->id, __ATOMIC_ACQUIRE);
  n = st == CACHE_LMDB_FILL_DONE ? lmdb_nchunks(c)
                                 : (uint32_t)(c / CACHE_CHUNK_SIZE);
  if (st != CACHE_LMDB_FILL_DONE) /* whole chunks only, even if DONE is near */
    c = (uint64_t)n * CACHE_CHUNK_SIZE;
  if (ref != NULL) /* before *committed, which may alias ref->body_len */
    *ref = (struct cache_lmdb_ref){f->hash, id, c, n};
  if (committed != NULL)
    *committed = c;
  if (inflight_ok != NULL)
    *inflight_ok = st == CACHE_LMDB_FILL_OPEN &&
                   __atomic_load_n(&f->inflight, __ATOMIC_RELAXED) <
                       CACHE_LMDB_FILL_INFLIGHT;
  return st;
}

/* ---- beginning ---- */

static struct cache_lmdb_fill *
fill_new(struct cache_lmdb *l, struct cache_obj *stub, uint64_t now_ms) {
  struct cache_lmdb_fill *f = xcalloc(1, sizeof *f);

  f->magic = FILL_MAGIC;
  f->refcnt = 2; /* the caller's and the tier's */
  f->hash = stub->hash;
  f->now_ms = now_ms;
  f->max_bytes = l->cf.max_fill_bytes;
  f->hdr_bytes = lmdb_hdr_size(stub);
  f->state = CACHE_LMDB_FILL_OPEN;
  pthread_mutex_init(&f->lock, NULL);
  f->l = l;
  f->stub = cache_obj_ref(stub);
  return f;
}

/* Adds f to the tier's fills; false when max_fills are open. */
static bool fill_register(struct cache_lmdb *l, struct cache_lmdb_fill *f) {
  struct lmdb_writer *w = &l->w;
  bool ok;

  pthread_mutex_lock(&w->lock);
  ok = w->nfills < l->cf.max_fills;
  if (ok) {
    f->next = w->fills;
    if (w->fills != NULL)
      w->fills->prev = f;
    w->fills = f;
    w->nfills++;
    f->registered = true;
  }
  pthread_mutex_unlock(&w->lock);
  return ok;
}

struct cache_lmdb_fill *
cache_lmdb_fill_begin(struct cache_lmdb *l, struct cache_obj *stub,
                      uint64_t expected_len, uint64_t now_ms,
                      cache_lmdb_fill_notify_fn *notify,
                      void (*release)(void *arg), void *arg, int *err) {
  struct cache_lmdb_fill *f;

  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  CHECK_OBJ(stub, CACHE_OBJ_MAGIC);
  if (expected_len != CACHE_LEN_UNKNOWN && expected_len > l->cf.max_fill_bytes)
    *err = -E2BIG;
  else if (__atomic_load_n(&l->w.disabled, __ATOMIC_ACQUIRE))
    *err = -ENOSPC;
  else
    *err = 0;
  if (*err != 0) {
    LMDB_COUNT(l, store_refused, 1);
    return NULL;
  }
  f = fill_new(l, stub, now_ms);
  f->notify = notify;
  f->release = release;
  f->arg = arg;
  if (!fill_register(l, f)) {
    LMDB_COUNT(l, store_queue_full, 1);
    f->release = NULL; /* nothing was taken */
    fill_free(f);
    *err = -EAGAIN;
    return NULL;
  }
  LMDB_COUNT(l, fills_started, 1);
  return f;
}

/*
 * Every op at once, with no copy: each takes a reference on o and the
 * writer copies its chunk from o (fill_put). The first op queued decides:
 * -ENOSPC when writes were disabled meanwhile (its abort is queued).
 */
int lmdb_fill_store(struct cache_lmdb *l, struct cache_obj *o,
                    uint64_t now_ms) {
  uint64_t len = cache_obj_body_len(o);
  uint32_t full = (uint32_t)(len / CACHE_CHUNK_SIZE);
  struct cache_lmdb_fill *f;
  int rc = 0;

  if (len > l->cf.max_fill_bytes)
    return -E2BIG;
  f = fill_new(l, o, now_ms);
  f->store = true;
  if (!fill_register(l, f)) {
    fill_free(f);
    return -EAGAIN;
  }
  for (uint32_t i = 0; i <= full && rc == 0; i++) {
    struct lmdb_op *op = op_new(f, i < full ? LMDB_OP_FILL_CHUNK
                                            : LMDB_OP_FILL_END);

    op->obj = cache_obj_ref(o);
    op->idx = i;
    op->len = i < full ? CACHE_CHUNK_SIZE : (uint32_t)(len % CACHE_CHUNK_SIZE);
    op->bytes = op_bytes(i < full ? 0 : f->hdr_bytes, op->len);
    rc = queue(f, op); /* an error after the first: the writer failed it */
    if (i == 0 && rc != 0) {
      cache_lmdb_fill_unref(&f);
      return rc;
    }
  }
  f->ended = true;
  cache_lmdb_fill_unref(&f);
  return 0;
}

/* ---- the writer's side ---- */

static void mark_notify(struct cache_lmdb *l, struct cache_lmdb_fill *f) {
  if (f->w_notify)
    return;
  f->w_notify = true;
  f->w_nnext = l->w.notify;
  l->w.notify = cache_lmdb_fill_ref(f);
}

void lmdb_fill_notify_all(struct cache_lmdb *l) {
  struct cache_lmdb_fill *f;

  while ((f = l->w.notify) != NULL) {
    l->w.notify = f->w_nnext;
    f->w_nnext = NULL;
    f->w_notify = false;
    if (f->notify != NULL)
      f->notify(f->arg);
    cache_lmdb_fill_unref(&f);
  }
}

/* Publishes FAILED, once: counted and notified. */
static void fail(struct cache_lmdb *l, struct cache_lmdb_fill *f, int err) {
  if (f->w_dead)
    return;
  f->w_dead = true;
  __atomic_store_n(&f->err, err, __ATOMIC_RELAXED);
  __atomic_store_n(&f->state, CACHE_LMDB_FILL_FAILED, __ATOMIC_RELEASE);
  if (f->store)
    LMDB_COUNT(l, store_dropped, 1);
  else
    LMDB_COUNT(l, fills_failed, 1);
  mark_notify(l, f);
}

/* Called under the writer lock (or with the writer gone). */
static void fills_unlink(struct lmdb_writer *w, struct cache_lmdb_fill *f) {
  if (f->prev != NULL)
    f->prev->next = f->next;
  else
    w->fills = f->next;
  if (f->next != NULL)
    f->next->prev = f->prev;
  f->prev = f->next = NULL;
  f->registered = false;
  w->nfills--;
}

/* Cuts f from the tier: the filler no longer reaches it; stub and the
 * tier's reference go. */
static void detach(struct cache_lmdb_fill *f) {
  struct cache_obj *stub = f->stub;

  pthread_mutex_lock(&f->lock);
  f->l = NULL;
  pthread_mutex_unlock(&f->lock);
  f->stub = NULL;
  if (stub != NULL) /* may hold the fill (the edge's body): not the last */
    cache_obj_unref(&stub);
  cache_lmdb_fill_unref(&f);
}

static void unregister(struct cache_lmdb *l, struct cache_lmdb_fill *f) {
  struct lmdb_writer *w = &l->w;
  bool was;

  pthread_mutex_lock(&w->lock);
  if ((was = f->registered))
    fills_unlink(w, f);
  pthread_mutex_unlock(&w->lock);
  if (was)
    detach(f);
}

/* What a failed round means for a fill. */
static int fill_err(int rc) {
  if (rc == LMDB_E_MAPFULL)
    return -ENOBUFS;
  if (rc == -EIO || rc == -ENOSPC || rc == -EDQUOT || rc == -EFBIG)
    return -ENOSPC;
  return -EIO;
}

bool lmdb_fill_fail_op(struct cache_lmdb *l, struct lmdb_op *op, int err) {
  if (op->fill->w_dead)
    return false;
  fail(l, op->fill, err);
  make_abort(op, err);
  return true;
}

/* A committed chunk or end: publish it. */
static void committed(struct cache_lmdb *l, struct lmdb_op *op) {
  struct cache_lmdb_fill *f = op->fill;

  if (op->kind == LMDB_OP_FILL_CHUNK) {
    __atomic_add_fetch(&f->committed, op->len, __ATOMIC_RELEASE);
    __atomic_sub_fetch(&f->inflight, op->len, __ATOMIC_RELAXED);
    mark_notify(l, f);
    return;
  }
  __atomic_store_n(&f->committed,
                   (uint64_t)op->idx * CACHE_CHUNK_SIZE + op->len,
                   __ATOMIC_RELEASE);
  __atomic_store_n(&f->state, CACHE_LMDB_FILL_DONE, __ATOMIC_RELEASE);
  if (f->store)
    LMDB_COUNT(l, stores, 1);
  else
    LMDB_COUNT(l, fills_done, 1);
  mark_notify(l, f);
  unregister(l, f);
}

bool lmdb_fill_settle(struct cache_lmdb *l, struct lmdb_op *op, int rc,
                      bool keep) {
  struct cache_lmdb_fill *f = op->fill;

  if (op->kind == LMDB_OP_FILL_ABORT) {
    fail(l, f, op->err);
    if (rc != 0 && keep)
      return true;
  } else if (f->w_dead) {
    return false; /* skipped: the fill's abort does the rest */
  } else if (rc == 0) {
    committed(l, op);
    return false;
  } else if (keep) {
    return lmdb_fill_fail_op(l, op, fill_err(rc));
  } else {
    fail(l, f, fill_err(rc));
  }
  unregister(l, f);
  return false;
}

/* Queues the abort of every fill not ended; the writer still drains. */
void lmdb_fill_close(struct cache_lmdb *l) {
  struct lmdb_writer *w = &l->w;
  struct cache_lmdb_fill **fs, *f;
  unsigned n = 0, cut = 0;

  pthread_mutex_lock(&w->lock);
  fs = xmalloc((w->nfills + 1) * sizeof *fs);
  for (f = w->fills; f != NULL; f = f->next)
    fs[n++] = cache_lmdb_fill_ref(f);
  pthread_mutex_unlock(&w->lock);
  for (unsigned i = 0; i < n; i++) {
    pthread_mutex_lock(&fs[i]->lock);
    if (fs[i]->l != NULL && !fs[i]->final_queued) {
      struct lmdb_op *op = op_new(fs[i], LMDB_OP_FILL_ABORT);

      op->err = -EIO;
      fs[i]->final_queued = true;
      (void)lmdb_queue_op(l, op);
      cut++;
    }
    pthread_mutex_unlock(&fs[i]->lock);
    cache_lmdb_fill_unref(&fs[i]);
  }
  free(fs);
  if (cut > 0)
    log_warn("%s: close: %u unfinished fills dropped", l->path, cut);
}

/* With the writer gone: whatever it left registered fails here. */
void lmdb_fill_detach_all(struct cache_lmdb *l) {
  struct cache_lmdb_fill *f;

  while ((f = l->w.fills) != NULL) {
    fills_unlink(&l->w, f);
    fail(l, f, -EIO);
    detach(f);
  }
  lmdb_fill_notify_all(l);
}

/* ---- crash recovery ---- */

/* Deletes the first fill marker left and its records; -ENOENT: none left. */
static int clean_one(struct cache_lmdb *l) {
  const size_t pn = sizeof LMDB_FILL_PREFIX - 1;
  uint8_t kb[LMDB_KEY_MAX];
  const void *k, *v;
  size_t kn, vn;
  int rc = lmdb_w_seek(l, LMDB_DB_META, LMDB_FILL_PREFIX, pn, &k, &kn, &v, &vn);

  if (rc != 0)
    return rc;
  if (kn < pn || kn > sizeof kb || memcmp(k, LMDB_FILL_PREFIX, pn) != 0)
    return -ENOENT;
  memcpy(kb, k, kn); /* k and v are borrowed until the next write */
  if (kn == LMDB_FILL_KEY_LEN && vn == 8 &&
      (rc = lmdb_w_del_records(l, lmdb_le64_get(v), lmdb_be64_get(kb + pn))) !=
          0)
    return rc;
  return lmdb_w_del(l, LMDB_DB_META, kb, kn, NULL, 0);
}

static int recover(struct cache_lmdb *l, uint64_t *n) {
  int rc = lmdb_w_begin(l);

  if (rc != 0)
    return rc;
  while ((rc = clean_one(l)) == 0)
    (*n)++;
  if (rc == -ENOENT && *n > 0)
    return lmdb_w_commit(l);
  lmdb_w_abort(l);
  return rc == -ENOENT ? 0 : rc;
}

void lmdb_fill_recover(struct cache_lmdb *l) {
  uint64_t n = 0;
  int rc = recover(l, &n);

  if (rc != 0) { /* lookups skip marked records; the next open retries */
    log_err("%s: unfinished fills not deleted: %s", l->path, strerror(-rc));
    return;
  }
  if (n == 0)
    return;
  LMDB_COUNT(l, fills_cleaned, n);
  log_warn("%s: deleted %" PRIu64 " unfinished fills (crash)", l->path, n);
}
