/*
 * Text to workload structs: sizes and size distributions, header lines,
 * header profiles and URL files. Pure functions: no I/O except
 * load_urls_read(), errors go to the caller's buffer, nothing is printed.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/alloc.h"
#include "tools/load/workload.h"

#define URLS_FILE_MAX (1ull << 30)

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int
load_size_parse(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {
        { "", 1 },           { "b", 1 },          { "k", 1024.0 },
        { "kb", 1024.0 },    { "kib", 1024.0 },   { "m", 1048576.0 },
        { "mb", 1048576.0 }, { "mib", 1048576.0 }, { "g", 1073741824.0 },
        { "gb", 1073741824.0 }, { "gib", 1073741824.0 },
    };
    char *end;
    double v;

    if (s == NULL || !isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s)
        return -EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            v *= units[i].mult;
            if (!isfinite(v) || v > 0x1p62)
                return -EINVAL;
            *out = (uint64_t)llround(v);
            return 0;
        }
    }
    return -EINVAL;
}

/* Parses "k=v,k=v" parameters of a distribution. */
static int
sizes_params(const char *p, struct load_sizes *o, double *median, char *err, size_t errlen)
{
    char buf[256], *save = NULL, *tok;

    if (strlen(p) >= sizeof buf) {
        seterr(err, errlen, "size spec too long");
        return -EINVAL;
    }
    strcpy(buf, p);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '='), *end;
        uint64_t v;
        int rc = 0;

        if (eq == NULL) {
            seterr(err, errlen, "size spec: expected key=value, got '%s'", tok);
            return -EINVAL;
        }
        *eq++ = '\0';
        if (strcmp(tok, "sigma") == 0) {
            o->sigma = strtod(eq, &end);
            if (*eq == '\0' || *end != '\0' || !isfinite(o->sigma) || o->sigma < 0)
                rc = -EINVAL;
        } else if (strcmp(tok, "median") == 0 || strcmp(tok, "min") == 0 ||
                   strcmp(tok, "max") == 0) {
            rc = load_size_parse(eq, &v);
            if (rc == 0 && tok[1] == 'e')
                *median = (double)v;
            else if (rc == 0 && tok[1] == 'i')
                o->min = v;
            else if (rc == 0)
                o->max = v;
        } else {
            seterr(err, errlen, "size spec: unknown parameter '%s'", tok);
            return -EINVAL;
        }
        if (rc != 0) {
            seterr(err, errlen, "size spec: bad value '%s' for %s", eq, tok);
            return -EINVAL;
        }
    }
    return 0;
}

int
load_sizes_parse(const char *spec, struct load_sizes *out, char *err, size_t errlen)
{
    struct load_sizes o = { .min = 1, .max = 64ull << 20, .sigma = -1 };
    double median = 0;
    const char *p = spec;

    if (strncmp(spec, "fixed:", 6) == 0)
        p = spec + 6;
    if (p != spec || isdigit((unsigned char)spec[0])) {
        o.kind = LOAD_SIZES_FIXED;
        if (load_size_parse(p, &o.fixed) != 0) {
            seterr(err, errlen, "size spec: bad size '%s'", p);
            return -EINVAL;
        }
        o.min = o.max = o.fixed;
        *out = o;
        return 0;
    }
    if (strncmp(spec, "lognormal:", 10) == 0) {
        o.kind = LOAD_SIZES_LOGNORMAL;
        p = spec + 10;
    } else if (strncmp(spec, "uniform:", 8) == 0) {
        o.kind = LOAD_SIZES_UNIFORM;
        p = spec + 8;
    } else {
        seterr(err, errlen, "size spec '%s': expected SIZE, fixed:, uniform: or lognormal:",
               spec);
        return -EINVAL;
    }
    if (sizes_params(p, &o, &median, err, errlen) != 0)
        return -EINVAL;
    if (o.kind == LOAD_SIZES_LOGNORMAL && (median < 1 || o.sigma < 0)) {
        seterr(err, errlen, "size spec: lognormal needs median=SIZE (>= 1) and sigma=F");
        return -EINVAL;
    }
    if (o.min > o.max) {
        seterr(err, errlen, "size spec: min is above max");
        return -EINVAL;
    }
    o.mu = median > 0 ? log(median) : 0;
    *out = o;
    return 0;
}

