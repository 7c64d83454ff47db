/*
 * cache/lmdb_tier.c and its writer on real LMDB files in a temp dir
 * (lmdb_test_util.h): round trips with Vary variants and multi-chunk
 * bodies, streaming by chunk, replace, remove, persistence across
 * close/open, format refusal and rebuild, corruption, map full, concurrent
 * readers, a full queue, stale reader slots, a full disk.
 *
 * The test itself calls LMDB only to damage the environment on purpose (a
 * foreign format record, a corrupted header). Access times are passed in;
 * the writer's clock only paces syncs and retries.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
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

#include "cache/lmdb_int.h"
#include "cache/lmdb_tier.h"
#include "tests/unit/lmdb_test_util.h"
#include "tests/unit/test_check.h"

static void put(struct cache_lmdb *l, const char *key, const char *vk,
                size_t len, uint64_t seed, uint64_t now) {
  struct cache_obj *o = lmdb_test_obj_new(key, vk, len, seed);

  assert_int_equal(cache_lmdb_store(l, o, now), 0);
  cache_obj_unref(&o);
}

/* Stores, letting the writer drain the queue when it is full. */
static void put_retry(struct cache_lmdb *l, const char *key, size_t len,
                      uint64_t seed) {
  struct cache_obj *o = lmdb_test_obj_new(key, NULL, len, seed);

  while (cache_lmdb_store(l, o, 1) == -EAGAIN)
    cache_lmdb_flush(l);
  cache_obj_unref(&o);
}

static void test_round_trip(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb_stats st;
  struct cache_lmdb *l;
  struct cache_obj *o;
  bool seen = false;

  (void)state;
  cf.durability = CACHE_LMDB_SAFE;
  l = lmdb_test_open(&cf);
  put(l, "https://a.test/small", NULL, 100, 1, 10);
  put(l, "https://a.test/empty", NULL, 0, 2, 10);
  put(l, "https://a.test/big", NULL, 3 * MiB + 17, 3, 10);
  put(l, "https://a.test/v", "en", 5000, 4, 10);
  put(l, "https://a.test/v", "fr", 6000, 5, 10);
  cache_lmdb_flush(l);
  o = lmdb_test_get(l, "https://a.test/small", NULL, &seen);
  assert_true(seen && o != NULL && lmdb_test_body_is(o, 100, 1));
  assert_int_equal(o->meta.lifetime_ms, 5000);
  assert_string_equal(o->etag, "\"e\"");
  cache_obj_unref(&o);
  lmdb_test_expect_body(l, "https://a.test/empty", NULL, 0, 2);
  lmdb_test_expect_body(l, "https://a.test/big", NULL, 3 * MiB + 17, 3);
  lmdb_test_expect_body(l, "https://a.test/v", "fr", 6000, 5);
  lmdb_test_expect_body(l, "https://a.test/v", "en", 5000, 4);
  assert_null(lmdb_test_get(l, "https://a.test/v", "de", &seen));
  assert_true(seen); /* vary-miss */
  assert_null(lmdb_test_get(l, "https://a.test/none", NULL, &seen));
  assert_false(seen); /* uri-miss */
  cache_lmdb_stats(l, &st);
  assert_int_equal(st.objects, 5);
  assert_int_equal(st.stores, 5);
  assert_int_equal(st.hits, 5);
  assert_int_equal(st.misses, 2);
  cache_lmdb_close(&l);
  assert_null(l);
}

