/*
 * Values: one converter per key type (integers, sizes, durations, names,
 * paths, levels, booleans, address and host lists, field names, enums
 * (query modes, disk durability) and query parameter lists). Each checks
 * its node, reports what is wrong with it at its position, and stores only
 * a valid value, so a bad value leaves the default in place. A directory
 * (CONF_T_DIR) is also looked up on the filesystem: the one place conf
 * reads anything but the config file.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "conf/conf_int.h"

static void
uint_store(const struct conf_dest *d, uint64_t v)
{
    uint32_t u = (uint32_t)v;

    if (d->k->width == sizeof(uint64_t))
        memcpy(d->base + d->k->off, &v, sizeof v);
    else
        memcpy(d->base + d->k->off, &u, sizeof u);
}

static void
str_store(const struct conf_dest *d, char *s)
{
    char **p = (char **)(void *)(d->base + d->k->off);

    free(*p);
    *p = s;
}

/* The text of scalar v, or NULL (reported) when v is no usable scalar. */
const char *
conf_value_scalar(const struct conf_dest *d, const struct conf_node *v,
                  const char *what)
{
    if (v->kind == CONF_NODE_SCALAR && v->is_null)
        conf_ctx_err(d->x, v, "%s has no value (expected %s)", d->qname,
                     what);
    else if (v->kind != CONF_NODE_SCALAR)
        conf_ctx_err(d->x, v, "%s must be %s, not %s", d->qname, what,
                     conf_node_kind_name(v));
    else if (v->has_nul)
        conf_ctx_err(d->x, v, "%s contains a NUL byte", d->qname);
    else
        return v->str;
    return NULL;
}

