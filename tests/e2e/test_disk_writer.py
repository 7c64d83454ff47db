"""The LMDB tier's writer in the request path: a complete object larger than
one write batch (but within RAM's cache.max_object) reaches the disk and is
served from it after a restart."""
import http.client

from harness import Edge, start_strata

PATH = "/x.bin?size=20m&cc=max-age%3D3600"


def conf(path):
    return ("cache: { memory: 128MiB, max_object: 64MiB, "
            "disk: { path: %s, size: 256MiB } }\n" % path)


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    assert r.status == 200, r.status
    return r.getheader("Cache-Status") or "", body


def test_object_above_a_write_batch_survives_restart(tmp_path):
    e = Edge(str(tmp_path), extra=conf(str(tmp_path / "cache")))
    try:
        st, body = get(e.port, PATH)
        assert "stored" in st, st
        assert len(body) == 20 * 1024 * 1024
        assert e.proc.stop() == 0          # commits the disk queue
        e.proc = start_strata(e.yaml, e.port, e.tmpdir)
        before = e.origin_stats()["requests"]
        st, again = get(e.port, PATH)
        assert st.startswith("strata; hit"), st
        assert again == body
        assert e.origin_stats()["requests"] == before
    finally:
        assert e.stop() == 0
