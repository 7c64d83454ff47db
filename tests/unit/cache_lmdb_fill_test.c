/*
 * cache/lmdb_fill.c on real LMDB files in a temp dir (mkdtemp under /tmp,
 * removed at the end): fills committed chunk by chunk, read while open,
 * completed, aborted, replacing a variant, cut by a crash (a child process
 * that exits mid-fill) or by close, past the size limit, throttled by the
 * in-flight limit, and failed by a full map.
 *
 * The test includes lmdb.h only to look behind the tier's back: after
 * close, it counts the fill markers and the records of a key hash.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <xxhash.h>

#include "cache/lmdb_int.h"
#include "cache/lmdb_tier.h"

#define MiB (1024u * 1024u)
#define CHUNK ((size_t)CACHE_CHUNK_SIZE)

static const struct cache_meta meta = {
    .status = 200, .lifetime_ms = 5000, .swr_ms = -1, .sie_ms = -1};

static char dir[64];
static char buf[CACHE_CHUNK_SIZE]; /* one chunk read back */

/* What the callbacks saw. */
struct seen {
  unsigned notified, released; /* atomic */
};

static char byte_at(uint64_t seed, uint64_t pos) {
  return (char)(((pos + seed) * 2654435761u) >> 13);
}

static uint64_t hash_of(const char *key) {
  return XXH3_64bits(key, strlen(key));
}

static struct cache_obj *stub(const char *key, const char *vk) {
  size_t vlen = vk != NULL ? strlen(vk) : 0;

  return cache_obj_new(hash_of(key), key, strlen(key), vk, vlen,
                       vk != NULL ? "accept-language" : NULL, "\"f\"",
                       "Surrogate-Key: big\r\n", 20, &meta, CACHE_LEN_UNKNOWN);
}

static bool bytes_are(const char *p, size_t n, uint64_t seed, uint64_t from) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != byte_at(seed, from + i))
      return false;
  return true;
}

static bool body_is(const struct cache_obj *o, size_t len, uint64_t seed) {
  struct cache_obj_cursor cur;
  struct cache_chunk *c;
  const char *p;
  size_t n, pos = 0;

  if (cache_obj_state(o) != CACHE_OBJ_COMPLETE || cache_obj_body_len(o) != len)
    return false;
  cache_obj_cursor_init(&cur, o);
  for (; (n = cache_obj_read(&cur, o, &p, &c, SIZE_MAX)) > 0; pos += n)
    if (!bytes_are(p, n, seed, pos))
      return false;
  return pos == len;
}

static bool match_vary(const struct cache_obj *o, void *arg) {
  const char *want = arg;

  return o->vary_key_len == strlen(want) &&
         memcmp(o->vary_key, want, o->vary_key_len) == 0;
}

static struct cache_obj *get(struct cache_lmdb *l, const char *key,
                             const char *vk, bool *seen) {
  return cache_lmdb_lookup(l, hash_of(key), key, strlen(key),
                           vk != NULL ? match_vary : NULL, (void *)vk, seen,
                           1000);
}

static void put(struct cache_lmdb *l, const char *key, const char *vk,
                size_t len, uint64_t seed) {
  struct cache_obj *o = stub(key, vk);

  for (size_t i = 0; i < len; i++) {
    char c = byte_at(seed, i);

    cache_obj_append(o, &c, 1);
  }
  cache_obj_finish(o, CACHE_OBJ_COMPLETE);
  assert_int_equal(cache_lmdb_store(l, o, 10), 0);
  cache_obj_unref(&o);
}

/* key (variant vk) is found, with this body. */
static void expect_body(struct cache_lmdb *l, const char *key, const char *vk,
                        size_t len, uint64_t seed) {
  struct cache_obj *o = get(l, key, vk, NULL);

  assert_true(o != NULL && body_is(o, len, seed));
  cache_obj_unref(&o);
}

