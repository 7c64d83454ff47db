/*
 * strata-load: measures throughput, latency and origin offload of any HTTP
 * endpoint. main() parses options, builds the workload, then runs an
 * optional warm-up phase and the measured phase. Each phase starts one
 * thread per worker and joins them; in between (workers idle, nothing in
 * flight) the origin's counters are read, so offload covers exactly the
 * measured requests. Results are merged, then printed and written.
 *
 * Exit status: 0; 1 when the error rate exceeds --max-errors; 2 for a bad
 * command line or setup; 3 when --origin-stats could not be read;
 * 130 when interrupted (reports are still written).
 */
#define LOG_MOD "load"
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "tools/load/options.h"
#include "tools/load/origin_stats.h"
#include "tools/load/progress.h"
#include "tools/load/report.h"
#include "tools/load/worker.h"

#define ORIGIN_TIMEOUT_MS 5000

struct run {
    struct load_opts o;
    struct load_workload *wl;
    struct load_tls *tls;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct load_worker **workers;
    struct load_progress progress;
};

/* One worker thread of a phase. */
struct job {
    pthread_t tid;
    struct load_worker *w;
    struct load_phase ph;
    struct load_tally *t;
    uint64_t end_us; /* when the worker's last request ended */
    int *done;       /* atomic count of finished jobs */
};

static void
on_signal(int sig)
{
    load_worker_stop_all();
    signal(sig, SIG_DFL); /* a second ^C ends at once */
}

static int
resolve(struct run *r, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL, *pick;
    int rc = getaddrinfo(r->o.target.host, r->o.target.port, &hints, &ai);

    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", r->o.target.host, gai_strerror(rc));
        return -EINVAL;
    }
    /* Prefer IPv4: "localhost" servers often listen on 127.0.0.1 only. */
    for (pick = ai; pick != NULL && pick->ai_family != AF_INET; pick = pick->ai_next)
        ;
    if (pick == NULL)
        pick = ai;
    memcpy(&r->addr, pick->ai_addr, pick->ai_addrlen);
    r->addr_len = pick->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static int
build_workload(struct run *r, char *err, size_t errlen)
{
    struct load_url_list urls = { 0 };
    struct load_profile *prof = xcalloc(r->o.n_profiles + 1, sizeof *prof);
    struct load_workload_spec sp = {
        .authority = r->o.target.authority, .path = r->o.target.path,
        .objects = r->o.objects, .zipf = r->o.zipf, .sizes = r->o.sizes,
        .cache_control = r->o.cache_control, .headers = r->o.headers,
        .n_headers = r->o.n_headers, .profiles = prof, .n_profiles = r->o.n_profiles,
        .seed = r->o.seed,
    };
    int rc = 0;

    for (size_t i = 0; i < r->o.n_profiles && rc == 0; i++)
        rc = load_profile_parse(r->o.profiles[i], &prof[i], err, errlen);
    if (rc == 0 && r->o.urls_file != NULL) {
        rc = load_urls_read(r->o.urls_file, &urls, err, errlen);
        sp.urls = &urls;
    }
    if (rc == 0)
        r->wl = load_workload_new(&sp, err, errlen);
    for (size_t i = 0; i < r->o.n_profiles; i++)
        load_profile_clear(&prof[i]);
    free(prof);
    load_url_list_free(&urls);
    return rc == 0 && r->wl != NULL ? 0 : -EINVAL;
}

static int
build_workers(struct run *r, char *err, size_t errlen)
{
    unsigned t = r->o.threads;

    if (r->o.target.tls) {
        r->tls = load_tls_new(r->o.verify, r->o.cacert, err, errlen);
        if (r->tls == NULL)
            return -EINVAL;
    }
    r->workers = xcalloc(t, sizeof *r->workers);
    for (unsigned i = 0; i < t; i++) {
        struct load_worker_cfg wc = {
            .wl = r->wl, .tls = r->tls, .addr = (struct sockaddr *)&r->addr,
            .addr_len = r->addr_len, .sni = r->o.target.host, .index = i, .n_workers = t,
            .n_conns = r->o.connections / t + (i < r->o.connections % t),
            .rate = r->o.rate, .seed = r->o.seed, .timeout_us = r->o.timeout_us,
        };

        r->workers[i] = load_worker_new(&wc);
        if (r->workers[i] == NULL) {
            snprintf(err, errlen, "cannot create an event loop");
            return -ENOMEM;
        }
    }
    return 0;
}

