/*
 * A worker: one thread, one event_base, its own listening sockets, and every
 * connection it accepted. The main thread talks to it only by posting a
 * config or a stop request under the worker's mutex and activating ev_ctl.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MOD "worker"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/log.h"
#include "common/stats.h"
#include "edge/edge_int.h"

#define ALOG_BUF (64 * 1024)

static struct wconf *
wconf_new(struct conf *c)
{
    struct wconf *wc = xcalloc(1, sizeof *wc);

    wc->conf = conf_ref(c);
    return wc;
}

static void
wconf_free(struct wconf *wc)
{
    conf_unref(&wc->conf);
    free(wc);
}

struct wconf *
worker_conf_acquire(struct worker *w)
{
    w->wc->users++;
    return w->wc;
}

void
worker_conf_release(struct worker *w, struct wconf *wc)
{
    ASSERT(wc->users > 0);
    wc->users--;
    if (wc->users == 0 && wc != w->wc)
        wconf_free(wc);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
    struct worker *w = arg;

    (void)l;
    if (w->draining || w->n_conns >= w->wc->conf->limits.max_connections) {
        stat_inc(ST_CONN_REFUSED);
        close(fd);
        return;
    }
    conn_accept(w, fd, sa, salen);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();

    (void)l;
    (void)arg;
    /* EMFILE and friends: the listener retries on the next readiness. */
    log_warn("accept: %s", evutil_socket_error_to_string(err));
}

static void
flush_alog(struct worker *w)
{
    if (w->alog_len > 0)
        access_log_write(w->srv->alog, w->alog, w->alog_len);
    w->alog_len = 0;
}

static void
on_alog_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush_alog(arg);
}

void
worker_alog_append(struct worker *w, const char *line, size_t len)
{
    if (!access_log_enabled(w->srv->alog) || len > ALOG_BUF)
        return;
    if (w->alog_len + len > ALOG_BUF)
        flush_alog(w);
    memcpy(w->alog + w->alog_len, line, len);
    w->alog_len += len;
}

/* Both cached date strings follow the loop's cached clock, per second. */
static void
update_dates(struct worker *w)
{
    struct timeval tv;
    struct tm tm;

    event_base_gettimeofday_cached(w->base, &tv);
    if (tv.tv_sec == w->date_sec)
        return;
    w->date_sec = tv.tv_sec;
    gmtime_r(&tv.tv_sec, &tm);
    strftime(w->date, sizeof w->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    strftime(w->log_time, sizeof w->log_time, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *
worker_date(struct worker *w)
{
    update_dates(w);
    return w->date;
}

const char *
worker_log_time(struct worker *w)
{
    update_dates(w);
    return w->log_time;
}

static void
on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    (void)fd;
    (void)what;
    log_warn("worker %u: drain timeout with %u connections left", w->id, w->n_conns);
    event_base_loopbreak(w->base);
}

static void
begin_drain(struct worker *w)
{
    struct timeval tv;
    uint32_t ms = w->wc->conf->drain_timeout_ms;
    struct conn *c, *next;

    w->draining = true;
    for (size_t i = 0; i < w->n_listeners; i++)
        evconnlistener_free(w->listeners[i]);
    w->n_listeners = 0;
    upstream_pool_close_idle(w->pool);
    for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
        next = TAILQ_NEXT(c, link);
        conn_drain(c);
    }
    if (w->n_conns == 0) {
        event_base_loopexit(w->base, NULL);
        return;
    }
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    w->ev_drain_deadline = evtimer_new(w->base, on_drain_deadline, w);
    evtimer_add(w->ev_drain_deadline, &tv);
}

static void
on_ctl(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct conf *nc;
    bool stop;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&w->mu);
    nc = w->pending;
    w->pending = NULL;
    stop = w->stop_requested;
    pthread_mutex_unlock(&w->mu);
    if (nc != NULL) {
        struct wconf *old = w->wc;

        w->wc = wconf_new(nc);
        conf_unref(&nc);
        if (old->users == 0)
            wconf_free(old);
    }
    if (stop && !w->draining)
        begin_drain(w);
}

