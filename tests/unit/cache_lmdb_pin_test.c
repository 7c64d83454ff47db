/*
 * Pins of the LMDB tier (cache/lmdb_pin.c): the table's protocol alone,
 * then on real LMDB files: an object being streamed (pinned by
 * cache_lmdb_lookup_head) keeps every chunk readable through a removal, a
 * replacement, eviction and a fill's replacement; its records go once it is
 * unpinned, and a crash while pinned leaves nothing after the next open.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cache/lmdb_int.h"
#include "cache/lmdb_tier.h"
#include "tests/unit/lmdb_test_util.h"

#define CHUNK ((size_t)CACHE_CHUNK_SIZE)
#define BIG (3 * CHUNK + 5) /* four chunks, the last one short */

static char buf[CACHE_CHUNK_SIZE];

static void put(struct cache_lmdb *l, const char *key, size_t len,
                uint64_t seed, uint64_t now) {
  struct cache_obj *o = lmdb_test_obj_new(key, NULL, len, seed);

  assert_int_equal(cache_lmdb_store(l, o, now), 0);
  cache_obj_unref(&o);
}

/* Looks key up for streaming (pinned) at now; asserts it is found. */
static struct cache_lmdb_ref stream(struct cache_lmdb *l, const char *key,
                                    uint64_t now) {
  struct cache_lmdb_ref ref;
  struct cache_obj *o = cache_lmdb_lookup_head(
      l, lmdb_test_hash(key), key, strlen(key), NULL, NULL, NULL, now, &ref);

  assert_non_null(o);
  cache_obj_unref(&o);
  return ref;
}

/* Every chunk of ref reads back as pattern seed. */
static void expect_all(struct cache_lmdb *l, const struct cache_lmdb_ref *ref,
                       uint64_t seed) {
  for (uint32_t i = 0; i < ref->nchunks; i++) {
    int n = cache_lmdb_read_chunk(l, ref, i, buf, sizeof buf);

    assert_int_equal(n, lmdb_chunk_len(ref->body_len, i));
    assert_true(lmdb_test_bytes_are(buf, (size_t)n, seed, i * CHUNK));
  }
}

static unsigned markers(void) {
  return lmdb_test_count("meta", LMDB_FILL_PREFIX, 4);
}

static void test_table(void **state) {
  struct lmdb_pins *p = lmdb_pins_new();
  struct lmdb_pin_rel rel[4];
  uint64_t gen = lmdb_pins_gen(p);

  (void)state;
  assert_int_equal(lmdb_pin_take(p, 5, 50), 0);
  assert_false(lmdb_pin_claim(p, 5, 50, false)); /* pinned: passed over */
  assert_true(lmdb_pin_claim(p, 6, 60, false));  /* free: doomed */
  assert_int_equal(lmdb_pin_take(p, 6, 60), -ENOENT);
  lmdb_pin_txn_end(p, true);
  assert_true(lmdb_pins_gen(p) != gen); /* a lookup racing it retries */
  assert_int_equal(lmdb_pin_take(p, 6, 60), 0);
  lmdb_pin_drop(p, 6);
  /* An orphaning that did not commit is undone. */
  assert_false(lmdb_pin_claim(p, 5, 50, true));
  lmdb_pin_txn_end(p, false);
  assert_int_equal(lmdb_pin_take(p, 5, 50), 0);
  lmdb_pin_drop(p, 5);
  lmdb_pin_drop(p, 5);
  assert_int_equal(lmdb_pin_released(p, rel, 4), 0);
  /* A committed orphan refuses pins, and is released by its last drop. */
  assert_int_equal(lmdb_pin_take(p, 7, 70), 0);
  assert_false(lmdb_pin_claim(p, 7, 70, true));
  lmdb_pin_txn_end(p, true);
  assert_int_equal(lmdb_pin_take(p, 7, 70), -ENOENT);
  assert_int_equal(lmdb_pin_released(p, rel, 4), 0);
  lmdb_pin_drop(p, 7);
  assert_int_equal(lmdb_pin_released(p, rel, 4), 1);
  assert_true(rel[0].id == 7 && rel[0].hash == 70);
  lmdb_pin_txn_end(p, false); /* its deletion failed: released again */
  assert_int_equal(lmdb_pin_released(p, rel, 4), 1);
  lmdb_pin_txn_end(p, true);
  assert_int_equal(lmdb_pin_released(p, rel, 4), 0);
  /* Growth keeps every count. */
  for (uint64_t id = 100; id < 1100; id++)
    assert_int_equal(lmdb_pin_take(p, id, id), 0);
  assert_int_equal(lmdb_pins_count(p), 1000);
  for (uint64_t id = 100; id < 1100; id++)
    lmdb_pin_drop(p, id);
  assert_int_equal(lmdb_pins_count(p), 0);
  lmdb_pins_unref(&p);
}

static void test_removed_while_streamed(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  const char *key = "https://p.test/removed";
  struct cache_lmdb_ref ref;

  (void)state;
  put(l, key, BIG, 3, 1);
  cache_lmdb_flush(l);
  ref = stream(l, key, 2);
  assert_int_equal(cache_lmdb_remove_key(l, ref.hash, key, strlen(key)), 0);
  cache_lmdb_flush(l);
  assert_null(lmdb_test_get(l, key, NULL, NULL)); /* gone for lookups */
  expect_all(l, &ref, 3);                         /* not for its reader */
  cache_lmdb_unpin(l, &ref);
  put(l, "https://p.test/next", 100, 4, 3); /* the writer's next round */
  cache_lmdb_flush(l);
  assert_int_equal(cache_lmdb_read_chunk(l, &ref, 0, buf, sizeof buf),
                   -ENOENT);
  cache_lmdb_close(&l);
  assert_int_equal(markers(), 0);
}

