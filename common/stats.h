/*
 * Counters and gauges. Each worker thread owns a block it bumps without
 * locks or atomic read-modify-write; a scrape sums all blocks. Threads that
 * never registered a block (main, helpers) share one with atomic adds.
 * Counter names are listed once in STATS_LIST so scrapers can print them.
 */
#ifndef COMMON_STATS_H
#define COMMON_STATS_H

#include <stdint.h>

#define STATS_LIST(X)                                                      \
    X(ST_CONN_ACCEPTED, "conn_accepted")                                   \
    X(ST_CONN_REFUSED, "conn_refused_limit")                               \
    X(ST_CONN_LIVE, "conn_live")                                           \
    X(ST_CONN_TIMEOUT_HEADER, "conn_timeout_header")                       \
    X(ST_CONN_TIMEOUT_IDLE, "conn_timeout_idle")                           \
    X(ST_CONN_TIMEOUT_BODY, "conn_timeout_body")                           \
    X(ST_REQ_TOTAL, "req_total")                                           \
    X(ST_REQ_BAD, "req_bad")                                               \
    X(ST_REQ_LOOP, "req_loop_detected")                                    \
    X(ST_REQ_NO_SITE, "req_no_site")                                       \
    X(ST_RESP_2XX, "resp_2xx")                                             \
    X(ST_RESP_3XX, "resp_3xx")                                             \
    X(ST_RESP_4XX, "resp_4xx")                                             \
    X(ST_RESP_5XX, "resp_5xx")                                             \
    X(ST_UP_CONNECT, "upstream_connect")                                   \
    X(ST_UP_CONNECT_FAIL, "upstream_connect_fail")                         \
    X(ST_UP_REUSE, "upstream_reuse")                                       \
    X(ST_UP_RETRY, "upstream_retry")                                       \
    X(ST_UP_TIMEOUT, "upstream_timeout")                                   \
    X(ST_UP_BAD_RESPONSE, "upstream_bad_response")                         \
    X(ST_UP_LIVE, "upstream_conn_live")                                    \
    X(ST_CACHE_HIT, "cache_hit")                                           \
    X(ST_CACHE_MISS, "cache_miss")                                         \
    X(ST_CACHE_STORE, "cache_store")                                       \
    X(ST_CACHE_PASS, "cache_pass")                                         \
    X(ST_CACHE_COLLAPSED, "cache_collapsed")                               \
    X(ST_CACHE_REVALIDATED, "cache_revalidated")                           \
    X(ST_CACHE_STALE_ERROR, "cache_stale_if_error")                        \
    X(ST_CACHE_TOO_BIG, "cache_too_big")                                   \
    X(ST_CACHE_DISK_HIT, "cache_disk_hit")                                 \
    X(ST_CACHE_DISK_DROP, "cache_disk_store_dropped")                      \
    X(ST_CACHE_DISK_READ_ERROR, "cache_disk_read_error")                   \
    X(ST_CACHE_DISK_FILL, "cache_disk_fill")                               \
    X(ST_CACHE_DISK_FILL_FAIL, "cache_disk_fill_failed")                   \
    X(ST_CACHE_INVALIDATE, "cache_invalidate")                             \
    X(ST_CONF_RELOAD, "config_reload")                                     \
    X(ST_CONF_RELOAD_FAIL, "config_reload_fail")

enum stat_id {
#define STAT_ENUM(id, name) id,
    STATS_LIST(STAT_ENUM)
#undef STAT_ENUM
    ST__COUNT
};

struct stats_block {
    int64_t v[ST__COUNT];
};

extern _Thread_local struct stats_block *stats_tls;
extern struct stats_block stats_shared;

/* Gives the calling thread its own block; call once per worker thread. */
void stats_thread_register(void);
/* Sums every block into out. */
void stats_snapshot(struct stats_block *out);
const char *stats_name(enum stat_id id);

static inline void
stat_add(enum stat_id id, int64_t n)
{
    struct stats_block *b = stats_tls;

    if (b != NULL) {
        /* Owner-only writes: relaxed load+store, no lock prefix. */
        int64_t cur = __atomic_load_n(&b->v[id], __ATOMIC_RELAXED);
        __atomic_store_n(&b->v[id], cur + n, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_add(&stats_shared.v[id], n, __ATOMIC_RELAXED);
    }
}

#define stat_inc(id) stat_add((id), 1)
#define stat_dec(id) stat_add((id), -1)

#endif
