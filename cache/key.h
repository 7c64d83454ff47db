/*
 * Cache keys: the primary key of a request and the secondary (Vary) key of
 * a variant. Pure logic on the hot path: no allocation, no I/O, no clock.
 * Every function writes into a caller buffer, NUL-terminates it, and returns
 * the length written (without the NUL), -EINVAL for input that is not a
 * valid URI / field (the caller answers 400 or does not cache), or -ENOSPC
 * when the buffer is too small (nothing useful is left in it).
 *
 * Primary key: "scheme://host[:port]/path[?query]", normalized so that URIs
 * that are equivalent under RFC 3986 §6.2.2-6.2.3 share one key:
 *   - host lowercase, one trailing dot removed, default port (80 for http,
 *     443 for https) and empty port dropped, IPv6 literals in brackets in
 *     their RFC 5952 text form;
 *   - percent-encoding: escapes of unreserved characters (ALPHA DIGIT - . _
 *     ~) decoded, other escapes kept with uppercase hex ("%2F" stays
 *     "%2F"); a bad escape ("%zz", "%4") is -EINVAL;
 *   - dot segments removed (RFC 3986 §5.2.4), never above the root; an
 *     empty path is "/";
 *   - query byte-exact (after the same escape normalization) unless the
 *     site's rules say otherwise.
 * The full key is stored in the object and compared; its XXH3 hash only
 * indexes (RFC 9111 §4: a stored response is selected by its target URI).
 *
 * Secondary key (RFC 9111 §4.1): a response's Vary fields give the names
 * (cache_vary_names_build); a request's values of those fields, normalized
 * (RFC 9110 §12.5.5), give the key its variant is stored and found under
 * (cache_vary_key_build). "Vary: *" never matches.
 */
#ifndef CACHE_KEY_H
#define CACHE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h1_field; /* edge/h1.h: one field line, name and value slices */

/* A buffer of this size holds the key of any request whose request-line
 * and Host fit the default limits (8 KiB each). */
#define CACHE_KEY_MAX (2 * 8192 + 64)
/* Parameters cache_key_rules.sort_query can order; more: -E2BIG. */
#define CACHE_KEY_SORT_MAX 128

enum cache_scheme {
    CACHE_SCHEME_HTTP,
    CACHE_SCHEME_HTTPS,
};

/*
 * Per-site query rules, filled by conf and borrowed for the call. The zero
 * value (or a NULL pointer) keeps the query as received. With ignore or
 * sort_query, the query is handled as "&"-separated parameters: empty ones
 * are dropped and a query left empty loses its "?" too.
 */
struct cache_key_rules {
    bool drop_query; /* key without any query; wins over the rest */
    bool sort_query; /* parameters by name (bytes), equal names in order */
    /* Parameter names to leave out, compared with the escape-normalized
     * name (the bytes before the first "="), case-sensitive. A trailing "*"
     * matches by prefix: "utm_*". Strings owned by the conf snapshot. */
    const char *const *ignore;
    uint32_t n_ignore;
};

/* A key in a caller buffer. Set buf and cap; the builder sets the rest. */
struct cache_key {
    char *buf;         /* CACHE_KEY_MAX bytes are enough for any request */
    uint32_t cap;      /* bytes at buf, including room for the NUL */
    uint32_t len;      /* key length, NUL excluded */
    uint32_t path_off; /* buf[0..path_off) is "scheme://authority" */
    uint32_t query_off; /* buf[path_off..query_off) is the normalized path;
                           the query (if any) follows, "?" included */
    uint64_t hash;     /* XXH3_64bits(buf, len) */
};

/*
 * Builds the primary key from the request's scheme, its Host (or the
 * absolute-form authority) host[0..host_len), and its path and query as
 * received target[0..target_len) ("/p?q"; "" or "?q" mean the root). An
 * empty host is -EINVAL (RFC 9110 §4.2.1): for an HTTP/1.0 request without
 * Host the caller passes the site's name. rules may be NULL. Returns the
 * key length, -EINVAL (bad host, port, escape, a byte outside VCHAR, a
 * "#"), -ENOSPC or -E2BIG (sort_query with more than CACHE_KEY_SORT_MAX
 * parameters: forward without caching). The key is built in place, so
 * -ENOSPC comes when k->cap cannot hold the key or the work before dot
 * segments and ignored parameters are removed; scheme + host_len +
 * target_len + 64 bytes always suffice. On failure k->len is 0.
 */
