/* Per-thread counter blocks, registered once and summed on scrape. */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "common/alloc.h"
#include "common/stats.h"

#define MAX_BLOCKS 1024

_Thread_local struct stats_block *stats_tls;
struct stats_block stats_shared;

static pthread_mutex_t blocks_mu = PTHREAD_MUTEX_INITIALIZER;
static struct stats_block *blocks[MAX_BLOCKS];
static unsigned n_blocks;

static const char *const names[] = {
#define STAT_NAME(id, name) name,
    STATS_LIST(STAT_NAME)
#undef STAT_NAME
};

void
stats_thread_register(void)
{
    struct stats_block *b;

    if (stats_tls != NULL)
        return;
    /* Blocks live for the process: a stopped worker's counts still sum. */
    b = xcalloc(1, sizeof *b);
    pthread_mutex_lock(&blocks_mu);
    if (n_blocks < MAX_BLOCKS) {
        blocks[n_blocks++] = b;
        stats_tls = b;
    }
    pthread_mutex_unlock(&blocks_mu);
}

void
stats_snapshot(struct stats_block *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&blocks_mu);
    for (unsigned i = 0; i < n_blocks; i++)
        for (unsigned j = 0; j < ST__COUNT; j++)
            out->v[j] += __atomic_load_n(&blocks[i]->v[j], __ATOMIC_RELAXED);
    pthread_mutex_unlock(&blocks_mu);
    for (unsigned j = 0; j < ST__COUNT; j++)
        out->v[j] += __atomic_load_n(&stats_shared.v[j], __ATOMIC_RELAXED);
}

const char *
stats_name(enum stat_id id)
{
    return id < ST__COUNT ? names[id] : "?";
}
