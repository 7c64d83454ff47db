/*
 * Private to the upstream exchange (proxy.c: response side and lifecycle;
 * proxy_body.c: request bodies and chunked walking).
 */
#ifndef EDGE_PROXY_INT_H
#define EDGE_PROXY_INT_H

#include "edge/edge_int.h"

#define PROXY_MAGIC 0x70727879u
#define RSP_MAX_FIELDS 256
#define MAX_TRIES 2

enum up_state { UP_SENDING, UP_BODY };

struct proxy {
    unsigned magic;
    struct conn *c;
    const struct conf_site *site;
    const struct conf *conf;
    struct upstream_conn *uc;
    struct evbuffer *head; /* upstream request head, kept for a retry */
    enum up_state st;
    unsigned tries;
    unsigned server;
    bool retryable;
    bool got_byte;  /* any response byte arrived */
    bool head_sent; /* client response head written */
    bool paused;    /* upstream read paused by client backpressure */
    bool client_paused; /* client read paused by upstream backpressure */
    bool store;     /* the body fills a cache object, not the client */
    bool detached;  /* the client is answered from the cache */
    bool done;      /* upstream side finished (store / detached) */
    bool store_failed; /* the object grew past what RAM may hold */
    /* request body */
    enum h1_body req_body;
    uint64_t req_left;
    uint64_t req_total;
    struct h1_chunked req_ch;
    bool req_done;
    /* response */
    struct h1_scan rscan;
    struct h1_response rsp;
    uint64_t rsp_left;
    struct h1_chunked rsp_ch;
    bool rsp_chunk_out;
    struct h1_field rfields[RSP_MAX_FIELDS];
};


/* Answers the client with status before any response head went out. */
void proxy_fail_early(struct proxy *px, int status);
/* Streams request body bytes from the client to the upstream. */
void proxy_pump_request(struct proxy *px);
/* Walks chunked framing in `in`; payload runs go to move(). Returns 1 when
 * the body ended, 0 when more input is needed, -1 on bad framing. */
int proxy_walk_chunked(struct h1_chunked *ch, struct evbuffer *in,
                       void (*move)(struct proxy *, struct evbuffer *, size_t),
                       struct proxy *px);

#endif
