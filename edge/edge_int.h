/*
 * Private declarations shared by the edge daemon's files: the server (main
 * thread), workers (one event_base each), client connections and the
 * upstream exchange. Every connection lives on the worker that accepted it;
 * nothing here is shared across threads except where a comment says so.
 */
#ifndef EDGE_EDGE_INT_H
#define EDGE_EDGE_INT_H

#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "cache/busy.h"
#include "cache/key.h"
#include "cache/lmdb_tier.h"
#include "cache/obj.h"
#include "cache/policy.h"
#include "cache/ram.h"
#include "conf/conf.h"
#include "edge/h1.h"

#define WORKER_MAGIC 0x776b7231u
#define CONN_MAGIC 0x636f6e6eu
#define UPCONN_MAGIC 0x7570636eu

/* Hard cap on field lines, whatever the config says (bounds stack use). */
#define EDGE_MAX_FIELDS 1024
/* Client output above this pauses the upstream read (backpressure). */
#define EDGE_OUT_HIGH (256 * 1024)
#define EDGE_OUT_LOW (64 * 1024)
/* Upstream input is read in bounded slices. */
#define EDGE_UP_READ_MAX (256 * 1024)

struct server;
struct worker;
struct upstream_pool;
struct access_log;

/* A config snapshot as one worker uses it: users counts this worker's
 * requests that began under it, so a reload never pulls it from under them. */
struct wconf {
    struct conf *conf;
    unsigned users;
    bool retired;
};

/* ---- server.c: process-wide state, main thread ---- */
struct server {
    struct event_base *base;
    struct conf *conf; /* current snapshot (one ref) */
    const char *conf_path; /* NULL = embedded default */
    struct worker **workers;
    unsigned n_workers;
    struct access_log *alog;
    struct cache_ram *ram;   /* NULL when caching is off at start */
    struct cache_lmdb *disk; /* NULL without cache.disk */
    struct cache_busy *busy;
    struct event *ev_term, *ev_int, *ev_hup;
    bool stopping;
};

int server_run(const char *conf_path, struct conf *conf);

/* ---- worker.c ---- */
struct worker {
    unsigned magic;
    unsigned id;
    struct server *srv;
    struct event_base *base;
    pthread_t thread;
    struct evconnlistener **listeners;
    size_t n_listeners;
    struct wconf *wc;      /* current config holder */
    struct conf *pending;  /* posted by main thread under mu */
    pthread_mutex_t mu;
    struct event *ev_ctl;  /* wakes the worker for reload / stop */
    struct event *ev_drain_deadline;
    bool stop_requested;   /* under mu */
    bool draining;
    unsigned n_conns;
    TAILQ_HEAD(, conn) conns;
    TAILQ_HEAD(, conn) dirty; /* connections with output to write */
    struct event *ev_flush;
    struct upstream_pool *pool;
    struct event *ev_alog_flush;
    char *alog;            /* access log lines not yet written */
    size_t alog_len;
    char date[40];         /* cached IMF-fixdate for the current second */
    char log_time[24];     /* the same second as ISO 8601 */
    int64_t date_sec;
    unsigned next_conn_id;
};

struct worker *worker_new(struct server *srv, unsigned id, const int *fds,
                          size_t n_fds, struct conf *conf);
int worker_start(struct worker *w);
void worker_post_conf(struct worker *w, struct conf *conf);
void worker_post_stop(struct worker *w);
void worker_join_free(struct worker **wp);
struct wconf *worker_conf_acquire(struct worker *w);
void worker_conf_release(struct worker *w, struct wconf *wc);
/* HTTP date and access-log time of the loop's current second. */
const char *worker_date(struct worker *w);
const char *worker_log_time(struct worker *w);
void worker_conn_gone(struct worker *w, struct conn *c);
/* Queues one access log line (flushed in batches). */
void worker_alog_append(struct worker *w, const char *line, size_t len);

/* ---- listen.c ---- */
/* Opens a SO_REUSEPORT listening socket; -errno on failure. */
int listen_socket_open(const struct conf_addr *a, int backlog);

