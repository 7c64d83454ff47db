/*
 * cache/ram.c: index, variants, replace, remove, byte budget and S3-FIFO
 * eviction (one-hit wonders leave through small into the ghost, the ghost
 * sends a returning key to main, main gives hit objects another lap, and a
 * hot set survives a scan larger than the cache).
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/obj.h"
#include "cache/ram.h"

#define BODY 1000
#define MIB ((size_t)1 << 20)

static const struct cache_meta meta = { .status = 200, .swr_ms = -1, .sie_ms = -1 };

static uint64_t
key_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: any hash will do */

    for (; *key != '\0'; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return h;
}

static struct cache_obj *
mk(const char *key, const char *vary, size_t body)
{
    size_t vlen = vary != NULL ? strlen(vary) : 0;
    struct cache_obj *o = cache_obj_new(key_hash(key), key, strlen(key), vary, vlen, NULL,
                                        NULL, "A: b\r\n", 6, &meta, body);
    char *buf = calloc(1, body + 1);

    cache_obj_append(o, buf, body);
    free(buf);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    return o;
}

static const char *
kname(const char *prefix, int i)
{
    static char buf[64];

    /* Fixed length, so every put() object has the same charge. */
    snprintf(buf, sizeof buf, "%-6s%06d", prefix, i);
    return buf;
}

/* Inserts key with a BODY-byte body and drops the caller's reference. */
static void
put(struct cache_ram *r, const char *key)
{
    struct cache_obj *o = mk(key, NULL, BODY);

    assert_int_equal(cache_ram_insert(r, o), 0);
    cache_obj_unref(&o);
}

/* Looks key up (a hit bumps its frequency); true on a hit. */
static bool
get(struct cache_ram *r, const char *key)
{
    struct cache_obj *o = cache_ram_lookup(r, key_hash(key), key, strlen(key), NULL, NULL,
                                           NULL);

    if (o == NULL)
        return false;
    assert_memory_equal(o->key, key, strlen(key));
    cache_obj_unref(&o);
    return true;
}

static struct cache_ram_stats
stats(const struct cache_ram *r)
{
    struct cache_ram_stats st;

    cache_ram_stats(r, &st);
    assert_int_equal(st.bytes, st.small_bytes + st.main_bytes);
    assert_true(st.bytes <= st.budget);
    return st;
}

/* What one put() object costs the tier (all keys have the same length). */
static size_t
unit(void)
{
    struct cache_ram *r = cache_ram_new(MIB, MIB / 4);
    size_t c;

    put(r, kname("probe", 0));
    c = stats(r).bytes;
    cache_ram_free(&r);
    assert_true(c > BODY && c < BODY + 512);
    return c;
}

static bool
match_vary(const struct cache_obj *o, void *arg)
{
    const char *want = arg;

    return o->vary_key_len == strlen(want) && memcmp(o->vary_key, want, o->vary_key_len) == 0;
}

static void
test_insert_lookup(void **state)
{
    struct cache_ram *r = cache_ram_new(MIB, MIB / 4);
    struct cache_obj *o = mk("https://a.test/1", NULL, 10), *got;
    struct cache_ram_stats st;
    bool seen = true;

    (void)state;
    assert_int_equal(stats(r).shards, 1);
    assert_int_equal(cache_ram_insert(r, o), 0);
    assert_int_equal(o->refcnt, 2);
    got = cache_ram_lookup(r, o->hash, o->key, o->key_len, NULL, NULL, &seen);
    assert_ptr_equal(got, o);
    assert_true(seen);
    assert_int_equal(o->refcnt, 3);
    cache_obj_unref(&got);
    /* Same hash, other key: the key is compared in full. */
    assert_null(cache_ram_lookup(r, o->hash, "https://a.test/2", 16, NULL, NULL, &seen));
    assert_false(seen);
    st = stats(r);
    assert_int_equal(st.objects, 1);
    assert_int_equal(st.inserts, 1);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    assert_true(st.bytes > o->charge);
    cache_ram_free(&r);
    assert_null(r);
    assert_int_equal(o->refcnt, 1);
    cache_obj_unref(&o);
}

