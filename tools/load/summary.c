/* Derived figures of a run, and the summary table printed at the end. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tools/load/report.h"

static const char *const lat_names[] = { "min", "mean", "p50", "p90", "p99", "p999", "max" };

const char *
load_report_lat_name(int i)
{
    return i >= 0 && i < LOAD_LAT__COUNT ? lat_names[i] : "?";
}

static double
ratio(uint64_t a, uint64_t b)
{
    return b > 0 ? (double)a / (double)b : 0.0;
}

void
load_report_figures(const struct load_report *r, struct load_figures *f)
{
    const struct load_tally *t = r->t;
    static const double pct[] = { 0, 0, 50, 90, 99, 99.9, 100 };

    memset(f, 0, sizeof *f);
    if (r->elapsed_s > 0) {
        f->rps = (double)t->requests / r->elapsed_s;
        f->bytes_per_s = (double)t->body_bytes / r->elapsed_s;
    }
    f->error_rate = ratio(t->errors, t->requests);
    f->hit_ratio = ratio(t->hits, t->responses);
    f->byte_hit_ratio = ratio(t->hit_bytes, t->body_bytes);
    for (int i = 0; i < LOAD_LAT__COUNT; i++) {
        double us = i == LOAD_LAT_MEAN ? load_hist_mean(t->lat)
                                       : (double)load_hist_value_at(t->lat, pct[i]);

        f->lat_ms[i] = us / 1000.0;
    }
    if (r->have_origin && t->requests > 0) {
        f->have_offload_requests = true;
        f->offload_requests = 1.0 - ratio(r->origin.requests, t->requests);
    }
    if (r->have_origin && t->body_bytes > 0) {
        f->have_offload_bytes = true;
        f->offload_bytes = 1.0 - ratio(r->origin.bytes, t->body_bytes);
    }
}

void
load_report_point(const struct load_report *r, size_t i, struct load_point *p)
{
    const struct load_slot *s = &r->t->slots[i];
    double iv = (double)r->t->interval_us / 1e6, start = (double)i * iv;
    double end = start + iv;

    /* The last interval ends with the phase: shorter, or (folded) longer. */
    if (i + 1 == r->t->n_slots && r->elapsed_s > start)
        end = r->elapsed_s;
    if (end - start < 1e-3)
        end = start + 1e-3;
    p->t_s = start;
    p->t_mid_s = (start + end) / 2;
    p->rps = (double)s->requests / (end - start);
    p->errors_per_s = (double)s->errors / (end - start);
    p->p50_ms = s->lat ? (double)load_hist_value_at(s->lat, 50) / 1000.0 : NAN;
    p->p99_ms = s->lat ? (double)load_hist_value_at(s->lat, 99) / 1000.0 : NAN;
    p->hit_ratio = s->responses ? (double)s->hits / (double)s->responses : NAN;
}

static void
human_bytes(double b, char *buf, size_t len)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;

    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void
print_head(const struct load_report *r, FILE *f)
{
    const struct load_opts *o = r->o;
    char ws[32];

    fprintf(f, "target       %s  %s", o->url, o->rate > 0 ? "open loop" : "closed loop");
    if (o->rate > 0)
        fprintf(f, " at %.0f req/s", o->rate);
    fprintf(f, ", %u connection%s, %u thread%s\n", o->connections,
            o->connections == 1 ? "" : "s", o->threads, o->threads == 1 ? "" : "s");
    switch (load_workload_kind(r->wl)) {
    case LOAD_WL_CATALOGUE:
        human_bytes((double)load_workload_working_set(r->wl), ws, sizeof ws);
        fprintf(f, "workload     %llu objects (%s), Zipf %.2f, sizes %s, seed %llu\n",
                (unsigned long long)o->objects, ws, o->zipf, o->sizes_spec,
                (unsigned long long)o->seed);
        break;
    case LOAD_WL_URLS:
        fprintf(f, "workload     %llu URLs from %s, seed %llu\n",
                (unsigned long long)load_workload_entries(r->wl), o->urls_file,
                (unsigned long long)o->seed);
        break;
    case LOAD_WL_SINGLE:
        fprintf(f, "workload     %s\n", o->target.path);
        break;
    }
    fprintf(f, "measured     %.2f s", r->elapsed_s);
    if (o->warmup_us > 0)
        fprintf(f, " after %.2f s warm-up (%llu requests)", (double)o->warmup_us / 1e6,
                (unsigned long long)r->warmup_requests);
    fprintf(f, "%s\n", r->interrupted ? "  (interrupted)" : "");
}