/* ---- upstream.c: per-worker keep-alive pools ---- */
struct upstream_conn {
    unsigned magic;
    struct bufferevent *bev;
    struct upstream_pool *pool;
    struct conf_addr addr;
    bool reused;     /* came from the idle pool */
    bool connected;
    uint64_t idle_since_ms;
    TAILQ_ENTRY(upstream_conn) link;
};

struct upstream_pool *upstream_pool_new(struct event_base *base);
void upstream_pool_free(struct upstream_pool **pp);
/* An idle pooled connection to a, or a new one being connected. */
struct upstream_conn *upstream_conn_get(struct upstream_pool *p,
                                        const struct conf_addr *a);
/* Back to the pool when reusable (and room), else closed; *ucp = NULL. */
void upstream_conn_release(struct upstream_conn **ucp, bool reusable,
                           const struct conf_upstream *cu);
void upstream_pool_close_idle(struct upstream_pool *p);

/* ---- conn.c: one client connection ---- */
enum conn_state {
    CS_HEAD,    /* reading a request head */
    CS_PROXY,   /* an upstream exchange is under way */
    CS_CACHE,   /* answering from the cache, or waiting for a busy object */
    CS_FLUSH,   /* response complete, output above the low mark */
    CS_CLOSING, /* write what is queued, then linger */
    CS_LINGER,  /* write side shut; reading and dropping until EOF or time */
};

struct proxy;

struct conn {
    unsigned magic;
    unsigned id;
    struct worker *w;
    struct bufferevent *bev;
    struct event *timer; /* header / idle deadline */
    enum conn_state state;
    bool keep_alive;     /* after the current response */
    bool head_started;   /* at least one byte of the current head */
    size_t head_pending; /* head bytes nobody took over: conn_response_done drains them */
    char *ibuf;          /* CONN_IBUF bytes, from the first read: a head read whole */
    uint32_t ibuf_len;   /* > 0: the current request's head is ibuf[0, ibuf_len) */
    bool peer_eof;       /* client shut its write side */
    bool is_head;        /* current request is HEAD: no body in responses */
    bool internal;       /* a request the node makes itself (revalidation) */
    bool zombie;         /* client gone; kept until its cache fill ends */
    bool direct;         /* output written by conn_flush, not libevent */
    struct event *ev_read; /* own read event (sockets): see conn_read.c */
    bool reading;        /* ev_read wanted */
    bool read_full;      /* paused: input at CONN_READ_HIGH */
    uint32_t read_ms;    /* read deadline, 0 none */
    bool dirty;          /* queued on the worker's flush list */
    TAILQ_ENTRY(conn) dirty_link;
    struct bufferevent *pair_peer; /* internal: the node's end of the pair */
    bool done_pending;   /* response sent; waiting for the cache fill */
    bool done_keep;
    struct wconf *wc;    /* config of the current request */
    struct h1_scan scan;
    struct h1_request req;
    struct h1_field *fields; /* req.fields_cap entries */
    struct creq *cq;        /* cache state of the request (kept, reused) */
    bool cache_on;          /* the current request goes through the cache */
    struct proxy *px;       /* the exchange under way, or NULL */
    struct proxy *px_spare; /* kept for the next request: no allocation */
    char peer[64]; /* client address text */
    /* Copies for logging and routing, valid for the whole request. */
    char method[24];
    char host[256];
    char path[512];
    int status;
    uint64_t bytes_out;
    uint64_t t_start_us;
    const char *cache_status; /* for the access log */
    char upstream[64];
    unsigned n_requests;
    TAILQ_ENTRY(conn) link;
};

void conn_accept(struct worker *w, int fd, const struct sockaddr *sa, int salen);
/* A connection fed by the node itself through one end of a pair. */
struct conn *conn_internal(struct worker *w, struct bufferevent *bev);
/* The current response is complete: log it, then next request or close. */
void conn_response_done(struct conn *c, bool can_keep_alive);
/* Abandons the connection at once (framing no longer trustworthy). */
void conn_abort(struct conn *c);
/* Drain request from the worker: close if idle, else close after response. */
void conn_drain(struct conn *c);
/* What the connection's state does once its output has drained. */
void conn_on_drained(struct conn *c);

