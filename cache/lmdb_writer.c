/*
 * cache/lmdb_writer.c: the LMDB tier's lifecycle, its write queue and the
 * writer thread (contract in lmdb_tier.h). No LMDB calls here: the write
 * txn is driven through the lmdb_w_* primitives of lmdb_tier.c.
 *
 * Queue: stores, removals and drops (corrupt entries found by readers) in
 * FIFO order, bounded by count and by pending store bytes; fill ops
 * (lmdb_fill.c) bypass both bounds, being bounded per fill, and so do
 * removals, never refused (lmdb_queue.c: one per key while it is the newest
 * op of its hash; lookups skip the key until its removal is committed;
 * finish takes it off that set after the commit); access times
 * ("touches") in a separate fixed array drained at most once per sync
 * interval (or by a flush). When a queue is full the caller is told
 * (-EAGAIN) or the touch is dropped: nobody waits for the writer.
 *
 * Round: the writer takes up to batch_bytes of stores (half the gap
 * between the watermarks) plus everything else queued, and runs them
 * through lmdb_ops.c: eviction ahead if needed, then one txn (group
 * commit). MDB_MAP_FULL: abort, evict harder, retry once; then drop the
 * stores and keep the rest for the next round.
 *
 * Disk full (EIO, ENOSPC, EDQUOT, EFBIG on any write): abort, drop every
 * queued store (counted), keep removals, refuse stores (-ENOSPC) and retry
 * after retry_ms: a round then runs even with nothing queued (a probe: its
 * commit writes next_id); writes resume once a commit succeeds. Logged
 * once when writes stop and once when they resume.
 * MDB_PANIC stops writes for good (reads may fail too: reopen needed).
 * A fill whose chunk or end is dropped fails; that op becomes the fill's
 * abort, a removal. Once stopping, failed removals are not kept (a full
 * disk must not hold close up; fill markers are cleaned at the next open).
 *
 * Counters are added only once the txn that did the work has committed.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_MOD "lmdb"
#include "cache/lmdb_int.h"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/log.h"

#define TOUCH_CAP 4096u

struct batch {
  struct lmdb_op *ops;
  struct lmdb_touch touches[TOUCH_CAP];
  unsigned ntouches;
  uint64_t bytes, seq;
  bool stopping; /* the last rounds: nothing is kept for later */
};

static bool disk_error(int rc) {
  return rc == -EIO || rc == -ENOSPC || rc == -EDQUOT || rc == -EFBIG;
}

void lmdb_op_free(struct lmdb_op *op) {
  if (op->obj != NULL)
    cache_obj_unref(&op->obj);
  if (op->fill != NULL)
    cache_lmdb_fill_unref(&op->fill);
  free(op->rec);
  free(op);
}

static void free_ops(struct lmdb_op *op) {
  struct lmdb_op *next;

  for (; op != NULL; op = next) {
    next = op->next;
    lmdb_op_free(op);
  }
}

/* Counts op into (in) or out of the queue; called locked. */
static void account(struct lmdb_writer *w, const struct lmdb_op *op, bool in) {
  bool fill = lmdb_op_is_fill(op);

  if (in) {
    w->nops++;
    w->nfill += fill;
    w->bytes += fill ? 0 : op->bytes;
  } else {
    w->nops--;
    w->nfill -= fill;
    w->bytes -= fill ? 0 : op->bytes;
  }
}

/* Takes the next round off the queue; called locked. */
static void grab(struct cache_lmdb *l, struct batch *b, uint64_t now) {
  struct lmdb_writer *w = &l->w;
  struct lmdb_op **tail = &b->ops;

  b->ops = NULL;
  b->bytes = 0;
  while (w->head != NULL &&
         (b->bytes == 0 || b->bytes + w->head->bytes <= l->batch_bytes)) {
    struct lmdb_op *op = w->head;

    w->head = op->next;
    op->next = NULL;
    *tail = op;
    tail = &op->next;
    b->bytes += op->bytes;
    account(w, op, false);
  }
  if (w->head == NULL)
    w->tailp = &w->head;
  b->seq = w->head != NULL ? w->head->seq - 1 : w->seq;
  b->stopping = w->stop;
  memcpy(b->touches, w->touches, w->ntouches * sizeof *w->touches);
  b->ntouches = w->ntouches;
  w->ntouches = 0;
  w->touch_due_ms = now + l->cf.sync_interval_ms;
}

