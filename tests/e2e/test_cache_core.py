"""The caching core against strata-origin: what is stored, what is served
from the cache (a hit is a request that did not reach the origin), and what
every response says in Cache-Status."""
import http.client
import time

import pytest

from harness import Edge, get, q, status


@pytest.fixture
def edge(tmp_path):
    e = Edge(str(tmp_path))
    yield e
    assert e.stop() == 0




def origin_count(edge):
    return edge.origin_stats()["requests"]



def test_miss_then_hit(edge):
    path = "/a.html?" + q(size=5000, cc="max-age=60")
    r1, b1 = get(edge.port, path)
    r2, b2 = get(edge.port, path)
    assert status(r1) == "strata; fwd=uri-miss; stored"
    assert status(r2).startswith("strata; hit; ttl=")
    assert 58 <= int(status(r2).split("ttl=")[1]) <= 60
    assert b1 == b2 and len(b2) == 5000
    assert r2.getheader("Age") is not None and int(r2.getheader("Age")) <= 1
    assert r2.getheader("ETag") == r1.getheader("ETag")
    assert origin_count(edge) == 1
    _, direct = get(edge.origin.port, path)
    assert b2 == direct


def test_head_served_from_stored_get(edge):
    path = "/h?" + q(size=100, cc="max-age=60")
    get(edge.port, path)
    r, body = get(edge.port, path, method="HEAD")
    assert body == b"" and status(r).startswith("strata; hit")
    assert r.getheader("Content-Length") == "100"
    assert origin_count(edge) == 1


@pytest.mark.parametrize("cc,extra", [
    ("no-store", {}),
    ("private, max-age=60", {}),
    ("max-age=60", {"set_cookie": 1}),
])
def test_not_stored(edge, cc, extra):
    path = "/n?" + q(cc=cc, **extra)
    for _ in range(3):
        r, _ = get(edge.port, path)
        assert "stored" not in status(r) and "hit" not in status(r).split(";")[1]
    assert origin_count(edge) == 3


def test_authorization_needs_public(edge):
    p1 = "/auth1?" + q(cc="max-age=60")
    p2 = "/auth2?" + q(cc="public, max-age=60")
    for p in (p1, p1, p2, p2):
        get(edge.port, p, headers={"Authorization": "Bearer x"})
    assert origin_count(edge) == 3  # p1 twice, p2 once
    r, _ = get(edge.port, p2, headers={"Authorization": "Bearer y"})
    assert status(r).startswith("strata; hit")


def test_s_maxage_wins_over_max_age(edge):
    r, _ = get(edge.port, "/s?" + q(cc="max-age=5, s-maxage=100"))
    r, _ = get(edge.port, "/s?" + q(cc="max-age=5, s-maxage=100"))
    assert int(status(r).split("ttl=")[1]) >= 98


def test_invalid_expires_is_stale(edge):
    path = "/e?" + q(hdr="Expires:tomorrow", etag=0)
    get(edge.port, path)
    r, _ = get(edge.port, path)
    assert not status(r).startswith("strata; hit")
    assert origin_count(edge) == 2


def test_age_from_upstream_counts(edge):
    path = "/age?" + q(cc="max-age=200", hdr="Age:100")
    get(edge.port, path)
    r, _ = get(edge.port, path)
    assert int(r.getheader("Age")) >= 100
    assert 98 <= int(status(r).split("ttl=")[1]) <= 100


def test_request_only_if_cached(edge):
    r, _ = get(edge.port, "/oic", headers={"Cache-Control": "only-if-cached"})
    assert r.status == 504
    assert origin_count(edge) == 0


def test_request_no_cache_revalidates(edge):
    path = "/rv?" + q(cc="max-age=60")
    get(edge.port, path)
    r, body = get(edge.port, path, headers={"Cache-Control": "no-cache"})
    assert r.status == 200 and len(body) == 1024
    # Fresh, but the client's no-cache made us ask: RFC 9211 "request".
    assert "fwd=request" in status(r) and "fwd-status=304" in status(r)
    st = edge.origin_stats()
    assert st["requests"] == 2 and st["not_modified"] == 1


def test_stale_is_revalidated_with_304(edge):
    path = "/exp?" + q(cc="max-age=2")
    get(edge.port, path)
    time.sleep(2.1)
    r, body = get(edge.port, path)
    assert "fwd-status=304" in status(r) and len(body) == 1024
    r, _ = get(edge.port, path)
    assert status(r).startswith("strata; hit")
    assert edge.origin_stats()["not_modified"] == 1


def test_vary_variants(edge):
    path = "/v?" + q(cc="max-age=60", vary="Accept-Language")
    r1, b1 = get(edge.port, path, headers={"Accept-Language": "en"})
    r2, b2 = get(edge.port, path, headers={"Accept-Language": "de"})
    r3, b3 = get(edge.port, path, headers={"Accept-Language": "en"})
    r4, _ = get(edge.port, path, headers={"Accept-Language": "de"})
    assert status(r1).startswith("strata; fwd=uri-miss")
    assert status(r2).startswith("strata; fwd=vary-miss")
    assert status(r3).startswith("strata; hit") and status(r4).startswith("strata; hit")
    assert origin_count(edge) == 2


def test_vary_star_never_matches(edge):
    path = "/vs?" + q(cc="max-age=60", vary="*")
    get(edge.port, path)
    get(edge.port, path)
    assert origin_count(edge) == 2


def test_key_normalization(edge):
    get(edge.port, "/k/%7Euser/./a/../x?" + q(cc="max-age=60"), headers={"Host": "EXAMPLE.com:80"})
    r, _ = get(edge.port, "/k/~user/x?" + q(cc="max-age=60"), headers={"Host": "example.com"})
    assert status(r).startswith("strata; hit")
    assert origin_count(edge) == 1