static void
test_variants(void **state)
{
    struct cache_ram *r = cache_ram_new(MIB, MIB / 4);
    struct cache_obj *gz = mk("k", "gzip", 10), *br = mk("k", "br", 10), *got;
    bool seen = false;

    (void)state;
    assert_int_equal(cache_ram_insert(r, gz), 0);
    assert_int_equal(cache_ram_insert(r, br), 0);
    assert_int_equal(stats(r).objects, 2);
    got = cache_ram_lookup(r, gz->hash, "k", 1, match_vary, "gzip", &seen);
    assert_ptr_equal(got, gz);
    cache_obj_unref(&got);
    got = cache_ram_lookup(r, gz->hash, "k", 1, match_vary, "br", &seen);
    assert_ptr_equal(got, br);
    cache_obj_unref(&got);
    /* The key is there, no variant fits: fwd=vary-miss. */
    assert_null(cache_ram_lookup(r, gz->hash, "k", 1, match_vary, "zstd", &seen));
    assert_true(seen);
    /* No match function: the newest variant. */
    got = cache_ram_lookup(r, gz->hash, "k", 1, NULL, NULL, NULL);
    assert_ptr_equal(got, br);
    cache_obj_unref(&got);
    assert_null(cache_ram_lookup(r, key_hash("j"), "j", 1, match_vary, "br", &seen));
    assert_false(seen);
    cache_ram_free(&r);
    cache_obj_unref(&gz);
    cache_obj_unref(&br);
}

static void
test_replace(void **state)
{
    struct cache_ram *r = cache_ram_new(MIB, MIB / 4);
    struct cache_obj *o1 = mk("k", "gzip", 10), *o2 = mk("k", "gzip", 20), *got;
    struct cache_ram_stats st;

    (void)state;
    assert_int_equal(cache_ram_insert(r, o1), 0);
    assert_int_equal(cache_ram_insert(r, o2), 0);
    assert_int_equal(o1->refcnt, 1); /* the tier dropped its reference */
    got = cache_ram_lookup(r, o1->hash, "k", 1, match_vary, "gzip", NULL);
    assert_ptr_equal(got, o2);
    cache_obj_unref(&got);
    /* Inserting what is already indexed changes nothing. */
    assert_int_equal(cache_ram_insert(r, o2), 0);
    assert_int_equal(o2->refcnt, 2);
    st = stats(r);
    assert_int_equal(st.objects, 1);
    assert_int_equal(st.inserts, 2);
    assert_int_equal(st.replaces, 1);
    cache_ram_free(&r);
    cache_obj_unref(&o1);
    cache_obj_unref(&o2);
}

static void
test_remove(void **state)
{
    struct cache_ram *r = cache_ram_new(MIB, MIB / 4);
    struct cache_obj *a = mk("k", "a", 1), *b = mk("k", "b", 1), *c = mk("k", "c", 1);
    struct cache_obj *other = mk("other", NULL, 1), *a2 = mk("k", "a", 1);

    (void)state;
    assert_int_equal(cache_ram_insert(r, a), 0);
    assert_int_equal(cache_ram_insert(r, b), 0);
    assert_int_equal(cache_ram_insert(r, c), 0);
    assert_int_equal(cache_ram_insert(r, other), 0);
    assert_true(cache_ram_remove_obj(r, b));
    assert_false(cache_ram_remove_obj(r, b));
    assert_int_equal(b->refcnt, 1);
    assert_int_equal(cache_ram_remove_key(r, a->hash, "k", 1), 2);
    assert_int_equal(cache_ram_remove_key(r, a->hash, "k", 1), 0);
    assert_false(get(r, "k"));
    assert_true(get(r, "other"));
    /* A replaced object is no longer indexed. */
    assert_int_equal(cache_ram_insert(r, a), 0);
    assert_int_equal(cache_ram_insert(r, a2), 0);
    assert_false(cache_ram_remove_obj(r, a));
    assert_true(cache_ram_remove_obj(r, a2));
    assert_int_equal(stats(r).objects, 1);
    assert_int_equal(stats(r).removes, 4);
    cache_ram_free(&r);
    cache_obj_unref(&a);
    cache_obj_unref(&a2);
    cache_obj_unref(&b);
    cache_obj_unref(&c);
    cache_obj_unref(&other);
}

static void
test_too_big(void **state)
{
    struct cache_ram *r = cache_ram_new(MIB, 4096);
    struct cache_obj *fits = mk("fits", NULL, 4096), *big = mk("big", NULL, 4097);

    (void)state;
    assert_int_equal(cache_ram_insert(r, big), -E2BIG);
    assert_int_equal(cache_ram_insert(r, fits), 0);
    assert_int_equal(big->refcnt, 1);
    assert_false(get(r, "big"));
    assert_int_equal(stats(r).objects, 1);
    cache_ram_free(&r);
    cache_obj_unref(&big);

    /* No size limit, but larger than the whole budget. */
    r = cache_ram_new(MIB, SIZE_MAX);
    big = mk("big", NULL, MIB);
    assert_int_equal(cache_ram_insert(r, big), -E2BIG);
    assert_int_equal(cache_ram_insert(r, fits), 0);
    cache_ram_free(&r);
    cache_obj_unref(&big);
    cache_obj_unref(&fits);
}

