/*
 * cache/obj.c: chunk sizing, append and read across chunk boundaries,
 * cursor seek, publication while BUSY, refcounts and chunk lifetime, charge.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/obj.h"

static const struct cache_meta meta = { .status = 200, .swr_ms = -1, .sie_ms = -1 };

static char
byte_at(uint64_t pos)
{
    return (char)((pos * 2654435761u) >> 13);
}

static struct cache_obj *
obj_new(uint64_t expected)
{
    return cache_obj_new(42, "https://a.test/x", 16, NULL, 0, NULL, NULL, NULL, 0, &meta,
                         expected);
}

/* Appends bytes [from, from + n) of the pattern in pieces of `piece`. */
static void
append_pattern(struct cache_obj *o, uint64_t from, size_t n, size_t piece)
{
    char *buf = malloc(piece);

    while (n > 0) {
        size_t k = n < piece ? n : piece;

        for (size_t i = 0; i < k; i++)
            buf[i] = byte_at(from + i);
        cache_obj_append(o, buf, k);
        from += k;
        n -= k;
    }
    free(buf);
}

/* Reads from cur to the published end, checking bytes and runs. */
static uint64_t
read_check(struct cache_obj_cursor *cur, const struct cache_obj *o, size_t max)
{
    const char *p;
    struct cache_chunk *c;
    size_t n;
    uint64_t total = 0;

    while ((n = cache_obj_read(cur, o, &p, &c, max)) > 0) {
        assert_true(n <= max);
        assert_true(p >= c->data && p + n <= c->data + c->len);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(p[i], byte_at(cur->pos - n + i));
        total += n;
    }
    return total;
}

static void
test_strings_copied(void **state)
{
    char key[] = "https://a.test/k", vary[] = "gzip", head[] = "A: b\r\n";
    struct cache_obj *o;

    (void)state;
    o = cache_obj_new(7, key, 16, vary, 4, "accept-encoding", "\"e1\"", head, 6, &meta, 0);
    key[0] = vary[0] = head[0] = 'X';
    assert_int_equal(o->hash, 7);
    assert_memory_equal(o->key, "https://a.test/k", 17);
    assert_int_equal(o->key_len, 16);
    assert_string_equal(o->vary_key, "gzip");
    assert_string_equal(o->vary_names, "accept-encoding");
    assert_string_equal(o->etag, "\"e1\"");
    assert_string_equal(o->head, "A: b\r\n");
    assert_int_equal(o->head_len, 6);
    assert_int_equal(o->meta.status, 200);
    assert_int_equal(cache_obj_state(o), CACHE_OBJ_BUSY);
    cache_obj_unref(&o);
    assert_null(o);

    o = obj_new(CACHE_LEN_UNKNOWN);
    assert_null(o->vary_key);
    assert_null(o->vary_names);
    assert_null(o->etag);
    assert_null(o->head);
    assert_non_null(o->first);
    cache_obj_unref(&o);
}

static void
test_small_object_charge(void **state)
{
    struct cache_obj *o = obj_new(1024);

    (void)state;
    assert_int_equal(o->first->cap, 1024);
    append_pattern(o, 0, 1024, 1024);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    assert_ptr_equal(o->first, o->tail);
    assert_true(o->charge >= 1024 + sizeof *o);
    assert_true(o->charge < 1024 + 512);
    cache_obj_unref(&o);

    /* Unknown length: a small body still costs far less than a full chunk. */
    o = obj_new(CACHE_LEN_UNKNOWN);
    append_pattern(o, 0, 100, 100);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    assert_true(o->charge < 4096 + 512);
    cache_obj_unref(&o);

    /* Empty body (204, HEAD): a one-byte first chunk. */
    o = obj_new(0);
    assert_int_equal(o->first->cap, 1);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    assert_int_equal(cache_obj_body_len(o), 0);
    assert_true(o->charge < sizeof *o + 64);
    cache_obj_unref(&o);
}

