"""strata-load's HTTP/1.1 client against a scripted server: every response
framing (Content-Length, chunked with extensions and trailers, Connection:
close, body until EOF, interim 1xx), a bad response counted as a protocol
error, and the request bytes it sends (--header, --profile mix, Host)."""
import json
import os
import socket
import socketserver
import subprocess
import threading

import pytest

import harness

BODY = b"x" * 1000

RESPONSES = {
    "/len": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + BODY,
    "/chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Cache: HIT\r\n\r\n"
                 b"1f4;ext=1\r\n" + BODY[:500] + b"\r\n1F4\r\n" + BODY[:500] +
                 b"\r\n0\r\nTrailer-Field: t\r\n\r\n"),
    "/close": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n" + BODY,
    "/eof": b"HTTP/1.1 200 OK\r\nX-Cache: MISS\r\n\r\n" + BODY,
    "/early": (b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
               b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + BODY),
    "/nobody": b"HTTP/1.1 204 No Content\r\n\r\n",
    "/garbage": b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
}
CLOSES = ("/close", "/eof", "/garbage")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(5)
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                try:
                    b = self.request.recv(65536)
                except OSError:
                    return
                if not b:
                    return
                buf += b
            head, _, buf = buf.partition(b"\r\n\r\n")
            path = head.split(b" ")[1].decode()
            with self.server.lock:
                self.server.heads.append(head.decode())
            self.request.sendall(RESPONSES[path])
            if path in CLOSES:
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def server():
    s = Server(("127.0.0.1", 0), Handler)
    s.heads = []
    s.lock = threading.Lock()
    t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield s
    s.shutdown()
    s.server_close()
    t.join(timeout=5)


def run(server, tmp_path, urls, *args, rc=0):
    f = tmp_path / "urls.txt"
    f.write_text("".join("%s\n" % u for u in urls))
    out = tmp_path / "out.json"
    argv = [harness.binary("tools/strata-load"), "--url",
            "http://127.0.0.1:%d" % server.server_address[1], "--urls", str(f),
            "--json", str(out)] + [str(a) for a in args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert "Sanitizer" not in p.stderr and "runtime error:" not in p.stderr, p.stderr
    assert p.returncode == rc, p.stdout + p.stderr
    return json.loads(out.read_text())


def test_every_framing(server, tmp_path):
    paths = ["/len", "/chunked", "/close", "/eof", "/early", "/nobody"]
    d = run(server, tmp_path, paths, "-n", 600, "-c", 4)
    assert d["requests"] == 600 and d["errors"] == 0
    assert d["status"]["200"] + d["status"]["204"] == 600
    served = {p: 0 for p in paths}
    for h in server.heads:
        served[h.split(" ")[1]] += 1
    assert sum(served.values()) == 600
    assert d["bytes"] == 1000 * (600 - served["/nobody"])
    assert d["status"]["204"] == served["/nobody"]
    assert d["hits"] == served["/chunked"] and d["misses"] == served["/eof"]


def test_bad_response_is_a_protocol_error(server, tmp_path):
    d = run(server, tmp_path, ["/garbage"], "-n", 10, "-c", 2, rc=1)
    assert d["errors_by_kind"]["protocol"] == 10
    assert d["outcomes"]["no_response"] == 10


def test_request_headers_and_profiles(server, tmp_path):
    run(server, tmp_path, ["/len"], "-n", 800, "-c", 2, "--header", "X-Test: 1",
        "--header", "Host: site.test", "--profile", "1:Accept-Encoding: br|X-P: a",
        "--profile", "3:Accept-Encoding: gzip")
    heads = server.heads
    assert len(heads) == 800
    for h in heads:
        lines = h.split("\r\n")
        assert lines[0] == "GET /len HTTP/1.1"
        assert lines[1] == "Host: site.test"
        assert "X-Test: 1" in lines
        assert sum(1 for l in lines if l.lower().startswith("host:")) == 1
    br = sum(1 for h in heads if "Accept-Encoding: br\r\nX-P: a" in h)
    gz = sum(1 for h in heads if "Accept-Encoding: gzip" in h)
    assert br + gz == 800
    assert 2.4 < gz / br < 3.7
