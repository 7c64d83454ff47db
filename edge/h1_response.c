/*
 * Response head parsing (RFC 9112 sections 4, 5 and 6.3): the status-line,
 * the fields, and how the body is delimited. A head we cannot frame with
 * certainty (conflicting Content-Length, Transfer-Encoding with
 * Content-Length or on HTTP/1.0, chunked twice) is -502: the caller must not
 * forward or cache it. A Transfer-Encoding whose final coding is not chunked
 * means the body runs to the close (RFC 9112 6.3 rule 4); codings other than
 * chunked are only framed here, never decoded: the caller checks the field.
 * The result points into the caller's buffer; nothing is copied.
 */
#include "config.h"

#include <string.h>

#include "common/assert.h"
#include "edge/h1_int.h"

/* HTTP-version SP 3DIGIT SP reason-phrase CRLF; "HTTP/1.1 200" CRLF too. */
static int
status_line(struct h1_response *r, const char **pp, const char *end,
            const struct h1_limits *lim)
{
    const char *start = *pp, *p, *reason;
    int v = h1_version_parse(start, end);

    if (v < 0)
        return H1_ERR_UPSTREAM;
    p = start + 8;
    if (end - p < 4 || p[0] != ' ' || !h1_is(p + 1, H1_CC_DIGIT) ||
        !h1_is(p + 2, H1_CC_DIGIT) || !h1_is(p + 3, H1_CC_DIGIT))
        return H1_ERR_UPSTREAM;
    r->version_minor = v;
    r->status = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
    if (r->status < 100 || r->status > 599)
        return H1_ERR_UPSTREAM;
    p += 4;
    if (p < end && *p == ' ')
        p++;
    else if (p == end || *p != '\r')
        return H1_ERR_UPSTREAM; /* "HTTP/1.1 2000" */
    reason = p;
    for (;;) {
        p = h1_skip_text(p, end);
        if (p == end || *p != '\t')
            break;
        p++;
    }
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n' ||
        (size_t)(p - start) > lim->field_line)
        return H1_ERR_UPSTREAM;
    r->reason = reason;
    r->reason_len = (uint32_t)(p - reason);
    *pp = p + 2;
    return 0;
}

static bool
bodiless(int status, enum h1_method req_method)
{
    return req_method == H1_M_HEAD || status < 200 || status == 204 ||
           status == 304 || (req_method == H1_M_CONNECT && status < 300);
}

/* RFC 9112 6.3, after the checks that make framing untrustworthy. */
static int
body_kind(struct h1_response *r, const struct h1_heads *h,
          enum h1_method req_method)
{
    r->content_length = h->content_length;
    if (h->has_te &&
        (r->version_minor == 0 || h->has_cl || h->te_chunked > 1 ||
         (h->te_chunked == 0 && !h->te_other)))
        return H1_ERR_UPSTREAM;
    if (bodiless(r->status, req_method))
        r->body = H1_BODY_NONE;
    else if (h->has_te)
        r->body = h->te_last_chunked ? H1_BODY_CHUNKED : H1_BODY_EOF;
    else if (h->has_cl)
        r->body = H1_BODY_LENGTH;
    else
        r->body = H1_BODY_EOF;
    return 0;
}

int
h1_response_parse(struct h1_response *r, const char *buf, size_t len,
                  enum h1_method req_method, const struct h1_limits *lim)
{
    const char *p = buf, *end;
    struct h1_heads h;
    int rc;

    ASSERT(r != NULL && lim != NULL && buf != NULL);
    if (len > lim->header_section)
        return H1_ERR_UPSTREAM;
    end = buf + len;
    memset(&h, 0, sizeof h);
    rc = status_line(r, &p, end, lim);
    if (rc == 0)
        rc = h1_fields_parse(&p, end, r->fields, r->fields_cap, &r->n_fields,
                             lim, &h);
    if (rc == 0 && p != end)
        rc = H1_ERR_BAD;
    if (rc == 0)
        rc = body_kind(r, &h, req_method);
    if (rc != 0)
        return H1_ERR_UPSTREAM;
    if (r->version_minor == 1)
        r->keep_alive = !h.conn_close;
    else
        r->keep_alive = h.conn_keep_alive && !h.conn_close;
    if (r->body == H1_BODY_EOF)
        r->keep_alive = false;
    return 0;
}
