/*
 * Strict, incremental HTTP/1.1 message parsing (RFC 9112), without I/O.
 *
 * A head is found with h1_head_scan() as bytes arrive (linear over all
 * calls), then parsed whole with h1_request_parse() / h1_response_parse().
 * Parsed slices point into the caller's buffer and stay valid until the
 * caller drains or moves those bytes. Bodies framed with chunked coding are
 * walked with struct h1_chunked: framing bytes are parsed, payload bytes are
 * only counted, so the caller can move them without copying.
 *
 * Errors are negative HTTP status codes (-400, -414, -431, -501, -505, and
 * -502 for a bad response head); parsers never print.
 */
#ifndef EDGE_H1_H
#define EDGE_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum h1_method {
    H1_M_GET,
    H1_M_HEAD,
    H1_M_POST,
    H1_M_PUT,
    H1_M_DELETE,
    H1_M_PATCH,
    H1_M_OPTIONS,
    H1_M_TRACE,
    H1_M_CONNECT,
    H1_M_OTHER, /* any other valid token */
};

enum h1_body {
    H1_BODY_NONE,    /* no body follows the head */
    H1_BODY_LENGTH,  /* content_length bytes follow */
    H1_BODY_CHUNKED, /* chunked coding follows */
    H1_BODY_EOF,     /* response only: body runs until the connection closes */
};

enum h1_target_form {
    H1_FORM_ORIGIN,    /* /path?query */
    H1_FORM_ABSOLUTE,  /* http://authority/path?query */
    H1_FORM_AUTHORITY, /* host:port (CONNECT only) */
    H1_FORM_ASTERISK,  /* * (OPTIONS only) */
};

struct h1_limits {
    uint32_t request_line;   /* bytes, excluding CRLF; over it: -414 */
    uint32_t field_line;     /* bytes of one field line; over it: -431 */
    uint32_t header_section; /* bytes of the whole head; over it: -431 */
    uint32_t max_fields;     /* over it: -431 */
};

/* One field line; name and value are slices, value without OWS. */
struct h1_field {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
};

/* Incremental head scanner state; zero it before the first call. */
struct h1_scan {
    size_t pos;        /* bytes already examined */
    size_t line_start; /* offset of the current line */
    uint32_t lines;    /* complete lines seen */
};

struct h1_request {
    enum h1_method method;
    enum h1_target_form form;
    enum h1_body body;
    int version_minor; /* 0 or 1 (HTTP/1.0 or HTTP/1.1) */
    bool keep_alive;   /* per version and Connection */
    bool expect_continue;
    const char *method_str;
    uint32_t method_len;
    const char *target; /* the request-target as sent */
    uint32_t target_len;
    const char *path; /* origin-form path+query; for absolute-form the part
                         after the authority ("/" when empty: path_len 1
                         pointing at static "/") */
    uint32_t path_len;
    const char *host; /* authority of absolute-form, else Host field value;
                         NULL when absent (allowed only for HTTP/1.0) */
    uint32_t host_len;
    uint64_t content_length; /* valid when body == H1_BODY_LENGTH */
    struct h1_field *fields; /* caller-provided array */
    uint32_t fields_cap;     /* its size; set by caller */
    uint32_t n_fields;
};

struct h1_response {
    int status;
    int version_minor;
    bool keep_alive;
    enum h1_body body;
    uint64_t content_length;
    const char *reason;
    uint32_t reason_len;
    struct h1_field *fields; /* caller-provided array */
    uint32_t fields_cap;
    uint32_t n_fields;
};

/*
 * Looks for the end of a head (the empty line) in buf[0..len), where buf is
 * the same stream as the previous call plus newly appended bytes. Returns
 * the head length including the final CRLF CRLF when complete, 0 when more
 * bytes are needed, or a negative status as soon as a limit is exceeded or a
 * bare LF, bare CR or NUL makes the framing doubtful. For requests, the
 * first line is held to lim->request_line (-414); field lines to
 * lim->field_line, the whole head to lim->header_section (-431).
 * A request may be preceded by empty lines (CRLF), which are skipped.
 */
int h1_head_scan(struct h1_scan *s, const char *buf, size_t len,
                 const struct h1_limits *lim, bool is_request);

/*
 * Parses a complete request head buf[0..len) as returned by h1_head_scan.
 * Applies every RFC 9112 framing rule: Host required for 1.1 (exactly one),
 * Content-Length and Transfer-Encoding rules, no whitespace before colons,
 * no obs-fold, token checks, field value characters. Returns 0 or a negative
 * status; on error r is unspecified.
 */
int h1_request_parse(struct h1_request *r, const char *buf, size_t len,
                     const struct h1_limits *lim);

/*
 * Parses a complete response head. req_method decides bodiless responses
 * (HEAD, 2xx to CONNECT); 1xx, 204 and 304 have no body. Returns 0, or -502
 * for a head we must not trust.
 */
int h1_response_parse(struct h1_response *r, const char *buf, size_t len,
                      enum h1_method req_method, const struct h1_limits *lim);

/* Case-insensitive field lookup; returns the first match or NULL. */
const struct h1_field *h1_field_find(const struct h1_field *f, uint32_t n,
                                     const char *name);

/* True when the comma-separated value list contains token (any case). */
bool h1_list_has_token(const char *v, size_t len, const char *token);

/* Chunked body walker; zero it (or h1_chunked_init) before use. */
struct h1_chunked {
    int state;
    uint64_t data_left;  /* payload bytes that come next in the stream */
    uint32_t line_bytes; /* bytes in the current size/ext line */
    uint32_t trailer_bytes;
    uint32_t size_digits;
    uint64_t size;
    bool done;
};

void h1_chunked_init(struct h1_chunked *c);
/*
 * Parses framing bytes from in[0..len), stopping where payload starts
 * (c->data_left > 0) or at the end of the body (c->done). Returns the bytes
 * consumed (possibly 0 when it stopped at once) or -400 for a bad chunk size,
 * extension, line ending or oversized trailer section. Trailer fields are
 * checked and discarded.
 */
int h1_chunked_parse(struct h1_chunked *c, const char *in, size_t len);
/* Records that n (<= data_left) payload bytes were moved by the caller. */
void h1_chunked_skip_data(struct h1_chunked *c, uint64_t n);

/* Canonical reason phrase for a status code ("Unknown" if none). */
const char *h1_reason(int status);

#endif
