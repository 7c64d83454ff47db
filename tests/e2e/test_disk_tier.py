"""The LMDB disk tier in the request path: objects survive a restart and
are served without the origin; RAM misses fall back to disk; a database in
a format this build cannot read is refused (or rebuilt when configured)."""
import http.client
import os
import subprocess
import time
import urllib.parse

from harness import Edge, binary

SANITIZED = os.environ.get("STRATA_SANITIZERS") == "yes"


def q(**params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def disk_conf(path, memory="64MiB", extra=""):
    return "cache: { memory: %s, max_object: 1MiB, disk: { path: %s, size: 256MiB%s } }\n" % (
        memory, path, extra)


def fetch_all(port, paths):
    """Sequential keep-alive GETs; returns the Cache-Status values."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    out = []
    for p in paths:
        c.request("GET", p)
        r = c.getresponse()
        r.read()
        assert r.status == 200, (p, r.status)
        out.append(r.getheader("Cache-Status") or "")
    c.close()
    return out


def restart(e):
    """Stops strata (its disk queue is committed on the way out) and starts
    it again on the same config and port."""
    assert e.proc.stop() == 0
    from harness import start_strata
    e.proc = start_strata(e.yaml, e.port, e.tmpdir)


def test_restart_serves_disk_hits_without_origin(tmp_path):
    n = 2000 if SANITIZED else 10000
    disk = str(tmp_path / "cache")
    e = Edge(str(tmp_path), extra=disk_conf(disk))
    paths = ["/r/%d.css?%s" % (i, q(size=200 + i % 300, cc="max-age=3600")) for i in range(n)]
    try:
        st = fetch_all(e.port, paths)
        assert all("stored" in s for s in st)
        restart(e)
        before = e.origin_stats()["requests"]
        st = fetch_all(e.port, paths)
        assert all(s.startswith("strata; hit") for s in st), [s for s in st if "hit" not in s][:3]
        assert e.origin_stats()["requests"] == before, "the origin was asked after the restart"
    finally:
        assert e.stop() == 0


def test_ram_miss_falls_back_to_disk(tmp_path):
    disk = str(tmp_path / "cache")
    e = Edge(str(tmp_path), extra=disk_conf(disk, memory="1MiB"))
    paths = ["/f/%d.bin?%s" % (i, q(size=100000, cc="max-age=3600")) for i in range(40)]
    try:
        fetch_all(e.port, paths)          # 4 MB through a 1 MiB RAM tier
        time.sleep(0.5)                   # the writer commits in the background
        st = fetch_all(e.port, paths)
        assert all(s.startswith("strata; hit") for s in st)
        assert e.origin_stats()["requests"] == 40
        # Bodies from disk are byte-identical to the origin's.
        c = http.client.HTTPConnection("127.0.0.1", e.port, timeout=10)
        c.request("GET", paths[0])
        via = c.getresponse().read()
        c.close()
        c = http.client.HTTPConnection("127.0.0.1", e.origin.port, timeout=10)
        c.request("GET", paths[0])
        assert c.getresponse().read() == via
        c.close()
    finally:
        assert e.stop() == 0


def test_unreadable_database_refused_or_rebuilt(tmp_path):
    disk = tmp_path / "cache"
    disk.mkdir()
    (disk / "data.mdb").write_bytes(b"not an lmdb file" * 4096)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("listen: [\"127.0.0.1:1\"]\n" + disk_conf(str(disk)) +
                   "sites:\n  - name: t\n    hosts: [\"*\"]\n    origin: [\"127.0.0.1:2\"]\n")
    p = subprocess.run([binary("edge/strata"), "-c", str(cfg)], capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 1 and "disk cache" in p.stderr, p.stderr
    e = Edge(str(tmp_path), extra=disk_conf(str(disk), extra=", rebuild_incompatible: true"))
    try:
        st = fetch_all(e.port, ["/x?" + q(cc="max-age=60")] * 2)
        assert st[1].startswith("strata; hit")
    finally:
        assert e.stop() == 0
