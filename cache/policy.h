/*
 * HTTP caching policy for a shared cache: RFC 9111 (caching), RFC 9110
 * (dates, validators, conditionals, ranges), RFC 5861 (stale-*), RFC 9213
 * (targeted fields), RFC 8246 (immutable). Pure logic: nothing here does
 * I/O, reads a clock, logs or allocates. Time comes in as wall-clock
 * milliseconds (now_ms); header fields come in as struct h1_field slices
 * (edge/h1.h), borrowed for the duration of the call unless said otherwise;
 * results go into caller-provided structs and buffers.
 *
 * Out of the box (CACHE_SITE_POLICY_RFC) the node is RFC-pure: it invents
 * no lifetime and serves nothing stale that the response does not allow.
 *
 * Typical flow (edge):
 *   request      cache_cc_parse_request(&rcc, fields, n, sp)
 *   miss         only-if-cached (rcc.flags & CACHE_CC_ONLY_IF_CACHED): 504
 *   hit          cache_serve_decide(&o->meta, &rcc, now_ms), then on a
 *                serve: Age = cache_meta_age_s(), Cache-Status ttl =
 *                cache_meta_ttl_s(), cache_cond_eval() (304/412) and
 *                cache_range_eval() (206/416) against cache_validators.
 *   revalidate   cache_validators_find(o->head) gives If-None-Match /
 *                If-Modified-Since values for the upstream request.
 *   upstream 304 cache_cond_304_matches(); cache_head_update() into a new
 *                block; cache_head_split(); cache_meta_refresh().
 *   upstream err cache_serve_stale_on_error() (error or 5xx).
 *   upstream 2xx cache_cc_parse_response(&cc, ...);
 *                cache_store_decide(&meta, &x, &rcc, &cc, sp) == OK:
 *                cache_head_build() then cache_obj_new().
 *   unsafe       cache_response_invalidates(method, status): purge URIs.
 */
#ifndef CACHE_POLICY_H
#define CACHE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/obj.h"
#include "edge/h1.h" /* types only: struct h1_field, enum h1_method */

/* delta-seconds that overflow are taken as 2^31 (RFC 9111 §1.2.2). */
#define CACHE_DELTA_MAX 2147483648LL
/* Default cap of heuristic freshness (10% of Date - Last-Modified). */
#define CACHE_HEURISTIC_CAP_MS (86400LL * 1000)

/* ---------------------------------------------------------------- site */

/*
 * Per-site overrides. Zero (CACHE_SITE_POLICY_RFC) is RFC-pure: no default
 * TTL, no clamps, heuristic capped at CACHE_HEURISTIC_CAP_MS, no grace,
 * Cache-Control and request directives honoured, Set-Cookie not stored,
 * no node-specific targeted field. Owned by the config snapshot; the
 * functions below only read it (NULL means CACHE_SITE_POLICY_RFC).
 */
struct cache_site_policy {
    int64_t default_ttl_ms;   /* lifetime when the response has no explicit
                                 one; used instead of the heuristic. 0 none */
    int64_t min_ttl_ms;       /* lower clamp of any lifetime; 0 none */
    int64_t max_ttl_ms;       /* upper clamp of any lifetime; 0 none */
    int64_t heuristic_cap_ms; /* 0: CACHE_HEURISTIC_CAP_MS; < 0: no heuristic */
    int64_t swr_grace_ms;     /* stale-while-revalidate when none given */
    int64_t sie_grace_ms;     /* stale-if-error when none given */
    const char *target_field; /* node-specific targeted field, e.g.
                                 "Strata-Cache-Control"; NULL none */
    bool ignore_cache_control; /* response Cache-Control and Expires ignored
                                  (targeted fields still apply) */
    bool ignore_request_cc;    /* request no-cache, no-store, max-age,
                                  min-fresh and Pragma ignored */
    bool store_set_cookie;     /* store Set-Cookie responses (the Set-Cookie
                                  field itself is never stored) */
};

