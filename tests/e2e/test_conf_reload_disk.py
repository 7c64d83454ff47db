"""SIGHUP and the disk tier: a reload that changes restart-only cache keys
names them in a warning and the node keeps serving; a reload whose disk
path cannot be a directory is refused at the path's position."""
import http.client
import os
import re
import signal
import time

from harness import Edge, binary


def disk_conf(path, size="64MiB", durability="safe", memory="32MiB"):
    return ("cache: { memory: %s, max_object: 1MiB, disk: { path: %s, size: %s, "
            "durability: %s } }\n"
            % (memory, path, size, durability))


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def rewrite(e, extra):
    """Writes strata.yaml with extra in place of the cache section."""
    yaml = e.yaml.replace(e.extra, extra)
    with open(os.path.join(e.tmpdir, "strata.yaml"), "w") as f:
        f.write(yaml)


def wait_log(e, text, n=1, timeout=3.0):
    """Waits until text occurs n times in strata's log; returns the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = e.proc.log()
        if log.count(text) >= n:
            return log
        time.sleep(0.05)
    raise AssertionError("no %r in the log:\n%s" % (text, e.proc.log()))


def start(tmp_path):
    extra = disk_conf(str(tmp_path / "cache"))
    e = Edge(str(tmp_path), extra=extra)
    e.extra = extra
    return e


def test_reload_warns_about_disk_keys_and_keeps_serving(tmp_path):
    e = start(tmp_path)
    try:
        r, body = get(e.port, "/before?size=5&cc=max-age=60")
        assert r.status == 200 and len(body) == 5
        rewrite(e, disk_conf(str(tmp_path / "cache2"), size="128MiB",
                             durability="fast", memory="64MiB"))
        e.proc.signal(signal.SIGHUP)
        log = wait_log(e, "config reloaded")
        warn = [l for l in log.splitlines() if "take full effect only on restart" in l]
        assert len(warn) == 1, log
        assert ("cache.memory, cache.disk.path, cache.disk.size, "
                "cache.disk.durability changed") in warn[0], warn[0]
        r, body = get(e.port, "/before?size=5&cc=max-age=60")
        assert r.status == 200 and len(body) == 5
        assert r.getheader("Cache-Status", "").startswith("strata; hit"), r.getheaders()
        # The running disk tier stays where it was opened.
        assert os.path.exists(str(tmp_path / "cache" / "data.mdb"))
        assert not os.path.exists(str(tmp_path / "cache2"))
        # A reload that changes nothing of the cache warns about nothing.
        e.proc.signal(signal.SIGHUP)
        log = wait_log(e, "config reloaded", n=2)
        assert log.count("take full effect only on restart") == 1, log
    finally:
        assert e.stop() == 0


def test_reload_with_a_file_as_disk_path_is_refused(tmp_path):
    e = start(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("x")
    try:
        rewrite(e, disk_conf(str(afile)))
        e.proc.signal(signal.SIGHUP)
        log = wait_log(e, "reload refused")
        assert re.search(r"strata\.yaml:\d+:\d+: cache\.disk\.path: '%s' is not a directory"
                         % re.escape(str(afile)), log), log
        r, body = get(e.port, "/still?size=5")
        assert r.status == 200 and len(body) == 5
    finally:
        assert e.stop() == 0
