/*
 * Chunked bodies: sizes, extensions, trailers, line endings and limits, each
 * walked whole, split at every byte and fed one byte at a time, with the
 * payload moved by the caller as the API requires.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/h1.h"

#define INCOMPLETE (-1)
#define OUT_MAX 256

struct cvec {
    const char *name;
    const char *raw;
    size_t len;
    const char *payload; /* NULL: expect -400 */
};

#define C(n, r, p) { n, r, sizeof(r) - 1, p }
#define E(n, r) { n, r, sizeof(r) - 1, NULL }

static const struct cvec cvecs[] = {
    C("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"),
    C("two chunks", "3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n", "abc0123456789abcdef"),
    C("upper hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
    C("empty body", "0\r\n\r\n", ""),
    C("16 digits", "0000000000000002\r\nhi\r\n0000000000000000\r\n\r\n", "hi"),
    C("payload with crlf", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"),
    C("ext name", "2;a\r\nhi\r\n0\r\n\r\n", "hi"),
    C("ext token", "2;a=b\r\nhi\r\n0\r\n\r\n", "hi"),
    C("ext bws", "2 ; a = b\t;\tc\r\nhi\r\n0\r\n\r\n", "hi"),
    C("ext quoted", "2;a=\"q \\\" ;,\"\r\nhi\r\n0\r\n\r\n", "hi"),
    C("ext empty quoted", "2;a=\"\";b\r\nhi\r\n0\r\n\r\n", "hi"),
    C("ext name then bws", "2;a ;b\r\nhi\r\n0\r\n\r\n", "hi"),
    C("ext on last chunk", "2\r\nhi\r\n0;end=1\r\n\r\n", "hi"),
    C("trailers", "2\r\nhi\r\n0\r\nX-Sum: abc\r\nY:\r\nZ: a\tb \x80\r\n\r\n", "hi"),
    E("no digits", "\r\nx\r\n0\r\n\r\n"),
    E("not hex", "g\r\nx\r\n0\r\n\r\n"),
    E("minus", "-5\r\nhello\r\n0\r\n\r\n"),
    E("plus", "+5\r\nhello\r\n0\r\n\r\n"),
    E("leading space", " 5\r\nhello\r\n0\r\n\r\n"),
    E("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"),
    E("17 digits", "00000000000000005\r\nhello\r\n0\r\n\r\n"),
    E("overflow", "10000000000000000\r\n"),
    E("trailing space", "5 \r\nhello\r\n0\r\n\r\n"),
    E("ext empty name", "5;\r\nhello\r\n0\r\n\r\n"),
    E("ext no name", "5;=b\r\nhello\r\n0\r\n\r\n"),
    E("ext no value", "5;a=\r\nhello\r\n0\r\n\r\n"),
    E("ext space in value", "5;a=b c\r\nhello\r\n0\r\n\r\n"),
    E("ext trailing space", "5;a=b \r\nhello\r\n0\r\n\r\n"),
    E("ext name trailing space", "5;a \r\nhello\r\n0\r\n\r\n"),
    E("ext comma", "5,a\r\nhello\r\n0\r\n\r\n"),
    E("ext open quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n"),
    E("ext after quote", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n"),
    E("ext ctl in quote", "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"),
    E("ext bad name char", "5;a(b\r\nhello\r\n0\r\n\r\n"),
    E("size bare lf", "5\nhello\r\n0\r\n\r\n"),
    E("size bare cr", "5\rhello\r\n0\r\n\r\n"),
    E("data then junk", "5\r\nhelloX\r\n0\r\n\r\n"),
    E("data then bare lf", "5\r\nhello\n0\r\n\r\n"),
    E("data then bare cr", "5\r\nhello\r0\r\n\r\n"),
    E("data without crlf", "5\r\nhello0\r\n\r\n"),
    E("data too long", "3\r\nhello\r\n0\r\n\r\n"),
    E("last chunk bare lf", "0\n\n"),
    E("end bare lf", "0\r\n\n"),
    E("end bare cr", "0\r\n\rx"),
    E("trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n"),
    E("trailer leading space", "0\r\n X: a\r\n\r\n"),
    E("trailer space before colon", "0\r\nX : a\r\n\r\n"),
    E("trailer empty name", "0\r\n: a\r\n\r\n"),
    E("trailer nul", "0\r\nX: a\0\r\n\r\n"),
    E("trailer bare lf", "0\r\nX: a\n\r\n"),
    E("trailer no colon", "0\r\nX\r\n\r\n"),
};

static char *
dup_exact(const char *s, size_t n)
{
    char *d = malloc(n ? n : 1);

    assert_non_null(d);
    memcpy(d, s, n);
    return d;
}

/*
 * Walks in[0..len), offered up to `split` first and then to the end, at
 * most `step` bytes per call (0: unbounded); the payload is moved to out.
 * Returns the bytes consumed, -400, or INCOMPLETE.
 */
static int
walk(const char *in, size_t len, size_t split, size_t step, char *out,
     size_t *out_len)
{
    struct h1_chunked c;
    size_t off = 0;

    h1_chunked_init(&c);
    *out_len = 0;
    while (!c.done) {
        size_t avail = (off < split ? split : len) - off;
        char *piece;
        int rc;

        if (step != 0 && avail > step)
            avail = step;
        if (avail == 0)
            return INCOMPLETE;
        piece = dup_exact(in + off, avail);
        rc = h1_chunked_parse(&c, piece, avail);
        if (rc >= 0 && c.data_left > 0 && (size_t)rc < avail) {
            size_t n = avail - (size_t)rc;

            if (n > c.data_left)
                n = (size_t)c.data_left;
            assert_true(*out_len + n <= OUT_MAX);
            memcpy(out + *out_len, piece + rc, n);
            *out_len += n;
            h1_chunked_skip_data(&c, n);
            rc += (int)n;
        }
        free(piece);
        if (rc < 0)
            return rc;
        off += (size_t)rc;
    }
    return (int)off;
}

static unsigned
check(const struct cvec *v, size_t split, size_t step)
{
    char out[OUT_MAX];
    size_t out_len;
    int rc = walk(v->raw, v->len, split, step, out, &out_len);

    if (v->payload == NULL && rc == -400)
        return 0;
    if (v->payload != NULL && rc == (int)v->len &&
        out_len == strlen(v->payload) && memcmp(out, v->payload, out_len) == 0)
        return 0;
    print_error("'%s' split %zu step %zu: rc %d\n", v->name, split, step, rc);
    return 1;
}

static void
test_vectors(void **state)
{
    unsigned bad = 0;

    (void)state;
    for (size_t i = 0; i < sizeof cvecs / sizeof cvecs[0]; i++) {
        const struct cvec *v = &cvecs[i];

        bad += check(v, v->len, 0);
        bad += check(v, v->len, 1); /* one byte at a time */
        for (size_t k = 0; k < v->len; k++)
            bad += check(v, k, 0);
    }
    assert_int_equal(bad, 0);
}

static void
test_stops_at_payload(void **state)
{
    static const char in[] = "5\r\nhello\r\n0\r\n\r\nGET";
    struct h1_chunked c = { 0 }; /* zeroed works like h1_chunked_init */

    (void)state;
    assert_int_equal(h1_chunked_parse(&c, in, 6), 3);
    assert_int_equal(c.data_left, 5);
    assert_int_equal(h1_chunked_parse(&c, in + 3, 3), 0); /* still payload */
    h1_chunked_skip_data(&c, 3);
    assert_int_equal(c.data_left, 2);
    h1_chunked_skip_data(&c, 0);
    h1_chunked_skip_data(&c, 2);
    assert_int_equal(h1_chunked_parse(&c, in + 8, sizeof in - 9), 7);
    assert_true(c.done);
    assert_int_equal(h1_chunked_parse(&c, in + 15, 3), 0); /* next message */
}

static void
test_max_size(void **state)
{
    struct h1_chunked c;

    (void)state;
    h1_chunked_init(&c);
    assert_int_equal(h1_chunked_parse(&c, "FFFFFFFFFFFFFFFF\r\n", 18), 18);
    assert_true(c.data_left == UINT64_MAX);
    h1_chunked_init(&c);
    assert_int_equal(h1_chunked_parse(&c, "fffffffffffffffff", 17), -400);
}

static void
test_line_limit(void **state)
{
    char *in = malloc(5000);
    struct h1_chunked c;

    (void)state;
    assert_non_null(in);
    memset(in, 'a', 5000);
    memcpy(in, "1;", 2);
    memcpy(in + 4094, "\r\n", 2); /* a 4096-byte size line */
    h1_chunked_init(&c);
    assert_int_equal(h1_chunked_parse(&c, in, 5000), 4096);
    memcpy(in + 4094, "a\r\n", 3);
    h1_chunked_init(&c);
    assert_int_equal(h1_chunked_parse(&c, in, 5000), -400);
    free(in);
}

static void
test_trailer_limit(void **state)
{
    size_t len = 3 + 32 * 1024;
    char *in = malloc(len + 1);
    struct h1_chunked c;

    (void)state;
    assert_non_null(in);
    memcpy(in, "0\r\n", 3);
    /* one 32 KiB trailer section: a long field, its CRLF, the final CRLF */
    memcpy(in + 3, "X: ", 3);
    memset(in + 6, 'v', len - 6 - 4);
    memcpy(in + len - 4, "\r\n\r\n", 4);
    h1_chunked_init(&c);
    assert_int_equal(h1_chunked_parse(&c, in, len), (int)len);
    assert_true(c.done);
    memcpy(in + len - 4, "v\r\n\r\n", 5);
    h1_chunked_init(&c);
    assert_int_equal(h1_chunked_parse(&c, in, len + 1), -400);
    free(in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_stops_at_payload),
        cmocka_unit_test(test_max_size),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_trailer_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