void
worker_conn_gone(struct worker *w, struct conn *c)
{
    TAILQ_REMOVE(&w->conns, c, link);
    w->n_conns--;
    if (w->draining && w->n_conns == 0)
        event_base_loopexit(w->base, NULL);
}

struct worker *
worker_new(struct server *srv, unsigned id, const int *fds, size_t n_fds,
           struct conf *conf)
{
    struct worker *w = xcalloc(1, sizeof *w);
    struct timeval sec = { 1, 0 };

    w->magic = WORKER_MAGIC;
    w->id = id;
    w->srv = srv;
    pthread_mutex_init(&w->mu, NULL);
    TAILQ_INIT(&w->conns);
    TAILQ_INIT(&w->dirty);
    {
        /* The changelist folds the add/del pairs of one loop iteration
         * into one epoll_ctl: output buffers empty and refill constantly. */
        struct event_config *cfg = event_config_new();

        event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        w->base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    ASSERT(w->base != NULL);
    w->wc = wconf_new(conf);
    w->pool = upstream_pool_new(w->base);
    w->alog = xmalloc(ALOG_BUF);
    w->listeners = xcalloc(n_fds, sizeof *w->listeners);
    for (size_t i = 0; i < n_fds; i++) {
        w->listeners[i] = evconnlistener_new(w->base, on_accept, w,
                                             LEV_OPT_CLOSE_ON_FREE, -1, fds[i]);
        ASSERT(w->listeners[i] != NULL);
        evconnlistener_set_error_cb(w->listeners[i], on_accept_error);
        w->n_listeners++;
    }
    w->ev_ctl = event_new(w->base, -1, 0, on_ctl, w);
    w->ev_flush = event_new(w->base, -1, 0, conn_flush_run, w);
    w->ev_alog_flush = event_new(w->base, -1, EV_PERSIST, on_alog_timer, w);
    event_add(w->ev_alog_flush, &sec);
    return w;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct conn *c;

    stats_thread_register();
    event_base_dispatch(w->base);
    /* Drained or out of time: whatever is left is cut. */
    while ((c = TAILQ_FIRST(&w->conns)) != NULL)
        conn_abort(c);
    flush_alog(w);
    return NULL;
}

int
worker_start(struct worker *w)
{
    int rc = pthread_create(&w->thread, NULL, worker_main, w);

    if (rc != 0) {
        log_err("worker %u: %s", w->id, strerror(rc));
        return -rc;
    }
    return 0;
}

void
worker_post_conf(struct worker *w, struct conf *conf)
{
    pthread_mutex_lock(&w->mu);
    if (w->pending != NULL)
        conf_unref(&w->pending);
    w->pending = conf_ref(conf);
    pthread_mutex_unlock(&w->mu);
    event_active(w->ev_ctl, EV_READ, 0);
}

void
worker_post_stop(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop_requested = true;
    pthread_mutex_unlock(&w->mu);
    event_active(w->ev_ctl, EV_READ, 0);
}

void
worker_join_free(struct worker **wp)
{
    struct worker *w = *wp;

    *wp = NULL;
    if (w == NULL)
        return;
    CHECK_OBJ(w, WORKER_MAGIC);
    pthread_join(w->thread, NULL);
    for (size_t i = 0; i < w->n_listeners; i++)
        evconnlistener_free(w->listeners[i]);
    free(w->listeners);
    upstream_pool_free(&w->pool);
    if (w->ev_drain_deadline)
        event_free(w->ev_drain_deadline);
    event_free(w->ev_ctl);
    event_free(w->ev_flush);
    event_free(w->ev_alog_flush);
    if (w->pending)
        conf_unref(&w->pending);
    ASSERT(w->wc->users == 0);
    wconf_free(w->wc);
    free(w->alog);
    event_base_free(w->base);
    pthread_mutex_destroy(&w->mu);
    w->magic = 0;
    free(w);
}