/* Chunk idx of ref reads whole and right. */
static void expect_chunk(struct cache_lmdb *l, const struct cache_lmdb_ref *ref,
                         uint32_t idx, uint64_t seed) {
  assert_int_equal(cache_lmdb_read_chunk(l, ref, idx, buf, sizeof buf),
                   CACHE_CHUNK_SIZE);
  assert_true(bytes_are(buf, sizeof buf, seed, (uint64_t)idx * sizeof buf));
}

static enum cache_lmdb_fill_state state_of(struct cache_lmdb_fill *f) {
  return cache_lmdb_fill_progress(f, NULL, NULL, NULL);
}

static void on_notify(void *arg) {
  struct seen *s = arg;

  __atomic_add_fetch(&s->notified, 1, __ATOMIC_RELAXED);
}

static void on_release(void *arg) {
  struct seen *s = arg;

  __atomic_add_fetch(&s->released, 1, __ATOMIC_RELAXED);
}

static struct cache_lmdb_fill *begin(struct cache_lmdb *l, const char *key,
                                     const char *vk, struct seen *s) {
  struct cache_obj *o = stub(key, vk);
  int err = 0;
  struct cache_lmdb_fill *f = cache_lmdb_fill_begin(
      l, o, CACHE_LEN_UNKNOWN, 100, s != NULL ? on_notify : NULL,
      s != NULL ? on_release : NULL, s, &err);

  cache_obj_unref(&o); /* the fill holds its own reference */
  assert_non_null(f);
  assert_int_equal(err, 0);
  return f;
}

/* Appends body bytes [from, to) in odd-sized pieces; the last result. */
static int feed(struct cache_lmdb_fill *f, uint64_t seed, size_t from,
                size_t to) {
  static char in[100003];
  int rc = 0;

  while (from < to && rc >= 0) {
    size_t n = to - from < sizeof in ? to - from : sizeof in;

    for (size_t i = 0; i < n; i++)
      in[i] = byte_at(seed, from + i);
    rc = cache_lmdb_fill_append(f, in, n);
    from += n;
  }
  return rc;
}

static struct cache_lmdb_conf conf(uint64_t map) {
  return (struct cache_lmdb_conf){
      .path = dir, .map_bytes = map, .durability = CACHE_LMDB_FAST};
}

static struct cache_lmdb *open_ok(const struct cache_lmdb_conf *cf) {
  int err = 0;
  struct cache_lmdb *l = cache_lmdb_open(cf, &err);

  assert_non_null(l);
  return l;
}

static struct cache_lmdb_stats stats(struct cache_lmdb *l) {
  struct cache_lmdb_stats st;

  cache_lmdb_stats(l, &st);
  return st;
}

static void expect_fills(struct cache_lmdb *l, uint64_t started, uint64_t done,
                         uint64_t failed) {
  struct cache_lmdb_stats st = stats(l);

  assert_int_equal(st.fills_started, started);
  assert_int_equal(st.fills_done, done);
  assert_int_equal(st.fills_failed, failed);
  assert_int_equal(st.corrupt, 0); /* a fill's records are never debris */
}

/* With the tier closed: entries of db whose key starts with prefix. */
static unsigned count(const char *db, const void *prefix, size_t n) {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  MDB_cursor *c;
  MDB_val k = {n, (void *)prefix}, v;
  unsigned found = 0;

  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
  assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
  assert_int_equal(mdb_cursor_open(txn, dbi, &c), 0);
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
       rc == 0 && k.mv_size >= n && memcmp(k.mv_data, prefix, n) == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    found++;
  mdb_cursor_close(c);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return found;
}

static unsigned markers(void) { return count("meta", "fill", 4); }

/* The objects records of hash, any id. */
static unsigned records(uint64_t hash) {
  uint8_t hb[8];

  lmdb_be64_put(hb, hash);
  return count("objects", hb, sizeof hb);
}

static void assert_clean(uint64_t hash) {
  assert_int_equal(markers(), 0);
  assert_int_equal(records(hash), 0);
}

