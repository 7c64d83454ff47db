/*
 * LMDB tier internals, shared by cache/lmdb_tier.c (every mdb_* call),
 * cache/lmdb_writer.c (lifecycle, queues, writer thread), cache/lmdb_ops.c
 * (write operations), cache/lmdb_fill.c (incremental stores) and
 * cache/lmdb_record.c (pure byte formats). Contract in cache/lmdb_tier.h.
 *
 * Byte formats. Integers in keys are big-endian (so memcmp orders them);
 * integers in values are little-endian. Nothing is a raw struct dump.
 *
 * objects key (20): hash u64 BE, id u64 BE, record u32 BE.
 * Header record (record 0), LMDB_HDR_FIXED bytes then strings:
 *    0  u64 checksum: XXH3-64 of bytes [8, len)
 *    8  u32 magic LMDB_HDR_MAGIC      12 u32 format CACHE_LMDB_FORMAT
 *   16  u32 record length (len)       20 u32 body chunk count
 *   24  u64 object id                 32 u64 key hash
 *   40  u64 body length
 *   48  u32 key_len, vary_key_len, vary_names_len, etag_len, head_len
 *   68  u32 presence: bit 0 vary_names, bit 1 etag
 *   72  i32 status                    76 u32 meta flags
 *   80  i64 request_ms, response_ms, date_s, age_s, lifetime_ms, swr_ms,
 *           sie_ms, last_modified_s
 *  144  key, vary_key, vary_names, etag, head: each followed by '\0'
 * Body record (records 1..n): u64 checksum (XXH3-64 of the data seeded with
 *   id and record number, so a chunk only verifies at its own place), then
 *   the data: CACHE_CHUNK_SIZE bytes, the last one the rest.
 * urls key: primary key (first LMDB_URL_PREFIX_MAX bytes) '\0' id u64 BE.
 * tags: tag (<= LMDB_KEY_MAX bytes) -> id u64 BE, dupsort.
 * lru key (16): access ms u64 BE, id u64 BE -> hash u64 LE.
 * byid key (8): id u64 BE -> hash u64 LE, access ms u64 LE.
 * meta "format": "strata-lmdb\0" (12), version u32 LE, chunk size u32 LE.
 * meta "next_id": u64 LE, the next id to hand out (ids start at 1).
 * meta fill marker (LMDB_FILL_KEY_LEN = 12): "fill" then id u64 BE -> hash
 *   u64 LE. Names a fill under way: written with its first chunk record,
 *   deleted with its header (done) or its records (aborted), in the same
 *   txn. Body records without a header are a fill's when marked (skipped),
 *   else debris. Open deletes the records of every marker left (a crash).
 *   Older builds of format 1 ignore the key (they see the records as
 *   debris), so the format stays 1.
 */
#ifndef CACHE_LMDB_INT_H
#define CACHE_LMDB_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/lmdb_tier.h"
#include "cache/obj.h"

#define LMDB_HDR_MAGIC 0x31485453u /* "STH1" */
#define LMDB_HDR_FIXED 144u
#define LMDB_OKEY_LEN 20u
#define LMDB_LKEY_LEN 16u
#define LMDB_CHUNK_SUM 8u
#define LMDB_KEY_MAX 511u /* LMDB's default maximum key size */
#define LMDB_URL_PREFIX_MAX (LMDB_KEY_MAX - 9u)
#define LMDB_FORMAT_NAME "strata-lmdb"
#define LMDB_FORMAT_LEN 20u
#define LMDB_BYID_LEN 16u
#define LMDB_FILL_PREFIX "fill"
#define LMDB_FILL_KEY_LEN 12u

/* Internal error for MDB_MAP_FULL, distinct from a full disk (-ENOSPC). */
#define LMDB_E_MAPFULL (-ENOBUFS)

/* A decoded header: pointers into the record (borrowed, NUL-terminated). */
struct lmdb_hdr {
  uint64_t id, hash, body_len;
  uint32_t nchunks;
  const char *key, *vary_key, *vary_names, *etag, *head;
  uint32_t key_len, vary_key_len, head_len;
  struct cache_meta meta;
};

struct lmdb_tag_iter {
  const char *p, *end;  /* the rest of the head */
  const char *v, *vend; /* the rest of the current Surrogate-Key value */
};

