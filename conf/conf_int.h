/*
 * conf/ private declarations. Loading runs in three steps:
 *   load.c    YAML text -> struct conf_node tree (the only libyaml caller)
 *   schema.c  tree -> struct conf by key tables, one report per bad node
 *   value.c   the typed converters schema.c calls, default.c the defaults
 *   site.c    checks across sites, then the host index for conf_site_find()
 * Problems go to a struct conf_ctx and are handed to the caller's
 * struct conf_errors sorted by position, only once the whole file is read.
 */
#ifndef CONF_CONF_INT_H
#define CONF_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

/* Bounds on what a config may contain (defends against alias bombs). */
#define CONF_MAX_DEPTH 64
#define CONF_MAX_NODES 100000
#define CONF_MAX_FILE (16u << 20)
#define CONF_TOKEN_MAX 64
#define CONF_WORKERS_MAX 256
#define CONF_QUERY_NAME_MAX 128  /* bytes of one query_ignore entry */
#define CONF_QUERY_IGNORE_MAX 64 /* entries per site: the key scans them */

enum conf_node_kind { CONF_NODE_SCALAR, CONF_NODE_SEQ, CONF_NODE_MAP };

/*
 * A YAML node copied out of libyaml with its 1-based position. A map keeps
 * its pairs flat: kids[2 * i] is a key and kids[2 * i + 1] its value, so a
 * map has n_kids / 2 pairs. Owned by its parent; the root by the loader.
 */
struct conf_node {
    enum conf_node_kind kind;
    bool is_null;   /* plain scalar "", "~" or "null" */
    bool has_nul;   /* scalar text contains a NUL byte */
    unsigned line, col;
    char *str;      /* scalar text, NUL-terminated; NULL otherwise */
    size_t len;
    struct conf_node *kids;
    size_t n_kids;
};

/* A site name or host pattern already taken, for duplicate reports. */
struct conf_claim {
    const char *str;  /* borrowed from the conf being built */
    size_t site;      /* index into conf->sites */
    const struct conf_node *at;
};

struct conf_err {
    unsigned line, col; /* 0 for whole-file problems */
    size_t seq;         /* report order, keeps the sort stable */
    char *msg;          /* full "FILE:LINE:COL: text" */
};

/* conf_site_find()'s index: host patterns sorted by (length, bytes). */
struct conf_hostent {
    const char *s; /* exact name, or a wildcard's suffix from its '.' */
    size_t len;
    int site;
};

struct conf_hostidx {
    struct conf_hostent *exact, *wild;
    size_t n_exact, n_wild;
    int any; /* site with "*", or -1 */
};

/*
 * What conf_snap_new() allocates: the public struct first, so a struct conf
 * pointer from this module is a struct conf_snap pointer. A struct conf not
 * made by conf_load_*() must not be passed to conf_site_find().
 */
struct conf_snap {
    struct conf c;
    struct conf_hostidx idx;
};

/* One load's state. Lives on the stack of conf_load_string(). */
struct conf_ctx {
    const char *name;
    struct conf_err *errs;
    size_t n_errs, cap_errs;
    struct conf *c;       /* being built */
    size_t site;          /* index of the site being read */
    struct conf_claim *names, *hosts;
    size_t n_names, n_hosts;
    const struct conf_node *default_site; /* value node, resolved last */
};

