/*
 * Private declarations shared by the HTTP/1 parser files (h1_*.c):
 * character classes, the field-line walker and the framing facts
 * (Host, Content-Length, Transfer-Encoding, Connection, Expect) that the
 * request and response parsers turn into a body kind.
 *
 * Internal helpers return 0 or a negative request status (-400, -431, -501);
 * h1_response_parse() maps every failure to -502.
 */
#ifndef EDGE_H1_INT_H
#define EDGE_H1_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edge/h1.h"

enum {
    H1_ERR_BAD = -400,
    H1_ERR_URI_LONG = -414,
    H1_ERR_FIELDS_LARGE = -431,
    H1_ERR_CODING = -501,
    H1_ERR_UPSTREAM = -502,
    H1_ERR_VERSION = -505,
};

/* Character class bits of h1_cc[]. */
#define H1_CC_TCHAR 0x01  /* token (RFC 9110 5.6.2) */
#define H1_CC_TEXT 0x02   /* field-value: VCHAR, obs-text, SP (not HTAB) */
#define H1_CC_TARGET 0x04 /* request-target: VCHAR */
#define H1_CC_HOST 0x08   /* reg-name: unreserved, sub-delims */
#define H1_CC_QDTEXT 0x10 /* quoted-string text without '"' and '\' */
#define H1_CC_HEX 0x20
#define H1_CC_DIGIT 0x40
#define H1_CC_OWS 0x80 /* SP, HTAB */

extern const uint8_t h1_cc[256];

static inline bool
h1_is(const char *p, unsigned cls)
{
    return (h1_cc[(unsigned char)*p] & cls) != 0;
}

static inline unsigned char
h1_lower(unsigned char c)
{
    return (unsigned char)(c + ((unsigned)(c - 'A') < 26u ? 32u : 0u));
}

/* True when s[0..n) equals lower-case lc (same length), ignoring case. */
bool h1_ieq(const char *s, size_t n, const char *lc, size_t lc_len);

/* First byte of [p, end) that is a CTL (HTAB included) or DEL, else end. */
const char *h1_skip_text(const char *p, const char *end);
/* First byte of [p, end) that is not VCHAR (0x21-0x7e), else end. */
const char *h1_skip_vchar(const char *p, const char *end);

/* Skips SP/HTAB. */
static inline const char *
h1_skip_ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Framing facts gathered from the header fields of one message. */
struct h1_heads {
    const char *host;
    uint32_t host_len;
    uint32_t n_host;
    uint64_t content_length;
    bool has_cl;
    bool has_te;
    bool te_last_chunked; /* the final coding seen so far is chunked */
    bool te_other;        /* a coding other than chunked was seen */
    uint32_t te_chunked;  /* times chunked was listed */
    bool conn_close;
    bool conn_keep_alive;
    bool expect_continue;
};

/*
 * Parses field lines from *pp up to and including the empty line ending
 * the head, storing up to min(cap, lim->max_fields) fields in arr and the
 * framing facts in h. *pp is left after the final CRLF. Returns 0, -400
 * (syntax, conflicting Content-Length) or -431 (too many or too long).
 */
int h1_fields_parse(const char **pp, const char *end, struct h1_field *arr,
                    uint32_t cap, uint32_t *n, const struct h1_limits *lim,
                    struct h1_heads *h);

/*
 * Checks a Host value or an authority: uri-host [ ":" port ] with a
 * non-empty host and, when present, a port of 1-5 digits up to 65535.
 * need_port makes the port mandatory (CONNECT's authority-form).
 */
bool h1_host_valid(const char *s, size_t n, bool need_port);

/* "HTTP/1.0" or "HTTP/1.1" at p (8 bytes): 0 or 1; -505 for another
 * HTTP-version, -400 for anything else. */
int h1_version_parse(const char *p, const char *end);

#endif
