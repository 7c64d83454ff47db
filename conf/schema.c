/*
 * The schema: every key the config knows, its type and range, and the walk
 * that applies a node tree to a struct conf. The walk never stops at a
 * problem: it reports the node, skips it and goes on, so one load lists
 * everything wrong with a file. Checks that compare keys run once the walk
 * found nothing wrong. Keys are case-sensitive. Defaults live in default.c,
 * value conversion in value.c.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "conf/conf_int.h"

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define TIB (1ull << 40)
#define DUR_MAX (24ull * 3600 * 1000) /* timeouts: at most a day */
/* Cache lifetimes: delta-seconds stop at 2^31 s (RFC 9111 §1.2.2). */
#define TTL_MAX (2147483648ull * 1000)
#define SECTION_MAX 16

#define FIELD(T, f) offsetof(T, f), 0, sizeof(((T *)0)->f)
#define INT(n, k, T, f, lo, hi) { n, k, FIELD(T, f), lo, hi, NULL }
#define STR(n, k, T, f) { n, k, offsetof(T, f), 0, 0, 0, 0, NULL }
#define LIST(n, k, T, f, nf)                                               \
    { n, k, offsetof(T, f), offsetof(T, nf), 0, 0, 0, NULL }
#define SUB(n, s) { n, CONF_T_MAP, 0, 0, 0, 0, 0, &s }
#define SECTION(where, keys) { where, keys, ARRAY_LEN(keys), NULL, NULL }
#define TWIN(where, keys, twin, path)                                     \
    { where, keys, ARRAY_LEN(keys), &twin, path }
#define TIMEOUT(n, T, f) INT(n, CONF_T_DURATION, T, f, 1, DUR_MAX)
#define BOOL(n, T, f) INT(n, CONF_T_BOOL, T, f, 0, 1)
#define TTL(n, f) INT(n, CONF_T_DURATION, struct conf_site, cache.f, 0, TTL_MAX)

static const struct conf_key log_keys[] = {
    INT("level", CONF_T_LEVEL, struct conf, log_level, 0, 0),
    STR("access_log", CONF_T_PATH_OFF, struct conf, access_log),
};

static const struct conf_key limits_keys[] = {
    INT("request_line", CONF_T_SIZE, struct conf, limits.request_line, 256,
        MIB),
    INT("field_line", CONF_T_SIZE, struct conf, limits.field_line, 256, MIB),
    INT("header_section", CONF_T_SIZE, struct conf, limits.header_section, KIB,
        16 * MIB),
    INT("fields", CONF_T_UINT, struct conf, limits.fields, 1, 10000),
    INT("request_body", CONF_T_SIZE, struct conf, limits.request_body, 0,
        UINT64_MAX),
    TIMEOUT("header_timeout", struct conf, limits.header_timeout_ms),
    TIMEOUT("idle_timeout", struct conf, limits.idle_timeout_ms),
    TIMEOUT("body_timeout", struct conf, limits.body_timeout_ms),
    TIMEOUT("send_timeout", struct conf, limits.send_timeout_ms),
    INT("max_connections", CONF_T_UINT, struct conf, limits.max_connections, 1,
        1000000),
};

static const struct conf_key upstream_keys[] = {
    TIMEOUT("connect_timeout", struct conf, upstream.connect_timeout_ms),
    TIMEOUT("read_timeout", struct conf, upstream.read_timeout_ms),
    TIMEOUT("write_timeout", struct conf, upstream.write_timeout_ms),
    INT("keepalive", CONF_T_UINT, struct conf, upstream.keepalive, 0, 10000),
    TIMEOUT("keepalive_timeout", struct conf, upstream.keepalive_timeout_ms),
};

/* low_watermark stops at 98 as it must stay below high_watermark. LMDB
   maps all of size at start: 64 TiB is half the 128 TiB user address space
   of x86-64 (4-level paging), the largest power of two that maps there,
   with room left for the RAM tier, heap and libraries. */
static const struct conf_key disk_keys[] = {
    STR("path", CONF_T_DIR, struct conf, cache.disk.path),
    INT("size", CONF_T_SIZE, struct conf, cache.disk.size, 16 * MIB,
        64 * TIB),
    INT("high_watermark", CONF_T_UINT, struct conf, cache.disk.high_pct, 50,
        99),
    INT("low_watermark", CONF_T_UINT, struct conf, cache.disk.low_pct, 10, 98),
    INT("durability", CONF_T_DURABILITY, struct conf, cache.disk.durability, 0,
        0),
    INT("sync_interval", CONF_T_DURATION, struct conf,
        cache.disk.sync_interval_ms, 10, 3600 * 1000),
    BOOL("rebuild_incompatible", struct conf, cache.disk.rebuild_incompatible),
    INT("max_object", CONF_T_SIZE, struct conf, cache.disk.max_object, 1,
        UINT64_MAX),
};

