/*
 * cache/lmdb_writer.c's policies on real LMDB files in a temp dir
 * (lmdb_test_util.h): writes resume on their own after a disk-full
 * back-off (no read, nothing queued), objects larger than one write batch
 * are stored across several commits, and a removal is neither refused by
 * a full queue nor undone by a lookup before the writer commits it.
 *
 * lmdb_writer_hold pauses the writer to hold a removal uncommitted.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache/lmdb_int.h"
#include "cache/lmdb_tier.h"
#include "tests/unit/lmdb_test_util.h"

static void put(struct cache_lmdb *l, const char *key, size_t len,
                uint64_t seed) {
  struct cache_obj *o = lmdb_test_obj_new(key, NULL, len, seed);

  assert_int_equal(cache_lmdb_store(l, o, 1), 0);
  cache_obj_unref(&o);
}

static struct cache_lmdb_stats stats(struct cache_lmdb *l) {
  struct cache_lmdb_stats st;

  cache_lmdb_stats(l, &st); /* a read txn, but no lookup: nothing queued */
  return st;
}

/*
 * A disk-full back-off ends by itself: no lookup (which would queue an
 * access time) and no store (refused while disabled) wakes the writer.
 */
static void test_resume_without_reads(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_obj *o = lmdb_test_obj_new("https://a.test/d2", NULL, 10, 3);
  struct cache_lmdb *l;
  struct rlimit old;
  int i;

  (void)state;
  cf.retry_ms = 50;
  l = lmdb_test_open(&cf);
  put(l, "https://a.test/d0", 1000, 1);
  cache_lmdb_flush(l);
  lmdb_test_fsize_limit(&old, 0);
  put(l, "https://a.test/d1", 2 * MiB, 2); /* must grow the file */
  cache_lmdb_flush(l);
  assert_true(stats(l).writes_disabled);
  assert_int_equal(cache_lmdb_store(l, o, 1), -ENOSPC);
  lmdb_test_fsize_restore(&old);
  for (i = 0; i < 300 && stats(l).writes_disabled; i++)
    usleep(10000);
  assert_false(stats(l).writes_disabled);
  assert_int_equal(cache_lmdb_store(l, o, 1), 0);
  cache_obj_unref(&o);
  put(l, "https://a.test/d1", 2 * MiB, 2);
  cache_lmdb_flush(l);
  lmdb_test_expect_body(l, "https://a.test/d1", NULL, 2 * MiB, 2);
  lmdb_test_expect_body(l, "https://a.test/d2", NULL, 10, 3);
  cache_lmdb_close(&l);
}

/*
 * A 16 MiB map: one write batch is 1.2 MiB, a fill at most 4 MiB. A 3 MiB
 * object is written across several commits, found whole, replaced whole,
 * and leaves no fill marker; a body past the fill limit is refused.
 */
static void test_store_above_batch(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  struct cache_obj *o = lmdb_test_obj_new("https://a.test/b2", NULL, 5 * MiB, 3);
  struct cache_lmdb_stats st;
  struct cache_lmdb *l;
  uint64_t commits;

  (void)state;
  l = lmdb_test_open(&cf);
  assert_true(l->batch_bytes < 2 * MiB);
  commits = stats(l).commits;
  put(l, "https://a.test/b1", 3 * MiB + 5, 1);
  cache_lmdb_flush(l);
  lmdb_test_expect_body(l, "https://a.test/b1", NULL, 3 * MiB + 5, 1);
  st = stats(l);
  assert_true(st.commits >= commits + 3);
  assert_int_equal(st.stores, 1);
  assert_int_equal(st.fills_started + st.fills_done + st.store_refused, 0);
  put(l, "https://a.test/b1", 3 * MiB, 2); /* a replace, chunk-aligned */
  assert_int_equal(cache_lmdb_store(l, o, 1), -E2BIG);
  cache_obj_unref(&o);
  cache_lmdb_flush(l);
  lmdb_test_expect_body(l, "https://a.test/b1", NULL, 3 * MiB, 2);
  st = stats(l);
  assert_int_equal(st.objects, 1);
  assert_int_equal(st.replaces, 1);
  assert_int_equal(st.store_refused, 1);
  cache_lmdb_close(&l);
  assert_int_equal(lmdb_test_count("meta", "fill", 4), 0);
}

static struct cache_obj *head_of(struct cache_lmdb *l, const char *key) {
  struct cache_lmdb_ref ref;

  return cache_lmdb_lookup_head(l, lmdb_test_hash(key), key, strlen(key),
                                NULL, NULL, NULL, 1000, &ref);
}

/*
 * Between a removal and its commit, lookups miss the key; a store queued
 * after the removal is found once committed.
 */
