/*
 * Origin counters and their JSON form for GET /__stats. Single-threaded:
 * plain increments. Admin requests are never counted, and neither are
 * connections that only carried admin requests or none (port probes): a
 * connection counts in "connections" once per reset epoch, at its first
 * content request, and in "live_connections" from then until it closes. Per-target counts are
 * kept for the first STATS_MAX_PATHS distinct targets since the last reset;
 * later ones only bump "paths_dropped", so memory stays bounded under
 * cache-busting load.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "tools/origin/origin_int.h"

#define STATS_MAX_PATHS 100000u

struct origin_stats origin_stats;

static json_t *paths;
static size_t npaths;
static uint64_t paths_dropped;

static const char *const method_names[ORIGIN_M__COUNT] = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    "PATCH",
};

void
origin_stats_init(void)
{
    memset(&origin_stats, 0, sizeof origin_stats);
    origin_stats.epoch = 1;
    paths = json_object();
    ASSERT(paths != NULL);
}

void
origin_stats_fini(void)
{
    json_decref(paths);
    paths = NULL;
}

/* Zeroes every counter; live_connections is a gauge and stays. */
void
origin_stats_reset(void)
{
    int64_t live = origin_stats.live_connections;
    uint64_t epoch = origin_stats.epoch;

    memset(&origin_stats, 0, sizeof origin_stats);
    origin_stats.live_connections = live;
    origin_stats.epoch = epoch + 1;
    json_object_clear(paths);
    npaths = 0;
    paths_dropped = 0;
}

/*
 * A copy of n bytes of s as UTF-8, reading each byte as Latin-1 (so any
 * byte string survives into JSON, and ASCII is unchanged). Caller frees.
 */
char *
origin_latin1_to_utf8(const char *s, size_t n)
{
    char *out = xmalloc(2 * n + 1), *w = out;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x80) {
            *w++ = (char)(c != 0 ? c : '?');
            continue;
        }
        *w++ = (char)(0xc0 | (c >> 6));
        *w++ = (char)(0x80 | (c & 0x3f));
    }
    *w = '\0';
    return out;
}

/* c carries a content request. */
void
origin_stats_count_conn(struct origin_conn *c)
{
    if (!c->live_counted) {
        c->live_counted = true;
        origin_stats.live_connections++;
    }
    if (c->epoch != origin_stats.epoch) {
        c->epoch = origin_stats.epoch;
        origin_stats.connections++;
    }
}

static bool
is_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

void
origin_stats_count_path(const char *target)
{
    char *tmp = NULL;
    const char *key = target;
    json_t *v;

    if (!is_ascii(target))
        key = tmp = origin_latin1_to_utf8(target, strlen(target));
    v = json_object_get(paths, key);

    if (v != NULL) {
        json_integer_set(v, json_integer_value(v) + 1);
    } else if (npaths < STATS_MAX_PATHS) {
        json_object_set_new_nocheck(paths, key, json_integer(1));
        npaths++;
    } else {
        paths_dropped++;
    }
    free(tmp);
}

void
origin_stats_count_status(int status)
{
    if (status >= 0 && status < (int)ARRAY_LEN(origin_stats.by_status))
        origin_stats.by_status[status]++;
}

static json_t *
jint(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *
by_status_json(void)
{
    json_t *o = json_object();

    for (int s = 0; s < (int)ARRAY_LEN(origin_stats.by_status); s++) {
        char key[16];

        if (origin_stats.by_status[s] == 0)
            continue;
        snprintf(key, sizeof key, "%d", s);
        json_object_set_new(o, key, jint(origin_stats.by_status[s]));
    }
    return o;
}

/* The /__stats document; caller frees the string. */
char *
origin_stats_json(bool detail)
{
    const struct origin_stats *s = &origin_stats;
    json_t *o = json_object(), *m = json_object();
    char *out;

    json_object_set_new(o, "requests", jint(s->requests));
    json_object_set_new(o, "bytes", jint(s->bytes));
    json_object_set_new(o, "received_bytes", jint(s->received_bytes));
    json_object_set_new(o, "connections", jint(s->connections));
    json_object_set_new(o, "accepted_connections",
                        jint(s->accepted_connections));
    json_object_set_new(o, "live_connections",
                        json_integer(s->live_connections));
    json_object_set_new(o, "not_modified", jint(s->not_modified));
    json_object_set_new(o, "resets", jint(s->resets));
    for (int i = 0; i < ORIGIN_M__COUNT; i++)
        json_object_set_new(m, method_names[i], jint(s->by_method[i]));
    json_object_set_new(o, "by_method", m);
    json_object_set_new(o, "by_status", by_status_json());
    if (detail) {
        json_object_set(o, "paths", paths);
        json_object_set_new(o, "paths_dropped", jint(paths_dropped));
    }
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ASSERT(out != NULL);
    return out;
}

enum origin_method
origin_method_of(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return ORIGIN_M_GET;
    case EVHTTP_REQ_POST: return ORIGIN_M_POST;
    case EVHTTP_REQ_HEAD: return ORIGIN_M_HEAD;
    case EVHTTP_REQ_PUT: return ORIGIN_M_PUT;
    case EVHTTP_REQ_DELETE: return ORIGIN_M_DELETE;
    case EVHTTP_REQ_OPTIONS: return ORIGIN_M_OPTIONS;
    case EVHTTP_REQ_TRACE: return ORIGIN_M_TRACE;
    case EVHTTP_REQ_CONNECT: return ORIGIN_M_CONNECT;
    case EVHTTP_REQ_PATCH: return ORIGIN_M_PATCH;
    }
    return ORIGIN_M_GET;
}

const char *
origin_method_name(enum origin_method m)
{
    ASSERT(m < ORIGIN_M__COUNT);
    return method_names[m];
}
