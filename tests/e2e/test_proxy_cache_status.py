"""Every response through a caching site says in Cache-Status (RFC 9211)
what happened: forwarded methods the cache does not handle (fwd=method),
and the node's own error responses (how far the request got, and a detail
naming the error)."""
import http.client
import time

import pytest

from harness import Edge, http_request, parse_response


@pytest.fixture
def edge(tmp_path):
    e = Edge(str(tmp_path))
    yield e
    assert e.stop() == 0


def req(port, method, path, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def cs(r):
    return r.getheader("Cache-Status")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_forwarded_methods_say_fwd_method(edge, method):
    r, _ = req(edge.port, method, "/m", body=b"x" if method in ("POST", "PUT", "PATCH") else None)
    assert r.status == 200
    assert cs(r) == "strata; fwd=method"
    assert len(r.getheaders()) == len(set(k.lower() for k, _ in r.getheaders()))


def test_own_errors_before_forwarding(edge):
    # Bad escape: no cache key can be built.
    st, h, _ = parse_response(http_request(edge.port, b"GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n"))
    assert st == 400 and h["cache-status"] == ["strata; fwd=miss; detail=bad-request"]
    # Unparsable request.
    st, h, _ = parse_response(http_request(edge.port, b"GET / HTTP/1.1\r\nHost: a\r\nBad Field: x\r\n\r\n"))
    assert st == 400 and h["cache-status"] == ["strata; fwd=miss; detail=bad-request"]
    # Loop.
    st, h, _ = parse_response(http_request(
        edge.port, b"GET / HTTP/1.1\r\nHost: a\r\nCDN-Loop: strata\r\n\r\n"))
    assert st == 508 and h["cache-status"] == ["strata; fwd=miss; detail=loop-detected"]
    # only-if-cached with nothing stored (RFC 9111 5.2.1.7).
    r, _ = req(edge.port, "GET", "/nothing", headers={"Cache-Control": "only-if-cached"})
    assert r.status == 504 and cs(r) == "strata; fwd=miss; detail=only-if-cached"
    assert edge.origin_stats()["requests"] == 0


def test_unknown_site(tmp_path):
    e = Edge(str(tmp_path), hosts='["known.example"]')
    try:
        r, _ = req(e.port, "GET", "/", headers={"Host": "other.example"})
        assert r.status == 404 and cs(r) == "strata; fwd=miss; detail=not-found"
    finally:
        assert e.stop() == 0


def test_upstream_failures(tmp_path):
    edge = Edge(str(tmp_path))
    try:
        path = "/mr?cc=max-age%3D0%2C%20must-revalidate"
        r, _ = req(edge.port, "GET", path)
        assert cs(r) == "strata; fwd=uri-miss; stored"
        edge.origin.stop()
        # A stale copy that must be revalidated, origin down: 504.
        r, _ = req(edge.port, "GET", path)
        assert r.status == 504 and cs(r) == "strata; fwd=stale; detail=gateway-timeout"
        r, _ = req(edge.port, "GET", "/down")
        assert r.status == 502 and cs(r) == "strata; fwd=uri-miss; detail=bad-gateway"
        r, _ = req(edge.port, "HEAD", "/down")
        assert r.status == 502 and cs(r) == "strata; fwd=uri-miss; detail=bad-gateway"
        r, _ = req(edge.port, "POST", "/down", body=b"x")
        assert r.status == 502 and cs(r) == "strata; fwd=method; detail=bad-gateway"
    finally:
        assert edge.proc.stop() == 0  # the origin is stopped already


def test_cache_disabled_site_errors(tmp_path):
    e = Edge(str(tmp_path), site_extra="    cache: { enabled: false }\n")
    try:
        r, _ = req(e.port, "POST", "/p", body=b"x")
        assert r.status == 200 and cs(r) is None  # the site does not cache
        e.origin.stop()
        r, _ = req(e.port, "GET", "/p")
        assert r.status == 502 and cs(r) == "strata; fwd=bypass; detail=bad-gateway"
    finally:
        assert e.proc.stop() == 0


def test_collapsed_followers_of_a_failed_fetch(edge):
    from harness import multi_get
    res = multi_get(edge.port, "/cf?delay_ms=300&fail=reset", 4)
    got = sorted(h.get("cache-status") for line, h, _, _ in res)
    assert all(b" 502 " in line for line, _, _, _ in res), res
    assert got.count("strata; fwd=uri-miss; detail=bad-gateway") == 1, got
    assert got.count("strata; fwd=uri-miss; collapsed; detail=bad-gateway") == 3, got
