/*
 * The disk tier's `cache.disk:` section: values, defaults, ranges, the
 * watermark order, the path on the filesystem, the example file, and the
 * exact report (FILE:LINE:COL) for each mistake. The tests run in a fresh
 * directory under /tmp holding var/, file and dangling (conf_test_dir_new).
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "tests/unit/conf_test_util.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SITE "sites: [{name: s, hosts: \"*\", origin: \"127.0.0.1:9\"}]\n"
/* cache.disk keys start on line 4, column 5. */
#define DISK SITE "cache:\n  disk:\n"

#define TIB (1ull << 40)

#define load_ok conf_test_load_ok
#define expect_errors conf_test_expect_errors
#define expect_site_cache_errors conf_test_expect_site_cache_errors

static char start_dir[1024]; /* the working directory the tests began in */
static char *tmp_dir;        /* theirs while they run */

static void
assert_disk_defaults(const struct conf_disk *d)
{
    assert_int_equal(d->size, 20 * GIB);
    assert_int_equal(d->high_pct, 90);
    assert_int_equal(d->low_pct, 75);
    assert_int_equal(d->durability, CONF_DISK_SAFE);
    assert_int_equal(d->sync_interval_ms, 1000);
    assert_false(d->rebuild_incompatible);
    assert_int_equal(d->max_object, GIB);
}

static void
test_disk_defaults(void **state)
{
    static const char *const none[] = { "", "cache:\n", "cache: {}\n",
                                        "cache: {disk: }\n", DISK,
                                        "cache: {disk: {}}\n",
                                        "cache: {disk: ~}\n",
                                        "cache: {disk: {size: 1GiB}}\n" };
    char yaml[256];
    struct conf *c;

    (void)state;
    for (size_t i = 0; i < 8; i++) {
        snprintf(yaml, sizeof yaml, "%s%s", i == 4 ? "" : SITE, none[i]);
        c = load_ok(yaml);
        assert_null(c->cache.disk.path);
        if (i < 7)
            assert_disk_defaults(&c->cache.disk);
        conf_unref(&c);
    }
    c = load_ok(DISK "    path: ./var/cache\n");
    assert_string_equal(c->cache.disk.path, "./var/cache");
    assert_disk_defaults(&c->cache.disk);
    conf_unref(&c);
}

static void
test_disk_keys(void **state)
{
    struct conf *c = load_ok(DISK "    path: strata cache/\n"
                                  "    size: 1TiB\n"
                                  "    high_watermark: 99\n"
                                  "    low_watermark: 98\n"
                                  "    durability: fast\n"
                                  "    sync_interval: 1h\n"
                                  "    rebuild_incompatible: yes\n"
                                  "    max_object: 4GiB\n");
    const struct conf_disk *d = &c->cache.disk;

    (void)state;
    assert_string_equal(d->path, "strata cache/");
    assert_int_equal(d->size, 1024 * GIB);
    assert_int_equal(d->high_pct, 99);
    assert_int_equal(d->low_pct, 98);
    assert_int_equal(d->durability, CONF_DISK_FAST);
    assert_int_equal(d->sync_interval_ms, 3600000);
    assert_true(d->rebuild_incompatible);
    assert_int_equal(d->max_object, 4 * GIB);
    conf_unref(&c);
    c = load_ok(SITE "cache: {disk: {path: d, size: 16MiB, high_watermark: "
                     "50, low_watermark: 10, durability: sync, "
                     "sync_interval: 10ms, rebuild_incompatible: false}}\n");
    d = &c->cache.disk;
    assert_string_equal(d->path, "d");
    assert_int_equal(d->size, 16 * MIB);
    assert_int_equal(d->high_pct, 50);
    assert_int_equal(d->low_pct, 10);
    assert_int_equal(d->durability, CONF_DISK_SYNC);
    assert_int_equal(d->sync_interval_ms, 10);
    assert_false(d->rebuild_incompatible);
    conf_unref(&c);
    c = load_ok(DISK "    durability: safe\n    sync_interval: 250\n");
    assert_int_equal(c->cache.disk.durability, CONF_DISK_SAFE);
    assert_int_equal(c->cache.disk.sync_interval_ms, 250000);
    conf_unref(&c);
}

static void
test_disk_ranges(void **state)
{
    (void)state;
    expect_errors(DISK "    size: 16383KiB\n"
                       "    high_watermark: 49\n"
                       "    low_watermark: 9\n"
                       "    sync_interval: 9ms\n",
                  "t.yaml:4:11: cache.disk.size must be in 16MiB..64TiB, "
                  "not '16383KiB'\n"
                  "t.yaml:5:21: cache.disk.high_watermark must be in 50..99, "
                  "not '49'\n"
                  "t.yaml:6:20: cache.disk.low_watermark must be in 10..98, "
                  "not '9'\n"
                  "t.yaml:7:20: cache.disk.sync_interval must be in 10ms..1h, "
                  "not '9ms'\n");
    expect_errors(DISK "    size: 0\n"
                       "    high_watermark: 100\n"
                       "    low_watermark: 99\n"
                       "    sync_interval: 1h1ms\n",
                  "t.yaml:4:11: cache.disk.size must be in 16MiB..64TiB, "
                  "not '0'\n"
                  "t.yaml:5:21: cache.disk.high_watermark must be in 50..99, "
                  "not '100'\n"
                  "t.yaml:6:20: cache.disk.low_watermark must be in 10..98, "
                  "not '99'\n"
                  "t.yaml:7:20: cache.disk.sync_interval must be in 10ms..1h, "
                  "not '1h1ms'\n");
}

