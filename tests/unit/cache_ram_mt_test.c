/*
 * cache/obj.c and cache/ram.c under threads: random inserts, lookups and
 * removes on a tier much smaller than the working set, and readers
 * streaming a BUSY object while its writer appends. Meant for ASan, UBSan
 * and TSan builds as much as for plain ones. Each stress phase runs for
 * about a second of wall time (the clock bounds the test, it is not an
 * input to the code under test).
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cache/obj.h"
#include "cache/ram.h"
#include "tests/unit/test_check.h"

#define THREADS 4
#define KEYS 800
#define READERS 3
#define STREAM_LEN (6u << 20)
#define RUN_NS 1000000000LL
#define STREAM_SEED 99u


static const struct cache_meta meta = { .status = 200, .swr_ms = -1, .sie_ms = -1 };

static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static char
byte_at(uint64_t seed, uint64_t pos)
{
    return (char)(((pos + seed) * 2654435761u) >> 11);
}

/* Checks every byte from the cursor to the published end; returns the count. */
static uint64_t
verify(struct cache_obj_cursor *cur, const struct cache_obj *o, uint64_t seed, size_t max)
{
    const char *p;
    struct cache_chunk *c;
    uint64_t total = 0;
    size_t n;

    while ((n = cache_obj_read(cur, o, &p, &c, max)) > 0) {
        cache_chunk_ref(c); /* as an output buffer would */
        for (size_t i = 0; i < n; i++)
            CHECK(p[i] == byte_at(seed, cur->pos - n + i));
        cache_chunk_unref(c);
        total += n;
    }
    return total;
}

/* ---- the tier under random operations ---- */

struct tier_run {
    struct cache_ram *r;
    int64_t deadline;
    uint64_t seed;
    uint64_t ops, hits;
};

static void
key_of(char *buf, size_t size, unsigned id)
{
    snprintf(buf, size, "https://mt.test/%u", id);
}

static uint64_t
hash_of(unsigned id)
{
    uint64_t h = id * 0x9e3779b97f4a7c15ULL;

    return h ^ (h >> 29);
}

/* Body seed for (id, variant): lookups check the bytes against it. */
static uint64_t
seed_of(unsigned id, unsigned v)
{
    return id * 2u + v;
}

static size_t
size_of(unsigned id)
{
    return 200 + (id * 7919u) % 20000;
}

static bool
match_variant(const struct cache_obj *o, void *arg)
{
    return o->vary_key_len == 1 && o->vary_key[0] == *(const char *)arg;
}

static void
mt_insert(struct cache_ram *r, unsigned id, unsigned v)
{
    char key[64], vary = (char)('0' + v), buf[4096];
    size_t len = size_of(id), done = 0;
    struct cache_obj *o;

    key_of(key, sizeof key, id);
    o = cache_obj_new(hash_of(id), key, strlen(key), &vary, 1, "x-v", NULL, NULL, 0, &meta,
                      v == 0 ? len : CACHE_LEN_UNKNOWN);
    while (done < len) {
        size_t n = len - done < sizeof buf ? len - done : sizeof buf;

        for (size_t i = 0; i < n; i++)
            buf[i] = byte_at(seed_of(id, v), done + i);
        cache_obj_append(o, buf, n);
        done += n;
    }
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    CHECK(cache_ram_insert(r, o) == 0);
    cache_obj_unref(&o);
}

static bool
mt_lookup(struct tier_run *t, unsigned id, unsigned v, bool drop)
{
    char key[64], vary = (char)('0' + v);
    struct cache_obj_cursor cur;
    struct cache_obj *o;
    bool seen;

    key_of(key, sizeof key, id);
    o = cache_ram_lookup(t->r, hash_of(id), key, strlen(key), match_variant, &vary, &seen);
    if (o == NULL)
        return false;
    CHECK(seen);
    CHECK(cache_obj_state(o) == CACHE_OBJ_COMPLETE);
    CHECK(o->key_len == strlen(key) && memcmp(o->key, key, o->key_len) == 0);
    cache_obj_cursor_init(&cur, o);
    CHECK(verify(&cur, o, seed_of(id, v), 1 + rnd(&t->seed) % 70000) == size_of(id));
    if (drop)
        cache_ram_remove_obj(t->r, o); /* may race with an eviction: either is fine */
    cache_obj_unref(&o);
    return true;
}

static bool
drop_some(struct cache_obj *o, void *arg)
{
    return o->hash % 7 == *(uint64_t *)arg;
}

static void *
tier_worker(void *arg)
{
    struct tier_run *t = arg;

    while (now_ns() < t->deadline) {
        uint64_t x = rnd(&t->seed), pick = rnd(&t->seed);
        unsigned id = (unsigned)(pick % KEYS), v = (unsigned)(pick >> 32) % 2;
        struct cache_ram_stats st;
        uint64_t mod = x % 7;

        switch (x % 1000) {
        case 0:
            cache_ram_foreach(t->r, drop_some, &mod);
            break;
        case 1:
            cache_ram_stats(t->r, &st);
            CHECK(st.bytes <= st.budget);
            break;
        default:
            if (x % 1000 < 400)
                mt_insert(t->r, id, v);
            else if (x % 1000 < 450)
                cache_ram_remove_key(t->r, hash_of(id), "nope", 4);
            else if (x % 1000 < 500) {
                char key[64];

                key_of(key, sizeof key, id);
                cache_ram_remove_key(t->r, hash_of(id), key, strlen(key));
            } else
                t->hits += mt_lookup(t, id, v, x % 1000 < 520);
        }
        t->ops++;
    }
    return NULL;
}