def test_query_ignore_rule(tmp_path):
    e = Edge(str(tmp_path), site_extra="    cache: { query_ignore: [utm_*] }\n")
    try:
        get(e.port, "/q?x=1&utm_source=a&cc=max-age%3D60")
        r, _ = get(e.port, "/q?x=1&utm_medium=b&cc=max-age%3D60")
        assert status(r).startswith("strata; hit")
    finally:
        assert e.stop() == 0


def test_client_conditionals(edge):
    path = "/c?" + q(cc="max-age=60")
    r, _ = get(edge.port, path)
    etag = r.getheader("ETag")
    r, body = get(edge.port, path, headers={"If-None-Match": 'W/"zzz", ' + etag})
    assert r.status == 304 and body == b""
    r, _ = get(edge.port, path, headers={"If-Match": '"other"'})
    assert r.status == 412
    assert origin_count(edge) == 1


def test_ranges(edge):
    path = "/r.bin?" + q(cc="max-age=60", size=1000)
    _, full = get(edge.port, path)
    r, body = get(edge.port, path, headers={"Range": "bytes=100-199"})
    assert r.status == 206 and body == full[100:200]
    assert r.getheader("Content-Range") == "bytes 100-199/1000"
    r, body = get(edge.port, path, headers={"Range": "bytes=-10"})
    assert r.status == 206 and body == full[-10:]
    r, body = get(edge.port, path, headers={"Range": "bytes=0-1,10-11"})
    assert r.status == 206
    assert r.getheader("Content-Type").startswith("multipart/byteranges; boundary=")
    assert full[0:2] in body and full[10:12] in body and b"Content-Range: bytes 10-11/1000" in body
    r, _ = get(edge.port, path, headers={"Range": "bytes=5000-"})
    assert r.status == 416 and r.getheader("Content-Range") == "bytes */1000"
    r, body = get(edge.port, path, headers={"Range": "bytes=0-9", "If-Range": '"nope"'})
    assert r.status == 200 and len(body) == 1000
    assert origin_count(edge) == 1


def test_unsafe_method_invalidates(edge):
    path = "/inv?" + q(cc="max-age=60")
    get(edge.port, path)
    r, _ = get(edge.port, path, method="POST")
    assert r.status == 200
    r, _ = get(edge.port, path)
    assert not status(r).startswith("strata; hit")
    assert origin_count(edge) == 3


def test_location_invalidates_same_host(edge):
    target = "/loc-target?" + q(cc="max-age=60")
    get(edge.port, target)
    r, _ = get(edge.port, target)
    assert status(r).startswith("strata; hit")
    get(edge.port, "/do?" + q(hdr="Location:" + target), method="DELETE")
    r, _ = get(edge.port, target)
    assert not status(r).startswith("strata; hit")
    # Another host's URL in Location is left alone.
    other = "/other?" + q(cc="max-age=60")
    get(edge.port, other)
    get(edge.port, "/do2?" + q(hdr="Location:http://elsewhere.example" + other), method="PUT")
    r, _ = get(edge.port, other)
    assert status(r).startswith("strata; hit")


def test_targeted_cache_control(edge):
    path = "/t?" + q(cc="no-store", hdr="CDN-Cache-Control:max-age=60")
    get(edge.port, path)
    r, _ = get(edge.port, path)
    assert status(r).startswith("strata; hit")
    assert r.getheader("CDN-Cache-Control") is None
    assert origin_count(edge) == 1


def test_surrogate_control(edge):
    path = "/sc?" + q(cc="max-age=0", hdr="Surrogate-Control:max-age=60")
    get(edge.port, path)
    r, _ = get(edge.port, path)
    assert status(r).startswith("strata; hit")
    assert r.getheader("Surrogate-Control") is None


def test_hit_for_pass_does_not_queue(edge):
    path = "/hfp?" + q(cc="no-store")
    get(edge.port, path)
    r, _ = get(edge.port, path)
    assert "hit-for-pass" in status(r)


def test_site_default_and_max_ttl(tmp_path):
    e = Edge(str(tmp_path), site_extra="    cache: { default_ttl: 5s, max_ttl: 10s }\n")
    try:
        get(e.port, "/d")                       # no freshness given: default
        r, _ = get(e.port, "/d")
        assert status(r).startswith("strata; hit")
        assert 3 <= int(status(r).split("ttl=")[1]) <= 5
        get(e.port, "/m?" + q(cc="max-age=3600"))
        r, _ = get(e.port, "/m?" + q(cc="max-age=3600"))
        assert int(status(r).split("ttl=")[1]) <= 10
    finally:
        assert e.stop() == 0


def test_cache_disabled_for_site(tmp_path):
    e = Edge(str(tmp_path), site_extra="    cache: { enabled: false }\n")
    try:
        for _ in range(2):
            r, _ = get(e.port, "/off?" + q(cc="max-age=60"))
            assert r.getheader("Cache-Status") is None
        assert e.origin_stats()["requests"] == 2
    finally:
        assert e.stop() == 0


def test_only_unsafe_methods_invalidate_on_a_kept_connection(edge):
    path = "/keep?" + q(cc="max-age=60")
    c = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=10)
    for method, target in (("GET", path), ("OPTIONS", "/other"), ("GET", path)):
        c.request(method, target)
        r = c.getresponse()
        r.read()
    c.close()
    assert status(r).startswith("strata; hit")
    assert origin_count(edge) == 2  # the GET once, the OPTIONS once
