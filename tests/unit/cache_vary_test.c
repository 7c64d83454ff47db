/*
 * Vary: canonical names from response fields (case, duplicates, order,
 * "*", bad members, the Accept-Encoding option, limits) and secondary keys
 * from request fields (whitespace, case of tokens, list spacing, missing
 * versus empty, combined fields, quoted-strings, buffer bounds).
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

#include "cache/key.h"
#include "edge/h1.h"

#define MAXF 4
/* The most distinct Vary names kept (CACHE_VARY_NAMES_MAX). */
#define H16 "h01,h02,h03,h04,h05,h06,h07,h08,h09,h10,h11,h12,h13,h14,h15,h16"

/* Up to MAXF fields as name/value pairs; a NULL name ends the list. */
struct fl {
    const char *nv[MAXF][2];
};

static uint32_t
fields_of(const struct fl *l, struct h1_field *f)
{
    uint32_t n = 0;

    for (; n < MAXF && l->nv[n][0] != NULL; n++) {
        f[n].name = l->nv[n][0];
        f[n].name_len = (uint32_t)strlen(l->nv[n][0]);
        f[n].value = l->nv[n][1];
        f[n].value_len = (uint32_t)strlen(l->nv[n][1]);
    }
    return n;
}

static const struct {
    struct fl f;
    unsigned flags;
    const char *want;
} ncases[] = {
    { { { { "Content-Type", "text/html" } } }, 0, "" },
    { { { { "Vary", "Accept-Encoding" } } }, 0, "accept-encoding" },
    { { { { "vary", "Accept-Language, Accept-Encoding" } } }, 0,
      "accept-encoding,accept-language" },
    { { { { "Vary", "Origin" }, { "X-A", "1" }, { "VARY", "accept-language" } } },
      0, "accept-language,origin" },
    { { { { "Vary", "Accept, accept ,ACCEPT" } } }, 0, "accept" },
    { { { { "Vary", "x-b,x-a" }, { "Vary", "X-A, x-c" } } }, 0, "x-a,x-b,x-c" },
    { { { { "Vary", "accept-encoding,accept" } } }, 0, "accept,accept-encoding" },
    { { { { "Vary", "*" } } }, 0, "*" },
    { { { { "Vary", "Accept, *" } } }, 0, "*" },
    { { { { "Vary", "Accept" }, { "Vary", " * " } } }, 0, "*" },
    { { { { "Vary", "" } } }, 0, "" },
    { { { { "Vary", " , ,\tAccept,, " } } }, 0, "accept" },
    { { { { "Vary", "Accept Encoding" } } }, 0, "*" },
    { { { { "Vary", "Accept, \"Origin\"" } } }, 0, "*" },
    { { { { "Vary", "a/b" } } }, 0, "*" },
    { { { { "Vary", "Accept-Encoding" } } }, CACHE_VARY_NO_ACCEPT_ENCODING, "" },
    { { { { "Vary", "Origin, ACCEPT-ENCODING" } } },
      CACHE_VARY_NO_ACCEPT_ENCODING, "origin" },
    { { { { "Vary", "Origin, *" } } }, CACHE_VARY_NO_ACCEPT_ENCODING, "*" },
    { { { { "Vary", H16 } } }, 0, H16 },
    { { { { "Vary", H16 ",H01" } } }, 0, H16 },
    { { { { "Vary", H16 ",h17" } } }, 0, "*" },
    { { { { "Varyx", "accept" }, { "Var", "origin" } } }, 0, "" },
};

static void
test_names_table(void **state)
{
    char out[256];
    struct h1_field f[MAXF];

    (void)state;
    for (size_t i = 0; i < sizeof ncases / sizeof ncases[0]; i++) {
        uint32_t n = fields_of(&ncases[i].f, f);
        int rc = cache_vary_names_build(out, sizeof out, f, n, ncases[i].flags);

        if (rc != (int)strlen(ncases[i].want))
            fail_msg("names case %zu: rc %d, want \"%s\"", i, rc, ncases[i].want);
        assert_string_equal(out, ncases[i].want);
        assert_int_equal(cache_vary_names_is_star(out, (size_t)rc),
                         strcmp(ncases[i].want, "*") == 0);
    }
}