#define CACHE_SITE_POLICY_RFC ((struct cache_site_policy){ 0 })

/* ---------------------------------------------------------- HTTP-date */

#define CACHE_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/*
 * Parses an HTTP-date (RFC 9110 §5.6.7) in exactly one of IMF-fixdate,
 * obsolete RFC 850 or asctime form, nothing else (no leading or trailing
 * bytes, case-sensitive names, valid calendar date). now_s resolves the
 * two-digit RFC 850 year (more than 50 years ahead means the past century).
 * Returns 0 and *t_s (seconds since the epoch), or -EINVAL.
 */
int cache_date_parse(const char *s, size_t len, int64_t now_s, int64_t *t_s);

/* Writes t_s as IMF-fixdate plus NUL into out; years clamp to 0..9999. */
void cache_date_format(int64_t t_s, char out[CACHE_DATE_LEN + 1]);

/* --------------------------------------------------------- directives */

/* struct cache_cc flags. */
#define CACHE_CC_NO_STORE 0x0001u
#define CACHE_CC_NO_CACHE 0x0002u /* unqualified: validate every use */
#define CACHE_CC_PRIVATE 0x0004u  /* unqualified: a shared cache never stores */
#define CACHE_CC_PUBLIC 0x0008u
#define CACHE_CC_MUST_REVALIDATE 0x0010u
#define CACHE_CC_PROXY_REVALIDATE 0x0020u
#define CACHE_CC_MUST_UNDERSTAND 0x0040u
#define CACHE_CC_NO_TRANSFORM 0x0080u
#define CACHE_CC_IMMUTABLE 0x0100u
#define CACHE_CC_ONLY_IF_CACHED 0x0200u /* request */
#define CACHE_CC_NAMES 0x0400u   /* qualified no-cache / private: names[] */
#define CACHE_CC_INVALID 0x0800u /* bad or conflicting freshness: stale */

/* Which field supplied the response directives (RFC 9213 target list). */
enum cache_cc_source {
    CACHE_CC_SRC_NONE,      /* none: heuristic or site default */
    CACHE_CC_SRC_CC,        /* Cache-Control */
    CACHE_CC_SRC_SURROGATE, /* Surrogate-Control */
    CACHE_CC_SRC_CDN,       /* CDN-Cache-Control */
    CACHE_CC_SRC_NODE,      /* the site's target_field */
};

#define CACHE_CC_MAX_NAMES 4

/*
 * Parsed directives of one message. Durations in seconds, -1 when absent;
 * max_stale_s is CACHE_DELTA_MAX for a bare max-stale. names[] are the
 * field-name lists of qualified no-cache="..." / private="..." (borrowed:
 * valid while the parsed fields are).
 */
struct cache_cc {
    uint32_t flags; /* CACHE_CC_* */
    enum cache_cc_source source;
    int64_t max_age_s;
    int64_t s_maxage_s;
    int64_t max_stale_s; /* request */
    int64_t min_fresh_s; /* request */
    int64_t swr_s;       /* stale-while-revalidate */
    int64_t sie_s;       /* stale-if-error (request or response) */
    uint32_t n_names;
    struct {
        const char *p;
        uint32_t len;
    } names[CACHE_CC_MAX_NAMES];
};

/*
 * Request directives from every Cache-Control line (Pragma: no-cache
 * counts as no-cache when there is no Cache-Control, RFC 9111 §5.4).
 * Invalid max-age means max-age=0; invalid max-stale or min-fresh is
 * ignored. With sp->ignore_request_cc only max-stale, only-if-cached and
 * stale-if-error are kept (they never cost the origin anything).
 */
void cache_cc_parse_request(struct cache_cc *cc, const struct h1_field *f,
                            uint32_t n, const struct cache_site_policy *sp);

