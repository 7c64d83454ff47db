/*
 * Secondary cache keys (RFC 9111 §4.1, RFC 9110 §12.5.5). A stored
 * response's Vary names, in canonical form, select which request fields
 * make up its variant's key; the request's values of those fields,
 * normalized where the field's syntax allows it, are the key.
 *
 * Invariants: canonical names are lowercase tokens, sorted bytewise,
 * unique, joined by "," ("*" alone means "never matches"). A secondary key
 * holds no "\n" inside a value (CR, LF and NUL read as SP), so its
 * "name=value\n" / "name\n" records cannot be confused: two requests share
 * a key exactly when each named field is absent in both or has the same
 * normalized value in both.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "cache/key.h"
#include "common/assert.h"
#include "edge/h1.h"

#define VARY_STAR 1 /* internal: the set never matches */

#define VM_LIST 0x1u  /* #list field: members, ", " between them */
#define VM_LOWER 0x2u /* case-insensitive tokens: lowercased */

/* Fields whose normalization we know; the rest keep case and commas. */
static const struct {
    const char *name;
    size_t len;
    unsigned mode;
} known[] = {
    /* RFC 9110 §12.5.1-12.5.4: media types, charsets, codings and
     * language tags compare case-insensitively. */
    { "accept", 6, VM_LIST | VM_LOWER },
    { "accept-charset", 14, VM_LIST | VM_LOWER },
    { "accept-encoding", 15, VM_LIST | VM_LOWER },
    { "accept-language", 15, VM_LIST | VM_LOWER },
};

/* Output under construction; cap excludes the NUL; err is sticky. */
struct vbuf {
    char *p;
    size_t len;
    size_t cap;
    int err;
};

/* Value normalizer state, fed byte by byte across combined fields. */
struct vnorm {
    struct vbuf *b;
    unsigned mode;
    bool quoted;  /* inside a quoted-string: bytes kept as they are */
    bool escaped; /* after a backslash in a quoted-string */
    bool space;   /* whitespace owed before the next byte */
    bool sep;     /* list: ", " owed before the next member */
    bool elem;    /* bytes written in this member (or value) */
    bool semi;    /* list: after ";", whitespace is dropped */
};

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

static bool
ieq(const char *a, const char *lowered, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lowered[i])
            return false;
    return true;
}

/* tchar (RFC 9110 §5.6.2). */
static bool
is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Compares stored lowercase name a[0..an) with member s[0..sn) (any case). */
static int
name_cmp(const char *a, size_t an, const char *s, size_t sn)
{
    size_t n = an < sn ? an : sn;

    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i];
        unsigned char y = (unsigned char)lower(s[i]);

        if (x != y)
            return x < y ? -1 : 1;
    }
    return an < sn ? -1 : an > sn;
}

/* Inserts member s[0..n) into the sorted list at b, unless present. */
static int
name_insert(struct vbuf *b, const char *s, size_t n, unsigned *count)
{
    size_t pos = 0, end, need, at;
    int c = -1;

    while (pos < b->len) {
        for (end = pos; end < b->len && b->p[end] != ','; end++)
            ;
        c = name_cmp(b->p + pos, end - pos, s, n);
        if (c == 0)
            return 0; /* duplicate */
        if (c > 0)
            break;
        pos = end + 1;
    }
    if (++*count > CACHE_VARY_NAMES_MAX)
        return VARY_STAR;
    need = n + (b->len > 0);
    if (b->err == 0 && b->cap - b->len < need)
        b->err = -ENOSPC; /* keep scanning: a later "*" still wins */
    if (b->err != 0)
        return 0;
    if (c > 0) {
        memmove(b->p + pos + need, b->p + pos, b->len - pos);
        b->p[pos + n] = ',';
        at = pos;
    } else {
        at = b->len;
        if (at > 0)
            b->p[at++] = ',';
    }
    for (size_t i = 0; i < n; i++)
        b->p[at + i] = lower(s[i]);
    b->len += need;
    return 0;
}

/* One Vary field value v[0..n): #( "*" / field-name ), empty members
 * ignored (RFC 9110 §5.6.1). A member that is no token makes the whole
 * set unusable: we cannot tell what the response varies on. */
