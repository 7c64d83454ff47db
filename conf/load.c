/*
 * Loading: reads the file, runs libyaml (the only libyaml caller in the
 * tree) and copies its document into a struct conf_node tree that keeps each
 * node's line and column, then hands the tree to the schema. Aliases are
 * expanded while copying, bounded by CONF_MAX_DEPTH and CONF_MAX_NODES.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "conf/conf_int.h"

struct copy {
    struct conf_ctx *x;
    yaml_document_t *doc;
    size_t nodes;
};

static void
node_clear(struct conf_node *n)
{
    for (size_t i = 0; i < n->n_kids; i++)
        node_clear(&n->kids[i]);
    free(n->kids);
    free(n->str);
}

void
conf_node_free(struct conf_node **np)
{
    struct conf_node *n = *np;

    *np = NULL;
    if (n == NULL)
        return;
    node_clear(n);
    free(n);
}

const struct conf_node *
conf_node_get(const struct conf_node *map, const char *key)
{
    if (map == NULL || map->kind != CONF_NODE_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
        const struct conf_node *k = &map->kids[i];

        if (k->kind == CONF_NODE_SCALAR && strcmp(k->str, key) == 0)
            return &map->kids[i + 1];
    }
    return NULL;
}

const char *
conf_node_kind_name(const struct conf_node *n)
{
    if (n->kind == CONF_NODE_MAP)
        return "a mapping";
    if (n->kind == CONF_NODE_SEQ)
        return "a list";
    return n->is_null ? "nothing" : "a scalar";
}

static bool
scalar_is_null(const yaml_node_t *yn)
{
    const char *v = (const char *)yn->data.scalar.value;

    if (yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static void
copy_scalar(const yaml_node_t *yn, struct conf_node *out)
{
    out->kind = CONF_NODE_SCALAR;
    out->len = yn->data.scalar.length;
    out->str = xstrndup((const char *)yn->data.scalar.value, out->len);
    out->has_nul = strlen(out->str) != out->len;
    out->is_null = scalar_is_null(yn);
}

static bool copy_node(struct copy *cp, const yaml_node_t *yn,
                      struct conf_node *out, unsigned depth);

static bool
copy_kids(struct copy *cp, const yaml_node_item_t *items, size_t n,
          struct conf_node *out, unsigned depth)
{
    out->kids = xcalloc(n, sizeof *out->kids);
    for (size_t i = 0; i < n; i++) {
        out->n_kids = i + 1;
        if (!copy_node(cp, yaml_document_get_node(cp->doc, items[i]),
                       &out->kids[i], depth + 1))
            return false;
    }
    return true;
}

static bool
copy_pairs(struct copy *cp, const yaml_node_pair_t *pairs, size_t n,
           struct conf_node *out, unsigned depth)
{
    out->kids = xcalloc(2 * n, sizeof *out->kids);
    for (size_t i = 0; i < n; i++) {
        out->n_kids = 2 * i + 1;
        if (!copy_node(cp, yaml_document_get_node(cp->doc, pairs[i].key),
                       &out->kids[2 * i], depth + 1))
            return false;
        out->n_kids++;
        if (!copy_node(cp, yaml_document_get_node(cp->doc, pairs[i].value),
                       &out->kids[2 * i + 1], depth + 1))
            return false;
    }
    return true;
}

/* Copies yn into out; false (reported) when the tree is too deep or big. */
static bool
copy_node(struct copy *cp, const yaml_node_t *yn, struct conf_node *out,
          unsigned depth)
{
    ASSERT(yn != NULL);
    out->line = (unsigned)yn->start_mark.line + 1;
    out->col = (unsigned)yn->start_mark.column + 1;
    if (depth > CONF_MAX_DEPTH || ++cp->nodes > CONF_MAX_NODES) {
        conf_ctx_err(cp->x, out, "document too %s (aliases?)",
                     depth > CONF_MAX_DEPTH ? "deeply nested" : "large");
        return false;
    }
    switch (yn->type) {
    case YAML_SEQUENCE_NODE:
        out->kind = CONF_NODE_SEQ;
        return copy_kids(cp, yn->data.sequence.items.start,
                         (size_t)(yn->data.sequence.items.top -
                                  yn->data.sequence.items.start),
                         out, depth);
    case YAML_MAPPING_NODE:
        out->kind = CONF_NODE_MAP;
        return copy_pairs(cp, yn->data.mapping.pairs.start,
                          (size_t)(yn->data.mapping.pairs.top -
                                   yn->data.mapping.pairs.start),
                          out, depth);
    default:
        copy_scalar(yn, out);
        return true;
    }
}

/* Line and column of a byte offset (reader errors carry only that). */
static void
offset_pos(const char *s, size_t len, size_t off, unsigned *line,
           unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)s[i] & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

