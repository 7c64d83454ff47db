/*
 * Field rewriting on the way through. Upstream: drop hop-by-hop fields and
 * those the Connection field names, drop client fields that could poison a
 * shared cache unless the site trusts them, add Via, X-Forwarded-For,
 * X-Forwarded-Proto and CDN-Loop (RFC 8586). Downstream: drop hop-by-hop
 * fields, reframe (Content-Length kept, Transfer-Encoding ours), add Via.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/assert.h"
#include "edge/edge_int.h"

#define MAX_CONN_TOKENS 16

struct tok {
    const char *p;
    size_t n;
};

/* Always removed: hop-by-hop (RFC 9110 §7.6.1) or reframed by us. */
static const char *const hop_fields[] = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer",
    "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization",
};

/* Removed from requests unless the site trusts them: they let a client
 * change what the origin believes about the request (cache poisoning). */
static const char *const untrusted_fields[] = {
    "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
    "x-forwarded-server", "x-forwarded-scheme", "x-forwarded-ssl",
    "x-original-url", "x-rewrite-url", "x-original-host", "x-host",
    "x-http-method-override", "x-http-method", "x-method-override",
    "forwarded", "front-end-https", "x-url-scheme",
};

/* A cache fetch gets the whole object unconditionally (or with our own
 * validators): the client's conditionals are answered from the object. */
static const char *const client_cond_fields[] = {
    "if-none-match", "if-modified-since", "if-match", "if-unmodified-since",
    "if-range", "range",
};

