/*
 * HTTP helpers for the origin: HTTP-dates, entity-tag matching, media types
 * by extension and reason phrases. Pure functions; no I/O.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/assert.h"
#include "tools/origin/origin_int.h"

struct ext_type {
    const char *ext;
    const char *type;
    enum origin_flavour flav;
};

static const struct ext_type ext_types[] = {
    { "html", "text/html; charset=utf-8", ORIGIN_FLAV_HTML },
    { "htm", "text/html; charset=utf-8", ORIGIN_FLAV_HTML },
    { "css", "text/css; charset=utf-8", ORIGIN_FLAV_CSS },
    { "js", "text/javascript; charset=utf-8", ORIGIN_FLAV_JS },
    { "mjs", "text/javascript; charset=utf-8", ORIGIN_FLAV_JS },
    { "json", "application/json", ORIGIN_FLAV_JS },
    { "svg", "image/svg+xml", ORIGIN_FLAV_HTML },
    { "xml", "application/xml", ORIGIN_FLAV_HTML },
    { "txt", "text/plain; charset=utf-8", ORIGIN_FLAV_TEXT },
    { "md", "text/markdown; charset=utf-8", ORIGIN_FLAV_TEXT },
    { "csv", "text/csv; charset=utf-8", ORIGIN_FLAV_TEXT },
    { "png", "image/png", ORIGIN_FLAV_BINARY },
    { "jpg", "image/jpeg", ORIGIN_FLAV_BINARY },
    { "jpeg", "image/jpeg", ORIGIN_FLAV_BINARY },
    { "gif", "image/gif", ORIGIN_FLAV_BINARY },
    { "webp", "image/webp", ORIGIN_FLAV_BINARY },
    { "avif", "image/avif", ORIGIN_FLAV_BINARY },
    { "ico", "image/x-icon", ORIGIN_FLAV_BINARY },
    { "woff2", "font/woff2", ORIGIN_FLAV_BINARY },
    { "woff", "font/woff", ORIGIN_FLAV_BINARY },
    { "ttf", "font/ttf", ORIGIN_FLAV_BINARY },
    { "mp4", "video/mp4", ORIGIN_FLAV_BINARY },
    { "webm", "video/webm", ORIGIN_FLAV_BINARY },
    { "mp3", "audio/mpeg", ORIGIN_FLAV_BINARY },
    { "pdf", "application/pdf", ORIGIN_FLAV_BINARY },
    { "wasm", "application/wasm", ORIGIN_FLAV_BINARY },
    { "zip", "application/zip", ORIGIN_FLAV_BINARY },
    { "gz", "application/gzip", ORIGIN_FLAV_BINARY },
    { "bin", "application/octet-stream", ORIGIN_FLAV_BINARY },
};

struct reason {
    int status;
    const char *text;
};

static const struct reason reasons[] = {
    { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
    { 203, "Non-Authoritative Information" }, { 204, "No Content" },
    { 205, "Reset Content" }, { 206, "Partial Content" },
    { 300, "Multiple Choices" }, { 301, "Moved Permanently" },
    { 302, "Found" }, { 303, "See Other" }, { 304, "Not Modified" },
    { 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
    { 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
    { 404, "Not Found" }, { 405, "Method Not Allowed" },
    { 406, "Not Acceptable" }, { 408, "Request Timeout" },
    { 409, "Conflict" }, { 410, "Gone" }, { 411, "Length Required" },
    { 412, "Precondition Failed" }, { 413, "Content Too Large" },
    { 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
    { 416, "Range Not Satisfiable" }, { 418, "I'm a teapot" },
    { 429, "Too Many Requests" }, { 451, "Unavailable For Legal Reasons" },
    { 500, "Internal Server Error" }, { 501, "Not Implemented" },
    { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
    { 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
};

/* Formats t as an IMF-fixdate into buf (at least 30 bytes). */
void
origin_http_date(time_t t, char *buf, size_t n)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    /* The C locale is never changed, so %a and %b are English. */
    if (strftime(buf, n, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0 && n > 0)
        buf[0] = '\0';
}

