/*
 * Shared by the LMDB tier's unit tests (cache_lmdb_test.c and
 * cache_lmdb_fill_test.c): one environment dir per test program (mkdtemp
 * under /tmp, emptied before each test, removed at the end), a body pattern
 * and objects built from it, open and lookup wrappers, a full disk
 * simulated with RLIMIT_FSIZE, and raw LMDB access to look behind the
 * tier's back (the only reason these tests include lmdb.h).
 *
 * The functions that assert use cmocka, whose assertions longjmp: call them
 * from the test's main thread only. lmdb_test_byte, lmdb_test_bytes_are,
 * lmdb_test_body_is and lmdb_test_get never assert and may run anywhere.
 */
#ifndef TESTS_UNIT_LMDB_TEST_UTIL_H
#define TESTS_UNIT_LMDB_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include <lmdb.h>

#include "cache/lmdb_tier.h"

#define MiB (1024u * 1024u)

/* The environment dir, made by lmdb_test_dir_setup. */
extern char lmdb_test_dir[64];

/* cmocka group setup: makes lmdb_test_dir. */
int lmdb_test_dir_setup(void **state);
/* cmocka setup of each test: deletes the environment's files. Returns 0. */
int lmdb_test_dir_wipe(void **state);
/* cmocka group teardown: deletes the files and removes lmdb_test_dir. */
int lmdb_test_dir_teardown(void **state);

/* Byte pos of body pattern seed. */
char lmdb_test_byte(uint64_t seed, uint64_t pos);
/* p[0, n) is pattern seed from byte from on. */
bool lmdb_test_bytes_are(const char *p, size_t n, uint64_t seed,
                         uint64_t from);
/* o is COMPLETE and its body is bytes [0, len) of pattern seed. */
bool lmdb_test_body_is(const struct cache_obj *o, size_t len, uint64_t seed);
/* Appends bytes [0, len) of pattern seed to o's body. */
void lmdb_test_body_append(struct cache_obj *o, size_t len, uint64_t seed);

/* The meta of every test object: 200, fresh for 5 s. */
extern const struct cache_meta lmdb_test_meta;
/* The cache key hash of key. */
uint64_t lmdb_test_hash(const char *key);
/*
 * A COMPLETE object of key, variant vk of accept-language (none when vk is
 * NULL), etag "e", tags t1 t2, lmdb_test_meta, and bytes [0, len) of
 * pattern seed. The caller owns its one reference.
 */
struct cache_obj *lmdb_test_obj_new(const char *key, const char *vk,
                                    size_t len, uint64_t seed);

/* A CACHE_LMDB_FAST conf of lmdb_test_dir with this map size. */
struct cache_lmdb_conf lmdb_test_conf(uint64_t map_bytes);
/* Opens the tier of cf; asserts that it opened. */
struct cache_lmdb *lmdb_test_open(const struct cache_lmdb_conf *cf);
/*
 * Looks key up (variant vk, any when NULL) at 1000 ms; *seen as in
 * cache_lmdb_lookup. Returns a new reference or NULL.
 */
struct cache_obj *lmdb_test_get(struct cache_lmdb *l, const char *key,
                                const char *vk, bool *seen);
/* Asserts that key (variant vk) is found with this body. */
void lmdb_test_expect_body(struct cache_lmdb *l, const char *key,
                           const char *vk, size_t len, uint64_t seed);

/*
 * A full disk: the file size limit becomes data.mdb's size plus extra
 * (writes past it fail with EFBIG) and SIGXFSZ is ignored; *old keeps the
 * limit for lmdb_test_fsize_restore, which also restores SIGXFSZ.
 */
void lmdb_test_fsize_limit(struct rlimit *old, uint64_t extra);
void lmdb_test_fsize_restore(const struct rlimit *old);

/*
 * Opens the environment in lmdb_test_dir behind the tier's back, with
 * mdb_env_open flags (0 or MDB_RDONLY). Close it with mdb_env_close.
 */
MDB_env *lmdb_test_env_open(unsigned flags);
/* Ops the writer has queued now (0 once it drained everything). */
unsigned lmdb_test_queued(struct cache_lmdb *l);
/* With the tier closed: the entries of db whose key starts with prefix. */
unsigned lmdb_test_count(const char *db, const void *prefix, size_t n);

#endif
