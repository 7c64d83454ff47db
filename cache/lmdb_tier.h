/*
 * LMDB disk tier: COMPLETE objects kept in an LMDB environment that
 * survives restarts and crashes. Layout (named databases, see
 * cache/lmdb_int.h for the byte formats):
 *   meta     format record ("strata-lmdb", version, chunk size), next id
 *   objects  hash(8 BE) + id(8 BE) + record(4 BE) -> header (record 0) or
 *            body chunk (records 1..n, CACHE_CHUNK_SIZE bytes but the last)
 *   urls     primary key (first 502 bytes) + '\0' + id -> ""
 *   tags     Surrogate-Key tag -> id (dupsort)
 *   lru      access ms(8 BE) + id -> hash      (eviction order)
 *   byid     id -> hash + access ms            (finds an object's lru entry)
 * Object ids come from a counter in meta and are never reused, so a reader
 * that streams chunk by chunk can never mix two objects' bytes.
 *
 * Threads: every function but open/close may be called from any thread.
 * Reads run in read-only transactions taken from a pool in the tier
 * (MDB_NOTLS; each pooled txn keeps its reader slot and is renewed for a
 * call and reset after it), so a lookup takes no reader-table lock and
 * never pins old pages between calls. Lookups never block on the writer.
 * All writes go through one writer thread fed by a bounded queue: stores,
 * removals and access times are batched into one write transaction per
 * round (group commit). Nothing on the request path waits for a commit.
 *
 * Ownership: the tier takes its own reference on a stored object until the
 * writer has written it. Lookups return new objects with one reference,
 * owned by the caller; they share nothing with the environment.
 *
 * Pins: a reader streaming an object chunk by chunk pins it (lookup_head
 * does; a fill pins its own object), so eviction, removal and replacement
 * never cut a response in flight: a pinned object's body records are
 * deleted only after its last pin is dropped (named by a meta marker
 * meanwhile, so a crash leaves nothing behind).
 *
 * Fills: an object too large for RAM is written incrementally (see
 * cache_lmdb_fill_begin): its body chunks are committed as they arrive,
 * readable through a cache_lmdb_ref before the object is complete, and its
 * header, written last, is what makes it findable. A meta marker names
 * every fill under way, so a crash leaves no garbage: open deletes them.
 *
 * Failure: LMDB values are external input. A header or chunk whose checksum
 * or length does not verify is a miss, counted, and queued for removal.
 * MDB_MAP_FULL, a full disk (EIO, ENOSPC, EDQUOT, EFBIG) or a full queue
 * drop writes and count them; reads keep working. After a full disk, stores
 * are refused for retry_ms; then the writer probes with a commit of its
 * own (nothing needs to be queued) and writes resume once one succeeds.
 */
#ifndef CACHE_LMDB_TIER_H
#define CACHE_LMDB_TIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/obj.h"
#include "cache/ram.h"

#define CACHE_LMDB_MAGIC 0x6c6d6462u

/* The most variants (Vary) of one key kept on disk: storing a new one
 * beyond it deletes the key's oldest (counted in replaces), so lookups,
 * which read every header of a key, stay cheap. */
#define CACHE_LMDB_MAX_VARIANTS CACHE_RAM_MAX_VARIANTS

/* On-disk format of this build: bump on any change of a record's layout. */
#define CACHE_LMDB_FORMAT 1u

enum cache_lmdb_durability {
  /*
   * Default. MDB_NOMETASYNC: every commit fdatasyncs its data pages; the
   * meta page is flushed by the next commit or by the writer's sync every
   * sync_interval_ms. Integrity survives process and OS crashes; an OS
   * crash may undo the last commit (at most sync_interval_ms of writes).
   */
  CACHE_LMDB_SAFE,
  /*
   * MDB_NOSYNC: no fsync at commit; the writer syncs every
   * sync_interval_ms. A process crash loses nothing committed (the page
   * cache has it); an OS crash loses up to the last interval AND may
   * corrupt the environment (the disk may reorder the meta page before
   * data pages). Only for caches you are willing to wipe.
   */
  CACHE_LMDB_FAST,
  /* Both data and meta pages synced at every commit: nothing is lost. */
  CACHE_LMDB_SYNC,
};

