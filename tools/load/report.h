/*
 * What a run produced, and its three renderings: the summary table on
 * stdout (summary.c), JSON (report_json.c) and a self-contained HTML page
 * with inline SVG charts (report_html.c). All derived figures come from
 * load_report_figures(), so the three never disagree.
 */
#ifndef TOOLS_LOAD_REPORT_H
#define TOOLS_LOAD_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tools/load/options.h"
#include "tools/load/origin_stats.h"
#include "tools/load/tally.h"
#include "tools/load/workload.h"

/* Everything borrowed from main for as long as the report is written. */
struct load_report {
    const struct load_opts *o;
    const struct load_workload *wl;
    const struct load_tally *t; /* measured phase, all threads merged */
    uint64_t warmup_requests;
    double elapsed_s; /* measured phase, start to last response */
    uint64_t unsent;  /* open loop: due but never sent */
    uint64_t abandoned;
    bool interrupted;
    bool have_origin;
    struct load_origin_stats origin; /* counters' increase during the phase */
    const char *origin_error;        /* when reading them failed */
    int64_t started_ms;              /* wall clock, for the page */
};

enum { LOAD_LAT_MIN, LOAD_LAT_MEAN, LOAD_LAT_P50, LOAD_LAT_P90, LOAD_LAT_P99,
       LOAD_LAT_P999, LOAD_LAT_MAX, LOAD_LAT__COUNT };

struct load_figures {
    double rps;
    double bytes_per_s;
    double error_rate;     /* errors / requests */
    double hit_ratio;      /* hits / responses */
    double byte_hit_ratio; /* body bytes of hits / body bytes */
    double lat_ms[LOAD_LAT__COUNT];
    bool have_offload_requests, have_offload_bytes;
    double offload_requests; /* 1 - origin requests / client requests */
    double offload_bytes;    /* 1 - origin bytes / client body bytes */
};

/* One interval of the time series, ready to print; NaN where undefined. */
struct load_point {
    double t_s;     /* start of the interval, since the start of the phase */
    double t_mid_s; /* middle of the part of it the phase covered */
    double rps, errors_per_s, p50_ms, p99_ms, hit_ratio;
};

void load_report_figures(const struct load_report *r, struct load_figures *f);
/* Fills p for slot i of the series. */
void load_report_point(const struct load_report *r, size_t i, struct load_point *p);
/* Label of a latency figure: "min", "mean", "p50", ..., "p999", "max". */
const char *load_report_lat_name(int i);

void load_report_summary(const struct load_report *r, FILE *f);
/* Write path ("-" for stdout); 0 or -errno, logging the failure. */
int load_report_json(const struct load_report *r, const char *path);
int load_report_html(const struct load_report *r, const char *path);

#endif