/*
 * Response directives from the first field present, valid and non-empty
 * in the order: sp->target_field > CDN-Cache-Control (RFC 9213, parsed as
 * Structured Field Dictionaries; a field that does not parse is skipped) >
 * Surrogate-Control (used only when it has max-age, no-store or
 * no-store-remote; "max-age=N+M" means N) > Cache-Control (unless
 * sp->ignore_cache_control). A targeted source makes Cache-Control and
 * Expires ignored. Repeated lines are combined; quoted arguments are
 * accepted (RFC 9111 §5.2) but must hold digits only; a bad, negative,
 * fractional or conflicting max-age / s-maxage sets CACHE_CC_INVALID and
 * 0 (stale, §4.2.1); a bad stale-* window is ignored; overflow is 2^31;
 * unknown directives are ignored. More qualified lists than
 * CACHE_CC_MAX_NAMES degrade to the unqualified directive.
 */
void cache_cc_parse_response(struct cache_cc *cc, const struct h1_field *f,
                             uint32_t n, const struct cache_site_policy *sp);

/* True when name is on the target list (to strip before clients). */
bool cache_cc_is_targeted(const char *name, size_t len,
                          const struct cache_site_policy *sp);

/* True when a qualified no-cache / private list names this field. */
bool cache_cc_names_field(const struct cache_cc *cc, const char *name,
                          size_t len);

/* ----------------------------------------------- storing and freshness */

/* One upstream exchange as the policy sees it; every pointer borrowed. */
struct cache_exchange {
    enum h1_method method; /* of the client request */
    const struct h1_field *req_fields;
    uint32_t n_req_fields;
    int status;
    const struct h1_field *resp_fields;
    uint32_t n_resp_fields;
    int64_t request_ms;  /* wall clock: request sent upstream */
    int64_t response_ms; /* wall clock: response head received */
};

enum cache_store {
    CACHE_STORE_OK = 0,
    CACHE_STORE_METHOD,        /* not GET (HEAD responses are not stored) */
    CACHE_STORE_STATUS,        /* 1xx, 206, 304, not understood, or not
                                  cacheable by default and no explicit
                                  freshness (max-age, s-maxage, Expires,
                                  public) */
    CACHE_STORE_NO_STORE,      /* request or response no-store */
    CACHE_STORE_PRIVATE,       /* unqualified private */
    CACHE_STORE_AUTHORIZATION, /* Authorization without public, s-maxage
                                  or must-revalidate (§3.5) */
    CACHE_STORE_SET_COOKIE,    /* Set-Cookie and no site rule */
    CACHE_STORE_VARY_STAR,     /* Vary: * would never match: not stored */
    CACHE_STORE_USELESS,       /* no lifetime, no validator, no stale
                                  window: nothing could ever reuse it */
};

/*
 * Decides whether the response may be stored (RFC 9111 §3) and fills *m
 * in every case (status, times, Date, Age, lifetime after site rules,
 * windows, Last-Modified, flags). rcc is the request's parse (NULL: none),
 * cc the response's. A response with a validator but no lifetime is
 * stored (it is revalidated on each use). Returns CACHE_STORE_OK or the
 * first reason not to store.
 */
enum cache_store cache_store_decide(struct cache_meta *m,
                                    const struct cache_exchange *x,
                                    const struct cache_cc *rcc,
                                    const struct cache_cc *cc,
                                    const struct cache_site_policy *sp);

/* Short stable name of a verdict ("ok", "no-store", ...), for logs. */
const char *cache_store_reason(enum cache_store v);

/*
 * RFC 9111 §4.4: a non-error (2xx, 3xx) response to an unsafe or unknown
 * method invalidates the target URI, and the Location / Content-Location
 * URIs when they have the same host (the caller resolves those).
 */
bool cache_response_invalidates(enum h1_method method, int status);

/* True for the statuses heuristically cacheable (RFC 9110 §15.1). */
bool cache_status_cacheable(int status);