static void test_remove_window(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  const char *key = "https://a.test/w";
  struct cache_lmdb *l;
  struct cache_obj *o;
  bool seen = true;

  (void)state;
  l = lmdb_test_open(&cf);
  put(l, key, 100, 1);
  put(l, "https://a.test/other", 100, 2);
  cache_lmdb_flush(l);
  lmdb_writer_hold(l, true);
  assert_int_equal(
      cache_lmdb_remove_key(l, lmdb_test_hash(key), key, strlen(key)), 0);
  assert_null(lmdb_test_get(l, key, NULL, &seen));
  assert_false(seen);
  o = head_of(l, key);
  assert_null(o);
  put(l, key, 200, 3); /* the new response, queued after the removal */
  assert_null(lmdb_test_get(l, key, NULL, NULL));
  lmdb_test_expect_body(l, "https://a.test/other", NULL, 100, 2);
  lmdb_writer_hold(l, false);
  cache_lmdb_flush(l);
  lmdb_test_expect_body(l, key, NULL, 200, 3);
  assert_int_equal(stats(l).objects, 2);
  cache_lmdb_close(&l);
}

/*
 * A full queue takes removals all the same; one per key while it is the
 * newest op of its hash.
 */
static void test_remove_queue_full(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  struct cache_obj *o = lmdb_test_obj_new("https://a.test/f9", NULL, 10, 9);
  const char *key = "https://a.test/f0";
  uint64_t hash = lmdb_test_hash(key);
  struct cache_lmdb *l;
  char k[64];

  (void)state;
  cf.queue_max = 4;
  l = lmdb_test_open(&cf);
  put(l, key, 100, 1);
  cache_lmdb_flush(l);
  lmdb_writer_hold(l, true);
  for (int i = 1; i <= 4; i++) {
    snprintf(k, sizeof k, "https://a.test/f%d", i);
    put(l, k, 10, 1);
  }
  assert_int_equal(cache_lmdb_store(l, o, 1), -EAGAIN);
  for (int i = 0; i < 100; i++)
    assert_int_equal(cache_lmdb_remove_key(l, hash, key, strlen(key)), 0);
  assert_int_equal(lmdb_test_queued(l), 5);
  assert_int_equal(cache_lmdb_remove_key(l, 7, "y", 1), 0);
  assert_int_equal(lmdb_test_queued(l), 6);
  lmdb_writer_hold(l, false);
  cache_lmdb_flush(l);
  assert_null(lmdb_test_get(l, key, NULL, NULL));
  assert_int_equal(stats(l).objects, 4);
  assert_int_equal(stats(l).removes, 1);
  assert_int_equal(lmdb_test_queued(l), 0);
  put(l, key, 100, 2); /* the removals are done: found again */
  cache_lmdb_flush(l);
  lmdb_test_expect_body(l, key, NULL, 100, 2);
  cache_obj_unref(&o);
  cache_lmdb_close(&l);
}

/* A key keeps at most CACHE_LMDB_MAX_VARIANTS on disk: the newest. */
static void test_variant_cap(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  const char *key = "https://v.test/ua";
  const unsigned extra = 6;
  struct cache_obj *o;
  char vk[32];

  (void)state;
  for (unsigned i = 0; i < CACHE_LMDB_MAX_VARIANTS + extra; i++) {
    snprintf(vk, sizeof vk, "ua-%u", i);
    o = lmdb_test_obj_new(key, vk, 100, i);
    assert_int_equal(cache_lmdb_store(l, o, 10 + i), 0);
    cache_obj_unref(&o);
    if (i % 16 == 15)
      cache_lmdb_flush(l);
  }
  cache_lmdb_flush(l);
  assert_int_equal(stats(l).objects, CACHE_LMDB_MAX_VARIANTS);
  assert_int_equal(stats(l).replaces, extra);
  assert_null(lmdb_test_get(l, key, "ua-0", NULL));
  assert_null(lmdb_test_get(l, key, "ua-5", NULL));
  snprintf(vk, sizeof vk, "ua-%u", CACHE_LMDB_MAX_VARIANTS + extra - 1);
  lmdb_test_expect_body(l, key, vk, 100, CACHE_LMDB_MAX_VARIANTS + extra - 1);
  lmdb_test_expect_body(l, key, "ua-6", 100, 6);
  cache_lmdb_close(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_resume_without_reads, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_store_above_batch, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_remove_window, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_remove_queue_full, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_variant_cap, lmdb_test_dir_wipe),
  };

  return cmocka_run_group_tests(tests, lmdb_test_dir_setup,
                                lmdb_test_dir_teardown);
}