/* lmdb_record.c: pure. */
void lmdb_be64_put(uint8_t *p, uint64_t v);
uint64_t lmdb_be64_get(const uint8_t *p);
void lmdb_le64_put(uint8_t *p, uint64_t v);
uint64_t lmdb_le64_get(const uint8_t *p);
void lmdb_okey(uint8_t k[LMDB_OKEY_LEN], uint64_t hash, uint64_t id,
               uint32_t rec);
bool lmdb_okey_parse(const void *p, size_t n, uint64_t *hash, uint64_t *id,
                     uint32_t *rec);
void lmdb_lkey(uint8_t k[LMDB_LKEY_LEN], uint64_t ms, uint64_t id);
/* Writes the urls key into buf (>= LMDB_KEY_MAX bytes); returns its length. */
size_t lmdb_ukey(uint8_t *buf, const char *key, size_t key_len, uint64_t id);
uint32_t lmdb_nchunks(uint64_t body_len);
uint32_t lmdb_chunk_len(uint64_t body_len, uint32_t idx);
size_t lmdb_hdr_size(const struct cache_obj *o);
void lmdb_hdr_encode(void *buf, const struct cache_obj *o, uint64_t id);
/* The same, with body_len (a fill's) instead of o's published body. */
void lmdb_hdr_encode_len(void *buf, const struct cache_obj *o, uint64_t id,
                         uint64_t body_len);
/* Verifies and decodes; 0 or -EBADMSG. Never trusts a length. */
int lmdb_hdr_decode(struct lmdb_hdr *h, const void *p, size_t n);
/* A BUSY object from h (strings copied), expected_len = body length; its
 * first chunk is sized for the body only when body is true. */
struct cache_obj *lmdb_hdr_obj(const struct lmdb_hdr *h, bool body);
/* Seals a body record: rec holds LMDB_CHUNK_SUM bytes then n data bytes. */
void lmdb_chunk_seal(void *rec, size_t n, uint64_t id, uint32_t idx);
/* Verifies a body record of want data bytes; *data points at them. */
int lmdb_chunk_open(const void *rec, size_t n, uint64_t id, uint32_t idx,
                    size_t want, const void **data);
void lmdb_format_encode(uint8_t out[LMDB_FORMAT_LEN]);
void lmdb_fill_mkey(uint8_t k[LMDB_FILL_KEY_LEN], uint64_t id);
/* 0 when compatible, else -EPROTO with what was found (0s when unreadable). */
int lmdb_format_check(const void *p, size_t n, uint32_t *version,
                      uint32_t *chunk);
void lmdb_tag_iter_init(struct lmdb_tag_iter *it, const char *head,
                        size_t head_len);
bool lmdb_tag_next(struct lmdb_tag_iter *it, const char **tag, size_t *len);
/* Fills the conf defaults; -EINVAL when cf is unusable. */
int lmdb_conf_check(struct cache_lmdb_conf *cf);

/*
 * Writer queue entries (lmdb_writer.c). Fill ops come last: they bypass the
 * queue's limits. FILL_CHUNK and FILL_END are stores (dropped on failure,
 * which fails the fill); FILL_ABORT is a removal (kept and retried).
 */
enum lmdb_op_kind {
  LMDB_OP_STORE,
  LMDB_OP_REMOVE_KEY,
  LMDB_OP_DROP_ID,
  LMDB_OP_FILL_CHUNK, /* body chunk idx: rec, len */
  LMDB_OP_FILL_END,   /* last chunk idx (len may be 0) and the header */
  LMDB_OP_FILL_ABORT, /* deletes the fill's records and marker */
};

struct lmdb_op {
  struct lmdb_op *next;
  enum lmdb_op_kind kind;
  struct cache_obj *obj; /* STORE, or a stored fill's CHUNK/END (rec NULL:
                            bytes from here): the tier's reference */
  struct cache_lmdb_fill *fill; /* FILL_*: a reference */
  uint8_t *rec; /* FILL_CHUNK/END: LMDB_CHUNK_SUM + len bytes, or NULL */
  uint32_t idx, len;
  int err; /* FILL_ABORT: why the fill failed */
  uint64_t hash, id, now_ms, seq;
  size_t bytes;   /* STORE, FILL_CHUNK/END: estimated bytes on disk */
  size_t key_len; /* REMOVE_KEY */
  char key[];
};