/*
 * After a 304 (see cache_head_update): recomputes *m from the updated
 * stored fields (Date, Expires, directives now in the header block) and
 * the 304's own Age, with the new exchange times. m->status is kept.
 */
void cache_meta_refresh(struct cache_meta *m, const struct h1_field *stored,
                        uint32_t n_stored, const struct h1_field *f304,
                        uint32_t n304, const struct cache_site_policy *sp,
                        int64_t request_ms, int64_t response_ms);

/*
 * current_age (RFC 9111 §4.2.3) in ms: max(apparent_age, Age + response
 * delay) + resident time. Date and Age have 1 s resolution, so
 * apparent_age compares whole seconds. Needs request_ms <= response_ms.
 */
int64_t cache_meta_age_ms(const struct cache_meta *m, int64_t now_ms);

/* ------------------------------------------------------------ serving */

/* Age field value: current age in whole seconds, at most 2^31. */
int64_t cache_meta_age_s(const struct cache_meta *m, int64_t now_ms);
/* Remaining freshness in seconds for Cache-Status ttl=: >= 0 while fresh,
 * <= -1 once stale. */
int64_t cache_meta_ttl_s(const struct cache_meta *m, int64_t now_ms);
/* age < lifetime */
bool cache_meta_is_fresh(const struct cache_meta *m, int64_t now_ms);

enum cache_serve {
    CACHE_SERVE_FRESH,            /* serve */
    CACHE_SERVE_STALE_REVALIDATE, /* serve stale, revalidate in background */
    CACHE_SERVE_STALE_OK,         /* serve stale: request max-stale allows */
    CACHE_SERVE_MUST_VALIDATE,    /* conditional request upstream first */
    CACHE_SERVE_GATEWAY_TIMEOUT,  /* only-if-cached and not servable: 504 */
};

/*
 * What to do with a stored response for a request (RFC 9111 §4, §5.2.1,
 * RFC 5861). Request no-cache, a no-cache response, request max-age /
 * min-fresh not met, or staleness beyond every allowed window: validate.
 * must-revalidate / proxy-revalidate forbid any stale serving.
 */
enum cache_serve cache_serve_decide(const struct cache_meta *m,
                                    const struct cache_cc *rcc, int64_t now_ms);

/*
 * True when the stored response is fresh and needs no validation of its
 * own, but the request's directives (no-cache, Pragma: no-cache, max-age,
 * min-fresh) forbid serving it: Cache-Status fwd=request (RFC 9211 §2.2),
 * not fwd=stale. rcc may be NULL (false).
 */
bool cache_serve_request_forbids(const struct cache_meta *m,
                                 const struct cache_cc *rcc, int64_t now_ms);

/*
 * May the stored response be served now because the upstream failed
 * (connect error, timeout, 5xx)? True while fresh or within the response's
 * stale-if-error window (or site grace), else within the request's
 * stale-if-error or max-stale. A no-cache response only within its own
 * stale-if-error, an s-maxage one only within its own windows; never with
 * must-revalidate / proxy-revalidate (answer 504 then). rcc may be NULL.
 */
bool cache_serve_stale_on_error(const struct cache_meta *m,
                                const struct cache_cc *rcc, int64_t now_ms);

/* -------------------------------------------------------- conditionals */

/* The stored response's validators (borrowed from the object). */
struct cache_validators {
    const char *etag; /* ETag value as sent ("\"x\"", "W/\"x\""); NULL none */
    size_t etag_len;
    int64_t last_modified_s; /* -1 none */
    int64_t date_s;          /* meta.date_s */
};

enum cache_cond {
    CACHE_COND_PROCEED,             /* serve normally (200/206) */
    CACHE_COND_NOT_MODIFIED,        /* 304 */
    CACHE_COND_PRECONDITION_FAILED, /* 412 */
};

