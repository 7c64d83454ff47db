/*
 * Cache-Status is a Structured Fields list (RFC 8941): members separated by
 * commas, each an item (token or string) with ";key[=value]" parameters.
 * Quoted strings may hold commas and semicolons, so splitting honours them.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "tools/load/outcome.h"

/* Offset just past the last top-level `sep` in v[0..len), or 0. */
static size_t
after_last(const char *v, size_t len, char sep)
{
    size_t start = 0;
    bool quoted = false;

    for (size_t i = 0; i < len; i++) {
        if (quoted && v[i] == '\\')
            i++;
        else if (v[i] == '"')
            quoted = !quoted;
        else if (!quoted && v[i] == sep)
            start = i + 1;
    }
    return start;
}

static bool
eq(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && strncasecmp(s, lit, n) == 0;
}

static const char *
trim(const char *s, size_t *n)
{
    while (*n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

/* Applies one "key[=value]" parameter to the verdict so far. */
static void
param(const char *p, size_t n, bool *hit, int *fwd)
{
    const char *eqs = memchr(p, '=', n);
    size_t kl = eqs ? (size_t)(eqs - p) : n, vl = eqs ? n - kl - 1 : 0;
    const char *key = trim(p, &kl), *val = eqs ? trim(eqs + 1, &vl) : NULL;

    if (eq(key, kl, "hit")) {
        *hit = val == NULL || eq(val, vl, "?1");
    } else if (eq(key, kl, "fwd") && val != NULL) {
        if (eq(val, vl, "bypass") || eq(val, vl, "method") || eq(val, vl, "request"))
            *fwd = LOAD_OUT_BYPASS;
        else
            *fwd = LOAD_OUT_MISS;
    }
}

enum load_outcome
load_outcome_cache_status(const char *v, size_t len)
{
    size_t start = after_last(v, len, ','), i, pstart = 0;
    const char *m = v + start;
    size_t n = len - start;
    bool hit = false, quoted = false;
    int fwd = LOAD_OUT_NONE;

    /* Walk the parameters of the last member; the first piece is its name. */
    for (i = 0; i <= n; i++) {
        if (i < n && quoted && m[i] == '\\') {
            i++;
            continue;
        }
        if (i < n && m[i] == '"') {
            quoted = !quoted;
            continue;
        }
        if (i < n && (quoted || m[i] != ';'))
            continue;
        if (pstart > 0)
            param(m + pstart, i - pstart, &hit, &fwd);
        pstart = i + 1;
    }
    if (hit)
        return LOAD_OUT_HIT;
    return (enum load_outcome)fwd;
}

static bool
has(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);

    for (size_t i = 0; i + l <= n; i++)
        if (strncasecmp(s + i, lit, l) == 0)
            return true;
    return false;
}

enum load_outcome
load_outcome_x_cache(const char *v, size_t len)
{
    size_t start = after_last(v, len, ','), n = len - start, w = 0;
    const char *m = trim(v + start, &n);

    while (w < n && m[w] != ' ' && m[w] != '\t')
        w++; /* first word: "HIT from proxy" */
    if (has(m, w, "MISS") || has(m, w, "EXPIRED") || has(m, w, "REVALIDATED"))
        return LOAD_OUT_MISS;
    if (has(m, w, "HIT") || has(m, w, "STALE") || has(m, w, "UPDATING"))
        return LOAD_OUT_HIT;
    if (has(m, w, "PASS"))
        return LOAD_OUT_BYPASS;
    return LOAD_OUT_NONE;
}

const char *
load_outcome_name(enum load_outcome o)
{
    static const char *const names[] = { "hit", "miss", "bypass", "none", "no_response" };

    return (unsigned)o < LOAD_OUT__COUNT ? names[o] : "?";
}
