/*
 * Chunked transfer coding walker (RFC 9112 section 7.1), one byte of
 * framing at a time so that input may be split anywhere. Payload bytes are
 * never touched: the walker stops where they start (data_left > 0) and the
 * caller moves them, then reports them with h1_chunked_skip_data().
 *
 *   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size = 1*16HEXDIG
 *   chunk-ext  = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
 *   last-chunk = 1*"0" [ chunk-ext ] CRLF, then trailer fields, CRLF
 *
 * Each size line is bounded to CHUNK_LINE_MAX bytes, the trailer section
 * to TRAILER_MAX; trailer fields are checked like header fields and dropped.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "common/assert.h"
#include "edge/h1_int.h"

#define CHUNK_LINE_MAX 4096
#define TRAILER_MAX (32 * 1024)
#define SIZE_DIGITS_MAX 16

enum {
    CH_SIZE,        /* hex digits, then extensions or CR */
    CH_EXT_WS,      /* BWS seen after size or value: only BWS or ";" */
    CH_EXT_NAME0,   /* after ";": BWS or the name's first tchar */
    CH_EXT_NAME,    /* in the name */
    CH_EXT_NAME_WS, /* BWS after the name: "=" or ";" next */
    CH_EXT_VAL0,    /* after "=": BWS, token or quoted-string */
    CH_EXT_TOKEN,   /* in a token value */
    CH_EXT_QS,      /* in a quoted-string value */
    CH_EXT_QP,      /* after a backslash in a quoted-string */
    CH_EXT_END,     /* after a quoted-string: BWS, ";" or CR */
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER, /* start of a trailer line: CR or a field name */
    CH_TNAME,
    CH_TVALUE,
    CH_TLF,
    CH_END_LF,
};

#define IS_OWS(ch) ((ch) == ' ' || (ch) == '\t')
#define IS(ch, cls) ((h1_cc[(ch)] & (cls)) != 0)

static int
hexval(unsigned char ch)
{
    return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}

/* After a complete size, name or value: ";", CR or BWS are allowed. */
static int
ext_next(struct h1_chunked *c, unsigned char ch)
{
    if (ch == ';')
        c->state = CH_EXT_NAME0;
    else if (ch == '\r')
        c->state = CH_SIZE_LF;
    else if (IS_OWS(ch))
        c->state = CH_EXT_WS;
    else
        return H1_ERR_BAD;
    return 0;
}

static int
size_digit(struct h1_chunked *c, unsigned char ch)
{
    if (IS(ch, H1_CC_HEX)) {
        if (++c->size_digits > SIZE_DIGITS_MAX)
            return H1_ERR_BAD;
        c->size = (c->size << 4) | (uint64_t)hexval(ch);
        return 0;
    }
    if (c->size_digits == 0)
        return H1_ERR_BAD;
    return ext_next(c, ch);
}

/* chunk-ext states; the size line ends with CR, then CH_SIZE_LF. */
static int
ext_step(struct h1_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case CH_EXT_WS:
        if (ch == ';')
            c->state = CH_EXT_NAME0;
        return (ch == ';' || IS_OWS(ch)) ? 0 : H1_ERR_BAD;
    case CH_EXT_NAME0:
        if (IS(ch, H1_CC_TCHAR))
            c->state = CH_EXT_NAME;
        return (IS(ch, H1_CC_TCHAR) || IS_OWS(ch)) ? 0 : H1_ERR_BAD;
    case CH_EXT_NAME:
        if (IS(ch, H1_CC_TCHAR))
            return 0;
        if (ch == '=') {
            c->state = CH_EXT_VAL0;
            return 0;
        }
        if (ext_next(c, ch) != 0)
            return H1_ERR_BAD;
        if (c->state == CH_EXT_WS)
            c->state = CH_EXT_NAME_WS; /* BWS then "=" is still possible */
        return 0;
    case CH_EXT_NAME_WS:
        if (ch == '=')
            c->state = CH_EXT_VAL0;
        else if (ch == ';')
            c->state = CH_EXT_NAME0;
        return (ch == '=' || ch == ';' || IS_OWS(ch)) ? 0 : H1_ERR_BAD;
    default:
        return H1_ERR_BAD;
    }
}