static const struct conf_section disk_sec = SECTION("in cache.disk", disk_keys);

static const struct conf_key cache_keys[] = {
    BOOL("enabled", struct conf, cache.enabled),
    INT("memory", CONF_T_SIZE, struct conf, cache.memory, MIB, UINT64_MAX),
    INT("max_object", CONF_T_SIZE, struct conf, cache.max_object, 1,
        UINT64_MAX),
    INT("hit_for_pass", CONF_T_DURATION, struct conf, cache.hit_for_pass_ms, 0,
        DUR_MAX),
    STR("targeted_field", CONF_T_FIELD, struct conf, cache.targeted_field),
    BOOL("strip_targeted", struct conf, cache.strip_targeted),
    SUB("disk", disk_sec),
};

static const struct conf_key site_cache_keys[] = {
    BOOL("enabled", struct conf_site, cache.enabled),
    TTL("default_ttl", default_ttl_ms),
    TTL("min_ttl", min_ttl_ms),
    TTL("max_ttl", max_ttl_ms),
    BOOL("ignore_cache_control", struct conf_site, cache.ignore_cache_control),
    TTL("stale_while_revalidate", stale_while_revalidate_ms),
    TTL("stale_if_error", stale_if_error_ms),
    BOOL("store_set_cookie", struct conf_site, cache.store_set_cookie),
    INT("query", CONF_T_QUERY, struct conf_site, cache.query, 0, 0),
    LIST("query_ignore", CONF_T_QUERY_NAMES, struct conf_site,
         cache.query_ignore, cache.n_query_ignore),
    TTL("heuristic_max", heuristic_max_ms),
};

static const struct conf_section log_sec = SECTION("in log", log_keys);
static const struct conf_section limits_sec = SECTION("in limits", limits_keys);
static const struct conf_section upstream_sec =
    SECTION("in upstream", upstream_keys);
static const struct conf_section site_cache_sec;
static const struct conf_section cache_sec =
    TWIN("in cache", cache_keys, site_cache_sec, "sites[].cache");
static const struct conf_section site_cache_sec =
    TWIN("in site cache", site_cache_keys, cache_sec, "the top-level cache");

static const struct conf_key site_keys[] = {
    STR("name", CONF_T_NAME, struct conf_site, name),
    LIST("hosts", CONF_T_HOSTS, struct conf_site, hosts, n_hosts),
    LIST("origin", CONF_T_ADDRS, struct conf_site, origins, n_origins),
    BOOL("trust_forwarded", struct conf_site, trust_forwarded),
    SUB("cache", site_cache_sec),
};

static const struct conf_section site_sec = SECTION("in site", site_keys);

static const struct conf_key top_keys[] = {
    INT("workers", CONF_T_UINT, struct conf, workers, 1, CONF_WORKERS_MAX),
    STR("node_id", CONF_T_TOKEN, struct conf, node_id),
    SUB("log", log_sec),
    STR("data_dir", CONF_T_PATH, struct conf, data_dir),
    TIMEOUT("drain_timeout", struct conf, drain_timeout_ms),
    LIST("listen", CONF_T_ADDRS, struct conf, listen, n_listen),
    SUB("limits", limits_sec),
    SUB("upstream", upstream_sec),
    SUB("cache", cache_sec),
    STR("sites", CONF_T_SITES, struct conf, sites),
    STR("default_site", CONF_T_SITE_REF, struct conf, default_site),
};

static const struct conf_section top_sec = SECTION("at top level", top_keys);

static void walk(struct conf_ctx *x, const struct conf_node *map,
                 const struct conf_section *sec, void *base,
                 const char *prefix);

/* True when map has a key reported as a typo of want ("did you mean"). */
static bool
has_typo_of(const struct conf_node *map, const struct conf_section *sec,
            const char *want)
{
    const char *names[SECTION_MAX], *hint;

    ASSERT(sec->n <= SECTION_MAX);
    for (size_t i = 0; i < sec->n; i++)
        names[i] = sec->keys[i].name;
    for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
        if (map->kids[i].kind != CONF_NODE_SCALAR)
            continue;
        hint = conf_hint_pick(map->kids[i].str, names, sec->n);
        if (hint != NULL && strcmp(hint, want) == 0)
            return true;
    }
    return false;
}

