/*
 * lmdb-fill: writes N small objects straight into a disk-tier directory,
 * keyed as strata keys http://HOST/fill/<i>, fresh for a day. Used by
 * tools/bench/disk.sh to measure the start-to-first-hit time of a node
 * whose disk holds a million objects; not installed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/key.h"
#include "cache/lmdb_tier.h"
#include "common/clock.h"

static struct cache_obj *
make(const char *host, unsigned long i, int64_t now)
{
    static const char head[] = "Content-Type: text/plain\r\nCache-Control: max-age=86400\r\n";
    char path[64], kbuf[512], body[100];
    struct cache_key k = { .buf = kbuf, .cap = sizeof kbuf };
    struct cache_meta m = {
        .status = 200, .request_ms = now, .response_ms = now, .date_s = now / 1000,
        .lifetime_ms = 86400000, .swr_ms = -1, .sie_ms = -1, .last_modified_s = -1,
    };
    struct cache_obj *o;
    int n = snprintf(path, sizeof path, "/fill/%lu", i);

    if (cache_key_build(&k, CACHE_SCHEME_HTTP, host, strlen(host), path, (size_t)n, NULL) < 0)
        return NULL;
    o = cache_obj_new(k.hash, k.buf, k.len, NULL, 0, NULL, NULL, head, sizeof head - 1,
                      &m, sizeof body);
    memset(body, 'a' + (int)(i % 26), sizeof body);
    cache_obj_append(o, body, sizeof body);
    cache_obj_finish(o, CACHE_OBJ_COMPLETE);
    return o;
}

int
main(int argc, char **argv)
{
    struct cache_lmdb_conf cf = { .map_bytes = 8ull << 30, .durability = CACHE_LMDB_FAST,
                                  .queue_max = 8192 };
    unsigned long n, i;
    struct cache_lmdb *l;
    int64_t now = clock_wall_ms();
    int err = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: lmdb-fill DIR HOST COUNT\n");
        return 2;
    }
    cf.path = argv[1];
    n = strtoul(argv[3], NULL, 10);
    l = cache_lmdb_open(&cf, &err);
    if (l == NULL) {
        fprintf(stderr, "lmdb-fill: %s: %s\n", argv[1], strerror(-err));
        return 1;
    }
    for (i = 0; i < n; i++) {
        struct cache_obj *o = make(argv[2], i, now);

        if (o == NULL)
            return 1;
        while (cache_lmdb_store(l, o, (uint64_t)now) == -EAGAIN)
            cache_lmdb_flush(l);
        cache_obj_unref(&o);
    }
    cache_lmdb_close(&l);
    return 0;
}
