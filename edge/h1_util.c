/*
 * HTTP/1 helpers shared by the scanner and the parsers: the character class
 * table, case-insensitive comparisons, field lookup, list tokens, Host
 * checks, the HTTP-version and the reason phrases. Nothing here allocates.
 */
#include "config.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "edge/h1_int.h"

#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_HEX(c)                                                          \
    (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define IS_TCHAR(c)                                                        \
    (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '!' || (c) == '#' ||           \
     (c) == '$' || (c) == '%' || (c) == '&' || (c) == '\'' ||            \
     (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' || \
     (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define IS_VCHAR(c) ((c) >= 0x21 && (c) <= 0x7e)
#define IS_TEXT(c) (IS_VCHAR(c) || (c) == ' ' || (c) >= 0x80)
#define IS_SUBDELIM(c)                                                     \
    ((c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || \
     (c) == ')' || (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' ||  \
     (c) == '=')
#define IS_HOST(c)                                                         \
    (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '-' || (c) == '.' ||            \
     (c) == '_' || (c) == '~' || IS_SUBDELIM(c))
#define IS_QDTEXT(c)                                                       \
    ((c) == '\t' || (c) == ' ' || (c) == 0x21 ||                          \
     ((c) >= 0x23 && (c) <= 0x5b) || ((c) >= 0x5d && (c) <= 0x7e) ||     \
     (c) >= 0x80)
#define IS_OWS(c) ((c) == ' ' || (c) == '\t')

#define CC(c)                                                              \
    ((IS_TCHAR(c) ? H1_CC_TCHAR : 0) | (IS_TEXT(c) ? H1_CC_TEXT : 0) |     \
     (IS_VCHAR(c) ? H1_CC_TARGET : 0) | (IS_HOST(c) ? H1_CC_HOST : 0) |    \
     (IS_QDTEXT(c) ? H1_CC_QDTEXT : 0) | (IS_HEX(c) ? H1_CC_HEX : 0) |     \
     (IS_DIGIT(c) ? H1_CC_DIGIT : 0) | (IS_OWS(c) ? H1_CC_OWS : 0))
#define R4(n) CC(n), CC((n) + 1), CC((n) + 2), CC((n) + 3)
#define R16(n) R4(n), R4((n) + 4), R4((n) + 8), R4((n) + 12)
#define R64(n) R16(n), R16((n) + 16), R16((n) + 32), R16((n) + 48)

const uint8_t h1_cc[256] = { R64(0), R64(64), R64(128), R64(192) };

/*
 * The two scanners below skip runs of ordinary bytes 16 (SSE2, baseline on
 * x86-64) or 8 (SWAR) at a time; the byte loop finishes with the table.
 * SWAR tests are exact: a borrow only starts at a matching byte.
 */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

#ifdef __SSE2__
/* Bit i set when byte i is <= lo or == eq or (when ge) >= 0x80. */
static inline unsigned
stops16(const char *p, char lo, char eq, bool ge)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(lo)), x);

    m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8(eq)));
    if (ge)
        m = _mm_or_si128(m, x); /* high bit of each byte >= 0x80 */
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/*
 * Skips bytes with no stop: a byte below lo, DEL, or (with no_high) a byte
 * >= 0x80. Vector or word loops find the first stop; class finishes the
 * tail byte by byte. Inlined with constants, so each caller gets its own
 * straight-line loop.
 */
static inline const char *
skip_until_stop(const char *p, const char *end, unsigned char lo, bool no_high,
                unsigned class)
{
#ifdef __SSE2__
    for (; end - p >= 16; p += 16) {
        unsigned bits = stops16(p, (char)(lo - 1), 0x7f, no_high);

        if (bits != 0)
            return p + __builtin_ctz(bits);
    }
#else
    for (; end - p >= 8; p += 8) {
        uint64_t x, del;

        memcpy(&x, p, sizeof x);
        del = x ^ (0x7f * ONES);
        if ((((x - lo * ONES) & ~x) | (no_high ? x : 0) | ((del - ONES) & ~del)) & HIGHS)
            break;
    }
#endif
    while (p < end && h1_is(p, class))
        p++;
    return p;
}

/* Field values: HTAB, SP, VCHAR, obs-text (control bytes stop). */
const char *
h1_skip_text(const char *p, const char *end)
{
    return skip_until_stop(p, end, 0x20, false, H1_CC_TEXT);
}

/* Request targets: VCHAR only. */
const char *
h1_skip_vchar(const char *p, const char *end)
{
    return skip_until_stop(p, end, 0x21, true, H1_CC_TARGET);
}

bool
h1_ieq(const char *s, size_t n, const char *lc, size_t lc_len)
{
    if (n != lc_len)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (h1_lower((unsigned char)s[i]) != h1_lower((unsigned char)lc[i]))
            return false;
    }
    return true;
}

const struct h1_field *
h1_field_find(const struct h1_field *f, uint32_t n, const char *name)
{
    size_t len = strlen(name);

    for (uint32_t i = 0; i < n; i++) {
        if (h1_ieq(f[i].name, f[i].name_len, name, len))
            return &f[i];
    }
    return NULL;
}

bool
h1_list_has_token(const char *v, size_t len, const char *token)
{
    const char *p = v, *end = v + len;
    size_t tlen = strlen(token);

    while (p < end) {
        const char *e, *q;

        p = h1_skip_ows(p, end);
        for (e = p; e < end && *e != ','; e++)
            ;
        q = e;
        while (q > p && IS_OWS(q[-1]))
            q--;
        if (h1_ieq(p, (size_t)(q - p), token, tlen))
            return true;
        p = e + 1;
    }
    return false;
}

/* reg-name: unreserved, sub-delims, pct-encoded; returns NULL if empty. */
static const char *
reg_name(const char *p, const char *end)
{
    const char *start = p;

    while (p < end) {
        if (*p == '%') {
            if (end - p < 3 || !h1_is(p + 1, H1_CC_HEX) ||
                !h1_is(p + 2, H1_CC_HEX))
                return NULL;
            p += 3;
        } else if (h1_is(p, H1_CC_HOST)) {
            p++;
        } else {
            break;
        }
    }
    return p == start ? NULL : p;
}

/* IP-literal: "[" IPv6address / IPvFuture "]", checked for its alphabet. */
static const char *
ip_literal(const char *p, const char *end)
{
    const char *start = ++p;

    while (p < end && (h1_is(p, H1_CC_HOST) || *p == ':'))
        p++;
    if (p == start || p == end || *p != ']')
        return NULL;
    return p + 1;
}

static bool
port_valid(const char *p, const char *end)
{
    unsigned v = 0;

    if (p == end || end - p > 5)
        return false;
    for (; p < end; p++) {
        if (!h1_is(p, H1_CC_DIGIT))
            return false;
        v = v * 10 + (unsigned)(*p - '0');
    }
    return v <= 65535;
}

bool
h1_host_valid(const char *s, size_t n, bool need_port)
{
    const char *end = s + n, *p;

    if (n == 0)
        return false;
    p = (*s == '[') ? ip_literal(s, end) : reg_name(s, end);
    if (p == NULL)
        return false;
    if (p == end)
        return !need_port;
    if (*p != ':')
        return false;
    return port_valid(p + 1, end);
}

int
h1_version_parse(const char *p, const char *end)
{
    if (end - p < 8 || memcmp(p, "HTTP/", 5) != 0 ||
        !h1_is(p + 5, H1_CC_DIGIT) || p[6] != '.' || !h1_is(p + 7, H1_CC_DIGIT))
        return H1_ERR_BAD;
    if (p[5] == '1' && (p[7] == '0' || p[7] == '1'))
        return p[7] - '0';
    return H1_ERR_VERSION;
}

static const char *
reason_1xx_2xx(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    default: return NULL;
    }
}

