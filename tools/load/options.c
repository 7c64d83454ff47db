/* Command line of strata-load: getopt_long, then cross-option checks. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "tools/load/options.h"

#define DEFAULT_SIZES "lognormal:median=8KiB,sigma=1.2,max=4MiB"
#define DEFAULT_CC "public, max-age=3600"

enum {
    OPT_OBJECTS = 256, OPT_ZIPF, OPT_SIZES, OPT_CC, OPT_URLS, OPT_WARMUP, OPT_PROFILE,
    OPT_SEED, OPT_ORIGIN, OPT_JSON, OPT_REPORT, OPT_MAXERR, OPT_TIMEOUT, OPT_INTERVAL,
    OPT_CACERT, OPT_VERIFY, OPT_PROGRESS, OPT_NOPROGRESS, OPT_VERSION, OPT_URL,
};

static const struct option longopts[] = {
    { "url", required_argument, NULL, OPT_URL },
    { "objects", required_argument, NULL, OPT_OBJECTS },
    { "zipf", required_argument, NULL, OPT_ZIPF },
    { "sizes", required_argument, NULL, OPT_SIZES },
    { "cache-control", required_argument, NULL, OPT_CC },
    { "urls", required_argument, NULL, OPT_URLS },
    { "connections", required_argument, NULL, 'c' },
    { "threads", required_argument, NULL, 't' },
    { "rate", required_argument, NULL, 'R' },
    { "duration", required_argument, NULL, 'd' },
    { "requests", required_argument, NULL, 'n' },
    { "warmup", required_argument, NULL, OPT_WARMUP },
    { "header", required_argument, NULL, 'H' },
    { "profile", required_argument, NULL, OPT_PROFILE },
    { "seed", required_argument, NULL, OPT_SEED },
    { "origin-stats", required_argument, NULL, OPT_ORIGIN },
    { "json", required_argument, NULL, OPT_JSON },
    { "report", required_argument, NULL, OPT_REPORT },
    { "max-errors", required_argument, NULL, OPT_MAXERR },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "interval", required_argument, NULL, OPT_INTERVAL },
    { "cacert", required_argument, NULL, OPT_CACERT },
    { "verify", no_argument, NULL, OPT_VERIFY },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "no-progress", no_argument, NULL, OPT_NOPROGRESS },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

void
load_opts_usage(FILE *f)
{
    fputs(
        "usage: strata-load --url http[s]://HOST:PORT[/PATH] [options]\n"
        "workload (default: GET the --url path):\n"
        "  --objects N            catalogue of N strata-origin objects\n"
        "  --zipf ALPHA           popularity exponent (default 0.8)\n"
        "  --sizes SPEC           SIZE | uniform:min=S,max=S |\n"
        "                         lognormal:median=S,sigma=F[,min=S][,max=S]\n"
        "                         (default " DEFAULT_SIZES ")\n"
        "  --cache-control V      cc= of catalogue URLs (default '" DEFAULT_CC "')\n"
        "  --urls FILE            'URL [WEIGHT]' per line\n"
        "  -H, --header 'K: V'    add to every request (repeatable)\n"
        "  --profile 'W:K: V|..'  header profile picked with weight W (repeatable)\n"
        "  --seed N               random seed (default 1)\n"
        "load:\n"
        "  -c, --connections C    keep-alive connections (default 16)\n"
        "  -t, --threads T        threads (default 1)\n"
        "  -R, --rate R           open loop at R requests/s (default: closed loop)\n"
        "  -d, --duration T       measured time (default 10s; 500ms, 2m...)\n"
        "  -n, --requests N       measured requests instead of a duration\n"
        "  --warmup T             unmeasured time before (default 0)\n"
        "  --timeout T            per request (default 10s)\n"
        "  --cacert FILE, --verify  verify the server's certificate\n"
        "output:\n"
        "  --origin-stats URL     strata-origin /__stats, read before and after\n"
        "  --json FILE            every figure as JSON\n"
        "  --report FILE.html     self-contained report with charts\n"
        "  --interval T           chart resolution (default 1s)\n"
        "  --max-errors F         exit 1 when errors/requests > F (default 0.01)\n"
        "  --progress, --no-progress  progress line (default: on a terminal)\n"
        "  -q, --quiet            no summary table\n",
        f);
}

int
load_duration_parse(const char *s, uint64_t *us)
{
    char *end;
    double v, mult = 1e6;

    if (s == NULL || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
        return -EINVAL;
    v = strtod(s, &end);
    if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1e6;
    else if (strcmp(end, "ms") == 0)
        mult = 1e3;
    else if (strcmp(end, "us") == 0)
        mult = 1;
    else if (strcmp(end, "m") == 0)
        mult = 60e6;
    else if (strcmp(end, "h") == 0)
        mult = 3600e6;
    else
        return -EINVAL;
    v *= mult;
    if (!isfinite(v) || v < 0 || v > 1e15)
        return -EINVAL;
    *us = (uint64_t)llround(v);
    return 0;
}

/* Splits authority a[0..n) into host and port; a message, or NULL. */
static const char *
split_authority(const char *a, size_t n, struct load_target *t)
{
    const char *colon, *end = a + n;
    size_t hl;

    if (*a == '[') {
        const char *rb = memchr(a, ']', n);

        if (rb == NULL)
            return "unterminated IPv6 address";
        hl = (size_t)(rb - a - 1);
        memcpy(t->host, a + 1, hl);
        colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(a, ':', n);
        hl = (size_t)((colon ? colon : end) - a);
        if (hl >= sizeof t->host)
            return "host too long";
        memcpy(t->host, a, hl);
    }
    if (hl == 0)
        return "empty host";
    if (colon != NULL) {
        char *pe;
        long port = strtol(colon + 1, &pe, 10);

        if (pe != end || port < 1 || port > 65535)
            return "bad port";
        snprintf(t->port, sizeof t->port, "%ld", port);
    } else {
        strcpy(t->port, t->tls ? "443" : "80");
    }
    return NULL;
}

