/*
 * Deterministic bodies. At start we build one pool per flavour from a PRNG
 * with a fixed seed: realistic HTML, CSS, JS and prose for text types (they
 * gzip about 3-6x, like real pages) and PRNG bytes for binary types.
 *
 * A body is the flavour's prefix followed by 64 KiB windows of the pool:
 * window k of the body named by hash h starts at mix(h, k) mod (pool - 64 KiB).
 * So body(target, offset) is a pure function, costs nothing to compute, and
 * is added to an evbuffer by reference (no copy). Changing the seeds, the
 * vocabularies, BODY_WINDOW or the pool sizes changes every body: don't.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "tools/origin/origin_int.h"

#define BODY_WINDOW (64u << 10)
#define TEXT_POOL_LEN (1u << 20)
#define BIN_POOL_LEN (4u << 20)

struct pool {
    unsigned char *data;
    size_t len;
    const char *prefix;
    size_t plen;
};

struct gen {
    unsigned char *p;
    size_t len;
    size_t cap;
    uint64_t rng;
};

static struct pool pools[ORIGIN_FLAV__COUNT];

static const char *const words[] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as",
    "with", "was", "on", "be", "by", "this", "are", "from", "or", "at",
    "an", "which", "have", "not", "has", "but", "new", "more", "their",
    "about", "site", "page", "search", "free", "other", "information",
    "time", "they", "news", "will", "home", "can", "we", "all", "data",
    "our", "your", "content", "online", "first", "would", "there", "also",
    "when", "into", "service", "price", "product", "world", "system",
    "contact", "business", "people", "music", "only", "help", "latest",
    "cache", "edge", "network", "server", "request", "response", "design",
    "read", "report", "policy", "review", "support", "account", "travel",
    "shipping", "community", "software", "video", "photo", "school",
    "market", "health", "library", "garden", "kitchen", "mountain",
    "river", "summer", "winter", "season", "weekly", "daily", "modern",
    "classic", "simple", "quick", "secure", "global", "local", "public",
    "private", "digital", "natural", "fresh", "golden", "silver", "lorem",
    "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
    "sed", "eiusmod", "tempor", "incididunt", "labore", "magna", "aliqua",
    "veniam", "nostrud", "exercitation", "ullamco", "laboris", "nisi",
    "aliquip", "commodo", "consequat", "duis", "aute", "irure",
    "reprehenderit", "voluptate", "velit", "esse", "cillum", "fugiat",
    "nulla", "pariatur", "excepteur", "sint", "occaecat", "cupidatat",
    "proident", "sunt", "culpa", "officia", "deserunt", "mollit", "anim",
};

static const char *const classes[] = {
    "container", "row", "col", "card", "card-body", "nav", "nav-item",
    "header", "footer", "btn", "btn-primary", "hero", "title", "subtitle",
    "content", "sidebar", "grid", "list", "item", "active", "hidden",
    "media", "thumb", "caption", "badge", "alert", "form-group", "input",
    "menu", "breadcrumb", "pager", "wrapper",
};

static const char *const css_lengths[] = {
    "margin", "padding", "font-size", "line-height", "border-radius",
    "width", "max-width", "height", "margin-top", "padding-left",
    "letter-spacing", "gap", "top", "left",
};

static const char *const css_colors[] = {
    "color", "background-color", "border-color", "outline-color",
};

static const char *const css_keywords[] = {
    "display: flex", "display: block", "display: none", "position: relative",
    "position: absolute", "text-align: center", "font-weight: 600",
    "overflow: hidden", "cursor: pointer", "box-sizing: border-box",
};

static const char *const js_idents[] = {
    "value", "options", "element", "index", "result", "state", "items",
    "config", "handler", "event", "node", "callback", "response", "data",
    "count", "target", "module", "render", "update", "init", "fetchData",
    "parseItem", "setState", "emit", "listen", "cache", "timer", "query",
};

static uint64_t
next(struct gen *g)
{
    /* splitmix64: fixed, portable integer arithmetic. */
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Index in [0, n), skewed toward small values like word frequencies. */
static size_t
skewed(struct gen *g, size_t n)
{
    uint64_t r = next(g);

    return (size_t)(((r & 0xffffffffu) % n) * ((r >> 32) % n) / n);
}

static void
put(struct gen *g, const char *s)
{
    size_t n = strlen(s);

    if (n > g->cap - g->len)
        n = g->cap - g->len;
    memcpy(g->p + g->len, s, n);
    g->len += n;
}