static void
test_disk_bad_values(void **state)
{
    (void)state;
    expect_errors(DISK "    path: \"\"\n"
                       "    size: 20GB disk\n"
                       "    high_watermark: 90%\n"
                       "    durability: Safe\n"
                       "    sync_interval: 1 sec\n"
                       "    rebuild_incompatible: 1\n",
                  "t.yaml:4:11: cache.disk.path: path must be 1 to 4095 "
                  "bytes\n"
                  "t.yaml:5:11: cache.disk.size: '20GB disk' is not a size: "
                  "unknown unit (use B, KiB, MiB, GiB or TiB)\n"
                  "t.yaml:6:21: cache.disk.high_watermark: '90%' is not an "
                  "integer: expected digits\n"
                  "t.yaml:7:17: cache.disk.durability must be safe, fast or "
                  "sync, not 'Safe' (did you mean 'safe'?)\n"
                  "t.yaml:8:20: cache.disk.sync_interval: '1 sec' is not a "
                  "duration: expected a number with a unit (ms, s, m, h, d)\n"
                  "t.yaml:9:27: cache.disk.rebuild_incompatible must be true "
                  "or false, not '1'\n");
    expect_errors(DISK "    durability: fsync\n",
                  "t.yaml:4:17: cache.disk.durability must be safe, fast or "
                  "sync, not 'fsync' (did you mean 'sync'?)\n");
    expect_errors(DISK "    durability: none\n",
                  "t.yaml:4:17: cache.disk.durability must be safe, fast or "
                  "sync, not 'none'\n");
    expect_errors(DISK "    path:\n    durability: ~\n",
                  "t.yaml:4:10: cache.disk.path has no value (expected a "
                  "path)\n"
                  "t.yaml:5:17: cache.disk.durability has no value (expected "
                  "safe, fast or sync)\n");
}

static void
test_disk_unknown_keys_and_types(void **state)
{
    (void)state;
    expect_errors(DISK "    paht: x\n    memory: 1GiB\n    path: a\n"
                       "    path: b\n",
                  "t.yaml:4:5: unknown key 'paht' in cache.disk (did you "
                  "mean 'path'?)\n"
                  "t.yaml:5:5: unknown key 'memory' in cache.disk\n"
                  "t.yaml:7:5: duplicate key 'path' (first at 6:5)\n");
    expect_errors(SITE "cache:\n  disk: ./var/cache\n  dsik: {}\n",
                  "t.yaml:3:9: cache.disk must be a mapping, not a scalar\n"
                  "t.yaml:4:3: unknown key 'dsik' in cache (did you mean "
                  "'disk'?)\n");
    expect_errors(DISK "    path: [a, b]\n    size: {}\n",
                  "t.yaml:4:11: cache.disk.path must be a path, not a list\n"
                  "t.yaml:5:11: cache.disk.size must be a size, not a "
                  "mapping\n");
    expect_site_cache_errors(
        "      disk: {path: x}\n",
        "t.yaml:5:7: unknown key 'disk' in site cache (it goes in the "
        "top-level cache)\n");
}

static void
test_disk_watermark_order(void **state)
{
    struct conf *c;

    (void)state;
    expect_errors(DISK "    high_watermark: 75\n",
                  "t.yaml:4:21: cache.disk.low_watermark (75) must be below "
                  "cache.disk.high_watermark (75)\n");
    expect_errors(DISK "    high_watermark: 60\n    low_watermark: 80\n",
                  "t.yaml:5:20: cache.disk.low_watermark (80) must be below "
                  "cache.disk.high_watermark (60)\n");
    expect_errors(SITE "cache: {disk: {low_watermark: 90}}\n",
                  "t.yaml:2:31: cache.disk.low_watermark (90) must be below "
                  "cache.disk.high_watermark (90)\n");
    /* waits for the other values to be valid */
    expect_errors(DISK "    low_watermark: 95\n    durability: slow\n",
                  "t.yaml:5:17: cache.disk.durability must be safe, fast or "
                  "sync, not 'slow'\n");
    c = load_ok(DISK "    high_watermark: 76\n");
    assert_int_equal(c->cache.disk.high_pct, 76);
    conf_unref(&c);
    c = load_ok(DISK "    high_watermark: 50\n    low_watermark: 49\n");
    assert_int_equal(c->cache.disk.low_pct, 49);
    conf_unref(&c);
}

