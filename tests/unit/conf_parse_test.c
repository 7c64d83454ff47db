/* conf/parse.c and conf/hint.c: value syntaxes and "did you mean". */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/assert.h"
#include "conf/conf.h"
#include "conf/conf_int.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)

static void
test_size_valid(void **state)
{
    static const struct {
        const char *s;
        uint64_t v;
    } ok[] = {
        { "0", 0 },           { "100", 100 },
        { "5B", 5 },          { "8KiB", 8 * KIB },
        { "8kib", 8 * KIB },  { "8 KiB", 8 * KIB },
        { "8K", 8 * KIB },    { "8k", 8 * KIB },
        { "8KB", 8 * KIB },   { "1MiB", MIB },
        { "1M", MIB },        { "3MB", 3 * MIB },
        { "2GiB", 2 * GIB },  { "2G", 2 * GIB },
        { "2GB", 2 * GIB },   { "1TiB", TIB },
        { "1T", TIB },        { "007", 7 },
        { "18446744073709551615", UINT64_MAX },
        { "16777215TiB", 16777215ull * TIB },
    };
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        v = 1;
        assert_int_equal(conf_parse_size(ok[i].s, &v), 0);
        assert_int_equal(v, ok[i].v);
    }
}

static void
test_size_invalid(void **state)
{
    static const char *const bad[] = {
        "", "KiB", "-1", "+1", "1.5MiB", "8XB", "8 KiB x", " 8", "8KiBs",
        "8 8", "0x10", "1e3",
    };
    const char *why;
    uint64_t v = 42;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(conf_parse_size(bad[i], &v), -EINVAL);
    assert_int_equal(v, 42);
    assert_int_equal(conf_parse_size("18446744073709551616", &v), -ERANGE);
    assert_int_equal(conf_parse_size("16777216TiB", &v), -ERANGE);
    assert_int_equal(conf_size_parse("8XB", &v, &why), -EINVAL);
    assert_string_equal(why, "unknown unit (use B, KiB, MiB, GiB or TiB)");
    assert_int_equal(conf_size_parse("16777216TiB", &v, &why), -ERANGE);
    assert_string_equal(why, "too large");
    assert_int_equal(conf_size_parse("", &v, &why), -EINVAL);
    assert_string_equal(why, "expected a number of bytes");
}

static void
test_duration_valid(void **state)
{
    static const struct {
        const char *s;
        uint64_t ms;
    } ok[] = {
        { "10s", 10000 },   { "250ms", 250 },        { "5m", 300000 },
        { "1h", 3600000 },  { "90", 90000 },         { "0", 0 },
        { "0ms", 0 },       { "1h30m", 5400000 },    { "1m30s", 90000 },
        { "2 s", 2000 },    { "1s500ms", 1500 },     { "1m 30s", 90000 },
        { "1d", 86400000 }, { "2d12h", 216000000 },  { "1d1ms", 86400001 },
        { "7 d", 604800000 },
    };
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        v = 1;
        assert_int_equal(conf_parse_duration(ok[i].s, &v), 0);
        assert_int_equal(v, ok[i].ms);
    }
}

static void
test_duration_invalid(void **state)
{
    static const char *const bad[] = {
        "", "s", "10x", "10S", "10MS", "1.5s", "-1s", "10 20", "1h 30",
        "10sec", "1D", "1day", "d", "s10", "10s x",
    };
    const char *why;
    uint64_t v = 42;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(conf_parse_duration(bad[i], &v), -EINVAL);
    assert_int_equal(v, 42);
    assert_int_equal(conf_parse_duration("99999999999999999999", &v),
                     -ERANGE);
    assert_int_equal(conf_parse_duration("18446744073709551615h", &v),
                     -ERANGE);
    assert_int_equal(conf_parse_duration("18446744073709551s1h", &v),
                     -ERANGE);
    assert_int_equal(conf_duration_parse("10x", &v, &why), -EINVAL);
    assert_string_equal(why,
                        "expected a number with a unit (ms, s, m, h, d)");
    assert_int_equal(conf_parse_duration("213503982334602d", &v), -ERANGE);
}

