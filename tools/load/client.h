/*
 * One HTTP/1.1 client connection of strata-load: a libevent state machine
 * over a non-blocking socket, plain or TLS, with keep-alive and one request
 * in flight. The worker owns its connections and formats each request
 * straight into the connection's buffer; nothing is allocated per request.
 * Responses are parsed with edge/h1.h; body bytes are counted, never
 * copied. Every request ends in exactly one call of on_done, never from
 * inside load_conn_send() (failures found there are reported on the next
 * loop iteration), so the callback may start the next request at once.
 */
#ifndef TOOLS_LOAD_CLIENT_H
#define TOOLS_LOAD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "tools/load/tally.h"
#include "tools/load/tls.h"

#define LOAD_CONN_MAGIC 0x636f6e6eu

struct load_conn;

/* Called once per request with its result (r is valid during the call). */
typedef void load_conn_done_fn(struct load_conn *c, const struct load_result *r, void *arg);

struct load_conn_cfg {
    struct event_base *base;
    const struct sockaddr *addr; /* borrowed for the connection's life */
    socklen_t addr_len;
    struct load_tls *tls; /* NULL: plain TCP */
    const char *sni;      /* host name for SNI and verification */
    size_t wbuf_size;     /* largest request */
    load_conn_done_fn *on_done;
    void *arg;
};

/* A closed connection; it connects when the first request is sent. */
struct load_conn *load_conn_new(const struct load_conn_cfg *cfg, unsigned id);
/* Closes and frees; a request in flight is dropped without a callback. */
void load_conn_free(struct load_conn **cp);
unsigned load_conn_id(const struct load_conn *c);
/* The buffer to format the next request into (wbuf_size bytes). */
char *load_conn_buf(struct load_conn *c);
/*
 * Sends the len bytes of the buffer as a request, connecting first if
 * needed. start_us is when the request was meant to start: latency is
 * measured from it. The connection must not be busy.
 */
void load_conn_send(struct load_conn *c, size_t len, uint64_t start_us);
bool load_conn_busy(const struct load_conn *c);
/* Fails the request in flight with LOAD_ERR_TIMEOUT when it was sent
   timeout_us or more before now_us; true when it did. */
bool load_conn_expire(struct load_conn *c, uint64_t now_us, uint64_t timeout_us);
/* Drops the request in flight without a callback and closes. */
void load_conn_abandon(struct load_conn *c);

#endif
