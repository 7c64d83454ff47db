/*
 * Response heads: status-line forms, every body kind of RFC 9112 6.3,
 * connection reuse, heads we must not trust (-502), and reason phrases.
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

#define NFIELDS 16

static const struct h1_limits lim = {
    .request_line = 8192,
    .field_line = 8192,
    .header_section = 65536,
    .max_fields = 100,
};

struct rvec {
    const char *name;
    const char *raw;
    size_t len;
    enum h1_method method;
    int expect;
    enum h1_body body;
    bool keep_alive;
    uint64_t cl;
};

#define R(n, r, m, e, b, ka, cl) { n, r, sizeof(r) - 1, m, e, b, ka, cl }
#define OK11 "HTTP/1.1 200 OK\r\n"
#define BAD(n, r) R(n, r, H1_M_GET, -502, 0, false, 0)
#define G H1_M_GET

static const struct rvec rvecs[] = {
    R("length", OK11 "Content-Length: 5\r\n\r\nhello", G, 0, H1_BODY_LENGTH, true, 5),
    R("length list", OK11 "Content-Length: 5,5\r\n\r\n", G, 0, H1_BODY_LENGTH, true, 5),
    R("chunked", OK11 "Transfer-Encoding: chunked\r\n\r\n", G, 0, H1_BODY_CHUNKED, true, 0),
    R("gzip, chunked", OK11 "Transfer-Encoding: gzip, chunked\r\n\r\n", G, 0, H1_BODY_CHUNKED, true, 0),
    R("no framing: eof", OK11 "\r\n", G, 0, H1_BODY_EOF, false, 0),
    R("te gzip: eof", OK11 "Transfer-Encoding: gzip\r\n\r\n", G, 0, H1_BODY_EOF, false, 0),
    R("te chunked, gzip: eof", OK11 "Transfer-Encoding: chunked, gzip\r\n\r\n", G, 0, H1_BODY_EOF, false, 0),
    R("head", OK11 "Content-Length: 100\r\n\r\n", H1_M_HEAD, 0, H1_BODY_NONE, true, 100),
    R("head chunked", OK11 "Transfer-Encoding: chunked\r\n\r\n", H1_M_HEAD, 0, H1_BODY_NONE, true, 0),
    R("204", "HTTP/1.1 204 No Content\r\n\r\n", G, 0, H1_BODY_NONE, true, 0),
    R("304 with length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", G, 0, H1_BODY_NONE, true, 9),
    R("100", "HTTP/1.1 100 Continue\r\n\r\n", G, 0, H1_BODY_NONE, true, 0),
    R("101", "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n", G, 0, H1_BODY_NONE, true, 0),
    R("connect 200", OK11 "\r\n", H1_M_CONNECT, 0, H1_BODY_NONE, true, 0),
    R("connect 407", "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\n", H1_M_CONNECT, 0, H1_BODY_LENGTH, true, 2),
    R("1.0 length", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", G, 0, H1_BODY_LENGTH, false, 1),
    R("1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n", G, 0, H1_BODY_LENGTH, true, 1),
    R("1.0 keep-alive eof", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", G, 0, H1_BODY_EOF, false, 0),
    R("1.1 close", OK11 "Connection: close\r\nContent-Length: 0\r\n\r\n", G, 0, H1_BODY_LENGTH, false, 0),
    R("no reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", G, 0, H1_BODY_LENGTH, true, 0),
    R("empty reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", G, 0, H1_BODY_LENGTH, true, 0),
    R("reason obs-text", "HTTP/1.1 200 \xc3\xa9t\xc3\xa9\t ok\r\nContent-Length: 0\r\n\r\n", G, 0, H1_BODY_LENGTH, true, 0),
    BAD("cl with te", OK11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
    BAD("te with cl", OK11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
    BAD("cl list differs", OK11 "Content-Length: 5, 6\r\n\r\n"),
    BAD("cl repeated differs", OK11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
    BAD("cl plus", OK11 "Content-Length: +5\r\n\r\n"),
    BAD("cl hex", OK11 "Content-Length: 0x5\r\n\r\n"),
    BAD("cl 20 digits", OK11 "Content-Length: 12345678901234567890\r\n\r\n"),
    BAD("te chunked twice", OK11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
    BAD("te chunked param", OK11 "Transfer-Encoding: chunked;x=1\r\n\r\n"),
    BAD("te empty", OK11 "Transfer-Encoding: \r\n\r\n"),
    BAD("te on 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
    BAD("304 with cl and te", "HTTP/1.1 304 x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
    BAD("status 4 digits", "HTTP/1.1 2000 OK\r\n\r\n"),
    BAD("status 2 digits", "HTTP/1.1 20 OK\r\n\r\n"),
    BAD("status 099", "HTTP/1.1 099 x\r\n\r\n"),
    BAD("status 600", "HTTP/1.1 600 x\r\n\r\n"),
    BAD("status letters", "HTTP/1.1 2OO OK\r\n\r\n"),
    BAD("http/2.0", "HTTP/2.0 200 OK\r\n\r\n"),
    BAD("lowercase version", "http/1.1 200 OK\r\n\r\n"),
    BAD("double space", "HTTP/1.1  200 OK\r\n\r\n"),
    BAD("tab separator", "HTTP/1.1\t200 OK\r\n\r\n"),
    BAD("ctl in reason", "HTTP/1.1 200 O\x01K\r\n\r\n"),
    BAD("obs-fold", OK11 "A: b\r\n c\r\n\r\n"),
    BAD("space before colon", OK11 "Content-Length : 5\r\n\r\n"),
    BAD("nul in field", OK11 "A: \0\r\n\r\n"),
    BAD("bare lf", OK11 "A: b\n\r\n"),
    BAD("bare cr", OK11 "A: b\rc\r\n\r\n"),
    BAD("leading empty line", "\r\n" OK11 "\r\n"),
    BAD("empty name", OK11 ": b\r\n\r\n"),
};

/* Scans raw[0..split) then all of it, and parses the head. */
static int
run(const struct rvec *v, size_t split, struct h1_response *r, struct h1_field *f)
{
    struct h1_scan s = { 0 };
    char *buf = malloc(v->len + 1);
    int n;

    assert_non_null(buf);
    memcpy(buf, v->raw, v->len);
    n = h1_head_scan(&s, buf, split, &lim, false);
    if (n == 0)
        n = h1_head_scan(&s, buf, v->len, &lim, false);
    memset(r, 0, sizeof *r);
    r->fields = f;
    r->fields_cap = NFIELDS;
    if (n > 0)
        n = h1_response_parse(r, buf, (size_t)n, v->method, &lim);
    else if (n == 0)
        n = 1;
    free(buf);
    return n;
}

