/*
 * Sites: the checks that span sites (unique names, each host pattern in one
 * place, default_site names a site, at least one site) and the lookup by
 * Host. conf_site_find() runs on every request: it allocates nothing and
 * binary-searches two sorted arrays built once per snapshot, exact names
 * and wildcard suffixes (".example.com" for "*.example.com").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "conf/conf_int.h"

static struct conf_claim *
claim_push(struct conf_claim **arr, size_t *n)
{
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    return &(*arr)[(*n)++];
}

/* The claimant's name for a report: "site 'demo'" or "sites[2]". */
static void
site_label(const struct conf_ctx *x, size_t i, char *buf, size_t size)
{
    const char *name = x->c->sites[i].name;

    if (name != NULL)
        snprintf(buf, size, "site '%s'", name);
    else
        snprintf(buf, size, "sites[%zu]", i);
}

void
conf_site_claim_name(struct conf_ctx *x, const char *name,
                     const struct conf_node *at)
{
    struct conf_claim *cl;

    for (size_t i = 0; i < x->n_names; i++) {
        cl = &x->names[i];
        if (strcmp(cl->str, name) == 0) {
            conf_ctx_err(x, at, "duplicate site name '%s' (first at %u:%u)",
                         name, cl->at->line, cl->at->col);
            return;
        }
    }
    cl = claim_push(&x->names, &x->n_names);
    *cl = (struct conf_claim){ .str = name, .site = x->site, .at = at };
}

bool
conf_site_claim_host(struct conf_ctx *x, const char *pat,
                     const struct conf_node *at)
{
    struct conf_claim *cl;
    char who[96];

    for (size_t i = 0; i < x->n_hosts; i++) {
        cl = &x->hosts[i];
        if (strcmp(cl->str, pat) != 0)
            continue;
        if (cl->site == x->site) {
            conf_ctx_err(x, at, "host pattern '%s' is listed twice in this "
                         "site (first at %u:%u)", pat, cl->at->line,
                         cl->at->col);
        } else {
            site_label(x, cl->site, who, sizeof who);
            conf_ctx_err(x, at, "host pattern '%s' is already used by %s "
                         "(at %u:%u)", pat, who, cl->at->line,
                         cl->at->col);
        }
        return false;
    }
    cl = claim_push(&x->hosts, &x->n_hosts);
    *cl = (struct conf_claim){ .str = pat, .site = x->site, .at = at };
    return true;
}

static void
default_site_resolve(struct conf_ctx *x)
{
    const struct conf_node *v = x->default_site;
    const char **names = xcalloc(x->n_names + 1, sizeof *names);
    const char *hint;
    char q[64];

    for (size_t i = 0; i < x->n_names; i++) {
        if (strcmp(x->names[i].str, v->str) == 0) {
            x->c->default_site = (int)x->names[i].site;
            free(names);
            return;
        }
        names[i] = x->names[i].str;
    }
    conf_text_quote(v->str, q, sizeof q);
    hint = conf_hint_pick(v->str, names, x->n_names);
    if (hint != NULL)
        conf_ctx_err(x, v, "default_site '%s' is not a site's name "
                     "(did you mean '%s'?)", q, hint);
    else
        conf_ctx_err(x, v, "default_site '%s' is not a site's name", q);
    free(names);
}

void
conf_site_finish(struct conf_ctx *x, const struct conf_node *root)
{
    const struct conf_node *sites = conf_node_get(root, "sites");
    bool reported = sites != NULL && sites->kind != CONF_NODE_SEQ &&
                    !(sites->kind == CONF_NODE_SCALAR && sites->is_null);

    if (root != NULL && root->kind != CONF_NODE_MAP && !root->is_null)
        reported = true; /* the top level is wrong already */
    if (x->c->n_sites == 0 && !reported)
        conf_ctx_err(x, sites ? sites : root,
                     "at least one site is required (sites: [...])");
    if (x->default_site != NULL)
        default_site_resolve(x);
}

/* Orders by length, then bytes; h is folded to lowercase as it is read. */
static int
ent_cmp(const struct conf_hostent *e, const char *h, size_t len)
{
    if (e->len != len)
        return e->len < len ? -1 : 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char a = (unsigned char)e->s[i], b = (unsigned char)h[i];

        if (b >= 'A' && b <= 'Z')
            b = (unsigned char)(b - 'A' + 'a');
        if (a != b)
            return a < b ? -1 : 1;
    }
    return 0;
}

static int
ent_sort_cmp(const void *a, const void *b)
{
    const struct conf_hostent *q = b;

    return ent_cmp(a, q->s, q->len);
}

static int
ent_find(const struct conf_hostent *arr, size_t n, const char *h, size_t len)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = ent_cmp(&arr[mid], h, len);

        if (r == 0)
            return arr[mid].site;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void
conf_site_index_build(struct conf *c)
{
    struct conf_hostidx *ix = &((struct conf_snap *)c)->idx;
    size_t n = 0;

    CHECK_OBJ(c, CONF_MAGIC);
    for (size_t i = 0; i < c->n_sites; i++)
        n += c->sites[i].n_hosts;
    ix->exact = xcalloc(n, sizeof *ix->exact);
    ix->wild = xcalloc(n, sizeof *ix->wild);
    ix->any = -1;
    for (size_t i = 0; i < c->n_sites; i++) {
        for (size_t j = 0; j < c->sites[i].n_hosts; j++) {
            const char *h = c->sites[i].hosts[j];
            struct conf_hostent *e;

            if (strcmp(h, "*") == 0) {
                ix->any = (int)i;
                continue;
            }
            e = h[0] == '*' ? &ix->wild[ix->n_wild++]
                            : &ix->exact[ix->n_exact++];
            e->s = h[0] == '*' ? h + 1 : h;
            e->len = strlen(e->s);
            e->site = (int)i;
        }
    }
    qsort(ix->exact, ix->n_exact, sizeof *ix->exact, ent_sort_cmp);
    qsort(ix->wild, ix->n_wild, sizeof *ix->wild, ent_sort_cmp);
}

void
conf_site_index_free(struct conf *c)
{
    struct conf_hostidx *ix = &((struct conf_snap *)c)->idx;

    free(ix->exact);
    free(ix->wild);
    ix->exact = ix->wild = NULL;
    ix->n_exact = ix->n_wild = 0;
}

/* The site of the longest wildcard suffix of host, or -1. */
static int
wild_find(const struct conf_hostidx *ix, const char *host, size_t len)
{
    if (ix->n_wild == 0)
        return -1;
    for (size_t i = 1; i < len; i++) {
        int site;

        if (host[i] != '.')
            continue;
        site = ent_find(ix->wild, ix->n_wild, host + i, len - i);
        if (site >= 0)
            return site;
    }
    return -1;
}

const struct conf_site *
conf_site_find(const struct conf *c, const char *host, size_t len)
{
    const struct conf_hostidx *ix;
    int site;

    CHECK_OBJ(c, CONF_MAGIC);
    ix = &((const struct conf_snap *)c)->idx;
    if (host == NULL)
        len = 0;
    if (len > 1 && host[len - 1] == '.')
        len--; /* "example.com." names the same host */
    site = len > 0 ? ent_find(ix->exact, ix->n_exact, host, len) : -1;
    if (site < 0)
        site = wild_find(ix, host, len);
    if (site < 0)
        site = ix->any;
    if (site < 0)
        site = c->default_site;
    return site < 0 ? NULL : &c->sites[site];
}
