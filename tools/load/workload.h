/*
 * What strata-load requests. Three workloads:
 *   single     the path of --url, every time;
 *   URL file   one URL per line with an optional weight (uniform otherwise);
 *   catalogue  N generated objects with a size distribution and Zipf(alpha)
 *              popularity, as strata-origin URLs:
 *              /obj/<id>.<ext>?size=<bytes>&cc=<urlencoded Cache-Control>
 * and, across all of them, optional header profiles picked by weight.
 *
 * Parsing (workload_parse.c) turns text into the structs below; every error
 * is written to err as one line ("FILE:LINE: message" for URL files).
 * A struct load_workload (workload.c) is immutable once built and shared by
 * every worker thread. Picking a request is a pure function of (seed,
 * request index), and formatting writes the request bytes into a buffer the
 * caller owns: no allocation per request.
 */
#ifndef TOOLS_LOAD_WORKLOAD_H
#define TOOLS_LOAD_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/load/rng.h"
#include "tools/load/zipf.h"

#define LOAD_WORKLOAD_MAGIC 0x776b6c64u
#define LOAD_URL_MAX 8192 /* bytes of one path or absolute URL */

enum load_sizes_kind { LOAD_SIZES_FIXED, LOAD_SIZES_UNIFORM, LOAD_SIZES_LOGNORMAL };

/* Object size distribution; draws are clamped to [min, max]. */
struct load_sizes {
    enum load_sizes_kind kind;
    uint64_t fixed;
    double mu, sigma; /* lognormal: ln(median), shape */
    uint64_t min, max;
};

/* One URL file entry; path starts with '/'. host is the authority of an
   absolute URL (sent as Host), else NULL. Strings owned by the list. */
struct load_url {
    char *path;
    char *host;
    double weight;
};

struct load_url_list {
    struct load_url *v;
    size_t n;
    size_t cap;
};

/* A header profile: a weight and header lines "K: V\r\n..." (owned). */
struct load_profile {
    double weight;
    char *lines;
};

/* "1024", "16KiB", "16k", "1.5MiB", "2G": binary units; -EINVAL otherwise. */
int load_size_parse(const char *s, uint64_t *out);
/*
 * Size distribution spec: "SIZE" or "fixed:SIZE";
 * "uniform:min=SIZE,max=SIZE"; "lognormal:median=SIZE,sigma=F[,min=SIZE]
 * [,max=SIZE]" (defaults min=1, max=64MiB). Returns 0 or -EINVAL.
 */
int load_sizes_parse(const char *spec, struct load_sizes *out, char *err, size_t errlen);
/* One size drawn from s with r. */
uint64_t load_sizes_draw(const struct load_sizes *s, struct load_rng *r);

/*
 * Checks one "Name: value" header: the name a token, the value free of
 * CR, LF and NUL. On success *name and *value point into s (value without
 * surrounding whitespace) with their lengths. Returns 0 or -EINVAL.
 */
int load_header_check(const char *s, const char **name, size_t *name_len,
                      const char **value, size_t *value_len, char *err, size_t errlen);
/* "WEIGHT:K: V|K: V...": a profile of headers; 0 or -EINVAL. */
int load_profile_parse(const char *spec, struct load_profile *out, char *err, size_t errlen);
void load_profile_clear(struct load_profile *p);

/*
 * Parses a URL file held in text[0..len). Lines: "URL [WEIGHT]", URL being
 * "/path?query" or "http[s]://authority/path"; blank lines and lines
 * starting with '#' are skipped; weights are finite and >= 0, at least one
 * positive. Appends to out (zeroed by the caller). Returns 0, or -EINVAL
 * with "name:LINE: message" in err for the first bad line.
 */
int load_urls_parse(const char *name, const char *text, size_t len,
                    struct load_url_list *out, char *err, size_t errlen);
/* Reads and parses a file; -errno when it cannot be read. */
int load_urls_read(const char *path, struct load_url_list *out, char *err, size_t errlen);
void load_url_list_free(struct load_url_list *l);

/* What a workload is built from; borrowed during load_workload_new(). */
struct load_workload_spec {
    const char *authority;    /* default Host value ("host:port") */
    const char *path;         /* single-URL mode, and catalogue prefix */
    uint64_t objects;         /* > 0: catalogue */
    double zipf;
    struct load_sizes sizes;
    const char *cache_control;
    struct load_url_list *urls; /* non-NULL: URL file; taken over */
    const char *const *headers; /* "K: V" for every request */
    size_t n_headers;
    struct load_profile *profiles; /* taken over (array and lines) */
    size_t n_profiles;
    uint64_t seed;
};

enum load_workload_kind { LOAD_WL_SINGLE, LOAD_WL_URLS, LOAD_WL_CATALOGUE };

struct load_workload;

/* What one request is: an URL (or object) index and a header profile. */
struct load_pick {
    uint64_t index;
    uint32_t profile;
};

/* Builds a workload; NULL with err set when a header or profile is bad. */
struct load_workload *load_workload_new(struct load_workload_spec *spec, char *err,
                                        size_t errlen);
void load_workload_free(struct load_workload **wp);
enum load_workload_kind load_workload_kind(const struct load_workload *w);
/* Entries: URLs, or objects of the catalogue. */
uint64_t load_workload_entries(const struct load_workload *w);
/* Sum of all object sizes (catalogue only, else 0). */
uint64_t load_workload_working_set(const struct load_workload *w);
/* Largest request load_workload_format() can write. */
size_t load_workload_max_len(const struct load_workload *w);
/* Picks request index k of a phase whose stream is seeded with seed. */
void load_workload_pick(const struct load_workload *w, uint64_t seed, uint64_t stream,
                        uint64_t k, struct load_pick *p);
/* Writes the request for p into buf (cap >= max_len); returns its length. */
size_t load_workload_format(const struct load_workload *w, const struct load_pick *p,
                            char *buf, size_t cap);
/* Size and extension of catalogue object id (0-based). */
uint64_t load_workload_object(const struct load_workload *w, uint64_t id, const char **ext);

#endif