/* Writes a size or duration bound the way a user would: 1MiB, 24h. */
void
conf_value_fmt(enum conf_type kind, uint64_t v, char *buf, size_t size)
{
    static const char *const sz[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    static const struct { uint64_t ms; const char *u; } du[] = {
        { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" }
    };
    size_t i = 0;

    if (kind == CONF_T_SIZE) {
        for (; i + 1 < ARRAY_LEN(sz) && v != 0 && v % 1024 == 0; i++)
            v /= 1024;
        snprintf(buf, size, "%llu%s", (unsigned long long)v, sz[i]);
        return;
    }
    if (kind == CONF_T_DURATION && v == 0) {
        snprintf(buf, size, "0s");
        return;
    }
    if (kind == CONF_T_DURATION) {
        while (i + 1 < ARRAY_LEN(du) && v % du[i].ms != 0)
            i++;
        snprintf(buf, size, "%llu%s", (unsigned long long)(v / du[i].ms),
                 du[i].u);
        return;
    }
    snprintf(buf, size, "%llu", (unsigned long long)v);
}

static void
range_check(const struct conf_dest *d, const struct conf_node *v, uint64_t n)
{
    char lo[32], hi[32], q[64];

    if (n >= d->k->min && n <= d->k->max) {
        uint_store(d, n);
        return;
    }
    conf_value_fmt(d->k->type, d->k->min, lo, sizeof lo);
    conf_value_fmt(d->k->type, d->k->max, hi, sizeof hi);
    conf_text_quote(v->str, q, sizeof q);
    if (d->k->max == UINT64_MAX)
        conf_ctx_err(d->x, v, "%s must be at least %s, not '%s'", d->qname,
                     lo, q);
    else
        conf_ctx_err(d->x, v, "%s must be in %s..%s, not '%s'", d->qname, lo,
                     hi, q);
}

static void
apply_number(const struct conf_dest *d, const struct conf_node *v)
{
    static const char *const what[] = {
        [CONF_T_UINT] = "an integer", [CONF_T_SIZE] = "a size",
        [CONF_T_DURATION] = "a duration"
    };
    const char *s = conf_value_scalar(d, v, what[d->k->type]);
    const char *why = "expected digits";
    char q[64];
    uint64_t n;
    int rc;

    if (s == NULL)
        return;
    if (d->k->type == CONF_T_SIZE)
        rc = conf_size_parse(s, &n, &why);
    else if (d->k->type == CONF_T_DURATION)
        rc = conf_duration_parse(s, &n, &why);
    else
        rc = conf_uint_parse(s, &n);
    if (rc == 0) {
        range_check(d, v, n);
        return;
    }
    if (rc == -ERANGE)
        why = "too large";
    conf_text_quote(s, q, sizeof q);
    conf_ctx_err(d->x, v, "%s: '%s' is not %s: %s", d->qname, q,
                 what[d->k->type], why);
}

/* Copies path s for a message, whole, control characters as '?'. */
static void
path_text(const char *s, char *buf, size_t size)
{
    size_t i = 0;

    for (; *s != '\0' && i + 1 < size; s++)
        buf[i++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    buf[i] = '\0';
}

/* The directory path's last component is in: "." for "cache", "/" for
   "/cache", "a" for "a//b/". */
static void
parent_of(const char *path, char *out, size_t size)
{
    size_t n = strlen(path);

    while (n > 1 && path[n - 1] == '/')
        n--;
    while (n > 0 && path[n - 1] != '/')
        n--;
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n == 0)
        snprintf(out, size, ".");
    else
        snprintf(out, size, "%.*s", (int)n, path);
}

/* Why a missing path's parent cannot hold it, or NULL when it can. */
static const char *
parent_problem(const char *parent)
{
    struct stat st;

    if (stat(parent, &st) == 0)
        return S_ISDIR(st.st_mode) ? NULL : "is not a directory";
    if (errno == ENOENT || errno == ENOTDIR)
        return "does not exist";
    return strerror(errno);
}

/*
 * A directory that the disk tier opens, or creates (one level, 0700): path
 * is a directory, or does not exist and its parent is one. A relative path
 * is checked from the working directory, where the daemon opens it too.
 */
static void
dir_check(const struct conf_dest *d, const struct conf_node *v,
          const char *path)
{
    char p[PATH_MAX], parent[PATH_MAX], cwd[PATH_MAX], rel[PATH_MAX + 48] = "";
    const char *why = NULL, *pwhy = NULL;
    struct stat st;

    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return;
        why = "is not a directory";
    } else if (errno != ENOENT && errno != ENOTDIR) {
        why = strerror(errno);
    } else if (lstat(path, &st) == 0) {
        why = "is a symbolic link to nothing";
    } else {
        parent_of(path, parent, sizeof parent);
        if ((pwhy = parent_problem(parent)) == NULL)
            return; /* the tier creates it */
    }
    if (path[0] != '/' && getcwd(cwd, sizeof cwd) != NULL)
        snprintf(rel, sizeof rel, " (relative to the working directory %s)",
                 cwd);
    if (why != NULL) {
        path_text(path, p, sizeof p);
        conf_ctx_err(d->x, v, "%s: '%s' %s%s", d->qname, p, why, rel);
    } else {
        path_text(parent, p, sizeof p);
        conf_ctx_err(d->x, v, "%s: parent directory %s %s%s", d->qname, p,
                     pwhy, rel);
    }
}

static void
apply_string(const struct conf_dest *d, const struct conf_node *v)
{
    const char *s;
    char q[64];
    bool named;

    if (d->k->type == CONF_T_PATH_OFF && v->kind == CONF_NODE_SCALAR &&
        (v->is_null || strcmp(v->str, "off") == 0)) {
        str_store(d, NULL);
        return;
    }
    named = d->k->type == CONF_T_NAME || d->k->type == CONF_T_TOKEN;
    s = conf_value_scalar(d, v, named ? "a name" : "a path");
    if (s == NULL)
        return;
    conf_text_quote(s, q, sizeof q);
    if (named && !conf_token_is_valid(s)) {
        conf_ctx_err(d->x, v, "%s: '%s' is not a name (1 to 64 of "
                     "A-Z a-z 0-9 . _ -)", d->qname, q);
        return;
    }
    if (v->len == 0 || v->len >= PATH_MAX) {
        conf_ctx_err(d->x, v, "%s: path must be 1 to %d bytes", d->qname,
                     PATH_MAX - 1);
        return;
    }
    str_store(d, xstrdup(s));
    if (d->k->type == CONF_T_NAME)
        conf_site_claim_name(d->x, s, v);
    else if (d->k->type == CONF_T_DIR)
        dir_check(d, v, s);
}

static void
apply_level(const struct conf_dest *d, const struct conf_node *v)
{
    const char *s = conf_value_scalar(d, v, "a log level");
    enum log_level lvl;
    char q[64];

    if (s == NULL)
        return;
    if (common_log_level_parse(s, &lvl) < 0) {
        conf_text_quote(s, q, sizeof q);
        conf_ctx_err(d->x, v, "%s must be error, warn, info or debug, "
                     "not '%s'", d->qname, q);
        return;
    }
    memcpy(d->base + d->k->off, &lvl, sizeof lvl);
}

static void
apply_bool(const struct conf_dest *d, const struct conf_node *v)
{
    static const char *const yes[] = { "true", "yes", "on" };
    static const char *const no[] = { "false", "no", "off" };
    const char *s = conf_value_scalar(d, v, "true or false");
    char q[64];

    if (s == NULL)
        return;
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            bool b = strcasecmp(s, yes[i]) == 0;

            memcpy(d->base + d->k->off, &b, sizeof b);
            return;
        }
    }
    conf_text_quote(s, q, sizeof q);
    conf_ctx_err(d->x, v, "%s must be true or false, not '%s'", d->qname, q);
}

