/*
 * A one-shot HTTP/1.1 GET with "Connection: close": connect, send, read to
 * the end of the stream within a deadline, then parse with edge/h1.h and
 * jansson. Small and blocking (poll), since it runs twice per phase.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "edge/h1.h"
#include "tools/load/origin_stats.h"

#define STATS_MAX (1u << 20)

static const struct h1_limits limits = { 8192, 16384, 65536, 128 };

/* Waits for events on fd until deadline_ms; -ETIMEDOUT after it. */
static int
wait_fd(int fd, short events, uint64_t deadline_ms)
{
    struct pollfd p = { .fd = fd, .events = events };

    for (;;) {
        uint64_t now = clock_mono_ms();
        int rc;

        if (now >= deadline_ms)
            return -ETIMEDOUT;
        rc = poll(&p, 1, (int)(deadline_ms - now));
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -errno;
    }
}

static int
dial(const struct load_target *t, uint64_t deadline_ms)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
    int fd, err = 0, rc = 0;
    socklen_t len = sizeof err;

    if (getaddrinfo(t->host, t->port, &hints, &ai) != 0 || ai == NULL)
        return -EHOSTUNREACH;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        freeaddrinfo(ai);
        return rc;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        rc = errno == EINPROGRESS ? wait_fd(fd, POLLOUT, deadline_ms) : -errno;
    freeaddrinfo(ai);
    if (rc == 0 && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0))
        rc = -(err ? err : EIO);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* Sends the request and reads the whole response into *bufp. */
static int
exchange(int fd, const struct load_target *t, uint64_t deadline_ms, char **bufp, size_t *lenp)
{
    char req[LOAD_URL_MAX + 512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
                     "Connection: close\r\n\r\n",
                     t->path, t->authority);
    size_t off = 0, len = 0;
    char *buf = xmalloc(STATS_MAX);
    int rc = 0;

    while (rc == 0 && off < (size_t)n) {
        ssize_t w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);

        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno == EAGAIN)
            rc = wait_fd(fd, POLLOUT, deadline_ms);
        else
            rc = -errno;
    }
    while (rc == 0 && len < STATS_MAX) {
        ssize_t r = recv(fd, buf + len, STATS_MAX - len, 0);

        if (r == 0)
            break;
        if (r > 0)
            len += (size_t)r;
        else if (errno == EAGAIN)
            rc = wait_fd(fd, POLLIN, deadline_ms);
        else
            rc = -errno;
    }
    *bufp = buf;
    *lenp = len;
    return rc;
}

/* Copies the payload of a chunked body in[0..n) to out; its length or -1. */
static ssize_t
dechunk(const char *in, size_t n, char *out)
{
    struct h1_chunked ch;
    size_t used = 0, olen = 0;
    int r;

    h1_chunked_init(&ch);
    while (!ch.done && used < n) {
        if (ch.data_left > 0) {
            size_t take = n - used < ch.data_left ? n - used : (size_t)ch.data_left;

            memcpy(out + olen, in + used, take);
            olen += take;
            used += take;
            h1_chunked_skip_data(&ch, take);
            continue;
        }
        r = h1_chunked_parse(&ch, in + used, n - used);
        if (r < 0 || (r == 0 && ch.data_left == 0 && !ch.done))
            return -1;
        used += (size_t)r;
    }
    return ch.done ? (ssize_t)olen : -1;
}

/* Finds the body of a complete 200 response in buf[0..len). */
static int
body_of(char *buf, size_t len, const char **body, size_t *blen)
{
    struct h1_scan scan = { 0 };
    struct h1_field fields[128];
    struct h1_response resp = { .fields = fields, .fields_cap = 128 };
    int n = h1_head_scan(&scan, buf, len, &limits, false);
    ssize_t d;

    if (n <= 0 || h1_response_parse(&resp, buf, (size_t)n, H1_M_GET, &limits) != 0)
        return -EPROTO;
    if (resp.status != 200)
        return -ENOENT;
    *body = buf + n;
    *blen = len - (size_t)n;
    if (resp.body == H1_BODY_LENGTH && resp.content_length <= *blen)
        *blen = (size_t)resp.content_length;
    else if (resp.body == H1_BODY_LENGTH || resp.body == H1_BODY_NONE)
        return -EPROTO;
    if (resp.body == H1_BODY_CHUNKED) {
        d = dechunk(buf + n, len - (size_t)n, buf + n);
        if (d < 0)
            return -EPROTO;
        *blen = (size_t)d;
    }
    return 0;
}

int
load_origin_stats_parse(const char *body, size_t len, struct load_origin_stats *out)
{
    json_t *root = json_loadb(body, len, 0, NULL), *rq, *by;
    int rc = -EINVAL;

    if (root == NULL)
        return -EINVAL;
    rq = json_object_get(root, "requests");
    by = json_object_get(root, "bytes");
    if (json_is_integer(rq) && json_is_integer(by) && json_integer_value(rq) >= 0 &&
        json_integer_value(by) >= 0) {
        out->requests = (uint64_t)json_integer_value(rq);
        out->bytes = (uint64_t)json_integer_value(by);
        rc = 0;
    }
    json_decref(root);
    return rc;
}

int
load_origin_stats_fetch(const struct load_target *t, uint64_t timeout_ms,
                        struct load_origin_stats *out, char *err, size_t errlen)
{
    uint64_t deadline = clock_mono_ms() + timeout_ms;
    char *buf = NULL;
    const char *body;
    size_t len = 0, blen;
    int fd = dial(t, deadline), rc;

    if (fd < 0) {
        snprintf(err, errlen, "origin stats %s:%s: %s", t->host, t->port, strerror(-fd));
        return fd;
    }
    rc = exchange(fd, t, deadline, &buf, &len);
    close(fd);
    if (rc == 0)
        rc = body_of(buf, len, &body, &blen);
    if (rc == 0)
        rc = load_origin_stats_parse(body, blen, out);
    if (rc != 0)
        snprintf(err, errlen, "origin stats http://%s%s: %s", t->authority, t->path,
                 rc == -EINVAL   ? "no integer 'requests' and 'bytes' in the JSON"
                 : rc == -ENOENT ? "status is not 200"
                 : rc == -EPROTO ? "bad HTTP response"
                                 : strerror(-rc));
    free(buf);
    return rc;
}
