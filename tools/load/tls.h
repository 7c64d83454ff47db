/*
 * TLS for strata-load's connections: the only file of the tool that calls
 * OpenSSL. One context per run, shared read-only by every thread once
 * built; one session per connection, used by the thread that owns it.
 * Non-blocking: calls say what they wait for instead of blocking.
 * No session resumption: each connection does a full handshake, which only
 * matters for runs that reconnect a lot (servers closing keep-alive).
 */
#ifndef TOOLS_LOAD_TLS_H
#define TOOLS_LOAD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LOAD_TLS_WANT_READ 1
#define LOAD_TLS_WANT_WRITE 2

struct load_tls;
struct load_tls_conn;

/*
 * Creates the context. With verify, the server certificate must chain to
 * cacert (a PEM file) or, when cacert is NULL, to the system's CAs, and
 * match the host name. Returns NULL with a message in err on failure.
 */
struct load_tls *load_tls_new(bool verify, const char *cacert, char *err, size_t errlen);
void load_tls_free(struct load_tls **tp);

/*
 * A client session on connected socket fd (borrowed: the caller closes
 * it). sni is sent unless it is an IP literal, and checked when verifying.
 * Returns NULL when OpenSSL cannot allocate one.
 */
struct load_tls_conn *load_tls_conn_new(struct load_tls *t, int fd, const char *sni);
void load_tls_conn_free(struct load_tls_conn **cp);
/* 0 when done, LOAD_TLS_WANT_READ or _WRITE, or -EPROTO. */
int load_tls_conn_handshake(struct load_tls_conn *c);
/* Bytes read (> 0), 0 at end of stream, -EAGAIN with *want set to
   LOAD_TLS_WANT_READ or _WRITE when it would block, -EPROTO on error. */
ssize_t load_tls_conn_read(struct load_tls_conn *c, void *buf, size_t len, int *want);
/* Bytes written (> 0), -EAGAIN with *want set, or -EPROTO. */
ssize_t load_tls_conn_write(struct load_tls_conn *c, const void *buf, size_t len,
                            int *want);
/* Bytes decrypted and buffered, readable without waiting for the socket. */
bool load_tls_conn_pending(const struct load_tls_conn *c);

#endif