/* Every size: -ENOSPC or the whole result; a "*" found after the buffer
 * filled up still wins. */
static void
test_names_every_cap(void **state)
{
    struct fl big = { { { "Vary", "accept-language, origin, accept" } } };
    struct fl star = { { { "Vary", "accept-language, origin" }, { "Vary", "*" } } };
    struct h1_field f[MAXF];
    uint32_t n;

    (void)state;
    n = fields_of(&big, f);
    for (size_t cap = 0; cap <= 40; cap++) {
        char *out = malloc(cap ? cap : 1);
        int rc = cache_vary_names_build(cap ? out : NULL, cap, f, n, 0);

        if (cap <= 29)
            assert_int_equal(rc, -ENOSPC);
        else
            assert_string_equal(out, "accept,accept-language,origin");
        free(out);
    }
    n = fields_of(&star, f);
    for (size_t cap = 0; cap <= 4; cap++) {
        char *out = malloc(cap ? cap : 1);
        int rc = cache_vary_names_build(cap ? out : NULL, cap, f, n, 0);

        assert_int_equal(rc, cap < 2 ? -ENOSPC : 1);
        if (rc == 1)
            assert_string_equal(out, "*");
        free(out);
    }
}

static const struct {
    const char *names;
    struct fl f;
    const char *want; /* NULL: -EINVAL */
} kcases[] = {
    { "", { { { "Accept", "x" } } }, "" },
    { "accept-encoding", { { { "Accept-Encoding", "gzip, br" } } },
      "accept-encoding=gzip, br\n" },
    { "accept-encoding", { { { "Accept", "x" } } }, "accept-encoding\n" },
    { "accept-encoding", { { { "Accept-Encoding", "" } } }, "accept-encoding=\n" },
    { "accept-encoding", { { { "accept-encoding", "GZIP,BR" } } },
      "accept-encoding=gzip, br\n" },
    { "accept-encoding", { { { "ACCEPT-ENCODING", " gzip ,\t br " } } },
      "accept-encoding=gzip, br\n" },
    { "accept-encoding", { { { "Accept-Encoding", "gzip" }, { "X", "y" },
                             { "Accept-Encoding", "br" } } },
      "accept-encoding=gzip, br\n" },
    { "accept-encoding", { { { "Accept-Encoding", "gzip;q=1.0 , br ; q=0.5" } } },
      "accept-encoding=gzip;q=1.0, br;q=0.5\n" },
    { "accept-encoding", { { { "Accept-Encoding", ",gzip,,br," } } },
      "accept-encoding=gzip, br\n" },
    { "accept-encoding", { { { "Accept-Encoding", " , " } } },
      "accept-encoding=\n" },
    { "accept-encoding",
      { { { "Accept-Encoding", "" }, { "Accept-Encoding", "br" } } },
      "accept-encoding=br\n" },
    { "accept-language", { { { "Accept-Language", "en-US,en;Q=0.9" } } },
      "accept-language=en-us, en;q=0.9\n" },
    { "accept", { { { "Accept", "text/html;charset=\"UTF-8 X\" ,  */*" } } },
      "accept=text/html;charset=\"UTF-8 X\", */*\n" },
    { "origin", { { { "Origin", "https://Example.com" } } },
      "origin=https://Example.com\n" },
    { "user-agent", { { { "User-Agent", "Foo  Bar\t\tBaz " } } },
      "user-agent=Foo Bar Baz\n" },
    { "x-list", { { { "X-List", "a,b" } } }, "x-list=a,b\n" },
    { "x-list", { { { "X-List", "a" }, { "x-list", "  b" } } }, "x-list=a, b\n" },
    { "x-q", { { { "X-Q", "\"a  B\\\"  c\"   d" } } }, "x-q=\"a  B\\\"  c\" d\n" },
    { "x-q", { { { "X-Q", "\"open  " }, { "X-Q", "b" } } }, "x-q=\"open  , b\n" },
    { "x-c", { { { "X-C", "a\rb\nc" } } }, "x-c=a b c\n" },
    { "cookie", { { { "Cookie", "a=1;  b=2" } } }, "cookie=a=1; b=2\n" },
    { "accept-encoding,origin", { { { "Origin", "o" } } },
      "accept-encoding\norigin=o\n" },
    { "accept-encoding,origin",
      { { { "Origin", "o" }, { "Accept-Encoding", "br" } } },
      "accept-encoding=br\norigin=o\n" },
    { "*", { { { "Accept", "x" } } }, NULL },
    { "Accept", { { { "Accept", "x" } } }, NULL },
    { "a,,b", { { { "A", "x" } } }, NULL },
    { "a,", { { { "A", "x" } } }, NULL },
    { ",a", { { { "A", "x" } } }, NULL },
    { "a b", { { { "A", "x" } } }, NULL },
};

