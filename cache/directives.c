/*
 * Cache directives (RFC 9111 §5.2) from Cache-Control, Pragma (§5.4),
 * Surrogate-Control (Edge Architecture 1.0) and targeted fields (RFC 9213,
 * Structured Field Dictionaries, RFC 8941/9651). One table maps directive
 * names to what they set; three front ends (list grammar, Surrogate list
 * grammar, SF Dictionary) feed it arguments. Pure parsing: slices stay in
 * the caller's fields.
 */
#include "config.h"

#include "cache/policy_int.h"
#include "common/assert.h"

enum dir_id {
    D_MAX_AGE,
    D_S_MAXAGE,
    D_MAX_STALE,
    D_MIN_FRESH,
    D_SWR,
    D_SIE,
    D_FLAG, /* no value slot */
};

enum dir_kind { K_DELTA, K_FLAG, K_NAMES };

struct dir {
    const char *name;
    enum dir_kind kind;
    enum dir_id id;
    uint32_t flag;
};

static const struct dir dirs[] = {
    { "max-age", K_DELTA, D_MAX_AGE, 0 },
    { "s-maxage", K_DELTA, D_S_MAXAGE, 0 },
    { "max-stale", K_DELTA, D_MAX_STALE, 0 },
    { "min-fresh", K_DELTA, D_MIN_FRESH, 0 },
    { "stale-while-revalidate", K_DELTA, D_SWR, 0 },
    { "stale-if-error", K_DELTA, D_SIE, 0 },
    { "no-cache", K_NAMES, D_FLAG, CACHE_CC_NO_CACHE },
    { "private", K_NAMES, D_FLAG, CACHE_CC_PRIVATE },
    { "no-store", K_FLAG, D_FLAG, CACHE_CC_NO_STORE },
    { "no-store-remote", K_FLAG, D_FLAG, CACHE_CC_NO_STORE },
    { "public", K_FLAG, D_FLAG, CACHE_CC_PUBLIC },
    { "must-revalidate", K_FLAG, D_FLAG, CACHE_CC_MUST_REVALIDATE },
    { "proxy-revalidate", K_FLAG, D_FLAG, CACHE_CC_PROXY_REVALIDATE },
    { "must-understand", K_FLAG, D_FLAG, CACHE_CC_MUST_UNDERSTAND },
    { "no-transform", K_FLAG, D_FLAG, CACHE_CC_NO_TRANSFORM },
    { "immutable", K_FLAG, D_FLAG, CACHE_CC_IMMUTABLE },
    { "only-if-cached", K_FLAG, D_FLAG, CACHE_CC_ONLY_IF_CACHED },
};

/* A directive argument, whatever grammar it came from. */
struct arg {
    enum {
        A_NONE,   /* no argument */
        A_TOKEN,  /* list grammar token */
        A_QUOTED, /* list grammar quoted-string: p/len inside the quotes */
        A_INT,    /* SF Integer */
        A_STRING, /* SF String: p/len inside the quotes */
        A_TRUE,   /* SF Boolean true, or a bare SF key */
        A_FALSE,  /* SF Boolean false */
        A_OTHER,  /* SF Decimal, Token, Byte Sequence, Date, Inner List */
        A_BAD,    /* malformed list element */
    } t;
    const char *p;
    size_t len;
    int64_t i;
};

struct ccp {
    struct cache_cc *cc;
    bool sf;        /* Dictionary semantics: a repeated key overwrites */
    bool surrogate; /* Surrogate-Control: "max-age=N+M" means N */
    uint32_t bad;   /* value slots poisoned by a bad or conflicting value */
};

static void
cc_init(struct cache_cc *cc)
{
    memset(cc, 0, sizeof *cc);
    cc->max_age_s = cc->s_maxage_s = cc->max_stale_s = -1;
    cc->min_fresh_s = cc->swr_s = cc->sie_s = -1;
}

static const struct dir *
dir_find(const char *name, size_t len)
{
    for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
        if (pol_ieq(name, len, dirs[i].name))
            return &dirs[i];
    }
    return NULL;
}

/* Value slot of a K_DELTA directive, in enum dir_id order. */
static int64_t *
slot(struct cache_cc *cc, enum dir_id id)
{
    static const size_t off[] = {
        offsetof(struct cache_cc, max_age_s),
        offsetof(struct cache_cc, s_maxage_s),
        offsetof(struct cache_cc, max_stale_s),
        offsetof(struct cache_cc, min_fresh_s),
        offsetof(struct cache_cc, swr_s),
        offsetof(struct cache_cc, sie_s),
    };

    return (int64_t *)(void *)((char *)cc + off[id]);
}