static void
test_vectors(void **state)
{
    struct h1_field f[NFIELDS];
    struct h1_response r;
    unsigned bad = 0;

    (void)state;
    for (size_t i = 0; i < sizeof rvecs / sizeof rvecs[0]; i++) {
        const struct rvec *v = &rvecs[i];

        for (size_t k = 0; k <= v->len; k++) {
            int rc = run(v, k, &r, f);

            if (rc != v->expect) {
                print_error("'%s' split %zu: got %d, want %d\n", v->name, k, rc, v->expect);
                bad++;
            } else if (rc == 0 && (r.body != v->body || r.keep_alive != v->keep_alive ||
                                   r.content_length != v->cl)) {
                print_error("'%s': body %d keep_alive %d cl %llu\n", v->name, r.body,
                            r.keep_alive, (unsigned long long)r.content_length);
                bad++;
            }
        }
    }
    assert_int_equal(bad, 0);
}

static void
test_slices(void **state)
{
    static const char raw[] = "HTTP/1.1 404 Not  Found\r\nServer: x \r\n"
                              "Cache-Control:max-age=60\r\n\r\n";
    struct h1_field f[NFIELDS];
    struct h1_response r = { .fields = f, .fields_cap = NFIELDS };

    (void)state;
    assert_int_equal(h1_response_parse(&r, raw, sizeof raw - 1, H1_M_GET, &lim), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.version_minor, 1);
    assert_int_equal(r.reason_len, 10);
    assert_memory_equal(r.reason, "Not  Found", 10);
    assert_int_equal(r.n_fields, 2);
    assert_int_equal(f[0].value_len, 1);
    assert_memory_equal(f[1].value, "max-age=60", 10);
    assert_ptr_equal(h1_field_find(f, r.n_fields, "cache-control"), &f[1]);
}

static void
test_limits(void **state)
{
    static const char raw[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n";
    struct h1_limits l = lim;
    struct h1_field f[1], fields2[2];
    struct h1_response r = { .fields = f, .fields_cap = 1 };

    (void)state;
    assert_int_equal(h1_response_parse(&r, raw, sizeof raw - 1, H1_M_GET, &l), -502);
    r.fields = fields2;
    r.fields_cap = 2;
    assert_int_equal(h1_response_parse(&r, raw, sizeof raw - 1, H1_M_GET, &l), 0);
    l.max_fields = 1;
    assert_int_equal(h1_response_parse(&r, raw, sizeof raw - 1, H1_M_GET, &l), -502);
    l.max_fields = 2;
    l.header_section = sizeof raw - 2;
    assert_int_equal(h1_response_parse(&r, raw, sizeof raw - 1, H1_M_GET, &l), -502);
    l.header_section = sizeof raw - 1;
    l.field_line = 14;
    assert_int_equal(h1_response_parse(&r, raw, sizeof raw - 1, H1_M_GET, &l), -502);
}

static void
test_reason(void **state)
{
    (void)state;
    assert_string_equal(h1_reason(100), "Continue");
    assert_string_equal(h1_reason(200), "OK");
    assert_string_equal(h1_reason(204), "No Content");
    assert_string_equal(h1_reason(206), "Partial Content");
    assert_string_equal(h1_reason(301), "Moved Permanently");
    assert_string_equal(h1_reason(304), "Not Modified");
    assert_string_equal(h1_reason(308), "Permanent Redirect");
    assert_string_equal(h1_reason(400), "Bad Request");
    assert_string_equal(h1_reason(404), "Not Found");
    assert_string_equal(h1_reason(413), "Content Too Large");
    assert_string_equal(h1_reason(414), "URI Too Long");
    assert_string_equal(h1_reason(417), "Expectation Failed");
    assert_string_equal(h1_reason(431), "Request Header Fields Too Large");
    assert_string_equal(h1_reason(500), "Internal Server Error");
    assert_string_equal(h1_reason(502), "Bad Gateway");
    assert_string_equal(h1_reason(504), "Gateway Timeout");
    assert_string_equal(h1_reason(505), "HTTP Version Not Supported");
    assert_string_equal(h1_reason(418), "Unknown");
    assert_string_equal(h1_reason(306), "Unknown");
    assert_string_equal(h1_reason(0), "Unknown");
    assert_string_equal(h1_reason(-1), "Unknown");
    assert_string_equal(h1_reason(999), "Unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_reason),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
