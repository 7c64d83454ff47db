/*
 * The server: main thread. Opens the listening sockets, starts the workers,
 * and turns signals into actions: SIGHUP reloads the config (a bad one is
 * refused and the running one stays), SIGTERM/SIGINT drain and stop.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/thread.h>

#define LOG_MOD "server"
#include "common/alloc.h"
#include "common/assert.h"
#include "common/log.h"
#include "common/stats.h"
#include "edge/edge_int.h"

#define LISTEN_BACKLOG 4096

static void
raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static bool
same_listen(const struct conf *a, const struct conf *b)
{
    if (a->n_listen != b->n_listen || a->workers != b->workers)
        return false;
    for (size_t i = 0; i < a->n_listen; i++)
        if (strcmp(a->listen[i].text, b->listen[i].text) != 0)
            return false;
    return true;
}

static bool
same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The caches are built once, at start, from the config of that moment: a
   reload names the cache keys it cannot apply. */
static void
warn_cache_restart(const struct conf *a, const struct conf *b)
{
    const struct conf_cache *x = &a->cache, *y = &b->cache;
    const struct conf_disk *dx = &x->disk, *dy = &y->disk;
    const struct { bool differ; const char *key; } k[] = {
        { x->enabled != y->enabled, "cache.enabled" },
        { x->memory != y->memory, "cache.memory" },
        { x->max_object != y->max_object, "cache.max_object" },
        { !same_str(dx->path, dy->path), "cache.disk.path" },
        { dx->size != dy->size, "cache.disk.size" },
        { dx->high_pct != dy->high_pct, "cache.disk.high_watermark" },
        { dx->low_pct != dy->low_pct, "cache.disk.low_watermark" },
        { dx->durability != dy->durability, "cache.disk.durability" },
        { dx->sync_interval_ms != dy->sync_interval_ms,
          "cache.disk.sync_interval" },
        { dx->rebuild_incompatible != dy->rebuild_incompatible,
          "cache.disk.rebuild_incompatible" },
        { dx->max_object != dy->max_object, "cache.disk.max_object" },
    };
    char keys[512] = "";
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_LEN(k); i++) {
        if (k[i].differ && n < sizeof keys)
            n += (size_t)snprintf(keys + n, sizeof keys - n, "%s%s",
                                  n > 0 ? ", " : "", k[i].key);
    }
    if (n > 0)
        log_warn("%s changed: cache settings take full effect only on "
                 "restart", keys);
}

static void
reload(struct server *s)
{
    struct conf_errors errs = { 0 };
    struct conf *nc = NULL;
    int rc;

    rc = s->conf_path ? conf_load_file(s->conf_path, &nc, &errs)
                      : conf_load_default(&nc, &errs);
    for (size_t i = 0; i < errs.n; i++)
        log_err("%s", errs.msgs[i]);
    conf_errors_free(&errs);
    if (rc != 0) {
        stat_inc(ST_CONF_RELOAD_FAIL);
        log_err("reload refused: the running config stays");
        return;
    }
    if (!same_listen(s->conf, nc))
        log_warn("listen addresses and workers change only on restart");
    warn_cache_restart(s->conf, nc);
    common_log_set_level(nc->log_level);
    access_log_reopen(s->alog, nc->access_log);
    conf_unref(&s->conf);
    s->conf = nc;
    for (unsigned i = 0; i < s->n_workers; i++)
        worker_post_conf(s->workers[i], nc);
    stat_inc(ST_CONF_RELOAD);
    log_info("config reloaded from %s", nc->source);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *s = arg;

    (void)what;
    if (sig == SIGHUP) {
        reload(s);
        return;
    }
    if (s->stopping)
        return;
    s->stopping = true;
    log_info("signal %d: draining (up to %u ms)", (int)sig, s->conf->drain_timeout_ms);
    for (unsigned i = 0; i < s->n_workers; i++)
        worker_post_stop(s->workers[i]);
    event_base_loopexit(s->base, NULL);
}

/* Opens every worker's sockets; on failure closes what was opened. */
static int
open_listeners(const struct conf *c, int *fds)
{
    size_t n = (size_t)c->workers * c->n_listen;

    for (size_t i = 0; i < n; i++) {
        const struct conf_addr *a = &c->listen[i % c->n_listen];

        fds[i] = listen_socket_open(a, LISTEN_BACKLOG);
        if (fds[i] < 0) {
            log_err("listen %s: %s", a->text, strerror(-fds[i]));
            while (i-- > 0)
                close(fds[i]);
            return -1;
        }
    }
    return 0;
}

