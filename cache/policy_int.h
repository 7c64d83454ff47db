/*
 * Private helpers of the caching policy files (http_date.c, directives.c,
 * fresh.c, serve.c, cond.c, range.c): ASCII classes, case-insensitive
 * names, field lookup, list walking, delta-seconds and entity-tags. No
 * link dependency on edge: only the h1 types are shared.
 */
#ifndef CACHE_POLICY_INT_H
#define CACHE_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cache/policy.h"

/* NULL stands for CACHE_SITE_POLICY_RFC. */
static inline const struct cache_site_policy *
pol_site(const struct cache_site_policy *sp)
{
    static const struct cache_site_policy rfc;

    return sp != NULL ? sp : &rfc;
}

static inline bool
pol_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline bool
pol_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* tchar (RFC 9110 §5.6.2). */
static inline bool
pol_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || pol_digit(c))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static inline char
pol_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* s[0..n) equals the lower-case literal lc, ignoring case. */
static inline bool
pol_ieq(const char *s, size_t n, const char *lc)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (lc[i] == '\0' || pol_lower(s[i]) != lc[i])
            return false;
    }
    return lc[i] == '\0';
}

/* Two names equal ignoring case. */
static inline bool
pol_ieq2(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        if (pol_lower(a[i]) != pol_lower(b[i]))
            return false;
    }
    return true;
}

/* First field named lc (lower-case), starting at index *i; NULL at end. */
static inline const struct h1_field *
pol_field_next(const struct h1_field *f, uint32_t n, const char *lc,
               uint32_t *i)
{
    for (; *i < n; (*i)++) {
        if (pol_ieq(f[*i].name, f[*i].name_len, lc))
            return &f[(*i)++];
    }
    return NULL;
}

static inline const struct h1_field *
pol_field_find(const struct h1_field *f, uint32_t n, const char *lc)
{
    uint32_t i = 0;

    return pol_field_next(f, n, lc, &i);
}

static inline uint32_t
pol_field_count(const struct h1_field *f, uint32_t n, const char *lc)
{
    uint32_t c = 0;

    for (uint32_t i = 0; i < n; i++)
        c += pol_ieq(f[i].name, f[i].name_len, lc);
    return c;
}

/* Trims OWS on both ends of [*p, *p + *len). */
static inline void
pol_trim(const char **p, size_t *len)
{
    while (*len > 0 && pol_ows(**p)) {
        (*p)++;
        (*len)--;
    }
    while (*len > 0 && pol_ows((*p)[*len - 1]))
        (*len)--;
}

/*
 * Next element of a comma list in [*p, end) that is not inside a
 * quoted-string; OWS trimmed, empty elements skipped. False at the end.
 */
static inline bool
pol_list_next(const char **p, const char *end, const char **e, size_t *elen)
{
    while (*p < end) {
        const char *s = *p, *q = s;
        bool quoted = false;

        for (; q < end && (quoted || *q != ','); q++) {
            if (quoted && *q == '\\' && q + 1 < end)
                q++;
            else if (*q == '"')
                quoted = !quoted;
        }
        *p = q < end ? q + 1 : end;
        *e = s;
        *elen = (size_t)(q - s);
        pol_trim(e, elen);
        if (*elen > 0)
            return true;
    }
    return false;
}

/* p[0..len) is exactly one quoted-string (RFC 9110 §5.6.4). */
static inline bool
pol_quoted_ok(const char *p, size_t len)
{
    size_t i = 1;

    if (len < 2 || p[0] != '"' || p[len - 1] != '"')
        return false;
    while (i < len - 1) {
        unsigned char c = (unsigned char)p[i];

        if (c == '\\') {
            if (i + 1 >= len - 1)
                return false;
            i += 2;
            continue;
        }
        if (c == '"' || (c < 0x20 && c != '\t') || c == 0x7f)
            return false;
        i++;
    }
    return true;
}

/* True when the comma list v[0..len) holds name (any case). */
static inline bool
pol_list_has(const char *v, size_t len, const char *name, size_t name_len)
{
    const char *p = v, *e;
    size_t elen;

    while (pol_list_next(&p, v + len, &e, &elen)) {
        if (pol_ieq2(e, elen, name, name_len))
            return true;
    }
    return false;
}

/*
 * delta-seconds = 1*DIGIT (RFC 9111 §1.2.2): 0 and *out, saturating at
 * CACHE_DELTA_MAX, or -1 for anything but digits.
 */
static inline int
pol_delta(const char *p, size_t len, int64_t *out)
{
    int64_t v = 0;

    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!pol_digit(p[i]))
            return -1;
        if (v < CACHE_DELTA_MAX)
            v = v * 10 + (p[i] - '0');
    }
    *out = v < CACHE_DELTA_MAX ? v : CACHE_DELTA_MAX;
    return 0;
}

/* Floor division for possibly negative milliseconds. */
static inline int64_t
pol_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* One entity-tag (RFC 9110 §8.8.3): opaque is the part between quotes. */
struct pol_etag {
    const char *opaque;
    size_t len;
    bool weak;
};

/* Parses exactly one entity-tag from e[0..len); false when malformed. */
bool cache_etag_parse(const char *e, size_t len, struct pol_etag *t);
/* Strong or weak comparison (RFC 9110 §8.8.3.2). */
bool cache_etag_match(const struct pol_etag *a, const struct pol_etag *b,
                      bool strong);

/* Parses a whole field value as an HTTP-date. */
static inline int
pol_date(const struct h1_field *fl, int64_t now_s, int64_t *t)
{
    return cache_date_parse(fl->value, fl->value_len, now_s, t);
}

/* Fills *m from fields and cc without the storability verdict. */
void cache_meta_fill(struct cache_meta *m, int status,
                     const struct h1_field *f, uint32_t n,
                     const struct cache_cc *cc,
                     const struct cache_site_policy *sp, int64_t request_ms,
                     int64_t response_ms);

/* Never stored nor updated (§3.1): hop-by-hop, proxy, Age, Set-Cookie. */
bool cache_field_unstorable(const char *name, size_t len);

#endif
