/*
 * Primary cache keys: host case, ports, IPv6 literals, trailing dots,
 * percent-encoding (valid and not), dot segments, query rules, buffer
 * bounds at every size, sorting limits, hashes and absolute URLs.
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
#include <xxhash.h>

#include "cache/key.h"

#define HTTP CACHE_SCHEME_HTTP
#define HTTPS CACHE_SCHEME_HTTPS

static const char *const ign_list[] = { "utm_*", "fbclid", "gclid" };

enum rules_id { R_NONE, R_ZERO, R_DROP, R_IGN, R_SORT, R_BOTH, R_STAR };

static const struct cache_key_rules rules_tab[] = {
    [R_NONE] = { 0 },
    [R_ZERO] = { 0 },
    [R_DROP] = { .drop_query = true, .ignore = ign_list, .n_ignore = 3 },
    [R_IGN] = { .ignore = ign_list, .n_ignore = 3 },
    [R_SORT] = { .sort_query = true },
    [R_BOTH] = { .sort_query = true, .ignore = ign_list, .n_ignore = 3 },
    [R_STAR] = { .ignore = (const char *const[]){ "*" }, .n_ignore = 1 },
};

static const struct cache_key_rules *
rules(enum rules_id id)
{
    return id == R_NONE ? NULL : &rules_tab[id];
}

struct kcase {
    enum cache_scheme scheme;
    const char *host;
    const char *target;
    enum rules_id r;
    const char *want; /* NULL: expect err */
    int err;
};

