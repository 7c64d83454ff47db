/*
 * Validation: client preconditions answered from a stored response
 * (RFC 9110 §13.2.2, RFC 9111 §4.3.2), validators for an upstream
 * revalidation (RFC 9111 §4.3.1), whether a 304 applies (§4.3.4), which
 * fields are left out of storage (and go to the fetching client only) or
 * may be stripped before clients or from our own 304/412/416, and the
 * stored header block: building it (§3.1, with a Date), updating it from
 * a 304 (§3.2) and splitting it back into fields. Header blocks are "Name: value\r\n"
 * lines without the final empty line (cache/obj.h head).
 */
#include "config.h"

#include <errno.h>
#include <strings.h>

#include "cache/policy_int.h"

/* ------------------------------------------------------ entity-tags */

static bool
etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80;
}

/* Parses an entity-tag at the start of [p, end); returns its end or NULL. */
static const char *
etag_at(const char *p, const char *end, struct pol_etag *t)
{
    const char *q;

    t->weak = end - p >= 2 && p[0] == 'W' && p[1] == '/';
    if (t->weak)
        p += 2;
    if (p >= end || *p != '"')
        return NULL;
    for (q = ++p; q < end && *q != '"'; q++) {
        if (!etagc((unsigned char)*q))
            return NULL;
    }
    if (q >= end)
        return NULL;
    t->opaque = p;
    t->len = (size_t)(q - p);
    return q + 1;
}

bool
cache_etag_parse(const char *e, size_t len, struct pol_etag *t)
{
    pol_trim(&e, &len);
    return etag_at(e, e + len, t) == e + len;
}

bool
cache_etag_match(const struct pol_etag *a, const struct pol_etag *b,
                 bool strong)
{
    if (strong && (a->weak || b->weak))
        return false;
    return a->len == b->len && memcmp(a->opaque, b->opaque, a->len) == 0;
}

enum list_match { L_NO, L_YES, L_BAD };

/*
 * Does any line named lc ("*" / #entity-tag, RFC 9110 §13.1.1-2) match
 * the stored ETag? "*" matches any stored response.
 */
static enum list_match
etag_list(const struct h1_field *f, uint32_t n, const char *lc,
          const struct cache_validators *v, bool strong)
{
    struct pol_etag mine, t;
    bool have = v->etag != NULL && cache_etag_parse(v->etag, v->etag_len, &mine);
    bool hit = false;
    const struct h1_field *fl;
    uint32_t i = 0;

    while ((fl = pol_field_next(f, n, lc, &i)) != NULL) {
        const char *p = fl->value, *end = p + fl->value_len;

        if (fl->value_len == 1 && *p == '*') {
            hit = true;
            continue;
        }
        while (p < end) {
            while (p < end && (pol_ows(*p) || *p == ','))
                p++;
            if (p == end)
                break;
            if ((p = etag_at(p, end, &t)) == NULL)
                return L_BAD;
            hit = hit || (have && cache_etag_match(&t, &mine, strong));
            while (p < end && pol_ows(*p))
                p++;
            if (p < end && *p != ',')
                return L_BAD;
        }
    }
    return hit ? L_YES : L_NO;
}

/* ---------------------------------------------------- preconditions */

/* The stored response's modification time: Last-Modified, else Date. */
static int64_t
modified_s(const struct cache_validators *v)
{
    return v->last_modified_s >= 0 ? v->last_modified_s : v->date_s;
}

/* A single valid HTTP-date in the field named lc; false otherwise. */
static bool
date_field(const struct h1_field *f, uint32_t n, const char *lc,
           int64_t now_s, int64_t *t)
{
    const struct h1_field *fl = pol_field_find(f, n, lc);

    return fl != NULL && pol_field_count(f, n, lc) == 1 &&
           pol_date(fl, now_s, t) == 0;
}