static void
site_one(struct conf_ctx *x, const struct conf_node *v, size_t i)
{
    static const char *const required[] = { "name", "hosts", "origin" };
    struct conf_site *s = &x->c->sites[i];
    char prefix[32];

    x->site = i;
    conf_default_site_set(s);
    snprintf(prefix, sizeof prefix, "sites[%zu]", i);
    if (v->kind != CONF_NODE_MAP) {
        conf_ctx_err(x, v, "sites[%zu] must be a mapping, not %s", i,
                     conf_node_kind_name(v));
        return;
    }
    walk(x, v, &site_sec, s, prefix);
    for (size_t k = 0; k < ARRAY_LEN(required); k++) {
        if (conf_node_get(v, required[k]) == NULL &&
            !has_typo_of(v, &site_sec, required[k]))
            conf_ctx_err(x, v, "sites[%zu] has no '%s'", i, required[k]);
    }
}

static void
apply_sites(const struct conf_dest *d, const struct conf_node *v)
{
    struct conf *c = d->x->c;

    if (v->kind == CONF_NODE_SCALAR && v->is_null)
        return; /* "at least one site" is reported later */
    if (v->kind != CONF_NODE_SEQ) {
        conf_ctx_err(d->x, v, "sites must be a list, not %s",
                     conf_node_kind_name(v));
        return;
    }
    c->sites = xcalloc(v->n_kids, sizeof *c->sites);
    c->n_sites = v->n_kids;
    for (size_t i = 0; i < v->n_kids; i++)
        site_one(d->x, &v->kids[i], i);
}

static void
apply(const struct conf_dest *d, const struct conf_node *v)
{
    switch (d->k->type) {
    case CONF_T_MAP:
        if (v->kind == CONF_NODE_MAP)
            walk(d->x, v, d->k->sub, d->base, d->qname);
        else if (!(v->kind == CONF_NODE_SCALAR && v->is_null))
            conf_ctx_err(d->x, v, "%s must be a mapping, not %s", d->qname,
                         conf_node_kind_name(v));
        break;
    case CONF_T_SITES:
        apply_sites(d, v);
        break;
    case CONF_T_SITE_REF:
        if (conf_value_scalar(d, v, "a site name") != NULL)
            d->x->default_site = v;
        break;
    default:
        conf_value_apply(d, v);
    }
}

/* True when sec has a twin section with a key named name. */
static bool
in_twin(const struct conf_section *sec, const char *name)
{
    if (sec->twin == NULL)
        return false;
    for (size_t i = 0; i < sec->twin->n; i++) {
        if (strcmp(sec->twin->keys[i].name, name) == 0)
            return true;
    }
    return false;
}

static void
key_unknown(struct conf_ctx *x, const struct conf_section *sec,
            const struct conf_node *kn)
{
    const char *names[SECTION_MAX], *hint;
    char q[64];

    ASSERT(sec->n <= SECTION_MAX);
    for (size_t i = 0; i < sec->n; i++)
        names[i] = sec->keys[i].name;
    conf_text_quote(kn->str, q, sizeof q);
    if (in_twin(sec, kn->str)) {
        conf_ctx_err(x, kn, "unknown key '%s' %s (it goes in %s)", q,
                     sec->where, sec->twin_path);
        return;
    }
    hint = conf_hint_pick(kn->str, names, sec->n);
    if (hint != NULL)
        conf_ctx_err(x, kn, "unknown key '%s' %s (did you mean '%s'?)", q,
                     sec->where, hint);
    else
        conf_ctx_err(x, kn, "unknown key '%s' %s", q, sec->where);
}

/* Applies each pair of map to base; prefix names the section ("limits"). */
static void
walk(struct conf_ctx *x, const struct conf_node *map,
     const struct conf_section *sec, void *base, const char *prefix)
{
    const struct conf_node *seen[SECTION_MAX] = { NULL };
    struct conf_dest d = { .x = x, .base = base };

    for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
        const struct conf_node *kn = &map->kids[i];
        size_t j = 0;

        if (kn->kind != CONF_NODE_SCALAR) {
            conf_ctx_err(x, kn, "a key must be a name, not %s",
                         conf_node_kind_name(kn));
            continue;
        }
        while (j < sec->n && strcmp(sec->keys[j].name, kn->str) != 0)
            j++;
        if (j == sec->n) {
            key_unknown(x, sec, kn);
        } else if (seen[j] != NULL) {
            conf_ctx_err(x, kn, "duplicate key '%s' (first at %u:%u)",
                         kn->str, seen[j]->line, seen[j]->col);
        } else {
            seen[j] = kn;
            d.k = &sec->keys[j];
            snprintf(d.qname, sizeof d.qname, "%s%s%s", prefix,
                     *prefix ? "." : "", d.k->name);
            apply(&d, &map->kids[i + 1]);
        }
    }
}

