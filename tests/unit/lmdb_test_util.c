/* Helpers shared by the LMDB tier's unit tests (see lmdb_test_util.h). */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "cache/lmdb_int.h"
#include "tests/unit/lmdb_test_util.h"

char lmdb_test_dir[64];

const struct cache_meta lmdb_test_meta = {
    .status = 200, .lifetime_ms = 5000, .swr_ms = -1, .sie_ms = -1
};

static void
file_path(char *p, size_t n, const char *name)
{
    snprintf(p, n, "%s/%s", lmdb_test_dir, name);
}

int
lmdb_test_dir_setup(void **state)
{
    (void)state;
    strcpy(lmdb_test_dir, "/tmp/strata-lmdb-XXXXXX");
    return mkdtemp(lmdb_test_dir) != NULL ? 0 : -1;
}

int
lmdb_test_dir_wipe(void **state)
{
    char p[128];

    (void)state;
    file_path(p, sizeof p, "data.mdb");
    unlink(p);
    file_path(p, sizeof p, "lock.mdb");
    unlink(p);
    return 0;
}

int
lmdb_test_dir_teardown(void **state)
{
    return lmdb_test_dir_wipe(state) + rmdir(lmdb_test_dir);
}

char
lmdb_test_byte(uint64_t seed, uint64_t pos)
{
    return (char)(((pos + seed) * 2654435761u) >> 13);
}

bool
lmdb_test_bytes_are(const char *p, size_t n, uint64_t seed, uint64_t from)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != lmdb_test_byte(seed, from + i))
            return false;
    return true;
}

bool
lmdb_test_body_is(const struct cache_obj *o, size_t len, uint64_t seed)
{
    struct cache_obj_cursor cur;
    struct cache_chunk *c;
    const char *p;
    size_t n, pos = 0;

    if (cache_obj_state(o) != CACHE_OBJ_COMPLETE ||
        cache_obj_body_len(o) != len)
        return false;
    cache_obj_cursor_init(&cur, o);
    for (; (n = cache_obj_read(&cur, o, &p, &c, SIZE_MAX)) > 0; pos += n)
        if (!lmdb_test_bytes_are(p, n, seed, pos))
            return false;
    return pos == len;
}

void
lmdb_test_body_append(struct cache_obj *o, size_t len, uint64_t seed)
{
    char buf[4096];

    for (size_t off = 0; off < len;) {
        size_t n = len - off < sizeof buf ? len - off : sizeof buf;

        for (size_t i = 0; i < n; i++)
            buf[i] = lmdb_test_byte(seed, off + i);
        cache_obj_append(o, buf, n);
        off += n;
    }
}

uint64_t
lmdb_test_hash(const char *key)
{
    return XXH3_64bits(key, strlen(key));
}

struct cache_obj *
lmdb_test_obj_new(const char *key, const char *vk, size_t len, uint64_t seed)
{
    size_t vlen = vk != NULL ? strlen(vk) : 0;
    struct cache_obj *o = cache_obj_new(
        lmdb_test_hash(key), key, strlen(key), vk, vlen,
        vk != NULL ? "accept-language" : NULL, "\"e\"",
        "Surrogate-Key: t1 t2\r\n", 22, &lmdb_test_meta, len);

    lmdb_test_body_append(o, len, seed);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    return o;
}

struct cache_lmdb_conf
lmdb_test_conf(uint64_t map_bytes)
{
    return (struct cache_lmdb_conf){ .path = lmdb_test_dir,
                                     .map_bytes = map_bytes,
                                     .durability = CACHE_LMDB_FAST };
}

struct cache_lmdb *
lmdb_test_open(const struct cache_lmdb_conf *cf)
{
    int err = 0;
    struct cache_lmdb *l = cache_lmdb_open(cf, &err);

    assert_non_null(l);
    return l;
}

static bool
match_vary(const struct cache_obj *o, void *arg)
{
    const char *want = arg;

    return o->vary_key_len == strlen(want) &&
           memcmp(o->vary_key, want, o->vary_key_len) == 0;
}

struct cache_obj *
lmdb_test_get(struct cache_lmdb *l, const char *key, const char *vk,
              bool *seen)
{
    return cache_lmdb_lookup(l, lmdb_test_hash(key), key, strlen(key),
                             vk != NULL ? match_vary : NULL, (void *)vk, seen,
                             1000);
}

void
lmdb_test_expect_body(struct cache_lmdb *l, const char *key, const char *vk,
                      size_t len, uint64_t seed)
{
    struct cache_obj *o = lmdb_test_get(l, key, vk, NULL);

    assert_true(o != NULL && lmdb_test_body_is(o, len, seed));
    cache_obj_unref(&o);
}

void
lmdb_test_fsize_limit(struct rlimit *old, uint64_t extra)
{
    struct rlimit lim;
    struct stat st;
    char p[128];

    file_path(p, sizeof p, "data.mdb");
    assert_int_equal(stat(p, &st), 0);
    getrlimit(RLIMIT_FSIZE, old);
    lim = *old;
    lim.rlim_cur = (rlim_t)st.st_size + extra;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
}

void
lmdb_test_fsize_restore(const struct rlimit *old)
{
    setrlimit(RLIMIT_FSIZE, old);
    signal(SIGXFSZ, SIG_DFL);
}

MDB_env *
lmdb_test_env_open(unsigned flags)
{
    MDB_env *env;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, lmdb_test_dir, flags, 0600), 0);
    return env;
}

unsigned
lmdb_test_count(const char *db, const void *prefix, size_t n)
{
    MDB_env *env = lmdb_test_env_open(MDB_RDONLY);
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k = { n, (void *)prefix }, v;
    unsigned found = 0;

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

unsigned
lmdb_test_queued(struct cache_lmdb *l)
{
    unsigned n;

    pthread_mutex_lock(&l->w.lock);
    n = l->w.nops;
    pthread_mutex_unlock(&l->w.lock);
    return n;
}