/* Malformed If-Match / If-None-Match lists count as absent. */
enum cache_cond
cache_cond_eval(enum h1_method method, const struct h1_field *f, uint32_t n,
                const struct cache_validators *v, int64_t now_ms)
{
    int64_t now_s = pol_floor_div(now_ms, 1000), t;
    bool safe = method == H1_M_GET || method == H1_M_HEAD;
    enum list_match im = L_BAD, inm = L_BAD;

    if (pol_field_find(f, n, "if-match") != NULL)
        im = etag_list(f, n, "if-match", v, true);
    if (pol_field_find(f, n, "if-none-match") != NULL)
        inm = etag_list(f, n, "if-none-match", v, false);
    /* 1, 2: If-Match, else If-Unmodified-Since */
    if (im == L_NO)
        return CACHE_COND_PRECONDITION_FAILED;
    if (im == L_BAD && date_field(f, n, "if-unmodified-since", now_s, &t) &&
        modified_s(v) > t)
        return CACHE_COND_PRECONDITION_FAILED;
    /* 3: If-None-Match, else 4: If-Modified-Since (GET/HEAD only) */
    if (inm == L_YES)
        return safe ? CACHE_COND_NOT_MODIFIED : CACHE_COND_PRECONDITION_FAILED;
    if (inm == L_BAD && safe &&
        date_field(f, n, "if-modified-since", now_s, &t) && modified_s(v) <= t)
        return CACHE_COND_NOT_MODIFIED;
    return CACHE_COND_PROCEED;
}

bool
cache_cond_304_matches(const struct cache_validators *v,
                       const struct h1_field *f304, uint32_t n304,
                       int64_t now_ms)
{
    const struct h1_field *et = pol_field_find(f304, n304, "etag");
    struct pol_etag theirs, mine;
    int64_t t;

    if (et != NULL) {
        if (!cache_etag_parse(et->value, et->value_len, &theirs) ||
            v->etag == NULL || !cache_etag_parse(v->etag, v->etag_len, &mine))
            return false;
        return cache_etag_match(&theirs, &mine, !theirs.weak);
    }
    if (pol_field_find(f304, n304, "last-modified") != NULL) {
        return date_field(f304, n304, "last-modified",
                          pol_floor_div(now_ms, 1000), &t) &&
               t == v->last_modified_s;
    }
    return true; /* no validator: it answers the ones we sent */
}

/* RFC 9110 §13.2.1: preconditions are evaluated only when the response
 * would otherwise be 2xx. */
bool
cache_cond_applies(int status)
{
    return status >= 200 && status <= 299;
}

/* §15.4.5: a 304 carries no representation metadata but the validators
 * and Content-Location. A 412 or 416 is about the request, not the
 * representation: Date and the validators only. */
bool
cache_field_answers(int status, const char *name, size_t len)
{
    bool validator = pol_ieq(name, len, "etag") ||
                     pol_ieq(name, len, "last-modified");

    if (status == 304)
        return validator || pol_ieq(name, len, "content-location") ||
               !(len >= 8 && strncasecmp(name, "content-", 8) == 0);
    if (status == 412 || status == 416)
        return validator || pol_ieq(name, len, "date");
    return true;
}

/* ---------------------------------------------------- header blocks */

/* Qualified no-cache / private lists name fields a shared cache leaves
 * out of storage (§5.2.2.4, §5.2.2.7). */
bool
cache_cc_names_field(const struct cache_cc *cc, const char *name, size_t len)
{
    if (!(cc->flags & CACHE_CC_NAMES))
        return false;
    for (uint32_t i = 0; i < cc->n_names; i++) {
        if (pol_list_has(cc->names[i].p, cc->names[i].len, name, len))
            return true;
    }
    return false;
}