static const struct kcase kcases[] = {
    /* Host: case, default and odd ports, trailing dot. */
    { HTTP, "www.example.com", "/", R_NONE, "http://www.example.com/", 0 },
    { HTTP, "WWW.Example.COM", "/a", R_NONE, "http://www.example.com/a", 0 },
    { HTTP, "example.com:80", "/", R_NONE, "http://example.com/", 0 },
    { HTTPS, "example.com:443", "/", R_NONE, "https://example.com/", 0 },
    { HTTP, "example.com:443", "/", R_NONE, "http://example.com:443/", 0 },
    { HTTPS, "example.com:80", "/", R_NONE, "https://example.com:80/", 0 },
    { HTTP, "example.com:8080", "/", R_NONE, "http://example.com:8080/", 0 },
    { HTTP, "example.com:08080", "/", R_NONE, "http://example.com:8080/", 0 },
    { HTTP, "example.com:0080", "/", R_NONE, "http://example.com/", 0 },
    { HTTP, "example.com:", "/", R_NONE, "http://example.com/", 0 },
    { HTTP, "example.com:0", "/", R_NONE, "http://example.com:0/", 0 },
    { HTTP, "example.com:65535", "/", R_NONE, "http://example.com:65535/", 0 },
    { HTTP, "example.com:65536", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "example.com:8a", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "example.com:80:80", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "example.com.", "/", R_NONE, "http://example.com/", 0 },
    { HTTP, "Example.COM.:80", "/", R_NONE, "http://example.com/", 0 },
    { HTTP, ".", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "", "/", R_NONE, NULL, -EINVAL },
    { HTTP, ":80", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "a b", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "user@host", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "ex%41mple.com", "/", R_NONE, "http://example.com/", 0 },
    { HTTP, "ex%c3%a9.com", "/", R_NONE, "http://ex%C3%A9.com/", 0 },
    { HTTP, "ex%4.com", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "127.0.0.1:80", "/", R_NONE, "http://127.0.0.1/", 0 },
    /* IPv6 literals: brackets kept, RFC 5952 text. */
    { HTTP, "[::1]", "/", R_NONE, "http://[::1]/", 0 },
    { HTTP, "[::1]:80", "/", R_NONE, "http://[::1]/", 0 },
    { HTTP, "[::1]:8080", "/", R_NONE, "http://[::1]:8080/", 0 },
    { HTTPS, "[2001:DB8:0:0:0:0:0:1]:8443", "/", R_NONE,
      "https://[2001:db8::1]:8443/", 0 },
    { HTTP, "[::1", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "[]", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "[zz::1]", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "[::1]x", "/", R_NONE, NULL, -EINVAL },
    { HTTP, "[v1.abc]", "/", R_NONE, NULL, -EINVAL },
    /* Dot segments (RFC 3986 §5.2.4). */
    { HTTP, "h", "/a/./b/../c", R_NONE, "http://h/a/c", 0 },
    { HTTP, "h", "/../a", R_NONE, "http://h/a", 0 },
    { HTTP, "h", "/a/b/..", R_NONE, "http://h/a/", 0 },
    { HTTP, "h", "/a/.", R_NONE, "http://h/a/", 0 },
    { HTTP, "h", "/..", R_NONE, "http://h/", 0 },
    { HTTP, "h", "/.", R_NONE, "http://h/", 0 },
    { HTTP, "h", "/a/../../../b/./", R_NONE, "http://h/b/", 0 },
    { HTTP, "h", "/a//b", R_NONE, "http://h/a//b", 0 },
    { HTTP, "h", "//..", R_NONE, "http://h/", 0 },
    { HTTP, "h", "/.hidden/.../..x", R_NONE, "http://h/.hidden/.../..x", 0 },
    { HTTP, "h", "/a/..?x=/../y", R_NONE, "http://h/?x=/../y", 0 },
    /* Empty path, path case. */
    { HTTP, "h", "", R_NONE, "http://h/", 0 },
    { HTTP, "h", "?x=1", R_NONE, "http://h/?x=1", 0 },
    { HTTP, "h", "/A/B", R_NONE, "http://h/A/B", 0 },
    /* Percent-encoding (RFC 3986 §6.2.2.2). */
    { HTTP, "h", "/%7Euser/%41%62c%2d%2E%5f", R_NONE, "http://h/~user/Abc-._",
      0 },
    { HTTP, "h", "/a%2fb", R_NONE, "http://h/a%2Fb", 0 },
    { HTTP, "h", "/a%2Fb", R_NONE, "http://h/a%2Fb", 0 },
    { HTTP, "h", "/%2e%2E/x", R_NONE, "http://h/x", 0 },
    { HTTP, "h", "/a/%2E/b", R_NONE, "http://h/a/b", 0 },
    { HTTP, "h", "/a/%2E%2E", R_NONE, "http://h/", 0 },
    { HTTP, "h", "/caf%c3%a9", R_NONE, "http://h/caf%C3%A9", 0 },
    { HTTP, "h", "/a%20b+c", R_NONE, "http://h/a%20b+c", 0 },
    { HTTP, "h", "/%25", R_NONE, "http://h/%25", 0 },
    { HTTP, "h", "/a%zz", R_NONE, NULL, -EINVAL },
    { HTTP, "h", "/a%4", R_NONE, NULL, -EINVAL },
    { HTTP, "h", "/a%", R_NONE, NULL, -EINVAL },
    { HTTP, "h", "/a%g1", R_NONE, NULL, -EINVAL },
    { HTTP, "h", "/a#frag", R_NONE, NULL, -EINVAL },
    { HTTP, "h", "/a b", R_NONE, NULL, -EINVAL },
    { HTTP, "h", "/\x80", R_NONE, NULL, -EINVAL },
    { HTTP, "h", "/\x7f", R_NONE, NULL, -EINVAL },
    { HTTP, "h", "a/b", R_NONE, NULL, -EINVAL },
    { HTTP, "h", "*", R_NONE, NULL, -EINVAL },
    /* Query kept byte-exact by default, escapes normalized. */
    { HTTP, "h", "/p?b=2&a=1", R_NONE, "http://h/p?b=2&a=1", 0 },
    { HTTP, "h", "/p?b=2&a=1", R_ZERO, "http://h/p?b=2&a=1", 0 },
    { HTTP, "h", "/p?", R_NONE, "http://h/p?", 0 },
    { HTTP, "h", "/p?a&&b&", R_NONE, "http://h/p?a&&b&", 0 },
    { HTTP, "h", "/p?a=%7e&b=%2f", R_NONE, "http://h/p?a=~&b=%2F", 0 },
    { HTTP, "h", "/p?a=1?b/c", R_NONE, "http://h/p?a=1?b/c", 0 },
    { HTTP, "h", "/p?a=%zz", R_NONE, NULL, -EINVAL },
    { HTTP, "h", "/p?a#b", R_NONE, NULL, -EINVAL },
    /* Drop the query (still validated). */
    { HTTP, "h", "/p?a=1", R_DROP, "http://h/p", 0 },
    { HTTP, "h", "/p?", R_DROP, "http://h/p", 0 },
    { HTTP, "h", "/p", R_DROP, "http://h/p", 0 },
    { HTTP, "h", "/p?a=%zz", R_DROP, NULL, -EINVAL },
    /* Ignored parameters, "utm_*" by prefix. */
    { HTTP, "h", "/p?utm_source=x&id=3&fbclid=abc", R_IGN, "http://h/p?id=3",
      0 },
    { HTTP, "h", "/p?utm_source=x", R_IGN, "http://h/p", 0 },
    { HTTP, "h", "/p?id=3&utm_medium=y&utm_campaign", R_IGN, "http://h/p?id=3",
      0 },
    { HTTP, "h", "/p?utm=1&utm_=2", R_IGN, "http://h/p?utm=1", 0 },
    { HTTP, "h", "/p?fbclidx=1&fbclid&gclid=", R_IGN, "http://h/p?fbclidx=1", 0 },
    { HTTP, "h", "/p?%75tm_source=1&a", R_IGN, "http://h/p?a", 0 },
    { HTTP, "h", "/p?a=1&&b=2&", R_IGN, "http://h/p?a=1&b=2", 0 },
    { HTTP, "h", "/p?UTM_source=1", R_IGN, "http://h/p?UTM_source=1", 0 },
    { HTTP, "h", "/p?", R_IGN, "http://h/p", 0 },
    { HTTP, "h", "/p?a=utm_x&b=%7e", R_IGN, "http://h/p?a=utm_x&b=~", 0 },
    { HTTP, "h", "/p?a=1&b=%4", R_IGN, NULL, -EINVAL },
    { HTTP, "h", "/p?a=1&b=2", R_STAR, "http://h/p", 0 },
    /* Sorted parameters: by name, equal names in received order. */
    { HTTP, "h", "/p?b=2&a=1&c", R_SORT, "http://h/p?a=1&b=2&c", 0 },
    { HTTP, "h", "/p?a=2&b=1&a=1", R_SORT, "http://h/p?a=2&a=1&b=1", 0 },
    { HTTP, "h", "/p?ab=1&a=2", R_SORT, "http://h/p?a=2&ab=1", 0 },
    { HTTP, "h", "/p?b=%7e&a=%2f", R_SORT, "http://h/p?a=%2F&b=~", 0 },
    { HTTP, "h", "/p?%62=1&a=2", R_SORT, "http://h/p?a=2&b=1", 0 },
    { HTTP, "h", "/p?a%3Db=1&a=2", R_SORT, "http://h/p?a=2&a%3Db=1", 0 },
    { HTTP, "h", "/p?B=1&a=2", R_SORT, "http://h/p?B=1&a=2", 0 },
    { HTTP, "h", "/p?a=1", R_SORT, "http://h/p?a=1", 0 },
    { HTTP, "h", "/p?&&", R_SORT, "http://h/p", 0 },
    { HTTP, "h", "/p?utm_x=1&z=1&fbclid=2&a=1", R_BOTH, "http://h/p?a=1&z=1", 0 },
    { HTTP, "h", "/p?z&utm_x=1", R_BOTH, "http://h/p?z", 0 },
};

