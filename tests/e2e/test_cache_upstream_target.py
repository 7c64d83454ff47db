"""The upstream request-target of a request through the cache is the
resource its cache key names: the normalized path (dot segments removed,
escapes of unreserved characters decoded) and the query with its escapes
normalized, every parameter kept. Otherwise a target that normalizes to
another URL's key fills that URL's entry with whatever the origin makes of
the raw bytes (cache poisoning)."""
import http.client
import json

import pytest

from harness import Edge, http_request, parse_response


@pytest.fixture
def edge(tmp_path):
    e = Edge(str(tmp_path))
    yield e
    assert e.stop() == 0


def raw_get(port, target, method="GET", body=b""):
    """Sends target byte-exact (http.client would not)."""
    req = ("%s %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n" % (method, target)).encode()
    if body or method == "POST":
        req += b"Content-Length: %d\r\n" % len(body)
    raw = http_request(port, req + b"\r\n" + body)
    return parse_response(raw)


def echo_target(port, target, method="GET"):
    status, hdrs, body = raw_get(port, target, method)
    assert status == 200, (status, body)
    return json.loads(body)["target"], hdrs


def direct(port, target):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", target)
    r = c.getresponse()
    body = r.read()
    c.close()
    return body


def test_origin_gets_normalized_target(edge):
    t, hdrs = echo_target(edge.port, "/__echo/zz/../kq%41/.?x=%7e&y=%2f&z=%41%2F")
    assert t == "/__echo/kqA/?x=~&y=%2F&z=A%2F"
    assert hdrs["cache-status"][0].startswith("strata; fwd=uri-miss")
    # %2F in the path is a different resource from "/": never decoded.
    t, _ = echo_target(edge.port, "/__echo/a%2fb/%2E/c/x%2f..%2fy")
    assert t == "/__echo/a%2Fb/c/x%2F..%2Fy"
    # Absolute form: the key's origin-form target.
    t, _ = echo_target(edge.port, "http://a/__echo/./x/%2e%2e/y?q=%31")
    assert t == "/__echo/y?q=1"


def test_poisoning_repro_no_longer_poisons(edge):
    query = "?cc=max-age%3D60&size=300"
    attack = "/zz/../kq%41/." + query
    victim = "/kqA/" + query
    status, hdrs, body = raw_get(edge.port, attack)
    assert status == 200 and hdrs["cache-status"][0] == "strata; fwd=uri-miss; stored"
    status, hdrs, hit = raw_get(edge.port, victim)
    assert hdrs["cache-status"][0].startswith("strata; hit")
    # The origin was asked for /kqA/ only, never for the raw target.
    assert edge.origin_stats(detail=True)["paths"] == {victim: 1}
    # Stored under /kqA/: exactly what the origin serves for /kqA/, which
    # differs from what it makes of the raw target.
    assert body == hit == direct(edge.origin.port, victim)
    assert direct(edge.origin.port, attack) != body


def test_ignored_and_sorted_params_still_reach_the_origin(tmp_path):
    e = Edge(str(tmp_path), site_extra="    cache: { query: sort, query_ignore: [utm_*] }\n")
    try:
        t, _ = echo_target(e.port, "/__echo/./p?b=%32&utm_source=%7a&a=1")
        assert t == "/__echo/p?b=2&utm_source=z&a=1"
    finally:
        assert e.stop() == 0


def test_head_pass_and_other_methods(edge):
    # A HEAD miss is passed through the cache flow: normalized too.
    status, hdrs, _ = raw_get(edge.port, "/__echo/a/../b", method="HEAD")
    assert status == 200 and hdrs["cache-status"][0].startswith("strata; fwd=uri-miss")
    # Unsafe methods do not go through the cache: forwarded as received.
    status, _, body = raw_get(edge.port, "/__echo/a/../%62", method="POST")
    assert status == 200 and json.loads(body)["target"] == "/__echo/a/../%62"


def test_post_invalidates_the_normalized_key(edge):
    path = "/inv/x?cc=max-age%3D60"
    raw_get(edge.port, path)
    assert raw_get(edge.port, path)[1]["cache-status"][0].startswith("strata; hit")
    raw_get(edge.port, "/inv/y/../%78?cc=max-age%3D60", method="POST")
    status, hdrs, _ = raw_get(edge.port, path)
    assert hdrs["cache-status"][0] == "strata; fwd=uri-miss; stored"
