/*
 * Leveled logging to stderr (or a file set at start). Each .c file defines
 * LOG_MOD before including this header. Debug logs exist only in builds
 * configured with --enable-debug. Thread-safe: one write(2) per line.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

#ifndef LOG_MOD
#define LOG_MOD "-"
#endif

void common_log_set_level(enum log_level lvl);
enum log_level common_log_level(void);
/* Parses "error", "warn", "info", "debug"; returns -EINVAL otherwise. */
int common_log_level_parse(const char *s, enum log_level *out);
void common_log_write(enum log_level lvl, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(...) common_log_write(LOG_LVL_ERR, LOG_MOD, __VA_ARGS__)
#define log_warn(...) common_log_write(LOG_LVL_WARN, LOG_MOD, __VA_ARGS__)
#define log_info(...) common_log_write(LOG_LVL_INFO, LOG_MOD, __VA_ARGS__)
#ifdef STRATA_DEBUG
#define log_debug(...) common_log_write(LOG_LVL_DEBUG, LOG_MOD, __VA_ARGS__)
#else
#define log_debug(...) ((void)0)
#endif

#endif