/* Whether a disk-full drop takes op off the queue. */
static bool drops(struct cache_lmdb *l, struct lmdb_op *op) {
  switch (op->kind) {
  case LMDB_OP_STORE:
    return true;
  case LMDB_OP_FILL_CHUNK:
  case LMDB_OP_FILL_END:
    return !lmdb_fill_fail_op(l, op, -ENOSPC);
  default:
    return false;
  }
}

/*
 * Drops every queued store (disk full); called locked. Returns how many.
 * A fill's first op becomes its abort in place; its other ops go to *gone,
 * freed by the caller once unlocked (the last reference may be theirs).
 */
static uint64_t drop_queued_stores(struct cache_lmdb *l,
                                   struct lmdb_op **gone) {
  struct lmdb_writer *w = &l->w;
  struct lmdb_op **pp = &w->head, *op;
  uint64_t n = 0;

  while ((op = *pp) != NULL) {
    if (!drops(l, op)) {
      pp = &op->next;
      continue;
    }
    *pp = op->next;
    account(w, op, false);
    if (lmdb_op_is_fill(op)) {
      op->next = *gone;
      *gone = op;
      continue;
    }
    lmdb_op_free(op);
    n++;
  }
  w->tailp = pp;
  return n;
}

/* Puts the kept ops (tail at kt) back at the front, in order; called locked.
 */
static void requeue(struct lmdb_writer *w, struct lmdb_op *keep,
                    struct lmdb_op **kt) {
  if (keep == NULL)
    return;
  for (struct lmdb_op *op = keep; op != NULL; op = op->next)
    account(w, op, true); /* before the link: the queue is counted already */
  *kt = w->head;
  if (w->head == NULL)
    w->tailp = kt;
  w->head = keep;
}

/*
 * Ends a round that returned rc: requeues the batch's removals (keep) or
 * frees them; stores go (counted when rc != 0); fill ops are settled.
 * Fills are notified before a flusher can see the round done.
 */
static void finish(struct cache_lmdb *l, struct batch *b, int rc, bool keep) {
  struct lmdb_writer *w = &l->w;
  struct lmdb_op *op, *next, *kept = NULL, **kt = &kept, *gone = NULL;
  uint64_t dropped = 0;

  for (op = b->ops; op != NULL; op = next) {
    next = op->next;
    op->next = NULL;
    if (lmdb_op_is_fill(op) ? lmdb_fill_settle(l, op, rc, keep)
                            : keep && op->kind != LMDB_OP_STORE) {
      *kt = op;
      kt = &op->next;
    } else if (op->kind == LMDB_OP_REMOVE_KEY) {
      op->next = gone; /* committed or dropped: off the pending set below */
      gone = op;
    } else {
      dropped += rc != 0 && op->kind == LMDB_OP_STORE;
      lmdb_op_free(op);
    }
  }
  pthread_mutex_lock(&w->lock);
  for (op = gone; op != NULL; op = op->next)
    lmdb_pend_done(l, op);
  requeue(w, kept, kt);
  if (w->disabled)
    dropped += drop_queued_stores(l, &gone);
  pthread_mutex_unlock(&w->lock);
  lmdb_fill_notify_all(l);
  free_ops(gone);
  pthread_mutex_lock(&w->lock);
  LMDB_COUNT(l, store_dropped, dropped); /* before a flusher can look */
  if (b->seq > w->done_seq)
    w->done_seq = b->seq;
  pthread_cond_broadcast(&w->done);
  pthread_mutex_unlock(&w->lock);
}