static void
test_budget_never_exceeded(void **state)
{
    struct cache_ram *r = cache_ram_new(2 * MIB, 64 * 1024);
    struct cache_ram_stats st;
    unsigned seed = 1;

    (void)state;
    for (int i = 0; i < 3000; i++) {
        const char *k = kname("k", rand_r(&seed) % 1000);
        struct cache_obj *o;

        if (rand_r(&seed) % 3 == 0) {
            get(r, k);
            continue;
        }
        o = mk(k, NULL, (size_t)(rand_r(&seed) % 40000));
        assert_int_equal(cache_ram_insert(r, o), 0);
        cache_obj_unref(&o);
        st = stats(r); /* asserts bytes <= budget */
    }
    st = stats(r);
    assert_true(st.evictions > 0);
    assert_true(st.bytes > st.budget / 2);
    cache_ram_free(&r);
}

/* Objects never hit leave through small into the ghost; a return goes to main. */
static void
test_one_hit_wonders_to_ghost(void **state)
{
    size_t u = unit();
    struct cache_ram *r = cache_ram_new(20 * u, u);
    struct cache_ram_stats st;

    (void)state;
    assert_int_equal(stats(r).shards, 1);
    for (int i = 0; i < 20; i++)
        put(r, kname("k", i));
    st = stats(r);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(st.small_bytes, 20 * u);
    put(r, kname("k", 20));
    st = stats(r);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.main_bytes, 0);
    assert_false(get(r, kname("k", 0))); /* the oldest went */
    put(r, kname("k", 0));               /* re-fetched after the miss */
    st = stats(r);
    assert_int_equal(st.ghost_hits, 1);
    assert_int_equal(st.main_bytes, u);
    assert_int_equal(st.evictions, 2);
    assert_false(get(r, kname("k", 1)));
    assert_true(get(r, kname("k", 0)));
    cache_ram_free(&r);
}

/* A hit while in small earns a place in main. */
static void
test_hit_in_small_moves_to_main(void **state)
{
    size_t u = unit();
    struct cache_ram *r = cache_ram_new(20 * u, u);
    struct cache_ram_stats st;

    (void)state;
    for (int i = 0; i < 20; i++)
        put(r, kname("k", i));
    assert_true(get(r, kname("k", 0)));
    put(r, kname("k", 20));
    st = stats(r);
    assert_int_equal(st.main_bytes, u);
    assert_int_equal(st.evictions, 1);
    assert_true(get(r, kname("k", 0)));
    assert_false(get(r, kname("k", 1)));
    cache_ram_free(&r);
}

/* Leaving main, a hit object gets another lap and the next one goes. */
static void
test_main_second_chance(void **state)
{
    size_t u = unit();
    struct cache_ram *r = cache_ram_new(10 * u, u);

    (void)state;
    for (int i = 0; i < 10; i++)
        put(r, kname("o", i));
    for (int i = 0; i < 10; i++)
        assert_true(get(r, kname("o", i)));
    /* o0..o8 move to main, small keeps o9; main then evicts o0. */
    put(r, kname("n", 0));
    assert_int_equal(stats(r).main_bytes, 8 * u);
    assert_int_equal(stats(r).evictions, 1);
    assert_true(get(r, kname("o", 1)));
    /* o9 moves to main; o1 (hit) is reinserted and o2 is evicted. */
    put(r, kname("n", 1));
    assert_int_equal(stats(r).evictions, 2);
    assert_true(get(r, kname("o", 1)));
    assert_false(get(r, kname("o", 2)));
    assert_false(get(r, kname("o", 0)));
    assert_true(get(r, kname("o", 3)));
    assert_true(get(r, kname("o", 9)));
    cache_ram_free(&r);
}

/*
 * A hot set survives a scan of one-time objects ten times the cache. Each
 * round inserts 150 scan objects then touches each of 20 hot ones: between
 * two touches of a hot object 169 others are touched, so an LRU of 100
 * objects would miss every hot lookup.
 */
static void
test_scan_resistance(void **state)
{
    size_t u = unit();
    struct cache_ram *r = cache_ram_new(100 * u, u);
    int hot_hits = 0, hot_lookups = 0, scan = 0;

    (void)state;
    for (int i = 0; i < 20; i++)
        put(r, kname("hot", i));
    for (int round = 0; round < 7; round++) {
        for (int j = 0; j < 150; j++)
            put(r, kname("scan", scan++));
        for (int i = 0; i < 20; i++, hot_lookups++) {
            if (get(r, kname("hot", i)))
                hot_hits++;
            else
                put(r, kname("hot", i));
        }
    }
    /* Only the first round misses: the hot set was never hit before. */
    assert_int_equal(hot_hits, hot_lookups - 20);
    assert_false(get(r, kname("scan", 0)));
    assert_true(stats(r).evictions >= (uint64_t)scan - 100);
    cache_ram_free(&r);
}