int
load_target_parse(const char *url, struct load_target *t, char *err, size_t errlen)
{
    const char *a, *rest, *msg = NULL;

    memset(t, 0, sizeof *t);
    if (strncasecmp(url, "http://", 7) == 0) {
        a = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        a = url + 8;
        t->tls = true;
    } else {
        snprintf(err, errlen, "URL '%s': expected http:// or https://", url);
        return -EINVAL;
    }
    rest = a + strcspn(a, "/?#");
    if (rest == a || (size_t)(rest - a) >= sizeof t->authority)
        msg = "bad host";
    else if (strlen(rest) > LOAD_URL_MAX || strpbrk(rest, " \t\r\n") != NULL)
        msg = "bad path";
    else
        msg = split_authority(a, (size_t)(rest - a), t);
    if (msg != NULL) {
        snprintf(err, errlen, "URL '%s': %s", url, msg);
        return -EINVAL;
    }
    memcpy(t->authority, a, (size_t)(rest - a));
    snprintf(t->path, sizeof t->path, "%s%.*s", *rest == '/' ? "" : "/",
             (int)strcspn(rest, "#"), rest);
    return 0;
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int
parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !isfinite(v) || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static void
push(const char ***arr, size_t *n, const char *s)
{
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = s;
}

enum kind { K_U64, K_UINT, K_DOUBLE, K_DURATION, K_STR };

/* Options that only store a value: where and within which bounds. */
static const struct {
    int id;
    enum kind kind;
    size_t off;
    double min, max;
} simple[] = {
    { OPT_URL, K_STR, offsetof(struct load_opts, url), 0, 0 },
    { OPT_OBJECTS, K_U64, offsetof(struct load_opts, objects), 1, 1e12 },
    { OPT_ZIPF, K_DOUBLE, offsetof(struct load_opts, zipf), 0, 100 },
    { OPT_SIZES, K_STR, offsetof(struct load_opts, sizes_spec), 0, 0 },
    { OPT_CC, K_STR, offsetof(struct load_opts, cache_control), 0, 0 },
    { OPT_URLS, K_STR, offsetof(struct load_opts, urls_file), 0, 0 },
    { 'c', K_UINT, offsetof(struct load_opts, connections), 1, 100000 },
    { 't', K_UINT, offsetof(struct load_opts, threads), 1, 256 },
    { 'R', K_DOUBLE, offsetof(struct load_opts, rate), 1e-3, 1e8 },
    { 'd', K_DURATION, offsetof(struct load_opts, duration_us), 1e3, 1e14 },
    { 'n', K_U64, offsetof(struct load_opts, requests), 1, 1e15 },
    { OPT_WARMUP, K_DURATION, offsetof(struct load_opts, warmup_us), 0, 1e14 },
    { OPT_SEED, K_U64, offsetof(struct load_opts, seed), 0, 1.8e19 },
    { OPT_ORIGIN, K_STR, offsetof(struct load_opts, origin_stats), 0, 0 },
    { OPT_JSON, K_STR, offsetof(struct load_opts, json), 0, 0 },
    { OPT_REPORT, K_STR, offsetof(struct load_opts, report), 0, 0 },
    { OPT_MAXERR, K_DOUBLE, offsetof(struct load_opts, max_errors), 0, 1 },
    { OPT_TIMEOUT, K_DURATION, offsetof(struct load_opts, timeout_us), 1e3, 1e10 },
    { OPT_INTERVAL, K_DURATION, offsetof(struct load_opts, interval_us), 1e4, 1e10 },
    { OPT_CACERT, K_STR, offsetof(struct load_opts, cacert), 0, 0 },
};

/* Stores a simple option; 1 when id is not one, -EINVAL when bad. */
static int
set_simple(struct load_opts *o, int id, const char *arg)
{
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        void *p = (char *)o + simple[i].off;
        uint64_t u;

        if (simple[i].id != id)
            continue;
        switch (simple[i].kind) {
        case K_STR:
            *(const char **)p = arg;
            return 0;
        case K_DOUBLE:
            return parse_double(arg, simple[i].min, simple[i].max, p);
        case K_U64:
            return parse_u64(arg, (uint64_t)simple[i].min, (uint64_t)simple[i].max, p);
        case K_UINT:
            if (parse_u64(arg, (uint64_t)simple[i].min, (uint64_t)simple[i].max, &u) != 0)
                return -EINVAL;
            *(unsigned *)p = (unsigned)u;
            return 0;
        case K_DURATION:
            if (load_duration_parse(arg, &u) != 0 || u < simple[i].min || u > simple[i].max)
                return -EINVAL;
            *(uint64_t *)p = u;
            return 0;
        }
    }
    return 1;
}