static void
test_known_length_chunks(void **state)
{
    uint64_t len = 2 * CACHE_CHUNK_SIZE + 1000;
    struct cache_obj *o = obj_new(len);
    struct cache_obj_cursor cur;

    (void)state;
    append_pattern(o, 0, len, 7777);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    assert_int_equal(o->first->cap, CACHE_CHUNK_SIZE);
    assert_int_equal(o->first->next->cap, CACHE_CHUNK_SIZE);
    assert_int_equal(o->first->next->next->cap, 1000);
    assert_null(o->first->next->next->next);
    assert_int_equal(cache_obj_body_len(o), len);
    cache_obj_cursor_init(&cur, o);
    assert_int_equal(read_check(&cur, o, 10000), len);
    cache_obj_unref(&o);
}

static void
test_unknown_length_chunks_grow(void **state)
{
    uint64_t len = 3 * CACHE_CHUNK_SIZE + 123;
    struct cache_obj *o = obj_new(CACHE_LEN_UNKNOWN);
    struct cache_obj_cursor cur;
    uint32_t want = 4096;
    uint64_t sum = 0;

    (void)state;
    append_pattern(o, 0, len, 65536 + 3);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    for (struct cache_chunk *c = o->first; c != NULL; c = c->next) {
        assert_int_equal(c->cap, want);
        if (c->next != NULL)
            assert_int_equal(c->len, c->cap);
        sum += c->len;
        want = want * 2 < CACHE_CHUNK_SIZE ? want * 2 : CACHE_CHUNK_SIZE;
    }
    assert_int_equal(sum, len);
    cache_obj_cursor_init(&cur, o);
    assert_int_equal(read_check(&cur, o, SIZE_MAX), len);
    cache_obj_unref(&o);
}

static void
test_more_than_expected(void **state)
{
    struct cache_obj *o = obj_new(10);
    struct cache_obj_cursor cur;

    (void)state;
    append_pattern(o, 0, 5000, 999);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    assert_int_equal(o->first->cap, 10);
    assert_int_equal(cache_obj_body_len(o), 5000);
    cache_obj_cursor_init(&cur, o);
    assert_int_equal(read_check(&cur, o, 333), 5000);
    cache_obj_unref(&o);
}

static void
test_cursor_seek(void **state)
{
    uint64_t len = 2 * CACHE_CHUNK_SIZE + 5;
    uint64_t at[] = { 0, 1, CACHE_CHUNK_SIZE - 1, CACHE_CHUNK_SIZE, CACHE_CHUNK_SIZE + 1,
                      2 * CACHE_CHUNK_SIZE, len - 1, len };
    struct cache_obj *o = obj_new(len);
    struct cache_obj_cursor cur;

    (void)state;
    append_pattern(o, 0, len, 100000);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        assert_true(cache_obj_cursor_seek(&cur, o, at[i]));
        assert_int_equal(cur.pos, at[i]);
        assert_int_equal(read_check(&cur, o, 4096), len - at[i]);
    }
    assert_false(cache_obj_cursor_seek(&cur, o, len + 1));
    cache_obj_unref(&o);
}

/* A reader sees what is published, waits at the end, then continues. */
static void
test_read_while_busy(void **state)
{
    struct cache_obj *o = obj_new(CACHE_LEN_UNKNOWN);
    struct cache_obj_cursor cur, late;
    const char *p;
    struct cache_chunk *c;

    (void)state;
    cache_obj_cursor_init(&cur, o);
    assert_int_equal(cache_obj_read(&cur, o, &p, &c, 100), 0);
    assert_null(p);
    append_pattern(o, 0, 4096, 4096); /* exactly fills the first chunk */
    assert_int_equal(read_check(&cur, o, 1000), 4096);
    assert_null(o->first->next);
    /* Seeking to the published end waits there too. */
    assert_true(cache_obj_cursor_seek(&late, o, 4096));
    assert_false(cache_obj_cursor_seek(&late, o, 4097));
    append_pattern(o, 4096, 10, 10);
    assert_int_equal(read_check(&cur, o, 1000), 10);
    assert_int_equal(read_check(&late, o, 1000), 10);
    assert_int_equal(cache_obj_state(o), CACHE_OBJ_BUSY);
    cache_obj_finish(o, CACHE_OBJ_FAILED);
    assert_int_equal(cache_obj_state(o), CACHE_OBJ_FAILED);
    assert_int_equal(read_check(&cur, o, 1000), 0);
    cache_obj_unref(&o);
}

