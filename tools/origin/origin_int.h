/*
 * strata-origin: the deterministic test origin. Private declarations shared
 * by the files of tools/origin/.
 *
 * One process, one libevent thread, HTTP by libevent's evhttp (an HTTP
 * implementation independent of edge/h1.c, on purpose). Invariants:
 * - A body is a pure function of (request target, offset): same URL, same
 *   bytes, on any machine (body.c).
 * - Memory per response is bounded: bodies are references into pools built
 *   once at start (or sendfile segments), queued one block at a time and only
 *   after the previous block has left the output buffer (stream.c).
 * - evhttp handles one request per connection at a time, so a connection
 *   holds at most one struct origin_req (conn->cur).
 */
#ifndef TOOLS_ORIGIN_ORIGIN_INT_H
#define TOOLS_ORIGIN_ORIGIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#define ORIGIN_SRV_MAGIC 0x4f535256u
#define ORIGIN_CONN_MAGIC 0x4f434f4eu
#define ORIGIN_REQ_MAGIC 0x4f524551u

#define ORIGIN_MAX_SIZE (64ull << 30)      /* size= upper bound */
#define ORIGIN_MAX_BODY_IN (1ull << 30)    /* request bodies evhttp buffers */
#define ORIGIN_MAX_HEADERS_IN (64u << 10)  /* request head */
#define ORIGIN_MAX_HDR_PARAMS 16           /* hdr= parameters per request */
#define ORIGIN_STEP (64u << 10)            /* bytes queued per write step */
#define ORIGIN_SLOW_STEP (16u << 10)       /* step when body_delay_ms is set */
#define ORIGIN_SMALL_BODY (64u << 10)      /* sent in one reply, no streaming */

/* Body flavours: each has its own pool. */
enum origin_flavour {
    ORIGIN_FLAV_HTML,
    ORIGIN_FLAV_CSS,
    ORIGIN_FLAV_JS,
    ORIGIN_FLAV_TEXT,
    ORIGIN_FLAV_BINARY,
    ORIGIN_FLAV__COUNT
};

enum origin_fail {
    ORIGIN_FAIL_NONE,
    ORIGIN_FAIL_STATUS,  /* fail=N */
    ORIGIN_FAIL_RESET,
    ORIGIN_FAIL_HANG,
    ORIGIN_FAIL_PARTIAL
};

enum origin_etag { ORIGIN_ETAG_NONE, ORIGIN_ETAG_STRONG, ORIGIN_ETAG_WEAK };

/* Methods evhttp 2.1 knows, as stats indexes. */
enum origin_method {
    ORIGIN_M_GET,
    ORIGIN_M_POST,
    ORIGIN_M_HEAD,
    ORIGIN_M_PUT,
    ORIGIN_M_DELETE,
    ORIGIN_M_OPTIONS,
    ORIGIN_M_TRACE,
    ORIGIN_M_CONNECT,
    ORIGIN_M_PATCH,
    ORIGIN_M__COUNT
};

struct origin_conf {
    unsigned latency_ms;
    const char *root;  /* NULL: no file serving */
    bool quiet;
};

/* Query parameters of one request. Strings point into store (owned). */
struct origin_params {
    uint64_t size;
    int status;
    int fail_status;
    enum origin_fail fail;
    enum origin_etag etag;
    unsigned delay_ms;
    unsigned body_delay_ms;
    bool lm;
    bool chunked;
    bool set_cookie;
    bool has_expires;
    int64_t expires_s;
    const char *cc;
    const char *type;
    const char *vary;
    const char *tags;
    const char *hdr_name[ORIGIN_MAX_HDR_PARAMS];
    const char *hdr_value[ORIGIN_MAX_HDR_PARAMS];
    unsigned nhdr;
    char *store;
};

struct origin_conn;

/* The server: one per process, passed to every callback. */
struct origin_srv {
    unsigned magic;
    struct event_base *base;
    struct evhttp *http;
    const struct origin_conf *conf;
    struct evbuffer *scratch;      /* reused to hand blocks to evhttp */
    uint64_t next_conn_id;
    uint64_t next_req_seq;
    struct origin_conn *conns;     /* every tracked connection */
    struct origin_conn **by_fd;    /* attached connections by socket */
    size_t by_fd_len;
};

/* One accepted connection. Owned by srv; freed by evhttp's close callback
 * (or at shutdown when it never got attached). */