static inline bool lmdb_op_is_fill(const struct lmdb_op *op) {
  return op->kind >= LMDB_OP_FILL_CHUNK;
}

struct lmdb_pins;

/*
 * A fill (lmdb_fill.c). Fields are grouped by who may touch them; the
 * published ones are what cache_lmdb_fill_progress reads, lock-free.
 */
struct cache_lmdb_fill {
  unsigned magic;
  unsigned refcnt; /* atomic */
  /* Set at begin, read-only after. */
  bool store; /* lmdb_fill_store's: counted as a store, not a fill */
  uint64_t hash, now_ms, max_bytes;
  size_t hdr_bytes;
  cache_lmdb_fill_notify_fn *notify;
  void (*release)(void *arg);
  void *arg;
  /* Published by the writer (atomic; inflight is also added by the filler). */
  int state; /* enum cache_lmdb_fill_state */
  int err;   /* FAILED: why */
  uint64_t id, committed, inflight;
  /* Under lock: l is NULL once the writer is done with the fill or the tier
   * closed; after that the fill never touches the tier. */
  pthread_mutex_t lock;
  struct cache_lmdb *l;
  bool final_queued; /* END or ABORT queued: nothing more will be */
  /* Filler only. */
  uint8_t *buf; /* the chunk being filled: LMDB_CHUNK_SUM + data */
  size_t buf_len;
  uint64_t appended;
  uint32_t nqueued; /* chunks queued */
  int ferr;         /* sticky: what append returns */
  bool ended;
  /* Writer thread only (the closing thread once the writer is gone). */
  struct cache_obj *stub; /* the tier's reference, until the fill settles */
  struct lmdb_pins *pins; /* set with id: the fill's pin on it, dropped at free */
  bool w_dead;            /* failed: its chunk and end ops are skipped */
  bool w_notify;          /* on the writer's notify list */
  struct cache_lmdb_fill *w_nnext;
  /* Under the writer lock: the tier's open fills (holding a reference). */
  struct cache_lmdb_fill *prev, *next;
  bool registered;
};

struct lmdb_touch {
  uint64_t id, ms;
};

struct lmdb_writer {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  struct lmdb_op *head, **tailp;
  unsigned nops;  /* every queued op */
  unsigned nfill; /* ... of which fill ops (outside queue_max) */
  size_t bytes;   /* pending STORE bytes (fill ops not included) */
  struct lmdb_touch *touches;
  unsigned ntouches, touch_cap;
  uint64_t seq, done_seq; /* enqueued so far; committed or dropped so far */
  bool stop, hold;
  bool disabled;         /* atomic: disk-full back-off */
  bool dead;             /* LMDB panicked: writes off for good */
  uint64_t retry_at_ms;  /* monotonic */
  uint64_t synced_ms;    /* monotonic: last env sync */
  bool dirty;            /* commits since the last env sync */
  uint64_t touch_due_ms; /* monotonic: next drain of the touches */
  unsigned flushers;     /* threads in cache_lmdb_flush */
  bool started;
  struct cache_lmdb_fill *fills; /* registered fills */
  unsigned nfills;
  struct cache_lmdb_fill *notify; /* writer only: fills to notify */
  struct lmdb_pend **pend; /* under lock: removals not committed, by hash */
  unsigned npend;          /* atomic, under lock: entries in pend */
};

struct lmdb_env; /* lmdb_tier.c: MDB_env, dbis, write txn, reader pool */

struct cache_lmdb {
  unsigned magic;
  struct cache_lmdb_conf cf; /* defaults filled; cf.path points at path */
  char *path;
  uint64_t high_bytes, low_bytes;
  uint64_t batch_bytes; /* most store bytes per write txn */
  struct lmdb_env *env;
  struct lmdb_writer w;
  struct cache_lmdb_stats st; /* counters bumped with LMDB_COUNT */
  struct lmdb_pins *pins;     /* lmdb_pin.c; fills hold references too */
};

