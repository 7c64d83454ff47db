/*
 * strata-origin: deterministic test origin for end-to-end tests, benchmarks
 * and the demo. Options, listening sockets, signals, the event loop and an
 * orderly shutdown (every connection and buffer released, so sanitizer
 * builds report no leaks). SIGTERM and SIGINT exit 0 promptly.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#define LOG_MOD "origin"
#include "common/assert.h"
#include "common/log.h"
#include "tools/origin/origin_int.h"

#define MAX_LISTEN 16
#define MAX_LATENCY_MS 3600000ul
#define DEFAULT_LISTEN "127.0.0.1:8081"

struct opts {
    struct origin_conf conf;
    const char *listen[MAX_LISTEN];
    unsigned nlisten;
};

static void
usage(FILE *f)
{
    fputs("usage: strata-origin [--listen ADDR:PORT]... [--latency-ms N]\n"
          "                     [--root DIR] [-q] [-h]\n"
          "  --listen ADDR:PORT  listen here (repeatable; IPv6 as [::1]:8081;\n"
          "                      default " DEFAULT_LISTEN ")\n"
          "  --latency-ms N      wait N ms before every content response's head\n"
          "  --root DIR          serve files under DIR for paths that exist\n"
          "  -q, --quiet         log warnings and errors only\n"
          "  -h, --help          this help\n"
          "Every other path answers a deterministic body shaped by its query:\n"
          "size type cc status delay_ms body_delay_ms vary tags etag lm\n"
          "expires chunked fail set_cookie hdr. Admin: GET /__stats[?detail=1],\n"
          "POST /__reset, ANY /__echo.\n",
          f);
}

static int
bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "strata-origin: %s%s%s\n", what, arg ? ": " : "",
            arg ? arg : "");
    usage(stderr);
    return 2;
}

/* Splits "host:port" or "[v6]:port"; host may be empty (any address). */
static int
split_listen(const char *spec, char *host, size_t hn, char *port, size_t pn)
{
    const char *colon;
    size_t len;

    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');

        if (rb == NULL || rb[1] != ':')
            return -EINVAL;
        len = (size_t)(rb - spec - 1);
        colon = rb + 1;
        spec++;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)))
            return -EINVAL;
        len = (size_t)(colon - spec);
    }
    if (len >= hn || strlen(colon + 1) >= pn || colon[1] == '\0' ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return -EINVAL;
    memcpy(host, spec, len);
    host[len] = '\0';
    strcpy(port, colon + 1);
    return atol(port) <= 65535 ? 0 : -EINVAL;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "latency-ms", required_argument, NULL, 'L' },
        { "root", required_argument, NULL, 'r' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char host[256], port[8], *end;
    unsigned long v;
    int ch;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            if (o->nlisten == MAX_LISTEN)
                return bad_usage("too many --listen", NULL);
            if (split_listen(optarg, host, sizeof host, port, sizeof port))
                return bad_usage("bad --listen (want ADDR:PORT or [V6]:PORT)",
                                 optarg);
            o->listen[o->nlisten++] = optarg;
            break;
        case 'L':
            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end != '\0' ||
                errno != 0 || v > MAX_LATENCY_MS)
                return bad_usage("bad --latency-ms", optarg);
            o->conf.latency_ms = (unsigned)v;
            break;
        case 'r': o->conf.root = optarg; break;
        case 'q': o->conf.quiet = true; break;
        case 'h': usage(stdout); exit(0);
        case ':': return bad_usage("missing value for", argv[optind - 1]);
        default: return bad_usage("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad_usage("unexpected argument", argv[optind]);
    if (o->nlisten == 0)
        o->listen[o->nlisten++] = DEFAULT_LISTEN;
    return 0;
}

static void
describe(int fd, char *buf, size_t n)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
            port = ntohs(s6->sin6_port);
            snprintf(buf, n, "[%s]:%u", addr, port);
            return;
        }
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
        port = ntohs(s4->sin_port);
    }
    snprintf(buf, n, "%s:%u", addr, port);
}