static int
start_workers(struct server *s, int *fds)
{
    const struct conf *c = s->conf;

    s->workers = xcalloc(c->workers, sizeof *s->workers);
    for (unsigned i = 0; i < c->workers; i++) {
        s->workers[i] = worker_new(s, i, fds + (size_t)i * c->n_listen,
                                   c->n_listen, s->conf);
        s->n_workers++;
        if (worker_start(s->workers[i]) != 0)
            return -1;
    }
    return 0;
}

static int
open_disk(struct server *s, const struct conf *c)
{
    static const enum cache_lmdb_durability dur[] = {
        [CONF_DISK_SAFE] = CACHE_LMDB_SAFE,
        [CONF_DISK_FAST] = CACHE_LMDB_FAST,
        [CONF_DISK_SYNC] = CACHE_LMDB_SYNC,
    };
    struct cache_lmdb_conf cf = {
        .path = c->cache.disk.path,
        .map_bytes = c->cache.disk.size,
        .high_pct = c->cache.disk.high_pct,
        .low_pct = c->cache.disk.low_pct,
        .durability = dur[c->cache.disk.durability],
        .sync_interval_ms = c->cache.disk.sync_interval_ms,
        .rebuild_incompatible = c->cache.disk.rebuild_incompatible,
        /* One object never takes more than a quarter of the map. */
        .max_fill_bytes = c->cache.disk.max_object < c->cache.disk.size / 4
                              ? c->cache.disk.max_object : c->cache.disk.size / 4,
    };
    int err = 0;

    s->disk = cache_lmdb_open(&cf, &err);
    if (s->disk == NULL) {
        log_err("disk cache %s: %s", cf.path, strerror(-err));
        return -1;
    }
    log_info("disk cache %s (%llu MiB map)", cf.path,
             (unsigned long long)(cf.map_bytes >> 20));
    return 0;
}

static void
server_free(struct server *s)
{
    for (unsigned i = 0; i < s->n_workers; i++)
        worker_join_free(&s->workers[i]);
    free(s->workers);
    if (s->ev_term) event_free(s->ev_term);
    if (s->ev_int) event_free(s->ev_int);
    if (s->ev_hup) event_free(s->ev_hup);
    access_log_close(&s->alog);
    /* Disk stubs still referenced hold pins of the disk tier: close it last. */
    cache_ram_free(&s->ram);
    cache_busy_free(&s->busy);
    cache_lmdb_close(&s->disk); /* after the workers: commits what is queued */
    conf_unref(&s->conf);
    if (s->base)
        event_base_free(s->base);
}

int
server_run(const char *conf_path, struct conf *conf)
{
    struct server s = { .conf = conf, .conf_path = conf_path };
    int *fds = xcalloc((size_t)conf->workers * conf->n_listen, sizeof *fds);
    int rc = -1;

    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    evthread_use_pthreads();
    s.base = event_base_new();
    if (s.base == NULL)
        goto out;
    /* Signals first, listeners last: a node accepts connections only once
     * its caches are open, and a SIGTERM during a long disk open (cleaning
     * fills a crash left) is a clean stop, not the default action. */
    s.ev_term = evsignal_new(s.base, SIGTERM, on_signal, &s);
    s.ev_int = evsignal_new(s.base, SIGINT, on_signal, &s);
    s.ev_hup = evsignal_new(s.base, SIGHUP, on_signal, &s);
    event_add(s.ev_term, NULL);
    event_add(s.ev_int, NULL);
    event_add(s.ev_hup, NULL);
    s.alog = access_log_open(conf->access_log);
    if (conf->cache.enabled) {
        s.ram = cache_ram_new(conf->cache.memory, conf->cache.max_object);
        s.busy = cache_busy_new();
        if (conf->cache.disk.path != NULL && open_disk(&s, conf) != 0)
            goto out;
    }
    if (open_listeners(conf, fds) != 0)
        goto out;
    if (start_workers(&s, fds) != 0)
        goto out;
    for (size_t i = 0; i < conf->n_listen; i++)
        log_info("listening on %s with %u workers", conf->listen[i].text, conf->workers);
    event_base_dispatch(s.base);
    rc = 0;
out:
    free(fds);
    server_free(&s);
    log_info("stopped");
    return rc;
}
