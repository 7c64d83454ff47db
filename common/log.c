/* Leveled stderr logging and the assert failure path. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
common_log_set_level(enum log_level lvl)
{
    __atomic_store_n(&cur_level, lvl, __ATOMIC_RELAXED);
}

enum log_level
common_log_level(void)
{
    return __atomic_load_n(&cur_level, __ATOMIC_RELAXED);
}

int
common_log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < ARRAY_LEN(level_names); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void
common_log_write(enum log_level lvl, const char *mod, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n, m;

    if (lvl > common_log_level())
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[lvl], mod);
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    /* One write per line keeps lines from different threads whole. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

void
common_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "assertion failed: %s at %s:%d (%s)\n", expr, file, line, func);
    abort();
}