static bool
delta_value(const struct ccp *st, enum dir_id id, const struct arg *a,
            int64_t *v)
{
    size_t len = a->len;

    if (id == D_MAX_STALE && a->t == A_NONE) {
        *v = CACHE_DELTA_MAX; /* bare max-stale: any staleness */
        return true;
    }
    if (a->t == A_INT) {
        *v = a->i < CACHE_DELTA_MAX ? a->i : CACHE_DELTA_MAX;
        return a->i >= 0;
    }
    if (a->t != A_TOKEN && a->t != A_QUOTED)
        return false;
    if (st->surrogate && id == D_MAX_AGE && a->t == A_TOKEN) {
        const char *plus = memchr(a->p, '+', len);

        if (plus != NULL)
            len = (size_t)(plus - a->p);
    }
    return pol_delta(a->p, len, v) == 0;
}

/*
 * A bad value, or a list-grammar repeat with another value, poisons the
 * slot: freshness becomes 0 and invalid (stale, §4.2.1); the optional
 * windows and request limits are dropped.
 */
static void
apply_delta(struct ccp *st, enum dir_id id, const struct arg *a)
{
    int64_t *s = slot(st->cc, id), v = 0;
    bool ok = delta_value(st, id, a, &v);

    if (st->bad & (1u << id))
        return;
    if (ok && (st->sf || *s < 0 || *s == v)) {
        *s = v;
        return;
    }
    st->bad |= 1u << id;
    if (id == D_MAX_AGE || id == D_S_MAXAGE) {
        *s = 0;
        st->cc->flags |= CACHE_CC_INVALID;
    } else {
        *s = -1;
    }
}

/* Qualified no-cache / private keep their field-name list (§5.2.2.4,
 * §5.2.2.7); anything else, or no room, is the unqualified form. */
static void
apply_names(struct ccp *st, const struct dir *d, const struct arg *a)
{
    struct cache_cc *cc = st->cc;

    if (a->t == A_QUOTED || a->t == A_STRING || a->t == A_TOKEN) {
        if (a->len == 0)
            return;
        if (cc->n_names < CACHE_CC_MAX_NAMES) {
            cc->names[cc->n_names].p = a->p;
            cc->names[cc->n_names].len = (uint32_t)a->len;
            cc->n_names++;
            cc->flags |= CACHE_CC_NAMES;
            return;
        }
    }
    cc->flags |= d->flag;
}

/* SF Boolean false (?0) clears a flag directive. */
static void
apply(struct ccp *st, const struct dir *d, const struct arg *a)
{
    if (d->kind == K_DELTA)
        apply_delta(st, d->id, a);
    else if (a->t == A_FALSE)
        st->cc->flags &= ~d->flag;
    else if (d->kind == K_NAMES)
        apply_names(st, d, a);
    else
        st->cc->flags |= d->flag;
}

/* ------------------------------------------- list grammar (§5.2) */

/* "=" ( token / quoted-string ), with nothing around the "=". */
static void
arg_parse(const char *p, size_t len, struct arg *a)
{
    a->t = A_BAD;
    if (len < 2 || p[0] != '=')
        return;
    p++;
    len--;
    if (p[0] == '"') {
        if (pol_quoted_ok(p, len)) {
            a->t = A_QUOTED;
            a->p = p + 1;
            a->len = len - 2;
        }
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (!pol_tchar(p[i]))
            return;
    }
    a->t = A_TOKEN;
    a->p = p;
    a->len = len;
}

/*
 * A malformed element counts as its directive with a bad argument.
 * Surrogate-Control directives targeted at a device ("max-age=60;edge")
 * are for another surrogate: skipped.
 */
static void
list_field(struct ccp *st, const char *v, size_t len)
{
    const char *p = v, *e;
    size_t elen;

    while (pol_list_next(&p, v + len, &e, &elen)) {
        struct arg a = { .t = A_NONE };
        const struct dir *d;
        size_t nl = 0;

        while (nl < elen && pol_tchar(e[nl]))
            nl++;
        d = nl > 0 ? dir_find(e, nl) : NULL;
        if (d == NULL || (st->surrogate && memchr(e, ';', elen) != NULL))
            continue;
        if (nl < elen)
            arg_parse(e + nl, elen - nl, &a);
        apply(st, d, &a);
    }
}

/* Applies every line named lc; returns how many there were. */
static uint32_t
list_fields(struct ccp *st, const struct h1_field *f, uint32_t n,
            const char *lc)
{
    const struct h1_field *fl;
    uint32_t i = 0, c = 0;

    while ((fl = pol_field_next(f, n, lc, &i)) != NULL) {
        list_field(st, fl->value, fl->value_len);
        c++;
    }
    return c;
}

/* ------------------------------ SF Dictionary (RFC 8941 §4.2.2) */