static void test_replaced_while_streamed(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  const char *key = "https://p.test/replaced";
  struct cache_lmdb_ref old, cur;

  (void)state;
  put(l, key, BIG, 5, 1);
  cache_lmdb_flush(l);
  old = stream(l, key, 2);
  put(l, key, BIG, 6, 3);
  cache_lmdb_flush(l);
  cur = stream(l, key, 4);
  assert_true(cur.id != old.id);
  expect_all(l, &old, 5); /* the old version, whole, to its reader */
  expect_all(l, &cur, 6);
  cache_lmdb_unpin(l, &old);
  cache_lmdb_unpin(l, &cur);
  assert_int_equal(lmdb_pins_count(l->pins), 0);
  cache_lmdb_close(&l);
}

static void test_eviction_passes_streamed(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(16 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  const char *key = "https://p.test/oldest";
  struct cache_lmdb_stats st;
  struct cache_lmdb_ref ref;
  struct cache_obj *o;
  char k[64];

  (void)state;
  put(l, key, BIG, 8, 1);
  cache_lmdb_flush(l);
  ref = stream(l, key, 1); /* still the oldest access */
  for (int i = 0; i < 1000; i++) {
    snprintf(k, sizeof k, "https://e.test/%d", i);
    put(l, k, 20000, (uint64_t)i, 10 + (uint64_t)i);
    if (i % 50 == 49)
      cache_lmdb_flush(l);
  }
  cache_lmdb_flush(l);
  cache_lmdb_stats(l, &st);
  assert_true(st.evictions > 200);
  assert_true(st.used_bytes <= cf.map_bytes / 100 * 90);
  /* Still there for lookups too (at its old access time: it stays oldest). */
  o = cache_lmdb_lookup(l, ref.hash, key, strlen(key), NULL, NULL, NULL, 1);
  assert_non_null(o);
  cache_obj_unref(&o);
  expect_all(l, &ref, 8);
  cache_lmdb_unpin(l, &ref);
  for (int i = 1000; i < 2000; i++) { /* now it goes like any other */
    snprintf(k, sizeof k, "https://e.test/%d", i);
    put(l, k, 20000, (uint64_t)i, 10 + (uint64_t)i);
    if (i % 50 == 49)
      cache_lmdb_flush(l);
  }
  cache_lmdb_flush(l);
  assert_null(lmdb_test_get(l, key, NULL, NULL));
  cache_lmdb_close(&l);
}

/* What a promotion into RAM asks before it inserts what it read. */
static void test_current(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  const char *key = "https://p.test/current";
  struct cache_lmdb_ref a, b;

  (void)state;
  put(l, key, BIG, 1, 1);
  cache_lmdb_flush(l);
  a = stream(l, key, 2);
  assert_true(cache_lmdb_current(l, &a));
  lmdb_writer_hold(l, true); /* the removal stays queued */
  assert_int_equal(cache_lmdb_remove_key(l, a.hash, key, strlen(key)), 0);
  assert_false(cache_lmdb_current(l, &a)); /* queued is enough */
  lmdb_writer_hold(l, false);
  cache_lmdb_flush(l);
  assert_false(cache_lmdb_current(l, &a)); /* committed: orphaned */
  put(l, key, BIG, 2, 3);
  cache_lmdb_flush(l);
  b = stream(l, key, 4);
  assert_true(cache_lmdb_current(l, &b));
  put(l, key, BIG, 3, 5); /* replaced */
  cache_lmdb_flush(l);
  assert_false(cache_lmdb_current(l, &b));
  cache_lmdb_unpin(l, &a);
  cache_lmdb_unpin(l, &b);
  cache_lmdb_close(&l);
}

static void test_crash_while_streamed(void **state) {
  struct cache_lmdb_conf cf = lmdb_test_conf(64 * MiB);
  struct cache_lmdb *l = lmdb_test_open(&cf);
  const char *key = "https://p.test/crash";
  struct cache_lmdb_stats st;
  struct cache_lmdb_ref ref;
  uint8_t hk[8];

  (void)state;
  put(l, key, BIG, 9, 1);
  cache_lmdb_flush(l);
  ref = stream(l, key, 2);
  assert_int_equal(cache_lmdb_remove_key(l, ref.hash, key, strlen(key)), 0);
  cache_lmdb_flush(l);
  cache_lmdb_close(&l); /* still pinned: as if the process died */
  assert_int_equal(markers(), 1);
  l = lmdb_test_open(&cf);
  cache_lmdb_stats(l, &st);
  assert_int_equal(st.fills_cleaned, 1);
  cache_lmdb_close(&l);
  lmdb_be64_put(hk, ref.hash);
  assert_int_equal(lmdb_test_count("objects", hk, sizeof hk), 0);
  assert_int_equal(markers(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),
      cmocka_unit_test_setup(test_removed_while_streamed, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_replaced_while_streamed, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_eviction_passes_streamed,
                             lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_current, lmdb_test_dir_wipe),
      cmocka_unit_test_setup(test_crash_while_streamed, lmdb_test_dir_wipe),
  };

  return cmocka_run_group_tests(tests, lmdb_test_dir_setup,
                                lmdb_test_dir_teardown);
}
