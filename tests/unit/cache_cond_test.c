/*
 * Validation: client preconditions against a stored response in RFC 9110
 * §13.2.2 order (with the §8.8.3.2 comparison table), validators for an
 * upstream revalidation, whether a 304 applies, and the stored header
 * block: build (§3.1), 304 update (§3.2), split.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/policy.h"

#define FLD(n, v)                                                          \
    { .name = (n), .value = (v), .name_len = sizeof(n) - 1,                \
      .value_len = sizeof(v) - 1 }
#define NF(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))
#define D 784111777LL /* Sun, 06 Nov 1994 08:49:37 GMT */
#define NOW ((D + 100) * 1000)

/* Stored: ETag "abc", Last-Modified one hour before its Date. */
static const struct cache_validators v = {
    .etag = "\"abc\"", .etag_len = 5, .last_modified_s = D - 3600,
    .date_s = D,
};

static enum cache_cond
eval1(enum h1_method mt, const char *name, const char *value,
      const struct cache_validators *sv)
{
    struct h1_field f = { .name = name, .name_len = (uint32_t)strlen(name),
                          .value = value,
                          .value_len = (uint32_t)strlen(value) };

    return cache_cond_eval(mt, &f, 1, sv, NOW);
}

static enum cache_cond
get1(const char *name, const char *value)
{
    return eval1(H1_M_GET, name, value, &v);
}

static void
test_if_none_match(void **state)
{
    (void)state;
    assert_int_equal(get1("If-None-Match", "\"abc\""), CACHE_COND_NOT_MODIFIED);
    assert_int_equal(eval1(H1_M_HEAD, "If-None-Match", "\"abc\"", &v),
                     CACHE_COND_NOT_MODIFIED);
    assert_int_equal(get1("If-None-Match", "W/\"abc\""),
                     CACHE_COND_NOT_MODIFIED); /* weak comparison */
    assert_int_equal(get1("If-None-Match", "\"xyz\""), CACHE_COND_PROCEED);
    assert_int_equal(get1("If-None-Match", "\"x\", W/\"abc\""),
                     CACHE_COND_NOT_MODIFIED);
    assert_int_equal(get1("If-None-Match", "\"x\" ,\"y\""), CACHE_COND_PROCEED);
    assert_int_equal(get1("If-None-Match", "*"), CACHE_COND_NOT_MODIFIED);
    assert_int_equal(get1("if-none-match", "\"a,bc\", \"abc\""),
                     CACHE_COND_NOT_MODIFIED);
    /* unsafe method: a matching If-None-Match fails the precondition */
    assert_int_equal(eval1(H1_M_POST, "If-None-Match", "\"abc\"", &v),
                     CACHE_COND_PRECONDITION_FAILED);
    /* malformed: ignored */
    assert_int_equal(get1("If-None-Match", "abc"), CACHE_COND_PROCEED);
    assert_int_equal(get1("If-None-Match", "\"abc\" \"x\""), CACHE_COND_PROCEED);
}

static void
test_if_none_match_stored_weak(void **state)
{
    struct cache_validators w = v;
    struct cache_validators none = v;

    (void)state;
    w.etag = "W/\"abc\"";
    w.etag_len = 7;
    assert_int_equal(eval1(H1_M_GET, "If-None-Match", "\"abc\"", &w),
                     CACHE_COND_NOT_MODIFIED);
    none.etag = NULL;
    assert_int_equal(eval1(H1_M_GET, "If-None-Match", "\"abc\"", &none),
                     CACHE_COND_PROCEED);
    assert_int_equal(eval1(H1_M_GET, "If-None-Match", "*", &none),
                     CACHE_COND_NOT_MODIFIED);
}

