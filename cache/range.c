/*
 * Range requests served from a stored body (RFC 9110 §14, §13.1.5 If-Range,
 * §15.3.7 206, §15.5.17 416): parsing "bytes=" range sets into satisfiable,
 * coalesced ranges, and the multipart/byteranges framing. A Range that
 * does not parse, uses another unit or has too many parts is ignored
 * (200 with the whole body), as §14.2 allows.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "cache/policy_int.h"

/* 1*DIGIT, saturating (a huge first-pos is simply past the end). */
static bool
pos_parse(const char *p, size_t len, uint64_t *v)
{
    *v = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        uint64_t d = (uint64_t)(p[i] - '0');

        if (!pol_digit(p[i]))
            return false;
        *v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
    }
    return true;
}

/*
 * One range-spec: int-range or suffix-range. Returns -1 when malformed,
 * 0 when unsatisfiable for body_len, 1 with *r set.
 */
static int
spec_parse(const char *e, size_t len, uint64_t body_len, struct cache_range *r)
{
    const char *dash = memchr(e, '-', len);
    size_t fl, ll;
    uint64_t first, last;

    if (dash == NULL)
        return -1;
    fl = (size_t)(dash - e);
    ll = len - fl - 1;
    if (fl == 0) { /* suffix-range */
        if (!pos_parse(dash + 1, ll, &last))
            return -1;
        if (last == 0 || body_len == 0)
            return 0;
        r->start = last < body_len ? body_len - last : 0;
        r->end = body_len - 1;
        return 1;
    }
    if (!pos_parse(e, fl, &first))
        return -1;
    if (ll > 0 && (!pos_parse(dash + 1, ll, &last) || last < first))
        return -1;
    if (first >= body_len)
        return 0;
    r->start = first;
    r->end = ll > 0 && last < body_len - 1 ? last : body_len - 1;
    return 1;
}

static bool
touch(const struct cache_range *a, const struct cache_range *b)
{
    return a->start <= b->end + 1 && b->start <= a->end + 1;
}

/* Merges overlapping or adjacent ranges into the earlier one (§14.2
 * allows coalescing); other ranges keep the order they were asked in. */
static unsigned
coalesce(struct cache_range *r, unsigned n)
{
    bool changed = true;

    while (changed) {
        changed = false;
        for (unsigned i = 0; i < n; i++) {
            for (unsigned j = i + 1; j < n; j++) {
                if (!touch(&r[i], &r[j]))
                    continue;
                r[i].start = r[i].start < r[j].start ? r[i].start : r[j].start;
                r[i].end = r[i].end > r[j].end ? r[i].end : r[j].end;
                memmove(&r[j], &r[j + 1], (n - j - 1) * sizeof *r);
                n--;
                j--;
                changed = true;
            }
        }
    }
    return n;
}

static enum cache_range_result
range_set(const char *v, size_t len, uint64_t body_len,
          struct cache_range *r, unsigned *n)
{
    const char *p, *e;
    size_t elen;
    unsigned specs = 0, k = 0;

    if (len < 7 || !pol_ieq(v, 5, "bytes") || v[5] != '=')
        return CACHE_RANGE_NONE;
    p = v + 6;
    while (pol_list_next(&p, v + len, &e, &elen)) {
        struct cache_range one;
        int rc;

        if (++specs > CACHE_RANGE_MAX)
            return CACHE_RANGE_NONE;
        rc = spec_parse(e, elen, body_len, &one);
        if (rc < 0)
            return CACHE_RANGE_NONE;
        if (rc > 0)
            r[k++] = one;
    }
    if (specs == 0)
        return CACHE_RANGE_NONE;
    if (k == 0)
        return CACHE_RANGE_UNSATISFIABLE;
    *n = coalesce(r, k);
    return CACHE_RANGE_PARTIAL;
}

/*
 * If-Range (§13.1.5): a strong ETag equal to the stored one, or a date
 * equal to a Last-Modified that is strong, i.e. at least 60 s before the
 * stored Date (§8.8.2.2, a cache comparing against its entry).
 */