static bool
drop_even(struct cache_obj *o, void *arg)
{
    int *visited = arg;

    (*visited)++;
    return (o->key[o->key_len - 1] - '0') % 2 == 0;
}

static void
test_foreach(void **state)
{
    struct cache_ram *r = cache_ram_new(64 * MIB, MIB);
    int visited = 0;

    (void)state;
    for (int i = 0; i < 10; i++)
        put(r, kname("k", i));
    assert_int_equal(cache_ram_foreach(r, drop_even, &visited), 5);
    assert_int_equal(visited, 10);
    assert_int_equal(stats(r).objects, 5);
    assert_false(get(r, kname("k", 4)));
    assert_true(get(r, kname("k", 5)));
    cache_ram_free(&r);
}

/* Many objects across 64 shards: tables grow and every object is found. */
static void
test_many_objects(void **state)
{
    struct cache_ram *r = cache_ram_new(1024 * MIB, MIB);
    struct cache_ram_stats st;
    const int n = 50000;

    (void)state;
    assert_int_equal(stats(r).shards, 64);
    for (int i = 0; i < n; i++) {
        struct cache_obj *o = mk(kname("m", i), NULL, 8);

        assert_int_equal(cache_ram_insert(r, o), 0);
        cache_obj_unref(&o);
    }
    for (int i = 0; i < n; i++)
        assert_true(get(r, kname("m", i)));
    st = stats(r);
    assert_int_equal(st.objects, n);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(st.hits, n);
    cache_ram_free(&r);
}

/* Evicted or freed, an object a reader holds stays whole. */
static void
test_reader_keeps_object(void **state)
{
    size_t u = unit();
    struct cache_ram *r = cache_ram_new(10 * u, u);
    const char *k = kname("k", 0);
    struct cache_obj *held;

    (void)state;
    put(r, k);
    held = cache_ram_lookup(r, key_hash(k), k, strlen(k), NULL, NULL, NULL);
    assert_non_null(held);
    assert_int_equal(cache_ram_remove_key(r, held->hash, held->key, held->key_len), 1);
    assert_int_equal(held->refcnt, 1);
    assert_null(held->tier);
    assert_int_equal(cache_obj_body_len(held), BODY);
    cache_ram_free(&r);
    cache_obj_unref(&held);
}

/* Looks key's variant vk up; true on a hit. */
static bool
has_variant(struct cache_ram *r, const char *key, const char *vk)
{
    struct cache_obj *o = cache_ram_lookup(r, key_hash(key), key, strlen(key), match_vary,
                                           (void *)vk, NULL);

    if (o == NULL)
        return false;
    cache_obj_unref(&o);
    return true;
}

/* A key keeps at most CACHE_RAM_MAX_VARIANTS: the newest replaces the oldest. */
static void
test_variant_cap(void **state)
{
    struct cache_ram *r = cache_ram_new(64 * MIB, MIB);
    const unsigned extra = 10;
    char vk[32];

    (void)state;
    for (unsigned i = 0; i < CACHE_RAM_MAX_VARIANTS + extra; i++) {
        struct cache_obj *o;

        snprintf(vk, sizeof vk, "ua-%u", i);
        o = mk("https://v.test/x", vk, 100);
        assert_int_equal(cache_ram_insert(r, o), 0);
        cache_obj_unref(&o);
    }
    assert_int_equal(stats(r).objects, CACHE_RAM_MAX_VARIANTS);
    assert_int_equal(stats(r).variant_drops, extra);
    assert_false(has_variant(r, "https://v.test/x", "ua-0"));
    assert_false(has_variant(r, "https://v.test/x", "ua-9"));
    assert_true(has_variant(r, "https://v.test/x", "ua-10"));
    snprintf(vk, sizeof vk, "ua-%u", CACHE_RAM_MAX_VARIANTS + extra - 1);
    assert_true(has_variant(r, "https://v.test/x", vk));
    /* Replacing a variant that is there drops nothing. */
    {
        struct cache_obj *o = mk("https://v.test/x", "ua-10", 200);

        assert_int_equal(cache_ram_insert(r, o), 0);
        cache_obj_unref(&o);
    }
    assert_int_equal(stats(r).variant_drops, extra);
    cache_ram_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_lookup),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_budget_never_exceeded),
        cmocka_unit_test(test_one_hit_wonders_to_ghost),
        cmocka_unit_test(test_hit_in_small_moves_to_main),
        cmocka_unit_test(test_main_second_chance),
        cmocka_unit_test(test_scan_resistance),
        cmocka_unit_test(test_foreach),
        cmocka_unit_test(test_many_objects),
        cmocka_unit_test(test_reader_keeps_object),
        cmocka_unit_test(test_variant_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