static void *
job_main(void *arg)
{
    struct job *j = arg;

    load_worker_run(j->w, &j->ph, j->t);
    j->end_us = clock_mono_us();
    __atomic_add_fetch(j->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void
show_progress(struct run *r, struct job *jobs, const char *label, uint64_t start)
{
    uint64_t v[4] = { 0, 0, 0, 0 };

    for (unsigned i = 0; i < r->o.threads; i++) {
        v[0] += load_tally_live(&jobs[i].t->requests);
        v[1] += load_tally_live(&jobs[i].t->errors);
        v[2] += load_tally_live(&jobs[i].t->hits);
        v[3] += load_tally_live(&jobs[i].t->responses);
    }
    load_progress_update(&r->progress, label, clock_mono_us(), start, v[0], v[1], v[2], v[3]);
}

/* Waits for the jobs, updating the progress line about once a second. */
static void
wait_jobs(struct run *r, struct job *jobs, int *done, const char *label, uint64_t start)
{
    struct timespec nap = { 0, 100 * 1000 * 1000 };
    uint64_t next = start + 1000000;

    while (__atomic_load_n(done, __ATOMIC_ACQUIRE) < (int)r->o.threads) {
        nanosleep(&nap, NULL);
        if (clock_mono_us() >= next) {
            show_progress(r, jobs, label, start);
            next += 1000000;
        }
    }
    for (unsigned i = 0; i < r->o.threads; i++)
        pthread_join(jobs[i].tid, NULL);
    load_progress_clear(&r->progress);
}

/* This worker's share of --requests: request k goes to worker k mod T. */
static uint64_t
quota(const struct run *r, unsigned i)
{
    uint64_t n = r->o.requests, t = r->o.threads;

    if (n == 0)
        return UINT64_MAX;
    return n > i ? (n - i + t - 1) / t : 0;
}

static void
start_job(struct run *r, struct job *j, unsigned i, bool warmup, uint64_t start)
{
    j->w = r->workers[i];
    j->ph.start_us = start;
    j->ph.stream = warmup ? LOAD_RNG_WARMUP : LOAD_RNG_MEASURE;
    j->ph.quota = warmup ? UINT64_MAX : quota(r, i);
    if (warmup)
        j->ph.end_us = start + r->o.warmup_us;
    else
        j->ph.end_us = r->o.duration_us ? start + r->o.duration_us : 0;
    j->t = load_tally_new(start, r->o.interval_us);
    if (pthread_create(&j->tid, NULL, job_main, j) != 0) {
        log_err("cannot start a thread: %s", strerror(errno));
        exit(2);
    }
}

/* Runs a phase on every worker; returns their merged tally. */
static struct load_tally *
run_phase(struct run *r, bool warmup, struct load_report *rep)
{
    unsigned n = r->o.threads;
    struct job *jobs = xcalloc(n, sizeof *jobs);
    uint64_t start = clock_mono_us(), end = start;
    struct load_tally *sum = load_tally_new(start, r->o.interval_us);
    int done = 0;

    for (unsigned i = 0; i < n; i++) {
        jobs[i].done = &done;
        start_job(r, &jobs[i], i, warmup, start);
    }
    wait_jobs(r, jobs, &done, warmup ? "warm-up" : "run", start);
    for (unsigned i = 0; i < n; i++) {
        end = jobs[i].end_us > end ? jobs[i].end_us : end;
        load_tally_merge(sum, jobs[i].t);
        load_tally_free(&jobs[i].t);
        if (!warmup) {
            rep->unsent += load_worker_unsent(r->workers[i]);
            rep->abandoned += load_worker_abandoned(r->workers[i]);
        }
    }
    if (!warmup) {
        rep->elapsed_s = (double)(end - start) / 1e6;
        load_tally_fold_tail(sum, end - start);
    }
    free(jobs);
    return sum;
}

/* Reads the origin's counters; on failure keeps the message in the report. */
static bool
origin_read(struct run *r, struct load_report *rep, struct load_origin_stats *s, char *buf,
            size_t len)
{
    if (r->o.origin_stats == NULL || rep->origin_error != NULL)
        return false;
    if (load_origin_stats_fetch(&r->o.origin, ORIGIN_TIMEOUT_MS, s, buf, len) == 0)
        return true;
    rep->origin_error = buf;
    return false;
}

/* Warm-up, then the measured phase between two origin readings. */
static struct load_tally *
measure(struct run *r, struct load_report *rep, char *obuf, size_t olen)
{
    struct load_origin_stats before, after;
    struct load_tally *t;
    bool ok;

    if (r->o.warmup_us > 0) {
        t = run_phase(r, true, rep);
        rep->warmup_requests = t->requests;
        load_tally_free(&t);
    }
    ok = origin_read(r, rep, &before, obuf, olen);
    t = run_phase(r, false, rep);
    if (ok && origin_read(r, rep, &after, obuf, olen)) {
        if (after.requests < before.requests || after.bytes < before.bytes) {
            rep->origin_error = "the origin's counters went down (reset during the run?)";
            return t;
        }
        rep->have_origin = true;
        rep->origin.requests = after.requests - before.requests;
        rep->origin.bytes = after.bytes - before.bytes;
    }
    return t;
}

static int
exit_status(const struct load_report *rep, const struct load_opts *o)
{
    double rate = rep->t->requests ? (double)rep->t->errors / (double)rep->t->requests : 0;

    if (rep->interrupted)
        return 130;
    if (rate > o->max_errors) {
        fprintf(stderr, "strata-load: error rate %.4f is above --max-errors %g\n", rate,
                o->max_errors);
        return 1;
    }
    return rep->origin_error != NULL ? 3 : 0;
}

static int
write_reports(struct run *r, struct load_report *rep)
{
    int rc = 0;

    if (!r->o.quiet)
        load_report_summary(rep, stdout);
    fflush(stdout);
    if (r->o.json != NULL && load_report_json(rep, r->o.json) != 0)
        rc = 2;
    if (r->o.report != NULL && load_report_html(rep, r->o.report) != 0)
        rc = 2;
    return rc;
}

static void
cleanup(struct run *r)
{
    for (unsigned i = 0; r->workers != NULL && i < r->o.threads; i++)
        load_worker_free(&r->workers[i]);
    free(r->workers);
    load_tls_free(&r->tls);
    load_workload_free(&r->wl);
    load_opts_free(&r->o);
}

int
main(int argc, char **argv)
{
    static struct run r;
    struct load_report rep = { .o = &r.o };
    struct load_tally *t;
    char err[1024], oerr[512];
    int rc = load_opts_parse(&r.o, argc, argv, err, sizeof err);

    if (rc == 0 && (resolve(&r, err, sizeof err) != 0 || build_workload(&r, err, sizeof err) != 0 ||
                    build_workers(&r, err, sizeof err) != 0))
        rc = -EINVAL;
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "strata-load: %s\n", err);
        cleanup(&r);
        return rc < 0 ? 2 : 0;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    load_progress_init(&r.progress, r.o.progress);
    rep.wl = r.wl;
    rep.started_ms = clock_wall_ms();
    t = measure(&r, &rep, oerr, sizeof oerr);
    rep.t = t;
    rep.interrupted = load_worker_stopping();
    rc = write_reports(&r, &rep);
    if (rc == 0)
        rc = exit_status(&rep, &r.o);
    load_tally_free(&t);
    cleanup(&r);
    return rc;
}
