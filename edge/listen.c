/*
 * Listening sockets. Each worker gets its own socket per address with
 * SO_REUSEPORT, so the kernel spreads connections across workers without a
 * shared accept lock. Sockets are opened on the main thread so that a bad
 * address fails the start before any worker runs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge/edge_int.h"

int
listen_socket_open(const struct conf_addr *a, int backlog)
{
    int one = 1;
    int fd, err;

    fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        goto fail;
    /* [::]:80 must not also claim 0.0.0.0:80: a v4 address may be listed. */
    if (a->ss.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
        goto fail;
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
        goto fail;
    if (listen(fd, backlog) < 0)
        goto fail;
    return fd;
fail:
    err = -errno;
    close(fd);
    return err;
}
