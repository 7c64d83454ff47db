/*
 * Request head parsing (RFC 9112 sections 3, 5, 6 and RFC 9110 section 7.2):
 * the request-line, the request-target forms, Host, and message framing.
 * Everything that could let two parsers disagree on where a request ends
 * is an error: conflicting Content-Length, Transfer-Encoding with
 * Content-Length or on HTTP/1.0, chunked not final or repeated.
 * The result points into the caller's buffer; nothing is copied.
 */
#include "config.h"

#include <string.h>

#include "common/assert.h"
#include "edge/h1_int.h"

/* The path of an absolute-form target without one. */
static const char root_path[] = "/";

static enum h1_method
method_of(const char *m, size_t n)
{
    switch (n) {
    case 3:
        if (memcmp(m, "GET", 3) == 0)
            return H1_M_GET;
        if (memcmp(m, "PUT", 3) == 0)
            return H1_M_PUT;
        break;
    case 4:
        if (memcmp(m, "HEAD", 4) == 0)
            return H1_M_HEAD;
        if (memcmp(m, "POST", 4) == 0)
            return H1_M_POST;
        break;
    case 5:
        if (memcmp(m, "PATCH", 5) == 0)
            return H1_M_PATCH;
        if (memcmp(m, "TRACE", 5) == 0)
            return H1_M_TRACE;
        break;
    case 6:
        if (memcmp(m, "DELETE", 6) == 0)
            return H1_M_DELETE;
        break;
    case 7:
        if (memcmp(m, "OPTIONS", 7) == 0)
            return H1_M_OPTIONS;
        if (memcmp(m, "CONNECT", 7) == 0)
            return H1_M_CONNECT;
        break;
    default:
        break;
    }
    return H1_M_OTHER;
}

/* method SP request-target SP HTTP-version CRLF, single SPs only. */
static int
request_line(struct h1_request *r, const char **pp, const char *end,
             const struct h1_limits *lim)
{
    const char *start = *pp, *p = start;
    int v;

    while (p < end && h1_is(p, H1_CC_TCHAR))
        p++;
    if (p == start || p == end || *p != ' ')
        return H1_ERR_BAD;
    r->method_str = start;
    r->method_len = (uint32_t)(p - start);
    r->method = method_of(start, (size_t)(p - start));
    r->target = ++p;
    p = h1_skip_vchar(p, end);
    if (p == r->target || p == end || *p != ' ')
        return H1_ERR_BAD;
    r->target_len = (uint32_t)(p - r->target);
    p++;
    if (end - p < 10 || p[8] != '\r' || p[9] != '\n')
        return H1_ERR_BAD;
    v = h1_version_parse(p, end);
    if (v < 0)
        return v;
    if ((size_t)(p + 8 - start) > lim->request_line)
        return H1_ERR_URI_LONG;
    r->version_minor = v;
    *pp = p + 10;
    return 0;
}

/* http:// or https:// (any case), a valid authority without userinfo. */
static int
absolute_form(struct h1_request *r)
{
    const char *t = r->target, *end = t + r->target_len, *a, *ae;

    if (r->target_len >= 7 && h1_ieq(t, 7, "http://", 7))
        a = t + 7;
    else if (r->target_len >= 8 && h1_ieq(t, 8, "https://", 8))
        a = t + 8;
    else
        return H1_ERR_BAD;
    for (ae = a; ae < end && *ae != '/' && *ae != '?'; ae++)
        ;
    if (!h1_host_valid(a, (size_t)(ae - a), false))
        return H1_ERR_BAD;
    r->form = H1_FORM_ABSOLUTE;
    r->host = a;
    r->host_len = (uint32_t)(ae - a);
    if (ae == end) {
        r->path = root_path;
        r->path_len = 1;
    } else {
        r->path = ae;
        r->path_len = (uint32_t)(end - ae);
    }
    return 0;
}

/* Sets form and path; authority-form only for CONNECT, "*" only for
 * OPTIONS. */
static int
target_form(struct h1_request *r)
{
    const char *t = r->target;

    r->path = t;
    r->path_len = r->target_len;
    r->host = NULL;
    r->host_len = 0;
    if (r->method == H1_M_CONNECT) {
        r->form = H1_FORM_AUTHORITY;
        r->path = root_path + 1; /* "" */
        r->path_len = 0;
        return h1_host_valid(t, r->target_len, true) ? 0 : H1_ERR_BAD;
    }
    if (t[0] == '/') {
        r->form = H1_FORM_ORIGIN;
        return 0;
    }
    if (r->target_len == 1 && t[0] == '*') {
        r->form = H1_FORM_ASTERISK;
        return r->method == H1_M_OPTIONS ? 0 : H1_ERR_BAD;
    }
    return absolute_form(r);
}

/* Exactly one valid Host on HTTP/1.1, at most one on HTTP/1.0. */
static int
host_rules(struct h1_request *r, const struct h1_heads *h)
{
    if (h->n_host > 1 || (h->n_host == 0 && r->version_minor == 1))
        return H1_ERR_BAD;
    if (h->n_host == 1 && !h1_host_valid(h->host, h->host_len, false))
        return H1_ERR_BAD;
    if (r->form != H1_FORM_ABSOLUTE) {
        r->host = h->host;
        r->host_len = h->host_len;
    }
    return 0;
}

/* RFC 9112 6.1 and 6.3: Transfer-Encoding, else Content-Length, else none. */
static int
framing(struct h1_request *r, const struct h1_heads *h)
{
    r->content_length = h->content_length;
    if (h->has_te) {
        if (r->version_minor == 0 || h->has_cl || !h->te_last_chunked ||
            h->te_chunked != 1)
            return H1_ERR_BAD;
        if (h->te_other)
            return H1_ERR_CODING;
        r->body = H1_BODY_CHUNKED;
    } else {
        r->body = h->has_cl ? H1_BODY_LENGTH : H1_BODY_NONE;
    }
    return 0;
}

int
h1_request_parse(struct h1_request *r, const char *buf, size_t len,
                 const struct h1_limits *lim)
{
    const char *p = buf, *end;
    struct h1_heads h;
    int rc;

    ASSERT(r != NULL && lim != NULL && buf != NULL);
    if (len > lim->header_section)
        return H1_ERR_FIELDS_LARGE;
    end = buf + len;
    memset(&h, 0, sizeof h);
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
        p += 2;
    rc = request_line(r, &p, end, lim);
    if (rc == 0)
        rc = target_form(r);
    if (rc == 0)
        rc = h1_fields_parse(&p, end, r->fields, r->fields_cap, &r->n_fields,
                             lim, &h);
    if (rc == 0 && p != end)
        rc = H1_ERR_BAD;
    if (rc == 0)
        rc = host_rules(r, &h);
    if (rc == 0)
        rc = framing(r, &h);
    if (rc != 0)
        return rc;
    if (r->version_minor == 1)
        r->keep_alive = !h.conn_close;
    else
        r->keep_alive = h.conn_keep_alive && !h.conn_close;
    r->expect_continue = r->version_minor == 1 && h.expect_continue;
    return 0;
}
