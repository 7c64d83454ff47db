/*
 * Query parameters of a content request (see README: "strata-origin").
 * Values are percent-decoded ('+' stays a plus: MIME types contain it).
 * Unknown parameters are ignored; a known one with a bad value fails the
 * request with 400 and names the parameter. A parameter given twice: the
 * last wins, except hdr= which accumulates.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "tools/origin/origin_int.h"

#define MAX_DELAY_MS 3600000u
#define MAX_EXPIRES_S (100ll * 366 * 86400)

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes n bytes of src into dst (room for n bytes); returns the length.
 * A '%' not followed by two hex digits is kept as is. */
size_t
origin_pct_decode(char *dst, const char *src, size_t n)
{
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;

        if (src[i] == '%' && i + 2 < n && (hi = hexval(src[i + 1])) >= 0 &&
            (lo = hexval(src[i + 2])) >= 0) {
            dst[j++] = (char)(hi << 4 | lo);
            i += 2;
            continue;
        }
        dst[j++] = src[i];
    }
    return j;
}

/* "N", "Nk", "Nm", "Ng" (KiB, MiB, GiB); at most ORIGIN_MAX_SIZE. */
int
origin_parse_size(const char *s, uint64_t *out)
{
    uint64_t v = 0, mul = 1;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > ORIGIN_MAX_SIZE)
            return -ERANGE;
    }
    if (*p == 'k' || *p == 'K')
        mul = 1ull << 10;
    else if (*p == 'm' || *p == 'M')
        mul = 1ull << 20;
    else if (*p == 'g' || *p == 'G')
        mul = 1ull << 30;
    if (mul > 1)
        p++;
    if (*p != '\0' || v > ORIGIN_MAX_SIZE / mul)
        return -EINVAL;
    *out = v * mul;
    return 0;
}

static int
parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int
parse_bool(const char *s, bool *out)
{
    if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
        return -EINVAL;
    *out = s[0] == '1';
    return 0;
}

/* Header values: visible ASCII, obs-text, space and tab only. */
static bool
field_value_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static bool
token_ok(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
            return false;
    }
    return true;
}

static int
parse_fail(struct origin_params *p, const char *v)
{
    unsigned st;

    if (strcmp(v, "reset") == 0)
        p->fail = ORIGIN_FAIL_RESET;
    else if (strcmp(v, "hang") == 0)
        p->fail = ORIGIN_FAIL_HANG;
    else if (strcmp(v, "partial") == 0)
        p->fail = ORIGIN_FAIL_PARTIAL;
    else if (parse_uint(v, 599, &st) == 0 && st >= 200)
        p->fail = ORIGIN_FAIL_STATUS, p->fail_status = (int)st;
    else
        return -EINVAL;
    return 0;
}

static int
parse_hdr(struct origin_params *p, char *v)
{
    char *colon = strchr(v, ':');
    char *val;

    if (colon == NULL || p->nhdr == ORIGIN_MAX_HDR_PARAMS)
        return -EINVAL;
    *colon = '\0';
    val = colon + 1;
    val += strspn(val, " \t");
    if (!token_ok(v) || !field_value_ok(val))
        return -EINVAL;
    p->hdr_name[p->nhdr] = v;
    p->hdr_value[p->nhdr] = val;
    p->nhdr++;
    return 0;
}

static int
parse_expires(struct origin_params *p, const char *v)
{
    char *end;
    long long s;

    errno = 0;
    s = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || s > MAX_EXPIRES_S ||
        s < -MAX_EXPIRES_S)
        return -EINVAL;
    p->has_expires = true;
    p->expires_s = s;
    return 0;
}

static int
parse_etag(struct origin_params *p, const char *v)
{
    if (strcmp(v, "0") == 0)
        p->etag = ORIGIN_ETAG_NONE;
    else if (strcmp(v, "1") == 0)
        p->etag = ORIGIN_ETAG_STRONG;
    else if (strcmp(v, "w") == 0 || strcmp(v, "W") == 0)
        p->etag = ORIGIN_ETAG_WEAK;
    else
        return -EINVAL;
    return 0;
}

static int
apply_header_value(struct origin_params *p, const char *k, char *v)
{
    if (!field_value_ok(v))
        return -EINVAL;
    if (strcmp(k, "cc") == 0)
        p->cc = v;
    else if (strcmp(k, "type") == 0)
        p->type = v;
    else if (strcmp(k, "vary") == 0)
        p->vary = v;
    else {
        for (char *c = v; *c != '\0'; c++)
            if (*c == ',')
                *c = ' ';
        p->tags = v;
    }
    return 0;
}

static int
apply(struct origin_params *p, const char *k, char *v)
{
    unsigned u;

    if (strcmp(k, "size") == 0)
        return origin_parse_size(v, &p->size);
    if (!strcmp(k, "cc") || !strcmp(k, "type") || !strcmp(k, "vary") ||
        !strcmp(k, "tags"))
        return apply_header_value(p, k, v);
    if (strcmp(k, "status") == 0) {
        if (parse_uint(v, 599, &u) != 0 || u < 200)
            return -EINVAL;
        p->status = (int)u;
        return 0;
    }
    if (strcmp(k, "delay_ms") == 0)
        return parse_uint(v, MAX_DELAY_MS, &p->delay_ms);
    if (strcmp(k, "body_delay_ms") == 0)
        return parse_uint(v, MAX_DELAY_MS, &p->body_delay_ms);
    if (strcmp(k, "etag") == 0)
        return parse_etag(p, v);
    if (strcmp(k, "lm") == 0)
        return parse_bool(v, &p->lm);
    if (strcmp(k, "chunked") == 0)
        return parse_bool(v, &p->chunked);
    if (strcmp(k, "set_cookie") == 0)
        return parse_bool(v, &p->set_cookie);
    if (strcmp(k, "expires") == 0)
        return parse_expires(p, v);
    if (strcmp(k, "fail") == 0)
        return parse_fail(p, v);
    if (strcmp(k, "hdr") == 0)
        return parse_hdr(p, v);
    return 0;
}

static void
set_defaults(struct origin_params *p)
{
    memset(p, 0, sizeof *p);
    p->size = 1024;
    p->status = 200;
    p->etag = ORIGIN_ETAG_STRONG;
}

/*
 * Parses the query of target into p (cleared first; release it with
 * origin_params_clear() whatever the result). Returns 0, or -EINVAL with
 * *bad naming the offending parameter (a pointer into p->store).
 */
int
origin_params_parse(struct origin_params *p, const char *target,
                    const char **bad)
{
    const char *q = strchr(target, '?'), *end;
    char *w;

    set_defaults(p);
    if (q == NULL)
        return 0;
    q++;
    end = q + strcspn(q, "#");
    /* Each decoded key and value is no longer than its raw text. */
    w = p->store = xmalloc(2 * (size_t)(end - q) + 2);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *eq, *v;
        char *key, *val;
        size_t n;

        if (amp == NULL)
            amp = end;
        eq = memchr(q, '=', (size_t)(amp - q));
        v = eq != NULL ? eq + 1 : amp;
        key = w;
        n = origin_pct_decode(w, q, (size_t)((eq != NULL ? eq : amp) - q));
        w[n] = '\0';
        w += n + 1;
        val = w;
        n = origin_pct_decode(w, v, (size_t)(amp - v));
        w[n] = '\0';
        w += n + 1;
        if (strlen(val) != n || apply(p, key, val) != 0) {
            *bad = key;
            return -EINVAL;
        }
        q = amp + 1;
    }
    return 0;
}

void
origin_params_clear(struct origin_params *p)
{
    free(p->store);
    p->store = NULL;
}