/* RFC 9110 §8.8.3.2 table, through If-Match (strong) and If-None-Match. */
static void
test_comparison_table(void **state)
{
    static const struct {
        const char *a, *b;
        bool strong, weak;
    } t[] = {
        { "W/\"1\"", "W/\"1\"", false, true },
        { "W/\"1\"", "W/\"2\"", false, false },
        { "W/\"1\"", "\"1\"", false, true },
        { "\"1\"", "\"1\"", true, true },
    };
    unsigned bad = 0;

    (void)state;
    for (size_t i = 0; i < NF(t); i++) {
        struct cache_validators s = v;

        s.etag = t[i].a;
        s.etag_len = strlen(t[i].a);
        bad += (eval1(H1_M_GET, "If-Match", t[i].b, &s) ==
                CACHE_COND_PROCEED) != t[i].strong;
        bad += (eval1(H1_M_GET, "If-None-Match", t[i].b, &s) ==
                CACHE_COND_NOT_MODIFIED) != t[i].weak;
    }
    assert_int_equal(bad, 0);
}

static void
test_if_match(void **state)
{
    struct cache_validators none = v;

    (void)state;
    assert_int_equal(get1("If-Match", "\"abc\""), CACHE_COND_PROCEED);
    assert_int_equal(get1("If-Match", "\"xyz\""),
                     CACHE_COND_PRECONDITION_FAILED);
    assert_int_equal(get1("If-Match", "\"x\", \"abc\""), CACHE_COND_PROCEED);
    assert_int_equal(get1("If-Match", "W/\"abc\""),
                     CACHE_COND_PRECONDITION_FAILED);
    assert_int_equal(get1("If-Match", "*"), CACHE_COND_PROCEED);
    none.etag = NULL;
    assert_int_equal(eval1(H1_M_GET, "If-Match", "\"abc\"", &none),
                     CACHE_COND_PRECONDITION_FAILED);
    assert_int_equal(eval1(H1_M_GET, "If-Match", "*", &none),
                     CACHE_COND_PROCEED);
}

static void
test_if_unmodified_since(void **state)
{
    struct h1_field both[] = { FLD("If-Match", "\"abc\""),
                               FLD("If-Unmodified-Since",
                                   "Sun, 06 Nov 1994 06:49:37 GMT") };

    (void)state;
    /* Last-Modified is 07:49:37 */
    assert_int_equal(get1("If-Unmodified-Since", "Sun, 06 Nov 1994 07:49:37 GMT"),
                     CACHE_COND_PROCEED);
    assert_int_equal(get1("If-Unmodified-Since", "Sun, 06 Nov 1994 06:49:37 GMT"),
                     CACHE_COND_PRECONDITION_FAILED);
    assert_int_equal(get1("If-Unmodified-Since", "yesterday"),
                     CACHE_COND_PROCEED);
    /* If-Match present: If-Unmodified-Since is not evaluated */
    assert_int_equal(cache_cond_eval(H1_M_GET, both, 2, &v, NOW),
                     CACHE_COND_PROCEED);
}

static void
test_if_modified_since(void **state)
{
    struct h1_field inm[] = { FLD("If-None-Match", "\"other\""),
                              FLD("If-Modified-Since",
                                  "Sun, 06 Nov 1994 08:49:37 GMT") };
    struct cache_validators nolm = v;

    (void)state;
    assert_int_equal(get1("If-Modified-Since", "Sun, 06 Nov 1994 07:49:37 GMT"),
                     CACHE_COND_NOT_MODIFIED);
    assert_int_equal(get1("If-Modified-Since", "Sunday, 06-Nov-94 08:00:00 GMT"),
                     CACHE_COND_NOT_MODIFIED);
    assert_int_equal(get1("If-Modified-Since", "Sun Nov  6 07:49:36 1994"),
                     CACHE_COND_PROCEED);
    assert_int_equal(get1("If-Modified-Since", "not a date"), CACHE_COND_PROCEED);
    assert_int_equal(eval1(H1_M_POST, "If-Modified-Since",
                           "Sun, 06 Nov 1994 08:49:37 GMT", &v),
                     CACHE_COND_PROCEED);
    /* If-None-Match present: If-Modified-Since is ignored */
    assert_int_equal(cache_cond_eval(H1_M_GET, inm, 2, &v, NOW),
                     CACHE_COND_PROCEED);
    /* a malformed If-None-Match counts as absent */
    inm[0].value = "garbage";
    inm[0].value_len = 7;
    assert_int_equal(cache_cond_eval(H1_M_GET, inm, 2, &v, NOW),
                     CACHE_COND_NOT_MODIFIED);
    /* RFC 9111 §4.3.2: no Last-Modified, the stored Date stands in */
    nolm.last_modified_s = -1;
    assert_int_equal(eval1(H1_M_GET, "If-Modified-Since",
                           "Sun, 06 Nov 1994 08:49:37 GMT", &nolm),
                     CACHE_COND_NOT_MODIFIED);
    assert_int_equal(eval1(H1_M_GET, "If-Modified-Since",
                           "Sun, 06 Nov 1994 08:49:36 GMT", &nolm),
                     CACHE_COND_PROCEED);
}

