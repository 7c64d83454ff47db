/*
 * The access log file. Workers batch lines in their own buffers and hand
 * whole batches here, so a request costs no syscall of its own. Reopening
 * swaps the file under the same descriptor number (dup2), so writers never
 * see a closed descriptor.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MOD "accesslog"
#include "common/alloc.h"
#include "common/log.h"
#include "edge/edge_int.h"

struct access_log {
    int fd;       /* -1 until a path was opened once */
    bool enabled; /* atomic */
};

static int
open_path(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0)
        log_err("access log %s: %s", path, strerror(errno));
    return fd;
}

struct access_log *
access_log_open(const char *path)
{
    struct access_log *al = xcalloc(1, sizeof *al);

    al->fd = -1;
    access_log_reopen(al, path);
    return al;
}

void
access_log_reopen(struct access_log *al, const char *path)
{
    int fd;

    if (path == NULL) {
        __atomic_store_n(&al->enabled, false, __ATOMIC_RELEASE);
        return;
    }
    fd = open_path(path);
    if (fd < 0)
        return; /* keep the file we had */
    if (al->fd < 0) {
        al->fd = fd;
    } else {
        if (dup2(fd, al->fd) < 0)
            log_err("access log %s: %s", path, strerror(errno));
        close(fd);
    }
    __atomic_store_n(&al->enabled, true, __ATOMIC_RELEASE);
}

bool
access_log_enabled(const struct access_log *al)
{
    return al != NULL && __atomic_load_n(&al->enabled, __ATOMIC_ACQUIRE);
}

void
access_log_write(struct access_log *al, const char *buf, size_t len)
{
    while (len > 0 && access_log_enabled(al)) {
        ssize_t n = write(al->fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* a full disk must not stop serving */
        buf += n;
        len -= (size_t)n;
    }
}

void
access_log_close(struct access_log **alp)
{
    struct access_log *al = *alp;

    *alp = NULL;
    if (al == NULL)
        return;
    if (al->fd >= 0)
        close(al->fd);
    free(al);
}
