"""Objects larger than the RAM tier's max_object: filled into the disk tier
as they arrive, streamed from it with bounded memory (before and after a
restart), shared by concurrent requests through one origin fetch, and read
chunk by chunk so a range touches only the chunks it covers. Objects that
fit RAM are promoted from disk as they are read."""
import hashlib
import http.client
import os
import re
import signal
import subprocess
import threading
import time
import urllib.parse

from harness import Edge, start_strata

SANITIZED = os.environ.get("STRATA_SANITIZERS") == "yes"
CHUNK = 256 * 1024
BIG = (256 << 20) if SANITIZED else (1 << 30)


def q(**params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def disk_conf(path, memory="16MiB", max_object="1MiB", size="4GiB"):
    return "cache: { memory: %s, max_object: %s, disk: { path: %s, size: %s } }\n" % (
        memory, max_object, path, size)


def get(port, path, headers=None, timeout=60):
    """Status, headers, body length, sha256 and the body when small."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    h = hashlib.sha256()
    n = 0
    keep = bytearray()
    try:
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
            if len(keep) < (16 << 20):
                keep += b
    except http.client.IncompleteRead as ex:
        n += len(ex.partial)
        return r.status, dict(r.getheaders()), n, None, None
    finally:
        c.close()
    cl = r.getheader("Content-Length")
    if cl is not None and int(cl) != n:  # cut short: no digest
        return r.status, dict(r.getheaders()), n, None, None
    return r.status, dict(r.getheaders()), n, h.hexdigest(), bytes(keep)


def peak_rss(pid):
    """Anonymous resident memory now (LMDB's mapped file pages are page
    cache, not the node's own memory)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


class RssWatch:
    """Samples the node's anonymous RSS while a transfer runs."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, peak_rss(self.pid))

    def done(self):
        self.stop.set()
        self.t.join(timeout=5)
        return self.peak


# A small ASan quarantine, so RSS shows what the node itself holds.
SMALL_QUARANTINE = {"ASAN_OPTIONS": "quarantine_size_mb=8:detect_leaks=1"}


def restart(e):
    assert e.proc.stop() == 0
    e.proc = start_strata(e.yaml, e.port, e.tmpdir, env=SMALL_QUARANTINE)


def rss_limit():
    # RAM tier 16 MiB + per-connection chunks + the fill's in-flight chunks
    # + allocator slack; ASan adds its shadow and quarantine.
    return (200 << 20) if SANITIZED else (96 << 20)


def test_big_object_fills_disk_and_streams_with_bounded_memory(tmp_path):
    disk = str(tmp_path / "cache")
    e = Edge(str(tmp_path), extra=disk_conf(disk), env=SMALL_QUARANTINE)
    path = "/big/%d.bin?%s" % (BIG, q(size=BIG, cc="max-age=3600"))
    try:
        want = get(e.origin.port, path)
        w = RssWatch(e.proc.pid)
        st, h, n, d, _ = get(e.port, path)
        peak = w.done()
        assert (st, n, d) == (200, BIG, want[3])
        assert "stored" in h["Cache-Status"], h["Cache-Status"]
        assert peak < rss_limit(), "RSS peaked at %d MiB while filling" % (peak >> 20)
        # Stored once complete: a hit, without the origin.
        st, h, n, d, _ = get(e.port, path)
        assert (st, n, d) == (200, BIG, want[3])
        assert h["Cache-Status"].startswith("strata; hit"), h["Cache-Status"]
        assert e.origin_stats()["requests"] == 2  # ours, and the test's own
        restart(e)
        w = RssWatch(e.proc.pid)
        st, h, n, d, _ = get(e.port, path)
        peak = w.done()
        assert (st, n, d) == (200, BIG, want[3])
        assert h["Cache-Status"].startswith("strata; hit")
        assert e.origin_stats()["requests"] == 2
        assert peak < rss_limit(), "RSS peaked at %d MiB streaming from disk" % (peak >> 20)
    finally:
        assert e.stop() == 0


def test_concurrent_requests_share_one_fill(tmp_path):
    size = 48 << 20
    disk = str(tmp_path / "cache")
    e = Edge(str(tmp_path), extra=disk_conf(disk), workers=2)
    path = "/share/x.bin?%s" % q(size=size, cc="max-age=3600", delay_ms=300)
    try:
        want = get(e.origin.port, path)[3]
        out = [None] * 6

        def one(i):
            out[i] = get(e.port, path)

        ts = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=60)
        assert all(o is not None and o[0] == 200 and o[2] == size and o[3] == want
                   for o in out), [(o[0], o[2]) for o in out if o]
        assert e.origin_stats()["requests"] == 2  # one fetch for six clients
        assert sum("collapsed" in o[1]["Cache-Status"] for o in out) >= 4
    finally:
        assert e.stop() == 0


def test_chunked_body_outgrowing_ram_moves_to_disk(tmp_path):
    size = 24 << 20  # no Content-Length: it moves to disk past 4 MiB
    disk = str(tmp_path / "cache")
    e = Edge(str(tmp_path), extra=disk_conf(disk, max_object="8MiB"), workers=2)
    path = "/ch/x.bin?%s" % q(size=size, cc="max-age=3600", chunked=1, delay_ms=200)
    try:
        want = get(e.origin.port, path)[3]
        out = [None] * 4

        def one(i):
            out[i] = get(e.port, path)

        ts = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=60)
        assert all(o is not None and (o[0], o[2], o[3]) == (200, size, want) for o in out), \
            [(o[0], o[2]) for o in out if o]
        assert e.origin_stats()["requests"] == 2
        time.sleep(0.3)
        st, h, n, d, _ = get(e.port, path)
        assert (st, n, d) == (200, size, want)
        assert h["Cache-Status"].startswith("strata; hit"), h["Cache-Status"]
        assert e.origin_stats()["requests"] == 2
    finally:
        assert e.stop() == 0


def corrupt_chunk(datafile, body, idx):
    """Flips a byte of body chunk idx where it lies in the LMDB file. The
    pattern straddles one of the origin's 64 KiB window edges, so it occurs
    once in the file."""
    at = idx * CHUNK + 65536 - 32
    pat = body[at:at + 64]
    with open(datafile, "r+b") as f:
        data = f.read()
        pos = data.find(pat)
        assert pos >= 0 and data.find(pat, pos + 1) < 0, "pattern not unique"
        f.seek(pos + 32)
        f.write(bytes([data[pos + 32] ^ 0xFF]))


def test_ranges_read_only_the_chunks_they_cover(tmp_path):
    size = 8 << 20  # 32 chunks
    disk = tmp_path / "cache"
    e = Edge(str(tmp_path), extra=disk_conf(str(disk)))
    path = "/r/x.bin?%s" % q(size=size, cc="max-age=3600")
    try:
        body = get(e.origin.port, path)[4]
        assert get(e.port, path)[0] == 200
        time.sleep(0.3)
        assert e.proc.stop() == 0
        corrupt_chunk(disk / "data.mdb", body, 5)
        e.proc = start_strata(e.yaml, e.port, e.tmpdir)
        # Ranges away from chunk 5 are served, from disk, byte-exact.
        lo = 20 * CHUNK + 1000
        st, h, n, _, got = get(e.port, path, {"Range": "bytes=%d-%d" % (lo, lo + 99999)})
        assert st == 206 and got == body[lo:lo + 100000]
        assert h["Cache-Status"].startswith("strata; hit")
        st, h, n, _, got = get(e.port, path, {"Range": "bytes=%d-" % (size - 500)})
        assert st == 206 and got == body[-500:]
        st, h, _, _, got = get(e.port, path, {"Range": "bytes=10-19,%d-%d" % (31 * CHUNK, 31 * CHUNK + 9)})
        assert st == 206 and h["Content-Type"].startswith("multipart/byteranges")
        assert body[10:20] in got and body[31 * CHUNK:31 * CHUNK + 10] in got
        assert e.origin_stats()["requests"] == 2
        # The whole body crosses chunk 5: its checksum fails, the client is
        # cut (never given wrong bytes), and the entry is dropped.
        st, h, n, d, _ = get(e.port, path)
        assert d is None and n < size
        time.sleep(0.5)
        st, h, n, d, got = get(e.port, path)
        assert (st, n) == (200, size) and got == body
        assert "stored" in h["Cache-Status"], h["Cache-Status"]
    finally:
        assert e.stop() == 0


def test_disk_hit_promoted_into_ram(tmp_path):
    size = 600000  # fits max_object: promoted
    disk = tmp_path / "cache"
    e = Edge(str(tmp_path), extra=disk_conf(str(disk)))
    path = "/p/x.bin?%s" % q(size=size, cc="max-age=3600")
    try:
        body = get(e.origin.port, path)[4]
        assert get(e.port, path)[0] == 200
        time.sleep(0.3)
        restart(e)
        st, h, n, _, got = get(e.port, path)  # from disk, into RAM
        assert st == 200 and got == body and h["Cache-Status"].startswith("strata; hit")
        # Break the disk copy under the running node: a RAM hit never reads it.
        corrupt_chunk(disk / "data.mdb", body, 1)
        for _ in range(3):
            st, h, n, _, got = get(e.port, path)
            assert st == 200 and got == body
        assert e.origin_stats()["requests"] == 2
    finally:
        assert e.stop() == 0


def test_big_object_revalidated_from_disk(tmp_path):
    size = 4 << 20
    disk = str(tmp_path / "cache")
    e = Edge(str(tmp_path), extra=disk_conf(disk))
    path = "/v/x.bin?%s" % q(size=size, cc="max-age=1", etag="1")
    try:
        body = get(e.origin.port, path)[4]
        assert get(e.port, path)[0] == 200
        time.sleep(2.2)
        st, h, n, _, got = get(e.port, path)
        assert st == 200 and got == body
        assert "revalidated" in h["Cache-Status"], h["Cache-Status"]
        s = e.origin_stats()
        assert s["requests"] == 3 and s["not_modified"] == 1
        # Its head on disk stays the old one: the next use validates again
        # (and is not left waiting behind the first revalidation).
        time.sleep(1.1)
        st, h, n, _, got = get(e.port, path)
        assert st == 200 and got == body and "revalidated" in h["Cache-Status"]
        assert e.origin_stats()["not_modified"] == 2
    finally:
        assert e.stop() == 0


def test_cut_fill_is_never_stored(tmp_path):
    size = 16 << 20
    disk = str(tmp_path / "cache")
    e = Edge(str(tmp_path), extra=disk_conf(disk))
    cut = "/c/x.bin?%s" % q(size=size, cc="max-age=3600", fail="partial")
    try:
        st, h, n, d, _ = get(e.port, cut)
        assert d is None or n < size
        time.sleep(0.5)
        st, h, n, d, _ = get(e.port, cut)
        assert "hit" not in h.get("Cache-Status", "")
        assert e.origin_stats()["requests"] == 2
    finally:
        assert e.stop() == 0


def head_status(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("HEAD", path)
    r = c.getresponse()
    r.read()
    c.close()
    return r.getheader("Cache-Status") or ""


def test_kill_9_mid_fill_leaves_nothing_behind(tmp_path):
    size = 64 << 20
    disk = tmp_path / "cache"
    e = Edge(str(tmp_path), extra=disk_conf(str(disk)))
    # 16 KiB per 20 ms: a few chunks are committed when the node dies.
    path = "/k/x.bin?%s" % q(size=size, cc="max-age=3600", body_delay_ms=20)
    try:
        t = threading.Thread(target=get, args=(e.port, path))
        t.start()
        time.sleep(1.5)
        e.proc.signal(signal.SIGKILL)
        e.proc.wait(timeout=10)
        t.join(timeout=30)
        e.proc.stop()
        e.proc = start_strata(e.yaml, e.port, e.tmpdir)
        log = e.proc.log()
        assert re.search(r"unfinished fill", log), log
        st = subprocess.run(["mdb_stat", "-a", str(disk)], capture_output=True, text=True)
        assert st.returncode == 0, st.stderr
        assert "uri-miss" in head_status(e.port, path)
    finally:
        assert e.stop() == 0
