/*
 * RAM tier internals, shared by cache/ram.c and nothing else yet: tuning
 * constants, the per-object entry, the shard and the ghost slot. See
 * cache/ram.c for how they are used and cache/ram.h for the contract.
 */
#ifndef CACHE_RAM_INT_H
#define CACHE_RAM_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/ram.h"

#define RAM_SHARDS_MAX 64u
#define RAM_SHARD_MIN_BYTES ((size_t)1 << 20)
#define RAM_BUCKETS_MIN 64u
#define RAM_GHOST_MIN 64u
#define RAM_GHOST_PROBES 8u
#define RAM_FREQ_MAX 3u
#define RAM_CACHELINE 64u

enum { RAM_Q_SMALL, RAM_Q_MAIN };

struct ram_ent {
    struct ram_ent *hnext;         /* bucket chain */
    struct ram_ent *newer, *older; /* FIFO links; the head is the newest */
    struct cache_obj *obj;         /* the tier's reference */
    uint64_t mhash;                /* mix(obj->hash) */
    const char *key;               /* obj->key: compared without loading obj */
    size_t charge;                 /* obj->charge + sizeof(struct ram_ent) */
    uint32_t key_len;
    uint8_t freq;                  /* atomic, 0..RAM_FREQ_MAX */
    uint8_t queue;                 /* RAM_Q_SMALL or RAM_Q_MAIN */
};

struct ram_fifo {
    struct ram_ent *head, *tail;
    size_t bytes;
};

struct ram_ghost_slot {
    uint64_t mhash;
    uint64_t gen; /* 0: never used or taken */
};

struct ram_shard {
    pthread_mutex_t lock;
    struct ram_ent **buckets;
    size_t mask; /* buckets - 1 */
    size_t count;
    struct ram_fifo fifo[2];
    size_t budget, small_budget;
    struct ram_ghost_slot *ghost;
    size_t ghost_mask;
    uint64_t ghost_gen; /* the next generation handed out */
    uint64_t inserts, replaces, ghost_hits, evictions, removes, hits, misses;
    uint64_t variant_drops;
} __attribute__((aligned(RAM_CACHELINE)));

struct cache_ram {
    unsigned magic;
    unsigned nshards;
    size_t budget;
    size_t max_object;
    void *shard_mem; /* unaligned allocation behind shards */
    struct ram_shard *shards;
};

/* ram_ghost.c, shard locked: remember mh (evicted from small); whether
 * the ghost remembers mh (and forget it). */
void ram_ghost_add(struct ram_shard *s, uint64_t mh);
bool ram_ghost_take(struct ram_shard *s, uint64_t mh);

#endif
