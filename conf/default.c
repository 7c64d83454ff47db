/*
 * Defaults: the value of every key a config leaves out, and the embedded
 * default config (one catch-all site), which goes through the same loader
 * as any file. conf/examples/strata.yaml and conf/README.md restate these
 * values; tests/unit/conf_load_test.c checks that they agree.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "conf/conf_int.h"

#define KIB (1u << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SEC 1000u
#define DAY (86400ll * SEC)

static const char default_yaml[] =
    "# Strata built-in configuration: every request goes to one origin.\n"
    "listen: [\"127.0.0.1:8080\"]\n"
    "data_dir: ./var\n"
    "log:\n"
    "  level: info\n"
    "  access_log: off\n"
    "sites:\n"
    "  - name: default\n"
    "    hosts: [\"*\"]\n"
    "    origin: [\"127.0.0.1:8081\"]\n";

static unsigned
cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        return 1;
    return n > CONF_WORKERS_MAX ? CONF_WORKERS_MAX : (unsigned)n;
}

void
conf_default_set(struct conf *c)
{
    const char *why;

    CHECK_OBJ(c, CONF_MAGIC);
    c->workers = cores();
    c->node_id = xstrdup("strata");
    c->log_level = LOG_LVL_INFO;
    c->access_log = NULL;
    c->data_dir = xstrdup("./var");
    c->drain_timeout_ms = 10 * SEC;
    c->listen = xcalloc(1, sizeof *c->listen);
    c->n_listen = 1;
    if (conf_addr_parse("127.0.0.1:8080", c->listen, &why) < 0)
        ASSERT(!"default listen address parses");
    c->limits = (struct conf_limits){
        .request_line = 8 * KIB,
        .field_line = 8 * KIB,
        .header_section = 32 * KIB,
        .fields = 100,
        .request_body = 1 * GIB,
        .header_timeout_ms = 10 * SEC,
        .idle_timeout_ms = 60 * SEC,
        .body_timeout_ms = 30 * SEC,
        .send_timeout_ms = 60 * SEC,
        .max_connections = 10000,
    };
    c->upstream = (struct conf_upstream){
        .connect_timeout_ms = 3 * SEC,
        .read_timeout_ms = 30 * SEC,
        .write_timeout_ms = 30 * SEC,
        .keepalive = 32,
        .keepalive_timeout_ms = 30 * SEC,
    };
    c->cache = (struct conf_cache){
        .enabled = true,
        .memory = 256 * MIB,
        .max_object = 64 * MIB,
        .hit_for_pass_ms = 10 * SEC,
        .targeted_field = xstrdup("Strata-Cache-Control"),
        .strip_targeted = true,
        .disk = {
            .path = NULL,
            .size = 20 * GIB,
            .high_pct = 90,
            .low_pct = 75,
            .durability = CONF_DISK_SAFE,
            .sync_interval_ms = 1 * SEC,
            .rebuild_incompatible = false,
            .max_object = 1 * GIB,
        },
    };
}

/* RFC-pure: no lifetime invented, nothing stale the response forbids. */
void
conf_default_site_set(struct conf_site *s)
{
    s->cache = (struct conf_site_cache){
        .enabled = true,
        .default_ttl_ms = -1,
        .min_ttl_ms = -1,
        .max_ttl_ms = -1,
        .stale_while_revalidate_ms = 0,
        .stale_if_error_ms = 0,
        .query = CONF_QUERY_KEEP,
        .heuristic_max_ms = DAY,
    };
}

const char *
conf_default_yaml(void)
{
    return default_yaml;
}

int
conf_load_default(struct conf **out, struct conf_errors *errs)
{
    return conf_load_string("<default>", default_yaml, strlen(default_yaml),
                            out, errs);
}
