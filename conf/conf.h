/*
 * Configuration: YAML (libyaml) into a validated, immutable, refcounted
 * snapshot. Readers hold a reference for as long as they use a snapshot; a
 * reload builds a new one and the old one is freed when its last user lets
 * go. Every problem in a file is reported as "FILE:LINE:COL: message".
 */
#ifndef CONF_CONF_H
#define CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/log.h"

#define CONF_MAGIC 0x636f6e66u

struct conf_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[64]; /* as written, normalized: "127.0.0.1:8080", "[::1]:80" */
};

struct conf_limits {
    uint32_t request_line;   /* bytes (default 8 KiB) */
    uint32_t field_line;     /* bytes (default 8 KiB) */
    uint32_t header_section; /* bytes (default 32 KiB) */
    uint32_t fields;         /* count (default 100) */
    uint64_t request_body;   /* bytes (default 1 GiB) */
    uint32_t header_timeout_ms; /* default 10 s */
    uint32_t idle_timeout_ms;   /* keep-alive idle (default 60 s) */
    uint32_t body_timeout_ms;   /* between body reads (default 30 s) */
    uint32_t send_timeout_ms;   /* between writes to a client (default 60 s) */
    uint32_t max_connections;   /* per worker (default 10000) */
};

struct conf_upstream {
    uint32_t connect_timeout_ms; /* default 3 s */
    uint32_t read_timeout_ms;    /* default 30 s */
    uint32_t write_timeout_ms;   /* default 30 s */
    uint32_t keepalive;          /* idle pooled conns per server per worker (32) */
    uint32_t keepalive_timeout_ms; /* idle pooled conn lifetime (default 30 s) */
};

/* How a site's cache key treats the query (the parameters after "?"). */
enum conf_query_mode { CONF_QUERY_KEEP, CONF_QUERY_SORT, CONF_QUERY_DROP };

/* How the disk tier syncs its LMDB environment (conf/README.md). */
enum conf_disk_durability { CONF_DISK_SAFE, CONF_DISK_FAST, CONF_DISK_SYNC };

/* `cache.disk:`, the LMDB disk tier. */
struct conf_disk {
    char *path;                /* NULL: no disk tier */
    uint64_t size;             /* default 20 GiB */
    unsigned high_pct, low_pct;/* defaults 90, 75 */
    enum conf_disk_durability durability; /* default safe */
    uint32_t sync_interval_ms; /* default 1000 */
    bool rebuild_incompatible; /* default false */
    uint64_t max_object;       /* largest object stored on disk (1 GiB; the
                                  tier also caps it at a quarter of size) */
};

/*
 * Top-level `cache:`. The edge turns these into the cache's own structs;
 * conf knows nothing of cache/.
 */
struct conf_cache {
    bool enabled;             /* default true */
    uint64_t memory;          /* RAM tier budget, bytes (256 MiB, >= 1 MiB) */
    uint64_t max_object;      /* largest object kept in RAM (64 MiB);
                                 never more than memory */
    uint32_t hit_for_pass_ms; /* default 10 s; 0 = off */
    char *targeted_field;     /* node-specific targeted Cache-Control field
                                 (RFC 9213), an HTTP token as written;
                                 default "Strata-Cache-Control" */
    bool strip_targeted;      /* remove CDN-Cache-Control, targeted_field and
                                 Surrogate-Control before responses reach
                                 clients (default true) */
    struct conf_disk disk;
};

/*
 * A site's `cache:`. Durations in milliseconds; -1 = not set. Out of the
 * box (RFC-pure) no lifetime is invented and nothing is served stale that
 * the response does not allow.
 */