/* RFC 9213 target list: fields an operator may strip before clients. */
bool
cache_cc_is_targeted(const char *name, size_t len,
                     const struct cache_site_policy *sp)
{
    sp = pol_site(sp);
    if (pol_ieq(name, len, "cdn-cache-control") ||
        pol_ieq(name, len, "surrogate-control"))
        return true;
    return sp->target_field != NULL &&
           pol_ieq2(name, len, sp->target_field, strlen(sp->target_field));
}

/* Next "Name: value" line of a block; lines without a colon are skipped. */
static bool
head_next(const char *head, size_t len, size_t *pos, struct h1_field *fl)
{
    while (*pos < len) {
        const char *p = head + *pos, *end = head + len, *eol, *colon;
        const char *val;
        size_t vlen;

        eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        eol = eol != NULL ? eol : end;
        *pos = (size_t)(eol - head) + (eol < end ? 2 : 0);
        colon = memchr(p, ':', (size_t)(eol - p));
        if (colon == NULL || colon == p)
            continue;
        val = colon + 1;
        vlen = (size_t)(eol - val);
        pol_trim(&val, &vlen);
        fl->name = p;
        fl->name_len = (uint32_t)(colon - p);
        fl->value = val;
        fl->value_len = (uint32_t)vlen;
        return true;
    }
    return false;
}

int
cache_head_split(const char *head, size_t head_len, struct h1_field *f,
                 uint32_t cap)
{
    struct h1_field fl;
    size_t pos = 0;
    uint32_t n = 0;

    while (head_next(head, head_len, &pos, &fl)) {
        if (n == cap)
            return -ENOSPC;
        f[n++] = fl;
    }
    return (int)n;
}

void
cache_validators_find(struct cache_revalidation *rv, const char *head,
                      size_t head_len)
{
    struct h1_field fl;
    size_t pos = 0;

    memset(rv, 0, sizeof *rv);
    while (head_next(head, head_len, &pos, &fl)) {
        if (rv->if_none_match == NULL &&
            pol_ieq(fl.name, fl.name_len, "etag")) {
            rv->if_none_match = fl.value;
            rv->if_none_match_len = fl.value_len;
        } else if (rv->if_modified_since == NULL &&
                   pol_ieq(fl.name, fl.name_len, "last-modified")) {
            rv->if_modified_since = fl.value;
            rv->if_modified_since_len = fl.value_len;
        }
    }
}

size_t
cache_head_bound(size_t head_len, const struct h1_field *f, uint32_t n)
{
    size_t b = head_len;

    for (uint32_t i = 0; i < n; i++)
        b += (size_t)f[i].name_len + f[i].value_len + 4;
    return b;
}

/* Named by a Connection field: hop-by-hop. */
static bool
connection_named(const char *name, size_t len, const struct h1_field *f,
                 uint32_t n)
{
    const struct h1_field *fl;
    uint32_t i = 0;

    while ((fl = pol_field_next(f, n, "connection", &i)) != NULL) {
        if (pol_list_has(fl->value, fl->value_len, name, len))
            return true;
    }
    return false;
}

/* §3.1: not stored, and not named by Connection or a qualified list. */
static bool
storable_field(const char *name, size_t len, const struct h1_field *f,
               uint32_t n, const struct cache_cc *cc)
{
    if (cache_field_unstorable(name, len))
        return false;
    if (cc != NULL && cache_cc_names_field(cc, name, len))
        return false;
    return !connection_named(name, len, f, n);
}

/* End to end, yet left out of storage: Set-Cookie, or named by a
 * qualified private / no-cache (never hop-by-hop nor framing). */
static bool
leader_field(const char *name, size_t len, const struct h1_field *f,
             uint32_t n, const struct cache_cc *cc)
{
    bool cookie = pol_ieq(name, len, "set-cookie") ||
                  pol_ieq(name, len, "set-cookie2");

    if (!cookie && (cache_field_unstorable(name, len) || cc == NULL ||
                    !cache_cc_names_field(cc, name, len)))
        return false;
    return !connection_named(name, len, f, n);
}