static bool
if_range_ok(const struct h1_field *fl, const struct cache_validators *v,
            int64_t now_ms)
{
    struct pol_etag theirs, mine;
    int64_t t;

    if ((fl->value_len > 0 && fl->value[0] == '"') ||
        (fl->value_len > 1 && fl->value[0] == 'W' && fl->value[1] == '/')) {
        return cache_etag_parse(fl->value, fl->value_len, &theirs) &&
               v->etag != NULL &&
               cache_etag_parse(v->etag, v->etag_len, &mine) &&
               cache_etag_match(&theirs, &mine, true);
    }
    if (pol_date(fl, pol_floor_div(now_ms, 1000), &t) != 0)
        return false;
    return v->last_modified_s >= 0 && t == v->last_modified_s &&
           v->date_s - v->last_modified_s >= 60;
}

enum cache_range_result
cache_range_eval(struct cache_range r[CACHE_RANGE_MAX], unsigned *n,
                 enum h1_method method, const struct h1_field *f, uint32_t nf,
                 const struct cache_validators *v, uint64_t body_len,
                 int64_t now_ms)
{
    const struct h1_field *rng = pol_field_find(f, nf, "range");
    const struct h1_field *ir = pol_field_find(f, nf, "if-range");

    *n = 0;
    if (method != H1_M_GET || body_len == CACHE_LEN_UNKNOWN || rng == NULL ||
        pol_field_count(f, nf, "range") != 1)
        return CACHE_RANGE_NONE;
    if (ir != NULL && (pol_field_count(f, nf, "if-range") != 1 ||
                       !if_range_ok(ir, v, now_ms)))
        return CACHE_RANGE_NONE;
    return range_set(rng->value, rng->value_len, body_len, r, n);
}

bool
cache_range_applies(int status)
{
    return status == 200;
}

static int
fmt_result(int w, size_t cap)
{
    return (w < 0 || (size_t)w >= cap) ? -ENOSPC : w;
}

int
cache_range_content_range(char *out, size_t cap, const struct cache_range *r,
                          uint64_t body_len)
{
    if (r == NULL)
        return fmt_result(snprintf(out, cap, "bytes */%" PRIu64, body_len),
                          cap);
    return fmt_result(snprintf(out, cap, "bytes %" PRIu64 "-%" PRIu64
                               "/%" PRIu64, r->start, r->end, body_len),
                      cap);
}

static uint64_t
splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void
cache_range_boundary(char out[CACHE_BOUNDARY_LEN + 1], uint64_t seed)
{
    static const char hex[] = "0123456789abcdef";

    for (unsigned i = 0; i < CACHE_BOUNDARY_LEN; i += 16) {
        uint64_t x = splitmix64(&seed);

        for (unsigned j = 0; j < 16; j++, x >>= 4)
            out[i + j] = hex[x & 15];
    }
    out[CACHE_BOUNDARY_LEN] = '\0';
}

int
cache_range_part_head(char *out, size_t cap, const char *boundary,
                      const char *ctype, size_t ctype_len,
                      const struct cache_range *r, uint64_t body_len)
{
    int w;

    if (ctype != NULL)
        w = snprintf(out, cap, "\r\n--%s\r\nContent-Type: %.*s\r\n"
                     "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64
                     "\r\n\r\n", boundary, (int)ctype_len, ctype, r->start,
                     r->end, body_len);
    else
        w = snprintf(out, cap, "\r\n--%s\r\nContent-Range: bytes %" PRIu64
                     "-%" PRIu64 "/%" PRIu64 "\r\n\r\n", boundary, r->start,
                     r->end, body_len);
    return fmt_result(w, cap);
}

int
cache_range_multipart_tail(char *out, size_t cap, const char *boundary)
{
    return fmt_result(snprintf(out, cap, "\r\n--%s--\r\n", boundary), cap);
}

static uint64_t
digits(uint64_t v)
{
    uint64_t d = 1;

    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

uint64_t
cache_range_multipart_len(const struct cache_range *r, unsigned n,
                          const char *boundary, size_t ctype_len,
                          bool has_ctype, uint64_t body_len)
{
    uint64_t blen = strlen(boundary), total = blen + 8; /* tail */

    for (unsigned i = 0; i < n; i++) {
        /* CRLF "--" B CRLF [ "Content-Type: " T CRLF ]
         * "Content-Range: bytes " a "-" b "/" len CRLF CRLF */
        total += 2 + 2 + blen + 2;
        if (has_ctype)
            total += 14 + ctype_len + 2;
        total += 21 + digits(r[i].start) + 1 + digits(r[i].end) + 1 +
                 digits(body_len) + 4;
        total += r[i].end - r[i].start + 1;
    }
    return total;
}
