/*
 * cache/lmdb_fill.c on real LMDB files in a temp dir (lmdb_test_util.h):
 * fills committed chunk by chunk, read while open, completed, aborted,
 * replacing a variant, cut by a crash (a child process that exits
 * mid-fill) or by close, past the size limit, throttled by the in-flight
 * limit, and failed by a full map or a full disk.
 *
 * The test looks behind the tier's back only after close, to count the
 * fill markers and the records of a key hash (lmdb_test_count).
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache/lmdb_int.h"
#include "cache/lmdb_tier.h"
#include "tests/unit/lmdb_test_util.h"

#define CHUNK ((size_t)CACHE_CHUNK_SIZE)

static char buf[CACHE_CHUNK_SIZE]; /* one chunk read back */

/* What the callbacks saw. */
struct seen {
  unsigned notified, released; /* atomic */
};

/* The empty object a fill starts from: etag "f", tag big, length unknown. */
static struct cache_obj *stub(const char *key, const char *vk) {
  size_t vlen = vk != NULL ? strlen(vk) : 0;

  return cache_obj_new(lmdb_test_hash(key), key, strlen(key), vk, vlen,
                       vk != NULL ? "accept-language" : NULL, "\"f\"",
                       "Surrogate-Key: big\r\n", 20, &lmdb_test_meta,
                       CACHE_LEN_UNKNOWN);
}

static void put(struct cache_lmdb *l, const char *key, const char *vk,
                size_t len, uint64_t seed) {
  struct cache_obj *o = stub(key, vk);

  lmdb_test_body_append(o, len, seed);
  cache_obj_finish(o, CACHE_OBJ_COMPLETE);
  assert_int_equal(cache_lmdb_store(l, o, 10), 0);
  cache_obj_unref(&o);
}

/* Chunk idx of ref reads whole and right. */
static void expect_chunk(struct cache_lmdb *l, const struct cache_lmdb_ref *ref,
                         uint32_t idx, uint64_t seed) {
  assert_int_equal(cache_lmdb_read_chunk(l, ref, idx, buf, sizeof buf),
                   CACHE_CHUNK_SIZE);
  assert_true(
      lmdb_test_bytes_are(buf, sizeof buf, seed, (uint64_t)idx * sizeof buf));
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
      in[i] = lmdb_test_byte(seed, from + i);
    rc = cache_lmdb_fill_append(f, in, n);
    from += n;
  }
  return rc;
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

static unsigned markers(void) { return lmdb_test_count("meta", "fill", 4); }

/* The objects records of hash, any id. */
static unsigned records(uint64_t hash) {
  uint8_t hb[8];

  lmdb_be64_put(hb, hash);
  return lmdb_test_count("objects", hb, sizeof hb);
}

static void assert_clean(uint64_t hash) {
  assert_int_equal(markers(), 0);
  assert_int_equal(records(hash), 0);
}

/*
 * The one fill of the test, *fp of key, failed: it is released at its last
 * unref, and once the tier is closed nothing of it is left.
 */