static void
test_addr_ipv4(void **state)
{
    struct conf_addr a;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;

    (void)state;
    assert_int_equal(conf_parse_addr("127.0.0.1:8080", &a), 0);
    assert_string_equal(a.text, "127.0.0.1:8080");
    assert_int_equal(a.len, sizeof(struct sockaddr_in));
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 8080);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(conf_parse_addr("0.0.0.0:1", &a), 0);
    assert_string_equal(a.text, "0.0.0.0:1");
    assert_int_equal(conf_parse_addr("192.0.2.7:65535", &a), 0);
    assert_string_equal(a.text, "192.0.2.7:65535");
    assert_int_equal(conf_parse_addr("10.0.0.1:080", &a), 0);
    assert_string_equal(a.text, "10.0.0.1:80");
}

static void
test_addr_localhost_and_ipv6(void **state)
{
    struct conf_addr a;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;

    (void)state;
    assert_int_equal(conf_parse_addr("localhost:80", &a), 0);
    assert_string_equal(a.text, "127.0.0.1:80");
    assert_int_equal(a.ss.ss_family, AF_INET);
    assert_int_equal(conf_parse_addr("LocalHost:81", &a), 0);
    assert_string_equal(a.text, "127.0.0.1:81");
    assert_int_equal(conf_parse_addr("[::1]:8080", &a), 0);
    assert_string_equal(a.text, "[::1]:8080");
    assert_int_equal(a.len, sizeof(struct sockaddr_in6));
    assert_int_equal(sin6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(sin6->sin6_port), 8080);
    assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
    assert_int_equal(conf_parse_addr("[2001:DB8:0:0::1]:443", &a), 0);
    assert_string_equal(a.text, "[2001:db8::1]:443");
    assert_int_equal(
        conf_parse_addr("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:"
                        "65535", &a), 0);
    assert_true(strlen(a.text) < sizeof a.text);
}

static void
test_addr_invalid(void **state)
{
    static const struct {
        const char *s, *why;
    } bad[] = {
        { "127.0.0.1", "missing ':port'" },
        { "127.0.0.1:0", "port must be a number in 1..65535" },
        { "127.0.0.1:65536", "port must be a number in 1..65535" },
        { "127.0.0.1:", "port must be a number in 1..65535" },
        { "127.0.0.1:8o", "port must be a number in 1..65535" },
        { "127.0.0.1:-1", "port must be a number in 1..65535" },
        { "127.0.0.1:000080", "port must be a number in 1..65535" },
        { ":80", "missing host before ':port' (0.0.0.0 means any)" },
        { "::1:80", "IPv6 addresses go in brackets, e.g. [::1]:8080" },
        { "[::1]", "missing ':port' after ']'" },
        { "[::1]80", "missing ':port' after ']'" },
        { "[::1:80", "missing ']' after the IPv6 address" },
        { "[1.2.3.4]:80", "not an IPv6 address" },
        { "[fe80::1%eth0]:80", "not an IPv6 address" },
        { "example.com:80",
          "host must be an IP address or localhost (names are not "
          "resolved)" },
        { "1.2.3:80",
          "host must be an IP address or localhost (names are not "
          "resolved)" },
        { "256.1.1.1:80",
          "host must be an IP address or localhost (names are not "
          "resolved)" },
        { "", "missing ':port'" },
    };
    struct conf_addr a;
    const char *why;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        assert_int_equal(conf_parse_addr(bad[i].s, &a), -EINVAL);
        why = NULL;
        assert_int_equal(conf_addr_parse(bad[i].s, &a, &why), -EINVAL);
        assert_string_equal(why, bad[i].why);
    }
}

static void
test_host_patterns_valid(void **state)
{
    static const struct {
        const char *in, *out;
    } ok[] = {
        { "*", "*" },
        { "*.example.com", "*.example.com" },
        { "*.COM", "*.com" },
        { "Example.COM", "example.com" },
        { "a-b_c.x", "a-b_c.x" },
        { "localhost", "localhost" },
        { "192.0.2.1", "192.0.2.1" },
        { "[::1]", "[::1]" },
        { "[2001:DB8::1]", "[2001:db8::1]" },
    };
    const char *why;
    char *out;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        out = NULL;
        assert_int_equal(conf_host_parse(ok[i].in, &out, &why), 0);
        assert_string_equal(out, ok[i].out);
        free(out);
    }
}