static void set_disabled(struct cache_lmdb *l, int rc) {
  struct lmdb_writer *w = &l->w;

  LMDB_COUNT(l, disk_errors, 1);
  w->retry_at_ms = clock_mono_ms() + l->cf.retry_ms;
  if (!__atomic_load_n(&w->disabled, __ATOMIC_RELAXED))
    log_err("%s: write failed (%s): writes stop, stores are dropped, retry "
            "every %u ms",
            l->path, strerror(-rc), l->cf.retry_ms);
  __atomic_store_n(&w->disabled, true, __ATOMIC_RELEASE);
}

static void run(struct cache_lmdb *l, struct batch *b) {
  struct lmdb_writer *w = &l->w;
  int rc = w->dead ? -ENOTRECOVERABLE : lmdb_ops_make_room(l, b->bytes, false);

  if (w->disabled) /* a probe: the next one is due after retry_ms, however
                      this one fails */
    w->retry_at_ms = clock_mono_ms() + l->cf.retry_ms;
  if (rc == 0)
    rc = lmdb_ops_apply(l, b->ops, b->touches, b->ntouches, true);
  if (rc == LMDB_E_MAPFULL) {
    LMDB_COUNT(l, map_full, 1);
    rc = lmdb_ops_make_room(l, 2 * b->bytes + l->batch_bytes, true);
    if (rc == 0 && (rc = lmdb_ops_apply(l, b->ops, b->touches, b->ntouches,
                                        true)) == LMDB_E_MAPFULL) {
      LMDB_COUNT(l, map_full, 1);
      finish(l, b, rc, !b->stopping); /* the stores go; the rest is retried */
      return;
    }
  }
  if (rc == -ENOTRECOVERABLE && !w->dead) {
    w->dead = true;
    __atomic_store_n(&w->disabled, true, __ATOMIC_RELEASE);
    log_err("%s: LMDB panic: writes stop until restart", l->path);
  } else if (disk_error(rc)) {
    set_disabled(l, rc);
  } else if (rc != 0) {
    log_err("%s: write batch dropped: %s", l->path, strerror(-rc));
  } else if (__atomic_load_n(&w->disabled, __ATOMIC_RELAXED)) {
    __atomic_store_n(&w->disabled, false, __ATOMIC_RELEASE);
    log_info("%s: writes resumed", l->path);
  }
  w->dirty = w->dirty || (rc == 0 && l->cf.durability != CACHE_LMDB_SYNC);
  finish(l, b, rc, disk_error(rc) && !b->stopping);
}

/* What the writer waits for; called locked. 0: go now; else a deadline (or
 * UINT64_MAX). */
static uint64_t next_wake(struct cache_lmdb *l, uint64_t now, bool *round) {
  struct lmdb_writer *w = &l->w;
  bool off = w->disabled && !w->dead && !w->stop;
  uint64_t at = UINT64_MAX;

  *round = false;
  if (w->hold && !w->stop)
    return at;
  if (off && now < w->retry_at_ms)
    return w->retry_at_ms;
  /* Back-off over: a round runs even with nothing queued, as a probe (every
   * commit writes next_id), since stores are refused until one commits. */
  if (off || w->nops > 0 || (w->ntouches > 0 &&
                      (w->flushers > 0 || w->stop || now >= w->touch_due_ms))) {
    *round = true;
    return 0;
  }
  if (w->ntouches > 0)
    at = w->touch_due_ms;
  if (w->dirty && w->synced_ms + l->cf.sync_interval_ms < at)
    at = w->synced_ms + l->cf.sync_interval_ms;
  return at;
}

