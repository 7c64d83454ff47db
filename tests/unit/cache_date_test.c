/*
 * HTTP-date: the three forms of RFC 9110 §5.6.7 (with its own example
 * instant), calendar and syntax rejections, the two-digit year window of
 * RFC 850 dates, and IMF-fixdate formatting round trips.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/policy.h"

#define RFC_T 784111777LL     /* Sun, 06 Nov 1994 08:49:37 GMT */
#define NOW_2026 1780000000LL /* 2026-05-28 */

static int
parse(const char *s, int64_t *t)
{
    return cache_date_parse(s, strlen(s), NOW_2026, t);
}

static bool
valid(const char *s)
{
    int64_t t;

    return parse(s, &t) == 0;
}

static void
test_rfc_examples_all_forms(void **state)
{
    int64_t t = 0;

    (void)state;
    assert_int_equal(parse("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
    assert_int_equal(t, RFC_T);
    t = 0;
    assert_int_equal(parse("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
    assert_int_equal(t, RFC_T);
    t = 0;
    assert_int_equal(parse("Sun Nov  6 08:49:37 1994", &t), 0);
    assert_int_equal(t, RFC_T);
}

static void
test_epoch_and_other_dates(void **state)
{
    int64_t t = -1;

    (void)state;
    assert_int_equal(parse("Thu, 01 Jan 1970 00:00:00 GMT", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(parse("Tue, 29 Feb 2000 00:00:00 GMT", &t), 0);
    assert_int_equal(t, 951782400);
    assert_int_equal(parse("Wed, 31 Dec 1969 23:59:59 GMT", &t), 0);
    assert_int_equal(t, -1);
    assert_int_equal(parse("Sun Nov 16 08:49:37 1994", &t), 0);
    assert_int_equal(t, RFC_T + 10 * 86400);
    assert_int_equal(parse("Sun Nov 06 08:49:37 1994", &t), 0);
    assert_int_equal(t, RFC_T);
    assert_int_equal(parse("Wednesday, 09-Nov-94 08:49:37 GMT", &t), 0);
    assert_int_equal(t, RFC_T + 3 * 86400);
}

static void
test_leap_second_and_leap_years(void **state)
{
    int64_t t;

    (void)state;
    assert_int_equal(parse("Wed, 31 Dec 2025 23:59:60 GMT", &t), 0);
    assert_int_equal(t, 1767225600); /* 2026-01-01T00:00:00 */
    assert_true(valid("Thu, 29 Feb 2024 12:00:00 GMT"));
    assert_false(valid("Wed, 29 Feb 2023 12:00:00 GMT"));
    assert_false(valid("Fri, 29 Feb 1900 12:00:00 GMT"));
    assert_false(valid("Fri, 30 Feb 2024 12:00:00 GMT"));
    assert_false(valid("Thu, 31 Apr 2024 12:00:00 GMT"));
    assert_false(valid("Thu, 00 Apr 2024 12:00:00 GMT"));
}

static void
test_rejects_anything_else(void **state)
{
    (void)state;
    assert_false(valid(""));
    assert_false(valid("0"));
    assert_false(valid("-1"));
    assert_false(valid("784111777"));
    assert_false(valid("1994-11-06T08:49:37Z"));
    assert_false(valid("Sun, 06 Nov 1994 08:49:37 UTC"));
    assert_false(valid("Sun, 06 Nov 1994 08:49:37 +0000"));
    assert_false(valid("sun, 06 Nov 1994 08:49:37 GMT"));
    assert_false(valid("Sun, 06 nov 1994 08:49:37 GMT"));
    assert_false(valid("Sun, 06 Nov 1994 08:49:37 gmt"));
    assert_false(valid("Sun, 6 Nov 1994 08:49:37 GMT"));
    assert_false(valid("Sun 06 Nov 1994 08:49:37 GMT"));
    assert_false(valid(" Sun, 06 Nov 1994 08:49:37 GMT"));
    assert_false(valid("Sun, 06 Nov 1994 08:49:37 GMT "));
    assert_false(valid("Sun, 06 Nov 1994 24:00:00 GMT"));
    assert_false(valid("Sun, 06 Nov 1994 08:60:00 GMT"));
    assert_false(valid("Sun, 06 Nov 1994 08:49:61 GMT"));
    assert_false(valid("Sun, 06 Nov 1994 8:49:37 GMT"));
    assert_false(valid("Sun, 06 Foo 1994 08:49:37 GMT"));
    assert_false(valid("Xyz, 06 Nov 1994 08:49:37 GMT"));
    assert_false(valid("Sun, 06 Nov 94 08:49:37 GMT"));
    assert_false(valid("Sunday, 06-Nov-1994 08:49:37 GMT"));
    assert_false(valid("Sun, 06-Nov-94 08:49:37 GMT"));
    assert_false(valid("Sunday, 06 Nov 94 08:49:37 GMT"));
    assert_false(valid("Sun Nov 6 08:49:37 1994"));
    assert_false(valid("Sun Nov  6 08:49:37 94"));
    assert_false(valid("Sun Nov  6 08:49:37 1994 GMT"));
}

static void
test_weekday_is_not_cross_checked(void **state)
{
    int64_t t;

    (void)state;
    /* syntactically valid; RFC 9110 does not ask recipients to check */
    assert_int_equal(parse("Mon, 06 Nov 1994 08:49:37 GMT", &t), 0);
    assert_int_equal(t, RFC_T);
}

static void
test_rfc850_two_digit_year_window(void **state)
{
    int64_t t;

    (void)state;
    /* now is 2026: up to 50 years ahead stays ahead, more is the past */
    assert_int_equal(parse("Wednesday, 01-Jan-76 00:00:00 GMT", &t), 0);
    assert_int_equal(t, 3345062400LL); /* 2076 */
    assert_int_equal(parse("Saturday, 01-Jan-77 00:00:00 GMT", &t), 0);
    assert_int_equal(t, 220924800); /* 1977 */
    /* now is 1990: "30" is 2030, 40 years ahead */
    assert_int_equal(cache_date_parse("Tuesday, 01-Jan-30 00:00:00 GMT", 31,
                                      631152000, &t), 0);
    assert_int_equal(t, 1893456000); /* 2030 */
}

static void
test_format_imf_fixdate(void **state)
{
    char buf[CACHE_DATE_LEN + 1];

    (void)state;
    cache_date_format(RFC_T, buf);
    assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    cache_date_format(0, buf);
    assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    cache_date_format(951782400, buf);
    assert_string_equal(buf, "Tue, 29 Feb 2000 00:00:00 GMT");
    cache_date_format(-1, buf);
    assert_string_equal(buf, "Wed, 31 Dec 1969 23:59:59 GMT");
    cache_date_format(INT64_MAX, buf);
    assert_string_equal(buf, "Fri, 31 Dec 9999 23:59:59 GMT");
    cache_date_format(INT64_MIN, buf);
    assert_string_equal(buf, "Sat, 01 Jan 0000 00:00:00 GMT");
}

static void
test_format_parse_round_trip(void **state)
{
    char buf[CACHE_DATE_LEN + 1];
    int64_t t, back;
    unsigned bad = 0;

    (void)state;
    /* every weekday, month and leap pattern over four centuries */
    for (t = -5000000000LL; t < 20000000000LL; t += 86399 * 7 + 3601) {
        cache_date_format(t, buf);
        if (cache_date_parse(buf, CACHE_DATE_LEN, NOW_2026, &back) != 0 ||
            back != t)
            bad++;
    }
    assert_int_equal(bad, 0);
}

/* Random near-dates in exact-size heap buffers (ASan catches overreads);
 * whatever parses must format back to a date that parses the same. */
static void
test_garbage_never_overreads(void **state)
{
    static const char alpha[] = "SunMoWedFriNovJan, -:0123456789GMT";
    static const size_t lens[] = { 0, 1, 23, 24, 25, 29, 30, 31, 32, 33, 34 };
    uint64_t seed = 99;
    unsigned bad = 0;

    (void)state;
    for (unsigned i = 0; i < 50000; i++) {
        size_t len = lens[i % (sizeof lens / sizeof lens[0])];
        char *buf = malloc(len ? len : 1), out[CACHE_DATE_LEN + 1];
        int64_t t, back;

        assert_non_null(buf);
        for (size_t j = 0; j < len; j++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[j] = alpha[(seed >> 33) % (sizeof alpha - 1)];
        }
        if (cache_date_parse(buf, len, NOW_2026, &t) == 0) {
            cache_date_format(t, out);
            bad += parse(out, &back) != 0 || back != t;
        }
        free(buf);
    }
    assert_int_equal(bad, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples_all_forms),
        cmocka_unit_test(test_epoch_and_other_dates),
        cmocka_unit_test(test_leap_second_and_leap_years),
        cmocka_unit_test(test_rejects_anything_else),
        cmocka_unit_test(test_weekday_is_not_cross_checked),
        cmocka_unit_test(test_rfc850_two_digit_year_window),
        cmocka_unit_test(test_format_imf_fixdate),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_garbage_never_overreads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
