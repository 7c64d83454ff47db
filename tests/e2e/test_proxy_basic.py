"""Reverse proxying through edge/strata to strata-origin: bodies, methods,
field rewriting, routing by Host, keep-alive pooling and pipelining."""
import hashlib
import http.client
import json
import socket

import pytest

from harness import Edge, http_request, read_responses, parse_response


@pytest.fixture
def edge(tmp_path):
    e = Edge(str(tmp_path))
    yield e
    assert e.stop() == 0


def fetch(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def test_get_matches_origin_bytes(edge):
    r1, via_edge = fetch(edge.port, "GET", "/a/b.html?size=50000")
    r2, direct = fetch(edge.origin.port, "GET", "/a/b.html?size=50000")
    assert r1.status == 200 and r2.status == 200
    assert via_edge == direct and len(via_edge) == 50000
    assert r1.getheader("Via") == "1.1 strata"
    assert r1.getheader("Content-Type") == r2.getheader("Content-Type")


def test_head_has_length_but_no_body(edge):
    raw = http_request(edge.port, b"HEAD /x?size=1234 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    status, headers, rest = parse_response(raw)
    assert status == 200
    assert headers["content-length"] == ["1234"]
    assert rest == b""


def test_post_body_reaches_origin_intact(edge):
    body = bytes(range(256)) * 4000
    r, data = fetch(edge.port, "POST", "/__echo", body=body,
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200
    echo = json.loads(data)
    assert echo["method"] == "POST"
    assert echo["body_length"] == len(body)


def echo_headers(port, extra_headers, host="example.com"):
    hdrs = "".join("%s: %s\r\n" % kv for kv in extra_headers)
    raw = ("GET /__echo HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n" % (host, hdrs)).encode()
    status, headers, body = parse_response(http_request(port, raw))
    assert status == 200, body
    return [(k.lower(), v) for k, v in json.loads(body)["headers"]]


def test_hop_by_hop_and_poisoning_fields_removed(edge):
    got = echo_headers(edge.port, [
        ("Connection", "close, X-Secret"), ("X-Secret", "1"), ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"), ("Upgrade", "h2c"), ("Proxy-Authorization", "Basic eA=="),
        ("X-Forwarded-Host", "evil.example"), ("X-Original-URL", "/admin"),
        ("X-Rewrite-URL", "/admin"), ("X-HTTP-Method-Override", "DELETE"),
        ("X-Forwarded-Proto", "https"), ("Forwarded", "host=evil"),
        ("Accept", "text/html"),
    ])
    names = [k for k, _ in got]
    for gone in ("x-secret", "keep-alive", "te", "upgrade", "proxy-authorization",
                 "x-forwarded-host", "x-original-url", "x-rewrite-url",
                 "x-http-method-override", "forwarded"):
        assert gone not in names, gone
    d = dict(got)
    assert d["host"] == "example.com"
    assert d["accept"] == "text/html"
    assert d["x-forwarded-proto"] == "http"
    assert d["x-forwarded-for"] == "127.0.0.1"
    assert d["via"] == "1.1 strata"
    assert d["cdn-loop"] == "strata"


def test_forwarded_for_is_appended(edge):
    d = dict(echo_headers(edge.port, [("X-Forwarded-For", "203.0.113.9")]))
    assert d["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"


def test_trusted_site_keeps_forwarded_fields(tmp_path):
    e = Edge(str(tmp_path), site_extra="    trust_forwarded: true\n")
    try:
        d = dict(echo_headers(e.port, [("X-Forwarded-Host", "cdn.example"),
                                       ("X-Forwarded-Proto", "https")]))
        assert d["x-forwarded-host"] == "cdn.example"
        assert d["x-forwarded-proto"] == "https"
    finally:
        assert e.stop() == 0


def test_own_cdn_loop_token_gets_508(edge):
    raw = http_request(edge.port, b"GET / HTTP/1.1\r\nHost: a\r\nCDN-Loop: other, strata; v=1\r\n\r\n")
    assert parse_response(raw)[0] == 508
    assert edge.origin_stats()["requests"] == 0
    raw = http_request(edge.port, b"GET /__echo HTTP/1.1\r\nHost: a\r\nCDN-Loop: other\r\nConnection: close\r\n\r\n")
    status, _, body = parse_response(raw)
    assert status == 200
    loops = [v for k, v in json.loads(body)["headers"] if k.lower() == "cdn-loop"]
    assert ", ".join(loops) == "other, strata"


def test_routing_by_host(tmp_path):
    e = Edge(str(tmp_path), hosts='["www.example.com", "*.static.example.com"]')
    try:
        for host, want in (("www.example.com", 200), ("WWW.Example.COM:8080", 200),
                           ("a.static.example.com", 200), ("static.example.com", 404),
                           ("other.example", 404)):
            raw = http_request(e.port, ("GET /x HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                                        % host).encode())
            assert parse_response(raw)[0] == want, host
    finally:
        assert e.stop() == 0


def test_unknown_host_gets_one_404_and_the_connection_goes_on(tmp_path):
    """A kept-alive 404 for a Host no site serves consumes its request: the
    next request on the connection is answered (it used to answer the first
    one again and again, without end)."""
    e = Edge(str(tmp_path), hosts='["www.example.com"]')
    try:
        raw = (b"GET /a HTTP/1.1\r\nHost: other.example\r\n\r\n"
               b"GET /b HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
        s = socket.create_connection(("127.0.0.1", e.port), timeout=5)
        s.sendall(raw)
        got = read_responses(s, 2)
        s.settimeout(0.5)
        try:
            extra = s.recv(65536)
        except socket.timeout:
            extra = b""
        s.close()
        assert [st for st, _, _ in got] == [404, 200]
        assert extra == b"", extra[:200]
    finally:
        assert e.stop() == 0


def test_keepalive_reuses_upstream_connection(edge):
    c = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=5)
    for i in range(20):
        c.request("GET", "/k%d?size=100" % i)
        r = c.getresponse()
        assert r.status == 200 and len(r.read()) == 100
    c.close()
    st = edge.origin_stats()
    assert st["requests"] == 20
    assert st["connections"] == 1


def test_pipelined_requests_answer_in_order(edge):
    reqs = b"".join(b"GET /p%d?size=%d HTTP/1.1\r\nHost: a\r\n\r\n" % (i, 10 + i) for i in range(10))
    with socket.create_connection(("127.0.0.1", edge.port), timeout=5) as s:
        s.sendall(reqs)
        resps = read_responses(s, 10)
    for i, (status, _, body) in enumerate(resps):
        assert status == 200 and len(body) == 10 + i


def test_chunked_both_ways(edge):
    body = b"".join(b"%x\r\n%s\r\n" % (n, b"z" * n) for n in (1, 100, 5000)) + b"0\r\n\r\n"
    req = (b"POST /__echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    with socket.create_connection(("127.0.0.1", edge.port), timeout=5) as s:
        s.sendall(req)
        (status, _, data), = read_responses(s, 1)
        assert status == 200
        assert json.loads(data)["body_length"] == 5101
        s.sendall(b"GET /c?size=70000&chunked=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        (status, headers, data), = read_responses(s, 1)
    assert status == 200
    assert headers["transfer-encoding"] == ["chunked"]
    r, direct = fetch(edge.origin.port, "GET", "/c?size=70000&chunked=1")
    assert data == direct


def test_http10_client_gets_close_delimited_body(edge):
    raw = http_request(edge.port, b"GET /c?size=3000&chunked=1 HTTP/1.0\r\n\r\n")
    status, headers, rest = parse_response(raw)
    assert status == 200
    assert "transfer-encoding" not in headers
    assert len(rest) == 3000


def test_expect_100_continue(edge):
    with socket.create_connection(("127.0.0.1", edge.port), timeout=5) as s:
        s.sendall(b"PUT /__echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        first = s.recv(100)
        assert first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"hello")
        (status, _, data), = read_responses(s, 1)
    assert status == 200 and json.loads(data)["body_length"] == 5


def test_absolute_form_target(edge):
    raw = http_request(edge.port, b"GET http://abs.example/__echo?q=1 HTTP/1.1\r\nHost: ignored\r\nConnection: close\r\n\r\n")
    status, _, body = parse_response(raw)
    assert status == 200
    e = json.loads(body)
    assert e["target"] == "/__echo?q=1"
    assert dict((k.lower(), v) for k, v in e["headers"])["host"] == "abs.example"


def test_ipv6_listener(tmp_path):
    import socket as so
    from harness import free_port, start_origin, start_strata
    o = start_origin()
    port = free_port(so.AF_INET6)
    yaml = ("workers: 2\nlisten: [\"[::1]:%d\"]\nsites:\n  - name: t\n    hosts: [\"*\"]\n"
            "    origin: [\"127.0.0.1:%d\"]\n" % (port, o.port))
    p = start_strata(yaml, None, str(tmp_path))
    try:
        from harness import wait_port
        wait_port(port, host="::1", proc=p.p)
        with so.create_connection(("::1", port), timeout=5) as s:
            s.sendall(b"GET /six?size=6 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\n" + data[-6:])
    finally:
        assert p.stop() == 0
        o.stop()