static void test_stream_chunks(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  const char *key = "https://a.test/stream";
  size_t len = 3 * MiB + 5;
  struct cache_lmdb_ref ref;
  struct cache_obj *o;
  char *buf = malloc(CACHE_CHUNK_SIZE);

  (void)state;
  put(l, key, NULL, len, 9, 10);
  cache_lmdb_flush(l);
  o = cache_lmdb_lookup_head(l, lmdb_test_hash(key), key, strlen(key), NULL,
                             NULL, NULL, 20, &ref);
  assert_non_null(o);
  assert_int_equal(cache_obj_state(o), CACHE_OBJ_BUSY);
  assert_int_equal(o->expected_len, len);
  assert_int_equal(ref.body_len, len);
  assert_int_equal(ref.nchunks, 13);
  /* A range in chunk 12 only: the last 5 bytes. */
  assert_int_equal(cache_lmdb_read_chunk(l, &ref, 12, buf, CACHE_CHUNK_SIZE),
                   5);
  assert_int_equal(buf[4], lmdb_test_byte(9, len - 1));
  for (uint32_t i = 0; i < ref.nchunks; i++) {
    int n = cache_lmdb_read_chunk(l, &ref, i, buf, CACHE_CHUNK_SIZE);

    assert_true(n > 0);
    cache_obj_append(o, buf, (size_t)n);
  }
  cache_obj_finish(o, CACHE_OBJ_COMPLETE);
  assert_true(lmdb_test_body_is(o, len, 9));
  cache_obj_unref(&o);
  assert_int_equal(cache_lmdb_read_chunk(l, &ref, 13, buf, CACHE_CHUNK_SIZE),
                   -ERANGE);
  assert_int_equal(cache_lmdb_read_chunk(l, &ref, 0, buf, 100), -ENOBUFS);
  cache_lmdb_unpin(l, &ref); /* lookup_head pinned it */
  assert_int_equal(cache_lmdb_remove_key(l, ref.hash, key, strlen(key)), 0);
  cache_lmdb_flush(l);
  assert_int_equal(cache_lmdb_read_chunk(l, &ref, 0, buf, CACHE_CHUNK_SIZE),
                   -ENOENT);
  free(buf);
  cache_lmdb_close(&l);
}

static void test_replace_remove(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  const char *key = "https://a.test/r";
  struct cache_lmdb_stats st;

  (void)state;
  put(l, key, "en", 1000, 1, 10);
  put(l, key, "fr", 1000, 2, 10);
  put(l, key, "en", 2000, 3, 11); /* replaces the first */
  cache_lmdb_flush(l);
  lmdb_test_expect_body(l, key, "en", 2000, 3);
  cache_lmdb_stats(l, &st);
  assert_int_equal(st.replaces, 1);
  assert_int_equal(st.objects, 2);
  assert_int_equal(
      cache_lmdb_remove_key(l, lmdb_test_hash(key), key, strlen(key)), 0);
  cache_lmdb_flush(l);
  assert_null(lmdb_test_get(l, key, "fr", NULL));
  assert_null(lmdb_test_get(l, key, "en", NULL));
  cache_lmdb_stats(l, &st);
  assert_int_equal(st.objects, 0);
  assert_int_equal(st.removes, 2);
  cache_lmdb_close(&l);
}