struct origin_conn {
    unsigned magic;
    uint64_t id;
    int fd;                        /* -1 until attached */
    struct origin_srv *srv;
    struct bufferevent *bev;       /* borrowed: evhttp owns it */
    struct evhttp_connection *evcon;
    struct event *attach_ev;
    struct origin_req *cur;        /* request being answered, or NULL */
    bool live_counted;             /* in live_connections */
    uint64_t epoch;                /* stats epoch it was last counted in */
    struct origin_conn *prev, *next;
};

/* Our state for one content request. Owned by conn->cur. req is owned by
 * evhttp while attached to its connection; once evhttp detached it (client
 * went away mid-answer) we free it. */
struct origin_req {
    unsigned magic;
    struct origin_conn *conn;
    struct evhttp_request *req;
    const char *target;            /* origin-form; borrowed from req */
    struct event *timer;
    struct origin_params p;
    enum origin_method method;
    uint64_t hash;                 /* of the request target */
    enum origin_flavour flav;
    int fd;                        /* --root file (read per block), or -1 */
    uint64_t size;                 /* body length */
    uint64_t sent;
    uint64_t limit;                /* stop here (half for fail=partial) */
    time_t mtime;                  /* file mtime, for Last-Modified */
    char ctype[128];
};

/* conn.c: connections. */
struct bufferevent *origin_conn_bevcb(struct event_base *base, void *arg);
struct origin_conn *origin_conn_of(struct origin_srv *srv,
                                   struct evhttp_request *req);
void origin_conn_park_reads(struct origin_conn *c);
void origin_conn_free_all(struct origin_srv *srv);

/* handler.c: the evhttp generic callback. */
void origin_handler_on_request(struct evhttp_request *req, void *arg);
void origin_req_free(struct origin_req **rp);
void origin_req_abort(struct origin_req **rp);
void origin_req_timer(struct origin_req *r, unsigned ms,
                      event_callback_fn cb);

/* stream.c: sending the body. */
void origin_stream_start(struct origin_req *r, int status);

/* params.c */
int origin_params_parse(struct origin_params *p, const char *target,
                        const char **bad);
void origin_params_clear(struct origin_params *p);
size_t origin_pct_decode(char *dst, const char *src, size_t n);
int origin_parse_size(const char *s, uint64_t *out);

/* hdrs.c: HTTP helpers. */
void origin_http_date(time_t t, char *buf, size_t n);
int origin_http_date_parse(const char *s, time_t *out);
bool origin_etag_match(const char *inm, const char *etag);
const char *origin_media_type(const char *path, size_t path_len,
                              enum origin_flavour *flav);
enum origin_flavour origin_flavour_of(const char *ctype);
const char *origin_reason(int status);
bool origin_status_has_body(int status);

/* body.c: deterministic bodies. */
void origin_body_init(void);
void origin_body_fini(void);
void origin_body_add(struct evbuffer *out, enum origin_flavour f,
                     uint64_t hash, uint64_t off, size_t len);
uint64_t origin_hash(const void *p, size_t n, uint64_t seed);
uint64_t origin_hash_evbuffer(struct evbuffer *b);

/* files.c: --root. */
int origin_file_open(const char *root, const char *target, int *fdp,
                     uint64_t *sizep, time_t *mtimep);

/* admin.c: /__stats, /__reset, /__echo. */
bool origin_admin_handle(struct origin_conn *c, struct evhttp_request *req,
                         const char *target);

/* stats.c */
struct origin_stats {
    uint64_t epoch;                /* bumped by each reset; starts at 1 */
    uint64_t requests;
    uint64_t bytes;
    uint64_t received_bytes;
    uint64_t connections;          /* carried a content request */
    uint64_t accepted_connections; /* every accepted socket */
    int64_t live_connections;
    uint64_t not_modified;
    uint64_t resets;
    uint64_t by_method[ORIGIN_M__COUNT];
    uint64_t by_status[600];
};
extern struct origin_stats origin_stats;

void origin_stats_init(void);
void origin_stats_fini(void);
void origin_stats_reset(void);
void origin_stats_count_conn(struct origin_conn *c);
void origin_stats_count_path(const char *target);
void origin_stats_count_status(int status);
char *origin_stats_json(bool detail);
enum origin_method origin_method_of(enum evhttp_cmd_type t);
const char *origin_method_name(enum origin_method m);
char *origin_latin1_to_utf8(const char *s, size_t n);

#endif