/* Parses an HTTP-date (IMF-fixdate, RFC 850 or asctime form). */
int
origin_http_date_parse(const char *s, time_t *out)
{
    static const char *const fmts[] = {
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    };

    for (size_t i = 0; i < ARRAY_LEN(fmts); i++) {
        struct tm tm;
        const char *end;

        memset(&tm, 0, sizeof tm);
        end = strptime(s, fmts[i], &tm);
        if (end != NULL && end[strspn(end, " \t")] == '\0') {
            *out = timegm(&tm);
            return 0;
        }
    }
    return -EINVAL;
}

/* The opaque-tag of an entity-tag: between the quotes, W/ ignored. */
static const char *
opaque_tag(const char *e, size_t *len)
{
    const char *q;

    if (e[0] == 'W' && e[1] == '/')
        e += 2;
    if (*e != '"' || (q = strchr(e + 1, '"')) == NULL)
        return NULL;
    *len = (size_t)(q - e - 1);
    return e + 1;
}

/*
 * Whether an If-None-Match value matches our entity-tag (NULL when we send
 * none) with the weak comparison of RFC 9110 13.1.2. "*" always matches: a
 * generated resource always exists. A malformed list matches nothing.
 */
bool
origin_etag_match(const char *inm, const char *etag)
{
    size_t olen = 0;
    const char *o = etag != NULL ? opaque_tag(etag, &olen) : NULL;
    const char *p = inm;

    for (;;) {
        const char *t;
        size_t tlen;

        p += strspn(p, " \t,");
        if (*p == '\0')
            return false;
        if (*p == '*')
            return true;
        t = opaque_tag(p, &tlen);
        if (t == NULL)
            return false;
        if (o != NULL && tlen == olen && memcmp(t, o, olen) == 0)
            return true;
        p = t + tlen + 1;
    }
}

/*
 * Media type and body flavour for a path by its extension: text/html for no
 * extension, application/octet-stream for one we don't know.
 */
const char *
origin_media_type(const char *path, size_t path_len,
                  enum origin_flavour *flav)
{
    const char *slash = memrchr(path, '/', path_len);
    const char *seg = slash != NULL ? slash + 1 : path;
    size_t seg_len = path_len - (size_t)(seg - path);
    const char *dot = memrchr(seg, '.', seg_len);

    if (dot == NULL) {
        *flav = ORIGIN_FLAV_HTML;
        return "text/html; charset=utf-8";
    }
    for (size_t i = 0; i < ARRAY_LEN(ext_types); i++) {
        const struct ext_type *e = &ext_types[i];
        size_t n = seg_len - (size_t)(dot + 1 - seg);

        if (strlen(e->ext) == n && strncasecmp(dot + 1, e->ext, n) == 0) {
            *flav = e->flav;
            return e->type;
        }
    }
    *flav = ORIGIN_FLAV_BINARY;
    return "application/octet-stream";
}

/* Body flavour for a media type given with type=. */
enum origin_flavour
origin_flavour_of(const char *ctype)
{
    if (strcasestr(ctype, "html") || strcasestr(ctype, "xml"))
        return ORIGIN_FLAV_HTML;
    if (strcasestr(ctype, "css"))
        return ORIGIN_FLAV_CSS;
    if (strcasestr(ctype, "javascript") || strcasestr(ctype, "json"))
        return ORIGIN_FLAV_JS;
    if (strncasecmp(ctype, "text/", 5) == 0)
        return ORIGIN_FLAV_TEXT;
    return ORIGIN_FLAV_BINARY;
}

const char *
origin_reason(int status)
{
    for (size_t i = 0; i < ARRAY_LEN(reasons); i++)
        if (reasons[i].status == status)
            return reasons[i].text;
    return "Unknown";
}

bool
origin_status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}