static int
bind_one(const struct addrinfo *ai)
{
    int one = 1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);

    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        int err = errno;

        close(fd);
        return -err;
    }
    return fd;
}

static int
open_listener(struct evhttp *http, const char *spec)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char host[256], port[8], desc[INET6_ADDRSTRLEN + 16];
    int fd, rc;

    rc = split_listen(spec, host, sizeof host, port, sizeof port);
    ASSERT(rc == 0); /* checked by parse_args */
    rc = getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, port, &hints,
                     &res);
    if (rc != 0) {
        log_err("listen %s: %s", spec, gai_strerror(rc));
        return -EINVAL;
    }
    fd = bind_one(res);
    freeaddrinfo(res);
    if (fd < 0) {
        log_err("listen %s: %s", spec, strerror(-fd));
        return fd;
    }
    if (evhttp_accept_socket_with_handle(http, fd) == NULL) {
        log_err("listen %s: evhttp refused the socket", spec);
        close(fd);
        return -EIO;
    }
    describe(fd, desc, sizeof desc);
    log_info("listening on %s", desc);
    return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct event_base *base = arg;

    log_info("signal %d: exiting", (int)sig);
    event_base_loopbreak(base);
}

static void
setup_http(struct origin_srv *srv)
{
    struct evhttp *http = evhttp_new(srv->base);

    if (http == NULL) {
        log_err("evhttp_new failed");
        exit(1);
    }
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
        EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
        EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
        EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(http, ORIGIN_MAX_HEADERS_IN);
    evhttp_set_max_body_size(http, (ev_ssize_t)ORIGIN_MAX_BODY_IN);
    evhttp_set_bevcb(http, origin_conn_bevcb, srv);
    evhttp_set_gencb(http, origin_handler_on_request, srv);
    srv->http = http;
}

/* evhttp flips EV_READ/EV_WRITE several times per request; the epoll
 * changelist folds flips within one loop pass into at most one syscall. */
static struct event_base *
new_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    if (cfg == NULL)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

static int
run(const struct opts *o)
{
    struct origin_srv srv = { .magic = ORIGIN_SRV_MAGIC, .conf = &o->conf };
    struct event *sigs[2];
    int rc = 0;

    srv.base = new_base();
    srv.scratch = evbuffer_new();
    if (srv.base == NULL || srv.scratch == NULL) {
        log_err("libevent initialisation failed");
        return 1;
    }
    setup_http(&srv);
    for (unsigned i = 0; i < o->nlisten && rc == 0; i++)
        rc = open_listener(srv.http, o->listen[i]);
    sigs[0] = evsignal_new(srv.base, SIGTERM, on_signal, srv.base);
    sigs[1] = evsignal_new(srv.base, SIGINT, on_signal, srv.base);
    for (unsigned i = 0; i < ARRAY_LEN(sigs); i++) {
        if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) != 0) {
            log_err("cannot watch signals");
            abort();
        }
    }
    if (rc == 0)
        event_base_dispatch(srv.base);
    /* evhttp_free closes every connection; close callbacks free ours. */
    evhttp_free(srv.http);
    origin_conn_free_all(&srv);
    for (unsigned i = 0; i < ARRAY_LEN(sigs); i++)
        event_free(sigs[i]);
    evbuffer_free(srv.scratch);
    event_base_free(srv.base);
    return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    struct opts o = { 0 };
    char *root = NULL;
    struct stat st;
    int rc;

    rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.conf.root != NULL) {
        root = realpath(o.conf.root, NULL);
        if (root == NULL || stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "strata-origin: --root %s: not a directory\n",
                    o.conf.root);
            free(root);
            return 2;
        }
        o.conf.root = root;
    }
    if (o.conf.quiet)
        common_log_set_level(LOG_LVL_WARN);
    signal(SIGPIPE, SIG_IGN);
    origin_body_init();
    origin_stats_init();
    rc = run(&o);
    origin_stats_fini();
    origin_body_fini();
    free(root);
    return rc;
}
