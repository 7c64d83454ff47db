/*
 * cache/lmdb_record.c: key layouts, header round trips, corrupted and
 * truncated headers rejected, chunk checksums bound to their place, the
 * format record, Surrogate-Key tags and conf defaults.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/lmdb_int.h"

static const struct cache_meta meta = {
    .status = 203,
    .request_ms = 1000,
    .response_ms = 1001,
    .date_s = -5,
    .age_s = 7,
    .lifetime_ms = 60000,
    .swr_ms = -1,
    .sie_ms = 30000,
    .last_modified_s = 1700000000,
    .flags = CACHE_META_NO_CACHE | CACHE_META_IMMUTABLE,
};

static const char head[] =
    "Content-Type: text/plain\r\nSurrogate-Key: a  bb\tccc\r\n"
    "X: y\r\nsurrogate-key: d\r\n";

static struct cache_obj *obj(const char *vary_names, const char *etag,
                             size_t body) {
  struct cache_obj *o =
      cache_obj_new(0x1122334455667788ULL, "https://a.test/k", 16, "gzip", 4,
                    vary_names, etag, head, sizeof head - 1, &meta, body);
  char *b = malloc(body + 1);

  for (size_t i = 0; i < body; i++)
    b[i] = (char)(i * 7);
  cache_obj_append(o, b, body);
  cache_obj_finish(o, CACHE_OBJ_COMPLETE);
  free(b);
  return o;
}

static uint8_t *encode(const struct cache_obj *o, size_t *n) {
  uint8_t *b = malloc(lmdb_hdr_size(o));

  *n = lmdb_hdr_size(o);
  lmdb_hdr_encode(b, o, 99);
  return b;
}

static void test_keys_order(void **state) {
  uint8_t a[LMDB_OKEY_LEN], b[LMDB_OKEY_LEN], la[LMDB_LKEY_LEN],
      lb[LMDB_LKEY_LEN];
  uint64_t h, id;
  uint32_t rec;

  (void)state;
  lmdb_okey(a, 5, 1, 0x01020304);
  lmdb_okey(b, 5, 2, 0);
  assert_true(memcmp(a, b, sizeof a) < 0); /* id orders before record */
  assert_true(lmdb_okey_parse(a, sizeof a, &h, &id, &rec));
  assert_int_equal(h, 5);
  assert_int_equal(id, 1);
  assert_int_equal(rec, 0x01020304);
  assert_false(lmdb_okey_parse(a, sizeof a - 1, &h, &id, &rec));
  lmdb_lkey(la, 255, 9);
  lmdb_lkey(lb, 256, 1);
  assert_true(memcmp(la, lb, sizeof la) < 0); /* time first, big-endian */
  assert_int_equal(lmdb_be64_get(la + 8), 9);
}

static void test_ukey_truncates(void **state) {
  char key[1000];
  uint8_t buf[LMDB_KEY_MAX];
  size_t n;

  (void)state;
  memset(key, 'k', sizeof key);
  n = lmdb_ukey(buf, key, 3, 7);
  assert_int_equal(n, 12);
  assert_int_equal(buf[3], 0);
  assert_int_equal(lmdb_be64_get(buf + 4), 7);
  n = lmdb_ukey(buf, key, sizeof key, 7);
  assert_int_equal(n, LMDB_KEY_MAX);
  assert_int_equal(lmdb_be64_get(buf + LMDB_URL_PREFIX_MAX + 1), 7);
}

static void test_chunks(void **state) {
  (void)state;
  assert_int_equal(lmdb_nchunks(0), 0);
  assert_int_equal(lmdb_nchunks(1), 1);
  assert_int_equal(lmdb_nchunks(CACHE_CHUNK_SIZE), 1);
  assert_int_equal(lmdb_nchunks(CACHE_CHUNK_SIZE + 1), 2);
  assert_int_equal(lmdb_chunk_len(CACHE_CHUNK_SIZE + 5, 0), CACHE_CHUNK_SIZE);
  assert_int_equal(lmdb_chunk_len(CACHE_CHUNK_SIZE + 5, 1), 5);
  assert_int_equal(lmdb_chunk_len(CACHE_CHUNK_SIZE + 5, 2), 0);
}

static void test_hdr_round_trip(void **state) {
  struct cache_obj *o = obj("accept-language", "\"v1\"", 300000), *back;
  struct lmdb_hdr h;
  size_t n;
  uint8_t *b = encode(o, &n);

  (void)state;
  assert_int_equal(lmdb_hdr_decode(&h, b, n), 0);
  assert_int_equal(h.id, 99);
  assert_int_equal(h.hash, o->hash);
  assert_int_equal(h.body_len, 300000);
  assert_int_equal(h.nchunks, 2);
  assert_memory_equal(&h.meta, &meta, sizeof meta);
  back = lmdb_hdr_obj(&h, false);
  assert_int_equal(back->key_len, 16);
  assert_memory_equal(back->key, "https://a.test/k", 16);
  assert_int_equal(back->vary_key_len, 4);
  assert_string_equal(back->vary_names, "accept-language");
  assert_string_equal(back->etag, "\"v1\"");
  assert_int_equal(back->head_len, sizeof head - 1);
  assert_memory_equal(back->head, head, sizeof head - 1);
  assert_int_equal(back->expected_len, 300000);
  assert_int_equal(cache_obj_state(back), CACHE_OBJ_BUSY);
  cache_obj_unref(&back);
  cache_obj_unref(&o);
  free(b);
}