uint64_t
load_sizes_draw(const struct load_sizes *s, struct load_rng *r)
{
    double v, u1, u2;

    switch (s->kind) {
    case LOAD_SIZES_FIXED:
        return s->fixed;
    case LOAD_SIZES_UNIFORM:
        return s->min + (uint64_t)(load_rng_double(r) * (double)(s->max - s->min + 1));
    case LOAD_SIZES_LOGNORMAL:
        break;
    }
    /* Box-Muller: one standard normal from two uniforms. */
    u1 = 1.0 - load_rng_double(r); /* (0, 1]: log() stays finite */
    u2 = load_rng_double(r);
    v = exp(s->mu + s->sigma * sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2));
    if (v < (double)s->min)
        return s->min;
    if (v > (double)s->max)
        return s->max;
    return (uint64_t)llround(v);
}

static bool
is_tchar(int c)
{
    return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int
load_header_check(const char *s, const char **name, size_t *name_len, const char **value,
                  size_t *value_len, char *err, size_t errlen)
{
    const char *colon = strchr(s, ':'), *v, *e;

    if (colon == NULL || colon == s) {
        seterr(err, errlen, "header '%s': expected 'Name: value'", s);
        return -EINVAL;
    }
    for (const char *p = s; p < colon; p++) {
        if (!is_tchar((unsigned char)*p)) {
            seterr(err, errlen, "header '%s': bad character in name", s);
            return -EINVAL;
        }
    }
    for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
        ;
    for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
        ;
    for (const char *p = v; p < e; p++) {
        unsigned char c = (unsigned char)*p;

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            seterr(err, errlen, "header '%.*s': control character in value",
                   (int)(colon - s), s);
            return -EINVAL;
        }
    }
    *name = s;
    *name_len = (size_t)(colon - s);
    *value = v;
    *value_len = (size_t)(e - v);
    return 0;
}

void
load_profile_clear(struct load_profile *p)
{
    free(p->lines);
    p->lines = NULL;
}

int
load_profile_parse(const char *spec, struct load_profile *out, char *err, size_t errlen)
{
    char *end, *copy, *save = NULL, *tok;
    size_t cap, len = 0;
    double w = strtod(spec, &end);

    if (end == spec || *end != ':' || !isfinite(w) || w < 0) {
        seterr(err, errlen, "profile '%s': expected 'WEIGHT:Name: value|Name: value'", spec);
        return -EINVAL;
    }
    copy = xstrdup(end + 1);
    cap = strlen(copy) * 3 + 8; /* each "K:V" grows by at most ": " and CRLF */
    out->weight = w;
    out->lines = xmalloc(cap);
    out->lines[0] = '\0';
    for (tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
        const char *n, *v;
        size_t nl, vl;

        if (load_header_check(tok, &n, &nl, &v, &vl, err, errlen) != 0) {
            free(copy);
            load_profile_clear(out);
            return -EINVAL;
        }
        len += (size_t)snprintf(out->lines + len, cap - len, "%.*s: %.*s\r\n", (int)nl, n,
                                (int)vl, v);
    }
    free(copy);
    return 0;
}

void
load_url_list_free(struct load_url_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].host);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Characters allowed in a request-target as we send it: visible ASCII. */
static bool
url_chars_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

