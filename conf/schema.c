/*
 * The schema: every key the config knows, its type and range, and the walk
 * that applies a node tree to a struct conf. The walk never stops at a
 * problem: it reports the node, skips it and goes on, so one load lists
 * everything wrong with a file. Keys are case-sensitive. Defaults live in
 * default.c, value conversion in value.c.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "conf/conf_int.h"

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define DUR_MAX (24ull * 3600 * 1000) /* timeouts: at most a day */
#define SECTION_MAX 16

#define FIELD(T, f) offsetof(T, f), 0, sizeof(((T *)0)->f)
#define INT(n, k, T, f, lo, hi) { n, k, FIELD(T, f), lo, hi, NULL }
#define STR(n, k, T, f) { n, k, offsetof(T, f), 0, 0, 0, 0, NULL }
#define LIST(n, k, T, f, nf)                                               \
    { n, k, offsetof(T, f), offsetof(T, nf), 0, 0, 0, NULL }
#define SUB(n, s) { n, CONF_T_MAP, 0, 0, 0, 0, 0, &s }
#define SECTION(where, keys) { where, keys, ARRAY_LEN(keys) }
#define TIMEOUT(n, T, f) INT(n, CONF_T_DURATION, T, f, 1, DUR_MAX)

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

static const struct conf_key site_keys[] = {
    STR("name", CONF_T_NAME, struct conf_site, name),
    LIST("hosts", CONF_T_HOSTS, struct conf_site, hosts, n_hosts),
    LIST("origin", CONF_T_ADDRS, struct conf_site, origins, n_origins),
    INT("trust_forwarded", CONF_T_BOOL, struct conf_site, trust_forwarded, 0,
        1),
};

static const struct conf_section log_sec = SECTION("in log", log_keys);
static const struct conf_section limits_sec = SECTION("in limits", limits_keys);
static const struct conf_section upstream_sec =
    SECTION("in upstream", upstream_keys);
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

/* A field line longer than the whole header section could never fit. */
static void
limits_check(struct conf_ctx *x, const struct conf_node *root)
{
    const struct conf_limits *l = &x->c->limits;
    const struct conf_node *lim = conf_node_get(root, "limits"), *at;
    char fl[32], hs[32];

    if (x->n_errs > 0 || l->field_line <= l->header_section)
        return;
    at = conf_node_get(lim, "field_line");
    if (at == NULL)
        at = conf_node_get(lim, "header_section");
    conf_value_fmt(CONF_T_SIZE, l->field_line, fl, sizeof fl);
    conf_value_fmt(CONF_T_SIZE, l->header_section, hs, sizeof hs);
    conf_ctx_err(x, at, "limits.field_line (%s) must not exceed "
                 "limits.header_section (%s)", fl, hs);
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
    limits_check(x, root);
}
