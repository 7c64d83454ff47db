/*
 * HTML report: one self-contained page (inline CSS and SVG, no script, no
 * external reference) that opens in any browser without network access.
 * Charts over time: throughput (and errors), p50/p99 latency, hit ratio.
 * Each series is one or more <polyline data-series="NAME"> elements (a gap
 * where an interval had no data splits it).
 */
#define LOG_MOD "load"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"
#include "tools/load/report.h"

#define W 880
#define H 260
#define ML 64
#define MR 16
#define MT 28
#define MB 36

struct series {
    const char *name;
    const char *color;
    double *y;
};

struct chart {
    const char *title;
    const double *x;
    size_t n;
    double xmax, ymax;
    bool percent;
};

static void
esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* A 1, 2 or 5 times a power of ten step giving about `ticks` ticks. */
static double
nice_step(double max, int ticks)
{
    double raw = max / ticks, mag = pow(10, floor(log10(raw))), m = raw / mag;

    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * mag;
}

static double
px(const struct chart *c, double x)
{
    return ML + x / c->xmax * (W - ML - MR);
}

static double
py(const struct chart *c, double y)
{
    return H - MB - y / c->ymax * (H - MT - MB);
}

static void
axes(FILE *f, const struct chart *c)
{
    double ys = nice_step(c->ymax, 5), xs = nice_step(c->xmax, 8);

    fprintf(f, "<text class=\"title\" x=\"%d\" y=\"18\">", ML);
    esc(f, c->title);
    fputs("</text>\n", f);
    for (double y = 0; y <= c->ymax * 1.0001; y += ys) {
        fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
                   "<text class=\"yl\" x=\"%d\" y=\"%.1f\">%g%s</text>\n",
                ML, W - MR, py(c, y), py(c, y), ML - 6, py(c, y) + 4,
                c->percent ? y * 100 : y, c->percent ? "%" : "");
    }
    for (double x = 0; x <= c->xmax * 1.0001; x += xs)
        fprintf(f, "<text class=\"xl\" x=\"%.1f\" y=\"%d\">%gs</text>\n", px(c, x), H - MB + 16,
                x);
    fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n", ML, W - MR,
            H - MB, H - MB);
    fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n", ML, ML, MT,
            H - MB);
}

/* Polylines of one series, split where values are missing. */
static void
plot(FILE *f, const struct chart *c, const struct series *s)
{
    bool open = false;
    size_t points = 0;

    for (size_t i = 0; i < c->n; i++) {
        if (!isfinite(s->y[i])) {
            if (open)
                fputs("\"/>\n", f);
            open = false;
            continue;
        }
        if (!open)
            fprintf(f, "<polyline data-series=\"%s\" stroke=\"%s\" points=\"", s->name,
                    s->color);
        fprintf(f, "%s%.1f,%.1f", open ? " " : "", px(c, c->x[i]), py(c, s->y[i]));
        open = true;
        points++;
    }
    if (open)
        fputs("\"/>\n", f);
    /* Too few points for a visible line: mark them. */
    for (size_t i = 0; i < c->n && c->n < 3; i++)
        if (isfinite(s->y[i]))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                    px(c, c->x[i]), py(c, s->y[i]), s->color);
    if (points == 0)
        fprintf(f, "<text class=\"xl\" x=\"%d\" y=\"%d\">no data for %s</text>\n",
                (W + ML) / 2, H / 2, s->name);
}

static void
chart(FILE *f, struct chart *c, const struct series *s, size_t ns)
{
    double top = 0;

    for (size_t k = 0; k < ns; k++)
        for (size_t i = 0; i < c->n; i++)
            if (isfinite(s[k].y[i]) && s[k].y[i] > top)
                top = s[k].y[i];
    if (c->percent)
        top = 1;
    c->ymax = top > 0 ? ceil(top * 1.05 / nice_step(top * 1.05, 5)) * nice_step(top * 1.05, 5)
                      : 1;
    fprintf(f, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
               "role=\"img\">\n",
            W, H, W, H);
    axes(f, c);
    for (size_t k = 0; k < ns; k++) {
        plot(f, c, &s[k]);
        fprintf(f, "<line x1=\"%zu\" x2=\"%zu\" y1=\"14\" y2=\"14\" stroke=\"%s\" "
                   "stroke-width=\"3\"/><text class=\"legend\" x=\"%zu\" y=\"18\">%s</text>\n",
                W - MR - 110 * (ns - k), W - MR - 110 * (ns - k) + 18, s[k].color,
                W - MR - 110 * (ns - k) + 24, s[k].name);
    }
    fputs("</svg>\n", f);
}