static void
test_refcounts(void **state)
{
    struct cache_obj *o = obj_new(100), *r;

    (void)state;
    r = cache_obj_ref(o);
    assert_ptr_equal(r, o);
    assert_int_equal(o->refcnt, 2);
    cache_obj_unref(&r);
    assert_null(r);
    assert_int_equal(o->refcnt, 1);
    cache_obj_unref(&o);
}

/* A chunk referenced by an output buffer outlives its object. */
static void
test_chunk_outlives_object(void **state)
{
    uint64_t len = CACHE_CHUNK_SIZE + 50;
    struct cache_obj *o = obj_new(len);
    struct cache_obj_cursor cur;
    struct cache_chunk *c1, *c2;
    const char *p1, *p2;
    size_t n1, n2;

    (void)state;
    append_pattern(o, 0, len, 65536);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    cache_obj_cursor_init(&cur, o);
    n1 = cache_obj_read(&cur, o, &p1, &c1, SIZE_MAX);
    n2 = cache_obj_read(&cur, o, &p2, &c2, SIZE_MAX);
    assert_int_equal(n1, CACHE_CHUNK_SIZE);
    assert_int_equal(n2, 50);
    assert_ptr_not_equal(c1, c2);
    cache_chunk_ref(c1);
    cache_chunk_ref(c2);
    cache_obj_unref(&o);
    /* ASan would flag these reads if the chunks had been freed. */
    for (size_t i = 0; i < n1; i += 4099)
        assert_int_equal(p1[i], byte_at(i));
    for (size_t i = 0; i < n2; i++)
        assert_int_equal(p2[i], byte_at(CACHE_CHUNK_SIZE + i));
    assert_null(c1->next);
    cache_chunk_unref(c1);
    cache_chunk_unref(c2);
}

/* Reserve/commit (a disk read straight into the object) lays chunks out
 * exactly as append does: whole CACHE_CHUNK_SIZE chunks, then the rest. */
static void
test_reserve_commit(void **state)
{
    uint64_t len = 2 * CACHE_CHUNK_SIZE + 1000, done = 0;
    struct cache_obj *o = obj_new(len);
    struct cache_obj_cursor cur;
    int chunks = 0;

    (void)state;
    while (done < len) {
        size_t room;
        char *p = cache_obj_reserve(o, &room);

        assert_int_equal(room, len - done < CACHE_CHUNK_SIZE ? len - done : CACHE_CHUNK_SIZE);
        for (size_t i = 0; i < room; i++)
            p[i] = byte_at(done + i);
        cache_obj_commit(o, room);
        done += room;
        chunks++;
    }
    assert_int_equal(chunks, 3);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    cache_obj_cursor_init(&cur, o);
    assert_int_equal(read_check(&cur, o, SIZE_MAX), len);
    assert_true(cache_obj_cursor_seek(&cur, o, CACHE_CHUNK_SIZE + 7));
    assert_int_equal(read_check(&cur, o, 100), len - CACHE_CHUNK_SIZE - 7);
    cache_obj_unref(&o);
}

static int ext_released;

static void
ext_release(void *ext)
{
    assert_ptr_equal(ext, &ext_released);
    ext_released++;
}

/* A body kept elsewhere is released with the object's last reference. */
static void
test_ext_released_with_object(void **state)
{
    struct cache_obj *o = obj_new(0), *r;

    (void)state;
    o->ext = &ext_released;
    o->ext_release = ext_release;
    r = cache_obj_ref(o);
    cache_obj_unref(&o);
    assert_int_equal(ext_released, 0);
    cache_obj_unref(&r);
    assert_int_equal(ext_released, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_copied),
        cmocka_unit_test(test_small_object_charge),
        cmocka_unit_test(test_known_length_chunks),
        cmocka_unit_test(test_unknown_length_chunks_grow),
        cmocka_unit_test(test_more_than_expected),
        cmocka_unit_test(test_cursor_seek),
        cmocka_unit_test(test_read_while_busy),
        cmocka_unit_test(test_refcounts),
        cmocka_unit_test(test_chunk_outlives_object),
        cmocka_unit_test(test_reserve_commit),
        cmocka_unit_test(test_ext_released_with_object),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