static int
ext_value_step(struct h1_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case CH_EXT_VAL0:
        if (ch == '"')
            c->state = CH_EXT_QS;
        else if (IS(ch, H1_CC_TCHAR))
            c->state = CH_EXT_TOKEN;
        return (ch == '"' || IS(ch, H1_CC_TCHAR) || IS_OWS(ch)) ? 0
                                                                : H1_ERR_BAD;
    case CH_EXT_TOKEN:
        return IS(ch, H1_CC_TCHAR) ? 0 : ext_next(c, ch);
    case CH_EXT_QS:
        if (ch == '"')
            c->state = CH_EXT_END;
        else if (ch == '\\')
            c->state = CH_EXT_QP;
        return (ch == '"' || ch == '\\' || IS(ch, H1_CC_QDTEXT)) ? 0
                                                                 : H1_ERR_BAD;
    case CH_EXT_QP:
        c->state = CH_EXT_QS;
        return (IS(ch, H1_CC_TEXT) || ch == '\t') ? 0 : H1_ERR_BAD;
    case CH_EXT_END:
        return ext_next(c, ch);
    default:
        return H1_ERR_BAD;
    }
}

/* The LF ending a size line: a data chunk or the trailer section follows. */
static int
size_lf(struct h1_chunked *c, unsigned char ch)
{
    if (ch != '\n')
        return H1_ERR_BAD;
    if (c->size == 0) {
        c->state = CH_TRAILER;
    } else {
        c->data_left = c->size;
        c->state = CH_DATA;
    }
    return 0;
}

static int
size_line_step(struct h1_chunked *c, unsigned char ch)
{
    if (++c->line_bytes > CHUNK_LINE_MAX)
        return H1_ERR_BAD;
    switch (c->state) {
    case CH_SIZE:
        return size_digit(c, ch);
    case CH_SIZE_LF:
        return size_lf(c, ch);
    case CH_EXT_VAL0:
    case CH_EXT_TOKEN:
    case CH_EXT_QS:
    case CH_EXT_QP:
    case CH_EXT_END:
        return ext_value_step(c, ch);
    default:
        return ext_step(c, ch);
    }
}

/* trailer-section = *( field-line CRLF ) CRLF; the fields are dropped. */
static int
trailer_step(struct h1_chunked *c, unsigned char ch)
{
    if (++c->trailer_bytes > TRAILER_MAX)
        return H1_ERR_BAD;
    switch (c->state) {
    case CH_TRAILER:
        if (ch == '\r')
            c->state = CH_END_LF;
        else if (IS(ch, H1_CC_TCHAR))
            c->state = CH_TNAME;
        else
            return H1_ERR_BAD; /* obs-fold, empty name, CTL */
        return 0;
    case CH_TNAME:
        if (ch == ':')
            c->state = CH_TVALUE;
        return (ch == ':' || IS(ch, H1_CC_TCHAR)) ? 0 : H1_ERR_BAD;
    case CH_TVALUE:
        if (ch == '\r')
            c->state = CH_TLF;
        return (ch == '\r' || ch == '\t' || IS(ch, H1_CC_TEXT)) ? 0
                                                                : H1_ERR_BAD;
    case CH_TLF:
        c->state = CH_TRAILER;
        return ch == '\n' ? 0 : H1_ERR_BAD;
    case CH_END_LF:
        c->done = true;
        return ch == '\n' ? 0 : H1_ERR_BAD;
    default:
        return H1_ERR_BAD;
    }
}

/* The CRLF after chunk-data; then the next size line starts afresh. */
static int
data_end_step(struct h1_chunked *c, unsigned char ch)
{
    if (c->state == CH_DATA_CR) {
        c->state = CH_DATA_LF;
        return ch == '\r' ? 0 : H1_ERR_BAD;
    }
    if (ch != '\n')
        return H1_ERR_BAD;
    c->state = CH_SIZE;
    c->size = 0;
    c->size_digits = 0;
    c->line_bytes = 0;
    return 0;
}

void
h1_chunked_init(struct h1_chunked *c)
{
    memset(c, 0, sizeof *c);
    c->state = CH_SIZE;
}

int
h1_chunked_parse(struct h1_chunked *c, const char *in, size_t len)
{
    size_t i;

    ASSERT(c != NULL && (in != NULL || len == 0));
    if (len > INT_MAX)
        len = INT_MAX;
    for (i = 0; i < len && !c->done; i++) {
        unsigned char ch = (unsigned char)in[i];
        int rc;

        if (c->state == CH_DATA) {
            if (c->data_left > 0)
                break;
            c->state = CH_DATA_CR;
        }
        if (c->state >= CH_TRAILER)
            rc = trailer_step(c, ch);
        else if (c->state >= CH_DATA_CR)
            rc = data_end_step(c, ch);
        else
            rc = size_line_step(c, ch);
        if (rc != 0)
            return rc;
    }
    return (int)i;
}

void
h1_chunked_skip_data(struct h1_chunked *c, uint64_t n)
{
    ASSERT(c != NULL && n <= c->data_left);
    c->data_left -= n;
}