/* A section whose keys are compared with each other. */
struct pair {
    struct conf_ctx *x;
    const struct conf_node *sec; /* its mapping, NULL when left out */
    const char *prefix;          /* "limits", "sites[1].cache" */
    enum conf_type type;         /* how to print the values */
};

/* Reports "P.ka (a) <rel> P.kb (b)" at key ka's value, else at kb's. */
static void
pair_err(const struct pair *p, const char *ka, uint64_t a, const char *rel,
         const char *kb, uint64_t b)
{
    const struct conf_node *at = conf_node_get(p->sec, ka);
    char va[32], vb[32];

    if (at == NULL)
        at = conf_node_get(p->sec, kb);
    conf_value_fmt(p->type, a, va, sizeof va);
    conf_value_fmt(p->type, b, vb, sizeof vb);
    conf_ctx_err(p->x, at, "%s.%s (%s) %s %s.%s (%s)", p->prefix, ka, va, rel,
                 p->prefix, kb, vb);
}

/* A field line longer than the whole header section could never fit. */
static void
limits_check(struct conf_ctx *x, const struct conf_node *root)
{
    const struct conf_limits *l = &x->c->limits;
    struct pair p = { x, conf_node_get(root, "limits"), "limits",
                      CONF_T_SIZE };

    if (l->field_line > l->header_section)
        pair_err(&p, "field_line", l->field_line, "must not exceed",
                 "header_section", l->header_section);
}

/* The RAM tier must be able to hold its largest object, and disk eviction
   must stop below where it starts. */
static void
cache_check(struct conf_ctx *x, const struct conf_node *root)
{
    const struct conf_cache *cc = &x->c->cache;
    const struct conf_node *cache = conf_node_get(root, "cache");
    struct pair p = { x, cache, "cache", CONF_T_SIZE };
    struct pair pd = { x, conf_node_get(cache, "disk"), "cache.disk",
                       CONF_T_UINT };

    if (cc->max_object > cc->memory)
        pair_err(&p, "max_object", cc->max_object, "must not exceed",
                 "memory", cc->memory);
    if (cc->disk.low_pct >= cc->disk.high_pct)
        pair_err(&pd, "low_watermark", cc->disk.low_pct, "must be below",
                 "high_watermark", cc->disk.high_pct);
}

/* min_ttl <= default_ttl <= max_ttl, among those set (-1 is unset). */
static void
site_cache_check(struct conf_ctx *x, const struct conf_node *site, size_t i)
{
    const struct conf_site_cache *sc = &x->c->sites[i].cache;
    int64_t def = sc->default_ttl_ms, lo = sc->min_ttl_ms, hi = sc->max_ttl_ms;
    char prefix[48];
    struct pair p = { x, conf_node_get(site, "cache"), prefix,
                      CONF_T_DURATION };

    snprintf(prefix, sizeof prefix, "sites[%zu].cache", i);
    if (lo >= 0 && hi >= 0 && lo > hi)
        pair_err(&p, "min_ttl", (uint64_t)lo, "must not exceed", "max_ttl",
                 (uint64_t)hi);
    else if (def >= 0 && lo >= 0 && def < lo)
        pair_err(&p, "default_ttl", (uint64_t)def, "must be at least",
                 "min_ttl", (uint64_t)lo);
    else if (def >= 0 && hi >= 0 && def > hi)
        pair_err(&p, "default_ttl", (uint64_t)def, "must not exceed",
                 "max_ttl", (uint64_t)hi);
}

/*
 * Checks between keys, run only on an otherwise valid file: a bad value
 * leaves its default in place, and a report comparing with that default
 * would mislead.
 */
static void
cross_check(struct conf_ctx *x, const struct conf_node *root)
{
    const struct conf_node *sites = conf_node_get(root, "sites");

    if (x->n_errs > 0)
        return;
    limits_check(x, root);
    cache_check(x, root);
    if (sites == NULL || sites->kind != CONF_NODE_SEQ)
        return;
    for (size_t i = 0; i < x->c->n_sites && i < sites->n_kids; i++)
        site_cache_check(x, &sites->kids[i], i);
}

void
conf_schema_apply(struct conf_ctx *x, const struct conf_node *root)
{
    CHECK_OBJ(x->c, CONF_MAGIC);
    conf_default_set(x->c);
    if (root == NULL || (root->kind == CONF_NODE_SCALAR && root->is_null))
        return;
    if (root->kind != CONF_NODE_MAP) {
        conf_ctx_err(x, root, "the top level must be a mapping, not %s",
                     conf_node_kind_name(root));
        return;
    }
    walk(x, root, &top_sec, x->c, "");
    cross_check(x, root);
}