/* The entries of a list-or-single value: *n of them from *first. */
static bool
list_items(const struct conf_dest *d, const struct conf_node *v,
           const struct conf_node **first, size_t *n)
{
    if (v->kind == CONF_NODE_MAP) {
        conf_ctx_err(d->x, v, "%s must be a list, not a mapping", d->qname);
        return false;
    }
    if (v->kind == CONF_NODE_SEQ) {
        *first = v->kids;
        *n = v->n_kids;
    } else {
        *first = v;
        *n = 1;
    }
    if (*n == 0)
        conf_ctx_err(d->x, v, "%s must not be empty", d->qname);
    return *n > 0;
}

static bool
addr_one(const struct conf_dest *d, const struct conf_node *it,
         struct conf_addr *out, const struct conf_addr *prev, size_t n_prev)
{
    const char *s = conf_value_scalar(d, it, "an address"), *why;
    char q[64];

    if (s == NULL)
        return false;
    conf_text_quote(s, q, sizeof q);
    if (conf_addr_parse(s, out, &why) < 0) {
        conf_ctx_err(d->x, it, "%s: bad address '%s': %s", d->qname, q, why);
        return false;
    }
    for (size_t i = 0; i < n_prev; i++) {
        if (strcmp(prev[i].text, out->text) == 0) {
            conf_ctx_err(d->x, it, "%s: '%s' is listed twice", d->qname, q);
            return false;
        }
    }
    return true;
}

static void
apply_addrs(const struct conf_dest *d, const struct conf_node *v)
{
    struct conf_addr **ap = (struct conf_addr **)(void *)(d->base + d->k->off);
    size_t *np = (size_t *)(void *)(d->base + d->k->off_n);
    const struct conf_node *items;
    size_t n, got = 0;

    if (!list_items(d, v, &items, &n))
        return;
    free(*ap);
    *ap = xcalloc(n, sizeof **ap);
    for (size_t i = 0; i < n; i++) {
        if (addr_one(d, &items[i], &(*ap)[got], *ap, got))
            got++;
    }
    *np = got;
}

