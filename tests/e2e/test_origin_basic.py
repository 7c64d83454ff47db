"""strata-origin on its own: deterministic bodies, sizes, media types and
compressibility, every header-shaping query parameter, conditional requests,
HEAD, chunked framing and the /__stats and /__reset admin paths.

Helpers here (fetch, stats, wait_until) are shared with the other
test_origin_*.py files."""
import hashlib
import http.client
import time
import zlib
from email.utils import parsedate_to_datetime

import pytest

from harness import get_json, http_request, parse_response, start_origin

# sha256 of /golden/page.html?size=5000 and /golden/blob.bin?size=5000: the
# determinism contract across runs, machines and versions. Change body.c and
# these change: only ever on purpose.
GOLDEN_HTML = "049b4184af1a4b20b0da7c40b9d47980cafad6e8bb57b884fad3018e832f0410"
GOLDEN_BIN = "dc085ff2f6196247e0564fd9b707cb627d29b4266b5556b61fb7b03449439310"


def fetch(port, path, method="GET", headers=None, body=None, host="127.0.0.1"):
    """One request on a fresh connection: (response, body bytes)."""
    c = http.client.HTTPConnection(host, port, timeout=5)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def stats(port, detail=False):
    return get_json(port, "/__stats" + ("?detail=1" if detail else ""))


