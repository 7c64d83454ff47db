/*
 * cache/lmdb_pin.c: pins, which keep an object's body records on disk for
 * as long as somebody streams them (contract in lmdb_tier.h, internals in
 * lmdb_int.h). A table of object ids, one mutex, no I/O.
 *
 * Protocol between readers (any thread) and the writer thread:
 * - The writer, before it deletes an object in its txn, claims the id: a
 *   pinned id is skipped (eviction) or orphaned (removal, replacement: the
 *   header goes now, the body records once the last pin is dropped); an
 *   unpinned id is doomed, so no pin can be taken on it until the txn ends.
 * - At the end of a txn that committed deletions the writer bumps gen, then
 *   clears its dooms. A reader reads gen before its lookup's read txn and
 *   again after pinning: a change means a deletion may have committed in
 *   between, so it drops the pin and looks again. Either the writer saw
 *   the pin (and kept the records), or the reader sees the new gen.
 * - An orphan whose last pin is dropped is "released": the writer deletes
 *   its records (and the marker naming it) in its next round.
 *
 * The table is refcounted: the tier holds it, and so does every fill that
 * pinned its own id, since a fill may outlive the tier.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "cache/lmdb_int.h"
#include "common/alloc.h"
#include "common/assert.h"

#define PIN_TOMB UINT64_MAX /* a deleted slot; ids never reach it */

enum { PIN_DOOMED = 1, PIN_ORPHAN = 2, PIN_TXN_ORPHAN = 4 };

struct pin_ent {
  uint64_t id; /* 0: empty slot */
  uint64_t hash;
  uint32_t count;
  uint32_t flags;
};

struct lmdb_pins {
  unsigned refcnt; /* atomic */
  pthread_mutex_t lock;
  struct pin_ent *tab;
  size_t cap, used; /* used: live entries plus tombstones */
  size_t released;  /* orphans with no pin left */
  uint64_t *txn;    /* ids doomed or orphaned in the writer's open txn */
  size_t ntxn, txn_cap;
  uint64_t *gone; /* released orphans deleted in the open txn */
  size_t ngone, gone_cap;
  uint64_t gen; /* atomic */
};

struct lmdb_pins *lmdb_pins_new(void) {
  struct lmdb_pins *p = xcalloc(1, sizeof *p);

  p->refcnt = 1;
  p->cap = 64;
  p->tab = xcalloc(p->cap, sizeof *p->tab);
  pthread_mutex_init(&p->lock, NULL);
  return p;
}

struct lmdb_pins *lmdb_pins_ref(struct lmdb_pins *p) {
  __atomic_fetch_add(&p->refcnt, 1, __ATOMIC_RELAXED);
  return p;
}

void lmdb_pins_unref(struct lmdb_pins **pp) {
  struct lmdb_pins *p = *pp;

  *pp = NULL;
  if (p == NULL || __atomic_fetch_sub(&p->refcnt, 1, __ATOMIC_ACQ_REL) != 1)
    return;
  pthread_mutex_destroy(&p->lock);
  free(p->tab);
  free(p->txn);
  free(p->gone);
  free(p);
}

uint64_t lmdb_pins_gen(struct lmdb_pins *p) {
  return __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
}

static size_t slot_of(const struct lmdb_pins *p, uint64_t id) {
  return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (p->cap - 1);
}

/* The entry of id, or NULL; locked. */
static struct pin_ent *find(struct lmdb_pins *p, uint64_t id) {
  for (size_t i = slot_of(p, id);; i = (i + 1) & (p->cap - 1)) {
    if (p->tab[i].id == id)
      return &p->tab[i];
    if (p->tab[i].id == 0)
      return NULL;
  }
}

static void grow(struct lmdb_pins *p) {
  struct pin_ent *old = p->tab;
  size_t n = p->cap;

  p->cap = n * 2;
  p->tab = xcalloc(p->cap, sizeof *p->tab);
  p->used = 0;
  for (size_t i = 0; i < n; i++) {
    if (old[i].id != 0 && old[i].id != PIN_TOMB) {
      size_t j = slot_of(p, old[i].id);

      while (p->tab[j].id != 0)
        j = (j + 1) & (p->cap - 1);
      p->tab[j] = old[i];
      p->used++;
    }
  }
  free(old);
}

/* The entry of id, created empty when missing; locked. */
static struct pin_ent *get(struct lmdb_pins *p, uint64_t id, uint64_t hash) {
  struct pin_ent *e = find(p, id);
  size_t i;

  if (e != NULL)
    return e;
  if ((p->used + 1) * 4 > p->cap * 3)
    grow(p);
  for (i = slot_of(p, id); p->tab[i].id != 0 && p->tab[i].id != PIN_TOMB;
       i = (i + 1) & (p->cap - 1))
    ;
  if (p->tab[i].id == 0)
    p->used++;
  p->tab[i] = (struct pin_ent){.id = id, .hash = hash};
  return &p->tab[i];
}

/* Drops e when nothing refers to it any more; locked. */
static void settle(struct lmdb_pins *p, struct pin_ent *e) {
  if (e->count == 0 && e->flags == 0)
    e->id = PIN_TOMB;
}

static void push(uint64_t **v, size_t *n, size_t *cap, uint64_t id) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 32;
    *v = xrealloc(*v, *cap * sizeof **v);
  }
  (*v)[(*n)++] = id;
}

