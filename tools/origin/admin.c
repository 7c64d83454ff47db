/*
 * Admin paths, never counted in the stats and never delayed:
 *   GET  /__stats[?detail=1]  counters as JSON (stats.c)
 *   POST /__reset             zeroes the counters, 204
 *   ANY  /__echo...           the request as received, as JSON
 * The echo reports every header in arrival order as [name, value] pairs
 * (bytes read as Latin-1), and the body's length and xxh64. evhttp reads a
 * request body whole before calling us, capped at ORIGIN_MAX_BODY_IN (413
 * beyond), and only for POST, PUT and PATCH.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "common/assert.h"
#include "tools/origin/origin_int.h"

/* Sends s (which we free) as a JSON body. */
static void
reply_json(struct evhttp_request *req, char *s)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *buf = evbuffer_new();

    ASSERT(buf != NULL);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evbuffer_add(buf, s, strlen(s));
    evbuffer_add(buf, "\n", 1);
    free(s);
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
}

/* Whether the query of target has name=1. */
static bool
query_flag(const char *target, const char *name)
{
    const char *q = strchr(target, '?');
    size_t n = strlen(name);

    while (q != NULL) {
        q++;
        if (strncmp(q, name, n) == 0 && q[n] == '=' && q[n + 1] == '1' &&
            (q[n + 2] == '\0' || q[n + 2] == '&'))
            return true;
        q = strchr(q, '&');
    }
    return false;
}

static void
reply_reset(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(h, "Allow", "POST");
        evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
        evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
        return;
    }
    origin_stats_reset();
    evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
    evhttp_send_reply(req, 204, "No Content", NULL);
}

static json_t *
jstr(const char *s)
{
    char *u = origin_latin1_to_utf8(s, strlen(s));
    json_t *j = json_string(u);

    free(u);
    ASSERT(j != NULL);
    return j;
}

static json_t *
headers_json(struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyval *kv;
    json_t *a = json_array();

    TAILQ_FOREACH(kv, in, next)
        json_array_append_new(a, json_pack("[oo]", jstr(kv->key),
                                           jstr(kv->value)));
    return a;
}

static void
reply_echo(struct origin_conn *c, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    enum origin_method m = origin_method_of(evhttp_request_get_command(req));
    json_t *o = json_object();
    char buf[64];
    char *s;

    json_object_set_new(o, "method", json_string(origin_method_name(m)));
    /* As received, even in absolute form. */
    json_object_set_new(o, "target", jstr(evhttp_request_get_uri(req)));
    snprintf(buf, sizeof buf, "HTTP/%d.%d", req->major, req->minor);
    json_object_set_new(o, "version", json_string(buf));
    json_object_set_new(o, "headers", headers_json(req));
    json_object_set_new(o, "body_length",
                        json_integer((json_int_t)evbuffer_get_length(in)));
    snprintf(buf, sizeof buf, "%016" PRIx64, origin_hash_evbuffer(in));
    json_object_set_new(o, "body_xxh64", json_string(buf));
    json_object_set_new(o, "conn", json_integer((json_int_t)c->id));
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ASSERT(s != NULL);
    reply_json(req, s);
}

/* Answers req if target is an admin path; returns whether it did. */
bool
origin_admin_handle(struct origin_conn *c, struct evhttp_request *req,
                    const char *target)
{
    size_t plen = strcspn(target, "?#");

    if (plen == 8 && strncmp(target, "/__stats", 8) == 0) {
        reply_json(req, origin_stats_json(query_flag(target, "detail")));
        return true;
    }
    if (plen == 8 && strncmp(target, "/__reset", 8) == 0) {
        reply_reset(req);
        return true;
    }
    if (strncmp(target, "/__echo", 7) == 0) {
        reply_echo(c, req);
        return true;
    }
    return false;
}
