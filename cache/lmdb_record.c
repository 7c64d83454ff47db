/*
 * cache/lmdb_record.c: the LMDB tier's byte formats (layout in lmdb_int.h):
 * key layouts, the header record, body-chunk checksums, the format record,
 * Surrogate-Key tags and the conf defaults. Pure functions: no LMDB, no
 * I/O, no clock. Decoders take bytes from disk, so they check every length
 * before using it and reject rather than assert.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <xxhash.h>
#ifdef HAVE_XXH3_64BITS_WITHSEED_DISPATCH
#include <xxh_x86dispatch.h>
#define chunk_hash XXH3_64bits_withSeed_dispatch /* AVX2/AVX-512 when there */
#else
#define chunk_hash XXH3_64bits_withSeed
#endif

#include "cache/lmdb_int.h"
#include "common/assert.h"

#define HDR_HAS_NAMES 0x1u
#define HDR_HAS_ETAG 0x2u
#define SEED_MUL 0x9e3779b97f4a7c15ULL

void lmdb_be64_put(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

uint64_t lmdb_be64_get(const uint8_t *p) {
  uint64_t v = 0;

  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

void lmdb_le64_put(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++, v >>= 8)
    p[i] = (uint8_t)v;
}

uint64_t lmdb_le64_get(const uint8_t *p) {
  uint64_t v = 0;

  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void le32_put(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++, v >>= 8)
    p[i] = (uint8_t)v;
}

static uint32_t le32_get(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

void lmdb_okey(uint8_t k[LMDB_OKEY_LEN], uint64_t hash, uint64_t id,
               uint32_t rec) {
  lmdb_be64_put(k, hash);
  lmdb_be64_put(k + 8, id);
  for (int i = 3; i >= 0; i--, rec >>= 8)
    k[16 + i] = (uint8_t)rec;
}

bool lmdb_okey_parse(const void *p, size_t n, uint64_t *hash, uint64_t *id,
                     uint32_t *rec) {
  const uint8_t *k = p;

  if (n != LMDB_OKEY_LEN)
    return false;
  *hash = lmdb_be64_get(k);
  *id = lmdb_be64_get(k + 8);
  *rec = (uint32_t)k[16] << 24 | (uint32_t)k[17] << 16 | (uint32_t)k[18] << 8 |
         k[19];
  return true;
}

void lmdb_lkey(uint8_t k[LMDB_LKEY_LEN], uint64_t ms, uint64_t id) {
  lmdb_be64_put(k, ms);
  lmdb_be64_put(k + 8, id);
}

size_t lmdb_ukey(uint8_t *buf, const char *key, size_t key_len, uint64_t id) {
  if (key_len > LMDB_URL_PREFIX_MAX)
    key_len = LMDB_URL_PREFIX_MAX;
  memcpy(buf, key, key_len);
  buf[key_len] = '\0';
  lmdb_be64_put(buf + key_len + 1, id);
  return key_len + 9;
}

uint32_t lmdb_nchunks(uint64_t body_len) {
  return (uint32_t)((body_len + CACHE_CHUNK_SIZE - 1) / CACHE_CHUNK_SIZE);
}

uint32_t lmdb_chunk_len(uint64_t body_len, uint32_t idx) {
  uint64_t off = (uint64_t)idx * CACHE_CHUNK_SIZE;

  if (off >= body_len)
    return 0;
  return body_len - off < CACHE_CHUNK_SIZE ? (uint32_t)(body_len - off)
                                           : CACHE_CHUNK_SIZE;
}

static size_t opt_len(const char *s) { return s != NULL ? strlen(s) : 0; }

size_t lmdb_hdr_size(const struct cache_obj *o) {
  return LMDB_HDR_FIXED + o->key_len + o->vary_key_len +
         opt_len(o->vary_names) + opt_len(o->etag) + o->head_len + 5;
}

static uint8_t *put_str(uint8_t *p, const char *s, size_t n) {
  if (n > 0)
    memcpy(p, s, n);
  p[n] = '\0';
  return p + n + 1;
}

static void meta_encode(uint8_t *p, const struct cache_meta *m) {
  const int64_t v[8] = {m->request_ms, m->response_ms,    m->date_s,
                        m->age_s,      m->lifetime_ms,    m->swr_ms,
                        m->sie_ms,     m->last_modified_s};

  le32_put(p, (uint32_t)m->status);
  le32_put(p + 4, m->flags);
  for (int i = 0; i < 8; i++)
    lmdb_le64_put(p + 8 + 8 * i, (uint64_t)v[i]);
}

static void meta_decode(struct cache_meta *m, const uint8_t *p) {
  int64_t *v[8] = {&m->request_ms, &m->response_ms,    &m->date_s,
                   &m->age_s,      &m->lifetime_ms,    &m->swr_ms,
                   &m->sie_ms,     &m->last_modified_s};

  m->status = (int32_t)le32_get(p);
  m->flags = le32_get(p + 4);
  for (int i = 0; i < 8; i++)
    *v[i] = (int64_t)lmdb_le64_get(p + 8 + 8 * i);
}

void lmdb_hdr_encode(void *buf, const struct cache_obj *o, uint64_t id) {
  lmdb_hdr_encode_len(buf, o, id, cache_obj_body_len(o));
}

void lmdb_hdr_encode_len(void *buf, const struct cache_obj *o, uint64_t id,
                         uint64_t body) {
  size_t names = opt_len(o->vary_names), etag = opt_len(o->etag);
  size_t len = lmdb_hdr_size(o);
  uint8_t *b = buf, *s;

  ASSERT(len <= UINT32_MAX);
  le32_put(b + 8, LMDB_HDR_MAGIC);
  le32_put(b + 12, CACHE_LMDB_FORMAT);
  le32_put(b + 16, (uint32_t)len);
  le32_put(b + 20, lmdb_nchunks(body));
  lmdb_le64_put(b + 24, id);
  lmdb_le64_put(b + 32, o->hash);
  lmdb_le64_put(b + 40, body);
  le32_put(b + 48, o->key_len);
  le32_put(b + 52, o->vary_key_len);
  le32_put(b + 56, (uint32_t)names);
  le32_put(b + 60, (uint32_t)etag);
  le32_put(b + 64, o->head_len);
  le32_put(b + 68, (o->vary_names != NULL ? HDR_HAS_NAMES : 0) |
                       (o->etag != NULL ? HDR_HAS_ETAG : 0));
  meta_encode(b + 72, &o->meta);
  s = put_str(b + LMDB_HDR_FIXED, o->key, o->key_len);
  s = put_str(s, o->vary_key, o->vary_key_len);
  s = put_str(s, o->vary_names, names);
  s = put_str(s, o->etag, etag);
  s = put_str(s, o->head, o->head_len);
  ASSERT((size_t)(s - b) == len);
  lmdb_le64_put(b, XXH3_64bits(b + 8, len - 8));
}

/* Takes the next string of n bytes plus its NUL; NULL when it does not fit. */
static const char *take_str(const uint8_t **p, const uint8_t *end, uint32_t n,
                            bool no_nul) {
  const char *s = (const char *)*p;

  if ((size_t)(end - *p) < (size_t)n + 1 || (*p)[n] != '\0')
    return NULL;
  if (no_nul && memchr(s, '\0', n) != NULL)
    return NULL;
  *p += (size_t)n + 1;
  return s;
}

int lmdb_hdr_decode(struct lmdb_hdr *h, const void *p, size_t n) {
  const uint8_t *b = p, *s, *end = b + n;
  uint32_t names_len, etag_len, has;

  if (n < LMDB_HDR_FIXED || le32_get(b + 8) != LMDB_HDR_MAGIC ||
      le32_get(b + 12) != CACHE_LMDB_FORMAT || le32_get(b + 16) != n ||
      XXH3_64bits(b + 8, n - 8) != lmdb_le64_get(b))
    return -EBADMSG;
  memset(h, 0, sizeof *h);
  h->nchunks = le32_get(b + 20);
  h->id = lmdb_le64_get(b + 24);
  h->hash = lmdb_le64_get(b + 32);
  h->body_len = lmdb_le64_get(b + 40);
  h->key_len = le32_get(b + 48);
  h->vary_key_len = le32_get(b + 52);
  names_len = le32_get(b + 56);
  etag_len = le32_get(b + 60);
  h->head_len = le32_get(b + 64);
  has = le32_get(b + 68);
  meta_decode(&h->meta, b + 72);
  if (h->nchunks != lmdb_nchunks(h->body_len) ||
      h->body_len > (uint64_t)INT64_MAX)
    return -EBADMSG;
  s = b + LMDB_HDR_FIXED;
  h->key = take_str(&s, end, h->key_len, false);
  h->vary_key = take_str(&s, end, h->vary_key_len, false);
  h->vary_names = take_str(&s, end, names_len, true);
  h->etag = take_str(&s, end, etag_len, true);
  h->head = take_str(&s, end, h->head_len, false);
  if (h->key == NULL || h->vary_key == NULL || h->vary_names == NULL ||
      h->etag == NULL || h->head == NULL || s != end ||
      (has & ~(HDR_HAS_NAMES | HDR_HAS_ETAG)) != 0)
    return -EBADMSG;
  if (!(has & HDR_HAS_NAMES))
    h->vary_names = NULL;
  if (!(has & HDR_HAS_ETAG))
    h->etag = NULL;
  return 0;
}

struct cache_obj *lmdb_hdr_obj(const struct lmdb_hdr *h, bool body) {
  /* Without the body, the chain stays empty: no chunk sized for it. */
  struct cache_obj *o = cache_obj_new(
      h->hash, h->key, h->key_len, h->vary_key, h->vary_key_len, h->vary_names,
      h->etag, h->head, h->head_len, &h->meta, body ? h->body_len : 0);

  o->expected_len = h->body_len;
  return o;
}

static uint64_t chunk_sum(const void *data, size_t n, uint64_t id,
                          uint32_t idx) {
  return chunk_hash(data, n, id * SEED_MUL + idx);
}

void lmdb_chunk_seal(void *rec, size_t n, uint64_t id, uint32_t idx) {
  uint8_t *b = rec;

  lmdb_le64_put(b, chunk_sum(b + LMDB_CHUNK_SUM, n, id, idx));
}

int lmdb_chunk_open(const void *rec, size_t n, uint64_t id, uint32_t idx,
                    size_t want, const void **data) {
  const uint8_t *b = rec;

  if (n != LMDB_CHUNK_SUM + want ||
      chunk_sum(b + LMDB_CHUNK_SUM, want, id, idx) != lmdb_le64_get(b))
    return -EBADMSG;
  *data = b + LMDB_CHUNK_SUM;
  return 0;
}

void lmdb_format_encode(uint8_t out[LMDB_FORMAT_LEN]) {
  memset(out, 0, 12);
  memcpy(out, LMDB_FORMAT_NAME, sizeof LMDB_FORMAT_NAME - 1);
  le32_put(out + 12, CACHE_LMDB_FORMAT);
  le32_put(out + 16, CACHE_CHUNK_SIZE);
}

void lmdb_fill_mkey(uint8_t k[LMDB_FILL_KEY_LEN], uint64_t id) {
  memcpy(k, LMDB_FILL_PREFIX, sizeof LMDB_FILL_PREFIX - 1);
  lmdb_be64_put(k + sizeof LMDB_FILL_PREFIX - 1, id);
}

int lmdb_format_check(const void *p, size_t n, uint32_t *version,
                      uint32_t *chunk) {
  uint8_t want[LMDB_FORMAT_LEN];
  const uint8_t *b = p;

  *version = *chunk = 0;
  if (n != LMDB_FORMAT_LEN ||
      memcmp(b, LMDB_FORMAT_NAME, sizeof LMDB_FORMAT_NAME) != 0)
    return -EPROTO;
  *version = le32_get(b + 12);
  *chunk = le32_get(b + 16);
  lmdb_format_encode(want);
  return memcmp(b, want, LMDB_FORMAT_LEN) == 0 ? 0 : -EPROTO;
}

void lmdb_tag_iter_init(struct lmdb_tag_iter *it, const char *head,
                        size_t head_len) {
  it->p = head;
  it->end = head + head_len;
  it->v = it->vend = NULL;
}

/* Moves to the next Surrogate-Key field's value; false at the end of the head.
 */
static bool next_field(struct lmdb_tag_iter *it) {
  static const char name[] = "surrogate-key:";

  while (it->p < it->end) {
    const char *line = it->p,
               *eol = memchr(line, '\n', (size_t)(it->end - line));

    if (eol == NULL)
      eol = it->end;
    it->p = eol < it->end ? eol + 1 : eol;
    if (eol > line && eol[-1] == '\r')
      eol--;
    if ((size_t)(eol - line) >= sizeof name - 1 &&
        strncasecmp(line, name, sizeof name - 1) == 0) {
      it->v = line + sizeof name - 1;
      it->vend = eol;
      return true;
    }
  }
  return false;
}

bool lmdb_tag_next(struct lmdb_tag_iter *it, const char **tag, size_t *len) {
  for (;;) {
    while (it->v < it->vend && (*it->v == ' ' || *it->v == '\t'))
      it->v++;
    if (it->v < it->vend) {
      const char *t = it->v;

      while (it->v < it->vend && *it->v != ' ' && *it->v != '\t')
        it->v++;
      *tag = t;
      *len = (size_t)(it->v - t);
      return true;
    }
    if (!next_field(it))
      return false;
  }
}

int lmdb_conf_check(struct cache_lmdb_conf *cf) {
  if (cf->high_pct == 0)
    cf->high_pct = 90;
  if (cf->low_pct == 0)
    cf->low_pct = 75;
  if (cf->sync_interval_ms == 0)
    cf->sync_interval_ms = 1000;
  if (cf->max_readers == 0)
    cf->max_readers = 126;
  if (cf->queue_max == 0)
    cf->queue_max = 16384; /* small objects in bursts; queue_bytes bounds memory */
  if (cf->queue_bytes == 0)
    cf->queue_bytes = (size_t)64 << 20;
  if (cf->retry_ms == 0)
    cf->retry_ms = 5000;
  if (cf->max_fills == 0)
    cf->max_fills = 64;
  if (cf->max_fill_bytes == 0)
    cf->max_fill_bytes = cf->map_bytes / 4;
  if (cf->path == NULL || cf->path[0] == '\0' ||
      cf->map_bytes < ((uint64_t)1 << 20) || cf->high_pct > 99 ||
      cf->low_pct >= cf->high_pct || cf->max_readers < 2 ||
      (unsigned)cf->durability > CACHE_LMDB_SYNC)
    return -EINVAL;
  return 0;
}