static void
report_syntax(struct conf_ctx *x, const yaml_parser_t *p, const char *text,
              size_t len)
{
    unsigned line = (unsigned)p->problem_mark.line + 1;
    unsigned col = (unsigned)p->problem_mark.column + 1;
    const char *what = p->problem ? p->problem : "syntax error";

    if (p->error == YAML_READER_ERROR) {
        offset_pos(text, len, p->problem_offset, &line, &col);
        conf_ctx_err_at(x, line, col, "%s", what);
    } else if (p->error == YAML_MEMORY_ERROR) {
        conf_ctx_err_at(x, 0, 0, "out of memory while parsing");
    } else if (p->context != NULL) {
        conf_ctx_err_at(x, line, col, "%s (%s at %u:%u)", what, p->context,
                        (unsigned)p->context_mark.line + 1,
                        (unsigned)p->context_mark.column + 1);
    } else {
        conf_ctx_err_at(x, line, col, "%s", what);
    }
}

/* A second document is an error: say where it starts. */
static void
check_single_doc(struct conf_ctx *x, yaml_parser_t *p, const char *text,
                 size_t len)
{
    yaml_document_t doc;
    yaml_node_t *root;

    if (!yaml_parser_load(p, &doc)) {
        report_syntax(x, p, text, len);
        return;
    }
    root = yaml_document_get_root_node(&doc);
    if (root != NULL)
        conf_ctx_err_at(x, (unsigned)doc.start_mark.line + 1,
                        (unsigned)doc.start_mark.column + 1,
                        "a config holds one YAML document, found another");
    yaml_document_delete(&doc);
}

/* Parses text into *rootp (NULL for an empty document); false on errors. */
static bool
tree_load(struct conf_ctx *x, const char *text, size_t len,
          struct conf_node **rootp)
{
    struct copy cp = { .x = x };
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_node_t *root;
    bool ok = true;

    *rootp = NULL;
    if (!yaml_parser_initialize(&p))
        abort();
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &doc)) {
        report_syntax(x, &p, text, len);
        yaml_parser_delete(&p);
        return false;
    }
    cp.doc = &doc;
    root = yaml_document_get_root_node(&doc);
    if (root != NULL) {
        *rootp = xcalloc(1, sizeof **rootp);
        ok = copy_node(&cp, root, *rootp, 0);
    }
    if (ok)
        check_single_doc(x, &p, text, len);
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    return ok;
}

int
conf_load_string(const char *name, const char *yaml, size_t len,
                 struct conf **out, struct conf_errors *errs)
{
    struct conf_ctx x;
    struct conf_node *root = NULL;
    struct conf *c = NULL;
    int rc = -EINVAL;

    ASSERT(name != NULL && out != NULL);
    ASSERT(yaml != NULL || len == 0);
    conf_ctx_init(&x, name);
    if (tree_load(&x, yaml ? yaml : "", len, &root)) {
        c = conf_snap_new(name);
        x.c = c;
        conf_schema_apply(&x, root);
        conf_site_finish(&x, root);
    }
    conf_node_free(&root);
    if (c != NULL && x.n_errs == 0) {
        conf_site_index_build(c);
        *out = c;
        rc = 0;
    } else {
        conf_snap_free(&c);
    }
    conf_ctx_finish(&x, errs);
    return rc;
}

/* Reads all of path into a NUL-terminated buffer; -errno on failure. */
static int
file_read(const char *path, char **bufp, size_t *lenp, const char **what)
{
    struct stat st;
    size_t len = 0, cap = 4096;
    char *buf = NULL;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *what = "cannot open";
    if (fd < 0)
        return -errno;
    *what = "cannot read";
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size < CONF_MAX_FILE)
        cap = (size_t)st.st_size + 2;
    buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap)
            buf = xrealloc(buf, cap *= 2);
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (len += (size_t)n) > CONF_MAX_FILE)
            break;
    }
    n = n < 0 ? -errno : len > CONF_MAX_FILE ? -EFBIG : 0;
    close(fd);
    if (n < 0) {
        free(buf);
        return (int)n;
    }
    buf[len] = '\0';
    *bufp = buf;
    *lenp = len;
    return 0;
}

int
conf_load_file(const char *path, struct conf **out, struct conf_errors *errs)
{
    const char *what;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    ASSERT(path != NULL && out != NULL);
    rc = file_read(path, &buf, &len, &what);
    if (rc < 0) {
        conf_errors_add(errs, "%s: %s: %s", path, what, strerror(-rc));
        return rc;
    }
    rc = conf_load_string(path, buf, len, out, errs);
    free(buf);
    return rc;
}