static void
test_key_table(void **state)
{
    char buf[CACHE_KEY_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof kcases / sizeof kcases[0]; i++) {
        const struct kcase *c = &kcases[i];
        struct cache_key k = { .buf = buf, .cap = sizeof buf };
        int rc = cache_key_build(&k, c->scheme, c->host, strlen(c->host),
                                 c->target, strlen(c->target), rules(c->r));

        if (c->want == NULL) {
            if (rc != c->err)
                fail_msg("case %zu (%s %s): rc %d, want %d", i, c->host,
                         c->target, rc, c->err);
            continue;
        }
        if (rc < 0)
            fail_msg("case %zu (%s %s): rc %d", i, c->host, c->target, rc);
        assert_int_equal(rc, strlen(c->want));
        assert_int_equal(k.len, rc);
        assert_string_equal(buf, c->want);
        assert_true(k.path_off < k.len && buf[k.path_off] == '/');
        assert_true(k.hash == XXH3_64bits(buf, k.len));
    }
}

/* Each successful case at every buffer size up to the documented bound,
 * in an exact-size heap buffer (ASan sees any overrun): either -ENOSPC or
 * the whole key, never a partial one; -ENOSPC whenever the key cannot fit,
 * success at the bound. */
static void
test_key_every_cap(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof kcases / sizeof kcases[0]; i++) {
        const struct kcase *c = &kcases[i];
        size_t want = c->want ? strlen(c->want) : 0;
        size_t bound = 8 + strlen(c->host) + strlen(c->target) + 64;

        if (c->want == NULL)
            continue;
        for (size_t cap = 0; cap <= bound; cap++) {
            char *buf = malloc(cap ? cap : 1);
            struct cache_key k = { .buf = cap ? buf : NULL,
                                   .cap = (uint32_t)cap };
            int rc = cache_key_build(&k, c->scheme, c->host, strlen(c->host),
                                     c->target, strlen(c->target),
                                     rules(c->r));

            if (cap <= want || rc < 0) {
                assert_int_equal(rc, -ENOSPC);
                assert_true(cap < bound);
            } else {
                assert_int_equal(rc, want);
                assert_memory_equal(buf, c->want, want + 1);
            }
            free(buf);
        }
    }
}