struct conf_site_cache {
    bool enabled;                      /* default true */
    int64_t default_ttl_ms;            /* lifetime when the response gives
                                          none; -1 (default) = none */
    int64_t min_ttl_ms;                /* lower clamp; -1 = none */
    int64_t max_ttl_ms;                /* upper clamp; -1 = none; >= min */
    bool ignore_cache_control;         /* default false */
    int64_t stale_while_revalidate_ms; /* grace when the response gives
                                          none (default 0) */
    int64_t stale_if_error_ms;         /* same (default 0) */
    bool store_set_cookie;             /* default false: responses with
                                          Set-Cookie are not stored */
    enum conf_query_mode query;        /* default CONF_QUERY_KEEP */
    char **query_ignore;               /* parameter names left out of the
                                          key, escape-normalized as in keys;
                                          a trailing '*' matches a prefix */
    size_t n_query_ignore;
    int64_t heuristic_max_ms;          /* cap on heuristic freshness
                                          (default 1 day); 0 = no heuristic */
};

struct conf_site {
    char *name;
    char **hosts; /* lowercase; exact "a.example.com", wildcard "*.example.com",
                     or "*" for any host */
    size_t n_hosts;
    struct conf_addr *origins; /* upstream servers, tried in order */
    size_t n_origins;
    bool trust_forwarded; /* keep client X-Forwarded-Host & co */
    struct conf_site_cache cache;
};

struct conf {
    unsigned magic;
    unsigned refcnt; /* atomic */
    char *source;    /* file path, or "<default>" */
    unsigned workers;   /* default: online cores */
    char *node_id;      /* Via / CDN-Loop token (default "strata") */
    enum log_level log_level;
    char *access_log;   /* file path; NULL = no access log */
    char *data_dir;     /* default "./var" */
    uint32_t drain_timeout_ms; /* graceful stop bound (default 10 s) */
    struct conf_addr *listen;
    size_t n_listen;
    struct conf_limits limits;
    struct conf_upstream upstream;
    struct conf_site *sites;
    size_t n_sites;
    int default_site; /* index into sites, or -1 */
    struct conf_cache cache;
};

/* Error list: each entry "FILE:LINE:COL: message", owned by the list. */
struct conf_errors {
    char **msgs;
    size_t n;
};

/*
 * Loads and validates a YAML file. On success *out holds a snapshot with one
 * reference and 0 is returned. On failure returns -EINVAL (or -ENOENT etc.),
 * *out is untouched, and errs lists every problem found.
 */
int conf_load_file(const char *path, struct conf **out, struct conf_errors *errs);
/* Same, from memory; name is used in error messages. */
int conf_load_string(const char *name, const char *yaml, size_t len,
                     struct conf **out, struct conf_errors *errs);
/* The embedded default: listen 127.0.0.1:8080, any Host -> 127.0.0.1:8081. */
int conf_load_default(struct conf **out, struct conf_errors *errs);
/* The embedded default's YAML text (for -h and docs). */
const char *conf_default_yaml(void);

void conf_errors_free(struct conf_errors *e);

/* Takes a reference (atomic). */
struct conf *conf_ref(struct conf *c);
/* Drops a reference; frees on the last; *cp is NULL afterwards. */
void conf_unref(struct conf **cp);

/*
 * Finds the site for a Host value host[0..len) (lowercase, port removed by
 * the caller): exact match first, then the longest matching wildcard, then
 * "*", then the default site. Returns NULL when none applies.
 */
const struct conf_site *conf_site_find(const struct conf *c, const char *host,
                                       size_t len);

/* "64KiB", "1MiB", "2GiB", "100" (bytes) -> bytes; -EINVAL when malformed. */
int conf_parse_size(const char *s, uint64_t *out);
/* "10s", "250ms", "5m", "1h", "1d" -> milliseconds; -EINVAL when
   malformed. */
int conf_parse_duration(const char *s, uint64_t *out_ms);
/* "127.0.0.1:8080", "[::1]:8080", "localhost:80": IP literals or localhost,
   never DNS. -EINVAL when malformed. */
int conf_parse_addr(const char *s, struct conf_addr *out);

#endif