#define LMDB_COUNT(l, field, n)                                                \
  __atomic_fetch_add(&(l)->st.field, (n), __ATOMIC_RELAXED)

enum {
  LMDB_DB_META,
  LMDB_DB_OBJECTS,
  LMDB_DB_URLS,
  LMDB_DB_TAGS,
  LMDB_DB_LRU,
  LMDB_DB_BYID,
  LMDB_DB_N
};

/*
 * lmdb_tier.c: the environment. lmdb_env_open returns -EPROTO for an
 * incompatible environment (logged), else 0 or -errno; lmdb_env_close
 * releases what it opened (also after a failed open) and NULLs l->env.
 */
int lmdb_env_open(struct cache_lmdb *l);
void lmdb_env_close(struct cache_lmdb *l);
int lmdb_env_flush(struct cache_lmdb *l);
/*
 * The newest variant of key that match accepts, in one read txn: a BUSY
 * object with no body, or (body) a COMPLETE copy. *seen: any variant.
 */
struct cache_obj *lmdb_env_find(struct cache_lmdb *l, uint64_t hash,
                                const char *key, size_t key_len,
                                cache_ram_match_fn *match, void *arg,
                                bool *seen, struct cache_lmdb_ref *ref,
                                bool body);
/* Fills the gauges of *st: used, file and object counts. */
void lmdb_env_gauges(struct cache_lmdb *l, struct cache_lmdb_stats *st);

/*
 * lmdb_tier.c: the write txn, writer thread only. Each returns 0,
 * LMDB_E_MAPFULL, -EIO/-ENOSPC/-EDQUOT/-EFBIG (disk), -ENOENT (get, first,
 * prev_header: nothing there) or another -errno; after an error other than
 * -ENOENT the txn must be aborted. Values returned are borrowed until the
 * next write. lmdb_w_commit also stores the id counter.
 */
int lmdb_w_begin(struct cache_lmdb *l);
int lmdb_w_commit(struct cache_lmdb *l);
void lmdb_w_abort(struct cache_lmdb *l);
uint64_t lmdb_w_new_id(struct cache_lmdb *l);
int lmdb_w_get(struct cache_lmdb *l, int db, const void *k, size_t kn,
               const void **v, size_t *vn);
int lmdb_w_put(struct cache_lmdb *l, int db, const void *k, size_t kn,
               const void *d, size_t dn);
/* Reserves dn bytes for the value of k; the caller fills *p before the next
 * write. */
int lmdb_w_reserve(struct cache_lmdb *l, int db, const void *k, size_t kn,
                   size_t dn, void **p);
/* Deletes k (with data d for dupsort, else d NULL); missing is not an error. */
int lmdb_w_del(struct cache_lmdb *l, int db, const void *k, size_t kn,
               const void *d, size_t dn);
/* The first entry of db at or after key `from` (fromlen 0: the first). */
int lmdb_w_seek(struct cache_lmdb *l, int db, const void *from, size_t fromlen,
                const void **k, size_t *kn, const void **v, size_t *vn);
/* The header of the newest object of hash with an id below `below`. */
int lmdb_w_prev_header(struct cache_lmdb *l, uint64_t hash, uint64_t below,
                       uint64_t *id, const void **v, size_t *vn);
/* Deletes every objects record of (hash, id). */
int lmdb_w_del_records(struct cache_lmdb *l, uint64_t hash, uint64_t id);
/* Live bytes: the pages of every tree, in the write txn. */
int lmdb_w_usage(struct cache_lmdb *l, uint64_t *bytes);

/*
 * lmdb_ops.c, writer thread only. make_room evicts in txns of its own when
 * live bytes + need would pass the high watermark (or always, with force).
 * apply runs one txn: ops (stores only when asked; fill ops always),
 * touches, eviction.
 * Both return as the lmdb_w_* primitives do.
 */
int lmdb_ops_make_room(struct cache_lmdb *l, uint64_t need, bool force);
int lmdb_ops_apply(struct cache_lmdb *l, struct lmdb_op *ops,
                   const struct lmdb_touch *touches, unsigned ntouches,
                   bool stores);

