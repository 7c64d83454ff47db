/*
 * Responses the node makes itself: errors for bad requests, unknown sites,
 * loops and upstream failures. Short plain-text bodies, never cached
 * downstream, and Connection: close whenever the framing is in doubt.
 * Every one says in Cache-Status (RFC 9211) how far the request got: the
 * fwd reason it went forward with, else fwd=miss (nothing stored could
 * answer it), and a detail naming the error.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/assert.h"
#include "edge/edge_int.h"
#include "edge/proxy_int.h"

/* "Gateway Timeout" -> "gateway-timeout": an sf-token (RFC 8941). */
static void
detail_of(int status, char *out, size_t cap)
{
    const char *r = h1_reason(status);
    size_t i;

    for (i = 0; r[i] != '\0' && i + 1 < cap; i++) {
        char ch = r[i];

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch | 0x20);
        else if (!(ch >= 'a' && ch <= 'z') && !(ch >= '0' && ch <= '9'))
            ch = '-';
        out[i] = ch;
    }
    out[i] = '\0';
}

/* The "strata; fwd=..." prefix of a Cache-Status entry already chosen
 * ("strata; fwd=stale; fwd-status=503; ..." -> "strata; fwd=stale"). */
static int
fwd_prefix(const char *cs)
{
    const char *semi = strchr(cs, ';');

    if (semi != NULL)
        semi = strchr(semi + 1, ';');
    return semi != NULL ? (int)(semi - cs) : (int)strlen(cs);
}

/* Cache-Status of an error the node answers with. */
static void
error_cache_status(const struct conn *c, int status, char *out, size_t cap)
{
    const struct creq *q = c->cache_on ? c->cq : NULL;
    bool forwarded = c->px != NULL && c->px->tries > 0;
    char detail[48];

    detail_of(status, detail, sizeof detail);
    if (c->cache_status != NULL && strncmp(c->cache_status, "strata;", 7) == 0)
        snprintf(out, cap, "%.*s; detail=%s", fwd_prefix(c->cache_status),
                 c->cache_status, detail);
    else if (forwarded) /* the site does not cache */
        snprintf(out, cap, "strata; fwd=bypass; detail=%s", detail);
    else if (q != NULL && q->mode == CQ_WAIT && q->miss_kind != NULL)
        snprintf(out, cap, "strata; fwd=%s; collapsed; detail=%s", q->miss_kind, detail);
    else if (q != NULL && status == 504 && (q->rcc.flags & CACHE_CC_ONLY_IF_CACHED))
        snprintf(out, cap, "strata; fwd=miss; detail=only-if-cached");
    else
        snprintf(out, cap, "strata; fwd=miss; detail=%s", detail);
}

void
conn_respond_error(struct conn *c, int status, bool close)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    const char *reason;
    char body[128], cs[192];
    int blen;

    if (status < 400 || status > 599)
        status = 400;
    reason = h1_reason(status);
    if (close)
        c->keep_alive = false;
    error_cache_status(c, status, cs, sizeof cs);
    blen = snprintf(body, sizeof body, "%d %s\n", status, reason);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\n"
                        "Date: %s\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %d\r\n"
                        "Cache-Control: no-store\r\n"
                        "Cache-Status: %s\r\n"
                        "%s\r\n",
                        status, reason, worker_date(c->w), blen, cs,
                        c->keep_alive ? "" : "Connection: close\r\n");
    if (!c->is_head)
        evbuffer_add(out, body, (size_t)blen);
    c->status = status;
    c->bytes_out = (uint64_t)blen;
    conn_response_done(c, !close);
}
