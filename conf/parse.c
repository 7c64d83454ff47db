/*
 * Value syntaxes of the config: integers, sizes, durations, listen/origin
 * addresses, host patterns, tokens, HTTP field names and query parameter
 * names. Pure functions: they never print and never resolve names. On
 * failure *why (when asked for) says what is wrong.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "conf/conf_int.h"

#define HOST_MAX 253
#define LABEL_MAX 63

struct unit {
    const char *name;
    uint64_t mult;
};

/* Case-insensitive; every size unit is a power of 1024. */
static const struct unit size_units[] = {
    { "", 1 },          { "b", 1 },
    { "k", 1ull << 10 }, { "kb", 1ull << 10 }, { "kib", 1ull << 10 },
    { "m", 1ull << 20 }, { "mb", 1ull << 20 }, { "mib", 1ull << 20 },
    { "g", 1ull << 30 }, { "gb", 1ull << 30 }, { "gib", 1ull << 30 },
    { "t", 1ull << 40 }, { "tb", 1ull << 40 }, { "tib", 1ull << 40 },
};

/* Case-sensitive, in milliseconds. */
static const struct unit time_units[] = {
    { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
    { "d", 86400000 },
};

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static const char *
skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Reads one or more digits at *sp; -EINVAL if none, -ERANGE on overflow. */
static int
scan_uint(const char **sp, uint64_t *out)
{
    const char *s = *sp;
    uint64_t v = 0;

    if (!is_digit(*s))
        return -EINVAL;
    for (; is_digit(*s); s++) {
        unsigned d = (unsigned)(*s - '0');

        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *sp = s;
    *out = v;
    return 0;
}

static int
mul_check(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b != 0 && a > UINT64_MAX / b)
        return -ERANGE;
    *out = a * b;
    return 0;
}

int
conf_uint_parse(const char *s, uint64_t *out)
{
    int rc = scan_uint(&s, out);

    if (rc == 0 && *s != '\0')
        rc = -EINVAL;
    return rc;
}

int
conf_size_parse(const char *s, uint64_t *out, const char **why)
{
    uint64_t n;
    int rc = scan_uint(&s, &n);

    *why = rc == -ERANGE ? "too large" : "expected a number of bytes";
    if (rc < 0)
        return rc;
    s = skip_blank(s);
    for (size_t i = 0; i < ARRAY_LEN(size_units); i++) {
        if (strcasecmp(s, size_units[i].name) != 0)
            continue;
        *why = "too large";
        return mul_check(n, size_units[i].mult, out);
    }
    *why = "unknown unit (use B, KiB, MiB, GiB or TiB)";
    return -EINVAL;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
    const char *why;

    ASSERT(s != NULL && out != NULL);
    return conf_size_parse(s, out, &why);
}

/* Matches the unit spelled at s[0..len) against time_units. */
static const struct unit *
time_unit(const char *s, size_t len)
{
    for (size_t i = 0; i < ARRAY_LEN(time_units); i++) {
        if (strlen(time_units[i].name) == len &&
            memcmp(s, time_units[i].name, len) == 0)
            return &time_units[i];
    }
    return NULL;
}

/* "90", "250ms", "1h30m", "1d": a bare number is seconds; parts add up. */
int
conf_duration_parse(const char *s, uint64_t *out_ms, const char **why)
{
    uint64_t total = 0, n = 0, part;
    bool bare_ok = true;

    *why = "too large";
    do {
        const char *u;
        const struct unit *unit;
        int rc = scan_uint(&s, &n);

        if (rc == -ERANGE)
            return rc;
        u = s = skip_blank(s);
        while (is_alpha(*s))
            s++;
        unit = time_unit(u, (size_t)(s - u));
        if (rc < 0 || (unit == NULL && !(u == s && bare_ok && *s == '\0'))) {
            *why = "expected a number with a unit (ms, s, m, h, d)";
            return -EINVAL;
        }
        if (mul_check(n, unit ? unit->mult : 1000, &part) < 0 ||
            part > UINT64_MAX - total)
            return -ERANGE;
        total += part;
        bare_ok = false;
        s = skip_blank(s);
    } while (*s != '\0');
    *out_ms = total;
    return 0;
}

int
conf_parse_duration(const char *s, uint64_t *out_ms)
{
    const char *why;

    ASSERT(s != NULL && out_ms != NULL);
    return conf_duration_parse(s, out_ms, &why);
}

static int
port_parse(const char *s, uint16_t *port, const char **why)
{
    uint64_t v;

    *why = "port must be a number in 1..65535";
    if (strlen(s) > 5 || conf_uint_parse(s, &v) < 0 || v < 1 || v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

static int
addr_set6(const char *host, size_t hlen, uint16_t port, struct conf_addr *out,
          const char **why)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
    char buf[INET6_ADDRSTRLEN];

    *why = "not an IPv6 address";
    if (hlen >= sizeof buf)
        return -EINVAL;
    memcpy(buf, host, hlen);
    buf[hlen] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
        return -EINVAL;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    out->len = sizeof *sin6;
    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
    snprintf(out->text, sizeof out->text, "[%s]:%u", buf, port);
    return 0;
}

static int
addr_set4(const char *host, size_t hlen, uint16_t port, struct conf_addr *out,
          const char **why)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
    char buf[INET_ADDRSTRLEN];

    *why = "host must be an IP address or localhost (names are not resolved)";
    if (hlen == 9 && strncasecmp(host, "localhost", 9) == 0) {
        host = "127.0.0.1";
        hlen = 9;
    }
    if (hlen >= sizeof buf)
        return -EINVAL;
    memcpy(buf, host, hlen);
    buf[hlen] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
        return -EINVAL;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    out->len = sizeof *sin;
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    snprintf(out->text, sizeof out->text, "%s:%u", buf, port);
    return 0;
}

int
conf_addr_parse(const char *s, struct conf_addr *out, const char **why)
{
    const char *colon, *end;
    uint16_t port;

    if (s[0] == '[') {
        end = strchr(s, ']');
        *why = "missing ']' after the IPv6 address";
        if (end == NULL)
            return -EINVAL;
        *why = "missing ':port' after ']'";
        if (end[1] != ':')
            return -EINVAL;
        if (port_parse(end + 2, &port, why) < 0)
            return -EINVAL;
        return addr_set6(s + 1, (size_t)(end - s - 1), port, out, why);
    }
    colon = strrchr(s, ':');
    *why = "missing ':port'";
    if (colon == NULL)
        return -EINVAL;
    *why = "IPv6 addresses go in brackets, e.g. [::1]:8080";
    if (memchr(s, ':', (size_t)(colon - s)) != NULL)
        return -EINVAL;
    *why = "missing host before ':port' (0.0.0.0 means any)";
    if (colon == s)
        return -EINVAL;
    if (port_parse(colon + 1, &port, why) < 0)
        return -EINVAL;
    return addr_set4(s, (size_t)(colon - s), port, out, why);
}

int
conf_parse_addr(const char *s, struct conf_addr *out)
{
    const char *why;

    ASSERT(s != NULL && out != NULL);
    return conf_addr_parse(s, out, &why);
}

static bool
host_char_ok(char c)
{
    return is_digit(c) || is_alpha(c) || c == '-' || c == '_';
}

/* Dot-separated labels of [A-Za-z0-9_-], 1..63 each, 253 in all. */
static int
hostname_check(const char *s, const char **why)
{
    size_t label = 0, len = strlen(s);

    *why = "host name too long";
    if (len > HOST_MAX)
        return -EINVAL;
    for (const char *p = s;; p++) {
        if (*p == '.' || *p == '\0') {
            *why = "empty label (leading, trailing or double '.')";
            if (label == 0)
                return -EINVAL;
            if (*p == '\0')
                return 0;
            label = 0;
            continue;
        }
        *why = *p == '*' ? "'*' is allowed only as the whole pattern or as "
                           "a leading '*.' label"
             : *p == ':' ? "host patterns take no port"
                         : "invalid character in host name";
        if (!host_char_ok(*p))
            return -EINVAL;
        *why = "label longer than 63 characters";
        if (++label > LABEL_MAX)
            return -EINVAL;
    }
}

static int
ipv6_host_check(const char *s, const char **why)
{
    struct in6_addr a;
    char buf[INET6_ADDRSTRLEN];
    size_t len = strlen(s);

    *why = "not a bracketed IPv6 address";
    if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof buf)
        return -EINVAL;
    memcpy(buf, s + 1, len - 2);
    buf[len - 2] = '\0';
    return inet_pton(AF_INET6, buf, &a) == 1 ? 0 : -EINVAL;
}

