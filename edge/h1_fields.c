/*
 * Field lines of a head (RFC 9112 section 5) and the framing fields the
 * parsers act on: Host, Content-Length, Transfer-Encoding, Connection and
 * Expect. A field line is `token ":" OWS value OWS CRLF`; no whitespace
 * before the colon, no obs-fold, value bytes VCHAR / obs-text / SP / HTAB.
 * Fields are slices of the caller's buffer; nothing is copied.
 */
#include "config.h"

#include "edge/h1_int.h"

/* At most 19 decimal digits always fit in a uint64_t. */
#define CL_DIGITS_MAX 19

/* Content-Length: 1#DIGIT; a list or repeated field only of equal values. */
static int
content_length(const char *p, const char *end, struct h1_heads *h)
{
    for (;;) {
        const char *d = p;
        uint64_t v = 0;

        while (p < end && h1_is(p, H1_CC_DIGIT))
            v = v * 10 + (uint64_t)(*p++ - '0');
        if (p == d || p - d > CL_DIGITS_MAX)
            return H1_ERR_BAD;
        if (h->has_cl && h->content_length != v)
            return H1_ERR_BAD;
        h->has_cl = true;
        h->content_length = v;
        p = h1_skip_ows(p, end);
        if (p == end)
            return 0;
        if (*p != ',')
            return H1_ERR_BAD;
        p = h1_skip_ows(p + 1, end);
    }
}

/* quoted-string at *pp (which is '"'); *pp is left after the closing '"'. */
static int
quoted_string(const char **pp, const char *end)
{
    const char *p = *pp + 1;

    while (p < end) {
        if (*p == '"') {
            *pp = p + 1;
            return 0;
        }
        if (*p == '\\') {
            if (++p == end || !(h1_is(p, H1_CC_TEXT) || *p == '\t'))
                return H1_ERR_BAD;
        } else if (!h1_is(p, H1_CC_QDTEXT)) {
            return H1_ERR_BAD;
        }
        p++;
    }
    return H1_ERR_BAD;
}

/* *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ) OWS */
static int
coding_params(const char **pp, const char *end)
{
    const char *p = *pp, *t;

    while (p < end && *p == ';') {
        p = h1_skip_ows(p + 1, end);
        for (t = p; p < end && h1_is(p, H1_CC_TCHAR); p++)
            ;
        if (p == t)
            return H1_ERR_BAD;
        p = h1_skip_ows(p, end);
        if (p == end || *p != '=')
            return H1_ERR_BAD;
        p = h1_skip_ows(p + 1, end);
        if (p < end && *p == '"') {
            if (quoted_string(&p, end) != 0)
                return H1_ERR_BAD;
        } else {
            for (t = p; p < end && h1_is(p, H1_CC_TCHAR); p++)
                ;
            if (p == t)
                return H1_ERR_BAD;
        }
        p = h1_skip_ows(p, end);
    }
    *pp = p;
    return 0;
}

/* Transfer-Encoding: #transfer-coding, accumulated over repeated fields. */
static int
transfer_encoding(const char *p, const char *end, struct h1_heads *h)
{
    h->has_te = true;
    while (p < end) {
        const char *t = p;
        bool chunked;

        if (*p == ',' || *p == ' ' || *p == '\t') {
            p++; /* empty list elements are ignored (RFC 9110 5.6.1) */
            continue;
        }
        while (p < end && h1_is(p, H1_CC_TCHAR))
            p++;
        if (p == t)
            return H1_ERR_BAD;
        chunked = h1_ieq(t, (size_t)(p - t), "chunked", 7);
        p = h1_skip_ows(p, end);
        if (p < end && *p == ';' && (chunked || coding_params(&p, end) != 0))
            return H1_ERR_BAD;
        if (p < end && *p != ',')
            return H1_ERR_BAD;
        h->te_chunked += chunked;
        h->te_other |= !chunked;
        h->te_last_chunked = chunked;
    }
    return 0;
}

/* Notes what the framing and connection logic needs from one field. */
static int
field_note(const struct h1_field *f, struct h1_heads *h)
{
    const char *v = f->value, *end = f->value + f->value_len;

    switch (f->name_len) {
    case 4:
        if (h1_ieq(f->name, 4, "host", 4)) {
            h->n_host++;
            h->host = v;
            h->host_len = f->value_len;
        }
        return 0;
    case 6:
        if (h1_ieq(f->name, 6, "expect", 6) &&
            h1_ieq(v, f->value_len, "100-continue", 12))
            h->expect_continue = true;
        return 0;
    case 10:
        if (h1_ieq(f->name, 10, "connection", 10)) {
            h->conn_close |= h1_list_has_token(v, f->value_len, "close");
            h->conn_keep_alive |=
                h1_list_has_token(v, f->value_len, "keep-alive");
        }
        return 0;
    case 14:
        if (h1_ieq(f->name, 14, "content-length", 14))
            return content_length(v, end, h);
        return 0;
    case 17:
        if (h1_ieq(f->name, 17, "transfer-encoding", 17))
            return transfer_encoding(v, end, h);
        return 0;
    default:
        return 0;
    }
}

/* One field line at *pp into f; *pp is left after its CRLF. */
static int
field_line(const char **pp, const char *end, struct h1_field *f,
           uint32_t max_len)
{
    const char *start = *pp, *p = start, *v, *ve;

    while (end - p >= 4 && h1_is(p, H1_CC_TCHAR) && h1_is(p + 1, H1_CC_TCHAR) &&
           h1_is(p + 2, H1_CC_TCHAR) && h1_is(p + 3, H1_CC_TCHAR))
        p += 4;
    while (p < end && h1_is(p, H1_CC_TCHAR))
        p++;
    /* Empty name: ":x", obs-fold (leading SP/HTAB) or a stray byte. */
    if (p == start || p == end || *p != ':')
        return H1_ERR_BAD;
    f->name = start;
    f->name_len = (uint32_t)(p - start);
    v = p = h1_skip_ows(p + 1, end);
    for (;;) {
        p = h1_skip_text(p, end);
        if (p == end || *p != '\t')
            break;
        p++;
    }
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
        return H1_ERR_BAD;
    if ((size_t)(p - start) > max_len)
        return H1_ERR_FIELDS_LARGE;
    for (ve = p; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
        ;
    f->value = v;
    f->value_len = (uint32_t)(ve - v);
    *pp = p + 2;
    return 0;
}

int
h1_fields_parse(const char **pp, const char *end, struct h1_field *arr,
                uint32_t cap, uint32_t *n, const struct h1_limits *lim,
                struct h1_heads *h)
{
    const char *p = *pp;
    int rc;

    *n = 0;
    for (;;) {
        if (end - p < 2)
            return H1_ERR_BAD;
        if (p[0] == '\r') {
            if (p[1] != '\n')
                return H1_ERR_BAD;
            *pp = p + 2;
            return 0;
        }
        if (*n >= cap || *n >= lim->max_fields)
            return H1_ERR_FIELDS_LARGE;
        rc = field_line(&p, end, &arr[*n], lim->field_line);
        if (rc == 0)
            rc = field_note(&arr[*n], h);
        if (rc != 0)
            return rc;
        (*n)++;
    }
}