static void
test_mt_tier(void **state)
{
    struct cache_ram *r = cache_ram_new(8u << 20, 64u << 10);
    struct tier_run t[THREADS];
    pthread_t th[THREADS];
    struct cache_ram_stats st;
    uint64_t ops = 0, hits = 0;

    (void)state;
    for (int i = 0; i < THREADS; i++) {
        t[i] = (struct tier_run){ .r = r, .deadline = now_ns() + RUN_NS,
                                  .seed = 88172645463325252ULL + (uint64_t)i };
        assert_int_equal(pthread_create(&th[i], NULL, tier_worker, &t[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ops += t[i].ops;
        hits += t[i].hits;
    }
    cache_ram_stats(r, &st);
    print_message("tier: %llu ops, %llu hits, %llu evictions, %u shards, %zu/%zu bytes\n",
                  (unsigned long long)ops, (unsigned long long)hits,
                  (unsigned long long)st.evictions, st.shards, st.bytes, st.budget);
    assert_true(st.bytes <= st.budget);
    assert_true(st.evictions > 0);
    assert_true(hits > 0);
    assert_int_equal(st.hits, hits);
    cache_ram_free(&r);
}

/* ---- one writer, several readers streaming a BUSY object ---- */

struct stream_run {
    struct cache_obj *o;
    uint64_t seed;
    int idx;
    uint64_t got;
};

static void *
stream_writer(void *arg)
{
    struct stream_run *w = arg;
    char *buf = malloc(70000);
    uint64_t done = 0;

    while (done < STREAM_LEN) {
        size_t n = 1 + rnd(&w->seed) % 70000;

        if (n > STREAM_LEN - done)
            n = STREAM_LEN - done;
        for (size_t i = 0; i < n; i++)
            buf[i] = byte_at(STREAM_SEED, done + i);
        cache_obj_append(w->o, buf, n);
        done += n;
        if (rnd(&w->seed) % 4 == 0)
            sched_yield();
    }
    free(buf);
    cache_obj_finish(w->o, CACHE_OBJ_COMPLETE);
    return NULL;
}

/* Reader 0 starts at 0; the others seek to somewhere already published. */
static void *
stream_reader(void *arg)
{
    struct stream_run *rd = arg;
    struct cache_obj_cursor cur;
    uint64_t start = 0;

    cache_obj_cursor_init(&cur, rd->o);
    if (rd->idx > 0) {
        while (cache_obj_body_len(rd->o) < (uint64_t)rd->idx * 300000)
            sched_yield();
        start = rnd(&rd->seed) % (cache_obj_body_len(rd->o) + 1);
        CHECK(cache_obj_cursor_seek(&cur, rd->o, start));
    }
    for (;;) {
        uint64_t n = verify(&cur, rd->o, STREAM_SEED, 1 + rnd(&rd->seed) % 100000);

        rd->got += n;
        if (n > 0)
            continue;
        if (cache_obj_state(rd->o) != CACHE_OBJ_BUSY) {
            /* Bytes published before the state are visible now. */
            rd->got += verify(&cur, rd->o, STREAM_SEED, SIZE_MAX);
            break;
        }
        sched_yield();
    }
    CHECK(start + rd->got == STREAM_LEN);
    return NULL;
}

static void
stream_once(uint64_t expected)
{
    struct cache_obj *o = cache_obj_new(1, "https://mt.test/stream", 22, NULL, 0, NULL, NULL,
                                        NULL, 0, &meta, expected);
    struct stream_run w = { .o = o, .seed = 7, .idx = -1 }, rd[READERS];
    pthread_t wt, rt[READERS];

    for (int i = 0; i < READERS; i++) {
        rd[i] = (struct stream_run){ .o = cache_obj_ref(o), .seed = 11 + (uint64_t)i, .idx = i };
        assert_int_equal(pthread_create(&rt[i], NULL, stream_reader, &rd[i]), 0);
    }
    assert_int_equal(pthread_create(&wt, NULL, stream_writer, &w), 0);
    pthread_join(wt, NULL);
    for (int i = 0; i < READERS; i++) {
        pthread_join(rt[i], NULL);
        cache_obj_unref(&rd[i].o);
    }
    assert_int_equal(cache_obj_body_len(o), STREAM_LEN);
    cache_obj_unref(&o);
}

static void
test_mt_stream(void **state)
{
    (void)state;
    stream_once(CACHE_LEN_UNKNOWN);
    stream_once(STREAM_LEN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mt_tier),
        cmocka_unit_test(test_mt_stream),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
