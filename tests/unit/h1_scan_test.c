/*
 * Incremental head scanning: resumption, early rejection, limits at their
 * exact boundaries, leading empty lines, and request versus response codes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/h1.h"

static const struct h1_limits lim = {
    .request_line = 64,
    .field_line = 32,
    .header_section = 256,
    .max_fields = 4,
};

static int
scan(struct h1_scan *s, const char *raw, size_t len, bool is_request)
{
    char *buf = malloc(len ? len : 1); /* exact size: ASan sees overreads */
    int rc;

    assert_non_null(buf);
    memcpy(buf, raw, len);
    rc = h1_head_scan(s, buf, len, &lim, is_request);
    free(buf);
    return rc;
}

static int
scan_once_n(const char *raw, size_t len, bool is_request)
{
    struct h1_scan s = { 0 };

    return scan(&s, raw, len, is_request);
}

/* String literals may hold NUL bytes: take their size, not strlen. */
#define scan_lit(lit, req) scan_once_n(lit, sizeof(lit) - 1, req)

static void
test_resumes_where_it_stopped(void **state)
{
    static const char raw[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
    struct h1_scan s = { 0 };

    (void)state;
    assert_int_equal(scan(&s, raw, 10, true), 0);
    assert_int_equal(s.pos, 10);
    assert_int_equal(s.lines, 0);
    assert_int_equal(scan(&s, raw, 15, true), 0);
    assert_int_equal(s.pos, 14); /* the CR waits for its LF */
    assert_int_equal(scan(&s, raw, 18, true), 0);
    assert_int_equal(s.lines, 1);
    assert_int_equal(s.line_start, 16);
    assert_int_equal(scan(&s, raw, 26, true), 0);
    assert_int_equal(s.lines, 2);
    assert_int_equal(scan(&s, raw, sizeof raw - 1, true), 27);
}

static void
test_every_split(void **state)
{
    static const char raw[] = "\r\nPOST /a HTTP/1.1\r\nHost: b\r\nX:\t1\r\n\r\nxyz";

    (void)state;
    for (size_t k = 0; k <= sizeof raw - 1; k++) {
        struct h1_scan s = { 0 };
        int rc = scan(&s, raw, k, true);

        if (rc == 0)
            rc = scan(&s, raw, sizeof raw - 1, true);
        assert_int_equal(rc, (int)sizeof raw - 4);
    }
}

static void
test_leading_empty_lines(void **state)
{
    (void)state;
    assert_int_equal(scan_lit("\r\n\r\nGET / HTTP/1.1\r\n\r\n", true), 22);
    assert_int_equal(scan_lit("\r\n\r\n", true), 0);
    assert_int_equal(scan_lit("\r\nHTTP/1.1 200 OK\r\n\r\n", false), -502);
    assert_int_equal(scan_lit("\n", true), -400);
}

static void
test_rejects_early(void **state)
{
    (void)state;
    assert_int_equal(scan_lit("GET /\0", true), -400);
    assert_int_equal(scan_lit("GET /\n", true), -400);
    assert_int_equal(scan_lit("GET /\rX", true), -400);
    assert_int_equal(scan_lit("GET / HTTP/1.1\r\nA: \x01", true), -400);
    assert_int_equal(scan_lit("GET / HTTP/1.1\r\nA: \x7f", true), -400);
    assert_int_equal(scan_lit("GET / HTTP/1.1\r\nA: \t\x80\xff", true), 0);
    assert_int_equal(scan_lit("HTTP/1.1 200 OK\r\nA: \0", false), -502);
    assert_int_equal(scan_lit("HTTP/1.1 200 OK\n", false), -502);
}

static void
test_request_line_limit(void **state)
{
    char line[128];

    (void)state;
    memset(line, 'a', sizeof line);
    memcpy(line, "GET /", 5);
    memcpy(line + 64 - 9, " HTTP/1.1\r\n\r\n", 13); /* exactly 64 bytes */
    line[64 + 4] = '\0';
    assert_int_equal(scan_once_n(line, strlen(line), true), 68);
    memcpy(line + 65 - 9, " HTTP/1.1\r\n\r\n", 13);
    line[65 + 4] = '\0';
    assert_int_equal(scan_once_n(line, strlen(line), true), -414);
    line[65] = '\0'; /* no CRLF yet: still rejected */
    assert_int_equal(scan_once_n(line, strlen(line), true), -414);
    line[64] = '\0';
    assert_int_equal(scan_once_n(line, strlen(line), true), 0);
    /* a status line is held to field_line, and errors are -502 */
    assert_int_equal(scan_lit("HTTP/1.1 200 OK, and a long reason", false), -502);
}

static void
test_field_limits(void **state)
{
    (void)state;
    /* a 32-byte field line passes, 33 bytes fail before the CRLF */
    assert_int_equal(scan_lit("GET / HTTP/1.1\r\nX: 45678901234567890123456789012\r\n\r\n",
                               true), 52);
    assert_int_equal(scan_lit("GET / HTTP/1.1\r\nX: 456789012345678901234567890123", true),
                     -431);
    assert_int_equal(scan_lit("GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", true),
                     42);
    assert_int_equal(scan_lit("GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE", true),
                     -431);
    assert_int_equal(scan_lit("HTTP/1.1 200 OK\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE", false),
                     -502);
}

static void
test_header_section_limit(void **state)
{
    struct h1_limits l = lim;
    char raw[300];
    size_t n = 0;

    (void)state;
    n += (size_t)sprintf(raw, "GET / HTTP/1.1\r\n");
    while (n < 200)
        n += (size_t)sprintf(raw + n, "X: 12345678901234567890\r\n");
    n += (size_t)sprintf(raw + n, "\r\n");
    l.max_fields = 100;
    l.header_section = (uint32_t)n;
    {
        struct h1_scan s = { 0 };

        assert_int_equal(h1_head_scan(&s, raw, n, &l, true), (int)n);
    }
    l.header_section = (uint32_t)n - 1;
    for (size_t k = n - 2; k <= n; k++) {
        struct h1_scan s = { 0 };
        int rc = h1_head_scan(&s, raw, k, &l, true);

        assert_int_equal(rc, k == n ? -431 : 0); /* the final CR waits */
    }
    l.header_section = 100; /* early, in the middle of a line */
    {
        struct h1_scan s = { 0 };

        assert_int_equal(h1_head_scan(&s, raw, 150, &l, true), -431);
        assert_true(s.pos <= 101);
    }
}

static void
test_response_head(void **state)
{
    static const char raw[] = "HTTP/1.1 204 No Content\r\nA: b\r\n\r\n";
    struct h1_scan s = { 0 };

    (void)state;
    for (size_t i = 1; i < sizeof raw - 1; i++)
        assert_int_equal(scan(&s, raw, i, false), 0);
    assert_int_equal(scan(&s, raw, sizeof raw - 1, false), (int)sizeof raw - 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resumes_where_it_stopped),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_leading_empty_lines),
        cmocka_unit_test(test_rejects_early),
        cmocka_unit_test(test_request_line_limit),
        cmocka_unit_test(test_field_limits),
        cmocka_unit_test(test_header_section_limit),
        cmocka_unit_test(test_response_head),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