/* Feeds chunk after chunk, pausing as asked, until append fails. */
static int feed_until_fail(struct cache_lmdb *l, struct cache_lmdb_fill *f) {
  size_t at = 0;
  int rc = 0;

  for (; rc >= 0 && at < 16 * MiB; at += CHUNK)
    if ((rc = feed(f, 8, at, at + CHUNK)) == 1)
      cache_lmdb_flush(l);
  return rc;
}

/* Each test starts with no environment. */
static int wipe(void **state) {
  char p[128];

  (void)state;
  snprintf(p, sizeof p, "%s/data.mdb", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", dir);
  unlink(p);
  return 0;
}

static int setup(void **state) {
  (void)state;
  strcpy(dir, "/tmp/strata-fill-XXXXXX");
  return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state) { return wipe(state) + rmdir(dir); }

/*
 * 3.5 chunks: invisible until the end, then found whole, and persisted.
 * notify after each commit that moved the fill; release once, at the last
 * unref.
 */
static void test_fill_complete(void **state) {
  struct cache_lmdb_conf cf = conf(64 * MiB);
  struct cache_lmdb *l = open_ok(&cf);
  const char *key = "https://f.test/big";
  size_t len = 3 * CHUNK + CHUNK / 2;
  struct seen s = {0};
  struct cache_lmdb_fill *f = begin(l, key, NULL, &s), *g;
  struct cache_lmdb_ref ref;
  struct cache_obj *o;
  uint64_t committed;
  bool seen = true;

  (void)state;
  for (unsigned i = 0; i < 3; i++) { /* a commit each */
    assert_int_equal(feed(f, 7, i * CHUNK, (i + 1) * CHUNK), 0);
    cache_lmdb_flush(l);
    assert_int_equal(__atomic_load_n(&s.notified, __ATOMIC_RELAXED), i + 1);
  }
  assert_int_equal(feed(f, 7, 3 * CHUNK, len), 0);
  cache_lmdb_flush(l); /* nothing committed for it: no call */
  assert_null(get(l, key, NULL, &seen));
  assert_false(seen);
  assert_int_equal(cache_lmdb_fill_progress(f, &committed, &ref, NULL),
                   CACHE_LMDB_FILL_OPEN);
  assert_int_equal(committed, 3 * CHUNK);
  g = cache_lmdb_fill_ref(f);
  cache_lmdb_fill_end(f, true);
  cache_lmdb_flush(l);
  assert_int_equal(s.notified, 4); /* DONE */
  assert_int_equal(cache_lmdb_fill_progress(f, &committed, &ref, NULL),
                   CACHE_LMDB_FILL_DONE);
  assert_true(committed == len && ref.body_len == len && ref.nchunks == 4);
  o = get(l, key, NULL, &seen);
  assert_true(o != NULL && body_is(o, len, 7));
  assert_string_equal(o->etag, "\"f\"");
  assert_int_equal(o->meta.lifetime_ms, 5000);
  cache_obj_unref(&o);
  expect_fills(l, 1, 1, 0);
  assert_int_equal(stats(l).objects, 1);
  cache_lmdb_fill_unref(&f);
  assert_int_equal(s.released, 0); /* g still holds it */
  cache_lmdb_fill_unref(&g);
  assert_int_equal(s.released, 1);
  cache_lmdb_close(&l);
  assert_true(s.notified == 4 && s.released == 1);
  l = open_ok(&cf); /* indexed, nothing to clean */
  expect_body(l, key, NULL, len, 7);
  assert_int_equal(stats(l).fills_cleaned, 0);
  cache_lmdb_close(&l);
}

/* Committed chunks are readable by ref while lookups find nothing. */
static void test_fill_readers(void **state) {
  struct cache_lmdb_conf cf = conf(64 * MiB);
  struct cache_lmdb *l = open_ok(&cf);
  const char *key = "https://f.test/r";
  struct cache_lmdb_fill *f = begin(l, key, NULL, NULL);
  struct cache_lmdb_ref ref;
  uint64_t committed;
  bool ok = false;

  (void)state;
  assert_int_equal(cache_lmdb_fill_progress(f, &committed, &ref, &ok),
                   CACHE_LMDB_FILL_OPEN);
  assert_true(committed == 0 && ref.nchunks == 0 && ok);
  assert_true(feed(f, 5, 0, 2 * CHUNK + 10) >= 0);
  cache_lmdb_flush(l);
  /* committed aliasing ref->body_len, as a reader may call it */
  assert_int_equal(cache_lmdb_fill_progress(f, &ref.body_len, &ref, &ok),
                   CACHE_LMDB_FILL_OPEN);
  assert_true(ref.body_len == 2 * CHUNK && ref.nchunks == 2);
  assert_true(ref.hash == hash_of(key) && ref.id != 0);
  expect_chunk(l, &ref, 0, 5);
  expect_chunk(l, &ref, 1, 5);
  assert_int_equal(cache_lmdb_read_chunk(l, &ref, 2, buf, sizeof buf), -ERANGE);
  assert_null(get(l, key, NULL, NULL));
  cache_lmdb_flush(l); /* a removal, if the lookup had queued one */
  expect_chunk(l, &ref, 1, 5);
  assert_true(feed(f, 5, 2 * CHUNK + 10, 3 * CHUNK) >= 0);
  cache_lmdb_fill_end(f, true);
  cache_lmdb_flush(l);
  assert_int_equal(cache_lmdb_fill_progress(f, NULL, &ref, NULL),
                   CACHE_LMDB_FILL_DONE);
  expect_chunk(l, &ref, 2, 5);
  expect_fills(l, 1, 1, 0);
  cache_lmdb_fill_unref(&f);
  cache_lmdb_close(&l);
}

/* Aborted: records and marker deleted in one txn, the state FAILED. */
static void test_fill_abort(void **state) {
  struct cache_lmdb_conf cf = conf(64 * MiB);
  struct cache_lmdb *l = open_ok(&cf);
  const char *key = "https://f.test/a";
  struct seen s = {0};
  struct cache_lmdb_fill *f = begin(l, key, NULL, &s);
  struct cache_lmdb_ref ref;

  (void)state;
  put(l, "https://f.test/other", NULL, 500, 1);
  assert_true(feed(f, 2, 0, 2 * CHUNK + 99) >= 0);
  cache_lmdb_flush(l);
  cache_lmdb_fill_progress(f, NULL, &ref, NULL);
  expect_chunk(l, &ref, 0, 2);
  cache_lmdb_fill_end(f, false);
  cache_lmdb_flush(l);
  assert_int_equal(state_of(f), CACHE_LMDB_FILL_FAILED);
  assert_int_equal(cache_lmdb_read_chunk(l, &ref, 0, buf, sizeof buf), -ENOENT);
  assert_null(get(l, key, NULL, NULL));
  expect_fills(l, 1, 0, 1);
  assert_int_equal(stats(l).objects, 1);
  assert_true(s.notified >= 2); /* the chunks' commit, the failure */
  cache_lmdb_fill_unref(&f);
  assert_int_equal(s.released, 1);
  cache_lmdb_close(&l);
  assert_clean(hash_of(key));
}

/* A fill replaces the same variant only, in the txn that completes it. */
static void test_fill_replace(void **state) {
  struct cache_lmdb_conf cf = conf(64 * MiB);
  struct cache_lmdb *l = open_ok(&cf);
  const char *key = "https://f.test/v";
  struct cache_lmdb_fill *f;

  (void)state;
  put(l, key, "en", 1000, 1);
  put(l, key, "fr", 2000, 2);
  cache_lmdb_flush(l);
  f = begin(l, key, "en", NULL);
  assert_true(feed(f, 9, 0, CHUNK + CHUNK / 2) >= 0);
  cache_lmdb_flush(l);
  expect_body(l, key, "en", 1000, 1); /* the old one until the fill is done */
  cache_lmdb_fill_end(f, true);
  cache_lmdb_flush(l);
  expect_body(l, key, "en", CHUNK + CHUNK / 2, 9);
  expect_body(l, key, "fr", 2000, 2);
  expect_fills(l, 1, 1, 0);
  assert_int_equal(stats(l).replaces, 1);
  assert_int_equal(stats(l).objects, 2);
  cache_lmdb_fill_unref(&f);
  cache_lmdb_close(&l);
}

/* A child fills two chunks, commits them and dies: open cleans up. */
static void test_fill_crash(void **state) {
  struct cache_lmdb_conf cf = conf(64 * MiB);
  struct cache_lmdb *l = open_ok(&cf);
  const char *key = "https://f.test/crash";
  int status;
  pid_t pid;

  (void)state;
  put(l, "https://f.test/kept", NULL, 3000, 4);
  cache_lmdb_close(&l);
  if ((pid = fork()) == 0) {
    int err;
    struct cache_lmdb *c = cache_lmdb_open(&cf, &err);
    struct cache_obj *s = stub(key, NULL);
    struct cache_lmdb_fill *f =
        c != NULL ? cache_lmdb_fill_begin(c, s, CACHE_LEN_UNKNOWN, 1, NULL,
                                          NULL, NULL, &err)
                  : NULL;

    if (f == NULL || feed(f, 1, 0, 2 * CHUNK + 5) < 0)
      _exit(1);
    cache_lmdb_flush(c);
    _exit(0); /* no end, no close */
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_int_equal(markers(), 1); /* what the crash left */
  assert_int_equal(records(hash_of(key)), 2);
  l = open_ok(&cf);
  assert_int_equal(stats(l).fills_cleaned, 1);
  assert_null(get(l, key, NULL, NULL));
  expect_body(l, "https://f.test/kept", NULL, 3000, 4);
  cache_lmdb_close(&l);
  assert_clean(hash_of(key));
  l = open_ok(&cf); /* once only */
  assert_int_equal(stats(l).fills_cleaned, 0);
  cache_lmdb_close(&l);
}

/* Past max_fill_bytes: refused at begin, or failed while appending. */
static void test_fill_too_big(void **state) {
  struct cache_lmdb_conf cf = conf(64 * MiB);
  const char *key = "https://f.test/2big";
  struct cache_obj *o = stub(key, NULL);
  struct cache_lmdb_fill *f;
  struct cache_lmdb *l;
  struct seen s = {0};
  int err = 0;

  (void)state;
  cf.max_fill_bytes = MiB;
  l = open_ok(&cf);
  assert_null(
      cache_lmdb_fill_begin(l, o, MiB + 1, 1, on_notify, on_release, &s, &err));
  assert_int_equal(err, -E2BIG);
  assert_int_equal(stats(l).store_refused, 1);
  f = cache_lmdb_fill_begin(l, o, MiB, 1, on_notify, on_release, &s, &err);
  assert_non_null(f);
  cache_obj_unref(&o);
  assert_true(feed(f, 1, 0, MiB) >= 0); /* exactly the limit is fine */
  cache_lmdb_flush(l);
  assert_int_equal(cache_lmdb_fill_append(f, "x", 1), -E2BIG);
  assert_int_equal(cache_lmdb_fill_append(f, "x", 1), -E2BIG);
  cache_lmdb_fill_end(f, true);
  cache_lmdb_flush(l);
  assert_int_equal(state_of(f), CACHE_LMDB_FILL_FAILED);
  assert_null(get(l, key, NULL, NULL));
  expect_fills(l, 1, 0, 1);
  cache_lmdb_fill_unref(&f);
  assert_int_equal(s.released, 1);
  cache_lmdb_close(&l);
  assert_clean(hash_of(key));
}

/* Past CACHE_LMDB_FILL_INFLIGHT uncommitted bytes append asks for a pause. */
static void test_fill_inflight(void **state) {
  struct cache_lmdb_conf cf = conf(64 * MiB);
  struct cache_lmdb *l = open_ok(&cf);
  struct cache_lmdb_fill *f = begin(l, "https://f.test/i", NULL, NULL);
  size_t limit = CACHE_LMDB_FILL_INFLIGHT;
  uint64_t committed;
  bool ok = true;

  (void)state;
  lmdb_writer_hold(l, true);
  assert_int_equal(feed(f, 1, 0, limit - CHUNK), 0);
  assert_int_equal(feed(f, 1, limit - CHUNK, limit), 1);
  assert_int_equal(feed(f, 1, limit, limit + 10), 1); /* still taken */
  cache_lmdb_fill_progress(f, &committed, NULL, &ok);
  assert_true(!ok && committed == 0);
  lmdb_writer_hold(l, false);
  cache_lmdb_flush(l);
  cache_lmdb_fill_progress(f, &committed, NULL, &ok);
  assert_true(ok && committed == limit);
  assert_int_equal(feed(f, 1, limit + 10, limit + 20), 0);
  cache_lmdb_fill_end(f, true);
  cache_lmdb_flush(l);
  cache_lmdb_fill_progress(f, &committed, NULL, &ok);
  assert_true(!ok && committed == limit + 20); /* not OPEN any more */
  cache_lmdb_fill_unref(&f);
  cache_lmdb_close(&l);
}

/* A fill larger than the map: FAILED (-ENOBUFS), cleaned, reads go on. */
static void test_fill_map_full(void **state) {
  struct cache_lmdb_conf cf = conf(4 * MiB);
  const char *key = "https://f.test/huge";
  struct cache_lmdb_fill *f;
  struct cache_lmdb_ref ref;
  struct cache_lmdb *l;
  struct seen s = {0};

  (void)state;
  cf.max_fill_bytes = 64 * MiB;
  l = open_ok(&cf);
  put(l, "https://f.test/small", NULL, 5000, 3);
  f = begin(l, key, NULL, &s);
  assert_int_equal(feed_until_fail(l, f), -ENOBUFS);
  assert_int_equal(cache_lmdb_fill_append(f, "x", 1), -ENOBUFS);
  assert_int_equal(cache_lmdb_fill_progress(f, NULL, &ref, NULL),
                   CACHE_LMDB_FILL_FAILED);
  assert_true(ref.nchunks > 0);
  cache_lmdb_fill_end(f, true);
  put(l, "https://f.test/after", NULL, 5000, 4); /* behind the abort */
  cache_lmdb_flush(l);
  assert_int_equal(cache_lmdb_read_chunk(l, &ref, 0, buf, sizeof buf), -ENOENT);
  expect_body(l, "https://f.test/after", NULL, 5000, 4);
  assert_null(get(l, key, NULL, NULL));
  assert_true(stats(l).map_full > 0);
  expect_fills(l, 1, 0, 1);
  cache_lmdb_fill_unref(&f);
  assert_int_equal(s.released, 1);
  cache_lmdb_close(&l);
  assert_clean(hash_of(key));
}

/* Close with a fill open and still referenced: it fails, outlives the tier. */
static void test_fill_close_open(void **state) {
  struct cache_lmdb_conf cf = conf(64 * MiB);
  struct cache_lmdb *l = open_ok(&cf);
  const char *key = "https://f.test/c";
  struct seen s = {0};
  struct cache_lmdb_fill *f = begin(l, key, NULL, &s);
  uint64_t committed;

  (void)state;
  assert_true(feed(f, 1, 0, 2 * CHUNK + 1) >= 0);
  cache_lmdb_flush(l);
  cache_lmdb_close(&l);
  assert_int_equal(cache_lmdb_fill_progress(f, &committed, NULL, NULL),
                   CACHE_LMDB_FILL_FAILED);
  assert_true(committed == 2 * CHUNK && s.notified >= 2);
  assert_int_equal(cache_lmdb_fill_append(f, "x", 1), -EIO);
  cache_lmdb_fill_end(f, true);
  assert_int_equal(s.released, 0);
  cache_lmdb_fill_unref(&f);
  assert_int_equal(s.released, 1);
  assert_clean(hash_of(key));
  l = open_ok(&cf);
  assert_int_equal(stats(l).fills_cleaned, 0);
  cache_lmdb_close(&l);
}

/*
 * At most max_fills open; an ended fill frees its place once settled. A
 * body shorter than a chunk, or empty, is written in one txn, no marker.
 */
static void test_fill_max_fills(void **state) {
  struct cache_lmdb_conf cf = conf(16 * MiB);
  struct cache_obj *o = stub("https://f.test/m", NULL);
  struct cache_lmdb_fill *a, *b;
  struct cache_lmdb *l;
  int err = 0;

  (void)state;
  cf.max_fills = 2;
  l = open_ok(&cf);
  a = begin(l, "https://f.test/m1", NULL, NULL);
  b = begin(l, "https://f.test/m2", NULL, NULL);
  assert_null(cache_lmdb_fill_begin(l, o, 10, 1, NULL, NULL, NULL, &err));
  assert_int_equal(err, -EAGAIN);
  cache_lmdb_fill_end(a, false);
  cache_lmdb_flush(l);
  cache_lmdb_fill_unref(&a);
  a = cache_lmdb_fill_begin(l, o, 10, 1, NULL, NULL, NULL, &err);
  assert_non_null(a);
  cache_obj_unref(&o);
  assert_int_equal(feed(b, 3, 0, 1000), 0);
  cache_lmdb_fill_end(a, true);
  cache_lmdb_fill_end(b, true);
  cache_lmdb_flush(l);
  expect_body(l, "https://f.test/m", NULL, 0, 0);
  expect_body(l, "https://f.test/m2", NULL, 1000, 3);
  expect_fills(l, 3, 2, 1);
  cache_lmdb_fill_unref(&a);
  cache_lmdb_fill_unref(&b);
  cache_lmdb_close(&l);
  assert_int_equal(markers(), 0);
  assert_int_equal(records(hash_of("https://f.test/m2")), 2);
}

/* A full disk (RLIMIT_FSIZE): the fill fails with -ENOSPC, cleaned later. */
static void test_fill_disk_full(void **state) {
  struct cache_lmdb_conf cf = conf(64 * MiB);
  const char *key = "https://f.test/d";
  struct cache_lmdb_fill *f;
  struct rlimit old, lim;
  struct cache_lmdb *l;
  struct seen s = {0};
  char p[128];
  FILE *fp;

  (void)state;
  cf.retry_ms = 50;
  l = open_ok(&cf);
  f = begin(l, key, NULL, &s);
  snprintf(p, sizeof p, "%s/data.mdb", dir);
  fp = fopen(p, "r");
  fseek(fp, 0, SEEK_END);
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = (rlim_t)ftell(fp) + 2 * MiB;
  fclose(fp);
  signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &lim);
  assert_int_equal(feed_until_fail(l, f), -ENOSPC);
  assert_int_equal(state_of(f), CACHE_LMDB_FILL_FAILED);
  cache_lmdb_fill_end(f, true);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, SIG_DFL);
  for (int i = 0; i < 400 && stats(l).writes_disabled; i++) {
    usleep(10000); /* the back-off ends; the abort is retried */
    cache_lmdb_flush(l);
  }
  assert_false(stats(l).writes_disabled);
  expect_fills(l, 1, 0, 1);
  cache_lmdb_fill_unref(&f);
  assert_int_equal(s.released, 1);
  cache_lmdb_close(&l);
  assert_clean(hash_of(key));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_fill_complete, wipe),
      cmocka_unit_test_setup(test_fill_readers, wipe),
      cmocka_unit_test_setup(test_fill_abort, wipe),
      cmocka_unit_test_setup(test_fill_replace, wipe),
      cmocka_unit_test_setup(test_fill_crash, wipe),
      cmocka_unit_test_setup(test_fill_too_big, wipe),
      cmocka_unit_test_setup(test_fill_inflight, wipe),
      cmocka_unit_test_setup(test_fill_map_full, wipe),
      cmocka_unit_test_setup(test_fill_close_open, wipe),
      cmocka_unit_test_setup(test_fill_max_fills, wipe),
      cmocka_unit_test_setup(test_fill_disk_full, wipe),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
