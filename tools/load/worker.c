/*
 * Worker loop. Idle connections wait in a FIFO ring so load spreads over
 * all of them. dispatch() issues every request that is due while a
 * connection is free; completions and timers call it again. A 50 ms tick
 * expires requests past --timeout, returns connections after a connect
 * back-off, and notices the end of the phase or a stop request.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "common/clock.h"
#include "tools/load/client.h"
#include "tools/load/worker.h"

#define TICK_US 50000
#define CONNECT_BACKOFF_US 50000 /* closed loop: do not spin on a dead port */
#define LATE_GRACE_US 20000      /* open loop: timer lateness tolerated at the end */

static int stop_all; /* set from a signal handler: atomics only */

struct load_worker {
    unsigned magic;
    struct load_worker_cfg cfg;
    struct event_base *base;
    struct event tick, sched;
    struct load_conn **conns;
    unsigned *ring; /* idle connection ids */
    unsigned ring_head, n_idle;
    uint64_t *retry_at; /* per connection: back-off end, 0 when none */
    size_t wbuf_size;
    double step_us; /* between requests of the whole run (open loop) */
    struct load_phase ph;
    struct load_tally *t;
    uint64_t issued, inflight, unsent, abandoned;
    bool stopping;
};

static void on_done(struct load_conn *c, const struct load_result *r, void *arg);
static void on_tick(evutil_socket_t fd, short what, void *arg);
static void on_sched(evutil_socket_t fd, short what, void *arg);

static struct event_base *
new_base(bool precise)
{
    struct event_config *ec = event_config_new();
    struct event_base *b;

    if (ec == NULL)
        return NULL;
    /* One thread at a time uses a base: no locks. Open loop needs timers
       finer than epoll's milliseconds. */
    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
    if (precise)
        event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    b = event_base_new_with_config(ec);
    event_config_free(ec);
    return b;
}

struct load_worker *
load_worker_new(const struct load_worker_cfg *cfg)
{
    struct load_worker *w = xcalloc(1, sizeof *w);
    struct load_conn_cfg cc = {
        .addr = cfg->addr, .addr_len = cfg->addr_len, .tls = cfg->tls, .sni = cfg->sni,
        .wbuf_size = load_workload_max_len(cfg->wl), .on_done = on_done, .arg = w,
    };

    ASSERT(cfg->n_conns > 0);
    w->magic = LOAD_WORKER_MAGIC;
    w->cfg = *cfg;
    w->base = new_base(cfg->rate > 0);
    if (w->base == NULL) {
        free(w);
        return NULL;
    }
    cc.base = w->base;
    w->wbuf_size = cc.wbuf_size;
    w->step_us = cfg->rate > 0 ? 1e6 / cfg->rate : 0;
    w->conns = xcalloc(cfg->n_conns, sizeof *w->conns);
    w->ring = xcalloc(cfg->n_conns, sizeof *w->ring);
    w->retry_at = xcalloc(cfg->n_conns, sizeof *w->retry_at);
    for (unsigned i = 0; i < cfg->n_conns; i++)
        w->conns[i] = load_conn_new(&cc, i);
    event_assign(&w->tick, w->base, -1, EV_PERSIST, on_tick, w);
    evtimer_assign(&w->sched, w->base, on_sched, w);
    return w;
}

void
load_worker_free(struct load_worker **wp)
{
    struct load_worker *w = *wp;

    *wp = NULL;
    if (w == NULL)
        return;
    CHECK_OBJ(w, LOAD_WORKER_MAGIC);
    for (unsigned i = 0; i < w->cfg.n_conns; i++)
        load_conn_free(&w->conns[i]);
    free(w->conns);
    free(w->ring);
    free(w->retry_at);
    event_base_free(w->base);
    w->magic = 0;
    free(w);
}

static void
idle_push(struct load_worker *w, unsigned id)
{
    ASSERT(w->n_idle < w->cfg.n_conns);
    w->ring[(w->ring_head + w->n_idle) % w->cfg.n_conns] = id;
    w->n_idle++;
}

static unsigned
idle_pop(struct load_worker *w)
{
    unsigned id = w->ring[w->ring_head];

    ASSERT(w->n_idle > 0);
    w->ring_head = (w->ring_head + 1) % w->cfg.n_conns;
    w->n_idle--;
    return id;
}

/* Global index of this worker's j-th request of the phase. */
static uint64_t
global_k(const struct load_worker *w, uint64_t j)
{
    return j * w->cfg.n_workers + w->cfg.index;
}

static uint64_t
due_time(const struct load_worker *w, uint64_t j)
{
    return w->ph.start_us + (uint64_t)((double)global_k(w, j) * w->step_us);
}