/* Zero fields take the defaults in brackets. */
struct cache_lmdb_conf {
  const char *path;   /* directory, created 0700 when missing */
  uint64_t map_bytes; /* map size: the most the data file may grow to */
  unsigned high_pct;  /* [90] evict when usage exceeds this % of the map */
  unsigned low_pct;   /* [75] ... down to this % */
  enum cache_lmdb_durability durability; /* [CACHE_LMDB_SAFE] */
  unsigned sync_interval_ms;             /* [1000] SAFE and FAST */
  unsigned max_readers;      /* [126] reader slots (pooled read txns) */
  bool rebuild_incompatible; /* start empty instead of refusing */
  unsigned queue_max;        /* [16384] pending writes (see remove_key) */
  size_t
      queue_bytes; /* [64 MiB] pending store bytes (one store may exceed it) */
  unsigned retry_ms;  /* [5000] back-off after a failed commit (disk full) */
  unsigned max_fills; /* [64] fills open at once (cache_lmdb_fill_begin) */
  uint64_t max_fill_bytes; /* [map_bytes / 4] the largest body a fill takes */
};

struct cache_lmdb;

/*
 * Identifies a stored object for cache_lmdb_read_chunk. Plain value: copy
 * it freely; it stays valid (reads verify it) until the object is removed,
 * replaced or evicted, after which reads return -ENOENT.
 */
struct cache_lmdb_ref {
  uint64_t hash;
  uint64_t id; /* never reused */
  uint64_t body_len;
  uint32_t nchunks; /* body chunks: ceil(body_len / CACHE_CHUNK_SIZE) */
};

/* Counters since open, and gauges. */
struct cache_lmdb_stats {
  uint64_t map_bytes;
  uint64_t used_bytes; /* pages holding live data (what eviction limits) */
  uint64_t file_bytes; /* high-water mark of the data file */
  uint64_t objects;    /* stored objects (variants count one each) */
  uint64_t hits, misses;
  uint64_t corrupt;          /* headers or chunks that failed verification */
  uint64_t read_errors;      /* LMDB errors on reads (reader slots full, ...) */
  uint64_t stores;           /* objects written (committed) */
  uint64_t replaces; /* objects a store replaced: same key + vary_key, or the
                        key's oldest variant beyond CACHE_LMDB_MAX_VARIANTS */
  uint64_t store_queue_full; /* cache_lmdb_store, _fill_begin -EAGAIN */
  uint64_t store_refused;    /* -E2BIG, -ENOSPC (writes disabled); both */
  uint64_t store_dropped;    /* queued stores dropped: disk full, map full */
  uint64_t removes;          /* objects removed by key or for corruption */
  uint64_t evictions;        /* objects evicted for space */
  uint64_t map_full;         /* MDB_MAP_FULL seen by the writer */
  uint64_t disk_errors;      /* commits failed with EIO/ENOSPC/EDQUOT/EFBIG */
  uint64_t commits;
  uint64_t touches_dropped; /* access times lost to a full touch queue */
  uint64_t stale_readers; /* reader slots cleared at open (mdb_reader_check) */
  uint64_t fills_started; /* cache_lmdb_fill_begin successes */
  uint64_t fills_done;    /* fills committed whole (not in stores) */
  uint64_t fills_failed;  /* begun, then aborted or failed (any cause) */
  uint64_t fills_cleaned; /* unfinished fills deleted at open (crash) */
  bool writes_disabled;   /* in the disk-full back-off now */
};

/*
 * Opens (creating when missing) the environment at cf->path, deletes the
 * records of fills a crash left unfinished (logged, fills_cleaned) and
 * starts the writer thread. No work proportional to the number of stored
 * objects: the tier serves hits as soon as this returns. Returns NULL and sets
 * *err: -EPROTO for an incompatible format (logged with both versions) unless
 * cf->rebuild_incompatible, -EINVAL for a bad conf, else -errno / -EIO.
 * Single owner: release with cache_lmdb_close.
 */
struct cache_lmdb *cache_lmdb_open(const struct cache_lmdb_conf *cf, int *err);

/*
 * Writes what is queued (a last group commit, ended fills included), fails
 * the fills not ended yet (their records are deleted), syncs, stops the
 * writer and closes the environment; *lp = NULL. No other call on the tier
 * may be running; fills may still be referenced (see cache_lmdb_fill).
 */
void cache_lmdb_close(struct cache_lmdb **lp);

/*
 * Queues o (COMPLETE, asserted) for writing; the tier takes a reference and
 * drops it once written or dropped. An object with the same key and
 * vary_key is replaced in the same transaction. now_ms (wall clock) is its
 * first access time for eviction. An object larger than one write batch
 * is written across several commits, like a fill (marked, header last:
 * found only whole; counted in stores, not fills; at most max_fills at
 * once). Returns 0 when queued, -EAGAIN when the queue is full (or
 * max_fills fills are open), -ENOSPC while writes are disabled (disk full
 * back-off), -E2BIG when the body exceeds max_fill_bytes. Never blocks on
 * I/O and copies no body bytes.
 */
int cache_lmdb_store(struct cache_lmdb *l, struct cache_obj *o,
                     uint64_t now_ms);