static int
set_option(struct load_opts *o, int c, const char *arg)
{
    switch (c) {
    case 'H':
        push(&o->headers, &o->n_headers, arg);
        return 0;
    case OPT_PROFILE:
        push(&o->profiles, &o->n_profiles, arg);
        return 0;
    case OPT_VERIFY:
        o->verify = true;
        return 0;
    case OPT_PROGRESS:
    case OPT_NOPROGRESS:
        o->progress = c == OPT_PROGRESS;
        return 0;
    case 'q':
        o->quiet = true;
        return 0;
    default:
        return set_simple(o, c, arg);
    }
}

/* Checks that hold between options. */
static int
check(struct load_opts *o, const bool *seen, char *err, size_t errlen)
{
    if (o->url == NULL) {
        snprintf(err, errlen, "--url is required (try --help)");
        return -EINVAL;
    }
    if (load_target_parse(o->url, &o->target, err, errlen) != 0)
        return -EINVAL;
    if (o->objects > 0 && o->urls_file != NULL) {
        snprintf(err, errlen, "--objects and --urls exclude each other");
        return -EINVAL;
    }
    if (o->objects == 0 && (seen[OPT_ZIPF] || seen[OPT_SIZES] || seen[OPT_CC])) {
        snprintf(err, errlen, "--zipf, --sizes and --cache-control need --objects");
        return -EINVAL;
    }
    if (seen['d'] && seen['n']) {
        snprintf(err, errlen, "--duration and --requests exclude each other");
        return -EINVAL;
    }
    if (o->requests > 0)
        o->duration_us = 0;
    if (o->threads > o->connections) {
        snprintf(err, errlen, "--threads (%u) is above --connections (%u)", o->threads,
                 o->connections);
        return -EINVAL;
    }
    if (load_sizes_parse(o->sizes_spec, &o->sizes, err, errlen) != 0)
        return -EINVAL;
    if (o->cacert != NULL)
        o->verify = true;
    if (o->origin_stats != NULL) {
        if (load_target_parse(o->origin_stats, &o->origin, err, errlen) != 0)
            return -EINVAL;
        if (o->origin.tls) {
            snprintf(err, errlen, "--origin-stats: only http:// is supported");
            return -EINVAL;
        }
    }
    return 0;
}

static const char *
opt_name(int c)
{
    for (size_t i = 0; longopts[i].name != NULL; i++)
        if (longopts[i].val == c)
            return longopts[i].name;
    return "?";
}

static char *
join_args(int argc, char **argv)
{
    size_t len = 1;
    char *s;

    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 3;
    s = xmalloc(len);
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        bool q = argv[i][strcspn(argv[i], " \t'\"|;&")] != '\0';

        strcat(s, i ? " " : "");
        strcat(s, q ? "'" : "");
        strcat(s, argv[i]);
        strcat(s, q ? "'" : "");
    }
    return s;
}

int
load_opts_parse(struct load_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    bool seen[OPT_URL + 1] = { false };
    int c;

    memset(o, 0, sizeof *o);
    o->zipf = 0.8;
    o->sizes_spec = DEFAULT_SIZES;
    o->cache_control = DEFAULT_CC;
    o->connections = 16;
    o->threads = 1;
    o->duration_us = 10000000;
    o->timeout_us = 10000000;
    o->interval_us = 1000000;
    o->seed = 1;
    o->max_errors = 0.01;
    o->progress = -1;
    o->cmdline = join_args(argc, argv);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:t:R:d:n:H:qh", longopts, NULL)) != -1) {
        if (c == 'h' || c == OPT_VERSION) {
            if (c == 'h')
                load_opts_usage(stdout);
            else
                printf("strata-load %s\n", PACKAGE_VERSION);
            return 1;
        }
        if (c == '?' || c == ':') {
            snprintf(err, errlen, "%s option '%s' (try --help)",
                     c == ':' ? "missing value for" : "unknown", argv[optind - 1]);
            return -EINVAL;
        }
        if (set_option(o, c, optarg) != 0) {
            snprintf(err, errlen, "bad value '%s' for --%s", optarg, opt_name(c));
            return -EINVAL;
        }
        if (c >= 0 && c <= OPT_URL)
            seen[c] = true;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -EINVAL;
    }
    return check(o, seen, err, errlen);
}

void
load_opts_free(struct load_opts *o)
{
    free(o->headers);
    free(o->profiles);
    free(o->cmdline);
    o->headers = o->profiles = NULL;
    o->cmdline = NULL;
}
