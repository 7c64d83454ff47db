"""Large bodies stream through with bounded memory, and a slow client slows
the upstream read instead of filling the node's memory."""
import hashlib
import http.client
import os
import socket
import time

from harness import Edge, read_responses

SANITIZED = os.environ.get("STRATA_SANITIZERS") == "yes"
# Sanitizer builds are several times slower and carry shadow memory.
BIG = (256 << 20) if SANITIZED else (1 << 30)
RSS_LIMIT = (128 << 20) if SANITIZED else (64 << 20)
# ASan keeps freed memory in a quarantine (256 MiB by default): keep it
# small so RSS shows what the node holds, not what ASan holds back.
ENV = {"ASAN_OPTIONS": "quarantine_size_mb=8:detect_leaks=1"}


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def digest_of(port, path, pid=None, max_rss=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    h = hashlib.sha1()
    n = 0
    peak = 0
    while True:
        b = r.read(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
        if pid and (n & ((64 << 20) - 1)) < (1 << 20):
            peak = max(peak, rss(pid))
    c.close()
    return r.status, n, h.hexdigest(), peak


def test_large_body_streams_with_bounded_rss(tmp_path):
    e = Edge(str(tmp_path), env=ENV)
    try:
        path = "/big.bin?size=%d" % BIG
        status, n, d_edge, peak = digest_of(e.port, path, pid=e.proc.pid)
        assert status == 200 and n == BIG
        assert peak < RSS_LIMIT, "strata RSS peaked at %d MiB" % (peak >> 20)
        _, _, d_origin, _ = digest_of(e.origin.port, "/big.bin?size=%d" % (16 << 20))
        _, _, d_edge16, _ = digest_of(e.port, "/big.bin?size=%d" % (16 << 20))
        assert d_origin == d_edge16
    finally:
        assert e.stop() == 0


def test_slow_client_backpressure(tmp_path):
    e = Edge(str(tmp_path), env=ENV)
    size = 200 << 20
    try:
        with socket.create_connection(("127.0.0.1", e.port), timeout=10) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            s.sendall(b"GET /slow.bin?size=%d HTTP/1.1\r\nHost: a\r\n\r\n" % size)
            got = s.recv(65536)
            time.sleep(1.0)  # stalls: strata must stop reading upstream
            assert rss(e.proc.pid) < RSS_LIMIT
            total = len(got)
            while total < size + 100:
                b = s.recv(1 << 20)
                if not b:
                    break
                total += len(b)
                if b"\r\n\r\n" in got and total - got.index(b"\r\n\r\n") - 4 >= size:
                    break
        assert total > size
    finally:
        assert e.stop() == 0
