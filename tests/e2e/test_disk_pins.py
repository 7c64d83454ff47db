"""A disk hit being streamed is pinned: eviction (a map too small for what
follows) and invalidation (an unsafe method on its URL) never cut it. The
slow client gets the whole, right body; lookups stop finding an
invalidated object at once; the space comes back once the client is done."""
import hashlib
import socket
import threading
import time

from harness import Edge, http_request
from test_disk_stream import disk_conf, get, q

SIZE = 12 << 20


class SlowReader(threading.Thread):
    """GETs path over a socket with a small receive buffer, reading about
    4 MiB/s: the node cannot push the body ahead of it."""

    def __init__(self, port, path):
        super().__init__()
        self.port, self.path = port, path
        self.got = 0
        self.started = threading.Event()
        self.result = None

    def run(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 10)
        s.settimeout(10)
        s.connect(("127.0.0.1", self.port))
        # The Host http.client sends: the same cache key as get().
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                   % (self.path, self.port)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, _, body = buf.partition(b"\r\n\r\n")
        length = int([ln.split(b":")[1] for ln in head.split(b"\r\n")
                      if ln.lower().startswith(b"content-length:")][0])
        h = hashlib.sha256(body)
        n = len(body)
        deadline = time.monotonic() + 30
        try:
            while n < length and time.monotonic() < deadline:
                b = s.recv(16384)
                if not b:
                    break
                h.update(b)
                n += len(b)
                self.got = n
                if n > (1 << 20):
                    self.started.set()
                time.sleep(0.004)
        except OSError:
            pass
        finally:
            self.started.set()
            s.close()
        cs = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"cache-status:")]
        self.result = (cs[0] if cs else b"", n, length, h.hexdigest())


def hit_status(port, path):
    return get(port, path)[1]["Cache-Status"]


def fill(e, path):
    st, h, n, _, _ = get(e.port, path)
    assert (st, n) == (200, SIZE)
    return h["Cache-Status"]


def start_slow_hit(e, path):
    """Stores path (a fill), then starts a slow reader of its disk hit and
    waits until it has read a first MiB: (the origin's digest, reader)."""
    want = get(e.origin.port, path)[3]
    assert "stored" in fill(e, path)
    r = SlowReader(e.port, path)
    r.start()
    assert r.started.wait(10)
    return want, r


def expect_whole_hit(r, want):
    """The slow reader got the whole body of a disk hit, byte for byte."""
    r.join(timeout=40)
    status, n, length, digest = r.result
    assert b"strata; hit" in status, status  # streamed from disk
    assert (n, length, digest) == (SIZE, SIZE, want)


def test_eviction_passes_a_disk_hit_being_streamed(tmp_path):
    e = Edge(str(tmp_path), extra=disk_conf(str(tmp_path / "cache"), size="64MiB"))
    path = "/pin/a.bin?%s" % q(size=SIZE, cc="max-age=3600")
    try:
        want, r = start_slow_hit(e, path)
        # Six more objects of the same size: the map holds about four, and
        # the one being read is the oldest.
        for i in range(6):
            assert "stored" in fill(e, "/pin/o%d.bin?%s" % (i, q(size=SIZE, cc="max-age=3600")))
        assert r.got < SIZE, "the reader finished before the evictions: not a test"
        expect_whole_hit(r, want)
        # Once its reader is gone it is evicted like any other object.
        for i in range(6, 10):
            fill(e, "/pin/o%d.bin?%s" % (i, q(size=SIZE, cc="max-age=3600")))
        assert "uri-miss" in hit_status(e.port, path)
    finally:
        assert e.stop() == 0


def test_invalidation_does_not_cut_a_disk_hit_being_streamed(tmp_path):
    e = Edge(str(tmp_path), extra=disk_conf(str(tmp_path / "cache"), size="256MiB"))
    path = "/pin/b.bin?%s" % q(size=SIZE, cc="max-age=3600")
    try:
        want, r = start_slow_hit(e, path)
        raw = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 0\r\n"
               "Connection: close\r\n\r\n" % (path, e.port)).encode()
        assert http_request(e.port, raw).startswith(b"HTTP/1.1 200")
        # Invalidated: the next GET is a miss, while the reader goes on.
        assert "uri-miss" in hit_status(e.port, path)
        assert r.got < SIZE, "the reader finished before the POST: not a test"
        expect_whole_hit(r, want)
    finally:
        assert e.stop() == 0
