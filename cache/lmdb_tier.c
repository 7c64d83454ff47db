/*
 * cache/lmdb_tier.c: the LMDB environment (contract in lmdb_tier.h, byte
 * formats in lmdb_int.h). The only file that calls LMDB: opening and the
 * format check, the reader pool and lookups, and the write-side
 * primitives that lmdb_ops.c composes into the writer thread's txns.
 *
 * Reader pool: a read txn with its objects cursor, reset between calls. A
 * call pops one (renew: no reader-table lock, the slot is kept) or begins a
 * new one when the pool is empty; at most max_readers exist. A reset txn
 * holds no snapshot, so readers never keep the writer from reusing pages.
 *
 * Values returned by LMDB are borrowed until the txn is reset (readers) or
 * the next write (writer): they are decoded, copied or used before that.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#define LOG_MOD "lmdb"
#include "cache/lmdb_int.h"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/log.h"

enum {
  DB_META = LMDB_DB_META,
  DB_OBJECTS = LMDB_DB_OBJECTS,
  DB_TAGS = LMDB_DB_TAGS,
  DB_BYID = LMDB_DB_BYID,
  DB_N = LMDB_DB_N
};

static const char *const db_names[DB_N] = {"meta", "objects", "urls",
                                           "tags", "lru",     "byid"};

/* LMDB's own trees (mdb.c names them; lmdb.h does not export the names). */
#define FREE_DBI 0
#define MAIN_DBI 1

struct rd {
  struct rd *next;
  MDB_txn *txn;
  MDB_cursor *cur; /* on objects */
};

struct lmdb_env {
  MDB_env *env;
  MDB_dbi dbi[DB_N];
  MDB_txn *wtxn; /* the writer's open txn, or NULL */
  uint64_t next_id;
  uint64_t psize;
  pthread_mutex_t pool_lock;
  struct rd *pool;
};

/* LMDB's codes as -errno: positive codes are errno values already. */
static int map_rc(int rc) {
  if (rc >= 0)
    return -rc;
  if (rc == MDB_MAP_FULL)
    return LMDB_E_MAPFULL;
  if (rc == MDB_NOTFOUND)
    return -ENOENT;
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND)
    return -EBADMSG;
  return rc == MDB_PANIC ? -ENOTRECOVERABLE : -EIO;
}

static MDB_val val(const void *p, size_t n) {
  MDB_val v = {n, (void *)p};

  return v;
}

static void corrupt(struct cache_lmdb *l, uint64_t hash, uint64_t id) {
  LMDB_COUNT(l, corrupt, 1);
  lmdb_queue_drop(l, hash, id);
}

/* ---- opening ---- */

static int env_create(struct cache_lmdb *l) {
  unsigned flags = MDB_NOTLS;
  MDB_env *env;
  MDB_stat ms;
  int rc, dead = 0;

  if (l->cf.durability == CACHE_LMDB_SAFE)
    flags |= MDB_NOMETASYNC;
  else if (l->cf.durability == CACHE_LMDB_FAST)
    flags |= MDB_NOSYNC;
  if ((rc = mdb_env_create(&env)) != 0)
    return map_rc(rc);
  rc = mdb_env_set_maxdbs(env, DB_N);
  if (rc == 0)
    rc = mdb_env_set_mapsize(env, (size_t)l->cf.map_bytes);
  if (rc == 0)
    rc = mdb_env_set_maxreaders(env, l->cf.max_readers);
  if (rc == 0)
    rc = mdb_env_open(env, l->path, flags, 0600);
  if (rc == 0)
    rc = mdb_reader_check(env, &dead); /* slots of processes killed -9 */
  if (rc == 0)
    rc = mdb_env_stat(env, &ms);
  if (rc != 0) {
    mdb_env_close(env);
    log_err("%s: %s", l->path, mdb_strerror(rc));
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ? -EPROTO
                                                           : map_rc(rc);
  }
  if (dead > 0)
    log_warn("%s: cleared %d stale reader slots", l->path, dead);
  l->st.stale_readers += (uint64_t)dead;
  l->env->env = env;
  l->env->psize = ms.ms_psize;
  return 0;
}