/* lmdb_writer.c */
int lmdb_writer_start(struct cache_lmdb *l);
void lmdb_writer_stop(struct cache_lmdb *l);
/* Queues op; 0, -EAGAIN when full (never for fill ops and removals), or
 * -EALREADY for a removal already queued (lmdb_pend_note): not queued. */
int lmdb_queue_op(struct cache_lmdb *l, struct lmdb_op *op);
void lmdb_op_free(struct lmdb_op *op);
void lmdb_queue_drop(struct cache_lmdb *l, uint64_t hash, uint64_t id);
void lmdb_queue_touch(struct cache_lmdb *l, uint64_t id, uint64_t ms);
/* Test hook: while held, the writer takes nothing from its queue. */
void lmdb_writer_hold(struct cache_lmdb *l, bool hold);

/*
 * lmdb_queue.c: removals not committed yet, by key hash. note (called
 * under the writer lock for every op queued): a removal is added, or false
 * when the same key's removal is queued and still the newest op of its
 * hash (not to be queued); any other op ends that. done (under the writer
 * lock, once a removal is committed or dropped) takes it off. has: whether
 * a removal of hash is pending (lookups then miss). free: at stop.
 */
bool lmdb_pend_note(struct cache_lmdb *l, const struct lmdb_op *op);
void lmdb_pend_done(struct cache_lmdb *l, const struct lmdb_op *op);
bool lmdb_pend_has(struct cache_lmdb *l, uint64_t hash);
void lmdb_pend_free(struct cache_lmdb *l);
/* lmdb_fill.c: a COMPLETE object larger than a write batch, queued as a
 * fill whose ops copy their bytes from o. 0, -E2BIG, -EAGAIN, -ENOSPC. */
int lmdb_fill_store(struct cache_lmdb *l, struct cache_obj *o,
                    uint64_t now_ms);

/*
 * lmdb_fill.c, writer side. settle: the fate of a fill op after its round
 * (rc 0: committed; keep: failed removals are retried): true when op is
 * to be requeued (an ABORT, maybe converted from the op). fail_op: fails
 * op's fill and turns op into its ABORT; false when the fill had failed
 * already (drop op). Both may queue notifies, which notify_all runs; call
 * it with no lock held. close fails the fills not ended (before the writer
 * drains), detach_all settles what is left once it is gone. recover
 * deletes unfinished fills at open.
 */
bool lmdb_fill_settle(struct cache_lmdb *l, struct lmdb_op *op, int rc,
                      bool keep);
bool lmdb_fill_fail_op(struct cache_lmdb *l, struct lmdb_op *op, int err);
void lmdb_fill_notify_all(struct cache_lmdb *l);
void lmdb_fill_close(struct cache_lmdb *l);
void lmdb_fill_detach_all(struct cache_lmdb *l);
void lmdb_fill_recover(struct cache_lmdb *l);

/*
 * lmdb_pin.c: pinned object ids (protocol in that file). take: 0, or
 * -ENOENT when id is being deleted or its header is gone. claim (writer,
 * in its txn, before deleting id): true when id is not pinned (it is doomed
 * until txn_end); false when it is, and with orphan it is marked so: the
 * caller deletes the header, keeps the records and writes id's marker.
 * released: orphans with no pin left, whose records the writer deletes in
 * this txn. txn_end: after every writer txn that claimed or released.
 */
struct lmdb_pin_rel {
  uint64_t id, hash;
};
struct lmdb_pins *lmdb_pins_new(void);
struct lmdb_pins *lmdb_pins_ref(struct lmdb_pins *p);
void lmdb_pins_unref(struct lmdb_pins **pp);
uint64_t lmdb_pins_gen(struct lmdb_pins *p);
int lmdb_pin_take(struct lmdb_pins *p, uint64_t id, uint64_t hash);
void lmdb_pin_drop(struct lmdb_pins *p, uint64_t id);
bool lmdb_pin_claim(struct lmdb_pins *p, uint64_t id, uint64_t hash,
                    bool orphan);
size_t lmdb_pin_released(struct lmdb_pins *p, struct lmdb_pin_rel *out,
                         size_t max);
void lmdb_pin_txn_end(struct lmdb_pins *p, bool committed);
/* Pins held now (all ids): for tests and stats. */
size_t lmdb_pins_count(struct lmdb_pins *p);

#endif