static int
key_of(char *buf, size_t cap, enum cache_scheme s, const char *host,
       const char *target, const struct cache_key_rules *r, uint64_t *hash)
{
    struct cache_key k = { .buf = buf, .cap = (uint32_t)cap };
    int rc = cache_key_build(&k, s, host, strlen(host), target,
                             strlen(target), r);

    if (hash != NULL)
        *hash = k.hash;
    return rc;
}

/* Requests that must share an object get equal keys and hashes. */
static void
test_key_equivalents(void **state)
{
    static const char *const same[][4] = {
        { "www.example.com", "/a/b?x=1",
          "WWW.EXAMPLE.COM.:80", "/a/./c/../b?x=1" },
        { "example.com", "/~u/%2F", "example.com:", "/%7eu/%2f" },
        { "[::1]", "/", "[0:0:0:0:0:0:0:1]:80", "" },
        { "h", "/a/", "h", "/a/b/.." },
    };
    char a[CACHE_KEY_MAX], b[CACHE_KEY_MAX];
    uint64_t ha, hb;

    (void)state;
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        const char *const *v = same[i];

        assert_true(key_of(a, sizeof a, HTTP, v[0], v[1], NULL, &ha) > 0);
        assert_true(key_of(b, sizeof b, HTTP, v[2], v[3], NULL, &hb) > 0);
        assert_string_equal(a, b);
        assert_true(ha == hb);
    }
    /* Scheme, port, %2F and query presence keep keys apart. */
    key_of(a, sizeof a, HTTP, "h", "/", NULL, &ha);
    key_of(b, sizeof b, HTTPS, "h", "/", NULL, &hb);
    assert_string_not_equal(a, b);
    assert_true(ha != hb);
    key_of(a, sizeof a, HTTP, "h", "/a%2Fb", NULL, NULL);
    key_of(b, sizeof b, HTTP, "h", "/a/b", NULL, NULL);
    assert_string_not_equal(a, b);
    key_of(a, sizeof a, HTTP, "h", "/p?", NULL, NULL);
    key_of(b, sizeof b, HTTP, "h", "/p", NULL, NULL);
    assert_string_not_equal(a, b);
}

