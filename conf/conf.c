/*
 * Config snapshots (allocation, refcount, release) and problem reports.
 * A snapshot is immutable once conf_load_*() returns it; only its refcount
 * changes, atomically, so any thread may ref and unref it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "conf/conf_int.h"

struct conf *
conf_snap_new(const char *source)
{
    struct conf_snap *s = xcalloc(1, sizeof *s);
    struct conf *c = &s->c;

    c->magic = CONF_MAGIC;
    c->refcnt = 1;
    c->source = xstrdup(source);
    c->default_site = -1;
    s->idx.any = -1;
    return c;
}

static void
site_clear(struct conf_site *s)
{
    free(s->name);
    for (size_t i = 0; i < s->n_hosts; i++)
        free(s->hosts[i]);
    free(s->hosts);
    free(s->origins);
    for (size_t i = 0; i < s->cache.n_query_ignore; i++)
        free(s->cache.query_ignore[i]);
    free(s->cache.query_ignore);
}

/* Frees a snapshot whatever its refcount (also half-built ones). */
void
conf_snap_free(struct conf **cp)
{
    struct conf *c = *cp;

    *cp = NULL;
    if (c == NULL)
        return;
    CHECK_OBJ(c, CONF_MAGIC);
    conf_site_index_free(c);
    for (size_t i = 0; i < c->n_sites; i++)
        site_clear(&c->sites[i]);
    free(c->sites);
    free(c->listen);
    free(c->data_dir);
    free(c->access_log);
    free(c->node_id);
    free(c->cache.targeted_field);
    free(c->cache.disk.path);
    free(c->source);
    c->magic = 0;
    free((struct conf_snap *)c);
}

struct conf *
conf_ref(struct conf *c)
{
    unsigned before;

    CHECK_OBJ(c, CONF_MAGIC);
    before = __atomic_fetch_add(&c->refcnt, 1, __ATOMIC_RELAXED);
    ASSERT(before > 0);
    return c;
}

void
conf_unref(struct conf **cp)
{
    struct conf *c = *cp;
    unsigned before;

    *cp = NULL;
    if (c == NULL)
        return;
    CHECK_OBJ(c, CONF_MAGIC);
    before = __atomic_fetch_sub(&c->refcnt, 1, __ATOMIC_ACQ_REL);
    ASSERT(before > 0);
    if (before == 1)
        conf_snap_free(&c);
}

void
conf_errors_free(struct conf_errors *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n; i++)
        free(e->msgs[i]);
    free(e->msgs);
    e->msgs = NULL;
    e->n = 0;
}

static char *
vfmt(const char *fmt, va_list ap)
{
    va_list ap2;
    char *s;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    ASSERT(n >= 0);
    s = xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static void
errors_push(struct conf_errors *e, char *msg)
{
    e->msgs = xrealloc(e->msgs, (e->n + 1) * sizeof *e->msgs);
    e->msgs[e->n++] = msg;
}

void
conf_errors_add(struct conf_errors *e, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (e == NULL)
        return;
    va_start(ap, fmt);
    msg = vfmt(fmt, ap);
    va_end(ap);
    errors_push(e, msg);
}

void
conf_ctx_init(struct conf_ctx *x, const char *name)
{
    memset(x, 0, sizeof *x);
    x->name = name;
}

static void
ctx_push(struct conf_ctx *x, unsigned line, unsigned col, const char *fmt,
         va_list ap)
{
    char *text = vfmt(fmt, ap);
    struct conf_err *e;

    if (x->n_errs == x->cap_errs) {
        x->cap_errs = x->cap_errs ? 2 * x->cap_errs : 8;
        x->errs = xrealloc(x->errs, x->cap_errs * sizeof *x->errs);
    }
    e = &x->errs[x->n_errs];
    e->line = line;
    e->col = col;
    e->seq = x->n_errs++;
    if (line > 0) {
        e->msg = xmalloc(strlen(x->name) + strlen(text) + 32);
        sprintf(e->msg, "%s:%u:%u: %s", x->name, line, col, text);
    } else {
        e->msg = xmalloc(strlen(x->name) + strlen(text) + 3);
        sprintf(e->msg, "%s: %s", x->name, text);
    }
    free(text);
}

void
conf_ctx_err_at(struct conf_ctx *x, unsigned line, unsigned col,
                const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ctx_push(x, line, col, fmt, ap);
    va_end(ap);
}

void
conf_ctx_err(struct conf_ctx *x, const struct conf_node *at, const char *fmt,
             ...)
{
    va_list ap;

    va_start(ap, fmt);
    ctx_push(x, at ? at->line : 1, at ? at->col : 1, fmt, ap);
    va_end(ap);
}

static int
err_cmp(const void *a, const void *b)
{
    const struct conf_err *p = a, *q = b;

    if (p->line != q->line)
        return p->line < q->line ? -1 : 1;
    if (p->col != q->col)
        return p->col < q->col ? -1 : 1;
    return p->seq < q->seq ? -1 : p->seq > q->seq;
}

void
conf_ctx_finish(struct conf_ctx *x, struct conf_errors *errs)
{
    if (x->n_errs > 1)
        qsort(x->errs, x->n_errs, sizeof *x->errs, err_cmp);
    for (size_t i = 0; i < x->n_errs; i++) {
        if (errs != NULL)
            errors_push(errs, x->errs[i].msg);
        else
            free(x->errs[i].msg);
    }
    free(x->errs);
    free(x->names);
    free(x->hosts);
    x->errs = NULL;
    x->names = x->hosts = NULL;
    x->n_errs = x->n_names = x->n_hosts = 0;
}

void
conf_text_quote(const char *s, char *buf, size_t size)
{
    size_t i = 0;

    ASSERT(size > 4);
    for (; *s != '\0' && i < size - 1 && i < 60; s++)
        buf[i++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    if (*s != '\0' && i >= 3)
        memcpy(buf + i - 3, "...", 3);
    buf[i] = '\0';
}
