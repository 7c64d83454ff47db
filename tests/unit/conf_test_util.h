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

#endif