int
conf_host_parse(const char *s, char **out, const char **why)
{
    int rc;

    if (strcmp(s, "*") == 0)
        rc = 0;
    else if (s[0] == '[')
        rc = ipv6_host_check(s, why);
    else
        rc = hostname_check(s[0] == '*' && s[1] == '.' ? s + 2 : s, why);
    if (rc < 0)
        return rc;
    *out = xstrdup(s);
    for (char *p = *out; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    return 0;
}

bool
conf_token_is_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > CONF_TOKEN_MAX)
        return false;
    for (; *s != '\0'; s++) {
        if (!is_digit(*s) && !is_alpha(*s) && *s != '.' && *s != '_' &&
            *s != '-')
            return false;
    }
    return true;
}

/* tchar of RFC 9110 §5.6.2: what a field name is made of. */
static bool
is_tchar(char c)
{
    return is_digit(c) || is_alpha(c) ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool
conf_field_name_is_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > CONF_TOKEN_MAX)
        return false;
    for (; *s != '\0'; s++) {
        if (!is_tchar(*s))
            return false;
    }
    return true;
}

static bool
is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned
hex_val(char c)
{
    if (is_digit(c))
        return (unsigned)(c - '0');
    return (unsigned)((c | 0x20) - 'a' + 10);
}

