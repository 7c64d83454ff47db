/*
 * HTTP-date (RFC 9110 §5.6.7): strict parsing of the three forms a
 * recipient must accept (IMF-fixdate, obsolete RFC 850, asctime) and
 * formatting of IMF-fixdate. Anything else is invalid: callers decide
 * what invalid means (an invalid Expires is "already expired").
 */
#include "config.h"

#include <errno.h>

#include "cache/policy_int.h"

#define SECS_PER_DAY 86400

static const char *const wday[7] = { "Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat" };
static const char *const wday_long[7] = { "Sunday",   "Monday", "Tuesday",
                                          "Wednesday", "Thursday",
                                          "Friday",   "Saturday" };
static const char *const month[12] = { "Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec" };

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool
leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(int64_t y, unsigned m)
{
    static const unsigned days[12] = { 31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31 };

    return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* n digits at p into *v; false when any is not a digit. */
static bool
digits(const char *p, unsigned n, unsigned *v)
{
    *v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!pol_digit(p[i]))
            return false;
        *v = *v * 10 + (unsigned)(p[i] - '0');
    }
    return true;
}

/* Index (1..12) of the case-sensitive month name at p, 0 when none. */
static unsigned
month_at(const char *p)
{
    for (unsigned i = 0; i < 12; i++) {
        if (memcmp(p, month[i], 3) == 0)
            return i + 1;
    }
    return 0;
}

static bool
wday_at(const char *p)
{
    for (unsigned i = 0; i < 7; i++) {
        if (memcmp(p, wday[i], 3) == 0)
            return true;
    }
    return false;
}

/* "HH:MM:SS", second 60 allowed (leap second); seconds of the day. */
static bool
time_at(const char *p, int64_t *secs)
{
    unsigned h, mi, s;

    if (p[2] != ':' || p[5] != ':' || !digits(p, 2, &h) ||
        !digits(p + 3, 2, &mi) || !digits(p + 6, 2, &s))
        return false;
    if (h > 23 || mi > 59 || s > 60)
        return false;
    *secs = (int64_t)h * 3600 + mi * 60 + s;
    return true;
}

static int
assemble(int64_t y, unsigned m, unsigned d, int64_t secs, int64_t *t)
{
    if (m == 0 || d == 0 || d > month_days(y, m))
        return -EINVAL;
    *t = days_from_civil(y, m, d) * SECS_PER_DAY + secs;
    return 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
static int
imf_fixdate(const char *s, int64_t *t)
{
    unsigned d, y;
    int64_t secs;

    if (!wday_at(s) || memcmp(s + 3, ", ", 2) != 0 || s[7] != ' ' ||
        s[11] != ' ' || s[16] != ' ' || memcmp(s + 25, " GMT", 4) != 0)
        return -EINVAL;
    if (!digits(s + 5, 2, &d) || !digits(s + 12, 4, &y) ||
        !time_at(s + 17, &secs))
        return -EINVAL;
    return assemble(y, month_at(s + 8), d, secs, t);
}

/* asctime: "Sun Nov  6 08:49:37 1994" (day is 2DIGIT or SP DIGIT). */
static int
asctime_date(const char *s, int64_t *t)
{
    unsigned d, y;
    int64_t secs;

    if (!wday_at(s) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' ||
        s[19] != ' ')
        return -EINVAL;
    if (s[8] == ' ' ? !digits(s + 9, 1, &d) : !digits(s + 8, 2, &d))
        return -EINVAL;
    if (!digits(s + 20, 4, &y) || !time_at(s + 11, &secs))
        return -EINVAL;
    return assemble(y, month_at(s + 4), d, secs, t);
}

/* A two-digit year means the year with those digits within 50 years of
 * now: more than 50 years ahead is the past century (RFC 9110 §5.6.7). */
static int64_t
full_year(unsigned yy, int64_t now_s)
{
    int64_t ny, y;
    unsigned m, d;

    civil_from_days(pol_floor_div(now_s, SECS_PER_DAY), &ny, &m, &d);
    y = ny - ny % 100 + yy;
    if (y > ny + 50)
        y -= 100;
    else if (y + 100 <= ny + 50)
        y += 100;
    return y;
}

/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT". */
static int
rfc850_date(const char *s, size_t len, int64_t now_s, int64_t *t)
{
    size_t wl = 0;
    unsigned d, yy;
    int64_t secs;

    for (unsigned i = 0; i < 7 && wl == 0; i++) {
        size_t l = strlen(wday_long[i]);

        if (len == l + 24 && memcmp(s, wday_long[i], l) == 0)
            wl = l;
    }
    if (wl == 0)
        return -EINVAL;
    s += wl;
    if (memcmp(s, ", ", 2) != 0 || s[4] != '-' || s[8] != '-' ||
        s[11] != ' ' || memcmp(s + 20, " GMT", 4) != 0)
        return -EINVAL;
    if (!digits(s + 2, 2, &d) || !digits(s + 9, 2, &yy) ||
        !time_at(s + 12, &secs))
        return -EINVAL;
    return assemble(full_year(yy, now_s), month_at(s + 5), d, secs, t);
}

int
cache_date_parse(const char *s, size_t len, int64_t now_s, int64_t *t_s)
{
    if (s == NULL)
        return -EINVAL;
    if (len == CACHE_DATE_LEN)
        return imf_fixdate(s, t_s);
    if (len == 24)
        return asctime_date(s, t_s);
    if (len >= 30 && len <= 33)
        return rfc850_date(s, len, now_s, t_s);
    return -EINVAL;
}

void
cache_date_format(int64_t t_s, char out[CACHE_DATE_LEN + 1])
{
    static const int64_t lo = -62167219200LL;  /* 0000-01-01T00:00:00 */
    static const int64_t hi = 253402300799LL;  /* 9999-12-31T23:59:59 */
    int64_t days, secs, y;
    unsigned m, d, wd;

    t_s = t_s < lo ? lo : t_s > hi ? hi : t_s;
    days = pol_floor_div(t_s, SECS_PER_DAY);
    secs = t_s - days * SECS_PER_DAY;
    civil_from_days(days, &y, &m, &d);
    wd = (unsigned)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    out[0] = wday[wd][0];
    out[1] = wday[wd][1];
    out[2] = wday[wd][2];
    memcpy(out + 3, ", ", 2);
    out[5] = (char)('0' + d / 10);
    out[6] = (char)('0' + d % 10);
    out[7] = ' ';
    memcpy(out + 8, month[m - 1], 3);
    out[11] = ' ';
    for (int i = 3; i >= 0; i--, y /= 10)
        out[12 + i] = (char)('0' + y % 10);
    out[16] = ' ';
    out[17] = (char)('0' + secs / 36000);
    out[18] = (char)('0' + secs / 3600 % 10);
    out[19] = ':';
    out[20] = (char)('0' + secs % 3600 / 600);
    out[21] = (char)('0' + secs % 600 / 60);
    out[22] = ':';
    out[23] = (char)('0' + secs % 60 / 10);
    out[24] = (char)('0' + secs % 10);
    memcpy(out + 25, " GMT", 5);
}
