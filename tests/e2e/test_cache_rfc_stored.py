"""What the cache does with what it stored, checked against RFC 9110/9111:
a 304 whose validator matches nothing stored updates nothing (§4.3.4);
preconditions and Range apply to stored 2xx / 200 responses only (RFC 9110
§13.2.1, §14.2); the client whose request filled the cache gets the fields
the cache may not store (§5.2.2.4, §5.2.2.7, Set-Cookie); a cached
response has a Date (RFC 9110 §6.6.1); strata's own 304/412/416 carry no
representation metadata (§15.4.5)."""
import time

import pytest

from harness import Edge, RawOrigin, free_port, start_strata, strata_yaml, get, q, status





@pytest.fixture
def edge(tmp_path):
    e = Edge(str(tmp_path))
    yield e
    assert e.stop() == 0


class Raw:
    """strata in front of a RawOrigin whose reply the test changes."""

    def __init__(self, tmpdir, reply, site_extra=""):
        self.o = RawOrigin(reply)
        self.port = free_port()
        self.p = start_strata(strata_yaml([self.o.port], self.port, site_extra=site_extra),
                              self.port, tmpdir)

    def stop(self):
        rc = self.p.stop()
        self.o.close()
        return rc


def reply(status_line, fields, body=b""):
    head = b"HTTP/1.1 " + status_line + b"\r\n" + b"".join(f + b"\r\n" for f in fields)
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


# ---------------------------------------------------------------- bug 1

def test_304_with_other_etag_updates_nothing(tmp_path):
    """Stored ETag "v1" (max-age=1); the revalidation answers 304 with
    ETag "v2": the v1 body is never served as "v2" nor made fresh again."""
    e = Raw(str(tmp_path), reply(b"200 OK", [b'ETag: "v1"', b"Cache-Control: max-age=1"],
                                 b"version-one"))
    try:
        r, b = get(e.port, "/x")
        assert b == b"version-one" and "stored" in status(r)
        time.sleep(2.1)
        e.o.reply = reply(b"304 Not Modified", [b'ETag: "v2"', b"Cache-Control: max-age=60"])
        r, b = get(e.port, "/x")
        assert r.status == 502, (r.status, r.getheaders(), b)
        assert r.getheader("ETag") != '"v2"' and b != b"version-one"
        assert "validator-mismatch" in status(r)
        # The stored v1 is gone: the next request fetches it whole.
        e.o.reply = reply(b"200 OK", [b'ETag: "v2"', b"Cache-Control: max-age=60"],
                          b"version-two")
        r, b = get(e.port, "/x")
        assert r.status == 200 and b == b"version-two" and r.getheader("ETag") == '"v2"'
        assert "fwd=uri-miss; stored" in status(r)
        r, b = get(e.port, "/x")
        assert b == b"version-two" and status(r).startswith("strata; hit")
    finally:
        assert e.stop() == 0


def test_304_with_same_etag_still_refreshes(tmp_path):
    e = Raw(str(tmp_path), reply(b"200 OK", [b'ETag: "v1"', b"Cache-Control: max-age=1"],
                                 b"version-one"))
    try:
        get(e.port, "/x")
        time.sleep(2.1)
        e.o.reply = reply(b"304 Not Modified", [b'ETag: "v1"', b"Cache-Control: max-age=60"])
        r, b = get(e.port, "/x")
        assert r.status == 200 and b == b"version-one"
        assert "fwd-status=304" in status(r) and "revalidated" in status(r)
        r, b = get(e.port, "/x")
        assert b == b"version-one" and status(r).startswith("strata; hit")
    finally:
        assert e.stop() == 0


# ---------------------------------------------------------------- bug 2

@pytest.mark.parametrize("code", [404, 301])
def test_no_conditionals_nor_range_on_stored_error(edge, code):
    path = "/err%d?%s" % (code, q(status=code, cc="max-age=60", etag=1, size=50))
    r1, b1 = get(edge.port, path)
    assert r1.status == code
    etag = r1.getheader("ETag")
    assert etag is not None
    for hdrs in ({"If-None-Match": etag}, {"If-Match": '"zz"'}, {"Range": "bytes=0-2"},
                 {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}):
        r, b = get(edge.port, path, hdrs)
        assert status(r).startswith("strata; hit"), hdrs
        assert r.status == code and b == b1, (hdrs, r.status)
    assert edge.origin_stats()["requests"] == 1