static int format_check(struct cache_lmdb *l, MDB_txn *txn, bool *fresh) {
  struct lmdb_env *e = l->env;
  MDB_val k = val("format", 6), v = {0, NULL};
  uint32_t ver = 0, chunk = 0;
  MDB_stat ms;
  int rc = mdb_dbi_open(txn, "meta", 0, &e->dbi[DB_META]);

  *fresh = false;
  if (rc == MDB_NOTFOUND) {
    if ((rc = mdb_stat(txn, MAIN_DBI, &ms)) != 0)
      return map_rc(rc);
    if (ms.ms_entries == 0) {
      *fresh = true;
      return 0;
    }
  } else if (rc == 0) {
    rc = mdb_get(txn, e->dbi[DB_META], &k, &v);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return map_rc(rc);
    if (rc == 0 && lmdb_format_check(v.mv_data, v.mv_size, &ver, &chunk) == 0)
      return 0;
  } else {
    return map_rc(rc);
  }
  log_err("%s: stored format %s v%u (chunk %u) is not this build's %s v%u "
          "(chunk %u): "
          "refused (set rebuild_incompatible to start empty)",
          l->path, ver != 0 ? LMDB_FORMAT_NAME : "unknown", ver, chunk,
          LMDB_FORMAT_NAME, CACHE_LMDB_FORMAT, CACHE_CHUNK_SIZE);
  return -EPROTO;
}

static int dbs_open(struct lmdb_env *e, MDB_txn *txn, bool fresh) {
  uint8_t fmt[LMDB_FORMAT_LEN], idb[8];
  MDB_val k, v;
  int rc = 0;

  for (int i = 0; i < DB_N && rc == 0; i++)
    rc =
        mdb_dbi_open(txn, db_names[i],
                     MDB_CREATE | (i == DB_TAGS ? MDB_DUPSORT : 0), &e->dbi[i]);
  if (rc == 0 && fresh) {
    lmdb_format_encode(fmt);
    lmdb_le64_put(idb, 1);
    k = val("format", 6), v = val(fmt, sizeof fmt);
    rc = mdb_put(txn, e->dbi[DB_META], &k, &v, 0);
    k = val("next_id", 7), v = val(idb, sizeof idb);
    if (rc == 0)
      rc = mdb_put(txn, e->dbi[DB_META], &k, &v, 0);
  }
  k = val("next_id", 7);
  if (rc == 0 && (rc = mdb_get(txn, e->dbi[DB_META], &k, &v)) == 0)
    e->next_id = v.mv_size == 8 ? lmdb_le64_get(v.mv_data) : 0;
  if (rc == 0 && e->next_id == 0)
    rc = MDB_CORRUPTED;
  return map_rc(rc);
}

int lmdb_env_open(struct cache_lmdb *l) {
  MDB_txn *txn;
  bool fresh;
  int rc;

  if (l->env == NULL) {
    l->env = xcalloc(1, sizeof *l->env);
    pthread_mutex_init(&l->env->pool_lock, NULL);
  }
  if ((rc = env_create(l)) != 0)
    return rc;
  if ((rc = mdb_txn_begin(l->env->env, NULL, 0, &txn)) != 0)
    return map_rc(rc);
  rc = format_check(l, txn, &fresh);
  if (rc == 0)
    rc = dbs_open(l->env, txn, fresh);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return rc;
  }
  return map_rc(mdb_txn_commit(txn));
}

void lmdb_env_close(struct cache_lmdb *l) {
  struct lmdb_env *e = l->env;
  struct rd *r, *next;

  if (e == NULL)
    return;
  ASSERT(e->wtxn == NULL);
  for (r = e->pool; r != NULL; r = next) {
    next = r->next;
    mdb_cursor_close(r->cur);
    mdb_txn_abort(r->txn);
    free(r);
  }
  if (e->env != NULL)
    mdb_env_close(e->env);
  pthread_mutex_destroy(&e->pool_lock);
  free(e);
  l->env = NULL;
}

int lmdb_env_flush(struct cache_lmdb *l) {
  return map_rc(mdb_env_sync(l->env->env, 1));
}

/* ---- reading ---- */

static void rd_free(struct rd *r) {
  if (r->cur != NULL)
    mdb_cursor_close(r->cur);
  if (r->txn != NULL)
    mdb_txn_abort(r->txn);
  free(r);
}

static struct rd *rd_get(struct cache_lmdb *l) {
  struct lmdb_env *e = l->env;
  struct rd *r;
  int rc;