static int
vary_members(struct vbuf *b, const char *v, size_t n, unsigned flags,
             unsigned *count)
{
    const char *p = v, *e = v + n, *s, *t;
    int rc;

    while (p < e) {
        while (p < e && (is_ows(*p) || *p == ','))
            p++;
        for (s = p; p < e && *p != ','; p++)
            ;
        for (t = p; t > s && is_ows(t[-1]); t--)
            ;
        if (t == s)
            continue;
        for (const char *x = s; x < t; x++)
            if (!is_tchar(*x))
                return VARY_STAR;
        if (t - s == 1 && *s == '*')
            return VARY_STAR;
        if ((flags & CACHE_VARY_NO_ACCEPT_ENCODING) && t - s == 15 &&
            ieq(s, "accept-encoding", 15))
            continue;
        rc = name_insert(b, s, (size_t)(t - s), count);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int
cache_vary_names_build(char *out, size_t cap, const struct h1_field *f,
                       uint32_t n, unsigned flags)
{
    struct vbuf b = { .p = out, .len = 0, .cap = cap ? cap - 1 : 0 };
    unsigned count = 0;
    int rc = 0;

    ASSERT(cap <= INT_MAX && (out != NULL || cap == 0));
    for (uint32_t i = 0; i < n && rc == 0; i++)
        if (f[i].name_len == 4 && ieq(f[i].name, "vary", 4))
            rc = vary_members(&b, f[i].value, f[i].value_len, flags, &count);
    if (rc == VARY_STAR) {
        if (b.cap < 1)
            return -ENOSPC;
        out[0] = '*';
        b.len = 1;
    } else if (b.err != 0 || cap == 0) {
        return -ENOSPC;
    }
    out[b.len] = '\0';
    return (int)b.len;
}

bool
cache_vary_names_is_star(const char *names, size_t len)
{
    return len == 1 && names[0] == '*';
}

/* Writes c, preceded by the separator or space owed. */
static void
emit(struct vnorm *z, char c)
{
    struct vbuf *b = z->b;
    size_t need = 1 + (z->sep ? 2 : z->space);

    if (b->err == 0 && b->cap - b->len < need)
        b->err = -ENOSPC;
    if (b->err != 0)
        return;
    if (z->sep) {
        b->p[b->len++] = ',';
        b->p[b->len++] = ' ';
    } else if (z->space) {
        b->p[b->len++] = ' ';
    }
    z->sep = z->space = z->semi = false;
    z->elem = true;
    b->p[b->len++] = c;
}

static void
feed_quoted(struct vnorm *z, char c)
{
    if (z->escaped)
        z->escaped = false;
    else if (c == '\\')
        z->escaped = true;
    else if (c == '"')
        z->quoted = false;
    emit(z, c);
}

/* One value byte: whitespace trimmed and collapsed outside quoted-strings;
 * list fields also get canonical separators and lowercase tokens. */
static void
feed(struct vnorm *z, char c)
{
    if (c == '\r' || c == '\n' || c == '\0')
        c = ' '; /* RFC 9110 §5.5: replace with SP */
    if (z->quoted) {
        feed_quoted(z, c);
        return;
    }
    if (is_ows(c)) {
        if (z->elem && !z->semi)
            z->space = true;
        return;
    }
    if ((z->mode & VM_LIST) && (c == ',' || c == ';')) {
        z->space = false;
        if (c == ';') {
            emit(z, ';');
            z->semi = true;
        } else if (z->elem) {
            z->sep = true; /* empty members vanish (RFC 9110 §5.6.1) */
            z->elem = false;
        }
        return;
    }
    if (c == '"')
        z->quoted = true;
    else if (z->mode & VM_LOWER)
        c = lower(c);
    emit(z, c);
}

static unsigned
field_mode(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].len == n && memcmp(known[i].name, name, n) == 0)
            return known[i].mode;
    return 0;
}

static void
put(struct vbuf *b, const char *s, size_t n)
{
    if (b->err == 0 && b->cap - b->len < n)
        b->err = -ENOSPC;
    if (b->err != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* "name=value\n" from every field named name[0..nl), or "name\n". */
static void
key_one(struct vbuf *b, const char *name, size_t nl, const struct h1_field *f,
        uint32_t n)
{
    struct vnorm z = { .b = b, .mode = field_mode(name, nl) };
    bool found = false;

    put(b, name, nl);
    for (uint32_t i = 0; i < n; i++) {
        if (f[i].name_len != nl || !ieq(f[i].name, name, nl))
            continue;
        if (!found) {
            put(b, "=", 1);
            found = true;
        } else {
            /* Fields combine as one list (RFC 9110 §5.3); each field's
             * trailing OWS goes, an open quote ends with its field. */
            z.quoted = z.escaped = z.space = false;
            feed(&z, ',');
            feed(&z, ' ');
        }
        for (uint32_t j = 0; j < f[i].value_len; j++)
            feed(&z, f[i].value[j]);
    }
    put(b, "\n", 1);
}

/* A canonical member: a non-empty lowercase token. */
static bool
name_ok(const char *s, const char *e)
{
    if (s == e)
        return false;
    for (; s < e; s++)
        if (!is_tchar(*s) || (*s >= 'A' && *s <= 'Z'))
            return false;
    return true;
}

int
cache_vary_key_build(char *out, size_t cap, const char *names,
                     size_t names_len, const struct h1_field *f, uint32_t n)
{
    struct vbuf b = { .p = out, .len = 0, .cap = cap ? cap - 1 : 0 };
    const char *p = names, *e = names + names_len, *c, *ne;

    ASSERT(cap <= INT_MAX && (out != NULL || cap == 0));
    if (cache_vary_names_is_star(names, names_len))
        return -EINVAL;
    if (cap == 0)
        return -ENOSPC;
    while (names_len > 0) {
        c = memchr(p, ',', (size_t)(e - p));
        ne = c ? c : e;
        if (!name_ok(p, ne))
            return -EINVAL;
        key_one(&b, p, (size_t)(ne - p), f, n);
        if (b.err != 0)
            return b.err;
        if (ne == e)
            break;
        p = ne + 1;
    }
    out[b.len] = '\0';
    return (int)b.len;
}