static void
apply_hosts(const struct conf_dest *d, const struct conf_node *v)
{
    char ***hp = (char ***)(void *)(d->base + d->k->off);
    size_t *np = (size_t *)(void *)(d->base + d->k->off_n);
    const struct conf_node *items;
    const char *s, *why;
    char q[64];
    size_t n;

    if (!list_items(d, v, &items, &n))
        return;
    *hp = xcalloc(n, sizeof **hp);
    for (size_t i = 0; i < n; i++) {
        char *pat;

        if ((s = conf_value_scalar(d, &items[i], "a host pattern")) == NULL)
            continue;
        if (conf_host_parse(s, &pat, &why) < 0) {
            conf_text_quote(s, q, sizeof q);
            conf_ctx_err(d->x, &items[i], "%s: bad host pattern '%s': %s",
                         d->qname, q, why);
            continue;
        }
        if (conf_site_claim_host(d->x, pat, &items[i]))
            (*hp)[(*np)++] = pat; /* the claim borrows pat from here on */
        else
            free(pat);
    }
}

/* Names cache/ reads in any case: naming one again changes nothing, and
   stripping it would take it from clients too. */
static void
apply_field(const struct conf_dest *d, const struct conf_node *v)
{
    static const char *const taken[] = { "Cache-Control", "CDN-Cache-Control",
                                         "Surrogate-Control" };
    const char *s = conf_value_scalar(d, v, "a field name");
    char q[64];

    if (s == NULL)
        return;
    conf_text_quote(s, q, sizeof q);
    if (!conf_field_name_is_valid(s)) {
        conf_ctx_err(d->x, v, "%s: '%s' is not a field name (1 to 64 of "
                     "A-Z a-z 0-9 ! # $ %% & ' * + - . ^ _ ` | ~)", d->qname,
                     q);
        return;
    }
    for (size_t i = 0; i < ARRAY_LEN(taken); i++) {
        if (strcasecmp(s, taken[i]) == 0) {
            conf_ctx_err(d->x, v, "%s: %s is always read; name a field of "
                         "this node's own, such as Strata-Cache-Control",
                         d->qname, taken[i]);
            return;
        }
    }
    str_store(d, xstrdup(s));
}

static const char *const query_names[] = { [CONF_QUERY_KEEP] = "keep",
                                           [CONF_QUERY_SORT] = "sort",
                                           [CONF_QUERY_DROP] = "drop" };
static const char *const durability_names[] = { [CONF_DISK_SAFE] = "safe",
                                                [CONF_DISK_FAST] = "fast",
                                                [CONF_DISK_SYNC] = "sync" };

/* Enum-valued key types: the value names in enum order. */
static const struct {
    const char *const *names;
    size_t n;
    const char *what; /* for reports */
} enums[] = {
    [CONF_T_QUERY] = { query_names, ARRAY_LEN(query_names),
                       "keep, sort or drop" },
    [CONF_T_DURABILITY] = { durability_names, ARRAY_LEN(durability_names),
                            "safe, fast or sync" },
};

_Static_assert(sizeof(enum conf_query_mode) == sizeof(uint32_t) &&
                   sizeof(enum conf_disk_durability) == sizeof(uint32_t),
               "apply_enum() stores enums as uint32_t");

/* Stores the index of the name v holds. */
static void
apply_enum(const struct conf_dest *d, const struct conf_node *v)
{
    const char *const *names = enums[d->k->type].names;
    const char *what = enums[d->k->type].what, *hint;
    size_t n = enums[d->k->type].n;
    const char *s = conf_value_scalar(d, v, what);
    char q[64];

    if (s == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            uint_store(d, i);
            return;
        }
    }
    conf_text_quote(s, q, sizeof q);
    hint = conf_hint_pick(s, names, n);
    if (hint != NULL)
        conf_ctx_err(d->x, v, "%s must be %s, not '%s' (did you mean "
                     "'%s'?)", d->qname, what, q, hint);
    else
        conf_ctx_err(d->x, v, "%s must be %s, not '%s'", d->qname, what, q);
}