static void
put_num(struct gen *g, unsigned max)
{
    char b[24];

    snprintf(b, sizeof b, "%u", (unsigned)(next(g) % max));
    put(g, b);
}

static void
put_words(struct gen *g, unsigned min, unsigned spread)
{
    unsigned n = min + (unsigned)(next(g) % spread);

    for (unsigned i = 0; i < n; i++) {
        if (i > 0)
            put(g, " ");
        put(g, words[skewed(g, ARRAY_LEN(words))]);
    }
}

static const char *
pick(struct gen *g, const char *const *v, size_t n)
{
    return v[skewed(g, n)];
}

static void
html_unit(struct gen *g)
{
    put(g, "<section class=\"");
    put(g, pick(g, classes, ARRAY_LEN(classes)));
    put(g, "\">\n  <h2>");
    put_words(g, 2, 5);
    put(g, "</h2>\n  <p>");
    put_words(g, 12, 30);
    put(g, " <a href=\"/");
    put(g, pick(g, words, ARRAY_LEN(words)));
    put(g, "/");
    put(g, pick(g, words, ARRAY_LEN(words)));
    put(g, ".html\">");
    put_words(g, 1, 4);
    put(g, "</a> ");
    put_words(g, 8, 20);
    put(g, ".</p>\n  <ul class=\"list\">\n    <li class=\"item\">");
    put_words(g, 2, 6);
    put(g, "</li>\n    <li class=\"item\">");
    put_words(g, 2, 6);
    put(g, "</li>\n  </ul>\n  <img src=\"/img/");
    put(g, pick(g, words, ARRAY_LEN(words)));
    put(g, "-");
    put_num(g, 1000);
    put(g, ".jpg\" alt=\"");
    put_words(g, 1, 4);
    put(g, "\" width=\"640\" height=\"480\">\n</section>\n");
}

static void
css_decl(struct gen *g)
{
    char color[16];
    uint64_t kind = next(g) % 4;

    put(g, "  ");
    if (kind == 0) {
        put(g, pick(g, css_keywords, ARRAY_LEN(css_keywords)));
        put(g, ";\n");
        return;
    }
    if (kind == 1) {
        put(g, pick(g, css_colors, ARRAY_LEN(css_colors)));
        snprintf(color, sizeof color, ": #%06x;\n",
                 (unsigned)(next(g) % 0x1000000));
        put(g, color);
        return;
    }
    put(g, pick(g, css_lengths, ARRAY_LEN(css_lengths)));
    put(g, ": ");
    put_num(g, 48);
    put(g, next(g) % 2 ? "px;\n" : "rem;\n");
}

static void
css_unit(struct gen *g)
{
    unsigned n = 2 + (unsigned)(next(g) % 5);

    put(g, ".");
    put(g, pick(g, classes, ARRAY_LEN(classes)));
    put(g, " .");
    put(g, pick(g, classes, ARRAY_LEN(classes)));
    put(g, next(g) % 3 ? " {\n" : ":hover {\n");
    for (unsigned i = 0; i < n; i++)
        css_decl(g);
    put(g, "}\n");
}

static void
js_unit(struct gen *g)
{
    put(g, "function ");
    put(g, pick(g, js_idents, ARRAY_LEN(js_idents)));
    put(g, "(");
    put(g, pick(g, js_idents, ARRAY_LEN(js_idents)));
    put(g, ", options) {\n  const ");
    put(g, pick(g, js_idents, ARRAY_LEN(js_idents)));
    put(g, " = options.");
    put(g, pick(g, js_idents, ARRAY_LEN(js_idents)));
    put(g, " || ");
    put_num(g, 10000);
    put(g, ";\n  if (state.");
    put(g, pick(g, js_idents, ARRAY_LEN(js_idents)));
    put(g, " === \"");
    put(g, pick(g, words, ARRAY_LEN(words)));
    put(g, "\") {\n    return this.");
    put(g, pick(g, js_idents, ARRAY_LEN(js_idents)));
    put(g, "(value, ");
    put_num(g, 10);
    put(g, ");\n  }\n  // ");
    put_words(g, 4, 12);
    put(g, "\n  return null;\n}\n");
}

static void
text_unit(struct gen *g)
{
    unsigned n = 3 + (unsigned)(next(g) % 5);

    for (unsigned i = 0; i < n; i++) {
        put_words(g, 8, 16);
        put(g, ". ");
    }
    put(g, "\n\n");
}