/* Input arrived / a socket event (EOF, error, timeout) for c. */
void conn_input(struct conn *c);
/* conn_head.c: parses what the input holds of the next request head. */
void conn_head_input(struct conn *c);
void conn_arm_timer(struct conn *c, uint32_t ms);
/* c->ibuf holds n bytes just read into an empty input: one whole head is
 * parsed in place (true); anything else is the caller's to add to the
 * input (false). */
bool conn_input_flat(struct conn *c, size_t n);
/* The current request's head (n bytes) is done with: from ibuf or input. */
void conn_consume_head(struct conn *c, size_t n);
#define CONN_IBUF 2048
void conn_event(struct conn *c, short what);

/* ---- conn_read.c: direct reads, no FIONREAD per read ---- */
#define CONN_READ_HIGH (128 * 1024) /* input read ahead of the parser */
void conn_read_direct(struct conn *c);
void conn_read_enable(struct conn *c, bool on);
void conn_read_timeout(struct conn *c, uint32_t ms);
void conn_read_free(struct conn *c);

/* ---- conn_flush.c: direct writes, one per connection and loop pass ---- */
/* Switches c to direct writes (sockets only). */
void conn_flush_direct(struct conn *c);
/* Drops c from the flush list (before it is freed). */
void conn_flush_forget(struct conn *c);
/* No more direct writes at all (the client is gone). */
void conn_flush_stop(struct conn *c);
/* The worker's flush event: writes every queued connection's output. */
void conn_flush_run(evutil_socket_t fd, short what, void *arg);

/* Sends a complete synthetic response and finishes the request. */
void conn_respond_error(struct conn *c, int status, bool close);
/* Read deadline (0 = none) plus the configured send deadline. */
void conn_set_timeouts(struct conn *c, uint32_t read_ms);

/* ---- proxy.c: the upstream exchange of one request ---- */
/* Starts forwarding the parsed request; head bytes are still in the input. */
void proxy_start(struct conn *c, const struct conf_site *site, size_t head_len);
/* Client side events, delivered by conn.c while in CS_PROXY. */
void proxy_on_client_read(struct conn *c);
void proxy_on_client_drained(struct conn *c);
void proxy_on_client_gone(struct conn *c);
/* Ends the exchange (closing its upstream connection unless it was handed
 * back) and keeps the memory in c->px_spare. */
void proxy_end(struct conn *c);
/* True while the upstream side still fills a cache object. */
bool proxy_filling(const struct proxy *px);
void proxy_destroy(struct proxy **pp);

/* ---- cache_flow.c / cache_send.c: the request through the cache ---- */
enum cq_mode {
    CQ_NONE,
    CQ_WAIT,  /* follower: waiting for the leader's outcome */
    CQ_FETCH, /* leader: fetching, storing if the response allows */
    CQ_PASS,  /* fetching without storing */
    CQ_SEND,  /* sending an object (hit, or a busy object streaming) */
};

struct creq {
    enum cq_mode mode;
    const struct conf_site *site;
    size_t head_len;            /* request head bytes still in the input */
    struct cache_site_policy sp;
    struct cache_key_rules rules;
    struct cache_key key;
    char *keybuf;
    uint32_t keycap;
    char varybuf[CACHE_VARY_KEY_MAX];
    struct cache_cc rcc;
    bool no_store;              /* the request forbids storing */
    bool vary_fail;             /* the request's vary key did not fit */
    const char *miss_kind;      /* "uri-miss" / "vary-miss" / "stale" / "request" */
    uint8_t vary_restarts;      /* lookups redone: the fetch joined was another variant */
    char status[128];           /* Cache-Status entry of this response */
    struct cache_obj *obj;      /* object being sent, or stale candidate */
    struct cache_obj *fill;     /* leader: object being filled */
    uint64_t notified;          /* fill length at the last wake-up */
    struct cache_busy_entry *busy;
    bool leader;
    bool prejoined;             /* busy entry taken before the request came */
    bool revalidate;            /* validate whatever the freshness */
    struct cache_busy_waiter waiter;
    struct event *wake;
    int64_t request_ms;
    /* sending */
    struct cache_obj_cursor cur;
    uint64_t send_end;          /* absolute body offset to stop at */
    bool send_chunked;
    struct cache_range ranges[CACHE_RANGE_MAX];
    unsigned n_ranges, range_i; /* multipart: part being sent */
    char boundary[CACHE_BOUNDARY_LEN + 1];
    /* disk bodies (cache_disk.c) */
    struct cache_chunk *dchunk; /* the chunk read last, and its index */
    uint32_t dchunk_idx;
    struct cache_obj *disk_src; /* stub q->obj is promoted from */
    /* leader: a fill of the disk tier (cache_fill.c) */
    struct cache_lmdb_fill *dfill;
    bool overflow_tried;        /* a RAM fill tried to move to disk */
    /* leader: fields of its own response the object does not store;
     * borrowed during cache_send_leader only */
    const char *own;
    size_t own_len;
    struct cache_busy_waiter fill_waiter; /* the writer's commits */
    struct event *fill_wake;
};