/* unreserved of RFC 3986 §2.3: ALPHA DIGIT - . _ ~ */
static bool
is_unreserved(unsigned c)
{
    return c != 0 && c < 0x80 &&
           (is_digit((char)c) || is_alpha((char)c) ||
            strchr("-._~", (int)c) != NULL);
}

/* What is wrong with byte s[i] of a query parameter name, or NULL. */
static const char *
query_byte_why(const char *s, size_t i)
{
    unsigned char c = (unsigned char)s[i];

    if (c == '%' && !(is_hex(s[i + 1]) && is_hex(s[i + 2])))
        return "'%' must start an escape of two hex digits (%25 for '%')";
    if (c == '*' && s[i + 1] != '\0')
        return "'*' is allowed only at the end (%2A for a literal '*')";
    if (c == '=' || c == '&' || c == '#')
        return "'=', '&' and '#' must be escaped (%3D, %26, %23)";
    if (c <= 0x20 || c >= 0x7f)
        return "spaces, control characters and non-ASCII bytes must be "
               "escaped (%20 for a space)";
    return NULL;
}

/*
 * Writes the parameter name s into out the way cache keys compare names
 * (RFC 3986 §6.2.2.2): escapes of unreserved characters decoded, other
 * escapes with uppercase hex. out has room for strlen(s) + 1 bytes.
 */
static void
query_name_norm(const char *s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned c;

        if (*s != '%') {
            *out++ = *s;
            continue;
        }
        c = hex_val(s[1]) << 4 | hex_val(s[2]);
        s += 2;
        if (is_unreserved(c)) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    *out = '\0';
}

int
conf_query_name_parse(const char *s, char **out, const char **why)
{
    size_t len = strlen(s);

    *why = "a parameter name must be 1 to 128 bytes";
    if (len == 0 || len > CONF_QUERY_NAME_MAX)
        return -EINVAL;
    *why = "'*' alone matches every parameter (use query: drop)";
    if (strcmp(s, "*") == 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if ((*why = query_byte_why(s, i)) != NULL)
            return -EINVAL;
    }
    *out = xmalloc(len + 1);
    query_name_norm(s, *out);
    return 0;
}