static void
test_precedence(void **state)
{
    struct h1_field f[] = { FLD("If-Match", "\"nope\""),
                            FLD("If-None-Match", "\"abc\"") };
    struct h1_field two_ims[] = {
        FLD("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"),
        FLD("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"),
    };

    (void)state;
    assert_int_equal(cache_cond_eval(H1_M_GET, f, 2, &v, NOW),
                     CACHE_COND_PRECONDITION_FAILED);
    assert_int_equal(cache_cond_eval(H1_M_GET, f + 1, 1, &v, NOW),
                     CACHE_COND_NOT_MODIFIED);
    assert_int_equal(cache_cond_eval(H1_M_GET, two_ims, 2, &v, NOW),
                     CACHE_COND_PROCEED);
    assert_int_equal(cache_cond_eval(H1_M_GET, NULL, 0, &v, NOW),
                     CACHE_COND_PROCEED);
}

static void
test_validators_find(void **state)
{
    static const char head[] = "Content-Type: text/html\r\n"
                               "ETag:   W/\"v1\"\r\n"
                               "Last-Modified: Sunday, 06-Nov-94 07:49:37 GMT\r\n"
                               "ETag: \"second\"\r\n";
    struct cache_revalidation rv;

    (void)state;
    cache_validators_find(&rv, head, sizeof head - 1);
    assert_int_equal(rv.if_none_match_len, 6);
    assert_memory_equal(rv.if_none_match, "W/\"v1\"", 6);
    assert_int_equal(rv.if_modified_since_len, 30);
    assert_memory_equal(rv.if_modified_since,
                        "Sunday, 06-Nov-94 07:49:37 GMT", 30);
    cache_validators_find(&rv, "X: y\r\n", 6);
    assert_null(rv.if_none_match);
    assert_null(rv.if_modified_since);
}

static void
test_304_matches(void **state)
{
    struct h1_field same[] = { FLD("ETag", "\"abc\"") };
    struct h1_field other[] = { FLD("ETag", "\"xyz\"") };
    struct h1_field weak[] = { FLD("ETag", "W/\"abc\"") };
    struct h1_field lm[] = { FLD("Last-Modified",
                                 "Sun, 06 Nov 1994 07:49:37 GMT") };
    struct h1_field lm2[] = { FLD("Last-Modified",
                                  "Sun, 06 Nov 1994 07:49:38 GMT") };
    struct h1_field bare[] = { FLD("Date", "Sun, 06 Nov 1994 08:51:17 GMT") };
    struct cache_validators noetag = v;

    (void)state;
    assert_true(cache_cond_304_matches(&v, same, 1, NOW));
    assert_false(cache_cond_304_matches(&v, other, 1, NOW));
    assert_true(cache_cond_304_matches(&v, weak, 1, NOW));
    assert_true(cache_cond_304_matches(&v, lm, 1, NOW));
    assert_false(cache_cond_304_matches(&v, lm2, 1, NOW));
    assert_true(cache_cond_304_matches(&v, bare, 1, NOW));
    noetag.etag = NULL;
    assert_false(cache_cond_304_matches(&noetag, same, 1, NOW));
}