/* Sorting holds CACHE_KEY_SORT_MAX parameters; one more is -E2BIG. */
static void
test_key_sort_limit(void **state)
{
    static char t[8 * CACHE_KEY_SORT_MAX + 16];
    static char buf[CACHE_KEY_MAX];
    const struct cache_key_rules *sort = &rules_tab[R_SORT];
    size_t n = 0;
    int rc;

    (void)state;
    n += (size_t)sprintf(t, "/p?p%03d", CACHE_KEY_SORT_MAX - 1);
    for (int i = CACHE_KEY_SORT_MAX - 2; i >= 0; i--)
        n += (size_t)sprintf(t + n, "&p%03d", i);
    rc = key_of(buf, sizeof buf, HTTP, "h", t, sort, NULL);
    assert_true(rc > 0);
    assert_memory_equal(buf, "http://h/p?p000&p001&p002", 25);
    assert_string_equal(buf + rc - 5, "&p127");
    strcpy(t + n, "&q");
    assert_int_equal(key_of(buf, sizeof buf, HTTP, "h", t, sort, NULL), -E2BIG);
    /* Ignored parameters do not count against the limit. */
    strcpy(t + n, "&utm_q");
    rc = key_of(buf, sizeof buf, HTTP, "h", t, &rules_tab[R_BOTH], NULL);
    assert_true(rc > 0);
    /* Without sorting there is no limit. */
    strcpy(t + n, "&q");
    rc = key_of(buf, sizeof buf, HTTP, "h", t, &rules_tab[R_IGN], NULL);
    assert_true(rc > 0);
}

static void
test_key_url(void **state)
{
    static const struct {
        const char *url;
        const char *want;
        int err;
    } v[] = {
        { "https://Example.com:443/a/../b?x=%7e", "https://example.com/b?x=~", 0 },
        { "HTTP://example.com", "http://example.com/", 0 },
        { "http://example.com?q", "http://example.com/?q", 0 },
        { "http://example.com/p#frag", "http://example.com/p", 0 },
        { "http://example.com#frag", "http://example.com/", 0 },
        { "http://[::1]:8080/x", "http://[::1]:8080/x", 0 },
        { "http://u:p@example.com/", NULL, -EINVAL },
        { "ftp://example.com/", NULL, -EINVAL },
        { "http:/example.com/", NULL, -EINVAL },
        { "http:///p", NULL, -EINVAL },
        { "/relative", NULL, -EINVAL },
    };
    char buf[CACHE_KEY_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct cache_key k = { .buf = buf, .cap = sizeof buf };
        int rc = cache_key_build_url(&k, v[i].url, strlen(v[i].url), NULL);

        if (v[i].want == NULL) {
            assert_int_equal(rc, v[i].err);
            continue;
        }
        assert_int_equal(rc, strlen(v[i].want));
        assert_string_equal(buf, v[i].want);
    }
}

/* The URL form and the request form of one resource give one key. */
static void
test_key_url_matches_request(void **state)
{
    char a[CACHE_KEY_MAX], b[CACHE_KEY_MAX];
    struct cache_key ka = { .buf = a, .cap = sizeof a };
    const char *url = "https://WWW.example.com./x/%41?utm_a=1&b=2";

    (void)state;
    assert_true(cache_key_build_url(&ka, url, strlen(url), &rules_tab[R_IGN]) > 0);
    assert_true(key_of(b, sizeof b, HTTPS, "www.example.com:443", "/x/A?b=2",
                       &rules_tab[R_IGN], NULL) > 0);
    assert_string_equal(a, b);
    assert_int_equal(ka.path_off, strlen("https://www.example.com"));
}

/* Random targets from URI-ish bytes: no crash, no overrun, and a key's
 * own path and query give the same key again (normalization is
 * idempotent), under each set of rules. */
static void
test_key_idempotent(void **state)
{
    static const char alpha[] = "//..%%%2e2E2f5Fa7eZ~?&=&=_-+#";
    char t[40], a[256], b[256];
    uint32_t x = 2463534242u;
    int ok = 0;

    (void)state;
    for (int i = 0; i < 50000; i++) {
        size_t n = 1 + i % (sizeof t - 2);
        enum rules_id r = (enum rules_id)(i % 7);
        struct cache_key k = { .buf = a, .cap = sizeof a };

        t[0] = '/';
        for (size_t j = 1; j < n; j++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            t[j] = alpha[x % (sizeof alpha - 1)];
        }
        t[n] = '\0';
        if (cache_key_build(&k, HTTP, "h", 1, t, n, rules(r)) < 0)
            continue;
        ok++;
        assert_int_equal(key_of(b, sizeof b, HTTP, "h", a + k.path_off,
                                rules(r), NULL),
                         k.len);
        assert_string_equal(a, b);
    }
    assert_true(ok > 5000);
}