/* Shared by cache_flow.c and cache_store.c. */
void cache_flow_release_busy(struct creq *q);
void cache_flow_publish(struct conn *c, enum cache_busy_state st, struct cache_obj *o,
                        int status);
void cache_flow_drain_head(struct conn *c);

/* The connection's cache state, allocated on first use. */
struct creq *cache_flow_creq(struct conn *c);
/* Takes the request into the cache flow (GET/HEAD, caching on). */
void cache_flow_start(struct conn *c, const struct conf_site *site, size_t head_len);
/* Unsafe method answered with success: drop the stored target (and the
 * Location / Content-Location URIs of the same host). */
void cache_flow_invalidate(struct conn *c, const struct h1_response *rsp);
/* The leader's response head: returns CQR_* and sets up storing. */
enum cqr { CQR_PASS, CQR_STORE, CQR_SENT_FROM_CACHE };
enum cqr cache_flow_on_response(struct conn *c, const struct h1_response *rsp);
/* Leader: body bytes arrive (moved from in): 0, 1 (pause the upstream
 * read until proxy_store_resume) or -1 (the store is abandoned); and the
 * end of the body. */
int cache_flow_on_body(struct conn *c, struct evbuffer *in, size_t n);
void cache_flow_on_body_end(struct conn *c, bool complete);
/* The upstream failed before a response head: answer from the cache (stale)
 * when allowed and return true, else false. Publishes the failure. */
bool cache_flow_on_fail(struct conn *c, int *status);
int cache_flow_note_target(struct conn *c, const struct conf_site *site);
/* The leader's client left: stop sending, keep filling. */
void cache_flow_client_gone(struct conn *c);
/* The request ends: releases objects, waiters, busy entries. */
void cache_flow_end(struct conn *c);
void cache_flow_free(struct conn *c);

/* revalidate.c: stale-while-revalidate in the background, once per key. */
void revalidate_spawn(struct conn *c, const struct cache_obj *o);

/* cache_send.c: answers with obj (head + body references); kind goes into
 * Cache-Status. Drains the request head. */
void cache_send_obj(struct conn *c, struct cache_obj *o, const char *kind);
/* cache_send_obj for the client whose request fetched o: its response head
 * also carries own[0..own_len), fields o does not store (copied). */
void cache_send_leader(struct conn *c, struct cache_obj *o, const char *kind,
                       const char *own, size_t own_len);
/* True while o's body (in RAM or on disk) is still arriving. */
bool cache_send_filling(const struct cache_obj *o);
/* Moves more body to the client while its buffer has room. */
void cache_send_pump(struct conn *c);

/* ---- cache_disk.c: bodies read from the disk tier ---- */
/* Where a disk stub's body is: a stored object (ref), or one still being
 * filled (fill, which then tells how much is readable). */
struct cache_disk_body {
    struct cache_lmdb *l;
    struct cache_lmdb_ref ref;
    struct cache_lmdb_fill *fill;
};
void cache_disk_attach(struct cache_obj *o, struct cache_lmdb *l,
                       const struct cache_lmdb_ref *ref, struct cache_lmdb_fill *fill);