static void expect_failed_gone(struct cache_lmdb **lp,
                               struct cache_lmdb_fill **fp,
                               const struct seen *s, const char *key) {
  expect_fills(*lp, 1, 0, 1);
  cache_lmdb_fill_unref(fp);
  assert_int_equal(s->released, 1);
  cache_lmdb_close(lp);
  assert_clean(lmdb_test_hash(key));
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

/*
 * 3.5 chunks: invisible until the end, then found whole, and persisted.
 * notify after each commit that moved the fill; release once, at the last
 * unref.
 */
static void test_fill_complete(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
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
  assert_null(lmdb_test_get(l, key, NULL, &seen));
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
  o = lmdb_test_get(l, key, NULL, &seen);
  assert_true(o != NULL && lmdb_test_body_is(o, len, 7));
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
  l = lmdb_test_open(&cf); /* indexed, nothing to clean */
  lmdb_test_expect_body(l, key, NULL, len, 7);
  assert_int_equal(stats(l).fills_cleaned, 0);
  cache_lmdb_close(&l);
}

/* Committed chunks are readable by ref while lookups find nothing. */
static void test_fill_readers(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
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
  assert_true(ref.hash == lmdb_test_hash(key) && ref.id != 0);
  expect_chunk(l, &ref, 0, 5);
  expect_chunk(l, &ref, 1, 5);
  assert_int_equal(cache_lmdb_read_chunk(l, &ref, 2, buf, sizeof buf), -ERANGE);
  assert_null(lmdb_test_get(l, key, NULL, NULL));
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
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
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
  assert_null(lmdb_test_get(l, key, NULL, NULL));
  assert_int_equal(stats(l).objects, 1);
  assert_true(s.notified >= 2); /* the chunks' commit, the failure */
  expect_failed_gone(&l, &f, &s, key);
}

/* A fill replaces the same variant only, in the txn that completes it. */
static void test_fill_replace(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  const char *key = "https://f.test/v";
  struct cache_lmdb_fill *f;

  (void)state;
  put(l, key, "en", 1000, 1);
  put(l, key, "fr", 2000, 2);
  cache_lmdb_flush(l);
  f = begin(l, key, "en", NULL);
  assert_true(feed(f, 9, 0, CHUNK + CHUNK / 2) >= 0);
  cache_lmdb_flush(l);
  /* The old one until the fill is done. */
  lmdb_test_expect_body(l, key, "en", 1000, 1);
  cache_lmdb_fill_end(f, true);
  cache_lmdb_flush(l);
  lmdb_test_expect_body(l, key, "en", CHUNK + CHUNK / 2, 9);
  lmdb_test_expect_body(l, key, "fr", 2000, 2);
  expect_fills(l, 1, 1, 0);
  assert_int_equal(stats(l).replaces, 1);
  assert_int_equal(stats(l).objects, 2);
  cache_lmdb_fill_unref(&f);
  cache_lmdb_close(&l);
}

/* A child fills two chunks, commits them and dies: open cleans up. */
static void test_fill_crash(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
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
  assert_int_equal(records(lmdb_test_hash(key)), 2);
  l = lmdb_test_open(&cf);
  assert_int_equal(stats(l).fills_cleaned, 1);
  assert_null(lmdb_test_get(l, key, NULL, NULL));
  lmdb_test_expect_body(l, "https://f.test/kept", NULL, 3000, 4);
  cache_lmdb_close(&l);
  assert_clean(lmdb_test_hash(key));
  l = lmdb_test_open(&cf); /* once only */
  assert_int_equal(stats(l).fills_cleaned, 0);
  cache_lmdb_close(&l);
}

/* Past max_fill_bytes: refused at begin, or failed while appending. */
static void test_fill_too_big(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  const char *key = "https://f.test/2big";
  struct cache_obj *o = stub(key, NULL);
  struct cache_lmdb_fill *f;
  struct cache_lmdb *l;
  struct seen s = {0};
  int err = 0;

  (void)state;
  cf.max_fill_bytes = MiB;
  l = lmdb_test_open(&cf);
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
  assert_null(lmdb_test_get(l, key, NULL, NULL));
  expect_failed_gone(&l, &f, &s, key);
}

/* Past CACHE_LMDB_FILL_INFLIGHT uncommitted bytes append asks for a pause. */
static void test_fill_inflight(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
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
  struct cache_lmdb_conf cf = lmdb_test_conf(4 * MiB);
  const char *key = "https://f.test/huge";
  struct cache_lmdb_fill *f;
  struct cache_lmdb_ref ref;
  struct cache_lmdb *l;
  struct seen s = {0};

  (void)state;
  cf.max_fill_bytes = 64 * MiB;
  l = lmdb_test_open(&cf);
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
  lmdb_test_expect_body(l, "https://f.test/after", NULL, 5000, 4);
  assert_null(lmdb_test_get(l, key, NULL, NULL));
  assert_true(stats(l).map_full > 0);
  expect_failed_gone(&l, &f, &s, key);
}

/* Close with a fill open and still referenced: it fails, outlives the tier. */
static void test_fill_close_open(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
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
  assert_clean(lmdb_test_hash(key));
  l = lmdb_test_open(&cf);
  assert_int_equal(stats(l).fills_cleaned, 0);
  cache_lmdb_close(&l);
}

/*
 * At most max_fills open; an ended fill frees its place once settled. A
 * body shorter than a chunk, or empty, is written in one txn, no marker.
 */
static void test_fill_max_fills(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  struct cache_obj *o = stub("https://f.test/m", NULL);
  struct cache_lmdb_fill *a, *b;
  struct cache_lmdb *l;
  int err = 0;

  (void)state;
  cf.max_fills = 2;
  l = lmdb_test_open(&cf);
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
  lmdb_test_expect_body(l, "https://f.test/m", NULL, 0, 0);
  lmdb_test_expect_body(l, "https://f.test/m2", NULL, 1000, 3);
  expect_fills(l, 3, 2, 1);
  cache_lmdb_fill_unref(&a);
  cache_lmdb_fill_unref(&b);
  cache_lmdb_close(&l);
  assert_int_equal(markers(), 0);
  assert_int_equal(records(lmdb_test_hash("https://f.test/m2")), 2);
}

/* A full disk (RLIMIT_FSIZE): the fill fails with -ENOSPC, cleaned later. */
static void test_fill_disk_full(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  const char *key = "https://f.test/d";
  struct cache_lmdb_fill *f;
  struct rlimit old;
  struct cache_lmdb *l;
  struct seen s = {0};

  (void)state;
  cf.retry_ms = 50;
  l = lmdb_test_open(&cf);
  f = begin(l, key, NULL, &s);
  lmdb_test_fsize_limit(&old, 2 * MiB);
  assert_int_equal(feed_until_fail(l, f), -ENOSPC);
  assert_int_equal(state_of(f), CACHE_LMDB_FILL_FAILED);
  cache_lmdb_fill_end(f, true);
  lmdb_test_fsize_restore(&old);
  for (int i = 0; i < 400 && stats(l).writes_disabled; i++) {
    usleep(10000); /* the back-off ends; the abort is retried */
    cache_lmdb_flush(l);
  }
  assert_false(stats(l).writes_disabled);
  expect_failed_gone(&l, &f, &s, key);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_fill_complete, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_fill_readers, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_fill_abort, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_fill_replace, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_fill_crash, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_fill_too_big, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_fill_inflight, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_fill_map_full, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_fill_close_open, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_fill_max_fills, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_fill_disk_full, lmdb_test_dir_wipe),
  };

  return cmocka_run_group_tests(tests, lmdb_test_dir_setup,
                                lmdb_test_dir_teardown);
}