static void test_persistence(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(256 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  struct cache_lmdb_stats st;
  char key[64];
  int found = 0;

  (void)state;
  for (int i = 0; i < 10000; i++) {
    snprintf(key, sizeof key, "https://p.test/%d", i);
    put_retry(l, key, 200, (uint64_t)i);
  }
  cache_lmdb_close(&l);
  l = lmdb_test_open(&cf);
  for (int i = 0; i < 10000; i++) {
    struct cache_obj *o;

    snprintf(key, sizeof key, "https://p.test/%d", i);
    o = lmdb_test_get(l, key, NULL, NULL);
    found += o != NULL && lmdb_test_body_is(o, 200, (uint64_t)i);
    if (o != NULL)
      cache_obj_unref(&o);
  }
  assert_int_equal(found, 10000);
  cache_lmdb_stats(l, &st);
  assert_int_equal(st.objects, 10000);
  cache_lmdb_close(&l);
}

/* Overwrites meta "format" (or a header record) behind the tier's back. */
static void damage(const char *what, uint64_t hash) {
  MDB_env *env = lmdb_test_env_open(0);
  MDB_txn *txn;
  MDB_dbi dbi;
  MDB_val k, v;
  uint8_t kb[LMDB_OKEY_LEN], fmt[LMDB_FORMAT_LEN];

  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  if (strcmp(what, "format") == 0) {
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    lmdb_format_encode(fmt);
    fmt[12] = 99; /* version 99 */
    k = (MDB_val){6, "format"};
    v = (MDB_val){sizeof fmt, fmt};
  } else {
    assert_int_equal(mdb_dbi_open(txn, "objects", 0, &dbi), 0);
    lmdb_okey(kb, hash, 1, 0);
    k = (MDB_val){sizeof kb, kb};
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    ((uint8_t *)(v.mv_data =
                     memcpy(malloc(v.mv_size), v.mv_data, v.mv_size)))[20] ^= 1;
  }
  assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  if (strcmp(what, "format") != 0)
    free(v.mv_data);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

static void test_format_mismatch(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  struct cache_obj *o;
  char p[128];
  FILE *f;
  int err = 0;

  (void)state;
  put(l, "https://a.test/f", NULL, 10, 1, 1);
  cache_lmdb_close(&l);
  damage("format", 0);
  assert_null(cache_lmdb_open(&cf, &err));
  assert_int_equal(err, -EPROTO);
  cf.rebuild_incompatible = true;
  l = lmdb_test_open(&cf);
  /* Rebuilt empty. */
  assert_null(lmdb_test_get(l, "https://a.test/f", NULL, NULL));
  put(l, "https://a.test/f", NULL, 10, 1, 1);
  cache_lmdb_flush(l);
  o = lmdb_test_get(l, "https://a.test/f", NULL, NULL);
  assert_non_null(o);
  cache_obj_unref(&o);
  cache_lmdb_close(&l);
  /* Not an LMDB file at all. */
  lmdb_test_dir_wipe(NULL);
  snprintf(p, sizeof p, "%s/data.mdb", lmdb_test_dir);
  f = fopen(p, "w");
  for (int i = 0; i < 3000; i++)
    fputs("not lmdb ", f);
  fclose(f);
  cf.rebuild_incompatible = false;
  assert_null(cache_lmdb_open(&cf, &err));
  assert_int_equal(err, -EPROTO);
  cf.rebuild_incompatible = true;
  l = lmdb_test_open(&cf);
  cache_lmdb_close(&l);
}

/* An environment LMDB itself reports corrupt (pages zeroed, as a crash
 * in the fast mode may leave): refused, or rebuilt when allowed. */
static void test_corrupt_environment(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  static const char zero[4096];
  char p[128];
  FILE *f;
  long end;
  int err = 0;

  (void)state;
  put(l, "https://a.test/z", NULL, 300000, 1, 1);
  cache_lmdb_close(&l);
  snprintf(p, sizeof p, "%s/data.mdb", lmdb_test_dir);
  assert_non_null(f = fopen(p, "r+"));
  fseek(f, 0, SEEK_END);
  end = ftell(f);
  fseek(f, 2 * (long)sizeof zero, SEEK_SET); /* past both meta pages */
  for (long at = 2 * (long)sizeof zero; at < end; at += (long)sizeof zero)
    fwrite(zero, 1, sizeof zero, f);
  fclose(f);
  assert_null(cache_lmdb_open(&cf, &err));
  assert_int_equal(err, -EBADMSG);
  cf.rebuild_incompatible = true;
  l = lmdb_test_open(&cf);
  assert_null(lmdb_test_get(l, "https://a.test/z", NULL, NULL));
  cache_lmdb_close(&l);
}

static void test_corrupt_header(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  const char *key = "https://a.test/c";
  struct cache_lmdb_stats st;

  (void)state;
  put(l, key, NULL, 1000, 1, 1);
  cache_lmdb_close(&l);
  damage("header", lmdb_test_hash(key));
  l = lmdb_test_open(&cf);
  assert_null(lmdb_test_get(l, key, NULL, NULL));
  cache_lmdb_flush(l); /* the writer removes it */
  cache_lmdb_stats(l, &st);
  assert_int_equal(st.corrupt, 1);
  assert_int_equal(st.removes, 1);
  assert_int_equal(st.objects, 0);
  assert_null(lmdb_test_get(l, key, NULL, NULL));
  cache_lmdb_stats(l, &st);
  assert_int_equal(st.corrupt, 1); /* gone, not met again */
  cache_lmdb_close(&l);
}

static void test_map_full(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(4 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  struct cache_lmdb_stats st;
  struct cache_obj *o;
  char key[64];
  uint64_t high = cf.map_bytes / 100 * 90;

  (void)state;
  put(l, "https://a.test/hot", NULL, 30000, 7, 1);
  cache_lmdb_flush(l);
  for (int i = 0; i < 600; i++) {
    snprintf(key, sizeof key, "https://m.test/%d", i);
    put(l, key, NULL, 20000, (uint64_t)i, 2 + (uint64_t)i);
    if (i % 8 != 7)
      continue;
    /* The hot object is read all along: its access time keeps it. */
    o = cache_lmdb_lookup(l, lmdb_test_hash("https://a.test/hot"),
                          "https://a.test/hot", 18, NULL, NULL, NULL,
                          10 + (uint64_t)i);
    assert_true(o != NULL && lmdb_test_body_is(o, 30000, 7));
    cache_obj_unref(&o);
    cache_lmdb_flush(l);
    cache_lmdb_stats(l, &st);
    assert_true(st.used_bytes <= high);
  }
  cache_lmdb_flush(l);
  cache_lmdb_stats(l, &st);
  assert_true(st.evictions > 0);
  assert_true(st.stores >= 550);
  assert_true(st.used_bytes <= high);
  /* The newest are kept. */
  lmdb_test_expect_body(l, "https://m.test/599", NULL, 20000, 599);
  /* The oldest went. */
  assert_null(lmdb_test_get(l, "https://m.test/0", NULL, NULL));
  cache_lmdb_close(&l);
}

struct reader_arg {
  struct cache_lmdb *l;
  int stop;
  unsigned hits;
};

static void *reader(void *p) {
  struct reader_arg *a = p;
  char key[64];
  unsigned i = 0;

  while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
    struct cache_obj *o;

    snprintf(key, sizeof key, "https://c.test/%u", i++ % 500);
    o = lmdb_test_get(a->l, key, NULL, NULL);
    if (o == NULL)
      continue;
    CHECK(lmdb_test_body_is(o, 3000 + (i - 1) % 500, (i - 1) % 500));
    cache_obj_unref(&o);
    a->hits++;
  }
  return NULL;
}

static void test_concurrent_readers(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct reader_arg a[3];
  pthread_t t[3];
  char key[64];
  unsigned hits = 0;

  (void)state;
  a[0].l = lmdb_test_open(&cf);
  for (int i = 0; i < 3; i++) {
    a[i] = (struct reader_arg){.l = a[0].l};
    assert_int_equal(pthread_create(&t[i], NULL, reader, &a[i]), 0);
  }
  for (int round = 0; round < 4; round++)
    for (unsigned i = 0; i < 500; i++) {
      snprintf(key, sizeof key, "https://c.test/%u", i);
      put_retry(a[0].l, key, 3000 + i, i);
    }
  cache_lmdb_flush(a[0].l);
  for (int i = 0; i < 3; i++) {
    __atomic_store_n(&a[i].stop, 1, __ATOMIC_RELEASE);
    pthread_join(t[i], NULL);
    hits += a[i].hits;
  }
  assert_true(hits > 0);
  cache_lmdb_close(&a[0].l);
}

static void test_queue_full(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  struct cache_lmdb_stats st;
  struct cache_lmdb *l;
  struct cache_obj *o = lmdb_test_obj_new("https://a.test/q9", NULL, 10, 0);
  char key[64];

  (void)state;
  cf.queue_max = 8;
  l = lmdb_test_open(&cf);
  lmdb_writer_hold(l, true);
  for (int i = 0; i < 8; i++) {
    snprintf(key, sizeof key, "https://a.test/q%d", i);
    put(l, key, NULL, 10, 0, 1);
  }
  assert_int_equal(cache_lmdb_store(l, o, 1), -EAGAIN);
  assert_int_equal(cache_lmdb_remove_key(l, 1, "x", 1), 0); /* never lost */
  lmdb_writer_hold(l, false);
  cache_lmdb_flush(l);
  cache_lmdb_stats(l, &st);
  assert_int_equal(st.store_queue_full, 1);
  assert_int_equal(st.objects, 8);
  assert_int_equal(cache_lmdb_store(l, o, 1), 0);
  cache_obj_unref(&o);
  cache_lmdb_close(&l);
}

/*
 * A process that holds the environment open (so LMDB does not reset the
 * reader table at the next open), and one killed with a reader slot taken:
 * the next open clears the dead one's slot.
 */
static void test_stale_reader(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  struct cache_lmdb_stats st;
  struct cache_lmdb *l;
  int hold[2], status;
  pid_t keeper, victim;
  char c;

  (void)state;
  l = lmdb_test_open(&cf);
  put(l, "https://a.test/s", NULL, 10, 0, 1);
  cache_lmdb_close(&l);
  assert_int_equal(pipe(hold), 0);
  if ((keeper = fork()) == 0) {
    int err;
    struct cache_lmdb *k = cache_lmdb_open(&cf, &err);

    close(hold[1]);
    (void)read(hold[0], &c, 1); /* until the parent closes its end */
    cache_lmdb_close(&k);
    _exit(0);
  }
  usleep(200000);
  if ((victim = fork()) == 0) {
    int err;
    struct cache_lmdb *v = cache_lmdb_open(&cf, &err);

    /* Takes a slot. */
    (void)lmdb_test_get(v, "https://a.test/nothing", NULL, NULL);
    raise(SIGKILL);
  }
  waitpid(victim, &status, 0);
  l = lmdb_test_open(&cf);
  cache_lmdb_stats(l, &st);
  assert_true(st.stale_readers >= 1);
  cache_lmdb_close(&l);
  close(hold[1]);
  close(hold[0]);
  waitpid(keeper, &status, 0);
}

/*
 * A tier (retrying writes after 50 ms) holding key, 1000 bytes of pattern 1,
 * on a full disk: its data file may not grow. *old: the limit before.
 */
static struct cache_lmdb *open_disk_full(const char *key, struct rlimit *old) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l;

  cf.retry_ms = 50;
  l = lmdb_test_open(&cf);
  put(l, key, NULL, 1000, 1, 1);
  cache_lmdb_flush(l);
  lmdb_test_fsize_limit(old, 0);
  return l;
}

/* A full disk, simulated with RLIMIT_FSIZE: writes fail with EFBIG. */
static void test_disk_full(void **state) {
  struct cache_lmdb_stats st;
  struct rlimit old;
  struct cache_lmdb *l;
  struct cache_obj *o;
  int rc;

  (void)state;
  l = open_disk_full("https://a.test/d0", &old);
  put(l, "https://a.test/d1", NULL, 2 * MiB, 2, 1); /* must grow the file */
  cache_lmdb_flush(l);
  cache_lmdb_stats(l, &st);
  assert_true(st.disk_errors >= 1);
  assert_true(st.writes_disabled);
  assert_int_equal(st.store_dropped, 1);
  /* Reads keep working. */
  o = lmdb_test_get(l, "https://a.test/d0", NULL, NULL);
  assert_true(o != NULL && lmdb_test_body_is(o, 1000, 1));
  assert_int_equal(cache_lmdb_store(l, o, 1), -ENOSPC);
  cache_obj_unref(&o);
  assert_null(lmdb_test_get(l, "https://a.test/d1", NULL, NULL));
  lmdb_test_fsize_restore(&old);
  /* Writes resume after the back-off. */
  o = lmdb_test_obj_new("https://a.test/d1", NULL, 2 * MiB, 2);
  for (int i = 0; i < 400 && (rc = cache_lmdb_store(l, o, 1)) != 0; i++)
    usleep(10000);
  assert_int_equal(rc, 0);
  cache_obj_unref(&o);
  cache_lmdb_flush(l);
  lmdb_test_expect_body(l, "https://a.test/d1", NULL, 2 * MiB, 2);
  cache_lmdb_stats(l, &st);
  assert_false(st.writes_disabled);
  cache_lmdb_close(&l);
}

/*
 * A removal kept by a failed round goes back in front of stores still
 * queued: only the kept ops are counted again (else the writer spins on
 * rounds with nothing to take, and close never returns).
 */
static void test_requeue_count(void **state) {
  struct rlimit old;
  struct cache_lmdb *l = open_disk_full("https://a.test/r0", &old);

  (void)state;
  lmdb_writer_hold(l, true);
  assert_int_equal(cache_lmdb_remove_key(l, 1, "x", 1), 0);
  for (int i = 0; i < 3; i++) /* more than a batch: two wait behind */
    put(l, "https://a.test/r1", NULL, 2 * MiB, 2, 1);
  lmdb_writer_hold(l, false);
  cache_lmdb_flush(l);
  lmdb_test_fsize_restore(&old);
  for (int i = 0; i < 400 && lmdb_test_queued(l) > 0; i++) {
    usleep(10000); /* the back-off ends; the removal is retried */
    cache_lmdb_flush(l);
  }
  assert_int_equal(lmdb_test_queued(l), 0);
  cache_lmdb_close(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_round_trip, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_stream_chunks, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_replace_remove, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_persistence, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_format_mismatch, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_corrupt_environment, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_corrupt_header, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_map_full, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_concurrent_readers, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_queue_full, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_stale_reader, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_disk_full, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_requeue_count, lmdb_test_dir_wipe),
  };

  return cmocka_run_group_tests(tests, lmdb_test_dir_setup,
                                lmdb_test_dir_teardown);
}