static int
put(char *out, size_t cap, size_t *pos, const struct h1_field *fl)
{
    size_t need = (size_t)fl->name_len + fl->value_len + 4;

    if (cap - *pos < need)
        return -ENOSPC;
    memcpy(out + *pos, fl->name, fl->name_len);
    *pos += fl->name_len;
    memcpy(out + *pos, ": ", 2);
    *pos += 2;
    memcpy(out + *pos, fl->value, fl->value_len);
    *pos += fl->value_len;
    memcpy(out + *pos, "\r\n", 2);
    *pos += 2;
    return 0;
}

typedef bool field_keep_fn(const char *name, size_t len, const struct h1_field *f,
                           uint32_t n, const struct cache_cc *cc);

/* The fields keep accepts, as header lines into out. */
static int
head_select(char *out, size_t cap, size_t *len, const struct h1_field *f, uint32_t n,
            const struct cache_cc *cc, field_keep_fn *keep)
{
    size_t pos = 0;

    for (uint32_t i = 0; i < n; i++) {
        if (keep(f[i].name, f[i].name_len, f, n, cc) && put(out, cap, &pos, &f[i]) != 0)
            return -ENOSPC;
    }
    *len = pos;
    return 0;
}

int
cache_head_build(char *out, size_t cap, size_t *len, const struct h1_field *f,
                 uint32_t n, const struct cache_cc *cc)
{
    return head_select(out, cap, len, f, n, cc, storable_field);
}

int
cache_head_leader(char *out, size_t cap, size_t *len, const struct h1_field *f,
                  uint32_t n, const struct cache_cc *cc)
{
    return head_select(out, cap, len, f, n, cc, leader_field);
}

int
cache_head_add_date(char *out, size_t cap, size_t *len, int64_t date_s)
{
    char d[CACHE_DATE_LEN + 1];
    struct h1_field fl;
    size_t pos = 0;

    while (head_next(out, *len, &pos, &fl)) {
        if (pol_ieq(fl.name, fl.name_len, "date"))
            return 0;
    }
    cache_date_format(date_s, d);
    fl.name = "Date";
    fl.name_len = 4;
    fl.value = d;
    fl.value_len = CACHE_DATE_LEN;
    return put(out, cap, len, &fl);
}

/* A 304 field that replaces the stored ones of its name (§3.2). The
 * stored body depends on Content-Encoding and Vary (variant selection);
 * Content-Range describes a part, never the stored whole. */
static bool
updates(const char *name, size_t len, const struct h1_field *f, uint32_t n,
        const struct cache_cc *cc)
{
    if (pol_ieq(name, len, "content-encoding") ||
        pol_ieq(name, len, "content-range") || pol_ieq(name, len, "vary"))
        return false;
    return storable_field(name, len, f, n, cc);
}

static bool
replaced(const struct h1_field *stored, const struct h1_field *f, uint32_t n,
         const struct cache_cc *cc)
{
    for (uint32_t i = 0; i < n; i++) {
        if (pol_ieq2(stored->name, stored->name_len, f[i].name,
                     f[i].name_len))
            return updates(f[i].name, f[i].name_len, f, n, cc);
    }
    return false;
}

int
cache_head_update(char *out, size_t cap, size_t *len, const char *head,
                  size_t head_len, const struct h1_field *f, uint32_t n)
{
    struct cache_cc cc;
    struct h1_field fl;
    size_t hpos = 0, pos = 0;

    cache_cc_parse_response(&cc, f, n, NULL); /* the 304's own lists */
    while (head_next(head, head_len, &hpos, &fl)) {
        if (!replaced(&fl, f, n, &cc) && put(out, cap, &pos, &fl) != 0)
            return -ENOSPC;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (updates(f[i].name, f[i].name_len, f, n, &cc) &&
            put(out, cap, &pos, &f[i]) != 0)
            return -ENOSPC;
    }
    *len = pos;
    return 0;
}