/*
 * Finds the newest variant of key (hash = its XXH3) for which match(o, arg)
 * is true (match NULL: any) and returns a NEW COMPLETE object holding a copy
 * of the whole body, with one reference. *key_seen (may be NULL): whether
 * any variant of key is stored. Records an access at now_ms (batched, no
 * write per hit). match runs on a temporary object: same rules as for the
 * RAM tier. The body is copied once, within one read transaction (so it is
 * one consistent version). For large bodies use cache_lmdb_lookup_head.
 */
struct cache_obj *cache_lmdb_lookup(struct cache_lmdb *l, uint64_t hash,
                                    const char *key, size_t key_len,
                                    cache_ram_match_fn *match, void *arg,
                                    bool *key_seen, uint64_t now_ms);

/*
 * Like cache_lmdb_lookup, but reads no body: returns a BUSY object with the
 * stored metadata, head and expected_len = body length, no body bytes, one
 * reference, and fills *ref. The caller appends the body (chunks from
 * cache_lmdb_read_chunk, in order) and finishes the object COMPLETE, or
 * FAILED when a read fails, exactly like an origin fetch; other readers may
 * stream it meanwhile.
 * The object is PINNED for the caller, who must call cache_lmdb_unpin(l,
 * ref) once done reading (before cache_lmdb_close). While pinned, eviction
 * passes it over, and a removal or replacement deletes its header at once
 * (lookups stop finding it) but keeps its body records, so every chunk
 * stays readable until the last pin goes; then the writer deletes them.
 */
struct cache_obj *cache_lmdb_lookup_head(struct cache_lmdb *l, uint64_t hash,
                                         const char *key, size_t key_len,
                                         cache_ram_match_fn *match, void *arg,
                                         bool *key_seen, uint64_t now_ms,
                                         struct cache_lmdb_ref *ref);

/*
 * Copies body chunk idx (0-based: bytes idx * CACHE_CHUNK_SIZE onwards) of
 * ref's object into buf, verifying its checksum and length. Returns the
 * number of bytes (CACHE_CHUNK_SIZE but for the last chunk), -ERANGE when
 * idx >= ref->nchunks, -ENOBUFS when cap is too small, -ENOENT when the
 * object is gone, -EBADMSG when the chunk is corrupt (counted, queued for
 * removal), -EIO on another LMDB error.
 */
int cache_lmdb_read_chunk(struct cache_lmdb *l,
                          const struct cache_lmdb_ref *ref, uint32_t idx,
                          void *buf, size_t cap);

/* Drops a pin taken by cache_lmdb_lookup_head (or _pin_more). Any thread. */
void cache_lmdb_unpin(struct cache_lmdb *l, const struct cache_lmdb_ref *ref);
/* One more pin on an object the caller holds pinned (e.g. a second reader
 * of the same stub). Any thread. */
void cache_lmdb_pin_more(struct cache_lmdb *l,
                         const struct cache_lmdb_ref *ref);

/* Whether ref's object (pinned by the caller) is still the stored one: no
 * removal or replacement deleted it, and no removal of its key is queued.
 * A promotion into RAM checks it, so an invalidation that came while the
 * body was read does not put the old copy back. Any thread. */
bool cache_lmdb_current(struct cache_lmdb *l, const struct cache_lmdb_ref *ref);

/*
 * Queues the removal of every variant of key, committed by the writer
 * later; from this call on, lookups of key (its hash) miss until that
 * commit, so nothing stored before reappears, while a store queued after
 * the removal is found once committed. Returns 0: never refused, not even
 * by a full queue (a removal of a key whose removal is still queued, with
 * nothing of its hash queued since, is not queued twice). Removals are kept
 * and retried while writes are disabled (lookups of the key miss
 * meanwhile). Call it before removing the key from RAM.
 */
int cache_lmdb_remove_key(struct cache_lmdb *l, uint64_t hash, const char *key,
                          size_t key_len);

/*
 * Blocks until everything queued before the call is committed (or
 * dropped). For shutdown, admin and tests; never on the request path.
 */
void cache_lmdb_flush(struct cache_lmdb *l);

/* Fills *st; the gauges are read in a read transaction. */
void cache_lmdb_stats(struct cache_lmdb *l, struct cache_lmdb_stats *st);

/* ---- fills: incremental stores ---- */

/*
 * A fill in progress. Refcounted (atomic): the caller's references, plus
 * the tier's own until the writer is done with it. Threads: one thread,
 * the filler, calls append and end; progress, ref and unref may be called
 * from any thread. A fill may outlive the tier (references still held at
 * cache_lmdb_close): it then never touches the tier again, progress reports
 * its last state and append returns its error. The stub may hold a fill
 * reference (as its body): the tier drops its stub reference once the
 * writer is done with the fill, which breaks that cycle.
 */
struct cache_lmdb_fill;