static void
test_key_table(void **state)
{
    char out[CACHE_VARY_KEY_MAX];
    struct h1_field f[MAXF];

    (void)state;
    for (size_t i = 0; i < sizeof kcases / sizeof kcases[0]; i++) {
        uint32_t n = fields_of(&kcases[i].f, f);
        const char *names = kcases[i].names;
        int rc = cache_vary_key_build(out, sizeof out, names, strlen(names), f, n);

        if (kcases[i].want == NULL) {
            assert_int_equal(rc, -EINVAL);
            continue;
        }
        if (rc != (int)strlen(kcases[i].want))
            fail_msg("key case %zu: rc %d, out \"%s\"", i, rc, rc >= 0 ? out : "");
        assert_string_equal(out, kcases[i].want);
    }
}

static void
test_key_every_cap(void **state)
{
    struct fl l = { { { "Accept-Encoding", "gzip , br" }, { "Origin", "o" } } };
    const char *names = "accept-encoding,origin";
    const char *want = "accept-encoding=gzip, br\norigin=o\n";
    struct h1_field f[MAXF];
    uint32_t n = fields_of(&l, f);

    (void)state;
    for (size_t cap = 0; cap <= strlen(want) + 1; cap++) {
        char *out = malloc(cap ? cap : 1);
        int rc = cache_vary_key_build(cap ? out : NULL, cap, names,
                                      strlen(names), f, n);

        if (cap <= strlen(want)) {
            assert_int_equal(rc, -ENOSPC);
        } else {
            assert_int_equal(rc, strlen(want));
            assert_string_equal(out, want);
        }
        free(out);
    }
}

static int
vkey(char *out, size_t cap, const char *names, const char *name,
     const char *value)
{
    struct h1_field f = { name, value, (uint32_t)strlen(name),
                          (uint32_t)strlen(value) };

    return cache_vary_key_build(out, cap, names, strlen(names), &f,
                                1);
}

/* Pairs of request values that must share a variant, and pairs that must
 * not (RFC 9111 §4.1: same after normalization, or not at all). */
