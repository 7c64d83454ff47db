/*
 * libFuzzer target for the HTTP/1 parser. One input is tried as a request
 * and as a response: the head is scanned whole, split at a derived offset
 * and one byte at a time (all three must agree), then parsed; the bytes
 * after it are walked as a chunked body whole and one byte at a time (both
 * must agree). Parsed slices must lie inside the input.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/h1.h"

#define NFIELDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct h1_limits lim = {
    .request_line = 1024,
    .field_line = 512,
    .header_section = 4096,
    .max_fields = NFIELDS,
};

#define CHECK(e)                                                           \
    do {                                                                   \
        if (!(e))                                                          \
            __builtin_trap();                                              \
    } while (0)

static int
scan_split(const char *in, size_t len, size_t split, bool is_request)
{
    struct h1_scan s = { 0 };
    char *head = malloc(split ? split : 1); /* exact: overreads are caught */
    int rc;

    CHECK(head != NULL);
    memcpy(head, in, split);
    rc = h1_head_scan(&s, head, split, &lim, is_request);
    free(head);
    if (rc == 0)
        rc = h1_head_scan(&s, in, len, &lim, is_request);
    return rc;
}

static int
scan_bytewise(const char *in, size_t len, bool is_request)
{
    struct h1_scan s = { 0 };
    int rc = 0;

    for (size_t i = 1; i <= len && rc == 0; i++)
        rc = h1_head_scan(&s, in, i, &lim, is_request);
    return rc;
}

static int
scan_all(const char *in, size_t len, bool is_request)
{
    struct h1_scan s = { 0 };
    int rc = h1_head_scan(&s, in, len, &lim, is_request);

    size_t split = len ? (uint8_t)in[len / 2] * 131u % (len + 1) : 0;

    CHECK(rc <= (int)len);
    CHECK(scan_split(in, len, split, is_request) == rc);
    CHECK(scan_bytewise(in, len, is_request) == rc);
    return rc;
}

/* Walks a chunked body, moving payload; step 0 means all at once. */
static int
walk_chunked(const char *in, size_t len, size_t step, uint64_t *payload)
{
    struct h1_chunked c;
    size_t off = 0;

    h1_chunked_init(&c);
    *payload = 0;
    while (!c.done && off < len) {
        size_t avail = len - off;
        int rc;

        if (step != 0 && avail > step)
            avail = step;
        rc = h1_chunked_parse(&c, in + off, avail);
        if (rc < 0)
            return rc;
        CHECK((size_t)rc <= avail);
        if (c.data_left > 0 && (size_t)rc < avail) {
            uint64_t n = avail - (size_t)rc;

            n = n < c.data_left ? n : c.data_left;
            h1_chunked_skip_data(&c, n);
            *payload += n;
            rc += (int)n;
        }
        off += (size_t)rc;
    }
    return c.done ? (int)off : 0;
}

static void
chunked(const char *in, size_t len)
{
    uint64_t p1, p2;
    int rc = walk_chunked(in, len, 0, &p1);

    CHECK(walk_chunked(in, len, 1, &p2) == rc);
    CHECK(rc < 0 || p1 == p2);
}

static bool
inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && p + n <= buf + len;
}

static void
request(const char *in, size_t len)
{
    struct h1_field f[NFIELDS];
    struct h1_request r = { .fields = f, .fields_cap = NFIELDS };
    int n = scan_all(in, len, true);

    if (n <= 0 || h1_request_parse(&r, in, (size_t)n, &lim) != 0)
        return;
    CHECK(r.version_minor == 0 || r.version_minor == 1);
    CHECK(inside(r.target, r.target_len, in, (size_t)n));
    CHECK(r.host == NULL || inside(r.host, r.host_len, in, (size_t)n));
    for (uint32_t i = 0; i < r.n_fields; i++) {
        CHECK(f[i].name_len > 0 && inside(f[i].name, f[i].name_len, in, (size_t)n));
        CHECK(inside(f[i].value, f[i].value_len, in, (size_t)n));
    }
    if (r.body == H1_BODY_CHUNKED)
        chunked(in + n, len - (size_t)n);
}

static void
response(const char *in, size_t len)
{
    struct h1_field f[NFIELDS];
    struct h1_response r = { .fields = f, .fields_cap = NFIELDS };
    enum h1_method m = len ? (enum h1_method)((uint8_t)in[len - 1] % 10) : H1_M_GET;
    int n = scan_all(in, len, false);

    if (n <= 0 || h1_response_parse(&r, in, (size_t)n, m, &lim) != 0)
        return;
    CHECK(r.status >= 100 && r.status <= 599);
    CHECK(inside(r.reason, r.reason_len, in, (size_t)n));
    CHECK(r.body != H1_BODY_EOF || !r.keep_alive);
    if (r.body == H1_BODY_CHUNKED)
        chunked(in + n, len - (size_t)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;

    request(in, size);
    response(in, size);
    chunked(in, size); /* the chunked walker on raw input too */
    (void)h1_reason(size ? data[0] * 4 : 0);
    return 0;
}