/*
 * Evaluates a client's preconditions against a stored response in the
 * order of RFC 9110 §13.2.2: If-Match (strong, "*"), else
 * If-Unmodified-Since → 412; If-None-Match (weak, lists, "*") → 304 for
 * GET/HEAD (412 otherwise); else If-Modified-Since (GET/HEAD only) → 304.
 * Dates must be single valid HTTP-dates; the stored Date stands in for a
 * missing Last-Modified (RFC 9111 §4.3.2). Malformed fields are ignored.
 * Call it only with a response the cache is about to serve.
 */
enum cache_cond cache_cond_eval(enum h1_method method, const struct h1_field *f,
                                uint32_t n, const struct cache_validators *v,
                                int64_t now_ms);

/* RFC 9110 §13.2.1: whether preconditions apply to a stored response of
 * this status (2xx only; otherwise it is served as if there were none). */
bool cache_cond_applies(int status);

/*
 * Whether a stored field goes out with the node's own answer of status
 * from a stored response: a 304 leaves out representation metadata
 * (Content-* but Content-Location; RFC 9110 §15.4.5), a 412 or 416 keeps
 * only Date, ETag and Last-Modified (the representation's Cache-Control or
 * Content-Type would describe the error to downstream caches). Any other
 * status keeps every field.
 */
bool cache_field_answers(int status, const char *name, size_t len);

/* Values to send upstream when revalidating: slices into head; NULL none. */
struct cache_revalidation {
    const char *if_none_match; /* the stored ETag */
    size_t if_none_match_len;
    const char *if_modified_since; /* the stored Last-Modified, verbatim */
    size_t if_modified_since_len;
};

/* Finds the stored ETag and Last-Modified in a header block (§4.3.1). */
void cache_validators_find(struct cache_revalidation *rv, const char *head,
                           size_t head_len);

/*
 * Does a 304 answer for this stored response (RFC 9111 §4.3.4)? A strong
 * ETag must equal the stored one, a weak one must match weakly, else a
 * Last-Modified must equal the stored one; a 304 carrying no validator is
 * taken as the answer to the validators we sent. False: do not update,
 * fetch the full response instead.
 */
bool cache_cond_304_matches(const struct cache_validators *v,
                            const struct h1_field *f304, uint32_t n304,
                            int64_t now_ms);

/* ------------------------------------------------------- header blocks */

/* Bytes enough for cache_head_build / cache_head_update output. */
size_t cache_head_bound(size_t head_len, const struct h1_field *f, uint32_t n);

/*
 * Builds the stored header block ("Name: value\r\n" per field, no final
 * empty line) from a response's fields, leaving out: Connection and the
 * fields it names, the other hop-by-hop and proxy fields (§3.1), Age,
 * Set-Cookie, names listed by qualified no-cache / private in cc, and the
 * framing fields Content-Length and Transfer-Encoding (serving generates
 * framing from the body length, which also differs for 206 and HEAD).
 * Writes into out[0..cap): returns 0 and *len, or -ENOSPC.
 */
int cache_head_build(char *out, size_t cap, size_t *len,
                     const struct h1_field *f, uint32_t n,
                     const struct cache_cc *cc);

/*
 * The fields cache_head_build leaves out that still belong to the client
 * whose request fetched the response (RFC 9111 §5.2.2.4 and §5.2.2.7
 * forbid storing and reusing them, not forwarding them): Set-Cookie,
 * Set-Cookie2 and the fields a qualified private / no-cache names, unless
 * hop-by-hop or framing. Same block format and results as cache_head_build.
 */
int cache_head_leader(char *out, size_t cap, size_t *len,
                      const struct h1_field *f, uint32_t n,
                      const struct cache_cc *cc);

/*
 * RFC 9110 §6.6.1: appends "Date: <date_s>" to the block out[0..*len)
 * unless it has a Date. 0, or -ENOSPC (CACHE_DATE_LEN + 8 bytes needed).
 */