def test_no_range_on_stored_204(edge):
    path = "/nc?" + q(status=204, cc="max-age=60")
    r1, _ = get(edge.port, path)
    assert r1.status == 204
    r, b = get(edge.port, path, {"Range": "bytes=5-9"})
    assert status(r).startswith("strata; hit") and r.status == 204 and b == b""


def test_range_and_conditionals_on_stored_200_still_work(edge):
    path = "/ok?" + q(cc="max-age=60", etag=1, size=50)
    r1, b1 = get(edge.port, path)
    etag = r1.getheader("ETag")
    r, b = get(edge.port, path, {"Range": "bytes=0-2"})
    assert r.status == 206 and b == b1[:3]
    r, _ = get(edge.port, path, {"If-None-Match": etag})
    assert r.status == 304
    r, _ = get(edge.port, path, {"If-Match": '"zz"'})
    assert r.status == 412


# ---------------------------------------------------------------- bug 3

def test_leader_gets_fields_the_cache_may_not_store(edge):
    path = "/priv?" + q(cc='max-age=60, private="X-Secret", no-cache="Set-Cookie"',
                        hdr=["X-Secret:s3cr3t", "Set-Cookie:sid=1"])
    r1, b1 = get(edge.port, path)
    assert "stored" in status(r1)
    assert r1.getheader("X-Secret") == "s3cr3t"
    assert r1.getheader("Set-Cookie") == "sid=1"
    r2, b2 = get(edge.port, path)
    assert status(r2).startswith("strata; hit") and b2 == b1
    assert r2.getheader("X-Secret") is None and r2.getheader("Set-Cookie") is None


def test_leader_gets_set_cookie_when_site_stores_it(tmp_path):
    e = Edge(str(tmp_path), site_extra="    cache: { store_set_cookie: true }\n")
    try:
        path = "/ck?" + q(cc="max-age=60", hdr="Set-Cookie:sid=2")
        r1, _ = get(e.port, path)
        assert "stored" in status(r1) and r1.getheader("Set-Cookie") == "sid=2"
        r2, _ = get(e.port, path)
        assert status(r2).startswith("strata; hit") and r2.getheader("Set-Cookie") is None
    finally:
        assert e.stop() == 0


def test_set_cookie_not_stored_by_default_passes_through(edge):
    path = "/ck?" + q(cc="max-age=60", hdr="Set-Cookie:sid=3")
    for _ in range(2):
        r, _ = get(edge.port, path)
        assert "stored" not in status(r) and r.getheader("Set-Cookie") == "sid=3"


# ---------------------------------------------------------------- bug 4

def test_date_added_when_origin_sends_none(tmp_path):
    e = Raw(str(tmp_path), reply(b"200 OK", [b"Cache-Control: max-age=60"], b"nodate"))
    try:
        r1, _ = get(e.port, "/d")
        r2, _ = get(e.port, "/d")
        assert status(r2).startswith("strata; hit")
        for r in (r1, r2):
            d = r.getheader("Date")
            assert d is not None
            assert abs(time.mktime(time.strptime(d, "%a, %d %b %Y %H:%M:%S GMT"))
                       - time.mktime(time.gmtime())) < 5
        assert r1.getheader("Date") == r2.getheader("Date")
        assert len(r2.msg.get_all("Date")) == 1
        assert int(r2.getheader("Age")) <= 1
    finally:
        assert e.stop() == 0


# ---------------------------------------------------------------- bug 5

def test_own_304_and_412_carry_no_representation_metadata(edge):
    path = "/m?" + q(cc="max-age=60", etag=1, size=50, type="text/css",
                     hdr="Content-Language:en")
    r1, _ = get(edge.port, path)
    etag = r1.getheader("ETag")
    r, _ = get(edge.port, path, {"If-None-Match": etag})
    assert r.status == 304 and r.getheader("ETag") == etag
    assert r.getheader("Cache-Control") == "max-age=60" and r.getheader("Date")
    assert r.getheader("Content-Type") is None and r.getheader("Content-Language") is None
    r, _ = get(edge.port, path, {"If-Match": '"zz"'})
    assert r.status == 412
    assert r.getheader("Content-Type") != "text/css" and r.getheader("Cache-Control") is None
    assert r.getheader("Content-Language") is None
    r, _ = get(edge.port, path, {"Range": "bytes=100-200"})
    assert r.status == 416 and r.getheader("Content-Range") == "bytes */50"
    assert r.getheader("Content-Type") != "text/css" and r.getheader("Cache-Control") is None