static void
issue(struct load_worker *w, uint64_t due)
{
    struct load_conn *c = w->conns[idle_pop(w)];
    struct load_pick p;
    size_t len;

    load_workload_pick(w->cfg.wl, w->cfg.seed, w->ph.stream, global_k(w, w->issued), &p);
    len = load_workload_format(w->cfg.wl, &p, load_conn_buf(c), w->wbuf_size);
    w->issued++;
    w->inflight++;
    load_conn_send(c, len, due);
}

static void
maybe_finish(struct load_worker *w)
{
    if ((w->stopping || w->issued >= w->ph.quota) && w->inflight == 0)
        event_base_loopbreak(w->base);
}

/* No request is sent from then on. Open loop: one due just before the end
   may still go out if the timer woke a little late; a real backlog not. */
static uint64_t
stop_time(const struct load_worker *w)
{
    return w->ph.end_us + (w->step_us > 0 ? LATE_GRACE_US : 0);
}

static void
dispatch(struct load_worker *w)
{
    uint64_t now = clock_mono_us();

    if (load_worker_stopping())
        w->stopping = true;
    while (!w->stopping && w->n_idle > 0 && w->issued < w->ph.quota) {
        uint64_t due = w->step_us > 0 ? due_time(w, w->issued) : now;

        if (w->ph.end_us != 0 && (due >= w->ph.end_us || now >= stop_time(w))) {
            w->stopping = true;
            break;
        }
        if (due > now) {
            struct timeval tv = { .tv_sec = (time_t)((due - now) / 1000000),
                                  .tv_usec = (suseconds_t)((due - now) % 1000000) };

            evtimer_add(&w->sched, &tv);
            return;
        }
        issue(w, due);
    }
    maybe_finish(w);
}

static void
on_done(struct load_conn *c, const struct load_result *r, void *arg)
{
    struct load_worker *w = arg;
    unsigned id = load_conn_id(c);

    ASSERT(w->inflight > 0);
    w->inflight--;
    load_tally_record(w->t, r);
    if (r->err == LOAD_ERR_CONNECT && w->step_us == 0)
        w->retry_at[id] = r->done_us + CONNECT_BACKOFF_US;
    else
        idle_push(w, id);
    dispatch(w);
}

static void
on_sched(evutil_socket_t fd, short what, void *arg)
{
    dispatch(arg);
}

static void
abandon_all(struct load_worker *w)
{
    for (unsigned i = 0; i < w->cfg.n_conns; i++) {
        if (!load_conn_busy(w->conns[i]))
            continue;
        load_conn_abandon(w->conns[i]);
        w->inflight--;
        w->abandoned++;
        idle_push(w, i);
    }
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct load_worker *w = arg;
    uint64_t now = clock_mono_us();

    if (load_worker_stopping()) {
        w->stopping = true;
        abandon_all(w);
    }
    if (w->ph.end_us != 0 && now >= stop_time(w))
        w->stopping = true;
    for (unsigned i = 0; i < w->cfg.n_conns; i++) {
        load_conn_expire(w->conns[i], now, w->cfg.timeout_us);
        if (w->retry_at[i] != 0 && now >= w->retry_at[i]) {
            w->retry_at[i] = 0;
            idle_push(w, i);
        }
    }
    dispatch(w);
}

/* Open loop with a time limit: requests of ours due before the end. */
static uint64_t
due_before_end(const struct load_worker *w)
{
    double slots = (double)(w->ph.end_us - w->ph.start_us) / w->step_us;
    double mine = (slots - w->cfg.index) / w->cfg.n_workers;

    return mine > 0 ? (uint64_t)ceil(mine) : 0;
}

void
load_worker_run(struct load_worker *w, const struct load_phase *ph, struct load_tally *t)
{
    struct timeval tick = { 0, TICK_US };

    CHECK_OBJ(w, LOAD_WORKER_MAGIC);
    w->ph = *ph;
    w->t = t;
    w->issued = w->inflight = w->unsent = 0;
    w->stopping = false;
    w->n_idle = w->ring_head = 0;
    for (unsigned i = 0; i < w->cfg.n_conns; i++) {
        w->retry_at[i] = 0;
        idle_push(w, i);
    }
    event_add(&w->tick, &tick);
    event_active(&w->sched, EV_TIMEOUT, 1); /* first dispatch inside the loop */
    event_base_dispatch(w->base);
    event_del(&w->tick);
    event_del(&w->sched);
    if (w->step_us > 0 && w->ph.end_us != 0 && !load_worker_stopping()) {
        uint64_t due = due_before_end(w);

        w->unsent = due > w->issued ? due - w->issued : 0;
    }
}

uint64_t
load_worker_unsent(const struct load_worker *w)
{
    return w->unsent;
}

uint64_t
load_worker_abandoned(const struct load_worker *w)
{
    return w->abandoned;
}

void
load_worker_stop_all(void)
{
    __atomic_store_n(&stop_all, 1, __ATOMIC_RELAXED);
}

bool
load_worker_stopping(void)
{
    return __atomic_load_n(&stop_all, __ATOMIC_RELAXED) != 0;
}