static void
print_errors(const struct load_report *r, const struct load_figures *fg, FILE *f)
{
    const char *sep = " [";

    fprintf(f, "errors       %llu (%.2f%%)", (unsigned long long)r->t->errors,
            fg->error_rate * 100);
    for (int i = 0; i < LOAD_ERR__COUNT; i++) {
        if (r->t->err[i] == 0)
            continue;
        fprintf(f, "%s%s %llu", sep, load_err_name(i), (unsigned long long)r->t->err[i]);
        sep = ", ";
    }
    fprintf(f, "%s\n", sep[0] == ',' ? "]" : "");
    if (r->unsent > 0)
        fprintf(f, "unsent       %llu requests were due but every connection was busy\n",
                (unsigned long long)r->unsent);
    if (r->abandoned > 0)
        fprintf(f, "abandoned    %llu requests in flight when stopped\n",
                (unsigned long long)r->abandoned);
}

static void
print_status(const struct load_report *r, FILE *f)
{
    const char *sep = "";

    fprintf(f, "status       ");
    for (int i = 0; i < LOAD_STATUS_MAX; i++) {
        if (r->t->status[i] == 0)
            continue;
        fprintf(f, "%s%d: %llu", sep, i, (unsigned long long)r->t->status[i]);
        sep = ", ";
    }
    if (r->t->status_other > 0)
        fprintf(f, "%sother: %llu", sep, (unsigned long long)r->t->status_other);
    fprintf(f, "%s\n", r->t->responses ? "" : "no response");
}

static void
print_origin(const struct load_report *r, const struct load_figures *fg, FILE *f)
{
    char b[32];

    if (r->origin_error != NULL) {
        fprintf(f, "origin       unknown: %s\n", r->origin_error);
        return;
    }
    if (!r->have_origin)
        return;
    human_bytes((double)r->origin.bytes, b, sizeof b);
    fprintf(f, "origin       %llu requests, %s\n", (unsigned long long)r->origin.requests, b);
    fprintf(f, "offload      ");
    if (fg->have_offload_requests)
        fprintf(f, "%.2f%% of requests", fg->offload_requests * 100);
    if (fg->have_offload_bytes)
        fprintf(f, ", %.2f%% of bytes", fg->offload_bytes * 100);
    fprintf(f, "\n");
}

void
load_report_summary(const struct load_report *r, FILE *f)
{
    const struct load_tally *t = r->t;
    struct load_figures fg;
    char bps[32];

    load_report_figures(r, &fg);
    human_bytes(fg.bytes_per_s, bps, sizeof bps);
    print_head(r, f);
    fprintf(f, "requests     %llu  %.1f req/s  %s/s\n", (unsigned long long)t->requests,
            fg.rps, bps);
    print_errors(r, &fg, f);
    fprintf(f, "latency ms  ");
    for (int i = 0; i < LOAD_LAT__COUNT; i++)
        fprintf(f, " %s %.3g", i == LOAD_LAT_P999 ? "p99.9" : lat_names[i], fg.lat_ms[i]);
    fprintf(f, "\ncache        hit ratio %.2f%%  (hit %llu, miss %llu, bypass %llu, "
               "none %llu)  byte hit ratio %.2f%%\n",
            fg.hit_ratio * 100, (unsigned long long)t->outcome[LOAD_OUT_HIT],
            (unsigned long long)t->outcome[LOAD_OUT_MISS],
            (unsigned long long)t->outcome[LOAD_OUT_BYPASS],
            (unsigned long long)t->outcome[LOAD_OUT_NONE], fg.byte_hit_ratio * 100);
    print_status(r, f);
    print_origin(r, &fg, f);
}