/* True when pattern p ("utm_*") matches every name s matches. */
static bool
query_covers(const char *p, const char *s)
{
    size_t n = strlen(p) - 1;

    return p[n] == '*' && strncmp(p, s, n) == 0;
}

/* Reports entries that another one repeats or already matches. */
static void
query_overlaps(const struct conf_dest *d, char *const *pat,
               const struct conf_node *const *at, size_t n)
{
    char q[64], qp[64];

    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < n; i++) {
            bool same = strcmp(pat[i], pat[j]) == 0;

            if (i == j || (same && i > j) ||
                (!same && !query_covers(pat[i], pat[j])))
                continue;
            conf_text_quote(pat[j], q, sizeof q);
            conf_text_quote(pat[i], qp, sizeof qp);
            if (same)
                conf_ctx_err(d->x, at[j], "%s: '%s' is listed twice (first "
                             "at %u:%u)", d->qname, q, at[i]->line,
                             at[i]->col);
            else
                conf_ctx_err(d->x, at[j], "%s: '%s' is already matched by "
                             "'%s' (at %u:%u)", d->qname, q, qp, at[i]->line,
                             at[i]->col);
            break;
        }
    }
}

static void
apply_query_names(const struct conf_dest *d, const struct conf_node *v)
{
    char ***pp = (char ***)(void *)(d->base + d->k->off);
    size_t *np = (size_t *)(void *)(d->base + d->k->off_n);
    const struct conf_node *items, **at;
    const char *s, *why;
    char q[64];
    size_t n;

    if (v->kind == CONF_NODE_SEQ && v->n_kids == 0)
        return; /* [] is the default: no parameter ignored */
    if (!list_items(d, v, &items, &n))
        return;
    if (n > CONF_QUERY_IGNORE_MAX) {
        conf_ctx_err(d->x, v, "%s: at most %d names, not %zu", d->qname,
                     CONF_QUERY_IGNORE_MAX, n);
        return;
    }
    *pp = xcalloc(n, sizeof **pp);
    at = xcalloc(n, sizeof *at);
    for (size_t i = 0; i < n; i++) {
        if ((s = conf_value_scalar(d, &items[i], "a parameter name")) == NULL)
            continue;
        if (conf_query_name_parse(s, &(*pp)[*np], &why) == 0) {
            at[(*np)++] = &items[i];
            continue;
        }
        conf_text_quote(s, q, sizeof q);
        conf_ctx_err(d->x, &items[i], "%s: bad parameter name '%s': %s",
                     d->qname, q, why);
    }
    query_overlaps(d, *pp, at, *np);
    free(at);
}

void
conf_value_apply(const struct conf_dest *d, const struct conf_node *v)
{
    switch (d->k->type) {
    case CONF_T_UINT: case CONF_T_SIZE: case CONF_T_DURATION:
        apply_number(d, v);
        break;
    case CONF_T_TOKEN: case CONF_T_NAME: case CONF_T_PATH:
    case CONF_T_PATH_OFF: case CONF_T_DIR:
        apply_string(d, v);
        break;
    case CONF_T_LEVEL:
        apply_level(d, v);
        break;
    case CONF_T_BOOL:
        apply_bool(d, v);
        break;
    case CONF_T_ADDRS:
        apply_addrs(d, v);
        break;
    case CONF_T_HOSTS:
        apply_hosts(d, v);
        break;
    case CONF_T_FIELD:
        apply_field(d, v);
        break;
    case CONF_T_QUERY: case CONF_T_DURABILITY:
        apply_enum(d, v);
        break;
    case CONF_T_QUERY_NAMES:
        apply_query_names(d, v);
        break;
    default:
        ASSERT(!"not a value type");
    }
}
