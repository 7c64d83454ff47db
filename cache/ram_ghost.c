/*
 * cache/ram_ghost.c: the S3-FIFO ghost of a RAM tier shard (see ram.c):
 * the last `cap` hashes evicted from the small queue, an open-addressed
 * table of (hash, generation). A slot is alive while fewer than cap hashes
 * were added after it, which is FIFO expiry without a list. Probing is
 * bounded; when every probed slot is alive the oldest is overwritten (the
 * ghost is a hint: losing one costs an object one lap in small). cap is how
 * many objects the main queue holds at the shard's mean object size.
 * Called with the shard locked.
 */
#include "config.h"

#include <stdlib.h>

#include "cache/ram_int.h"
#include "common/alloc.h"

static size_t
ghost_cap(const struct ram_shard *s)
{
    size_t bytes = s->fifo[RAM_Q_SMALL].bytes + s->fifo[RAM_Q_MAIN].bytes;
    size_t mean = s->count > 0 ? bytes / s->count : 0;
    size_t cap = mean > 0 ? (s->budget - s->small_budget) / mean : 0;

    return cap > RAM_GHOST_MIN ? cap : RAM_GHOST_MIN;
}

static bool
ghost_alive(const struct ram_shard *s, const struct ram_ghost_slot *g, size_t cap)
{
    return g->gen != 0 && s->ghost_gen - g->gen <= cap;
}

/* The slot for mh: its own, else a dead one, else the oldest probed. */
static struct ram_ghost_slot *
ghost_pick(struct ram_shard *s, uint64_t mh, size_t cap)
{
    struct ram_ghost_slot *best = NULL;

    for (unsigned i = 0; i < RAM_GHOST_PROBES; i++) {
        struct ram_ghost_slot *g = &s->ghost[(mh + i) & s->ghost_mask];
        bool alive = ghost_alive(s, g, cap);

        if (alive && g->mhash == mh)
            return g;
        if (best == NULL || (!alive && ghost_alive(s, best, cap)) ||
            (alive && ghost_alive(s, best, cap) && g->gen < best->gen))
            best = g;
    }
    return best;
}

/* Keeps the table at 1.5x to 3x cap, moving the live slots over. */
static void
ghost_resize(struct ram_shard *s, size_t cap)
{
    size_t n = 2 * RAM_GHOST_MIN, old_n = s->ghost != NULL ? s->ghost_mask + 1 : 0;
    struct ram_ghost_slot *old = s->ghost;

    while (n < cap + cap / 2)
        n *= 2;
    if (n <= old_n)
        return;
    s->ghost = xcalloc(n, sizeof *s->ghost);
    s->ghost_mask = n - 1;
    for (size_t i = 0; i < old_n; i++)
        if (ghost_alive(s, &old[i], cap))
            *ghost_pick(s, old[i].mhash, cap) = old[i];
    free(old);
}

void
ram_ghost_add(struct ram_shard *s, uint64_t mh)
{
    size_t cap = ghost_cap(s);
    struct ram_ghost_slot *g;

    ghost_resize(s, cap);
    g = ghost_pick(s, mh, cap);
    g->mhash = mh;
    g->gen = s->ghost_gen++;
}

/* True (and forgets mh) when the ghost remembers mh. */
bool
ram_ghost_take(struct ram_shard *s, uint64_t mh)
{
    size_t cap = ghost_cap(s);

    if (s->ghost == NULL)
        return false;
    for (unsigned i = 0; i < RAM_GHOST_PROBES; i++) {
        struct ram_ghost_slot *g = &s->ghost[(mh + i) & s->ghost_mask];

        if (ghost_alive(s, g, cap) && g->mhash == mh) {
            g->gen = 0;
            return true;
        }
    }
    return false;
}