/* o's disk body, or NULL when the body is in RAM chunks. */
const struct cache_disk_body *cache_disk_body(const struct cache_obj *o);
/* State of a disk body; *avail readable bytes now, *len the final length
 * (CACHE_LEN_UNKNOWN while a fill of unknown length is open). */
enum cache_obj_state cache_disk_state(const struct cache_obj *o, uint64_t *avail,
                                      uint64_t *len);
/* Like cache_obj_read at q->cur.pos, for a disk body; *st its state. */
size_t cache_disk_read(struct creq *q, const struct cache_obj *o, size_t max,
                       const char **p, struct cache_chunk **chp,
                       enum cache_obj_state *st);
void cache_disk_promote_start(struct conn *c);
bool cache_disk_promote_step(struct conn *c);
void cache_disk_end(struct creq *q);
bool cache_disk_load(struct cache_obj *o, const struct cache_obj *old);
/* Gives o (a 304 refresh of the stub old) old's disk body; returns o. */
struct cache_obj *cache_disk_restub(struct cache_obj *o, const struct cache_obj *old);

/* ---- cache_fill.c: objects above cache.max_object, filled on disk ---- */
/* True when rsp's body goes to a disk fill instead of RAM. */
bool cache_fill_wanted(const struct conn *c, const struct h1_response *rsp);
/* Starts the fill whose body stub (published to followers) will read;
 * 0 or -errno (then the response is passed, not stored). */
int cache_fill_begin(struct conn *c, struct cache_obj *stub, uint64_t len);
/* Moves n body bytes from in to the fill: 0, 1 (pause the upstream until
 * proxy_store_resume) or -errno (the fill failed). */
int cache_fill_body(struct conn *c, struct evbuffer *in, size_t n);
void cache_fill_end(struct conn *c, bool complete);
/* The RAM fill (unknown length) outgrew CACHE_FILL_OVERFLOW: continue on
 * disk; 0 (also when no fill could start: it stays in RAM), 1 or -errno. */
int cache_fill_overflow(struct conn *c);
/* With a disk tier, a body of unknown length moves there past this. */
#define CACHE_FILL_OVERFLOW (4u << 20)
/* proxy.c: the store's writer caught up: read the upstream again. */
void proxy_store_resume(struct conn *c);

/* ---- fwd.c: field rewriting both ways ---- */
struct fwd_ctx {
    const struct conf_site *site;
    const char *node_id;
    const char *peer_ip;
    bool client_tls;
    bool cache_fetch;        /* fetching for the cache: drop the client's
                                conditionals and Range, send ours */
    const char *inm;         /* If-None-Match to send, or NULL */
    size_t inm_len;
    const char *ims;         /* If-Modified-Since to send, or NULL */
    size_t ims_len;
    /* The request's cache key, or NULL: with a key, the request-target
     * sent is the key's (cache_key_target), never the raw one. */
    const struct cache_key *key;
};
/* Appends the upstream request head for r; -errno when it does not fit
 * (-EINVAL: the target does not match f->key). */
int fwd_request_head(struct evbuffer *out, const struct h1_request *r,
                     const struct fwd_ctx *f, bool chunked_body);
/* True when the request already passed through this node (CDN-Loop). */
bool fwd_is_loop(const struct h1_request *r, const char *node_id);
/* Appends the client response head for rsp, framed as decided by the
 * caller: chunked (re-chunked body) and keep_alive. */
int fwd_response_head(struct evbuffer *out, const struct h1_response *rsp,
                      int client_minor, const char *node_id, const char *date,
                      bool keep_alive, bool chunked, const char *cache_status,
                      const char *targeted);

/* ---- access_log.c: one file shared by all workers, each with a buffer ---- */
/* Always returns an object; path NULL means logging is off. */
struct access_log *access_log_open(const char *path);
/* Points the log at path (rotation, reload) without pulling the old one
 * from under writing workers. */
void access_log_reopen(struct access_log *al, const char *path);
bool access_log_enabled(const struct access_log *al);
/* Writes a batch of complete lines (one write(2)). */
void access_log_write(struct access_log *al, const char *buf, size_t len);
void access_log_close(struct access_log **alp);

#endif