static bool
in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

struct sfp {
    const char *p;
    const char *end;
};

static bool
sf_alpha(char c, bool lower_only)
{
    return (c >= 'a' && c <= 'z') || (!lower_only && c >= 'A' && c <= 'Z');
}

static bool
sf_key(struct sfp *s, const char **k, size_t *kl)
{
    const char *start = s->p;

    if (s->p >= s->end || !(sf_alpha(*s->p, true) || *s->p == '*'))
        return false;
    for (s->p++; s->p < s->end; s->p++) {
        if (!sf_alpha(*s->p, true) && !pol_digit(*s->p) &&
            !in_set(*s->p, "_-.*"))
            break;
    }
    *k = start;
    *kl = (size_t)(s->p - start);
    return true;
}

static bool
sf_number(struct sfp *s, struct arg *a)
{
    bool neg = false;
    unsigned nd = 0, nf = 0;
    int64_t v = 0;

    if (s->p < s->end && *s->p == '-') {
        neg = true;
        s->p++;
    }
    for (; s->p < s->end && pol_digit(*s->p) && nd < 16; s->p++, nd++)
        v = v * 10 + (*s->p - '0');
    if (nd == 0 || nd > 15)
        return false;
    a->t = A_INT;
    a->i = neg ? -v : v;
    if (s->p >= s->end || *s->p != '.')
        return true;
    for (s->p++; s->p < s->end && pol_digit(*s->p) && nf < 4; s->p++)
        nf++;
    a->t = A_OTHER; /* Decimal */
    return nd <= 12 && nf >= 1 && nf <= 3;
}

/* String (§4.2.5) or, with pct, Display String (RFC 9651 §4.2.10). */
static bool
sf_string(struct sfp *s, struct arg *a, bool pct)
{
    const char *start = ++s->p;

    for (; s->p < s->end; s->p++) {
        char c = *s->p;

        if (!pct && c == '\\') {
            if (++s->p >= s->end || (*s->p != '"' && *s->p != '\\'))
                return false;
        } else if (c == '"') {
            a->t = pct ? A_OTHER : A_STRING;
            a->p = start;
            a->len = (size_t)(s->p++ - start);
            return true;
        } else if (c < 0x20 || c > 0x7e) {
            return false;
        }
    }
    return false;
}

static bool
sf_run(struct sfp *s, struct arg *a, const char *extra)
{
    for (s->p++; s->p < s->end; s->p++) {
        if (!pol_tchar(*s->p) && !in_set(*s->p, extra))
            break;
    }
    a->t = A_OTHER;
    return true;
}

static bool
sf_bare(struct sfp *s, struct arg *a)
{
    char c = s->p < s->end ? *s->p : '\0';

    if (c == '-' || pol_digit(c))
        return sf_number(s, a);
    if (c == '"')
        return sf_string(s, a, false);
    if (c == '*' || sf_alpha(c, false))
        return sf_run(s, a, ":/"); /* Token */
    if (c == '?') {
        if (s->end - s->p < 2 || (s->p[1] != '0' && s->p[1] != '1'))
            return false;
        a->t = s->p[1] == '1' ? A_TRUE : A_FALSE;
        s->p += 2;
        return true;
    }
    if (c == ':') { /* Byte Sequence */
        const char *q = memchr(s->p + 1, ':', (size_t)(s->end - s->p - 1));

        for (const char *b = s->p + 1; q != NULL && b < q; b++) {
            if (!sf_alpha(*b, false) && !pol_digit(*b) && !in_set(*b, "+/="))
                return false;
        }
        s->p = q != NULL ? q + 1 : s->p;
        a->t = A_OTHER;
        return q != NULL;
    }
    if (c == '@') { /* Date */
        s->p++;
        if (!sf_number(s, a) || a->t != A_INT)
            return false;
        a->t = A_OTHER;
        return true;
    }
    if (c == '%' && s->end - s->p >= 2 && s->p[1] == '"') {
        s->p++;
        return sf_string(s, a, true);
    }
    return false;
}

/* *( ";" *SP key [ "=" bare-item ] ); values are ignored (RFC 9213). */
static bool
sf_params(struct sfp *s)
{
    while (s->p < s->end && *s->p == ';') {
        struct arg ignored;
        const char *k;
        size_t kl;

        for (s->p++; s->p < s->end && *s->p == ' '; s->p++)
            ;
        if (!sf_key(s, &k, &kl))
            return false;
        if (s->p < s->end && *s->p == '=') {
            s->p++;
            if (!sf_bare(s, &ignored))
                return false;
        }
    }
    return true;
}

