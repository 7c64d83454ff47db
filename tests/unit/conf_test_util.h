/* Shared by the conf unit tests: load YAML that must pass, or must fail
 * with exactly the given "FILE:LINE:COL: message" lines. */
#ifndef TESTS_UNIT_CONF_TEST_UTIL_H
#define TESTS_UNIT_CONF_TEST_UTIL_H

#include "conf/conf.h"

struct conf *conf_test_load_ok(const char *yaml);
void conf_test_expect_errors(const char *yaml, const char *want);
/* A site whose cache keys start on line 5, column 7. */
#define SITE_CACHE                                                          \
    "sites:\n"                                                              \
    "  - name: s\n"                                                         \
    "    hosts: \"*\"\n"                                                    \
    "    cache:\n"
/* SITE_CACHE + keys + an origin must fail with exactly want. */
void conf_test_expect_site_cache_errors(const char *keys, const char *want);
/* A new directory under /tmp that holds a directory "var", a regular file
   "file" and a symbolic link "dangling" to nothing; the caller frees the
   path. conf_test_dir_free() removes it with all it holds and NULLs *dirp. */
char *conf_test_dir_new(void);
void conf_test_dir_free(char **dirp);

#endif