static int
host(char *buf, size_t cap, enum cache_scheme scheme, const char *h)
{
    return cache_key_host_norm(buf, cap, scheme, h, strlen(h));
}

static void
test_host_norm(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(host(buf, sizeof buf, HTTP, "Example.COM.:80"), 11);
    assert_string_equal(buf, "example.com");
    assert_int_equal(host(buf, sizeof buf, HTTPS, "a:80"), 4);
    assert_string_equal(buf, "a:80");
    assert_int_equal(host(buf, sizeof buf, HTTPS, "[::ffff:a:b]:443"), 18);
    assert_string_equal(buf, "[::ffff:0.10.0.11]");
    assert_int_equal(host(buf, sizeof buf, HTTP, "a:x"), -EINVAL);
    assert_int_equal(host(buf, 5, HTTP, "abcde"), -ENOSPC);
    assert_int_equal(host(buf, 6, HTTP, "abcde"), 5);
}

/* Upstream target of target t under rules r (built key first). */
static int
upstream(char *out, size_t cap, const char *t, enum rules_id r)
{
    char kb[CACHE_KEY_MAX];
    struct cache_key k = { .buf = kb, .cap = sizeof kb };
    int rc = cache_key_build(&k, HTTP, "h", 1, t, strlen(t), rules(r));

    if (rc < 0)
        return rc;
    return cache_key_target(&k, out, cap, t, strlen(t));
}

/* The origin is asked for the resource the key names: the key's path, the
 * query escape-normalized but with every parameter, in order. */
static void
test_key_target(void **state)
{
    static const char *const cases[][3] = {
        /* target, rules (N: none, I: ignore utm_*, S: sort, D: drop), want */
        { "/zz/../kq%41/.", "N", "/kqA/" },
        { "/a/%2f/%7E?x=%7e&y=%2f", "N", "/a/%2F/~?x=~&y=%2F" },
        { "/p?b=1&utm_s=%41&a=2", "I", "/p?b=1&utm_s=A&a=2" },
        { "/p?b=1&a=%32", "S", "/p?b=1&a=2" },
        { "/./p?fbclid=%7a", "D", "/p?fbclid=z" },
        { "?q=1", "N", "/?q=1" },
        { "", "N", "/" },
        { "/p?", "N", "/p?" },
        { "/a?x=1?y=%3F", "N", "/a?x=1?y=%3F" },
    };
    char out[256];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = cases[i][0], *want = cases[i][2];
        enum rules_id r = cases[i][1][0] == 'I'   ? R_IGN
                          : cases[i][1][0] == 'S' ? R_SORT
                          : cases[i][1][0] == 'D' ? R_DROP
                                                  : R_NONE;

        assert_int_equal(upstream(out, sizeof out, t, r), (int)strlen(want));
        assert_string_equal(out, want);
        /* The stated bound always suffices; one byte less than the
         * result never does. */
        assert_int_equal(upstream(out, strlen(want), t, r), -ENOSPC);
    }
}

static void
test_key_target_unbuilt(void **state)
{
    char kb[64], out[64];
    struct cache_key k = { .buf = kb, .cap = sizeof kb };

    (void)state;
    assert_int_equal(cache_key_build(&k, HTTP, "h", 1, "/a%zz", 5, NULL), -EINVAL);
    assert_int_equal(k.len, 0);
    assert_int_equal(cache_key_target(&k, out, sizeof out, "/a%zz", 5), -EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_table),
        cmocka_unit_test(test_key_every_cap),
        cmocka_unit_test(test_key_equivalents),
        cmocka_unit_test(test_key_sort_limit),
        cmocka_unit_test(test_key_url),
        cmocka_unit_test(test_key_url_matches_request),
        cmocka_unit_test(test_key_idempotent),
        cmocka_unit_test(test_host_norm),
        cmocka_unit_test(test_key_target),
        cmocka_unit_test(test_key_target_unbuilt),
    };

    printf("# %zu key cases\n", sizeof kcases / sizeof kcases[0]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