/* LMDB maps all of size at start: at most 64 TiB (conf/schema.c). */
static void
test_disk_size_max(void **state)
{
    struct conf *c;

    (void)state;
    expect_errors(DISK "    size: 9999TiB\n",
                  "t.yaml:4:11: cache.disk.size must be in 16MiB..64TiB, not "
                  "'9999TiB'\n");
    expect_errors(DISK "    size: 70368744177665\n",
                  "t.yaml:4:11: cache.disk.size must be in 16MiB..64TiB, not "
                  "'70368744177665'\n");
    c = load_ok(DISK "    size: 64TiB\n");
    assert_int_equal(c->cache.disk.size, 64 * TIB);
    conf_unref(&c);
}

/* cache.disk.path at p must fail with exactly "t.yaml:4:11: " + want. */
static void
expect_path_error(const char *p, const char *want)
{
    char yaml[1024], full[2048];

    snprintf(yaml, sizeof yaml, DISK "    path: \"%s\"\n", p);
    snprintf(full, sizeof full, "t.yaml:4:11: cache.disk.path: %s\n", want);
    expect_errors(yaml, full);
}

static void
test_disk_path_on_filesystem(void **state)
{
    static const char *const ok[] = { "var", "var/", "var/cache",
                                      "./var//cache/", "new", "/", "." };
    char p[512], want[1024], rel[600];
    struct conf *c;

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(p, sizeof p, DISK "    path: \"%s\"\n", ok[i]);
        c = load_ok(p);
        assert_string_equal(c->cache.disk.path, ok[i]);
        conf_unref(&c);
    }
    snprintf(p, sizeof p, DISK "    path: %s/var/cache\n", tmp_dir);
    c = load_ok(p);
    conf_unref(&c);
    snprintf(rel, sizeof rel, " (relative to the working directory %s)",
             tmp_dir);
    snprintf(p, sizeof p, "%s/file", tmp_dir);
    snprintf(want, sizeof want, "'%s' is not a directory", p);
    expect_path_error(p, want);
    snprintf(p, sizeof p, "%s/nope/cache", tmp_dir);
    snprintf(want, sizeof want, "parent directory %s/nope does not exist",
             tmp_dir);
    expect_path_error(p, want);
    snprintf(p, sizeof p, "%s/file/cache/", tmp_dir);
    snprintf(want, sizeof want, "parent directory %s/file is not a "
             "directory", tmp_dir);
    expect_path_error(p, want);
    snprintf(want, sizeof want, "'file' is not a directory%s", rel);
    expect_path_error("file", want);
    snprintf(want, sizeof want, "parent directory nope/a does not exist%s",
             rel);
    expect_path_error("nope/a//b//", want);
    snprintf(want, sizeof want, "'dangling' is a symbolic link to nothing%s",
             rel);
    expect_path_error("dangling", want);
}

/* The example's commented-out disk block states the defaults: uncommented,
 * it gives a disk tier with exactly those. */
static void
test_disk_example(void **state)
{
    const char *srcdir = getenv("srcdir");
    char path[4096], line[256], yaml[16384] = "";
    struct conf_errors e = { 0 };
    bool in_disk = false;
    struct conf *c;
    FILE *f;

    (void)state;
    if (srcdir == NULL)
        srcdir = ".";
    snprintf(path, sizeof path, "%s%s%s/conf/examples/strata.yaml",
             srcdir[0] == '/' ? "" : start_dir, srcdir[0] == '/' ? "" : "/",
             srcdir);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strcmp(line, "  # disk:\n") == 0) {
            in_disk = true;
            strcpy(line, "  disk:\n");
        } else if (in_disk && strncmp(line, "  #   ", 6) == 0) {
            line[2] = ' '; /* deeper than `disk:`, as YAML wants */
        } else {
            in_disk = false;
        }
        assert_true(strlen(yaml) + strlen(line) < sizeof yaml);
        strcat(yaml, line);
    }
    fclose(f);
    c = load_ok(yaml);
    assert_string_equal(c->cache.disk.path, "./var/cache");
    assert_disk_defaults(&c->cache.disk);
    conf_unref(&c);
    assert_int_equal(conf_load_file(path, &c, &e), 0);
    assert_null(c->cache.disk.path);
    assert_disk_defaults(&c->cache.disk);
    conf_unref(&c);
}

static int
setup(void **state)
{
    (void)state;
    if (getcwd(start_dir, sizeof start_dir) == NULL)
        return -1;
    tmp_dir = conf_test_dir_new();
    return chdir(tmp_dir);
}

static int
teardown(void **state)
{
    (void)state;
    if (chdir(start_dir) != 0)
        return -1;
    conf_test_dir_free(&tmp_dir);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_defaults),
        cmocka_unit_test(test_disk_keys),
        cmocka_unit_test(test_disk_ranges),
        cmocka_unit_test(test_disk_bad_values),
        cmocka_unit_test(test_disk_unknown_keys_and_types),
        cmocka_unit_test(test_disk_watermark_order),
        cmocka_unit_test(test_disk_size_max),
        cmocka_unit_test(test_disk_path_on_filesystem),
        cmocka_unit_test(test_disk_example),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
