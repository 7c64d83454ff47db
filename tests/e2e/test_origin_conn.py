"""strata-origin connections and the rest of its surface: keep-alive and
connection counting, pipelining (also into a pending delayed answer),
IPv6 and several listeners, /__echo, methods, command-line handling and
exit codes, signals, and --root file serving."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from harness import Proc, binary, free_port, http_request, parse_response, read_responses
from harness import start_origin
from test_origin_basic import fetch, stats, wait_until

XXH64_EMPTY = "ef46db3751d8e999"


def test_keepalive_reuses_one_connection(origin):
    c = http.client.HTTPConnection("127.0.0.1", origin.port, timeout=5)
    ids = set()
    for i in range(5):
        c.request("GET", "/k%d?size=100" % i)
        r = c.getresponse()
        assert len(r.read()) == 100
        ids.add(r.getheader("X-Origin-Conn"))
    st = stats(origin.port)
    c.close()
    assert len(ids) == 1
    # Port probes and admin-only connections are not counted.
    assert st["connections"] == 1 and st["live_connections"] == 1
    assert st["accepted_connections"] >= 3
    r, _ = fetch(origin.port, "/other")
    assert r.getheader("X-Origin-Conn") not in ids
    assert wait_until(lambda: stats(origin.port)["live_connections"] == 0)
    assert stats(origin.port)["connections"] == 2


def test_live_connections_follow_clients(origin):
    socks = []
    for i in range(3):
        s = socket.create_connection(("127.0.0.1", origin.port), timeout=5)
        s.sendall(b"GET /l%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
        read_responses(s, 1)
        socks.append(s)
    assert stats(origin.port)["live_connections"] == 3
    for s in socks:
        s.close()
    assert wait_until(lambda: stats(origin.port)["live_connections"] == 0)


def test_connections_counted_again_after_reset(origin):
    c = http.client.HTTPConnection("127.0.0.1", origin.port, timeout=5)
    c.request("GET", "/a")
    c.getresponse().read()
    fetch(origin.port, "/__reset", method="POST")
    c.request("GET", "/b")
    c.getresponse().read()
    st = stats(origin.port)
    c.close()
    assert st["connections"] == 1 and st["live_connections"] == 1 and st["requests"] == 1


def split_responses(data, methods):
    """Splits a byte stream into one (status, headers, body) per request
    method; HEAD responses have no body whatever their framing says."""
    out = []
    for m in methods:
        head, _, data = data.partition(b"\r\n\r\n")
        status, headers, _ = parse_response(head + b"\r\n\r\n")
        body = b""
        if m == "HEAD":
            pass
        elif "content-length" in headers:
            n = int(headers["content-length"][0])
            body, data = data[:n], data[n:]
        else:
            while True:
                line, _, data = data.partition(b"\r\n")
                n = int(line, 16)
                body, data = body + data[:n], data[n + 2:]
                if n == 0:
                    break
        out.append((status, headers, body))
    return out, data


def test_pipelined_requests_in_order(origin):
    reqs = (b"GET /p1?size=10 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /p2?size=20&delay_ms=100 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"HEAD /p3?size=30 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /p4?size=70000&chunked=1 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"POST /__echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
            b"GET /p6?size=200000&fail=503 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /p7?size=200000 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    data = http_request(origin.port, reqs)
    resps, rest = split_responses(data, ["GET", "GET", "HEAD", "GET", "POST", "GET", "GET"])
    assert rest == b""
    assert [r[0] for r in resps] == [200, 200, 200, 200, 200, 503, 200]
    assert [len(r[2]) for r in resps[:4]] == [10, 20, 0, 70000]
    assert resps[2][1]["content-length"] == ["30"]
    assert json.loads(resps[4][2])["body_length"] == 3
    assert len(resps[6][2]) == 200000
    assert len({r[1]["x-origin-conn"][0] for r in resps}) == 1


def test_request_arriving_while_answer_is_delayed(origin):
    with socket.create_connection(("127.0.0.1", origin.port), timeout=5) as s:
        s.sendall(b"GET /slow?delay_ms=300&size=5 HTTP/1.1\r\nHost: a\r\n\r\n")
        time.sleep(0.1)
        s.sendall(b"GET /next?size=7 HTTP/1.1\r\nHost: a\r\n\r\n")
        time.sleep(0.05)
        s.sendall(b"GET /last?size=9 HTTP/1.1\r\nHost: a\r\n\r\n")
        resps = read_responses(s, 3)
    assert [len(b) for _, _, b in resps] == [5, 7, 9]
    assert fetch(origin.port, "/alive")[0].status == 200


def test_ipv6_and_two_listeners():
    p4, p6 = free_port(), free_port(socket.AF_INET6)
    o = Proc([binary("tools/strata-origin"), "--listen", "127.0.0.1:%d" % p4,
              "--listen", "[::1]:%d" % p6], port=p4)
    try:
        r6, b6 = fetch(p6, "/v6?size=300", host="::1")
        r4, b4 = fetch(p4, "/v6?size=300")
        assert r6.status == 200 and b6 == b4
    finally:
        assert o.stop() == 0


def test_echo_describes_request(origin):
    body = bytes(range(256)) * 100
    raw = (b"PUT /__echo/x?y=1 HTTP/1.1\r\nHost: h.example\r\nX-Mixed-Case: A b\r\n"
           b"x-dup: 1\r\nX-Dup: 2\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
           % len(body)) + body
    status, headers, data = parse_response(http_request(origin.port, raw))
    e = json.loads(data)
    assert status == 200 and headers["content-type"] == ["application/json"]
    assert e["method"] == "PUT" and e["target"] == "/__echo/x?y=1"
    assert e["version"] == "HTTP/1.1"
    assert e["headers"] == [["Host", "h.example"], ["X-Mixed-Case", "A b"], ["x-dup", "1"],
                            ["X-Dup", "2"], ["Content-Length", str(len(body))],
                            ["Connection", "close"]]
    assert e["body_length"] == len(body)
    assert len(e["body_xxh64"]) == 16 and e["body_xxh64"] != XXH64_EMPTY
    assert stats(origin.port)["requests"] == 0


def test_echo_hash_and_methods(origin):
    r, d = fetch(origin.port, "/__echo", method="GET")
    assert json.loads(d)["body_xxh64"] == XXH64_EMPTY
    hashes = set()
    for m in ("POST", "PATCH", "PUT"):
        e = json.loads(fetch(origin.port, "/__echo", method=m, body=b"same")[1])
        assert e["method"] == m and e["body_length"] == 4
        hashes.add(e["body_xxh64"])
    assert len(hashes) == 1
    for m in ("DELETE", "OPTIONS"):
        assert json.loads(fetch(origin.port, "/__echo", method=m)[1])["method"] == m
    raw = (b"POST /__echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    e = json.loads(parse_response(http_request(origin.port, raw))[2])
    assert e["version"] == "HTTP/1.0" and e["body_length"] == 5


def test_methods_on_content_paths(origin):
    for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        r, b = fetch(origin.port, "/m?size=12", method=m,
                     body=b"xy" if m in ("POST", "PUT", "PATCH") else None)
        assert r.status == 200 and len(b) == 12, m
    st = stats(origin.port)
    assert st["received_bytes"] == 6
    assert all(st["by_method"][m] == 1 for m in ("GET", "POST", "PUT", "PATCH", "DELETE",
                                                  "OPTIONS"))
    # evhttp 2.1 only knows the RFC methods: others get 501 and are not counted.
    raw = http_request(origin.port, b"PURGE /m HTTP/1.1\r\nHost: a\r\n\r\n")
    assert parse_response(raw)[0] == 501
    assert stats(origin.port)["requests"] == 6


@pytest.mark.parametrize("args", [["--bogus"], ["--latency-ms"], ["--latency-ms", "x"],
                                  ["--listen", "nocolon"], ["--listen", "[::1]8080"],
                                  ["--listen", "1.2.3.4:99999"], ["--root", "/nonexistent"],
                                  ["extra"]])
def test_bad_command_line_exits_2(args):
    p = subprocess.run([binary("tools/strata-origin")] + args, capture_output=True, timeout=5)
    assert p.returncode == 2 and b"strata-origin:" in p.stderr and p.stdout == b""


def test_help_exits_0():
    p = subprocess.run([binary("tools/strata-origin"), "-h"], capture_output=True, timeout=5)
    assert p.returncode == 0 and b"--listen" in p.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_exit_0_promptly(sig):
    o = start_origin("-q")
    keep = socket.create_connection(("127.0.0.1", o.port), timeout=5)
    keep.sendall(b"GET /h?fail=hang HTTP/1.1\r\nHost: a\r\n\r\n")
    time.sleep(0.05)
    t0 = time.monotonic()
    o.signal(sig)
    assert o.wait(timeout=3) == 0
    assert time.monotonic() - t0 < 1
    keep.close()
    assert o.stop() == 0


def test_quiet_logs_nothing_on_start():
    o = start_origin("--quiet")
    try:
        fetch(o.port, "/q")
        assert o.log() == ""
    finally:
        assert o.stop() == 0


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "www"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_bytes(b"<h1>home</h1>")
    (root / "sub" / "a.css").write_bytes(b"body{}")
    (root / "big.bin").write_bytes(os.urandom(300000))
    (tmp_path / "secret.txt").write_bytes(b"TOP SECRET")
    os.symlink(str(tmp_path / "secret.txt"), str(root / "link.txt"))
    o = start_origin("--root", str(root))
    yield o, root
    assert o.stop() == 0


def test_root_serves_files(site):
    o, root = site
    r, b = fetch(o.port, "/sub/a.css?cc=max-age%3D9")
    assert b == b"body{}" and r.getheader("Content-Type") == "text/css; charset=utf-8"
    assert r.getheader("Cache-Control") == "max-age=9"
    assert fetch(o.port, "/")[1] == b"<h1>home</h1>"
    assert fetch(o.port, "/sub/%61.css")[1] == b"body{}"
    assert fetch(o.port, "/big.bin")[1] == (root / "big.bin").read_bytes()
    assert fetch(o.port, "/big.bin?chunked=1")[1] == (root / "big.bin").read_bytes()
    r, b = fetch(o.port, "/big.bin", method="HEAD")
    assert r.getheader("Content-Length") == "300000" and b == b""
    r, b = fetch(o.port, "/missing.txt?size=33")
    assert r.status == 200 and len(b) == 33


def test_root_validators_use_the_file(site):
    o, root = site
    r, _ = fetch(o.port, "/sub/a.css?lm=1")
    lm = r.getheader("Last-Modified")
    mtime = os.stat(str(root / "sub" / "a.css")).st_mtime
    from email.utils import parsedate_to_datetime
    assert int(parsedate_to_datetime(lm).timestamp()) == int(mtime)
    assert fetch(o.port, "/sub/a.css?lm=1", headers={"If-Modified-Since": lm})[0].status == 304
    etag = fetch(o.port, "/sub/a.css")[0].getheader("ETag")
    assert fetch(o.port, "/sub/a.css", headers={"If-None-Match": etag})[0].status == 304


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/sub/../../secret.txt",
                                  "/link.txt", "/sub/..%2F..%2Fsecret.txt"])
def test_root_never_serves_outside(site, path):
    o, _ = site
    raw = http_request(o.port, ("GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                                % path).encode())
    assert b"TOP SECRET" not in raw


def test_absolute_form_names_the_same_resource(origin):
    raw = http_request(origin.port, b"GET http://x.example/a.css?size=100 HTTP/1.1\r\n"
                       b"Host: x.example\r\nConnection: close\r\n\r\n")
    status, headers, body = parse_response(raw)
    r, direct = fetch(origin.port, "/a.css?size=100")
    assert status == 200 and body == direct
    assert headers["etag"] == [r.getheader("ETag")]
    raw = http_request(origin.port, b"GET http://x.example/__echo?q=1 HTTP/1.1\r\n"
                       b"Host: x.example\r\nConnection: close\r\n\r\n")
    assert json.loads(parse_response(raw)[2])["target"] == "http://x.example/__echo?q=1"
