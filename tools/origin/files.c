/*
 * --root DIR: real files for paths that exist under DIR (a directory serves
 * its index.html). The path is percent-decoded; one with a ".." segment or
 * a NUL is never looked up, and the resolved path (symlinks followed) must
 * still lie under DIR. Anything else falls back to a generated body.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "tools/origin/origin_int.h"

static bool
has_dotdot(const char *path)
{
    const char *p = path;

    while ((p = strstr(p, "..")) != NULL) {
        bool starts = p == path || p[-1] == '/';
        bool ends = p[2] == '\0' || p[2] == '/';

        if (starts && ends)
            return true;
        p += 2;
    }
    return false;
}

static bool
under(const char *root, const char *real)
{
    size_t n = strlen(root);

    if (n == 1 && root[0] == '/')
        return true;
    return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

/* Opens full if it resolves under root to a regular file or a directory. */
static int
open_under(const char *root, const char *full, int *fdp, struct stat *st)
{
    char *real = realpath(full, NULL);
    int fd;

    if (real == NULL)
        return -ENOENT;
    if (!under(root, real)) {
        free(real);
        return -EACCES;
    }
    fd = open(real, O_RDONLY | O_CLOEXEC);
    free(real);
    if (fd < 0)
        return -errno;
    if (fstat(fd, st) != 0 || !(S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))) {
        close(fd);
        return -ENOENT;
    }
    *fdp = fd;
    return 0;
}

/*
 * Opens the file target names under root (a realpath). On success *fdp is
 * an fd the caller closes, with the file's size and mtime; otherwise
 * returns -ENOENT or -EACCES and the caller generates a body.
 */
int
origin_file_open(const char *root, const char *target, int *fdp,
                 uint64_t *sizep, time_t *mtimep)
{
    size_t plen = strcspn(target, "?#"), n;
    char *path, full[PATH_MAX];
    struct stat st;
    int fd, rc = -ENOENT;

    if (target[0] != '/')
        return -ENOENT;
    path = xmalloc(plen + 1);
    n = origin_pct_decode(path, target, plen);
    path[n] = '\0';
    if (strlen(path) != n || has_dotdot(path))
        goto out;
    if (snprintf(full, sizeof full, "%s%s", root, path) >= (int)sizeof full)
        goto out;
    rc = open_under(root, full, &fd, &st);
    if (rc == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        rc = -ENOENT;
        if (snprintf(full, sizeof full, "%s%s/index.html", root, path) <
            (int)sizeof full)
            rc = open_under(root, full, &fd, &st);
        if (rc == 0 && !S_ISREG(st.st_mode)) {
            close(fd);
            rc = -ENOENT;
        }
    }
    if (rc == 0) {
        *fdp = fd;
        *sizep = (uint64_t)st.st_size;
        *mtimep = st.st_mtime;
    }
out:
    free(path);
    return rc;
}