static void
test_host_patterns_invalid(void **state)
{
    static const char star[] =
        "'*' is allowed only as the whole pattern or as a leading '*.' label";
    static const struct {
        const char *in, *why;
    } bad[] = {
        { "*foo", star },
        { "a.*.b", star },
        { "**.a", star },
        { "*.*.a", star },
        { "a*", star },
        { "*.", "empty label (leading, trailing or double '.')" },
        { "a..b", "empty label (leading, trailing or double '.')" },
        { ".a", "empty label (leading, trailing or double '.')" },
        { "a.", "empty label (leading, trailing or double '.')" },
        { "", "empty label (leading, trailing or double '.')" },
        { "a.com:80", "host patterns take no port" },
        { "a b", "invalid character in host name" },
        { "a/b", "invalid character in host name" },
        { "[zz]", "not a bracketed IPv6 address" },
        { "[::1", "not a bracketed IPv6 address" },
        { "a234567890123456789012345678901234567890123456789012345678901234",
          "label longer than 63 characters" },
    };
    const char *why;
    char *out = NULL;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        why = NULL;
        assert_int_equal(conf_host_parse(bad[i].in, &out, &why), -EINVAL);
        assert_string_equal(why, bad[i].why);
    }
    assert_null(out);
}

static void
test_host_too_long(void **state)
{
    char name[300];
    const char *why;
    char *out = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof name; i++)
        name[i] = i % 2 == 0 ? 'a' : '.';
    name[253] = '\0'; /* "a.a. ... .a": 253 bytes, the longest name */
    assert_int_equal(conf_host_parse(name, &out, &why), 0);
    free(out);
    name[253] = '.';
    name[255] = '\0';
    assert_int_equal(conf_host_parse(name, &out, &why), -EINVAL);
    assert_string_equal(why, "host name too long");
}

static void
test_token(void **state)
{
    char long_name[66];

    (void)state;
    assert_true(conf_token_is_valid("edge-fra-1"));
    assert_true(conf_token_is_valid("A.b_c-9"));
    assert_false(conf_token_is_valid(""));
    assert_false(conf_token_is_valid("edge fra"));
    assert_false(conf_token_is_valid("edge/1"));
    assert_false(conf_token_is_valid("é"));
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    assert_true(conf_token_is_valid(long_name));
    long_name[64] = 'a';
    long_name[65] = '\0';
    assert_false(conf_token_is_valid(long_name));
}

static void
test_field_name(void **state)
{
    char name[66];

    (void)state;
    assert_true(conf_field_name_is_valid("Strata-Cache-Control"));
    assert_true(conf_field_name_is_valid("x"));
    assert_true(conf_field_name_is_valid("A!#$%&'*+-.^_`|~9"));
    assert_false(conf_field_name_is_valid(""));
    assert_false(conf_field_name_is_valid("Strata Cache"));
    assert_false(conf_field_name_is_valid("Strata:Cache"));
    assert_false(conf_field_name_is_valid("a\"b"));
    assert_false(conf_field_name_is_valid("a(b)"));
    assert_false(conf_field_name_is_valid("a/b"));
    assert_false(conf_field_name_is_valid("é"));
    memset(name, 'a', 64);
    name[64] = '\0';
    assert_true(conf_field_name_is_valid(name));
    name[64] = 'a';
    name[65] = '\0';
    assert_false(conf_field_name_is_valid(name));
}

/* Entries are stored the way cache keys compare parameter names. */
static void
test_query_name_valid(void **state)
{
    static const struct {
        const char *in, *out;
    } ok[] = {
        { "fbclid", "fbclid" },
        { "utm_*", "utm_*" },
        { "x", "x" },
        { "Ab", "Ab" },            /* names are case-sensitive */
        { "%75tm_*", "utm_*" },    /* unreserved escapes decoded */
        { "%7e%2D%2e%5F", "~-._" },
        { "a%5b%5d", "a%5B%5D" },  /* others kept, hex uppercase */
        { "a%3Db", "a%3Db" },      /* an escaped '=' is part of a name */
        { "a%2a", "a%2A" },        /* a literal '*', not a prefix */
        { "a%2A*", "a%2A*" },
        { "a%00", "a%00" },
        { "filter[x]", "filter[x]" },
        { "a+b", "a+b" },
        { "a?b/c:d@e", "a?b/c:d@e" },
    };
    const char *why;
    char *out;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        out = NULL;
        assert_int_equal(conf_query_name_parse(ok[i].in, &out, &why), 0);
        assert_string_equal(out, ok[i].out);
        free(out);
    }
}

