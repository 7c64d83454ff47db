/* Helpers shared by the conf unit tests (see conf_test_util.h). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/conf_test_util.h"

struct conf *
conf_test_load_ok(const char *yaml)
{
    struct conf_errors e = { 0 };
    struct conf *c = NULL;
    int rc = conf_load_string("t.yaml", yaml, strlen(yaml), &c, &e);

    for (size_t i = 0; i < e.n; i++)
        print_error("unexpected: %s\n", e.msgs[i]);
    assert_int_equal(rc, 0);
    assert_int_equal(e.n, 0);
    assert_non_null(c);
    return c;
}

void
conf_test_expect_errors(const char *yaml, const char *want)
{
    struct conf_errors e = { 0 };
    struct conf *c = NULL;
    char got[4096] = "";

    assert_int_equal(conf_load_string("t.yaml", yaml, strlen(yaml), &c, &e),
                     -EINVAL);
    assert_null(c);
    for (size_t i = 0; i < e.n; i++) {
        assert_true(strlen(got) + strlen(e.msgs[i]) + 2 < sizeof got);
        strcat(got, e.msgs[i]);
        strcat(got, "\n");
    }
    conf_errors_free(&e);
    assert_string_equal(got, want);
}


void
conf_test_expect_site_cache_errors(const char *keys, const char *want)
{
    char yaml[2048];

    snprintf(yaml, sizeof yaml, SITE_CACHE "%s    origin: \"127.0.0.1:9\"\n",
             keys);
    conf_test_expect_errors(yaml, want);
}

char *
conf_test_dir_new(void)
{
    char tmpl[] = "/tmp/strata-conf-XXXXXX", p[sizeof tmpl + 16];
    FILE *f;

    assert_non_null(mkdtemp(tmpl));
    snprintf(p, sizeof p, "%s/var", tmpl);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/file", tmpl);
    assert_non_null(f = fopen(p, "w"));
    fclose(f);
    snprintf(p, sizeof p, "%s/dangling", tmpl);
    assert_int_equal(symlink("nowhere", p), 0);
    return strdup(tmpl);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void
conf_test_dir_free(char **dirp)
{
    if (*dirp != NULL)
        assert_int_equal(nftw(*dirp, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
    free(*dirp);
    *dirp = NULL;
}