/* Splits one URL token into path and optional host; message on error. */
static const char *
url_split(const char *u, size_t n, struct load_url *out)
{
    const char *auth, *slash;

    if (n > LOAD_URL_MAX)
        return "URL too long";
    if (!url_chars_ok(u, n))
        return "bad character in URL";
    if (n > 0 && u[0] == '/') {
        out->path = xstrndup(u, n);
        return NULL;
    }
    if (n > 7 && strncasecmp(u, "http://", 7) == 0)
        auth = u + 7;
    else if (n > 8 && strncasecmp(u, "https://", 8) == 0)
        auth = u + 8;
    else
        return "expected '/path' or 'http[s]://host/path'";
    slash = memchr(auth, '/', n - (size_t)(auth - u));
    if (slash == auth)
        return "empty host in URL";
    if (memchr(auth, '@', (size_t)((slash ? slash : u + n) - auth)) != NULL)
        return "user info in URL is not supported";
    if (slash == NULL) {
        out->host = xstrndup(auth, n - (size_t)(auth - u));
        out->path = xstrdup("/");
    } else {
        out->host = xstrndup(auth, (size_t)(slash - auth));
        out->path = xstrndup(slash, n - (size_t)(slash - u));
    }
    return NULL;
}

static void
list_push(struct load_url_list *l, const struct load_url *u)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = *u;
}

/* Parses one non-blank line; returns a message on error. */
static const char *
url_line(const char *s, size_t n, struct load_url_list *out)
{
    struct load_url u = { .weight = 1 };
    size_t ulen = 0, wpos;
    const char *msg;

    while (ulen < n && s[ulen] != ' ' && s[ulen] != '\t')
        ulen++;
    for (wpos = ulen; wpos < n && (s[wpos] == ' ' || s[wpos] == '\t'); wpos++)
        ;
    if (wpos < n) {
        char num[64], *end;

        if (n - wpos >= sizeof num)
            return "bad weight";
        memcpy(num, s + wpos, n - wpos);
        num[n - wpos] = '\0';
        u.weight = strtod(num, &end);
        if (*end != '\0' || !isfinite(u.weight) || u.weight < 0)
            return "bad weight (expected a number >= 0 after the URL)";
    }
    msg = url_split(s, ulen, &u);
    if (msg != NULL) {
        free(u.path);
        free(u.host);
        return msg;
    }
    list_push(out, &u);
    return NULL;
}

int
load_urls_parse(const char *name, const char *text, size_t len, struct load_url_list *out,
                char *err, size_t errlen)
{
    size_t pos = 0, line = 0;
    double total = 0;

    while (pos < len) {
        const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        const char *msg;

        pos += n + (nl != NULL);
        line++;
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        if (n == 0 || *s == '#')
            continue;
        if (memchr(s, '\0', n) != NULL)
            msg = "NUL byte in line";
        else
            msg = url_line(s, n, out);
        if (msg != NULL) {
            seterr(err, errlen, "%s:%zu: %s", name, line, msg);
            return -EINVAL;
        }
        total += out->v[out->n - 1].weight;
    }
    if (out->n == 0 || !(total > 0)) {
        seterr(err, errlen, "%s: no URL with a positive weight", name);
        return -EINVAL;
    }
    return 0;
}

int
load_urls_read(const char *path, struct load_url_list *out, char *err, size_t errlen)
{
    size_t got = 0, cap = 1 << 16;
    char *buf;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0) {
        rc = -errno;
        seterr(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    /* Read as a stream, so a pipe (/dev/stdin) works too. */
    buf = xmalloc(cap);
    for (;;) {
        ssize_t r;

        if (got == cap) {
            if (cap >= URLS_FILE_MAX) {
                close(fd);
                free(buf);
                seterr(err, errlen, "%s: larger than 1 GiB", path);
                return -EFBIG;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        r = read(fd, buf + got, cap - got);
        if (r == 0)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            close(fd);
            free(buf);
            seterr(err, errlen, "%s: %s", path, strerror(-rc));
            return rc;
        }
        got += (size_t)r;
    }
    close(fd);
    rc = load_urls_parse(path, buf, got, out, err, errlen);
    free(buf);
    return rc;
}
