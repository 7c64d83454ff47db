/*
 * JSON report (jansson). Top-level fields are stable names for scripts:
 * requests, errors, rps, latency_ms{p50,p90,p99,p999,max}, hits, misses,
 * hit_ratio, and with --origin-stats origin_requests, offload_requests,
 * offload_bytes; the rest adds detail. NaN becomes null.
 */
#define LOG_MOD "load"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "tools/load/report.h"

static json_t *
num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *
u64(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *
workload_json(const struct load_report *r)
{
    const struct load_opts *o = r->o;

    switch (load_workload_kind(r->wl)) {
    case LOAD_WL_CATALOGUE:
        return json_pack("{s:s, s:o, s:f, s:s, s:s, s:o}", "kind", "catalogue", "objects",
                         u64(o->objects), "zipf", o->zipf, "sizes", o->sizes_spec,
                         "cache_control", o->cache_control, "working_set_bytes",
                         u64(load_workload_working_set(r->wl)));
    case LOAD_WL_URLS:
        return json_pack("{s:s, s:s, s:o}", "kind", "urls", "file", o->urls_file, "urls",
                         u64(load_workload_entries(r->wl)));
    case LOAD_WL_SINGLE:
        break;
    }
    return json_pack("{s:s, s:s}", "kind", "single", "path", o->target.path);
}

static json_t *
strings(const char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *
series_json(const struct load_report *r)
{
    static const char *const keys[] = { "t_s", "rps", "errors_per_s", "p50_ms", "p99_ms",
                                        "hit_ratio" };
    json_t *s = json_object(), *arr[6];

    json_object_set_new(s, "interval_s", json_real((double)r->t->interval_us / 1e6));
    for (int k = 0; k < 6; k++) {
        arr[k] = json_array();
        json_object_set_new(s, keys[k], arr[k]);
    }
    for (size_t i = 0; i < r->t->n_slots; i++) {
        struct load_point p;

        load_report_point(r, i, &p);
        json_array_append_new(arr[0], num(p.t_s));
        json_array_append_new(arr[1], num(p.rps));
        json_array_append_new(arr[2], num(p.errors_per_s));
        json_array_append_new(arr[3], num(p.p50_ms));
        json_array_append_new(arr[4], num(p.p99_ms));
        json_array_append_new(arr[5], num(p.hit_ratio));
    }
    return s;
}

static void
add_counts(json_t *root, const struct load_report *r)
{
    const struct load_tally *t = r->t;
    json_t *kinds = json_object(), *st = json_object(), *out = json_object();
    char code[16];

    for (int i = 0; i < LOAD_ERR__COUNT; i++)
        json_object_set_new(kinds, load_err_name(i), u64(t->err[i]));
    for (int i = 0; i < LOAD_STATUS_MAX; i++) {
        if (t->status[i] == 0)
            continue;
        snprintf(code, sizeof code, "%d", i);
        json_object_set_new(st, code, u64(t->status[i]));
    }
    if (t->status_other > 0)
        json_object_set_new(st, "other", u64(t->status_other));
    for (int i = 0; i < LOAD_OUT__COUNT; i++)
        json_object_set_new(out, load_outcome_name(i), u64(t->outcome[i]));
    json_object_set_new(root, "errors_by_kind", kinds);
    json_object_set_new(root, "status", st);
    json_object_set_new(root, "outcomes", out);
    json_object_set_new(root, "hits", u64(t->outcome[LOAD_OUT_HIT]));
    json_object_set_new(root, "misses", u64(t->outcome[LOAD_OUT_MISS]));
    json_object_set_new(root, "bypass", u64(t->outcome[LOAD_OUT_BYPASS]));
}

static void
add_figures(json_t *root, const struct load_report *r, const struct load_figures *f)
{
    json_t *lat = json_object();

    for (int i = 0; i < LOAD_LAT__COUNT; i++)
        json_object_set_new(lat, load_report_lat_name(i), num(f->lat_ms[i]));
    json_object_set_new(root, "latency_ms", lat);
    json_object_set_new(root, "rps", num(f->rps));
    json_object_set_new(root, "bytes_per_s", num(f->bytes_per_s));
    json_object_set_new(root, "error_rate", num(f->error_rate));
    json_object_set_new(root, "hit_ratio", num(f->hit_ratio));
    json_object_set_new(root, "byte_hit_ratio", num(f->byte_hit_ratio));
    if (r->origin_error != NULL)
        json_object_set_new(root, "origin_error", json_string(r->origin_error));
    if (!r->have_origin)
        return;
    json_object_set_new(root, "origin_requests", u64(r->origin.requests));
    json_object_set_new(root, "origin_bytes", u64(r->origin.bytes));
    json_object_set_new(root, "offload_requests",
                        f->have_offload_requests ? num(f->offload_requests) : json_null());
    json_object_set_new(root, "offload_bytes",
                        f->have_offload_bytes ? num(f->offload_bytes) : json_null());
}

static json_t *
build(const struct load_report *r)
{
    const struct load_opts *o = r->o;
    const struct load_tally *t = r->t;
    struct load_figures f;
    json_t *root;

    load_report_figures(r, &f);
    root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:o}", "tool", "strata-load",
                     "version", PACKAGE_VERSION, "command", o->cmdline, "target", o->url,
                     "mode", o->rate > 0 ? "open" : "closed",
                     "rate", o->rate > 0 ? json_real(o->rate) : json_null(),
                     "connections", (json_int_t)o->connections, "threads",
                     (json_int_t)o->threads, "seed", u64(o->seed));
    json_object_set_new(root, "workload", workload_json(r));
    json_object_set_new(root, "headers", strings(o->headers, o->n_headers));
    json_object_set_new(root, "profiles", strings(o->profiles, o->n_profiles));
    json_object_set_new(root, "duration_s", num(r->elapsed_s));
    json_object_set_new(root, "warmup_s", num((double)o->warmup_us / 1e6));
    json_object_set_new(root, "warmup_requests", u64(r->warmup_requests));
    json_object_set_new(root, "interrupted", json_boolean(r->interrupted));
    json_object_set_new(root, "requests", u64(t->requests));
    json_object_set_new(root, "responses", u64(t->responses));
    json_object_set_new(root, "errors", u64(t->errors));
    json_object_set_new(root, "unsent", u64(r->unsent));
    json_object_set_new(root, "abandoned", u64(r->abandoned));
    json_object_set_new(root, "bytes", u64(t->body_bytes));
    json_object_set_new(root, "header_bytes", u64(t->head_bytes));
    add_counts(root, r);
    add_figures(root, r, &f);
    json_object_set_new(root, "series", series_json(r));
    return root;
}

int
load_report_json(const struct load_report *r, const char *path)
{
    json_t *root = build(r);
    size_t flags = JSON_INDENT(2) | JSON_REAL_PRECISION(10) | JSON_PRESERVE_ORDER;
    int rc;

    if (strcmp(path, "-") == 0) {
        rc = json_dumpf(root, stdout, flags);
        fputc('\n', stdout);
    } else {
        rc = json_dump_file(root, path, flags);
    }
    json_decref(root);
    if (rc != 0) {
        log_err("cannot write JSON report %s: %s", path, strerror(errno));
        return -EIO;
    }
    return 0;
}