static void
test_head_build(void **state)
{
    struct h1_field f[] = {
        FLD("Content-Type", "text/html"), FLD("Connection", "close, X-Hop"),
        FLD("X-Hop", "1"),                FLD("Keep-Alive", "timeout=5"),
        FLD("Transfer-Encoding", "chunked"), FLD("Content-Length", "10"),
        FLD("Age", "4"),                  FLD("Set-Cookie", "a=b"),
        FLD("Proxy-Authenticate", "Basic"), FLD("Upgrade", "h2c"),
        FLD("TE", "trailers"),            FLD("Cache-Control",
                                              "max-age=9, private=\"X-Secret\""),
        FLD("X-Secret", "s"),             FLD("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
        FLD("Vary", "Accept-Encoding"),
    };
    static const char want[] = "Content-Type: text/html\r\n"
                               "Cache-Control: max-age=9, private=\"X-Secret\"\r\n"
                               "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                               "Vary: Accept-Encoding\r\n";
    struct cache_cc cc;
    char out[512];
    size_t len = 0;

    (void)state;
    cache_cc_parse_response(&cc, f, NF(f), NULL);
    assert_int_equal(cache_head_build(out, sizeof out, &len, f, NF(f), &cc), 0);
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(out, want, len);
    assert_true(cache_head_bound(0, f, NF(f)) >= len);
    assert_int_equal(cache_head_build(out, 20, &len, f, NF(f), &cc), -ENOSPC);
}

static void
test_head_update_304(void **state)
{
    static const char head[] = "Content-Type: text/html\r\n"
                               "ETag: \"a\"\r\n"
                               "Cache-Control: max-age=60\r\n"
                               "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                               "X-A: 1\r\n"
                               "X-A: 2\r\n"
                               "Content-Encoding: gzip\r\n"
                               "Vary: Accept-Encoding\r\n";
    struct h1_field f[] = {
        FLD("Date", "Sun, 06 Nov 1994 09:00:00 GMT"),
        FLD("cache-control", "max-age=120"),
        FLD("X-A", "3"),
        FLD("Content-Length", "0"),
        FLD("Content-Encoding", "br"),
        FLD("Vary", "*"),
        FLD("Connection", "close"),
        FLD("Age", "5"),
        FLD("Set-Cookie", "s=1"),
        FLD("X-New", "n"),
    };
    static const char want[] = "Content-Type: text/html\r\n"
                               "ETag: \"a\"\r\n"
                               "Content-Encoding: gzip\r\n"
                               "Vary: Accept-Encoding\r\n"
                               "Date: Sun, 06 Nov 1994 09:00:00 GMT\r\n"
                               "cache-control: max-age=120\r\n"
                               "X-A: 3\r\n"
                               "X-New: n\r\n";
    char out[512];
    size_t len = 0, bound = cache_head_bound(sizeof head - 1, f, NF(f));

    (void)state;
    assert_int_equal(cache_head_update(out, sizeof out, &len, head,
                                       sizeof head - 1, f, NF(f)), 0);
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(out, want, len);
    assert_true(bound >= len);
    assert_int_equal(cache_head_update(out, 40, &len, head, sizeof head - 1,
                                       f, NF(f)), -ENOSPC);
}

static void
test_head_split_and_refresh(void **state)
{
    static const char head[] = "Date: Sun, 06 Nov 1994 09:00:00 GMT\r\n"
                               "Cache-Control:max-age=120 \r\n"
                               "bogus line\r\n"
                               "ETag: \"a\"";
    struct h1_field f[4], f304[] = { FLD("Age", "2") };
    struct cache_meta m = { .status = 200 };
    int n;

    (void)state;
    n = cache_head_split(head, sizeof head - 1, f, 4);
    assert_int_equal(n, 3);
    assert_int_equal(f[1].name_len, 13);
    assert_memory_equal(f[1].value, "max-age=120", 11);
    assert_int_equal(f[1].value_len, 11);
    assert_memory_equal(f[2].value, "\"a\"", 3);
    assert_int_equal(cache_head_split(head, sizeof head - 1, f, 2), -ENOSPC);
    assert_int_equal(cache_head_split("", 0, f, 4), 0);
    m.status = 203;
    cache_meta_refresh(&m, f, (uint32_t)n, f304, 1, NULL, (D + 639) * 1000,
                       (D + 640) * 1000);
    assert_int_equal(m.status, 203); /* kept */
    assert_int_equal(m.date_s, D + 623);
    assert_int_equal(m.lifetime_ms, 120000);
    assert_int_equal(m.age_s, 2); /* the 304's own Age */
    assert_int_equal(m.response_ms, (D + 640) * 1000);
    /* apparent 17 s beats corrected 2 + 1 s */
    assert_int_equal(cache_meta_age_ms(&m, (D + 641) * 1000), 18000);
}

/* Random precondition values and header blocks in exact-size heap buffers
 * (ASan catches any overread). */
static void
test_garbage_never_overreads(void **state)
{
    static const char *const names[] = { "If-Match", "If-None-Match",
                                         "If-Modified-Since",
                                         "If-Unmodified-Since" };
    static const char alpha[] = "W/\"*, \tabc:\r\nSun0123456789GMT";
    uint64_t seed = 777;
    unsigned bad = 0;

    (void)state;
    for (unsigned i = 0; i < 20000; i++) {
        size_t len, hl;
        char *buf, out[256];
        struct h1_field f, fields[8];
        struct cache_revalidation rv;
        int k;

        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        len = (size_t)(seed >> 59);
        buf = malloc(len ? len : 1);
        assert_non_null(buf);
        for (size_t j = 0; j < len; j++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[j] = alpha[(seed >> 33) % (sizeof alpha - 1)];
        }
        f = (struct h1_field){ .name = names[i % 4],
                               .name_len = (uint32_t)strlen(names[i % 4]),
                               .value = buf, .value_len = (uint32_t)len };
        bad += (unsigned)cache_cond_eval(H1_M_GET, &f, 1, &v, NOW) > 2;
        cache_validators_find(&rv, buf, len);
        k = cache_head_split(buf, len, fields, 8);
        bad += k > 8;
        bad += cache_head_update(out, sizeof out, &hl, buf, len, &f, 1) == 0 &&
               hl > sizeof out;
        free(buf);
    }
    assert_int_equal(bad, 0);
}

/* RFC 9110 §13.2.1: a stored non-2xx answers as if there were no
 * precondition. */
static void
test_cond_applies_to_2xx_only(void **state)
{
    static const int yes[] = { 200, 203, 204, 206, 299 };
    static const int no[] = { 100, 301, 304, 404, 410, 412, 500, 501 };

    (void)state;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(cache_cond_applies(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(cache_cond_applies(no[i]));
}

#define ANS(st, n) cache_field_answers((st), (n), sizeof(n) - 1)

/* §15.4.5: our 304 keeps validators, caching fields, Content-Location and
 * other fields, not representation metadata; 412/416: Date, validators. */
static void
test_field_answers(void **state)
{
    (void)state;
    assert_true(ANS(304, "ETag") && ANS(304, "Last-Modified") && ANS(304, "Date"));
    assert_true(ANS(304, "Cache-Control") && ANS(304, "Expires") && ANS(304, "Vary"));
    assert_true(ANS(304, "Content-Location") && ANS(304, "X-Other"));
    assert_false(ANS(304, "Content-Type") || ANS(304, "content-language") ||
                 ANS(304, "Content-Encoding") || ANS(304, "Content-Length"));
    for (int st = 412; st <= 416; st += 4) {
        assert_true(ANS(st, "Date") && ANS(st, "etag") && ANS(st, "Last-Modified"));
        assert_false(ANS(st, "Cache-Control") || ANS(st, "Content-Type") ||
                     ANS(st, "Expires") || ANS(st, "X-Other"));
    }
    assert_true(ANS(200, "Content-Type") && ANS(206, "Cache-Control") &&
                ANS(404, "Content-Type"));
}

/* RFC 9111 §5.2.2.4 / §5.2.2.7: what storage leaves out still goes to the
 * client that fetched it; hop-by-hop and framing never. */
static void
test_head_leader(void **state)
{
    struct h1_field f[] = {
        FLD("Content-Type", "text/html"), FLD("Connection", "close, X-Hop"),
        FLD("X-Hop", "1"),                FLD("Set-Cookie", "a=b"),
        FLD("Cache-Control", "max-age=9, private=\"X-Secret, Content-Length\", "
                             "no-cache=\"Set-Cookie2, X-Hop\""),
        FLD("X-Secret", "s"),             FLD("Content-Length", "10"),
        FLD("Set-Cookie2", "c=d"),        FLD("Transfer-Encoding", "chunked"),
        FLD("Age", "3"),                  FLD("Set-Cookie", "e=f"),
    };
    static const char want[] = "Set-Cookie: a=b\r\nX-Secret: s\r\n"
                               "Set-Cookie2: c=d\r\nSet-Cookie: e=f\r\n";
    struct cache_cc cc;
    char out[512];
    size_t len = 99;

    (void)state;
    cache_cc_parse_response(&cc, f, NF(f), NULL);
    assert_int_equal(cache_head_leader(out, sizeof out, &len, f, NF(f), &cc), 0);
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(out, want, len);
    /* without lists: Set-Cookie only */
    assert_int_equal(cache_head_leader(out, sizeof out, &len, f, 4, NULL), 0);
    assert_int_equal(len, 17);
    assert_memory_equal(out, "Set-Cookie: a=b\r\n", len);
    assert_int_equal(cache_head_leader(out, 10, &len, f, NF(f), &cc), -ENOSPC);
}

/* RFC 9110 §6.6.1: a stored head without Date gets the receipt time. */
static void
test_head_add_date(void **state)
{
    char out[128] = "ETag: \"a\"\r\n";
    size_t len = strlen(out);
    static const char want[] = "ETag: \"a\"\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n";

    (void)state;
    assert_int_equal(cache_head_add_date(out, 20, &len, D), -ENOSPC);
    assert_int_equal(cache_head_add_date(out, sizeof out, &len, D), 0);
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(out, want, len);
    /* one is there already: unchanged */
    assert_int_equal(cache_head_add_date(out, sizeof out, &len, D + 50), 0);
    assert_int_equal(len, sizeof want - 1);
    len = 0;
    assert_int_equal(cache_head_add_date(out, sizeof out, &len, D), 0);
    assert_int_equal(len, CACHE_DATE_LEN + 8);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_if_none_match),
        cmocka_unit_test(test_if_none_match_stored_weak),
        cmocka_unit_test(test_comparison_table),
        cmocka_unit_test(test_if_match),
        cmocka_unit_test(test_if_unmodified_since),
        cmocka_unit_test(test_if_modified_since),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_validators_find),
        cmocka_unit_test(test_304_matches),
        cmocka_unit_test(test_head_build),
        cmocka_unit_test(test_head_update_304),
        cmocka_unit_test(test_head_split_and_refresh),
        cmocka_unit_test(test_garbage_never_overreads),
        cmocka_unit_test(test_cond_applies_to_2xx_only),
        cmocka_unit_test(test_field_answers),
        cmocka_unit_test(test_head_leader),
        cmocka_unit_test(test_head_add_date),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
