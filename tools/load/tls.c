/*
 * OpenSSL client side of strata-load. SSL_MODE_ENABLE_PARTIAL_WRITE and
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER let a write resume from wherever the
 * caller's buffer is; SSL_MODE_RELEASE_BUFFERS is off on purpose: keeping
 * record buffers avoids an allocation per request.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/alloc.h"
#include "common/assert.h"
#include "tools/load/tls.h"

#define LOAD_TLS_MAGIC 0x746c7363u

struct load_tls {
    unsigned magic;
    SSL_CTX *ctx;
    bool verify;
};

struct load_tls_conn {
    SSL *ssl;
};

struct load_tls *
load_tls_new(bool verify, const char *cacert, char *err, size_t errlen)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    struct load_tls *t = xcalloc(1, sizeof *t);
    int ok;

    t->magic = LOAD_TLS_MAGIC;
    t->verify = verify;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    /* Many HTTP servers close without close_notify: read that as the end
       of the stream; the caller decides whether the body was complete. */
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_alpn_protos(t->ctx, alpn, sizeof alpn - 1);
    SSL_CTX_set_verify(t->ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (verify) {
        ok = cacert ? SSL_CTX_load_verify_locations(t->ctx, cacert, NULL)
                    : SSL_CTX_set_default_verify_paths(t->ctx);
        if (ok != 1)
            goto fail;
    }
    return t;
fail:
    snprintf(err, errlen, "TLS setup%s%s: %s", cacert ? " with " : "", cacert ? cacert : "",
             ERR_reason_error_string(ERR_get_error()));
    load_tls_free(&t);
    return NULL;
}

void
load_tls_free(struct load_tls **tp)
{
    struct load_tls *t = *tp;

    *tp = NULL;
    if (t == NULL)
        return;
    CHECK_OBJ(t, LOAD_TLS_MAGIC);
    SSL_CTX_free(t->ctx);
    t->magic = 0;
    free(t);
}

static bool
is_ip_literal(const char *s)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

struct load_tls_conn *
load_tls_conn_new(struct load_tls *t, int fd, const char *sni)
{
    struct load_tls_conn *c;
    SSL *ssl;

    CHECK_OBJ(t, LOAD_TLS_MAGIC);
    ssl = SSL_new(t->ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    if (sni != NULL && !is_ip_literal(sni))
        SSL_set_tlsext_host_name(ssl, sni);
    if (t->verify && sni != NULL) {
        if (is_ip_literal(sni))
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), sni);
        else
            SSL_set1_host(ssl, sni);
    }
    SSL_set_connect_state(ssl);
    c = xcalloc(1, sizeof *c);
    c->ssl = ssl;
    return c;
}

void
load_tls_conn_free(struct load_tls_conn **cp)
{
    struct load_tls_conn *c = *cp;

    *cp = NULL;
    if (c == NULL)
        return;
    SSL_free(c->ssl);
    free(c);
}

/* Maps an SSL_* result to our convention; clears OpenSSL's error queue. */
static int
map(struct load_tls_conn *c, int rc, int *want)
{
    switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        *want = LOAD_TLS_WANT_READ;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *want = LOAD_TLS_WANT_WRITE;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        ERR_clear_error();
        return -EPROTO;
    }
}

int
load_tls_conn_handshake(struct load_tls_conn *c)
{
    int rc = SSL_do_handshake(c->ssl), want = 0;

    if (rc == 1)
        return 0;
    rc = map(c, rc, &want);
    return rc == -EAGAIN ? want : -EPROTO;
}

ssize_t
load_tls_conn_read(struct load_tls_conn *c, void *buf, size_t len, int *want)
{
    size_t n = 0;
    int rc = SSL_read_ex(c->ssl, buf, len, &n);

    if (rc == 1)
        return (ssize_t)n;
    return map(c, rc, want);
}

ssize_t
load_tls_conn_write(struct load_tls_conn *c, const void *buf, size_t len, int *want)
{
    size_t n = 0;
    int rc = SSL_write_ex(c->ssl, buf, len, &n);

    if (rc == 1)
        return (ssize_t)n;
    return map(c, rc, want);
}

bool
load_tls_conn_pending(const struct load_tls_conn *c)
{
    return SSL_pending(c->ssl) > 0;
}
