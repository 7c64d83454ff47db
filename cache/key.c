/*
 * Primary cache keys: "scheme://host[:port]/path[?query]", normalized per
 * RFC 3986 §6.2.2 (case, percent-encoding, dot segments) and §6.2.3 (the
 * scheme's default port, empty path), then per-site query rules.
 *
 * Invariants: the key never contains bytes outside VCHAR, and "#" never
 * (both are -EINVAL on input), so keys compare as plain byte strings.
 * The key is built in place (dot segments and ignored parameters are
 * written, then taken out). Normalization never makes a path or query
 * longer ("/" for an empty path apart) and only an IPv6 literal can grow,
 * to at most 47 bytes, hence the "+ 64" bound in key.h. No allocation:
 * query sorting uses a bounded array on the stack.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <xxhash.h>

#include "cache/key.h"
#include "common/assert.h"

#define CC_UNRES 0x01 /* unreserved: ALPHA DIGIT - . _ ~ */
#define CC_HEX 0x02
#define CC_HOST 0x04  /* reg-name: unreserved, sub-delims ("%" apart) */
#define CC_TGT 0x08   /* request-target bytes kept: VCHAR but "#" */
#define CC_DIGIT 0x10

#define T CC_TGT
#define S (CC_HOST | CC_TGT)
#define U (CC_UNRES | CC_HOST | CC_TGT)

/* Non-overlapping ranges: -Woverride-init stays quiet. */
static const unsigned char cc[256] = {
    ['!'] = S,          ['"'] = T,         ['$'] = S,
    ['%'] = T,          ['&' ... ','] = S, ['-' ... '.'] = U,
    ['/'] = T,          ['0' ... '9'] = U | CC_HEX | CC_DIGIT,
    [':'] = T,          [';'] = S,         ['<'] = T,
    ['='] = S,          ['>' ... '@'] = T, ['A' ... 'F'] = U | CC_HEX,
    ['G' ... 'Z'] = U,  ['[' ... '^'] = T, ['_'] = U,
    ['`'] = T,          ['a' ... 'f'] = U | CC_HEX,
    ['g' ... 'z'] = U,  ['{' ... '}'] = T, ['~'] = U,
};

#undef T
#undef S
#undef U

/* Output under construction; cap excludes the byte kept for the NUL. */
struct kbuf {
    char *p;
    size_t len;
    size_t cap;
};

/* One query parameter: where it was received, where its name was put. */
struct qparam {
    uint32_t raw;
    uint32_t raw_len;
    uint32_t name;
    uint32_t name_len;
};

