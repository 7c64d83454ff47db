/*
 * Incremental head scanner: finds the empty line that ends a request or
 * response head while bytes arrive, examining each byte once over all calls
 * (struct h1_scan remembers where it stopped). It enforces the size limits
 * as soon as they are crossed and rejects what makes framing doubtful: a
 * bare CR, a bare LF, NUL or any other control byte except HTAB, and DEL.
 * Full syntax checks are left to h1_request_parse() / h1_response_parse().
 *
 * For responses every error is -502, and the status line is held to
 * lim->field_line.
 */
#include "config.h"

#include <limits.h>

#include "common/assert.h"
#include "edge/h1_int.h"

struct scan_ctx {
    size_t head_max;  /* lim->header_section, capped to INT_MAX */
    uint32_t line_max;
    bool is_request;
    const struct h1_limits *lim;
};

static int
fail(const struct scan_ctx *x, int status)
{
    return x->is_request ? status : H1_ERR_UPSTREAM;
}

/* Checks the current line and the head so far against the limits. */
static int
limits(const struct scan_ctx *x, const struct h1_scan *s, size_t p)
{
    if (p - s->line_start > x->line_max)
        return fail(x, (s->lines == 0 && x->is_request) ? H1_ERR_URI_LONG
                                                        : H1_ERR_FIELDS_LARGE);
    if (p > x->head_max)
        return fail(x, H1_ERR_FIELDS_LARGE);
    /* A field line beyond max_fields has begun. */
    if (s->lines > 0 && p > s->line_start &&
        s->lines - 1 >= x->lim->max_fields)
        return fail(x, H1_ERR_FIELDS_LARGE);
    return 0;
}

static void
set_line_max(struct scan_ctx *x, const struct h1_scan *s)
{
    x->line_max = (s->lines == 0 && x->is_request) ? x->lim->request_line
                                                   : x->lim->field_line;
}

/*
 * A CRLF ends the line [line_start, p). Returns the head length when it was
 * the empty line ending the head, 0 to go on, or an error.
 */
static int
line_end(struct scan_ctx *x, struct h1_scan *s, size_t p)
{
    bool empty = (p == s->line_start);

    s->line_start = p + 2;
    if (!empty) {
        s->lines++;
        set_line_max(x, s);
        return 0;
    }
    if (s->lines == 0)
        return x->is_request ? 0 : H1_ERR_UPSTREAM; /* leading CRLF */
    if (p + 2 > x->head_max)
        return fail(x, H1_ERR_FIELDS_LARGE);
    return (int)(p + 2);
}

int
h1_head_scan(struct h1_scan *s, const char *buf, size_t len,
             const struct h1_limits *lim, bool is_request)
{
    struct scan_ctx x = { .lim = lim, .is_request = is_request };
    size_t p = s->pos;
    int rc;

    ASSERT(p <= len && s->line_start <= p);
    if (p == len)
        return 0; /* nothing new; limits were checked when p was reached */
    x.head_max = lim->header_section < INT_MAX ? lim->header_section
                                               : INT_MAX;
    set_line_max(&x, s);
    for (;;) {
        size_t stop = s->line_start + x.line_max + 1;

        /* Never look further than the first byte past a limit. */
        if (stop > x.head_max + 1)
            stop = x.head_max + 1;
        if (stop > len || stop < p)
            stop = len;
        p = (size_t)(h1_skip_text(buf + p, buf + stop) - buf);
        rc = limits(&x, s, p);
        if (rc != 0 || p == len)
            break;
        if (buf[p] == '\t') {
            p++;
            continue;
        }
        if (buf[p] != '\r')
            return fail(&x, H1_ERR_BAD); /* bare LF, NUL, CTL, DEL */
        if (p + 1 == len)
            break; /* the CR is examined again with its successor */
        if (buf[p + 1] != '\n')
            return fail(&x, H1_ERR_BAD);
        rc = line_end(&x, s, p);
        p += 2;
        if (rc != 0)
            break;
    }
    s->pos = p;
    return rc;
}