int cache_key_build(struct cache_key *k, enum cache_scheme scheme,
                    const char *host, size_t host_len, const char *target,
                    size_t target_len, const struct cache_key_rules *rules);

/*
 * Same from an absolute URI url[0..len) ("https://Host:443/a/../b?x"), for
 * purge requests and Location / Content-Location invalidation (RFC 9111
 * §4.4). Scheme http or https in any case; userinfo is -EINVAL; a fragment
 * is ignored. Returns as cache_key_build.
 */
int cache_key_build_url(struct cache_key *k, const char *url, size_t len,
                        const struct cache_key_rules *rules);

/*
 * Writes the upstream request target of a request whose key k was built
 * from target[0..len) into out[0..cap): the key's path (so the origin is
 * asked for the very resource the key names: no dot segments, no escapes
 * of unreserved characters) and the received query with its escapes
 * normalized the same way but every parameter kept, in order (the site's
 * query rules shape only the key). "%2F" stays "%2F". The query is
 * validated by the build, so (k->query_off - k->path_off) + len + 2 bytes
 * always suffice. Returns the length, -EINVAL (k is not built, or target
 * is not the one it was built from) or -ENOSPC.
 */
int cache_key_target(const struct cache_key *k, char *out, size_t cap,
                     const char *target, size_t len);

/*
 * Normalizes an authority host[0..len) alone, as it appears in keys
 * ("Example.COM.:80" -> "example.com" for http), into out[0..cap).
 * Returns the length, -EINVAL or -ENOSPC.
 */
int cache_key_host_norm(char *out, size_t cap, enum cache_scheme scheme,
                        const char *host, size_t len);

/* cache_vary_names_build flag: leave Accept-Encoding out of the names, as
 * the compression layer negotiates it to a stored encoding instead. Off,
 * it is a dimension like any other (correct, fewer hits). */
#define CACHE_VARY_NO_ACCEPT_ENCODING 0x1u
/* More distinct Vary names than this: handled as "*". */
#define CACHE_VARY_NAMES_MAX 16
/* A secondary key buffer of this size fits all but absurd requests. */
#define CACHE_VARY_KEY_MAX 8192

/*
 * Writes the canonical Vary names of a response with fields f[0..n) into
 * out[0..cap): every Vary field's members, lowercased, deduplicated, sorted
 * bytewise, joined by "," without spaces ("accept-language,origin"). When a
 * member is "*", is not a field-name token, or there are more than
 * CACHE_VARY_NAMES_MAX names, the result is exactly "*": the response
 * never matches a later request (RFC 9111 §4.1). flags: CACHE_VARY_*.
 * Returns the length (0: no Vary, store vary_names NULL) or -ENOSPC.
 */
int cache_vary_names_build(char *out, size_t cap, const struct h1_field *f,
                           uint32_t n, unsigned flags);

/* True when names[0..len) is "*": no request matches. */
bool cache_vary_names_is_star(const char *names, size_t len);

/*
 * Writes the secondary key of a request with fields f[0..n) for the
 * canonical names[0..names_len) into out[0..cap): per name, in order,
 * "name=value\n" with the values of every field of that name joined by
 * ", ", or "name\n" when the request has none (missing differs from
 * empty). Values are normalized: OWS trimmed, whitespace runs one space
 * (outside quoted-strings), CR/LF/NUL read as SP (RFC 9110 §5.5); for
 * known list fields (accept, accept-charset, accept-encoding,
 * accept-language) empty members dropped, ", " between members, no OWS
 * around ";", and tokens lowercased. Empty names give an empty key.
 * Returns the length, -EINVAL when names is not canonical (or is "*"), or
 * -ENOSPC (the caller does not store this variant).
 */
int cache_vary_key_build(char *out, size_t cap, const char *names,
                         size_t names_len, const struct h1_field *f,
                         uint32_t n);

#endif