static void
charts(FILE *f, const struct load_report *r)
{
    size_t n = r->t->n_slots;
    double *x = xcalloc(n + 1, sizeof *x), *v[5];
    struct chart c = { .x = x, .n = n, .xmax = 0 };

    for (int k = 0; k < 5; k++)
        v[k] = xcalloc(n + 1, sizeof *v[k]);
    for (size_t i = 0; i < n; i++) {
        struct load_point p;

        load_report_point(r, i, &p);
        x[i] = p.t_mid_s;
        v[0][i] = p.rps;
        v[1][i] = p.errors_per_s;
        v[2][i] = p.p50_ms;
        v[3][i] = p.p99_ms;
        v[4][i] = p.hit_ratio;
    }
    c.xmax = r->elapsed_s;
    if (c.xmax <= 0)
        c.xmax = 1;
    {
        struct series tput[] = { { "requests/s", "#2563eb", v[0] },
                                 { "errors/s", "#dc2626", v[1] } };
        struct series lat[] = { { "p50", "#16a34a", v[2] }, { "p99", "#ea580c", v[3] } };
        struct series hit[] = { { "hit ratio", "#7c3aed", v[4] } };

        c.title = "Throughput (requests/s)";
        chart(f, &c, tput, 2);
        c.title = "Latency (ms)";
        chart(f, &c, lat, 2);
        c.title = "Hit ratio";
        c.percent = true;
        chart(f, &c, hit, 1);
    }
    for (int k = 0; k < 5; k++)
        free(v[k]);
    free(x);
}

static void
row(FILE *f, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
row(FILE *f, const char *name, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(f, "<tr><th>%s</th><td>", name);
    esc(f, buf);
    fputs("</td></tr>\n", f);
}

static void
table(FILE *f, const struct load_report *r)
{
    const struct load_tally *t = r->t;
    struct load_figures g;

    load_report_figures(r, &g);
    fputs("<table class=\"summary\">\n", f);
    row(f, "Target", "%s", r->o->url);
    row(f, "Mode", "%s, %u connections, %u threads", r->o->rate > 0 ? "open loop" : "closed loop",
        r->o->connections, r->o->threads);
    row(f, "Measured", "%.2f s (warm-up %.2f s, %llu requests)", r->elapsed_s,
        (double)r->o->warmup_us / 1e6, (unsigned long long)r->warmup_requests);
    row(f, "Requests", "%llu (%.1f/s), %llu responses", (unsigned long long)t->requests, g.rps,
        (unsigned long long)t->responses);
    row(f, "Errors", "%llu (%.2f%%), unsent %llu", (unsigned long long)t->errors,
        g.error_rate * 100, (unsigned long long)r->unsent);
    row(f, "Latency (ms)", "p50 %.3f, p90 %.3f, p99 %.3f, p99.9 %.3f, max %.3f",
        g.lat_ms[LOAD_LAT_P50], g.lat_ms[LOAD_LAT_P90], g.lat_ms[LOAD_LAT_P99],
        g.lat_ms[LOAD_LAT_P999], g.lat_ms[LOAD_LAT_MAX]);
    row(f, "Cache", "hit ratio %.2f%% (hit %llu, miss %llu), byte hit ratio %.2f%%",
        g.hit_ratio * 100, (unsigned long long)t->outcome[LOAD_OUT_HIT],
        (unsigned long long)t->outcome[LOAD_OUT_MISS], g.byte_hit_ratio * 100);
    if (r->have_origin)
        row(f, "Origin offload", "%.2f%% of requests, %.2f%% of bytes (origin: %llu requests)",
            g.offload_requests * 100, g.offload_bytes * 100,
            (unsigned long long)r->origin.requests);
    fputs("</table>\n", f);
}

static const char css[] =
    "body{font-family:system-ui,sans-serif;margin:2em;color:#111}"
    "table.summary{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{text-align:left;padding:.25em .8em;border-bottom:1px solid #ddd}"
    "code{font-size:.85em}svg.chart{display:block;margin:1em 0}"
    "svg polyline{fill:none;stroke-width:2}.grid{stroke:#e5e7eb}.axis{stroke:#6b7280}"
    ".yl{font-size:11px;text-anchor:end;fill:#374151}"
    ".xl{font-size:11px;text-anchor:middle;fill:#374151}"
    ".title{font-size:14px;font-weight:600}.legend{font-size:12px}";

int
load_report_html(const struct load_report *r, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    time_t when = (time_t)(r->started_ms / 1000);
    char date[64];
    struct tm tm;

    if (f == NULL) {
        log_err("cannot write HTML report %s: %s", path, strerror(errno));
        return -errno;
    }
    gmtime_r(&when, &tm);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<title>strata-load report</title><style>%s</style></head><body>\n"
               "<h1>strata-load report</h1>\n<p>%s &middot; <code>",
            css, date);
    esc(f, r->o->cmdline);
    fputs("</code></p>\n", f);
    table(f, r);
    charts(f, r);
    fputs("</body></html>\n", f);
    if (f != stdout && fclose(f) != 0) {
        log_err("cannot write HTML report %s: %s", path, strerror(errno));
        return -EIO;
    }
    return 0;
}
