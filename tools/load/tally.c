/* Accumulating request results per thread, and merging them. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "tools/load/tally.h"

static void
bump(uint64_t *p, uint64_t n)
{
    /* Owner-only writer: a relaxed load+store, no locked instruction. */
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

uint64_t
load_tally_live(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

struct load_tally *
load_tally_new(uint64_t t0_us, uint64_t interval_us)
{
    struct load_tally *t = xcalloc(1, sizeof *t);

    ASSERT(interval_us > 0);
    t->magic = LOAD_TALLY_MAGIC;
    t->lat = load_hist_new(LOAD_LAT_PRECISION, LOAD_LAT_HIGHEST);
    ASSERT(t->lat != NULL);
    t->t0_us = t0_us;
    t->interval_us = interval_us;
    return t;
}

void
load_tally_free(struct load_tally **tp)
{
    struct load_tally *t = *tp;

    *tp = NULL;
    if (t == NULL)
        return;
    CHECK_OBJ(t, LOAD_TALLY_MAGIC);
    for (size_t i = 0; i < t->n_slots; i++)
        load_hist_free(&t->slots[i].lat);
    free(t->slots);
    load_hist_free(&t->lat);
    t->magic = 0;
    free(t);
}

/* The slot for interval i, growing the series (once per interval). */
static struct load_slot *
slot_at(struct load_tally *t, size_t i)
{
    if (i >= t->cap_slots) {
        size_t cap = t->cap_slots ? t->cap_slots : 64;

        while (cap <= i)
            cap *= 2;
        t->slots = xrealloc(t->slots, cap * sizeof *t->slots);
        memset(t->slots + t->cap_slots, 0, (cap - t->cap_slots) * sizeof *t->slots);
        t->cap_slots = cap;
    }
    if (i >= t->n_slots)
        t->n_slots = i + 1;
    return &t->slots[i];
}

void
load_tally_record(struct load_tally *t, const struct load_result *r)
{
    uint64_t lat = r->done_us > r->start_us ? r->done_us - r->start_us : 0;
    size_t idx = r->done_us > t->t0_us ? (r->done_us - t->t0_us) / t->interval_us : 0;
    struct load_slot *s = slot_at(t, idx);

    bump(&t->requests, 1);
    s->requests++;
    t->outcome[r->outcome]++;
    if (r->err != LOAD_ERR_NONE) {
        bump(&t->errors, 1);
        t->err[r->err]++;
        s->errors++;
    }
    if (r->status == 0)
        return;
    bump(&t->responses, 1);
    s->responses++;
    if (r->status > 0 && r->status < LOAD_STATUS_MAX)
        t->status[r->status]++;
    else
        t->status_other++;
    t->body_bytes += r->body_bytes;
    t->head_bytes += r->head_bytes;
    s->bytes += r->body_bytes;
    if (r->outcome == LOAD_OUT_HIT) {
        bump(&t->hits, 1);
        t->hit_bytes += r->body_bytes;
        s->hits++;
    }
    load_hist_record(t->lat, lat);
    if (s->lat == NULL)
        s->lat = load_hist_new(LOAD_SLOT_PRECISION, LOAD_LAT_HIGHEST);
    load_hist_record(s->lat, lat);
}

void
load_tally_merge(struct load_tally *dst, const struct load_tally *src)
{
    int rc;

    CHECK_OBJ(dst, LOAD_TALLY_MAGIC);
    CHECK_OBJ(src, LOAD_TALLY_MAGIC);
    ASSERT(dst->t0_us == src->t0_us && dst->interval_us == src->interval_us);
    dst->requests += src->requests;
    dst->errors += src->errors;
    dst->hits += src->hits;
    dst->responses += src->responses;
    for (int i = 0; i < LOAD_ERR__COUNT; i++)
        dst->err[i] += src->err[i];
    for (int i = 0; i < LOAD_OUT__COUNT; i++)
        dst->outcome[i] += src->outcome[i];
    for (int i = 0; i < LOAD_STATUS_MAX; i++)
        dst->status[i] += src->status[i];
    dst->status_other += src->status_other;
    dst->body_bytes += src->body_bytes;
    dst->head_bytes += src->head_bytes;
    dst->hit_bytes += src->hit_bytes;
    rc = load_hist_merge(dst->lat, src->lat);
    ASSERT(rc == 0);
    for (size_t i = 0; i < src->n_slots; i++) {
        const struct load_slot *s = &src->slots[i];
        struct load_slot *d = slot_at(dst, i);

        d->requests += s->requests;
        d->responses += s->responses;
        d->errors += s->errors;
        d->hits += s->hits;
        d->bytes += s->bytes;
        if (s->lat != NULL && d->lat == NULL)
            d->lat = load_hist_new(LOAD_SLOT_PRECISION, LOAD_LAT_HIGHEST);
        if (s->lat != NULL) {
            rc = load_hist_merge(d->lat, s->lat);
            ASSERT(rc == 0);
        }
    }
}

void
load_tally_fold_tail(struct load_tally *t, uint64_t elapsed_us)
{
    struct load_slot *last, *prev;
    int rc;

    CHECK_OBJ(t, LOAD_TALLY_MAGIC);
    if (t->n_slots < 2 || elapsed_us >= (t->n_slots - 1) * t->interval_us + t->interval_us / 2)
        return;
    last = &t->slots[t->n_slots - 1];
    prev = last - 1;
    prev->requests += last->requests;
    prev->responses += last->responses;
    prev->errors += last->errors;
    prev->hits += last->hits;
    prev->bytes += last->bytes;
    if (last->lat != NULL && prev->lat == NULL) {
        prev->lat = last->lat;
        last->lat = NULL;
    } else if (last->lat != NULL) {
        rc = load_hist_merge(prev->lat, last->lat);
        ASSERT(rc == 0);
        load_hist_free(&last->lat);
    }
    memset(last, 0, sizeof *last);
    t->n_slots--;
}

const char *
load_err_name(enum load_err e)
{
    static const char *const names[] = { "connect", "tls",      "timeout",
                                         "io",      "protocol", "status_5xx" };

    return e >= 0 && e < LOAD_ERR__COUNT ? names[e] : "?";
}