  pthread_mutex_lock(&e->pool_lock);
  if ((r = e->pool) != NULL)
    e->pool = r->next;
  pthread_mutex_unlock(&e->pool_lock);
  if (r != NULL) {
    rc = mdb_txn_renew(r->txn);
    if (rc == 0)
      rc = mdb_cursor_renew(r->txn, r->cur);
  } else {
    r = xcalloc(1, sizeof *r);
    rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &r->txn);
    if (rc == 0)
      rc = mdb_cursor_open(r->txn, e->dbi[DB_OBJECTS], &r->cur);
  }
  if (rc != 0) {
    LMDB_COUNT(l, read_errors, 1);
    rd_free(r);
    return NULL;
  }
  return r;
}

static void rd_put(struct cache_lmdb *l, struct rd *r) {
  mdb_txn_reset(r->txn);
  pthread_mutex_lock(&l->env->pool_lock);
  r->next = l->env->pool;
  l->env->pool = r;
  pthread_mutex_unlock(&l->env->pool_lock);
}

/*
 * Moves cur to the header of the newest object of hash with an id below
 * `below` (ids grow, so newest first). Body records without a header are
 * a fill's or debris (counted, queued for removal). 0 (*id, *v) or -ENOENT.
 */
static int prev_header(struct cache_lmdb *l, MDB_cursor *cur, uint64_t hash,
                       uint64_t below, uint64_t *id, MDB_val *v) {
  uint8_t kb[LMDB_OKEY_LEN];
  uint64_t h;
  uint32_t rec;
  MDB_val k;
  int rc;

  for (;;) {
    lmdb_okey(kb, hash, below, 0);
    k = val(kb, sizeof kb);
    rc = mdb_cursor_get(cur, &k, v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
      rc = mdb_cursor_get(cur, &k, v, MDB_LAST);
    else if (rc == 0)
      rc = mdb_cursor_get(cur, &k, v, MDB_PREV);
    if (rc != 0)
      return rc == MDB_NOTFOUND ? -ENOENT : map_rc(rc);
    if (!lmdb_okey_parse(k.mv_data, k.mv_size, &h, id, &rec) || h != hash)
      return -ENOENT;
    if (rec == 0)
      return 0;
    lmdb_okey(kb, hash, *id, 0);
    k = val(kb, sizeof kb);
    if ((rc = mdb_cursor_get(cur, &k, v, MDB_SET_KEY)) != MDB_NOTFOUND)
      return map_rc(rc);
    lmdb_fill_mkey(kb, *id); /* a fill under way: marked, no header yet */
    k = val(kb, LMDB_FILL_KEY_LEN);
    if (mdb_get(mdb_cursor_txn(cur), l->env->dbi[DB_META], &k, v) != 0)
      corrupt(l, hash, *id);
    below = *id;
  }
}

/* The newest matching variant as a BUSY object without body, or NULL. */
static struct cache_obj *find(struct cache_lmdb *l, struct rd *r, uint64_t hash,
                              const char *key, size_t key_len,
                              cache_ram_match_fn *match, void *arg, bool *seen,
                              struct cache_lmdb_ref *ref, bool body) {
  uint64_t below = UINT64_MAX, id;
  struct lmdb_hdr h;
  MDB_val v;

  while (prev_header(l, r->cur, hash, below, &id, &v) == 0) {
    struct cache_obj *o;

    below = id;
    if (lmdb_hdr_decode(&h, v.mv_data, v.mv_size) != 0 || h.id != id ||
        h.hash != hash) {
      corrupt(l, hash, id);
      continue;
    }
    if (h.key_len != key_len || memcmp(h.key, key, key_len) != 0)
      continue;
    *seen = true;
    o = lmdb_hdr_obj(&h, body);
    if (match != NULL && !match(o, arg)) {
      cache_obj_unref(&o);
      continue;
    }
    *ref = (struct cache_lmdb_ref){hash, id, h.body_len, h.nchunks};
    return o;
  }
  return NULL;
}

/* Body chunk idx of ref, verified; *data borrowed until txn is reset. */
static int get_chunk(struct cache_lmdb *l, MDB_txn *txn,
                     const struct cache_lmdb_ref *ref, uint32_t idx,
                     const void **data, size_t *len) {
  uint8_t kb[LMDB_OKEY_LEN];
  MDB_val k, v;
  int rc;

  *len = lmdb_chunk_len(ref->body_len, idx);
  lmdb_okey(kb, ref->hash, ref->id, idx + 1);
  k = val(kb, sizeof kb);
  if ((rc = mdb_get(txn, l->env->dbi[DB_OBJECTS], &k, &v)) != 0)
    return map_rc(rc);
  if (lmdb_chunk_open(v.mv_data, v.mv_size, ref->id, idx + 1, *len, data) !=
      0) {
    corrupt(l, ref->hash, ref->id);
    return -EBADMSG;
  }
  return 0;
}

/* Copies the body in r's txn; false (o released) when a chunk is bad or
 * missing. */
static bool read_body(struct cache_lmdb *l, struct rd *r, struct cache_obj **op,
                      const struct cache_lmdb_ref *ref) {
  for (uint32_t i = 0; i < ref->nchunks; i++) {
    const void *p;
    size_t n;
    int rc = get_chunk(l, r->txn, ref, i, &p, &n);

    if (rc != 0) {
      if (rc == -ENOENT) /* the header is in this very snapshot */
        corrupt(l, ref->hash, ref->id);
      cache_obj_unref(op);
      return false;
    }
    cache_obj_append(*op, p, n);
  }
  cache_obj_finish(*op, CACHE_OBJ_COMPLETE);
  return true;
}

struct cache_obj *lmdb_env_find(struct cache_lmdb *l, uint64_t hash,
                                const char *key, size_t key_len,
                                cache_ram_match_fn *match, void *arg,
                                bool *seen, struct cache_lmdb_ref *ref,
                                bool body) {
  struct cache_obj *o = NULL;
  struct rd *r;

  *seen = false;
  if ((r = rd_get(l)) != NULL) {
    o = find(l, r, hash, key, key_len, match, arg, seen, ref, body);
    if (o != NULL && body && !read_body(l, r, &o, ref))
      o = NULL;
    rd_put(l, r);
  }
  return o;
}

int cache_lmdb_read_chunk(struct cache_lmdb *l,
                          const struct cache_lmdb_ref *ref, uint32_t idx,
                          void *buf, size_t cap) {
  const void *p;
  struct rd *r;
  size_t n;
  int rc;

  CHECK_OBJ(l, CACHE_LMDB_MAGIC);
  if (idx >= ref->nchunks)
    return -ERANGE;
  if (cap < lmdb_chunk_len(ref->body_len, idx))
    return -ENOBUFS;
  if ((r = rd_get(l)) == NULL)
    return -EIO;
  rc = get_chunk(l, r->txn, ref, idx, &p, &n);
  if (rc == 0)
    memcpy(buf, p, n);
  rd_put(l, r);
  if (rc == -EBADMSG || rc == -ENOENT)
    return rc;
  return rc != 0 ? -EIO : (int)n;
}

/* Live bytes: every tree's pages (free list and main included), plus the metas.
 */
static int txn_usage(struct lmdb_env *e, MDB_txn *txn, uint64_t *bytes) {
  uint64_t pages = 2;
  MDB_stat s;
  int rc;

  for (int i = -2; i < DB_N; i++) {
    MDB_dbi dbi = i == -2 ? FREE_DBI : i == -1 ? MAIN_DBI : e->dbi[i];

    if ((rc = mdb_stat(txn, dbi, &s)) != 0)
      return map_rc(rc);
    pages += s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages;
  }
  *bytes = pages * e->psize;
  return 0;
}

void lmdb_env_gauges(struct cache_lmdb *l, struct cache_lmdb_stats *st) {
  MDB_envinfo info;
  struct rd *r;
  MDB_stat s;

  if (mdb_env_info(l->env->env, &info) == 0)
    st->file_bytes = ((uint64_t)info.me_last_pgno + 1) * l->env->psize;
  if ((r = rd_get(l)) == NULL)
    return;
  if (txn_usage(l->env, r->txn, &st->used_bytes) != 0)
    st->used_bytes = 0;
  if (mdb_stat(r->txn, l->env->dbi[DB_BYID], &s) == 0)
    st->objects = s.ms_entries;
  rd_put(l, r);
}

/* ---- the write txn (writer thread only) ---- */

int lmdb_w_begin(struct cache_lmdb *l) {
  struct lmdb_env *e = l->env;
  int rc;

  ASSERT(e->wtxn == NULL);
  if ((rc = mdb_txn_begin(e->env, NULL, 0, &e->wtxn)) != 0)
    e->wtxn = NULL;
  return map_rc(rc);
}

/* Always writes next_id, which also makes a txn with no other change advance
 * the txn id (the writer relies on it to let freed pages be reused). */
int lmdb_w_commit(struct cache_lmdb *l) {
  struct lmdb_env *e = l->env;
  uint8_t b[8];
  int rc;

  lmdb_le64_put(b, e->next_id);
  if ((rc = lmdb_w_put(l, DB_META, "next_id", 7, b, sizeof b)) != 0) {
    lmdb_w_abort(l);
    return rc;
  }
  rc = mdb_txn_commit(e->wtxn);
  e->wtxn = NULL;
  return map_rc(rc);
}

void lmdb_w_abort(struct cache_lmdb *l) {
  mdb_txn_abort(l->env->wtxn);
  l->env->wtxn = NULL;
}

uint64_t lmdb_w_new_id(struct cache_lmdb *l) { return l->env->next_id++; }

int lmdb_w_get(struct cache_lmdb *l, int db, const void *k, size_t kn,
               const void **v, size_t *vn) {
  MDB_val key = val(k, kn), data;
  int rc = mdb_get(l->env->wtxn, l->env->dbi[db], &key, &data);

  *v = data.mv_data;
  *vn = data.mv_size;
  return map_rc(rc);
}

int lmdb_w_put(struct cache_lmdb *l, int db, const void *k, size_t kn,
               const void *d, size_t dn) {
  MDB_val key = val(k, kn), data = val(d, dn);

  return map_rc(mdb_put(l->env->wtxn, l->env->dbi[db], &key, &data, 0));
}

int lmdb_w_reserve(struct cache_lmdb *l, int db, const void *k, size_t kn,
                   size_t dn, void **p) {
  MDB_val key = val(k, kn), data = {dn, NULL};
  int rc = mdb_put(l->env->wtxn, l->env->dbi[db], &key, &data, MDB_RESERVE);

  *p = data.mv_data;
  return map_rc(rc);
}

int lmdb_w_del(struct cache_lmdb *l, int db, const void *k, size_t kn,
               const void *d, size_t dn) {
  MDB_val key = val(k, kn), data = val(d, dn);
  int rc =
      mdb_del(l->env->wtxn, l->env->dbi[db], &key, d != NULL ? &data : NULL);

  return rc == MDB_NOTFOUND ? 0 : map_rc(rc);
}

/* Runs op at k on a cursor of db in the write txn, the results into k, v. */
static int wcursor(struct cache_lmdb *l, int db, MDB_val *k, MDB_val *v,
                   MDB_cursor_op op) {
  MDB_cursor *c;
  int rc = mdb_cursor_open(l->env->wtxn, l->env->dbi[db], &c);

  if (rc != 0)
    return map_rc(rc);
  rc = mdb_cursor_get(c, k, v, op);
  mdb_cursor_close(c);
  return map_rc(rc);
}

int lmdb_w_seek(struct cache_lmdb *l, int db, const void *from, size_t fromlen,
                const void **k, size_t *kn, const void **v, size_t *vn) {
  MDB_val key = val(from, fromlen), data;
  int rc = wcursor(l, db, &key, &data, fromlen > 0 ? MDB_SET_RANGE : MDB_FIRST);

  *k = key.mv_data, *kn = key.mv_size;
  *v = data.mv_data, *vn = data.mv_size;
  return rc;
}

int lmdb_w_prev_header(struct cache_lmdb *l, uint64_t hash, uint64_t below,
                       uint64_t *id, const void **v, size_t *vn) {
  MDB_cursor *c;
  MDB_val data;
  int rc = mdb_cursor_open(l->env->wtxn, l->env->dbi[DB_OBJECTS], &c);

  if (rc != 0)
    return map_rc(rc);
  rc = prev_header(l, c, hash, below, id, &data);
  mdb_cursor_close(c);
  *v = data.mv_data;
  *vn = data.mv_size;
  return rc;
}

int lmdb_w_del_records(struct cache_lmdb *l, uint64_t hash, uint64_t id) {
  uint8_t kb[LMDB_OKEY_LEN];
  uint64_t h, i;
  uint32_t rec;
  MDB_val k, v;
  int rc;

  for (;;) {
    lmdb_okey(kb, hash, id, 0);
    k = val(kb, sizeof kb);
    rc = wcursor(l, DB_OBJECTS, &k, &v, MDB_SET_RANGE);
    if (rc == -ENOENT)
      return 0;
    if (rc != 0)
      return rc;
    if (!lmdb_okey_parse(k.mv_data, k.mv_size, &h, &i, &rec) || h != hash ||
        i != id)
      return 0;
    lmdb_okey(kb, hash, id, rec);
    if ((rc = lmdb_w_del(l, DB_OBJECTS, kb, sizeof kb, NULL, 0)) != 0)
      return rc;
  }
}

int lmdb_w_usage(struct cache_lmdb *l, uint64_t *bytes) {
  return txn_usage(l->env, l->env->wtxn, bytes);
}