static void wait_until(struct lmdb_writer *w, uint64_t at) {
  struct timespec ts;

  if (at == UINT64_MAX) {
    pthread_cond_wait(&w->wake, &w->lock);
    return;
  }
  ts.tv_sec = (time_t)(at / 1000);
  ts.tv_nsec = (long)(at % 1000) * 1000000L;
  pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

static void sync_env(struct cache_lmdb *l, uint64_t now) {
  int rc = lmdb_env_flush(l);

  if (rc != 0 && disk_error(rc))
    set_disabled(l, rc);
  l->w.dirty = false;
  l->w.synced_ms = now;
}

static void *writer_main(void *arg) {
  struct cache_lmdb *l = arg;
  struct lmdb_writer *w = &l->w;
  struct batch *b = xmalloc(sizeof *b);

  pthread_mutex_lock(&w->lock);
  for (;;) {
    uint64_t now = clock_mono_ms(), at;
    bool round;

    at = next_wake(l, now, &round);
    if (w->stop && !round)
      break;
    if (round) {
      grab(l, b, now);
      pthread_mutex_unlock(&w->lock);
      run(l, b);
    } else if (w->dirty && now >= w->synced_ms + l->cf.sync_interval_ms) {
      pthread_mutex_unlock(&w->lock);
      sync_env(l, now);
    } else {
      wait_until(w, at);
      continue;
    }
    pthread_mutex_lock(&w->lock);
  }
  pthread_mutex_unlock(&w->lock);
  if (w->dirty)
    sync_env(l, clock_mono_ms());
  free(b);
  return NULL;
}

/* ---- lifecycle ---- */

static void unlink_env(const char *dir) {
  static const char *const files[] = {"data.mdb", "lock.mdb"};
  char p[4096];

  for (size_t i = 0; i < ARRAY_LEN(files); i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    if (unlink(p) != 0 && errno != ENOENT)
      log_err("%s: unlink: %s", p, strerror(errno));
  }
}

static int open_env(struct cache_lmdb *l) {
  int rc;

  if (mkdir(l->path, 0700) != 0 && errno != EEXIST) {
    rc = -errno;
    log_err("%s: mkdir: %s", l->path, strerror(errno));
    return rc;
  }
  rc = lmdb_env_open(l);
  /* Another format, or pages LMDB finds corrupt at open (possible after an
   * OS crash in the fast mode): it is a cache, so start empty if allowed. */
  if ((rc == -EPROTO || rc == -EBADMSG) && l->cf.rebuild_incompatible) {
    log_warn("%s: rebuilding an empty cache", l->path);
    lmdb_env_close(l);
    unlink_env(l->path);
    rc = lmdb_env_open(l);
  }
  return rc;
}

struct cache_lmdb *cache_lmdb_open(const struct cache_lmdb_conf *cf, int *err) {
  struct cache_lmdb *l = xcalloc(1, sizeof *l);
  uint64_t span;
  int rc;

  l->magic = CACHE_LMDB_MAGIC;
  l->cf = *cf;
  l->pins = lmdb_pins_new();
  if ((rc = lmdb_conf_check(&l->cf)) != 0)
    goto fail;
  l->path = xstrdup(cf->path);
  l->cf.path = l->path;
  l->high_bytes = l->cf.map_bytes / 100 * l->cf.high_pct;
  l->low_bytes = l->cf.map_bytes / 100 * l->cf.low_pct;
  /* Half the gap: one batch never lifts usage from below low past high. */
  span = (l->high_bytes - l->low_bytes) / 2;
  l->batch_bytes = span > CACHE_CHUNK_SIZE ? span : CACHE_CHUNK_SIZE;
  if ((rc = open_env(l)) != 0)
    goto fail;
  lmdb_fill_recover(l); /* before the first lookup: no debris is seen */
  if ((rc = lmdb_writer_start(l)) != 0)
    goto fail;
  return l;
fail:
  *err = rc;
  cache_lmdb_close(&l);
  return NULL;
}

void cache_lmdb_close(struct cache_lmdb **lp) {
  struct cache_lmdb *l = *lp;

  *lp = NULL;
  if (l == NULL)
    return;
  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  lmdb_writer_stop(l);
  lmdb_env_close(l);
  lmdb_pins_unref(&l->pins);
  free(l->path);
  l->magic = 0;
  free(l);
}

void cache_lmdb_stats(struct cache_lmdb *l, struct cache_lmdb_stats *st) {
  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  *st = (struct cache_lmdb_stats){0};
  /* Every field before writes_disabled is a u64 counter. */
  for (size_t off = 0; off < offsetof(struct cache_lmdb_stats, writes_disabled);
       off += 8)
    *(uint64_t *)((char *)st + off) =
        __atomic_load_n((uint64_t *)((char *)&l->st + off), __ATOMIC_RELAXED);
  st->writes_disabled = __atomic_load_n(&l->w.disabled, __ATOMIC_RELAXED);
  st->map_bytes = l->cf.map_bytes;
  lmdb_env_gauges(l, st);
}

int lmdb_writer_start(struct cache_lmdb *l) {
  struct lmdb_writer *w = &l->w;
  pthread_condattr_t ca;
  int rc;

  pthread_mutex_init(&w->lock, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* clock_mono_ms deadlines */
  pthread_cond_init(&w->wake, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&w->done, NULL);
  w->tailp = &w->head;
  w->touches = xmalloc(TOUCH_CAP * sizeof *w->touches);
  w->synced_ms = w->touch_due_ms = clock_mono_ms();
  if ((rc = pthread_create(&w->thread, NULL, writer_main, l)) != 0) {
    log_err("%s: writer thread: %s", l->path, strerror(rc));
    return -rc;
  }
  w->started = true;
  return 0;
}

/* Lets the writer commit what is queued, then joins it. */
void lmdb_writer_stop(struct cache_lmdb *l) {
  struct lmdb_writer *w = &l->w;

  if (w->touches == NULL) /* never initialized (tailp is the writer's) */
    return;
  if (w->started) {
    lmdb_fill_close(l);
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
  }
  free_ops(w->head); /* the writer drains the queue: only if it never ran */
  w->head = NULL;
  lmdb_pend_free(l);
  lmdb_fill_detach_all(l);
  free(w->touches);
  w->touches = NULL;
  pthread_cond_destroy(&w->wake);
  pthread_cond_destroy(&w->done);
  pthread_mutex_destroy(&w->lock);
  w->tailp = NULL;
}

void lmdb_writer_hold(struct cache_lmdb *l, bool hold) {
  pthread_mutex_lock(&l->w.lock);
  l->w.hold = hold;
  pthread_cond_signal(&l->w.wake);
  pthread_mutex_unlock(&l->w.lock);
}

/* ---- the queue ---- */

int lmdb_queue_op(struct cache_lmdb *l, struct lmdb_op *op) {
  struct lmdb_writer *w = &l->w;
  bool full, dup = false;

  pthread_mutex_lock(&w->lock);
  full = !lmdb_op_is_fill(op) && op->kind != LMDB_OP_REMOVE_KEY &&
         (w->nops - w->nfill >= l->cf.queue_max ||
          (op->bytes > 0 && w->bytes > 0 &&
           w->bytes + op->bytes > l->cf.queue_bytes));
  if (!full && !(dup = !lmdb_pend_note(l, op))) {
    op->seq = ++w->seq;
    *w->tailp = op;
    w->tailp = &op->next;
    account(w, op, true);
    pthread_cond_signal(&w->wake);
  }
  pthread_mutex_unlock(&w->lock);
  return full ? -EAGAIN : dup ? -EALREADY : 0;
}

void lmdb_queue_touch(struct cache_lmdb *l, uint64_t id, uint64_t ms) {
  struct lmdb_writer *w = &l->w;
  bool full;

  pthread_mutex_lock(&w->lock);
  full = w->ntouches >= TOUCH_CAP;
  if (!full) {
    w->touches[w->ntouches++] = (struct lmdb_touch){id, ms};
    w->seq++;
    if (w->ntouches == 1) /* the writer arms its drain timer */
      pthread_cond_signal(&w->wake);
  }
  pthread_mutex_unlock(&w->lock);
  if (full)
    LMDB_COUNT(l, touches_dropped, 1);
}

void cache_lmdb_flush(struct cache_lmdb *l) {
  struct lmdb_writer *w = &l->w;
  uint64_t target;

  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  pthread_mutex_lock(&w->lock);
  target = w->seq;
  w->flushers++;
  pthread_cond_signal(&w->wake);
  while (w->done_seq < target && !w->dead)
    pthread_cond_wait(&w->done, &w->lock);
  w->flushers--;
  pthread_mutex_unlock(&w->lock);
}
