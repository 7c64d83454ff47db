/*
 * Background revalidation (RFC 5861 stale-while-revalidate): a client gets
 * the stale object at once, and the node sends itself the same GET through
 * an internal connection (a bufferevent pair) that validates upstream and
 * stores the outcome like any miss. The busy entry is taken here, before
 * the internal request exists, so each key has one revalidation at a time.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <event2/bufferevent.h>

#define LOG_MOD "revalidate"
#include "common/assert.h"
#include "common/log.h"
#include "edge/edge_int.h"

/* The pair end the node writes the request into and reads nothing from. */
static void
on_peer_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

/* True when name[0..len) is one of the comma-separated names. */
static bool
in_names(const char *names, const char *name, size_t len)
{
    const char *p = names;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        if (n == len && strncasecmp(p, name, len) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* The request: same target and Host, plus the fields the variant varies on. */
static void
write_request(struct evbuffer *out, const struct conn *c, const struct cache_obj *o)
{
    const struct h1_request *r = &c->req;

    evbuffer_add(out, "GET ", 4);
    evbuffer_add(out, r->path, r->path_len);
    evbuffer_add(out, " HTTP/1.1\r\nHost: ", 17);
    evbuffer_add(out, r->host, r->host_len);
    evbuffer_add(out, "\r\nConnection: close\r\n", 21);
    for (uint32_t i = 0; i < r->n_fields && o->vary_names != NULL; i++) {
        const struct h1_field *f = &r->fields[i];

        if (!in_names(o->vary_names, f->name, f->name_len))
            continue;
        evbuffer_add(out, f->name, f->name_len);
        evbuffer_add(out, ": ", 2);
        evbuffer_add(out, f->value, f->value_len);
        evbuffer_add(out, "\r\n", 2);
    }
    evbuffer_add(out, "\r\n", 2);
}

void
revalidate_spawn(struct conn *c, const struct cache_obj *o)
{
    struct creq *q = c->cq;
    struct bufferevent *pair[2];
    struct cache_busy_entry *e;
    struct conn *ic;
    struct creq *iq;
    bool leader;

    if (c->internal || c->req.host == NULL || c->w->draining)
        return;
    e = cache_busy_join(c->w->srv->busy, q->key.hash, q->key.buf, q->key.len, &leader);
    if (!leader) { /* a fetch for the key is under way already */
        cache_busy_entry_unref(&e);
        return;
    }
    if (bufferevent_pair_new(c->w->base, BEV_OPT_CLOSE_ON_FREE, pair) != 0) {
        cache_busy_unindex(c->w->srv->busy, e);
        cache_busy_publish(e, CACHE_BUSY_FAILED, NULL, 0);
        cache_busy_entry_unref(&e);
        return;
    }
    ic = conn_internal(c->w, pair[1]);
    iq = cache_flow_creq(ic);
    iq->busy = e;
    iq->leader = true;
    iq->prejoined = true;
    iq->revalidate = true;
    ic->pair_peer = pair[0]; /* freed with the internal connection */
    bufferevent_setcb(pair[0], on_peer_read, NULL, NULL, NULL);
    bufferevent_enable(pair[0], EV_READ);
    write_request(bufferevent_get_output(pair[0]), c, o);
}
