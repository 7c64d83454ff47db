/*
 * Cached objects. An object is the stored form of one response variant:
 * metadata for freshness and validation, the header block to replay, and a
 * body in refcounted chunks. While its fetch is under way the object is
 * BUSY: the fetching worker appends body bytes and other workers read what
 * is published so far (release/acquire on len and next), so waiters stream
 * the body as it arrives. Once COMPLETE an object never changes; updates
 * (a 304 refresh) build a new object that replaces it.
 *
 * Ownership: objects and chunks are refcounted (atomic). The RAM tier holds
 * one reference while an object is indexed; each reader holds its own.
 * A chunk referenced by an output buffer holds a chunk reference, so a body
 * is never copied to be served (evbuffer_add_reference + cache_chunk_unref).
 */
#ifndef CACHE_OBJ_H
#define CACHE_OBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_OBJ_MAGIC 0x6f626a31u
#define CACHE_CHUNK_SIZE (256 * 1024)
#define CACHE_LEN_UNKNOWN UINT64_MAX

/* Metadata flags. */
#define CACHE_META_MUST_REVALIDATE 0x01u /* no stale serving at all */
#define CACHE_META_NO_CACHE 0x02u        /* validate before every use */
#define CACHE_META_HEURISTIC 0x04u       /* lifetime is heuristic */
#define CACHE_META_IMMUTABLE 0x08u
/* Lifetime from s-maxage, which implies proxy-revalidate for a shared
 * cache (RFC 9111 §5.2.2.10): only the response's own stale windows. */
#define CACHE_META_SHARED_MAXAGE 0x100u
/* Not a response: a record that the key's response was not cacheable, so
 * requests go straight upstream for a while (hit-for-pass). */
#define CACHE_META_HIT_FOR_PASS 0x1000u

struct cache_meta {
    int status;
    int64_t request_ms;      /* wall clock: request sent upstream */
    int64_t response_ms;     /* wall clock: response head received */
    int64_t date_s;          /* Date, or response time when absent/invalid */
    int64_t age_s;           /* Age field at receipt (0 absent/invalid) */
    int64_t lifetime_ms;     /* freshness lifetime after site rules */
    int64_t swr_ms;          /* stale-while-revalidate window, -1 none */
    int64_t sie_ms;          /* stale-if-error window, -1 none */
    int64_t last_modified_s; /* Last-Modified, -1 none */
    uint32_t flags;          /* CACHE_META_* */
};

enum cache_obj_state {
    CACHE_OBJ_BUSY,     /* body arriving */
    CACHE_OBJ_COMPLETE, /* whole and immutable */
    CACHE_OBJ_FAILED,   /* fetch aborted: readers stop, the tier drops it */
};

struct cache_chunk {
    struct cache_chunk *next; /* atomic; NULL at the tail */
    unsigned refcnt;          /* atomic */
    uint32_t len;             /* atomic: bytes published */
    uint32_t cap;
    char data[];
};

struct cache_obj {
    unsigned magic;
    unsigned refcnt;       /* atomic */
    uint64_t hash;         /* XXH3 of the primary key: indexes, never identifies */
    char *key;             /* primary key, compared in full */
    uint32_t key_len;
    char *vary_key;        /* secondary key: normalized request values */
    uint32_t vary_key_len;
    char *vary_names;      /* the response's Vary names, normalized; NULL none */
    char *etag;            /* strong or weak validator as sent; NULL none */
    char *head;            /* "Name: value\r\n"..., no hop-by-hop, no Age */
    uint32_t head_len;
    struct cache_meta meta;
    struct cache_chunk *first;
    struct cache_chunk *tail;    /* writer only */
    uint64_t body_len;           /* atomic: bytes published */
    uint64_t expected_len;       /* Content-Length, or CACHE_LEN_UNKNOWN */
    int state;                   /* atomic enum cache_obj_state */
    size_t charge;               /* bytes the RAM tier accounts */
    void *tier;                  /* RAM tier bookkeeping, owned by ram.c */
    /* A body kept elsewhere (the disk tier): the chain stays empty and
     * readers go to ext. Released with the object. NULL: body in chunks. */
    void *ext;
    void (*ext_release)(void *ext);
};

/*
 * Builds a BUSY object. key/vary/head are copied. expected_len sizes the
 * first chunk (no more than CACHE_CHUNK_SIZE). One reference returned.
 */
struct cache_obj *cache_obj_new(uint64_t hash, const char *key, size_t key_len,
                                const char *vary_key, size_t vary_key_len,
                                const char *vary_names, const char *etag,
                                const char *head, size_t head_len,
                                const struct cache_meta *meta, uint64_t expected_len);
struct cache_obj *cache_obj_ref(struct cache_obj *o);
/* Drops a reference; frees the object and its chunk chain on the last. */
void cache_obj_unref(struct cache_obj **op);

/* Writer side (one thread): appends body bytes, publishing as it goes. */
void cache_obj_append(struct cache_obj *o, const void *p, size_t n);
/*
 * Writer side, without a copy from elsewhere: room at the tail (a new chunk
 * when the tail is full; chunk boundaries stay where cache_obj_append puts
 * them), filled by the caller, then published by cache_obj_commit (n <=
 * *room). For reading a chunk from disk straight into the object.
 */
char *cache_obj_reserve(struct cache_obj *o, size_t *room);
void cache_obj_commit(struct cache_obj *o, size_t n);
/* Publishes the end state: CACHE_OBJ_COMPLETE or CACHE_OBJ_FAILED. */
void cache_obj_finish(struct cache_obj *o, enum cache_obj_state st);
enum cache_obj_state cache_obj_state(const struct cache_obj *o);
uint64_t cache_obj_body_len(const struct cache_obj *o);

/*
 * Reader side: a cursor over the chunk chain. cache_obj_read returns the
 * next published run at the cursor (pointer + length, within one chunk) and
 * the chunk it lies in; 0 length when nothing more is published yet.
 * The caller takes a chunk reference for as long as it uses the bytes.
 */
struct cache_obj_cursor {
    struct cache_chunk *chunk;
    uint32_t off;
    uint64_t pos; /* absolute body offset */
};
void cache_obj_cursor_init(struct cache_obj_cursor *cur, const struct cache_obj *o);
/* Moves to body offset pos (for ranges); false when pos is not published. */
bool cache_obj_cursor_seek(struct cache_obj_cursor *cur, const struct cache_obj *o,
                           uint64_t pos);
size_t cache_obj_read(struct cache_obj_cursor *cur, const struct cache_obj *o,
                      const char **p, struct cache_chunk **chunk, size_t max);

/* A free-standing chunk (one reference), e.g. a disk read's buffer. */
struct cache_chunk *cache_chunk_new(uint32_t cap);
void cache_chunk_ref(struct cache_chunk *c);
void cache_chunk_unref(struct cache_chunk *c);

#endif