static const char *
reason_3xx(int status)
{
    switch (status) {
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    default: return NULL;
    }
}

static const char *
reason_4xx(int status)
{
    static const char *const r4[] = {
        "Bad Request", "Unauthorized", "Payment Required", "Forbidden",
        "Not Found", "Method Not Allowed", "Not Acceptable",
        "Proxy Authentication Required", "Request Timeout", "Conflict",
        "Gone", "Length Required", "Precondition Failed",
        "Content Too Large", "URI Too Long", "Unsupported Media Type",
        "Range Not Satisfiable", "Expectation Failed",
    };

    if (status >= 400 && status < 400 + (int)(sizeof r4 / sizeof r4[0]))
        return r4[status - 400];
    switch (status) {
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    default: return NULL;
    }
}

static const char *
reason_5xx(int status)
{
    switch (status) {
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 511: return "Network Authentication Required";
    default: return NULL;
    }
}

const char *
h1_reason(int status)
{
    const char *r = NULL;

    if (status >= 100 && status < 300)
        r = reason_1xx_2xx(status);
    else if (status >= 300 && status < 400)
        r = reason_3xx(status);
    else if (status >= 400 && status < 500)
        r = reason_4xx(status);
    else if (status >= 500 && status < 600)
        r = reason_5xx(status);
    return r ? r : "Unknown";
}