/* Item or Inner List, with parameters. */
static bool
sf_member_value(struct sfp *s, struct arg *a)
{
    if (s->p < s->end && *s->p == '(') {
        for (s->p++;;) {
            struct arg item;

            while (s->p < s->end && *s->p == ' ')
                s->p++;
            if (s->p < s->end && *s->p == ')')
                break;
            if (!sf_bare(s, &item) || !sf_params(s))
                return false;
            if (s->p < s->end && *s->p != ' ' && *s->p != ')')
                return false;
        }
        s->p++;
        a->t = A_OTHER;
        return sf_params(s);
    }
    return sf_bare(s, a) && sf_params(s);
}

/* Parses one line as a Dictionary; applies members when st is set. */
static bool
sf_dict(const char *v, size_t len, struct ccp *st)
{
    struct sfp s = { v, v + len };

    while (s.p < s.end && *s.p == ' ')
        s.p++;
    if (s.p == s.end)
        return false; /* empty: the field is ignored */
    for (;;) {
        struct arg a = { .t = A_TRUE };
        const struct dir *d;
        const char *k;
        size_t kl;

        if (!sf_key(&s, &k, &kl))
            return false;
        if (s.p < s.end && *s.p == '=') {
            s.p++;
            if (!sf_member_value(&s, &a))
                return false;
        } else if (!sf_params(&s)) {
            return false;
        }
        if (st != NULL && (d = dir_find(k, kl)) != NULL)
            apply(st, d, &a);
        while (s.p < s.end && pol_ows(*s.p))
            s.p++;
        if (s.p == s.end)
            return true;
        if (*s.p++ != ',')
            return false;
        while (s.p < s.end && pol_ows(*s.p))
            s.p++;
        if (s.p == s.end)
            return false; /* trailing comma */
    }
}

static bool
name_is(const struct h1_field *fl, const char *name, size_t len)
{
    return pol_ieq2(fl->name, fl->name_len, name, len);
}

/* A targeted field is used only when every line parses (RFC 9213 §2.1). */
static bool
targeted(struct cache_cc *cc, const struct h1_field *f, uint32_t n,
         const char *name, enum cache_cc_source src)
{
    struct ccp st = { .cc = cc, .sf = true };
    size_t len = strlen(name);
    uint32_t lines = 0;

    for (uint32_t i = 0; i < n; i++) {
        if (!name_is(&f[i], name, len))
            continue;
        if (!sf_dict(f[i].value, f[i].value_len, NULL))
            return false;
        lines++;
    }
    if (lines == 0)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        if (name_is(&f[i], name, len))
            sf_dict(f[i].value, f[i].value_len, &st);
    }
    cc->source = src;
    return true;
}

/* Surrogate-Control counts only when it says something about storing. */
static bool
surrogate(struct cache_cc *cc, const struct h1_field *f, uint32_t n)
{
    struct cache_cc t;
    struct ccp st = { .cc = &t, .surrogate = true };

    cc_init(&t);
    if (list_fields(&st, f, n, "surrogate-control") == 0)
        return false;
    if (!(t.flags & CACHE_CC_NO_STORE) && t.max_age_s < 0)
        return false;
    t.source = CACHE_CC_SRC_SURROGATE;
    *cc = t;
    return true;
}

void
cache_cc_parse_response(struct cache_cc *cc, const struct h1_field *f,
                        uint32_t n, const struct cache_site_policy *sp)
{
    struct ccp st = { .cc = cc };

    sp = pol_site(sp);
    cc_init(cc);
    if (sp->target_field != NULL &&
        targeted(cc, f, n, sp->target_field, CACHE_CC_SRC_NODE))
        return;
    if (targeted(cc, f, n, "cdn-cache-control", CACHE_CC_SRC_CDN))
        return;
    if (surrogate(cc, f, n))
        return;
    if (!sp->ignore_cache_control && list_fields(&st, f, n, "cache-control"))
        cc->source = CACHE_CC_SRC_CC;
}

void
cache_cc_parse_request(struct cache_cc *cc, const struct h1_field *f,
                       uint32_t n, const struct cache_site_policy *sp)
{
    struct ccp st = { .cc = cc };
    const struct h1_field *pragma;

    sp = pol_site(sp);
    cc_init(cc);
    if (list_fields(&st, f, n, "cache-control") > 0) {
        cc->source = CACHE_CC_SRC_CC;
    } else {
        uint32_t i = 0;

        while ((pragma = pol_field_next(f, n, "pragma", &i)) != NULL) {
            if (pol_list_has(pragma->value, pragma->value_len, "no-cache", 8))
                cc->flags |= CACHE_CC_NO_CACHE;
        }
    }
    if (sp->ignore_request_cc) {
        cc->flags &= CACHE_CC_ONLY_IF_CACHED;
        cc->max_age_s = cc->min_fresh_s = -1;
    }
}