int lmdb_pin_take(struct lmdb_pins *p, uint64_t id, uint64_t hash) {
  struct pin_ent *e;
  int rc = 0;

  pthread_mutex_lock(&p->lock);
  e = get(p, id, hash);
  if (e->flags & (PIN_DOOMED | PIN_ORPHAN))
    rc = -ENOENT; /* being deleted, or its header already is */
  else
    e->count++;
  settle(p, e);
  pthread_mutex_unlock(&p->lock);
  return rc;
}

void lmdb_pin_drop(struct lmdb_pins *p, uint64_t id) {
  struct pin_ent *e;

  pthread_mutex_lock(&p->lock);
  e = find(p, id);
  ASSERT(e != NULL && e->count > 0);
  if (--e->count == 0 && (e->flags & PIN_ORPHAN))
    p->released++;
  settle(p, e);
  pthread_mutex_unlock(&p->lock);
}

bool lmdb_pin_claim(struct lmdb_pins *p, uint64_t id, uint64_t hash,
                    bool orphan) {
  struct pin_ent *e;
  bool free_to_delete;

  pthread_mutex_lock(&p->lock);
  e = get(p, id, hash);
  free_to_delete = e->count == 0;
  if (free_to_delete) {
    e->flags |= PIN_DOOMED;
    push(&p->txn, &p->ntxn, &p->txn_cap, id);
  } else if (orphan && !(e->flags & PIN_ORPHAN)) {
    e->flags |= PIN_ORPHAN | PIN_TXN_ORPHAN;
    push(&p->txn, &p->ntxn, &p->txn_cap, id);
  }
  settle(p, e);
  pthread_mutex_unlock(&p->lock);
  return free_to_delete;
}

size_t lmdb_pin_released(struct lmdb_pins *p, struct lmdb_pin_rel *out,
                         size_t max) {
  size_t n = 0;

  pthread_mutex_lock(&p->lock);
  for (size_t i = 0; i < p->cap && n < max && n < p->released; i++) {
    struct pin_ent *e = &p->tab[i];

    if (e->id != 0 && e->id != PIN_TOMB && e->count == 0 &&
        (e->flags & PIN_ORPHAN) && !(e->flags & PIN_DOOMED)) {
      e->flags |= PIN_DOOMED; /* taken by this txn */
      out[n++] = (struct lmdb_pin_rel){e->id, e->hash};
      push(&p->gone, &p->ngone, &p->gone_cap, e->id);
    }
  }
  pthread_mutex_unlock(&p->lock);
  return n;
}

/* Ends the writer's txn for the pins: committed or not. */
void lmdb_pin_txn_end(struct lmdb_pins *p, bool committed) {
  pthread_mutex_lock(&p->lock);
  if (committed && (p->ntxn > 0 || p->ngone > 0))
    __atomic_fetch_add(&p->gen, 1, __ATOMIC_RELEASE);
  for (size_t i = 0; i < p->ntxn; i++) {
    struct pin_ent *e = find(p, p->txn[i]);

    if (e == NULL)
      continue;
    /* An orphaning that did not commit is undone: the header is back. */
    if (!committed && (e->flags & PIN_TXN_ORPHAN)) {
      e->flags &= ~(unsigned)PIN_ORPHAN;
      if (e->count == 0)
        p->released--;
    }
    e->flags &= ~(unsigned)(PIN_DOOMED | PIN_TXN_ORPHAN);
    settle(p, e);
  }
  for (size_t i = 0; i < p->ngone; i++) {
    struct pin_ent *e = find(p, p->gone[i]);

    ASSERT(e != NULL && e->count == 0);
    e->flags = committed ? 0 : (e->flags & ~(unsigned)PIN_DOOMED);
    if (committed)
      p->released--;
    settle(p, e);
  }
  p->ntxn = p->ngone = 0;
  pthread_mutex_unlock(&p->lock);
}

size_t lmdb_pins_count(struct lmdb_pins *p) {
  size_t n = 0;

  pthread_mutex_lock(&p->lock);
  for (size_t i = 0; i < p->cap; i++)
    n += p->tab[i].id != 0 && p->tab[i].id != PIN_TOMB ? p->tab[i].count : 0;
  pthread_mutex_unlock(&p->lock);
  return n;
}

/* ---- the public side (lmdb_tier.h) ---- */

void cache_lmdb_pin_more(struct cache_lmdb *l,
                         const struct cache_lmdb_ref *ref) {
  struct lmdb_pins *p = l->pins;
  struct pin_ent *e;

  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  pthread_mutex_lock(&p->lock);
  e = find(p, ref->id);
  ASSERT(e != NULL && e->count > 0); /* only on an object already pinned */
  e->count++;
  pthread_mutex_unlock(&p->lock);
}

void cache_lmdb_unpin(struct cache_lmdb *l, const struct cache_lmdb_ref *ref) {
  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  lmdb_pin_drop(l->pins, ref->id);
}

bool cache_lmdb_current(struct cache_lmdb *l, const struct cache_lmdb_ref *ref) {
  struct lmdb_pins *p = l->pins;
  struct pin_ent *e;
  bool orphaned;

  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  pthread_mutex_lock(&p->lock);
  e = find(p, ref->id);
  orphaned = e != NULL && (e->flags & PIN_ORPHAN);
  pthread_mutex_unlock(&p->lock);
  return !orphaned && !lmdb_pend_has(l, ref->hash);
}