static int
put(struct kbuf *b, const char *s, size_t n)
{
    if (b->cap - b->len < n)
        return -ENOSPC;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static unsigned
hexval(unsigned char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/*
 * Appends s[0..n) with escapes normalized (RFC 3986 §6.2.2.2): escapes of
 * unreserved characters decoded, the others with uppercase hex. Reserved
 * characters keep their form: "%2F" and "/" mean different things. Bytes
 * outside class ok are -EINVAL; lower folds ASCII letters (hosts).
 */
static int
pct_norm(struct kbuf *b, const char *s, size_t n, unsigned ok, bool lower)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    char *o = b->p + b->len, *oe = b->p + b->cap;
    unsigned c;

    while (p < e) {
        c = *p;
        if (c == '%') {
            if (e - p < 3 || !(cc[p[1]] & CC_HEX) || !(cc[p[2]] & CC_HEX))
                return -EINVAL;
            c = hexval(p[1]) << 4 | hexval(p[2]);
            p += 3;
            if (!(cc[c] & CC_UNRES)) {
                if (oe - o < 3)
                    return -ENOSPC;
                o[0] = '%';
                o[1] = hex[c >> 4];
                o[2] = hex[c & 15];
                o += 3;
                continue;
            }
        } else if (!(cc[c] & ok)) {
            return -EINVAL;
        } else {
            p++;
        }
        if (o == oe)
            return -ENOSPC;
        *o++ = (char)(lower && c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    }
    b->len = (size_t)(o - b->p);
    return 0;
}

/* Checks escapes and bytes of s[0..n) without writing (a dropped query). */
static bool
pct_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;

    for (; p < e; p++) {
        if (*p == '%') {
            if (e - p < 3 || !(cc[p[1]] & CC_HEX) || !(cc[p[2]] & CC_HEX))
                return false;
            p += 2;
        } else if (!(cc[*p] & CC_TGT)) {
            return false;
        }
    }
    return true;
}

/*
 * Removes dot segments in place from the absolute path p[0..n) (p[0] is
 * "/"), per RFC 3986 §5.2.4: "." is dropped, ".." drops the segment before
 * it (none above the root), and a final "." or ".." leaves a trailing "/".
 * Empty segments stay: "/a//b" is another resource. Returns the new length.
 */
static size_t
dots_remove(char *p, size_t n)
{
    size_t r = 0, w = 0, s, e;

    while (r < n) {
        s = r + 1;
        for (e = s; e < n && p[e] != '/'; e++)
            ;
        if (e - s == 1 && p[s] == '.') {
            /* "." names the directory itself */
        } else if (e - s == 2 && p[s] == '.' && p[s + 1] == '.') {
            while (w > 0 && p[--w] != '/')
                ;
        } else {
            if (w != r)
                memmove(p + w, p + r, e - r);
            w += e - r;
            r = e;
            continue;
        }
        if (e == n)
            p[w++] = '/';
        r = e;
    }
    return w;
}

/* ":port" at p[0..e-p): empty or default ports vanish (RFC 3986 §6.2.3),
 * others lose leading zeros. */
static int
port_norm(struct kbuf *b, enum cache_scheme scheme, const char *p,
          const char *e)
{
    unsigned v = 0, def = scheme == CACHE_SCHEME_HTTPS ? 443 : 80;
    char t[8];
    size_t i = sizeof t;

    if (p == e)
        return 0;
    if (*p != ':')
        return -EINVAL;
    for (p++; p < e; p++) {
        if (!(cc[(unsigned char)*p] & CC_DIGIT))
            return -EINVAL;
        v = v * 10 + (unsigned)(*p - '0');
        if (v > 65535)
            return -EINVAL;
    }
    if (v == def || e[-1] == ':')
        return 0;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    t[--i] = ':';
    return put(b, t + i, sizeof t - i);
}

/* "[IPv6]" in RFC 5952 form (lowercase, zeros compressed); *rest is set
 * after the "]". IPvFuture and zone IDs are not HTTP hosts: -EINVAL. */
static int
ip_literal(struct kbuf *b, const char *h, size_t n, const char **rest)
{
    const char *rb = memchr(h, ']', n);
    char in[INET6_ADDRSTRLEN], txt[INET6_ADDRSTRLEN];
    struct in6_addr a;
    size_t l;
    int rc;

    if (rb == NULL)
        return -EINVAL;
    l = (size_t)(rb - h - 1);
    if (l == 0 || l >= sizeof in)
        return -EINVAL;
    memcpy(in, h + 1, l);
    in[l] = '\0';
    if (inet_pton(AF_INET6, in, &a) != 1 ||
        inet_ntop(AF_INET6, &a, txt, sizeof txt) == NULL)
        return -EINVAL;
    *rest = rb + 1;
    rc = put(b, "[", 1);
    if (rc == 0)
        rc = put(b, txt, strlen(txt));
    if (rc == 0)
        rc = put(b, "]", 1);
    return rc;
}

/* Host and port: lowercase, escapes normalized, the root label's trailing
 * dot removed ("example.com." is "example.com"). */
static int
host_norm(struct kbuf *b, enum cache_scheme scheme, const char *h, size_t n)
{
    const char *e = h + n, *port;
    size_t start = b->len;
    int rc;

    if (n == 0)
        return -EINVAL; /* RFC 9110 §4.2.1: an empty host is invalid */
    if (h[0] == '[') {
        rc = ip_literal(b, h, n, &port);
    } else {
        port = memchr(h, ':', n);
        if (port == NULL)
            port = e;
        rc = pct_norm(b, h, (size_t)(port - h), CC_HOST, true);
        if (rc == 0 && b->len > start && b->p[b->len - 1] == '.')
            b->len--;
        if (rc == 0 && b->len == start)
            rc = -EINVAL;
    }
    if (rc < 0)
        return rc;
    return port_norm(b, scheme, port, e);
}

static bool
ignored(const struct cache_key_rules *r, const char *name, size_t n)
{
    for (uint32_t i = 0; i < r->n_ignore; i++) {
        const char *s = r->ignore[i];
        size_t l = strlen(s);

        if (l > 0 && s[l - 1] == '*') {
            if (n >= l - 1 && memcmp(name, s, l - 1) == 0)
                return true;
        } else if (n == l && memcmp(name, s, l) == 0) {
            return true;
        }
    }
    return false;
}

/* Appends parameter s[0..n) (an offset into q) unless ignored; records it
 * in ps for sorting when ps is not NULL. */
static int
param_add(struct kbuf *b, const char *q, const char *s, size_t n,
          const struct cache_key_rules *r, struct qparam *ps, uint32_t *kept)
{
    size_t mark = b->len, start, name_len;
    const char *eq;
    int rc;

    if (*kept > 0 && (rc = put(b, "&", 1)) < 0)
        return rc;
    start = b->len;
    rc = pct_norm(b, s, n, CC_TGT, false);
    if (rc < 0)
        return rc;
    eq = memchr(b->p + start, '=', b->len - start);
    name_len = eq ? (size_t)(eq - (b->p + start)) : b->len - start;
    if (ignored(r, b->p + start, name_len)) {
        b->len = mark;
        return 0;
    }
    if (ps != NULL) {
        if (*kept == CACHE_KEY_SORT_MAX)
            return -E2BIG;
        ps[*kept] = (struct qparam){
            .raw = (uint32_t)(s - q),
            .raw_len = (uint32_t)n,
            .name = (uint32_t)start,
            .name_len = (uint32_t)name_len,
        };
    }
    (*kept)++;
    return 0;
}

static int
name_cmp(const char *buf, const struct qparam *a, const struct qparam *b)
{
    uint32_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(buf + a->name, buf + b->name, n);

    if (c != 0)
        return c;
    return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

/* Stable insertion sort by name: at most CACHE_KEY_SORT_MAX entries. */
static void
params_sort(const char *buf, struct qparam *ps, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        struct qparam t = ps[i];
        uint32_t j = i;

        for (; j > 0 && name_cmp(buf, &ps[j - 1], &t) > 0; j--)
            ps[j] = ps[j - 1];
        ps[j] = t;
    }
}

/*
 * The query q[0..n) as "&"-separated parameters: empty and ignored ones
 * left out, then sorted if asked. Sorting re-reads the received bytes, so
 * the normalized names stay in place while they are compared and no
 * scratch copy of the query is needed. A query left empty loses its "?".
 */
static int
query_params(struct kbuf *b, const char *q, size_t n,
             const struct cache_key_rules *r)
{
    struct qparam ps[CACHE_KEY_SORT_MAX];
    struct qparam *pp = r->sort_query ? ps : NULL;
    size_t qstart = b->len, i, e;
    uint32_t kept = 0;
    const char *amp;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i = e + 1) {
        amp = memchr(q + i, '&', n - i);
        e = amp ? (size_t)(amp - q) : n;
        if (e > i)
            rc = param_add(b, q, q + i, e - i, r, pp, &kept);
    }
    if (rc < 0)
        return rc;
    if (pp != NULL && kept > 1) {
        params_sort(b->p, ps, kept);
        b->len = qstart;
        for (uint32_t k = 0; k < kept && rc == 0; k++) {
            if (k > 0)
                rc = put(b, "&", 1);
            if (rc == 0)
                rc = pct_norm(b, q + ps[k].raw, ps[k].raw_len, CC_TGT, false);
        }
    }
    if (kept == 0)
        b->len = qstart - 1; /* drop the "?" */
    return rc;
}

