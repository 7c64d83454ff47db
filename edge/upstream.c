/*
 * Per-worker upstream connections with keep-alive pooling. Idle connections
 * wait in a per-address list, watched for close and for their idle lifetime;
 * a request takes the most recently used one (warmest), else connects anew.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "upstream"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/stats.h"
#include "edge/edge_int.h"

#define POOL_MAGIC 0x706f6f6cu

TAILQ_HEAD(upconn_list, upstream_conn);

struct pool_server {
    struct conf_addr addr;
    struct upconn_list idle;
    unsigned n_idle;
    struct pool_server *next;
};

struct upstream_pool {
    unsigned magic;
    struct event_base *base;
    struct pool_server *servers;
};

static bool
addr_eq(const struct conf_addr *a, const struct conf_addr *b)
{
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

static struct pool_server *
server_find(struct upstream_pool *p, const struct conf_addr *a, bool create)
{
    struct pool_server *s;

    for (s = p->servers; s != NULL; s = s->next)
        if (addr_eq(&s->addr, a))
            return s;
    if (!create)
        return NULL;
    s = xcalloc(1, sizeof *s);
    s->addr = *a;
    TAILQ_INIT(&s->idle);
    s->next = p->servers;
    p->servers = s;
    return s;
}

struct upstream_pool *
upstream_pool_new(struct event_base *base)
{
    struct upstream_pool *p = xcalloc(1, sizeof *p);

    p->magic = POOL_MAGIC;
    p->base = base;
    return p;
}

static void
upconn_free(struct upstream_conn *uc)
{
    CHECK_OBJ(uc, UPCONN_MAGIC);
    stat_dec(ST_UP_LIVE);
    bufferevent_free(uc->bev);
    uc->magic = 0;
    free(uc);
}

static void
idle_remove(struct upstream_conn *uc)
{
    struct pool_server *s = server_find(uc->pool, &uc->addr, false);

    ASSERT(s != NULL && s->n_idle > 0);
    TAILQ_REMOVE(&s->idle, uc, link);
    s->n_idle--;
}

/* An idle connection spoke (stray bytes), closed, or outlived its time. */
static void
on_idle_event(struct bufferevent *bev, short what, void *arg)
{
    struct upstream_conn *uc = arg;

    (void)bev;
    (void)what;
    idle_remove(uc);
    upconn_free(uc);
}

static void
on_idle_read(struct bufferevent *bev, void *arg)
{
    on_idle_event(bev, BEV_EVENT_READING, arg);
}

static struct upstream_conn *
connect_new(struct upstream_pool *p, const struct conf_addr *a)
{
    struct upstream_conn *uc;
    struct bufferevent *bev;
    int one = 1;

    bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        return NULL;
    if (bufferevent_socket_connect(bev, (const struct sockaddr *)&a->ss,
                                   (int)a->len) < 0) {
        bufferevent_free(bev);
        stat_inc(ST_UP_CONNECT_FAIL);
        return NULL;
    }
    (void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Read upstream bodies in large slices (libevent's default: 16 KiB). */
    bufferevent_set_max_single_read(bev, EDGE_UP_READ_MAX);
    uc = xcalloc(1, sizeof *uc);
    uc->magic = UPCONN_MAGIC;
    uc->bev = bev;
    uc->pool = p;
    uc->addr = *a;
    stat_inc(ST_UP_CONNECT);
    stat_inc(ST_UP_LIVE);
    return uc;
}

struct upstream_conn *
upstream_conn_get(struct upstream_pool *p, const struct conf_addr *a)
{
    struct pool_server *s = server_find(p, a, false);
    struct upstream_conn *uc;

    CHECK_OBJ(p, POOL_MAGIC);
    if (s != NULL && (uc = TAILQ_LAST(&s->idle, upconn_list)) != NULL) {
        idle_remove(uc);
        bufferevent_setcb(uc->bev, NULL, NULL, NULL, NULL);
        bufferevent_set_timeouts(uc->bev, NULL, NULL);
        uc->reused = true;
        stat_inc(ST_UP_REUSE);
        return uc;
    }
    return connect_new(p, a);
}

void
upstream_conn_release(struct upstream_conn **ucp, bool reusable,
                      const struct conf_upstream *cu)
{
    struct upstream_conn *uc = *ucp;
    struct pool_server *s;
    struct timeval tv;

    *ucp = NULL;
    if (uc == NULL)
        return;
    CHECK_OBJ(uc, UPCONN_MAGIC);
    s = reusable ? server_find(uc->pool, &uc->addr, true) : NULL;
    if (s == NULL || s->n_idle >= cu->keepalive ||
        evbuffer_get_length(bufferevent_get_input(uc->bev)) > 0) {
        upconn_free(uc);
        return;
    }
    tv.tv_sec = cu->keepalive_timeout_ms / 1000;
    tv.tv_usec = (cu->keepalive_timeout_ms % 1000) * 1000;
    bufferevent_setwatermark(uc->bev, EV_READ, 0, 0);
    bufferevent_setcb(uc->bev, on_idle_read, NULL, on_idle_event, uc);
    bufferevent_set_timeouts(uc->bev, &tv, NULL);
    bufferevent_disable(uc->bev, EV_WRITE);
    bufferevent_enable(uc->bev, EV_READ);
    uc->idle_since_ms = clock_mono_ms();
    TAILQ_INSERT_TAIL(&s->idle, uc, link);
    s->n_idle++;
}

void
upstream_pool_close_idle(struct upstream_pool *p)
{
    struct upstream_conn *uc;

    for (struct pool_server *s = p->servers; s != NULL; s = s->next) {
        while ((uc = TAILQ_FIRST(&s->idle)) != NULL) {
            idle_remove(uc);
            upconn_free(uc);
        }
    }
}

void
upstream_pool_free(struct upstream_pool **pp)
{
    struct upstream_pool *p = *pp;
    struct pool_server *s, *next;

    *pp = NULL;
    if (p == NULL)
        return;
    CHECK_OBJ(p, POOL_MAGIC);
    upstream_pool_close_idle(p);
    for (s = p->servers; s != NULL; s = next) {
        next = s->next;
        free(s);
    }
    p->magic = 0;
    free(p);
}