/* conf.c: snapshots and problem reports. */
struct conf *conf_snap_new(const char *source);
void conf_snap_free(struct conf **cp);
void conf_ctx_init(struct conf_ctx *x, const char *name);
/* Moves the problems, sorted by position, into errs (may be NULL). */
void conf_ctx_finish(struct conf_ctx *x, struct conf_errors *errs);
void conf_ctx_err(struct conf_ctx *x, const struct conf_node *at,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void conf_ctx_err_at(struct conf_ctx *x, unsigned line, unsigned col,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void conf_errors_add(struct conf_errors *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Copies s for a message: at most 60 chars, control chars as '?'. */
void conf_text_quote(const char *s, char *buf, size_t size);

/* load.c: the node tree. */
void conf_node_free(struct conf_node **np);
const struct conf_node *conf_node_get(const struct conf_node *map,
                                      const char *key);
const char *conf_node_kind_name(const struct conf_node *n);

/* default.c: the built-in values of every key. */
void conf_default_set(struct conf *c);
/* The values of a site's optional keys (its cache section). */
void conf_default_site_set(struct conf_site *s);

/* schema.c and value.c: what a key holds and where it goes. */
#define CONF_QNAME_MAX 96

enum conf_type {
    CONF_T_UINT,     /* decimal integer */
    CONF_T_SIZE,     /* bytes: conf_size_parse() */
    CONF_T_DURATION, /* milliseconds: conf_duration_parse() */
    CONF_T_TOKEN,    /* [A-Za-z0-9._-]{1,64} */
    CONF_T_NAME,     /* a site's name: a token, unique */
    CONF_T_PATH,     /* non-empty path */
    CONF_T_PATH_OFF, /* path, or "off" / nothing for none */
    CONF_T_DIR,      /* path of a directory that exists, or whose parent
                        does (checked on the filesystem) */
    CONF_T_LEVEL,    /* error | warn | info | debug */
    CONF_T_BOOL,
    CONF_T_ADDRS,    /* address, or list of them */
    CONF_T_HOSTS,    /* host pattern, or list of them */
    CONF_T_FIELD,    /* HTTP field name of this node's own */
    CONF_T_QUERY,    /* keep | sort | drop: enum conf_query_mode */
    CONF_T_DURABILITY, /* safe | fast | sync: enum conf_disk_durability */
    CONF_T_QUERY_NAMES, /* query parameter names, or list; may be empty */
    CONF_T_MAP,      /* nested section, same base struct */
    CONF_T_SITES,
    CONF_T_SITE_REF, /* names a site; resolved once all are read */
};

struct conf_section;

struct conf_key {
    const char *name;
    enum conf_type type;
    size_t off;   /* field in the base struct */
    size_t off_n; /* lists (CONF_T_ADDRS and co): the count field */
    size_t width; /* integer fields: 4 or 8 */
    uint64_t min, max;
    const struct conf_section *sub;
};

struct conf_section {
    const char *where; /* for "unknown key 'x' <where>" */
    const struct conf_key *keys;
    size_t n;
    /* A section of the same name elsewhere (the two `cache:`): an unknown
       key that is one of its keys is reported as belonging there. */
    const struct conf_section *twin;
    const char *twin_path; /* "sites[].cache" */
};

/* Where a value goes and how to name it in a report. */
struct conf_dest {
    struct conf_ctx *x;
    const struct conf_key *k;
    char *base;
    char qname[CONF_QNAME_MAX]; /* "limits.request_line", "sites[2].origin" */
};

/* value.c: converts v and stores it at d; reports a bad v instead. */
void conf_value_apply(const struct conf_dest *d, const struct conf_node *v);
/* The text of scalar v, or NULL (reported) when v is no usable scalar. */
const char *conf_value_scalar(const struct conf_dest *d,
                              const struct conf_node *v, const char *what);
/* Writes a bound the way a user would: 1MiB, 24h, 100. */
void conf_value_fmt(enum conf_type type, uint64_t v, char *buf, size_t size);

/* schema.c: fills x->c from the root mapping; problems go to x. */
void conf_schema_apply(struct conf_ctx *x, const struct conf_node *root);

/* site.c: cross-site checks and the lookup index. */
void conf_site_claim_name(struct conf_ctx *x, const char *name,
                          const struct conf_node *at);
/* Returns false (and reports) when another host entry already has pat. */
bool conf_site_claim_host(struct conf_ctx *x, const char *pat,
                          const struct conf_node *at);
void conf_site_finish(struct conf_ctx *x, const struct conf_node *root);
void conf_site_index_build(struct conf *c);
void conf_site_index_free(struct conf *c);

/* parse.c: value syntaxes; *why names the problem for a report. */
int conf_size_parse(const char *s, uint64_t *out, const char **why);
int conf_duration_parse(const char *s, uint64_t *out_ms, const char **why);
int conf_addr_parse(const char *s, struct conf_addr *out, const char **why);
int conf_uint_parse(const char *s, uint64_t *out);
/* Validates a host pattern and returns a lowercase copy in *out. */
int conf_host_parse(const char *s, char **out, const char **why);
bool conf_token_is_valid(const char *s);
/* An HTTP field name: 1 to 64 tchar (RFC 9110 §5.6.2). */
bool conf_field_name_is_valid(const char *s);
/* Validates a query_ignore entry (a parameter name, '*' at the end for a
   prefix) and returns in *out a copy normalized as keys compare names. */
int conf_query_name_parse(const char *s, char **out, const char **why);

/* hint.c: the candidate closest to word, or NULL if none is close. */
const char *conf_hint_pick(const char *word, const char *const *cands,
                           size_t n);

#endif