/* Path and query of target t[0..n): "" or "?q" have the root as path. */
static int
target_norm(struct kbuf *b, const char *t, size_t n,
            const struct cache_key_rules *r, size_t *path_end)
{
    const char *q = n > 0 ? memchr(t, '?', n) : NULL;
    size_t plen = q ? (size_t)(q - t) : n, start = b->len, qlen;
    int rc;

    if (plen == 0)
        rc = put(b, "/", 1);
    else if (t[0] != '/')
        return -EINVAL; /* origin-form only (RFC 9112 §3.2.1) */
    else
        rc = pct_norm(b, t, plen, CC_TGT, false);
    if (rc < 0)
        return rc;
    b->len = start + dots_remove(b->p + start, b->len - start);
    *path_end = b->len;
    if (q == NULL)
        return 0;
    q++;
    qlen = n - plen - 1;
    if (r != NULL && r->drop_query)
        return pct_valid(q, qlen) ? 0 : -EINVAL;
    rc = put(b, "?", 1);
    if (rc < 0)
        return rc;
    if (r != NULL && (r->n_ignore > 0 || r->sort_query))
        return query_params(b, q, qlen, r);
    return pct_norm(b, q, qlen, CC_TGT, false);
}

int
cache_key_build(struct cache_key *k, enum cache_scheme scheme,
                const char *host, size_t host_len, const char *target,
                size_t target_len, const struct cache_key_rules *rules)
{
    struct kbuf b = { .p = k->buf, .len = 0, .cap = k->cap ? k->cap - 1 : 0 };
    size_t path_end = 0;
    int rc;

    ASSERT(k->cap <= INT_MAX && (k->buf != NULL || k->cap == 0));
    ASSERT(scheme == CACHE_SCHEME_HTTP || scheme == CACHE_SCHEME_HTTPS);
    k->len = 0;
    if (host_len > UINT32_MAX || target_len > UINT32_MAX)
        return -ENOSPC;
    if (scheme == CACHE_SCHEME_HTTPS)
        rc = put(&b, "https://", 8);
    else
        rc = put(&b, "http://", 7);
    if (rc == 0)
        rc = host_norm(&b, scheme, host, host_len);
    k->path_off = (uint32_t)b.len;
    if (rc == 0)
        rc = target_norm(&b, target, target_len, rules, &path_end);
    if (rc < 0)
        return rc;
    b.p[b.len] = '\0';
    k->query_off = (uint32_t)path_end;
    k->len = (uint32_t)b.len;
    k->hash = XXH3_64bits(b.p, b.len);
    return (int)b.len;
}