static void
build(struct pool *pl, size_t len, uint64_t seed, void (*unit)(struct gen *))
{
    struct gen g = { .p = xmalloc(len), .cap = len, .rng = seed };

    while (g.len < len) {
        if (unit != NULL) {
            unit(&g);
            continue;
        }
        /* Binary: PRNG bytes, little-endian whatever the host. */
        uint64_t r = next(&g);
        for (int i = 0; i < 8 && g.len < len; i++)
            g.p[g.len++] = (unsigned char)(r >> (8 * i));
    }
    pl->data = g.p;
    pl->len = len;
    pl->plen = pl->prefix ? strlen(pl->prefix) : 0;
}

/* Builds every pool; call once before serving. */
void
origin_body_init(void)
{
    pools[ORIGIN_FLAV_HTML].prefix = "<!DOCTYPE html>\n<html lang=\"en\">\n"
        "<head><meta charset=\"utf-8\"><title>strata-origin</title></head>\n"
        "<body>\n";
    pools[ORIGIN_FLAV_CSS].prefix = "@charset \"utf-8\";\n";
    pools[ORIGIN_FLAV_JS].prefix = "\"use strict\";\n";
    build(&pools[ORIGIN_FLAV_HTML], TEXT_POOL_LEN, 0x48544d4c01, html_unit);
    build(&pools[ORIGIN_FLAV_CSS], TEXT_POOL_LEN, 0x43535301, css_unit);
    build(&pools[ORIGIN_FLAV_JS], TEXT_POOL_LEN, 0x4a5301, js_unit);
    build(&pools[ORIGIN_FLAV_TEXT], TEXT_POOL_LEN, 0x54585401, text_unit);
    build(&pools[ORIGIN_FLAV_BINARY], BIN_POOL_LEN, 0x42494e01, NULL);
}

void
origin_body_fini(void)
{
    for (size_t i = 0; i < ARRAY_LEN(pools); i++) {
        free(pools[i].data);
        pools[i].data = NULL;
    }
}

/* xxh64 of n bytes: the hash bodies, ETags and dates derive from. */
uint64_t
origin_hash(const void *p, size_t n, uint64_t seed)
{
    return XXH64(p, n, seed);
}

static uint64_t
window_start(const struct pool *pl, uint64_t hash, uint64_t k)
{
    uint64_t z = hash + (k + 1) * 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z % (pl->len - BODY_WINDOW + 1);
}

/*
 * Appends bytes [off, off + len) of the body named by hash to out, as
 * references to the pools (valid until origin_body_fini()).
 */
void
origin_body_add(struct evbuffer *out, enum origin_flavour f, uint64_t hash,
                uint64_t off, size_t len)
{
    const struct pool *pl = &pools[f];

    ASSERT(f < ORIGIN_FLAV__COUNT && pl->data != NULL);
    while (len > 0) {
        const unsigned char *src;
        size_t n;

        if (off < pl->plen) {
            src = (const unsigned char *)pl->prefix + off;
            n = pl->plen - (size_t)off;
        } else {
            uint64_t o = off - pl->plen;
            uint64_t within = o % BODY_WINDOW;

            src = pl->data + window_start(pl, hash, o / BODY_WINDOW) + within;
            n = BODY_WINDOW - (size_t)within;
        }
        if (n > len)
            n = len;
        evbuffer_add_reference(out, src, n, NULL, NULL);
        off += n;
        len -= n;
    }
}

/* xxh64 (seed 0) of everything in b, without copying it. */
uint64_t
origin_hash_evbuffer(struct evbuffer *b)
{
    XXH64_state_t *st = XXH64_createState();
    struct evbuffer_ptr pos;
    struct evbuffer_iovec v;
    uint64_t h;

    ASSERT(st != NULL);
    XXH64_reset(st, 0);
    evbuffer_ptr_set(b, &pos, 0, EVBUFFER_PTR_SET);
    while (evbuffer_peek(b, -1, &pos, &v, 1) > 0) {
        XXH64_update(st, v.iov_base, v.iov_len);
        if (evbuffer_ptr_set(b, &pos, v.iov_len, EVBUFFER_PTR_ADD) != 0)
            break;
    }
    h = XXH64_digest(st);
    XXH64_freeState(st);
    return h;
}
