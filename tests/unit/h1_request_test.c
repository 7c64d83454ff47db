/*
 * Request heads: a table of framing and smuggling vectors run through
 * h1_head_scan() then h1_request_parse(), whole, split at every byte and
 * fed one byte at a time; then fields, forms, connection rules and limits.
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

#define INCOMPLETE 1 /* the head never ended */
#define NFIELDS 32

static const struct h1_limits lim = {
    .request_line = 8192,
    .field_line = 8192,
    .header_section = 65536,
    .max_fields = 100,
};

struct vector {
    const char *name;
    const char *raw;
    size_t len;
    int expect;
};

#define V(n, r, e) { n, r, sizeof(r) - 1, e }
#define H "Host: a\r\n"
#define GET11 "GET / HTTP/1.1\r\n"
#define POST11 "POST / HTTP/1.1\r\nHost: a\r\n"
#define POST_END(f) POST11 f "\r\n"

static const struct vector vectors[] = {
    /* valid */
    V("get minimal", GET11 H "\r\n", 0),
    V("get http/1.0 without host", "GET / HTTP/1.0\r\n\r\n", 0),
    V("leading empty lines", "\r\n\r\n" GET11 H "\r\n", 0),
    V("body bytes after the head", POST_END("Content-Length: 5\r\n") "hello", 0),
    V("cl zero", POST_END("Content-Length: 0\r\n"), 0),
    V("cl leading zeros", POST_END("Content-Length: 007\r\n"), 0),
    V("cl 19 digits", POST_END("Content-Length: 9999999999999999999\r\n"), 0),
    V("cl repeated equal", POST_END("Content-Length: 5\r\nContent-Length: 5\r\n"), 0),
    V("cl list equal", POST_END("Content-Length: 5, 5,5\r\n"), 0),
    V("te chunked", POST_END("Transfer-Encoding: chunked\r\n"), 0),
    V("te chunked any case", POST_END("transfer-encoding: ChUnKeD\r\n"), 0),
    V("te empty list elements", POST_END("Transfer-Encoding: , chunked,\r\n"), 0),
    V("absolute-form", "GET http://example.com/x?y HTTP/1.1\r\nHost: b\r\n\r\n", 0),
    V("absolute-form https caps", "GET HTTPS://Ex.com:8443 HTTP/1.1\r\n" H "\r\n", 0),
    V("options asterisk", "OPTIONS * HTTP/1.1\r\n" H "\r\n", 0),
    V("connect authority-form", "CONNECT ex.com:443 HTTP/1.1\r\nHost: ex.com:443\r\n\r\n", 0),
    V("lowercase method is a token", "get / HTTP/1.1\r\n" H "\r\n", 0),
    V("unusual token method", "M-SEARCH! / HTTP/1.1\r\n" H "\r\n", 0),
    V("host with port", GET11 "Host: example.com:8080\r\n\r\n", 0),
    V("host ipv6 literal", GET11 "Host: [2001:db8::1]:443\r\n\r\n", 0),
    V("host pct-encoded", GET11 "Host: ex%41mple.com\r\n\r\n", 0),
    V("value htab obs-text", GET11 H "X-A: a\tb \x80" "\xff\r\n\r\n", 0),
    V("empty value", GET11 H "X-Empty:\r\n\r\n", 0),
    V("value only ows", GET11 H "X-Empty: \t \r\n\r\n", 0),
    V("target odd vchars", "GET /a?c=%20|{}\"<>\\ HTTP/1.1\r\n" H "\r\n", 0),
    /* smuggling: framing conflicts */
    V("CL.TE", POST_END("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n") "0\r\n\r\nG", -400),
    V("TE.CL", POST_END("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n") "5c\r\n", -400),
    V("te chunked, identity", POST_END("Transfer-Encoding: chunked, identity\r\n"), -400),
    V("te space before colon", POST_END("Transfer-Encoding : chunked\r\n"), -400),
    V("te vertical tab", POST_END("Transfer-Encoding:\x0b" "chunked\r\n"), -400),
    V("te form feed", POST_END("Transfer-Encoding: \x0c" "chunked\r\n"), -400),
    V("te xchunked", POST_END("Transfer-Encoding: xchunked\r\n"), -400),
    V("te chunked then gzip", POST_END("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"), -400),
    V("te chunked twice", POST_END("Transfer-Encoding: chunked, chunked\r\n"), -400),
    V("te chunked in two fields", POST_END("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), -400),
    V("te chunked parameter", POST_END("Transfer-Encoding: chunked;q=1\r\n"), -400),
    V("te identity", POST_END("Transfer-Encoding: identity\r\n"), -400),
    V("te empty", POST_END("Transfer-Encoding:\r\n"), -400),
    V("te quoted", POST_END("Transfer-Encoding: \"chunked\"\r\n"), -400),
    V("te space inside", POST_END("Transfer-Encoding: chun ked\r\n"), -400),
    V("te gzip final", POST_END("Transfer-Encoding: gzip\r\n"), -400),
    V("te on http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -400),
    V("te chunked with cl 0", POST_END("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"), -400),
    V("te gzip, chunked", POST_END("Transfer-Encoding: gzip, chunked\r\n"), -501),
    V("te gzip then chunked", POST_END("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), -501),
    V("te params quoted comma", POST_END("Transfer-Encoding: x;a=\"b,c\" , chunked\r\n"), -501),
    V("cl plus sign", POST_END("Content-Length: +5\r\n"), -400),
    V("cl negative", POST_END("Content-Length: -1\r\n"), -400),
    V("cl list differs", POST_END("Content-Length: 5, 6\r\n"), -400),
    V("cl hex", POST_END("Content-Length: 0x5\r\n"), -400),
    V("cl repeated differs", POST_END("Content-Length: 5\r\nContent-Length: 6\r\n"), -400),
    V("cl space inside", POST_END("Content-Length: 5 5\r\n"), -400),
    V("cl empty", POST_END("Content-Length:\r\n"), -400),
    V("cl trailing comma", POST_END("Content-Length: 5,\r\n"), -400),
    V("cl 2^64", POST_END("Content-Length: 18446744073709551616\r\n"), -400),
    V("cl 20 digits", POST_END("Content-Length: 00000000000000000001\r\n"), -400),
    V("cl decimal", POST_END("Content-Length: 5.0\r\n"), -400),
    V("cl space before colon", POST_END("Content-Length : 5\r\n"), -400),
    /* Host */
    V("host missing on 1.1", GET11 "\r\n", -400),
    V("host duplicated", GET11 H H "\r\n", -400),
    V("host duplicated on 1.0", "GET / HTTP/1.0\r\n" H "Host: b\r\n\r\n", -400),
    V("host empty", GET11 "Host:\r\n\r\n", -400),
    V("host with space", GET11 "Host: a b\r\n\r\n", -400),
    V("host with slash", GET11 "Host: a/b\r\n\r\n", -400),
    V("host with userinfo", GET11 "Host: u@a\r\n\r\n", -400),
    V("host port too big", GET11 "Host: a:65536\r\n\r\n", -400),
    V("host port letters", GET11 "Host: a:8o\r\n\r\n", -400),
    V("host empty port", GET11 "Host: a:\r\n\r\n", -400),
    V("host open ipv6", GET11 "Host: [::1\r\n\r\n", -400),
    V("host bad pct", GET11 "Host: a%4\r\n\r\n", -400),
    V("absolute-form still needs host", "GET http://a/ HTTP/1.1\r\n\r\n", -400),
    /* field syntax */
    V("obs-fold", GET11 H "X: a\r\n b\r\n\r\n", -400),
    V("obs-fold tab", GET11 H "X: a\r\n\tb\r\n\r\n", -400),
    V("whitespace before first field", GET11 " " H "\r\n", -400),
    V("space before colon", GET11 "Host : a\r\n\r\n", -400),
    V("tab before colon", GET11 "Host\t: a\r\n\r\n", -400),
    V("empty field name", GET11 H ": x\r\n\r\n", -400),
    V("field name with slash", GET11 H "X/Y: z\r\n\r\n", -400),
    V("field without colon", GET11 H "Xyz\r\n\r\n", -400),
    V("nul in value", GET11 H "X: a\0b\r\n\r\n", -400),
    V("nul in name", GET11 H "X\0: b\r\n\r\n", -400),
    V("del in value", GET11 H "X: a\x7f" "b\r\n\r\n", -400),
    V("ctl in value", GET11 H "X: a\x01" "b\r\n\r\n", -400),
    V("bare lf ends field", GET11 H "X: a\n\r\n", -400),
    V("bare lf ends head", GET11 H "\n", -400),
    V("bare lf lf", GET11 H "\n\n", -400),
    V("bare lf request line", "GET / HTTP/1.1\n" H "\r\n", -400),
    V("bare cr in value", GET11 H "X: a\rb\r\n\r\n", -400),
    V("cr cr lf", "GET / HTTP/1.1\r\r\n" H "\r\n", -400),
    V("bare cr line end", GET11 H "\r\r\n", -400),
    /* request-line */
    V("tabs instead of sp", "GET\t/\tHTTP/1.1\r\n" H "\r\n", -400),
    V("double sp", "GET  / HTTP/1.1\r\n" H "\r\n", -400),
    V("trailing sp", "GET / HTTP/1.1 \r\n" H "\r\n", -400),
    V("leading sp", " GET / HTTP/1.1\r\n" H "\r\n", -400),
    V("lowercase version", "GET / http/1.1\r\n" H "\r\n", -400),
    V("HTTP/1.10", "GET / HTTP/1.10\r\n" H "\r\n", -400),
    V("HTTP/1", "GET / HTTP/1\r\n" H "\r\n", -400),
    V("HTTP/11", "GET / HTTP/11\r\n" H "\r\n", -400),
    V("HTTP/2.0", "GET / HTTP/2.0\r\n" H "\r\n", -505),
    V("HTTP/1.2", "GET / HTTP/1.2\r\n" H "\r\n", -505),
    V("HTTP/0.9 version", "GET / HTTP/0.9\r\n\r\n", -505),
    V("http/0.9 simple request", "GET /\r\n\r\n", -400),
    V("missing target", "GET HTTP/1.1\r\n" H "\r\n", -400),
    V("bad method char", "GE(T / HTTP/1.1\r\n" H "\r\n", -400),
    V("method with at sign", "G@T / HTTP/1.1\r\n" H "\r\n", -400),
    V("target byte 0x80", "GET /\x80 HTTP/1.1\r\n" H "\r\n", -400),
    V("target del", "GET /\x7f HTTP/1.1\r\n" H "\r\n", -400),
    V("target nul", "GET /\0 HTTP/1.1\r\n" H "\r\n", -400),
    V("target with sp", "GET /a b HTTP/1.1\r\n" H "\r\n", -400),
    V("origin-form without slash", "GET x HTTP/1.1\r\n" H "\r\n", -400),
    V("absolute-form ftp", "GET ftp://a/ HTTP/1.1\r\n" H "\r\n", -400),
    V("absolute-form no authority", "GET http:///x HTTP/1.1\r\n" H "\r\n", -400),
    V("absolute-form userinfo", "GET http://u@a/ HTTP/1.1\r\n" H "\r\n", -400),
    V("absolute-form no slashes", "GET http:a HTTP/1.1\r\n" H "\r\n", -400),
    V("authority-form for GET", "GET a:80 HTTP/1.1\r\n" H "\r\n", -400),
    V("connect origin-form", "CONNECT / HTTP/1.1\r\n" H "\r\n", -400),
    V("connect absolute-form", "CONNECT http://a:80/ HTTP/1.1\r\n" H "\r\n", -400),
    V("connect without port", "CONNECT a HTTP/1.1\r\n" H "\r\n", -400),
    V("asterisk for GET", "GET * HTTP/1.1\r\n" H "\r\n", -400),
    V("asterisk with path", "OPTIONS */x HTTP/1.1\r\n" H "\r\n", -400),
    /* incomplete */
    V("no empty line", GET11 H, INCOMPLETE),
    V("ends in cr", GET11 H "\r", INCOMPLETE),
    V("empty input", "", INCOMPLETE),
    V("only empty lines", "\r\n\r\n", INCOMPLETE),
};

static char *
dup_exact(const char *s, size_t n)
{
    char *d = malloc(n ? n : 1);

    assert_non_null(d);
    memcpy(d, s, n);
    return d;
}

/* Scans raw[0..split) then raw[0..len) with one state, parses the head. */
static int
run_split(const struct vector *v, size_t split)
{
    struct h1_field fields[NFIELDS];
    struct h1_request r = { .fields = fields, .fields_cap = NFIELDS };
    struct h1_scan s = { 0 };
    char *buf = dup_exact(v->raw, split);
    int n, rc;

    n = h1_head_scan(&s, buf, split, &lim, true);
    free(buf);
    buf = dup_exact(v->raw, v->len);
    if (n == 0)
        n = h1_head_scan(&s, buf, v->len, &lim, true);
    rc = n < 0 ? n : n == 0 ? INCOMPLETE : h1_request_parse(&r, buf, (size_t)n, &lim);
    free(buf);
    return rc;
}

static int
run_bytewise(const struct vector *v)
{
    struct h1_field fields[NFIELDS];
    struct h1_request r = { .fields = fields, .fields_cap = NFIELDS };
    struct h1_scan s = { 0 };
    char *buf = dup_exact(v->raw, v->len);
    int n = 0, rc;

    for (size_t i = 1; i <= v->len && n == 0; i++)
        n = h1_head_scan(&s, buf, i, &lim, true);
    rc = n < 0 ? n : n == 0 ? INCOMPLETE : h1_request_parse(&r, buf, (size_t)n, &lim);
    free(buf);
    return rc;
}

static void
test_vectors(void **state)
{
    unsigned bad = 0;

    (void)state;
    assert_true(sizeof vectors / sizeof vectors[0] >= 60);
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct vector *v = &vectors[i];
        int rc = run_split(v, v->len);

        if (rc != v->expect) {
            print_error("vector '%s': got %d, want %d\n", v->name, rc, v->expect);
            bad++;
            continue;
        }
        for (size_t k = 0; k < v->len; k++) {
            if ((rc = run_split(v, k)) != v->expect) {
                print_error("vector '%s' split at %zu: got %d\n", v->name, k, rc);
                bad++;
            }
        }
        if ((rc = run_bytewise(v)) != v->expect) {
            print_error("vector '%s' bytewise: got %d\n", v->name, rc);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* Scans and parses a complete head that must be valid. */
static void
parse_ok(const char *raw, struct h1_request *r, struct h1_field *f, uint32_t cap)
{
    struct h1_scan s = { 0 };
    size_t len = strlen(raw);
    int n = h1_head_scan(&s, raw, len, &lim, true);

    assert_int_equal(n, (int)len);
    memset(r, 0, sizeof *r);
    r->fields = f;
    r->fields_cap = cap;
    assert_int_equal(h1_request_parse(r, raw, len, &lim), 0);
}

static void
assert_slice(const char *p, uint32_t n, const char *want)
{
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

static void
test_fields_slices(void **state)
{
    static const char raw[] = "GET /p?q HTTP/1.1\r\nHost:  example.com \r\n"
                              "X-Empty:\r\nAccept: \t text/html, */*\t \r\n"
                              "x-tab:a\tb\r\n\r\n";
    struct h1_field f[NFIELDS];
    struct h1_request r;

    (void)state;
    parse_ok(raw, &r, f, NFIELDS);
    assert_int_equal(r.n_fields, 4);
    assert_slice(f[0].name, f[0].name_len, "Host");
    assert_slice(f[0].value, f[0].value_len, "example.com");
    assert_slice(f[1].name, f[1].name_len, "X-Empty");
    assert_int_equal(f[1].value_len, 0);
    assert_slice(f[2].value, f[2].value_len, "text/html, */*");
    assert_slice(f[3].name, f[3].name_len, "x-tab");
    assert_slice(f[3].value, f[3].value_len, "a\tb");
    assert_ptr_equal(f[0].name, raw + 19); /* slices, not copies */
    assert_slice(r.host, r.host_len, "example.com");
    assert_slice(r.target, r.target_len, "/p?q");
    assert_slice(r.path, r.path_len, "/p?q");
    assert_ptr_equal(h1_field_find(f, r.n_fields, "ACCEPT"), &f[2]);
    assert_ptr_equal(h1_field_find(f, r.n_fields, "X-TAB"), &f[3]);
    assert_null(h1_field_find(f, r.n_fields, "X-Tabs"));
    assert_null(h1_field_find(f, r.n_fields, "Hos"));
}

static void
test_methods(void **state)
{
    static const struct {
        const char *m;
        enum h1_method want;
    } t[] = {
        { "GET", H1_M_GET },         { "HEAD", H1_M_HEAD },
        { "POST", H1_M_POST },       { "PUT", H1_M_PUT },
        { "DELETE", H1_M_DELETE },   { "PATCH", H1_M_PATCH },
        { "OPTIONS", H1_M_OPTIONS }, { "TRACE", H1_M_TRACE },
        { "get", H1_M_OTHER },       { "Head", H1_M_OTHER },
        { "PROPFIND", H1_M_OTHER },  { "GETS", H1_M_OTHER },
        { "POS", H1_M_OTHER },
    };
    struct h1_field f[4];
    struct h1_request r;
    char raw[128];

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        snprintf(raw, sizeof raw, "%s / HTTP/1.1\r\nHost: a\r\n\r\n", t[i].m);
        parse_ok(raw, &r, f, 4);
        assert_int_equal(r.method, t[i].want);
        assert_slice(r.method_str, r.method_len, t[i].m);
    }
    parse_ok("CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n", &r, f, 4);
    assert_int_equal(r.method, H1_M_CONNECT);
}

static void
test_forms(void **state)
{
    struct h1_field f[4];
    struct h1_request r;

    (void)state;
    parse_ok("GET http://Example.com:80 HTTP/1.1\r\nHost: other\r\n\r\n", &r, f, 4);
    assert_int_equal(r.form, H1_FORM_ABSOLUTE);
    assert_slice(r.host, r.host_len, "Example.com:80");
    assert_slice(r.path, r.path_len, "/");
    parse_ok("GET https://h/a/b?c HTTP/1.1\r\nHost: h\r\n\r\n", &r, f, 4);
    assert_slice(r.path, r.path_len, "/a/b?c");
    parse_ok("GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n", &r, f, 4);
    assert_slice(r.host, r.host_len, "h");
    assert_slice(r.path, r.path_len, "?q");
    parse_ok("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &r, f, 4);
    assert_int_equal(r.form, H1_FORM_ASTERISK);
    assert_slice(r.path, r.path_len, "*");
    parse_ok("CONNECT [::1]:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", &r, f, 4);
    assert_int_equal(r.form, H1_FORM_AUTHORITY);
    assert_slice(r.target, r.target_len, "[::1]:443");
    assert_slice(r.host, r.host_len, "x:443");
    assert_int_equal(r.path_len, 0);
    parse_ok("GET /x HTTP/1.0\r\n\r\n", &r, f, 4);
    assert_int_equal(r.form, H1_FORM_ORIGIN);
    assert_null(r.host);
    assert_int_equal(r.version_minor, 0);
}

static void
test_body_kinds(void **state)
{
    struct h1_field f[8];
    struct h1_request r;

    (void)state;
    parse_ok("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &r, f, 8);
    assert_int_equal(r.body, H1_BODY_NONE);
    parse_ok("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 42, 42\r\n\r\n", &r, f, 8);
    assert_int_equal(r.body, H1_BODY_LENGTH);
    assert_int_equal(r.content_length, 42);
    parse_ok("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n",
             &r, f, 8);
    assert_true(r.content_length == 9999999999999999999ULL);
    parse_ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &r, f, 8);
    assert_int_equal(r.body, H1_BODY_CHUNKED);
}

static void
test_keep_alive(void **state)
{
    static const struct {
        const char *ver;
        const char *conn; /* NULL: no Connection field */
        bool want;
    } t[] = {
        { "1.1", NULL, true },
        { "1.1", "close", false },
        { "1.1", "Keep-Alive, CLOSE", false },
        { "1.1", "upgrade", true },
        { "1.1", "closed", true },
        { "1.0", NULL, false },
        { "1.0", "keep-alive", true },
        { "1.0", " Keep-Alive ", true },
        { "1.0", "keep-alive, close", false },
    };
    struct h1_field f[4];
    struct h1_request r;
    char raw[128];

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].conn)
            snprintf(raw, sizeof raw, "GET / HTTP/%s\r\nHost: a\r\nConnection: %s\r\n\r\n",
                     t[i].ver, t[i].conn);
        else
            snprintf(raw, sizeof raw, "GET / HTTP/%s\r\nHost: a\r\n\r\n", t[i].ver);
        parse_ok(raw, &r, f, 4);
        assert_int_equal(r.keep_alive, t[i].want);
    }
    parse_ok("GET / HTTP/1.1\r\nConnection: x\r\nHost: a\r\nConnection: close\r\n\r\n",
             &r, f, 4);
    assert_false(r.keep_alive);
}

static void
test_expect_continue(void **state)
{
    struct h1_field f[4];
    struct h1_request r;

    (void)state;
    parse_ok("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", &r, f, 4);
    assert_true(r.expect_continue);
    parse_ok("PUT / HTTP/1.1\r\nHost: a\r\nexpect:  100-Continue \r\n\r\n", &r, f, 4);
    assert_true(r.expect_continue);
    parse_ok("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &r, f, 4);
    assert_false(r.expect_continue);
    parse_ok("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", &r, f, 4);
    assert_false(r.expect_continue);
    parse_ok("PUT / HTTP/1.1\r\nHost: a\r\n\r\n", &r, f, 4);
    assert_false(r.expect_continue);
}

static int
scan_with(const struct h1_limits *l, const char *raw)
{
    struct h1_scan s = { 0 };

    return h1_head_scan(&s, raw, strlen(raw), l, true);
}

static int
parse_with(const struct h1_limits *l, const char *raw, uint32_t cap)
{
    struct h1_field f[8];
    struct h1_request r = { .fields = f, .fields_cap = cap };

    return h1_request_parse(&r, raw, strlen(raw), l);
}

static void
test_limits(void **state)
{
    struct h1_limits l = { .request_line = 16, .field_line = 10,
                           .header_section = 60, .max_fields = 3 };
    static const char fits[] = "GET /12 HTTP/1.1\r\nHost: a\r\nX: 123456\r\nY: 1\r\n\r\n";

    (void)state;
    /* request line of exactly 16 bytes, field lines up to 10, 3 fields */
    assert_int_equal(scan_with(&l, fits), (int)strlen(fits));
    assert_int_equal(parse_with(&l, fits, 8), 0);
    assert_int_equal(scan_with(&l, "GET /123 HTTP/1.1\r\n"), -414);
    assert_int_equal(scan_with(&l, "GET /1234567890123"), -414); /* early */
    assert_int_equal(parse_with(&l, "GET /123 HTTP/1.1\r\nHost: a\r\n\r\n", 8), -414);
    assert_int_equal(scan_with(&l, "GET / HTTP/1.1\r\nX: 12345678"), -431);
    assert_int_equal(parse_with(&l, "GET / HTTP/1.1\r\nHost: a\r\nX: 12345678\r\n\r\n", 8),
                     -431);
    assert_int_equal(scan_with(&l, "GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD"), -431);
    assert_int_equal(parse_with(&l, "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n",
                                8), -431);
    assert_int_equal(parse_with(&l, fits, 2), -431); /* caller's array */
    l.header_section = (uint32_t)strlen(fits) - 1;
    assert_int_equal(scan_with(&l, fits), -431);
    assert_int_equal(parse_with(&l, fits, 8), -431);
    l.header_section = 20; /* early: the head is not complete yet */
    assert_int_equal(scan_with(&l, "GET / HTTP/1.1\r\nHost: a"), -431);
}

static void
test_parse_rejects_extra_bytes(void **state)
{
    (void)state;
    assert_int_equal(parse_with(&lim, "GET / HTTP/1.1\r\nHost: a\r\n\r\nx", 8), -400);
    assert_int_equal(parse_with(&lim, "GET / HTTP/1.1\r\nHost: a\r\n", 8), -400);
    assert_int_equal(parse_with(&lim, "GET / HTTP/1.1\r\nHost: a\r\n\r", 8), -400);
    assert_int_equal(parse_with(&lim, "", 8), -400);
}

static void
test_list_has_token(void **state)
{
    static const char v[] = "Keep-Alive ,\tUpgrade, , close";

    (void)state;
    assert_true(h1_list_has_token(v, strlen(v), "keep-alive"));
    assert_true(h1_list_has_token(v, strlen(v), "UPGRADE"));
    assert_true(h1_list_has_token(v, strlen(v), "close"));
    assert_false(h1_list_has_token(v, strlen(v), "clos"));
    assert_false(h1_list_has_token(v, strlen(v), "alive"));
    assert_false(h1_list_has_token(v, 5, "close"));
    assert_false(h1_list_has_token("", 0, "close"));
    assert_true(h1_list_has_token("close", 5, "close"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_fields_slices),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_body_kinds),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_parse_rejects_extra_bytes),
        cmocka_unit_test(test_list_has_token),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