int
cache_key_target(const struct cache_key *k, char *out, size_t cap,
                 const char *target, size_t len)
{
    struct kbuf b = { .p = out, .len = 0, .cap = cap ? cap - 1 : 0 };
    const char *q = len > 0 ? memchr(target, '?', len) : NULL;
    int rc;

    ASSERT(cap <= INT_MAX && (out != NULL || cap == 0));
    if (k->len == 0 || k->path_off >= k->query_off || k->query_off > k->len)
        return -EINVAL;
    rc = put(&b, k->buf + k->path_off, k->query_off - k->path_off);
    if (rc == 0 && q != NULL) {
        q++;
        rc = put(&b, "?", 1);
        if (rc == 0)
            rc = pct_norm(&b, q, (size_t)(target + len - q), CC_TGT, false);
    }
    if (rc < 0)
        return rc;
    b.p[b.len] = '\0';
    return (int)b.len;
}

static bool
prefix_ieq(const char *s, size_t n, const char *lower, size_t l)
{
    if (n < l)
        return false;
    for (size_t i = 0; i < l; i++)
        if ((s[i] >= 'A' && s[i] <= 'Z' ? s[i] | 0x20 : s[i]) != lower[i])
            return false;
    return true;
}

int
cache_key_build_url(struct cache_key *k, const char *url, size_t len,
                    const struct cache_key_rules *rules)
{
    enum cache_scheme scheme;
    const char *a, *ae, *e = url + len, *frag;

    if (prefix_ieq(url, len, "http://", 7)) {
        scheme = CACHE_SCHEME_HTTP;
        a = url + 7;
    } else if (prefix_ieq(url, len, "https://", 8)) {
        scheme = CACHE_SCHEME_HTTPS;
        a = url + 8;
    } else {
        return -EINVAL;
    }
    /* No userinfo: deprecated for http(s) (RFC 9110 §4.2.4). */
    for (ae = a; ae < e && *ae != '/' && *ae != '?' && *ae != '#'; ae++)
        if (*ae == '@')
            return -EINVAL;
    frag = memchr(ae, '#', (size_t)(e - ae));
    if (frag != NULL)
        e = frag;
    return cache_key_build(k, scheme, a, (size_t)(ae - a), ae,
                           (size_t)(e - ae), rules);
}

int
cache_key_host_norm(char *out, size_t cap, enum cache_scheme scheme,
                    const char *host, size_t len)
{
    struct kbuf b = { .p = out, .len = 0, .cap = cap ? cap - 1 : 0 };
    int rc;

    ASSERT(cap <= INT_MAX && (out != NULL || cap == 0));
    rc = host_norm(&b, scheme, host, len);
    if (rc < 0)
        return rc;
    b.p[b.len] = '\0';
    return (int)b.len;
}
