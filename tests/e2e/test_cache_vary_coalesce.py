"""Vary and request coalescing: one origin fetch per variant among the
waiters (each stored, each waiter gets its own variant), hit-for-pass
scoped to the variant whose response was uncacheable, and Cache-Status
fwd=request when only the client's directives forbid a fresh object."""
import http.client
import http.server
import threading
import time

from harness import Edge, free_port, start_strata, strata_yaml, q, get, parallel





class VaryOrigin:
    """An origin whose body names the request's value of one header (Vary
    on it), after delay_s; no_store lists the values answered no-store.
    Counts requests per value."""

    def __init__(self, header, delay_s=0.0, no_store=()):
        counts = self.counts = {}
        lock = threading.Lock()

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                v = self.headers.get(header, "")
                with lock:
                    counts[v] = counts.get(v, 0) + 1
                time.sleep(delay_s)
                body = ("variant=%s;" % v).encode() * 64
                self.send_response(200)
                self.send_header("Vary", header)
                self.send_header("Cache-Control",
                                 "no-store" if v in no_store else "max-age=600")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def edge_for(origin, tmp_path, workers=2):
    port = free_port()
    return port, start_strata(strata_yaml([origin.port], port, workers=workers), port,
                              str(tmp_path))


def test_vary_waiters_one_fetch_per_variant(tmp_path):
    """Before: 6 origin requests, the 5 waiters of the other variant got
    fwd=vary-miss each on its own, unstored."""
    e = Edge(str(tmp_path), workers=2)
    path = "/v?" + q(vary="Accept-Encoding", delay_ms=400, cc="max-age=600")
    enc = ["gzip", "br"] * 5
    try:
        results = parallel(10, lambda i: get(e.port, path, {"Accept-Encoding": enc[i]}))
        for r in results:
            assert not isinstance(r, Exception), r
            assert r[0].status == 200
        kinds = [r[0].getheader("Cache-Status") for r in results]
        assert e.origin_stats()["requests"] == 2, kinds
        assert sum(k.endswith("; stored") for k in kinds) == 2, kinds
        assert sum(k.endswith("; collapsed") for k in kinds) == 8, kinds
        assert all(k.startswith(("strata; fwd=uri-miss", "strata; fwd=vary-miss"))
                   for k in kinds), kinds
        for v in ("gzip", "br"):  # both variants were stored
            r, _ = get(e.port, path, {"Accept-Encoding": v})
            assert r.getheader("Cache-Status").startswith("strata; hit")
        assert e.origin_stats()["requests"] == 2
    finally:
        assert e.stop() == 0


def test_vary_waiters_get_their_own_variant(tmp_path):
    """Three variants among 12 waiters: one fetch each, every body its own
    (a waiter may look up again more than once: bounded, never a pass)."""
    o = VaryOrigin("X-Foo", delay_s=0.4)
    port, proc = edge_for(o, tmp_path)
    vals = ["a", "b", "c"] * 4
    try:
        results = parallel(12, lambda i: get(port, "/own", {"X-Foo": vals[i]}))
        for i, r in enumerate(results):
            assert not isinstance(r, Exception), r
            assert r[1] == ("variant=%s;" % vals[i]).encode() * 64
            assert r[0].getheader("Cache-Status").endswith(("; stored", "; collapsed"))
        assert o.counts == {"a": 1, "b": 1, "c": 1}
        for v in ("a", "b", "c"):
            r, body = get(port, "/own", {"X-Foo": v})
            assert r.getheader("Cache-Status").startswith("strata; hit")
            assert body == ("variant=%s;" % v).encode() * 64
    finally:
        assert proc.stop() == 0
        o.close()


def test_hit_for_pass_only_for_its_variant(tmp_path):
    """Before: one no-store answer for X-Foo: b made every variant
    fwd=bypass; detail=hit-for-pass, and a was refetched afterwards."""
    o = VaryOrigin("X-Foo", no_store=("b",))
    port, proc = edge_for(o, tmp_path, workers=1)
    try:
        get(port, "/hfp", {"X-Foo": "a"})
        r, _ = get(port, "/hfp", {"X-Foo": "a"})
        assert r.getheader("Cache-Status").startswith("strata; hit")
        r, body = get(port, "/hfp", {"X-Foo": "b"})
        assert body.startswith(b"variant=b;")
        assert "stored" not in r.getheader("Cache-Status")
        r, _ = get(port, "/hfp", {"X-Foo": "b"})  # the marker holds for b
        assert r.getheader("Cache-Status") == "strata; fwd=bypass; detail=hit-for-pass"
        r, body = get(port, "/hfp", {"X-Foo": "a"})  # a is still a hit
        assert r.getheader("Cache-Status").startswith("strata; hit")
        assert body.startswith(b"variant=a;")
        r, _ = get(port, "/hfp", {"X-Foo": "c"})  # c is stored as usual
        assert r.getheader("Cache-Status") == "strata; fwd=vary-miss; stored"
        r, _ = get(port, "/hfp", {"X-Foo": "c"})
        assert r.getheader("Cache-Status").startswith("strata; hit")
        assert o.counts == {"a": 1, "b": 2, "c": 1}
    finally:
        assert proc.stop() == 0
        o.close()


def test_fwd_request_when_client_forbids_fresh(tmp_path):
    """Before: fwd=stale although the object was fresh. No validators, so
    the origin answers 200 and the forced fetch is stored again."""
    e = Edge(str(tmp_path))
    path = "/rq?" + q(cc="max-age=600", etag="0", lm="0")
    stale = "/rqs?" + q(cc="max-age=1", etag="0", lm="0")
    try:
        get(e.port, path)
        get(e.port, stale)
        for h in ({"Cache-Control": "no-cache"}, {"Pragma": "no-cache"},
                  {"Cache-Control": "max-age=0"}, {"Cache-Control": "min-fresh=3600"}):
            time.sleep(0.05)  # age > 0 for max-age=0
            r, body = get(e.port, path, h)
            assert r.status == 200 and len(body) == 1024
            assert r.getheader("Cache-Status") == "strata; fwd=request; stored", h
        r, _ = get(e.port, path, {"Cache-Control": "no-cache"}, method="HEAD")
        assert r.getheader("Cache-Status") == "strata; fwd=request"
        r, _ = get(e.port, path)
        assert r.getheader("Cache-Status").startswith("strata; hit")
        time.sleep(1.1)  # a stale object is still fwd=stale
        r, _ = get(e.port, stale, {"Cache-Control": "no-cache"})
        assert r.getheader("Cache-Status") == "strata; fwd=stale; stored"
    finally:
        assert e.stop() == 0