int cache_head_add_date(char *out, size_t cap, size_t *len, int64_t date_s);

/*
 * §3.2 update with a 304's fields: each 304 field replaces every stored
 * field of that name, except those cache_head_build leaves out and those
 * the stored body depends upon (Content-Encoding, Content-Range, Vary).
 * Output: the stored fields not replaced, in order, then the 304's.
 * Writes into out[0..cap) (not overlapping head): 0 and *len, or -ENOSPC.
 */
int cache_head_update(char *out, size_t cap, size_t *len, const char *head,
                      size_t head_len, const struct h1_field *f, uint32_t n);

/*
 * Splits a header block into fields (slices into head). Returns the field
 * count, or -ENOSPC when there are more than cap.
 */
int cache_head_split(const char *head, size_t head_len, struct h1_field *f,
                     uint32_t cap);

/* -------------------------------------------------------------- ranges */

#define CACHE_RANGE_MAX 16 /* more range-specs: Range ignored (200) */
#define CACHE_BOUNDARY_LEN 32

/* One satisfiable byte range, both ends inclusive. */
struct cache_range {
    uint64_t start;
    uint64_t end;
};

enum cache_range_result {
    CACHE_RANGE_NONE,          /* no usable Range: 200 with the whole body */
    CACHE_RANGE_PARTIAL,       /* 206: one range, or several (multipart) */
    CACHE_RANGE_UNSATISFIABLE, /* 416 (cache_range_content_range, r NULL) */
};

/*
 * Evaluates Range (RFC 9110 §14) and If-Range (§13.1.5) of a request
 * against a stored body of body_len bytes (CACHE_LEN_UNKNOWN: NONE).
 * Only GET; only "bytes"; invalid syntax or more than CACHE_RANGE_MAX
 * specs: NONE. Unsatisfiable specs are dropped; overlapping or adjacent
 * ranges are coalesced, keeping request order otherwise. If-Range must
 * match strongly (ETag) or equal a strong Last-Modified exactly.
 * Fills r[0..*n) for PARTIAL.
 */
enum cache_range_result cache_range_eval(struct cache_range r[CACHE_RANGE_MAX],
                                         unsigned *n, enum h1_method method,
                                         const struct h1_field *f, uint32_t nf,
                                         const struct cache_validators *v,
                                         uint64_t body_len, int64_t now_ms);

/* RFC 9110 §14.2: Range applies only where the response would otherwise
 * be a 200; any other stored status is served whole. */
bool cache_range_applies(int status);

/*
 * Writes the Content-Range value plus NUL: "bytes a-b/len", or for a 416
 * (r NULL) the unsatisfied form, "bytes *" then "/len" with no space.
 * Returns the length without the NUL, or -ENOSPC.
 */
int cache_range_content_range(char *out, size_t cap,
                              const struct cache_range *r, uint64_t body_len);

/* A multipart boundary of CACHE_BOUNDARY_LEN characters plus NUL derived
 * from seed (pass a random or per-response value). */
void cache_range_boundary(char out[CACHE_BOUNDARY_LEN + 1], uint64_t seed);

/*
 * multipart/byteranges framing: the head of one part ("\r\n--B\r\n",
 * Content-Type when ctype is not NULL, Content-Range, empty line) and the
 * closing delimiter ("\r\n--B--\r\n"). Return the length or -ENOSPC.
 */
int cache_range_part_head(char *out, size_t cap, const char *boundary,
                          const char *ctype, size_t ctype_len,
                          const struct cache_range *r, uint64_t body_len);
int cache_range_multipart_tail(char *out, size_t cap, const char *boundary);

/* Content-Length of the whole multipart body for these parts. */
uint64_t cache_range_multipart_len(const struct cache_range *r, unsigned n,
                                   const char *boundary, size_t ctype_len,
                                   bool has_ctype, uint64_t body_len);

#endif