enum cache_lmdb_fill_state {
  CACHE_LMDB_FILL_OPEN,   /* body arriving: whole committed chunks readable */
  CACHE_LMDB_FILL_DONE,   /* stored: lookups find it like any object */
  CACHE_LMDB_FILL_FAILED, /* its records are deleted (or will be) */
};

/* Queued-but-uncommitted bytes at which append asks the filler to pause. */
#define CACHE_LMDB_FILL_INFLIGHT (4u * CACHE_CHUNK_SIZE)

/*
 * Called on the writer thread, without any tier lock held, after each
 * commit that advanced the fill's committed length or changed its state,
 * and once when the fill fails for any reason (map full, disk full, writer
 * dead, close). At cache_lmdb_close, a fill the writer could not reach is
 * failed and notified on the closing thread instead. Must not call into the
 * tier except cache_lmdb_fill_progress; it may take locks of its own.
 */
typedef void cache_lmdb_fill_notify_fn(void *arg);

/*
 * Starts an incremental store of stub: a BUSY object with key, vary_key,
 * vary_names, etag, head and meta set; its body, if any, is ignored. The
 * tier takes a reference on stub until the writer is done with the fill
 * (DONE, or FAILED and cleaned up), and writes the header from it last,
 * with the final body length. now_ms (wall
 * clock) is the first access time. expected_len (CACHE_LEN_UNKNOWN allowed)
 * is only checked against the fill limit. notify(arg) as above;
 * release(arg) (may be NULL) is called exactly once, when the fill is freed
 * (last unref), after the last notify. Returns a fill with ONE reference,
 * owned by the caller, who must end it (cache_lmdb_fill_end) and unref it.
 * NULL with *err, and nothing taken (release not called): -ENOSPC while
 * writes are disabled, -E2BIG when expected_len exceeds max_fill_bytes,
 * -EAGAIN when max_fills fills are open. Never blocks on I/O.
 */
struct cache_lmdb_fill *
cache_lmdb_fill_begin(struct cache_lmdb *l, struct cache_obj *stub,
                      uint64_t expected_len, uint64_t now_ms,
                      cache_lmdb_fill_notify_fn *notify,
                      void (*release)(void *arg), void *arg, int *err);

/*
 * Filler: appends body bytes. They are copied into the fill's current
 * chunk buffer; each full buffer is queued to the writer as one chunk
 * record (the queue owns it: no second copy). Fill chunks bypass the
 * queue's count and byte limits. Returns 0; 1 when the bytes were taken
 * but at least CACHE_LMDB_FILL_INFLIGHT bytes are queued and not yet
 * committed: stop feeding until notify reports progress and
 * cache_lmdb_fill_progress says *inflight_ok. Or, once the fill has failed,
 * a negative error, returned again by every later append: -E2BIG (body past
 * max_fill_bytes), -ENOSPC (disk full, writes disabled), -ENOBUFS (map
 * full), -EIO (writer dead, tier closed, other). The caller must still call
 * cache_lmdb_fill_end.
 */
int cache_lmdb_fill_append(struct cache_lmdb_fill *f, const void *p, size_t n);

/*
 * Filler, once: ends the fill. complete: the last partial chunk and the
 * header (final body length, chunk count) are queued; the writer commits
 * them in one txn with the urls, tags, lru and byid entries and the removal
 * of any object with the same key and vary_key, then the state is DONE and
 * lookups find it. !complete, or a fill that failed: the writer deletes
 * every record written under its id; the state is FAILED. Never blocks on
 * I/O. The caller's reference stays (drop it with cache_lmdb_fill_unref).
 */
void cache_lmdb_fill_end(struct cache_lmdb_fill *f, bool complete);

/*
 * Any thread: what readers may read now. Returns the state. Each output
 * may be NULL. *committed: body bytes in committed records (whole chunks
 * while OPEN, the full length once DONE). *ref: hash, id, body_len =
 * *committed, nchunks = committed chunks, so cache_lmdb_read_chunk(l, ref,
 * idx, ...) works for idx < ref->nchunks even while OPEN (ids are never
 * reused; before the first commit nchunks is 0). *inflight_ok: OPEN and
 * the queued-but-uncommitted bytes are below CACHE_LMDB_FILL_INFLIGHT.
 */
enum cache_lmdb_fill_state cache_lmdb_fill_progress(struct cache_lmdb_fill *f,
                                                    uint64_t *committed,
                                                    struct cache_lmdb_ref *ref,
                                                    bool *inflight_ok);

/* A new reference to f. */
struct cache_lmdb_fill *cache_lmdb_fill_ref(struct cache_lmdb_fill *f);
/* Drops one reference, from any thread; *fp is NULL afterwards. */
void cache_lmdb_fill_unref(struct cache_lmdb_fill **fp);

#endif