static bool
name_is(const struct h1_field *f, const char *name)
{
    return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

static bool
name_in(const struct h1_field *f, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (name_is(f, list[i]))
            return true;
    return false;
}

/* Collects the field names listed in every Connection field. */
static size_t
connection_tokens(const struct h1_field *fs, uint32_t n, struct tok *out)
{
    size_t k = 0;

    for (uint32_t i = 0; i < n; i++) {
        const char *p, *end;

        if (!name_is(&fs[i], "connection"))
            continue;
        p = fs[i].value;
        end = p + fs[i].value_len;
        while (p < end && k < MAX_CONN_TOKENS) {
            const char *s;

            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            s = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            if (p > s)
                out[k++] = (struct tok){ s, (size_t)(p - s) };
        }
    }
    return k;
}

static bool
named_by_connection(const struct h1_field *f, const struct tok *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (f->name_len == t[i].n && strncasecmp(f->name, t[i].p, t[i].n) == 0)
            return true;
    return false;
}

static void
add_field(struct evbuffer *out, const struct h1_field *f)
{
    evbuffer_add(out, f->name, f->name_len);
    evbuffer_add(out, ": ", 2);
    evbuffer_add(out, f->value, f->value_len);
    evbuffer_add(out, "\r\n", 2);
}

bool
fwd_is_loop(const struct h1_request *r, const char *node_id)
{
    size_t idn = strlen(node_id);

    for (uint32_t i = 0; i < r->n_fields; i++) {
        const char *p, *end;

        if (!name_is(&r->fields[i], "cdn-loop"))
            continue;
        p = r->fields[i].value;
        end = p + r->fields[i].value_len;
        while (p < end) {
            const char *s;

            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            s = p;
            while (p < end && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
                p++;
            if ((size_t)(p - s) == idn && strncasecmp(s, node_id, idn) == 0)
                return true;
            while (p < end && *p != ',')
                p++; /* skip parameters */
        }
    }
    return false;
}

static void
add_forwarded_for(struct evbuffer *out, const struct h1_request *r, const char *peer)
{
    bool any = false;

    evbuffer_add(out, "X-Forwarded-For: ", 17);
    for (uint32_t i = 0; i < r->n_fields; i++) {
        if (!name_is(&r->fields[i], "x-forwarded-for") || r->fields[i].value_len == 0)
            continue;
        if (any)
            evbuffer_add(out, ", ", 2);
        evbuffer_add(out, r->fields[i].value, r->fields[i].value_len);
        any = true;
    }
    if (any)
        evbuffer_add(out, ", ", 2);
    evbuffer_add_printf(out, "%s\r\n", peer);
}

/*
 * The request-target. With a cache key, the key's: the origin must be asked
 * for the resource the response will be stored under, or a target that
 * normalizes to another URL's key ("/x/../a%41") fills that URL's entry
 * with whatever the origin makes of the raw bytes (cache poisoning).
 */
static int
add_target(struct evbuffer *out, const struct h1_request *r, const struct cache_key *k)
{
    struct evbuffer_iovec v;
    size_t cap;
    int n;

    if (k == NULL) {
        /* Absolute-form "http://h?q" leaves "?q": origin-form needs the "/". */
        if (r->path_len == 0 || (r->path[0] != '/' && r->path[0] != '*'))
            evbuffer_add(out, "/", 1);
        evbuffer_add(out, r->path, r->path_len);
        return 0;
    }
    cap = (size_t)(k->query_off - k->path_off) + r->path_len + 2;
    if (evbuffer_reserve_space(out, (ev_ssize_t)cap, &v, 1) < 1 || v.iov_len < cap)
        return -ENOMEM;
    n = cache_key_target(k, v.iov_base, cap, r->path, r->path_len);
    v.iov_len = n < 0 ? 0 : (size_t)n;
    evbuffer_commit_space(out, &v, 1);
    return n < 0 ? n : 0;
}

int
fwd_request_head(struct evbuffer *out, const struct h1_request *r,
                 const struct fwd_ctx *f, bool chunked_body)
{
    struct tok conn_toks[MAX_CONN_TOKENS];
    size_t n_toks = connection_tokens(r->fields, r->n_fields, conn_toks);
    bool trust = f->site->trust_forwarded;

    int rc;

    evbuffer_add(out, r->method_str, r->method_len);
    evbuffer_add(out, " ", 1);
    rc = add_target(out, r, f->key);
    if (rc < 0)
        return rc;
    evbuffer_add(out, " HTTP/1.1\r\nHost: ", 17);
    if (r->host != NULL)
        evbuffer_add(out, r->host, r->host_len);
    evbuffer_add(out, "\r\n", 2);
    for (uint32_t i = 0; i < r->n_fields; i++) {
        const struct h1_field *fl = &r->fields[i];

        if (name_in(fl, hop_fields, ARRAY_LEN(hop_fields)) ||
            named_by_connection(fl, conn_toks, n_toks) || name_is(fl, "host") ||
            name_is(fl, "expect") || name_is(fl, "x-forwarded-for") ||
            (chunked_body && name_is(fl, "content-length")))
            continue;
        if (!trust && name_in(fl, untrusted_fields, ARRAY_LEN(untrusted_fields)))
            continue;
        if (f->cache_fetch && name_in(fl, client_cond_fields, ARRAY_LEN(client_cond_fields)))
            continue;
        add_field(out, fl);
    }
    if (f->inm != NULL) {
        evbuffer_add(out, "If-None-Match: ", 15);
        evbuffer_add(out, f->inm, f->inm_len);
        evbuffer_add(out, "\r\n", 2);
    }
    if (f->ims != NULL) {
        evbuffer_add(out, "If-Modified-Since: ", 19);
        evbuffer_add(out, f->ims, f->ims_len);
        evbuffer_add(out, "\r\n", 2);
    }
    add_forwarded_for(out, r, f->peer_ip);
    if (!trust || h1_field_find(r->fields, r->n_fields, "x-forwarded-proto") == NULL)
        evbuffer_add_printf(out, "X-Forwarded-Proto: %s\r\n", f->client_tls ? "https" : "http");
    evbuffer_add_printf(out, "Via: 1.%d %s\r\nCDN-Loop: %s\r\n", r->version_minor,
                        f->node_id, f->node_id);
    if (chunked_body)
        evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
    evbuffer_add(out, "\r\n", 2);
    return 0;
}

int
fwd_response_head(struct evbuffer *out, const struct h1_response *rsp,
                  int client_minor, const char *node_id, const char *date,
                  bool keep_alive, bool chunked, const char *cache_status,
                  const char *targeted)
{
    struct tok conn_toks[MAX_CONN_TOKENS];
    size_t n_toks = connection_tokens(rsp->fields, rsp->n_fields, conn_toks);
    bool has_date = false;

    evbuffer_add_printf(out, "HTTP/1.1 %d ", rsp->status);
    if (rsp->reason_len > 0)
        evbuffer_add(out, rsp->reason, rsp->reason_len);
    else
        evbuffer_add_printf(out, "%s", h1_reason(rsp->status));
    evbuffer_add(out, "\r\n", 2);
    for (uint32_t i = 0; i < rsp->n_fields; i++) {
        const struct h1_field *fl = &rsp->fields[i];

        if (name_in(fl, hop_fields, ARRAY_LEN(hop_fields)) ||
            named_by_connection(fl, conn_toks, n_toks))
            continue;
        if (chunked && name_is(fl, "content-length"))
            continue;
        /* RFC 9213 fields steer caches, not clients. */
        if (targeted != NULL && (name_is(fl, "cdn-cache-control") ||
                                 name_is(fl, "surrogate-control") || name_is(fl, targeted)))
            continue;
        has_date = has_date || name_is(fl, "date");
        add_field(out, fl);
    }
    if (!has_date)
        evbuffer_add_printf(out, "Date: %s\r\n", date);
    evbuffer_add_printf(out, "Via: 1.%d %s\r\n", rsp->version_minor, node_id);
    if (cache_status != NULL)
        evbuffer_add_printf(out, "Cache-Status: %s\r\n", cache_status);
    if (chunked)
        evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
    if (!keep_alive)
        evbuffer_add(out, "Connection: close\r\n", 19);
    else if (client_minor == 0)
        evbuffer_add(out, "Connection: keep-alive\r\n", 24);
    evbuffer_add(out, "\r\n", 2);
    return 0;
}