static void
test_key_equivalence(void **state)
{
    static const char *const same[][3] = {
        { "accept-encoding", "gzip, deflate, br", "GZIP,DEFLATE ,BR" },
        { "accept-language", "en-GB;q=0.8", "en-gb ; q=0.8" },
        { "accept-encoding", "gzip,", "gzip" },
        { "x-custom", " a  b ", "a b" },
    };
    static const char *const differ[][3] = {
        { "accept-encoding", "gzip", "br" },
        { "x-custom", "Abc", "abc" },
        { "x-custom", "a,b", "a, b" },
        { "x-custom", "\"a  b\"", "\"a b\"" },
        { "origin", "https://a.example", "https://b.example" },
    };
    char a[256], b[256];

    (void)state;
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        const char *const *v = same[i];

        assert_true(vkey(a, sizeof a, v[0], v[0], v[1]) > 0);
        assert_true(vkey(b, sizeof b, v[0], v[0], v[2]) > 0);
        assert_string_equal(a, b);
    }
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        const char *const *v = differ[i];

        assert_true(vkey(a, sizeof a, v[0], v[0], v[1]) > 0);
        assert_true(vkey(b, sizeof b, v[0], v[0], v[2]) > 0);
        assert_string_not_equal(a, b);
    }
    /* Missing and empty differ. */
    assert_true(vkey(a, sizeof a, "origin", "origin", "") > 0);
    assert_true(vkey(b, sizeof b, "origin", "x-other", "") > 0);
    assert_string_not_equal(a, b);
}

/* Random values: a normalized value normalizes to itself, for a list
 * field with lowercase tokens and for a plain one. */
static void
test_key_idempotent(void **state)
{
    static const char alpha[] = " \t,,;;\"\\aAbB=\r";
    static const char *const names[] = { "accept-encoding", "x-h" };
    char v[24], a[128], b[128];
    uint32_t x = 88172645u;

    (void)state;
    for (int i = 0; i < 40000; i++) {
        const char *nm = names[i & 1];
        size_t n = (size_t)i % (sizeof v - 1), pre = strlen(nm) + 1;
        int rc;

        for (size_t j = 0; j < n; j++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            v[j] = alpha[x % (sizeof alpha - 1)];
        }
        v[n] = '\0';
        rc = vkey(a, sizeof a, nm, nm, v);
        assert_true(rc >= (int)pre + 1 && a[rc - 1] == '\n');
        a[rc - 1] = '\0';
        assert_int_equal(vkey(b, sizeof b, nm, nm, a + pre), rc);
        b[rc - 1] = '\0';
        assert_string_equal(a, b);
    }
}

/* The stored names drive the key: what names_build writes, key_build
 * reads, and a request without the varied fields still gets a key. */
static void
test_names_then_key(void **state)
{
    struct fl resp = {
        { { "Vary", "Accept-Language" }, { "Vary", "Accept-Encoding" } }
    };
    struct fl req = { { { "Host", "h" }, { "accept-language", "fr-CA" } } };
    struct h1_field f[MAXF];
    char names[64], key[256];
    int nl;

    (void)state;
    nl = cache_vary_names_build(names, sizeof names, f, fields_of(&resp, f), 0);
    assert_int_equal(nl, strlen("accept-encoding,accept-language"));
    assert_int_equal(cache_vary_key_build(key, sizeof key, names, (size_t)nl, f,
                                          fields_of(&req, f)),
                     strlen("accept-encoding\naccept-language=fr-ca\n"));
    assert_string_equal(key, "accept-encoding\naccept-language=fr-ca\n");
    nl = cache_vary_names_build(names, sizeof names, f, fields_of(&resp, f),
                                CACHE_VARY_NO_ACCEPT_ENCODING);
    assert_string_equal(names, "accept-language");
    assert_true(cache_vary_key_build(key, sizeof key, names, (size_t)nl, f,
                                     fields_of(&req, f)) > 0);
    assert_string_equal(key, "accept-language=fr-ca\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_table),
        cmocka_unit_test(test_names_every_cap),
        cmocka_unit_test(test_key_table),
        cmocka_unit_test(test_key_every_cap),
        cmocka_unit_test(test_key_equivalence),
        cmocka_unit_test(test_key_idempotent),
        cmocka_unit_test(test_names_then_key),
    };

    printf("# %zu names cases, %zu key cases\n", sizeof ncases / sizeof ncases[0],
           sizeof kcases / sizeof kcases[0]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