static void
test_query_name_invalid(void **state)
{
    static const char esc[] =
        "'=', '&' and '#' must be escaped (%3D, %26, %23)";
    static const char star[] =
        "'*' is allowed only at the end (%2A for a literal '*')";
    static const char pct[] =
        "'%' must start an escape of two hex digits (%25 for '%')";
    static const char ws[] = "spaces, control characters and non-ASCII bytes "
                             "must be escaped (%20 for a space)";
    static const struct {
        const char *in, *why;
    } bad[] = {
        { "", "a parameter name must be 1 to 128 bytes" },
        { "*", "'*' alone matches every parameter (use query: drop)" },
        { "a=b", esc },  { "a&b", esc },  { "#a", esc },  { "a=", esc },
        { "a*b", star }, { "**", star },  { "*a", star },
        { "%", pct },    { "a%4", pct },  { "%zz", pct }, { "%4g", pct },
        { "a b", ws },   { " a", ws },    { "a\t", ws },  { "\x7f", ws },
        { "caf\xc3\xa9", ws },
    };
    char long_name[130];
    const char *why;
    char *out = NULL;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        why = NULL;
        assert_int_equal(conf_query_name_parse(bad[i].in, &out, &why),
                         -EINVAL);
        assert_string_equal(why, bad[i].why);
    }
    assert_null(out);
    memset(long_name, 'a', 128);
    long_name[128] = '\0';
    assert_int_equal(conf_query_name_parse(long_name, &out, &why), 0);
    free(out);
    long_name[127] = '*';
    assert_int_equal(conf_query_name_parse(long_name, &out, &why), 0);
    free(out);
    long_name[128] = 'a';
    long_name[129] = '\0';
    assert_int_equal(conf_query_name_parse(long_name, &out, &why), -EINVAL);
    assert_string_equal(why, "a parameter name must be 1 to 128 bytes");
}

static void
test_uint(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_int_equal(conf_uint_parse("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(conf_uint_parse("", &v), -EINVAL);
    assert_int_equal(conf_uint_parse("4 2", &v), -EINVAL);
    assert_int_equal(conf_uint_parse("-1", &v), -EINVAL);
    assert_int_equal(conf_uint_parse("99999999999999999999", &v), -ERANGE);
}

static void
test_hint(void **state)
{
    static const char *const keys[] = { "name", "hosts", "origin",
                                        "trust_forwarded" };

    (void)state;
    assert_string_equal(conf_hint_pick("origns", keys, 4), "origin");
    assert_string_equal(conf_hint_pick("hsots", keys, 4), "hosts");
    assert_string_equal(conf_hint_pick("nmae", keys, 4), "name");
    assert_string_equal(conf_hint_pick("trust_forward", keys, 4),
                        "trust_forwarded");
    assert_string_equal(conf_hint_pick("Hosts", keys, 4), "hosts");
    assert_null(conf_hint_pick("colour", keys, 4));
    assert_null(conf_hint_pick("x", keys, 4));
    assert_null(conf_hint_pick("", keys, 4));
    assert_null(conf_hint_pick("a_very_long_key_name_that_goes_on_and_on",
                               keys, 4));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_valid),
        cmocka_unit_test(test_size_invalid),
        cmocka_unit_test(test_duration_valid),
        cmocka_unit_test(test_duration_invalid),
        cmocka_unit_test(test_addr_ipv4),
        cmocka_unit_test(test_addr_localhost_and_ipv6),
        cmocka_unit_test(test_addr_invalid),
        cmocka_unit_test(test_host_patterns_valid),
        cmocka_unit_test(test_host_patterns_invalid),
        cmocka_unit_test(test_host_too_long),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_field_name),
        cmocka_unit_test(test_query_name_valid),
        cmocka_unit_test(test_query_name_invalid),
        cmocka_unit_test(test_uint),
        cmocka_unit_test(test_hint),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
