/*
 * strata-load's command line: parsed and validated into struct load_opts.
 * Strings point into argv (which lives as long as the process); the arrays
 * are owned by the struct and released by load_opts_free().
 */
#ifndef TOOLS_LOAD_OPTIONS_H
#define TOOLS_LOAD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tools/load/workload.h"

/* A parsed http:// or https:// URL. */
struct load_target {
    bool tls;
    char host[256];      /* name or address, IPv6 without brackets */
    char port[8];        /* decimal */
    char authority[272]; /* Host value: as written, port kept if given */
    char path[LOAD_URL_MAX + 1]; /* path and query, "/" when empty */
};

struct load_opts {
    const char *url;
    struct load_target target;
    uint64_t objects;          /* > 0: generated catalogue */
    double zipf;               /* default 0.8 */
    const char *sizes_spec;    /* as given, for reports */
    struct load_sizes sizes;
    const char *cache_control; /* catalogue cc= value */
    const char *urls_file;
    unsigned connections; /* default 16 */
    unsigned threads;     /* default 1 */
    double rate;          /* requests/s over all connections; 0: closed loop */
    uint64_t duration_us; /* 0 with requests > 0; default 10 s */
    uint64_t requests;    /* exact count of measured requests, or 0 */
    uint64_t warmup_us;
    uint64_t timeout_us;  /* per request, default 10 s */
    uint64_t interval_us; /* time series step, default 1 s */
    const char **headers; /* "K: V" */
    size_t n_headers;
    const char **profiles; /* "WEIGHT:K: V|K: V" */
    size_t n_profiles;
    uint64_t seed;
    const char *origin_stats; /* URL of strata-origin's /__stats */
    struct load_target origin;
    const char *json;
    const char *report;
    double max_errors; /* fraction; exit 1 above it (default 0.01) */
    const char *cacert;
    bool verify; /* verify the server certificate (on with --cacert) */
    bool quiet;  /* no summary table */
    int progress; /* -1: when stderr is a terminal, 0: never, 1: always */
    char *cmdline; /* the whole command line, for reports (owned) */
};

/*
 * Parses argv into o. Returns 0 to run, 1 when --help or --version was
 * printed (exit 0), or -EINVAL with a one-line message in err.
 */
int load_opts_parse(struct load_opts *o, int argc, char **argv, char *err, size_t errlen);
void load_opts_free(struct load_opts *o);
void load_opts_usage(FILE *f);
/* Parses an http:// or https:// URL; 0 or -EINVAL with a message in err. */
int load_target_parse(const char *url, struct load_target *t, char *err, size_t errlen);
/* "10", "10s", "250ms", "1.5m", "1h" -> microseconds; -EINVAL otherwise. */
int load_duration_parse(const char *s, uint64_t *us);

#endif