def wait_until(pred, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def test_same_url_same_bytes_across_processes(origin):
    _, a = fetch(origin.port, "/d/x.html?size=200000&v=1")
    _, b = fetch(origin.port, "/d/x.html?size=200000&v=1")
    other = start_origin()
    try:
        _, c = fetch(other.port, "/d/x.html?size=200000&v=1")
    finally:
        assert other.stop() == 0
    assert a == b == c and len(a) == 200000


def test_different_urls_differ(origin):
    bodies = set()
    for path in ("/a.bin", "/b.bin", "/a.bin?v=2", "/a.bin?size=1024"):
        _, b = fetch(origin.port, path)
        assert len(b) == 1024
        bodies.add(b)
    assert len(bodies) == 4


def test_golden_bodies(origin):
    _, html = fetch(origin.port, "/golden/page.html?size=5000")
    _, blob = fetch(origin.port, "/golden/blob.bin?size=5000")
    assert html.startswith(b"<!DOCTYPE html>\n")
    assert hashlib.sha256(html).hexdigest() == GOLDEN_HTML
    assert hashlib.sha256(blob).hexdigest() == GOLDEN_BIN


@pytest.mark.parametrize("q,n", [
    ("", 1024), ("size=0", 0), ("size=1", 1), ("size=65536", 65536),
    ("size=65537", 65537), ("size=3k", 3 << 10), ("size=2M", 2 << 20),
])
def test_sizes(origin, q, n):
    r, b = fetch(origin.port, "/s.bin?" + q)
    assert r.status == 200 and len(b) == n
    assert r.getheader("Content-Length") == str(n)


@pytest.mark.parametrize("q", ["size=65g", "size=12x", "size=-1", "status=99",
                               "etag=2", "fail=boom", "lm=yes", "hdr=nocolon",
                               "delay_ms=abc", "cc=a%0Db"])
def test_bad_parameter_is_400(origin, q):
    r, b = fetch(origin.port, "/p?" + q)
    assert r.status == 400
    assert q.split("=")[0].encode() in b


def test_size_limit_accepted_on_head(origin):
    r, _ = fetch(origin.port, "/huge.bin?size=64g", method="HEAD")
    assert r.status == 200 and r.getheader("Content-Length") == str(64 << 30)


@pytest.mark.parametrize("path,ctype", [
    ("/", "text/html; charset=utf-8"),
    ("/dir/page", "text/html; charset=utf-8"),
    ("/a.html", "text/html; charset=utf-8"),
    ("/a.css", "text/css; charset=utf-8"),
    ("/a.js", "text/javascript; charset=utf-8"),
    ("/a.json", "application/json"),
    ("/a.svg", "image/svg+xml"),
    ("/a.txt", "text/plain; charset=utf-8"),
    ("/a.png", "image/png"),
    ("/a.JPG", "image/jpeg"),
    ("/f.woff2", "font/woff2"),
    ("/a.bin", "application/octet-stream"),
    ("/a.weird", "application/octet-stream"),
    ("/a.bin?type=text/css", "text/css"),
    ("/x?type=application%2Fvnd.test%2Bjson", "application/vnd.test+json"),
])
def test_media_types(origin, path, ctype):
    r, _ = fetch(origin.port, path)
    assert r.getheader("Content-Type") == ctype


@pytest.mark.parametrize("path,lo,hi", [
    ("/page.html", 2.5, 10), ("/site.css", 2.5, 10), ("/app.js", 2.5, 10),
    ("/notes.txt", 2.5, 10), ("/x?type=text/html", 2.5, 10),
    ("/photo.jpg", 0.9, 1.02), ("/x.bin?type=image/png", 0.9, 1.02),
])
def test_compressibility(origin, path, lo, hi):
    sep = "&" if "?" in path else "?"
    _, b = fetch(origin.port, path + sep + "size=100k")
    assert len(b) == 100 << 10
    ratio = len(b) / len(zlib.compress(b, 6))
    assert lo <= ratio <= hi, ratio


def test_text_looks_like_text(origin):
    _, b = fetch(origin.port, "/page.html?size=20000")
    text = b.decode("ascii")
    assert "<section" in text and "</p>" in text
    _, b = fetch(origin.port, "/s.css?size=20000")
    assert "{\n" in b.decode("ascii")


def test_every_response_has_common_headers(origin):
    for path in ("/a", "/a?fail=500", "/a?size=x", "/__stats", "/__echo"):
        r, _ = fetch(origin.port, path)
        for h in ("Date", "Content-Type", "X-Origin-Request", "X-Origin-Conn"):
            assert r.getheader(h), (path, h)
    r1, _ = fetch(origin.port, "/a")
    r2, _ = fetch(origin.port, "/a")
    assert int(r2.getheader("X-Origin-Request")) > int(r1.getheader("X-Origin-Request"))


def test_cache_header_parameters(origin):
    q = ("cc=public%2C%20max-age%3D60&vary=Accept-Encoding,%20X-A&tags=a,b,c"
         "&expires=120&set_cookie=1&hdr=X-One:1&hdr=X-Two:%20two%20words"
         "&hdr=Link:%3C%2Fs.css%3E%3B%20rel%3Dpreload")
    r, _ = fetch(origin.port, "/h.html?" + q)
    assert r.status == 200
    assert r.getheader("Cache-Control") == "public, max-age=60"
    assert r.getheader("Vary") == "Accept-Encoding, X-A"
    assert r.getheader("Surrogate-Key") == "a b c"
    assert r.getheader("Set-Cookie").startswith("sid=")
    assert r.getheader("X-One") == "1"
    assert r.getheader("X-Two") == "two words"
    assert r.getheader("Link") == "</s.css>; rel=preload"
    exp = parsedate_to_datetime(r.getheader("Expires")).timestamp()
    assert abs(exp - (time.time() + 120)) < 5
    r, _ = fetch(origin.port, "/h.html?expires=-60")
    assert parsedate_to_datetime(r.getheader("Expires")).timestamp() < time.time()


def test_no_optional_headers_by_default(origin):
    r, _ = fetch(origin.port, "/plain")
    for h in ("Cache-Control", "Expires", "Last-Modified", "Vary", "Surrogate-Key",
              "Set-Cookie"):
        assert r.getheader(h) is None, h


def test_etag_variants(origin):
    r1, _ = fetch(origin.port, "/e?size=10")
    r2, _ = fetch(origin.port, "/e?size=10")
    etag = r1.getheader("ETag")
    assert etag.startswith('"') and etag.endswith('"') and etag == r2.getheader("ETag")
    assert fetch(origin.port, "/e?size=11")[0].getheader("ETag") != etag
    assert fetch(origin.port, "/e?size=10&etag=w")[0].getheader("ETag").startswith('W/"')
    assert fetch(origin.port, "/e?size=10&etag=0")[0].getheader("ETag") is None


def test_last_modified_is_fixed_per_url(origin):
    a = fetch(origin.port, "/lm?lm=1")[0].getheader("Last-Modified")
    b = fetch(origin.port, "/lm?lm=1")[0].getheader("Last-Modified")
    c = fetch(origin.port, "/other?lm=1")[0].getheader("Last-Modified")
    assert a == b and a != c
    assert parsedate_to_datetime(a).year in (2020, 2021, 2022)


@pytest.mark.parametrize("status", [201, 404, 410, 500, 503])
def test_status_parameter_keeps_body(origin, status):
    r, b = fetch(origin.port, "/st?size=77&status=%d" % status)
    assert r.status == status and len(b) == 77
    assert r.getheader("ETag")


def test_status_204_has_no_body(origin):
    raw = http_request(origin.port, b"GET /st?status=204&size=500 HTTP/1.1\r\nHost: a\r\n"
                       b"Connection: close\r\n\r\n")
    status, headers, rest = parse_response(raw)
    assert status == 204 and rest == b"" and "content-length" not in headers


def test_if_none_match(origin):
    path = "/c.css?size=100&cc=max-age%3D5"
    etag = fetch(origin.port, path)[0].getheader("ETag")
    weak = "W/" + etag
    for inm in (etag, weak, '"nope", ' + etag, "*", ' "x" ,W/"y",  ' + etag):
        r, b = fetch(origin.port, path, headers={"If-None-Match": inm})
        assert r.status == 304 and b == b"", inm
        assert r.getheader("ETag") == etag
        assert r.getheader("Cache-Control") == "max-age=5"
    for inm in ('"nope"', "W/" + '"nope"', "garbage"):
        assert fetch(origin.port, path, headers={"If-None-Match": inm})[0].status == 200
    assert stats(origin.port)["not_modified"] == 5


def test_if_none_match_without_etag(origin):
    assert fetch(origin.port, "/n?etag=0", headers={"If-None-Match": '"a"'})[0].status == 200
    assert fetch(origin.port, "/n?etag=0", headers={"If-None-Match": "*"})[0].status == 304


def test_if_modified_since(origin):
    lm = fetch(origin.port, "/m?lm=1")[0].getheader("Last-Modified")
    later = "Sat, 01 Jan 2039 00:00:00 GMT"
    early = "Thu, 01 Jan 2015 00:00:00 GMT"
    assert fetch(origin.port, "/m?lm=1", headers={"If-Modified-Since": lm})[0].status == 304
    assert fetch(origin.port, "/m?lm=1", headers={"If-Modified-Since": later})[0].status == 304
    assert fetch(origin.port, "/m?lm=1", headers={"If-Modified-Since": early})[0].status == 200
    assert fetch(origin.port, "/m?lm=1", headers={"If-Modified-Since": "junk"})[0].status == 200
    # Without Last-Modified there is nothing to compare.
    assert fetch(origin.port, "/m", headers={"If-Modified-Since": later})[0].status == 200
    # If-None-Match wins over If-Modified-Since.
    r, _ = fetch(origin.port, "/m?lm=1", headers={"If-Modified-Since": later,
                                                   "If-None-Match": '"other"'})
    assert r.status == 200


def test_conditionals_only_for_get_and_2xx(origin):
    h = {"If-None-Match": "*"}
    assert fetch(origin.port, "/k", method="HEAD", headers=h)[0].status == 304
    assert fetch(origin.port, "/k", method="POST", headers=h, body=b"x")[0].status == 200
    assert fetch(origin.port, "/k?status=404", headers=h)[0].status == 404


def test_head_same_headers_no_body(origin):
    g, body = fetch(origin.port, "/hd.js?size=9000&cc=no-cache&tags=t")
    raw = http_request(origin.port, b"HEAD /hd.js?size=9000&cc=no-cache&tags=t HTTP/1.1\r\n"
                       b"Host: a\r\n\r\nGET /after?size=3 HTTP/1.1\r\nHost: a\r\n"
                       b"Connection: close\r\n\r\n")
    status, headers, rest = parse_response(raw)
    assert status == 200 and len(body) == 9000
    for h in ("content-type", "content-length", "etag", "cache-control", "surrogate-key"):
        assert headers[h] == [g.getheader(h)], h
    # Nothing after the head: the next bytes are the next response.
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(parse_response(rest)[2]) == 3


def test_chunked(origin):
    raw = http_request(origin.port, b"GET /ch.txt?size=150000&chunked=1 HTTP/1.1\r\n"
                       b"Host: a\r\nConnection: close\r\n\r\n")
    status, headers, rest = parse_response(raw)
    assert status == 200 and headers["transfer-encoding"] == ["chunked"]
    assert "content-length" not in headers
    body, pos = b"", 0
    while True:
        eol = rest.index(b"\r\n", pos)
        n = int(rest[pos:eol], 16)
        body += rest[eol + 2:eol + 2 + n]
        pos = eol + 4 + n
        if n == 0:
            break
    assert len(body) == 150000 and pos == len(rest)
    assert body == fetch(origin.port, "/ch.txt?size=150000&chunked=1")[1]


def test_chunked_small_and_empty(origin):
    for n in (0, 1, 10):
        r, b = fetch(origin.port, "/c?chunked=1&size=%d" % n)
        assert r.getheader("Transfer-Encoding") == "chunked" and len(b) == n


def test_chunked_on_http10_is_close_delimited(origin):
    raw = http_request(origin.port, b"GET /c10?size=5000&chunked=1 HTTP/1.0\r\n"
                       b"Connection: keep-alive\r\n\r\n")
    status, headers, rest = parse_response(raw)
    assert status == 200 and "transfer-encoding" not in headers
    assert "content-length" not in headers and len(rest) == 5000


def test_stats_count_content_requests_only(origin):
    fetch(origin.port, "/one?size=10")
    fetch(origin.port, "/one?size=10")
    fetch(origin.port, "/two?size=5", method="HEAD")
    fetch(origin.port, "/three?size=7", method="POST", body=b"abcdef")
    fetch(origin.port, "/__echo", method="POST", body=b"not counted")
    st = stats(origin.port, detail=True)
    assert st["requests"] == 4
    assert st["bytes"] == 27
    assert st["received_bytes"] == 6
    assert st["by_method"]["GET"] == 2 and st["by_method"]["HEAD"] == 1
    assert st["by_method"]["POST"] == 1
    assert st["by_status"] == {"200": 4}
    assert st["paths"] == {"/one?size=10": 2, "/two?size=5": 1, "/three?size=7": 1}
    assert "paths" not in stats(origin.port)


def test_reset(origin):
    fetch(origin.port, "/r?size=10")
    r, b = fetch(origin.port, "/__reset", method="POST")
    assert r.status == 204 and b == b""
    st = stats(origin.port, detail=True)
    assert st["requests"] == 0 and st["bytes"] == 0 and st["paths"] == {}
    assert st["connections"] == 0
    r, _ = fetch(origin.port, "/__reset")
    assert r.status == 405 and r.getheader("Allow") == "POST"
