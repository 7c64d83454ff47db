/*
 * Private to client.c (connection state machine and I/O) and
 * client_resp.c (response parsing): the connection struct and the calls
 * between the two files.
 */
#ifndef TOOLS_LOAD_CLIENT_INT_H
#define TOOLS_LOAD_CLIENT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event_struct.h>

#include "edge/h1.h"
#include "tools/load/client.h"

#define RBUF_SIZE (32u * 1024)
#define MAX_FIELDS 128
#define READS_PER_EVENT 8

enum conn_state { ST_DOWN, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN };

struct load_conn {
    unsigned magic;
    unsigned id;
    struct load_conn_cfg cfg;
    int fd;
    enum conn_state st;
    bool busy;       /* a request is in flight */
    bool retried;    /* this request was already resent once */
    bool wr_armed;   /* ev_write is added */
    bool in_body;    /* head parsed, reading the body */
    bool keep_alive; /* of the current response */
    bool in_send;    /* inside load_conn_send(): failures are deferred */
    uint64_t uses;   /* responses completed on this socket */
    struct event ev_read, ev_write, ev_fail;
    enum load_err fail_err; /* for ev_fail */
    struct load_tls_conn *tls;
    char *wbuf;
    size_t wlen, woff;
    uint64_t start_us, sent_us;
    uint64_t got; /* bytes received for this request */
    char *rbuf;
    size_t rlen;
    struct h1_scan scan;
    struct h1_response resp;
    struct h1_field fields[MAX_FIELDS];
    enum h1_body body;
    uint64_t body_left;
    struct h1_chunked ch;
    struct load_result res;
};

extern const struct h1_limits load_conn_limits;

/* client.c */
/* Closes the socket (if any); the connection is DOWN afterwards. */
void load_conn_close_socket(struct load_conn *c);
/* Ends the request in flight and calls on_done. */
void load_conn_finish(struct load_conn *c);
/* Closes and reports err (deferred while inside load_conn_send()). */
void load_conn_fail(struct load_conn *c, enum load_err err);

/* client_resp.c */
/* Parses what the read buffer holds; may complete or fail the request. */
void load_conn_process(struct load_conn *c);
/* The response is complete: report it, keep the socket when reuse. */
void load_conn_complete(struct load_conn *c, bool reuse);

#endif