static void test_hdr_absent_strings(void **state) {
  struct cache_obj *o = obj(NULL, NULL, 0);
  struct lmdb_hdr h;
  size_t n;
  uint8_t *b = encode(o, &n);

  (void)state;
  assert_int_equal(lmdb_hdr_decode(&h, b, n), 0);
  assert_null(h.vary_names);
  assert_null(h.etag);
  assert_int_equal(h.nchunks, 0);
  cache_obj_unref(&o);
  free(b);
}

static void test_hdr_corrupt_rejected(void **state) {
  struct cache_obj *o = obj("a", "\"e\"", 10);
  struct lmdb_hdr h;
  size_t n;
  uint8_t *b = encode(o, &n);

  (void)state;
  for (size_t i = 0; i < n; i++) { /* every single flipped byte is caught */
    b[i] ^= 0x40;
    assert_int_equal(lmdb_hdr_decode(&h, b, n), -EBADMSG);
    b[i] ^= 0x40;
  }
  for (size_t k = 0; k < n; k++) /* and every truncation */
    assert_int_equal(lmdb_hdr_decode(&h, b, k), -EBADMSG);
  assert_int_equal(lmdb_hdr_decode(&h, b, n), 0);
  cache_obj_unref(&o);
  free(b);
}

static void test_chunk_bound_to_place(void **state) {
  uint8_t rec[LMDB_CHUNK_SUM + 5] = {0, 0,   0,   0,   0,   0,  0,
                                     0, 'h', 'e', 'l', 'l', 'o'};
  const void *d;

  (void)state;
  lmdb_chunk_seal(rec, 5, 3, 1);
  assert_int_equal(lmdb_chunk_open(rec, sizeof rec, 3, 1, 5, &d), 0);
  assert_memory_equal(d, "hello", 5);
  assert_int_equal(lmdb_chunk_open(rec, sizeof rec, 4, 1, 5, &d), -EBADMSG);
  assert_int_equal(lmdb_chunk_open(rec, sizeof rec, 3, 2, 5, &d), -EBADMSG);
  assert_int_equal(lmdb_chunk_open(rec, sizeof rec, 3, 1, 4, &d), -EBADMSG);
  assert_int_equal(lmdb_chunk_open(rec, sizeof rec - 1, 3, 1, 4, &d), -EBADMSG);
  rec[10] ^= 1;
  assert_int_equal(lmdb_chunk_open(rec, sizeof rec, 3, 1, 5, &d), -EBADMSG);
}

static void test_format(void **state) {
  uint8_t f[LMDB_FORMAT_LEN];
  uint32_t v, c;

  (void)state;
  lmdb_format_encode(f);
  assert_int_equal(lmdb_format_check(f, sizeof f, &v, &c), 0);
  assert_int_equal(v, CACHE_LMDB_FORMAT);
  assert_int_equal(c, CACHE_CHUNK_SIZE);
  f[12]++; /* another version */
  assert_int_equal(lmdb_format_check(f, sizeof f, &v, &c), -EPROTO);
  assert_int_equal(v, CACHE_LMDB_FORMAT + 1);
  f[0] = 'X';
  assert_int_equal(lmdb_format_check(f, sizeof f, &v, &c), -EPROTO);
  assert_int_equal(v, 0);
  assert_int_equal(lmdb_format_check(f, 3, &v, &c), -EPROTO);
}

static void test_tags(void **state) {
  static const char *const want[] = {"a", "bb", "ccc", "d"};
  struct lmdb_tag_iter it;
  const char *t;
  size_t n, i = 0;

  (void)state;
  lmdb_tag_iter_init(&it, head, sizeof head - 1);
  while (lmdb_tag_next(&it, &t, &n)) {
    assert_true(i < 4);
    assert_int_equal(n, strlen(want[i]));
    assert_memory_equal(t, want[i], n);
    i++;
  }
  assert_int_equal(i, 4);
  lmdb_tag_iter_init(&it, "Surrogate-Key:   \r\n", 19);
  assert_false(lmdb_tag_next(&it, &t, &n));
  lmdb_tag_iter_init(&it, "Surrogate-Keys: x\r\nSurrogate-Key:z", 34);
  assert_true(lmdb_tag_next(&it, &t, &n));
  assert_int_equal(n, 1);
  assert_memory_equal(t, "z", 1);
  assert_false(lmdb_tag_next(&it, &t, &n));
}

static void test_conf(void **state) {
  struct cache_lmdb_conf cf = {.path = "/x", .map_bytes = 1 << 20};

  (void)state;
  assert_int_equal(lmdb_conf_check(&cf), 0);
  assert_int_equal(cf.high_pct, 90);
  assert_int_equal(cf.low_pct, 75);
  assert_int_equal(cf.max_readers, 126);
  assert_int_equal(cf.sync_interval_ms, 1000);
  cf.low_pct = 95;
  assert_int_equal(lmdb_conf_check(&cf), -EINVAL);
  cf = (struct cache_lmdb_conf){.map_bytes = 1 << 20};
  assert_int_equal(lmdb_conf_check(&cf), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keys_order),
      cmocka_unit_test(test_ukey_truncates),
      cmocka_unit_test(test_chunks),
      cmocka_unit_test(test_hdr_round_trip),
      cmocka_unit_test(test_hdr_absent_strings),
      cmocka_unit_test(test_hdr_corrupt_rejected),
      cmocka_unit_test(test_chunk_bound_to_place),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_tags),
      cmocka_unit_test(test_conf),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
