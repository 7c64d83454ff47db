"""Request coalescing, failures and stale serving: one origin fetch per key,
every waiter streams the body, nobody hangs, stale answers when allowed."""
import hashlib
import threading
import time

from harness import Edge, RawOrigin, multi_get, q, get, parallel





def test_200_concurrent_misses_one_origin_fetch(tmp_path):
    e = Edge(str(tmp_path), workers=2)
    size = 10 << 20
    path = "/big.bin?" + q(size=size, cc="max-age=600", delay_ms=500)
    try:
        _, direct = get(e.origin.port, path)
        want = hashlib.sha1(direct).hexdigest()
        e_stats0 = e.origin_stats()["requests"]
        results = multi_get(e.port, path, 200)
        for line, _, n, digest in results:
            assert line.startswith(b"HTTP/1.1 200") and n == size and digest == want
        assert e.origin_stats()["requests"] - e_stats0 == 1
        kinds = [r[1].get("cache-status", "") for r in results]
        assert sum("stored" in k for k in kinds) == 1
        assert sum("collapsed" in k for k in kinds) >= 100
    finally:
        assert e.stop() == 0


def test_uncacheable_releases_waiters(tmp_path):
    e = Edge(str(tmp_path))
    path = "/nc?" + q(cc="no-store", delay_ms=300)
    try:
        results = parallel(10, lambda i: get(e.port, path))
        assert all(not isinstance(r, Exception) and r[0].status == 200 for r in results)
        # Each waiter fetched on its own (no shared no-store response).
        assert e.origin_stats()["requests"] == 10
        r, _ = get(e.port, path)
        assert "hit-for-pass" in r.getheader("Cache-Status")
    finally:
        assert e.stop() == 0


def test_failed_fetch_wakes_every_waiter(tmp_path):
    e = Edge(str(tmp_path), extra="upstream: { read_timeout: 1s }\n")
    path = "/hang?" + q(fail="hang", cc="max-age=60")
    try:
        t0 = time.monotonic()
        results = parallel(20, lambda i: get(e.port, path))
        assert time.monotonic() - t0 < 6
        assert all(not isinstance(r, Exception) and r[0].status == 504 for r in results), results
    finally:
        assert e.stop() == 0


def test_stale_if_error_when_origin_fails(tmp_path):
    e = Edge(str(tmp_path))
    path = "/sie?" + q(cc="max-age=1, stale-if-error=60")
    try:
        _, body = get(e.port, path)
        time.sleep(2.1)
        e.origin.stop()
        r, body2 = get(e.port, path)
        assert r.status == 200 and body2 == body
        assert "stale-if-error" in r.getheader("Cache-Status")
    finally:
        e.proc.stop()


def test_stale_if_error_on_5xx(tmp_path):
    e = Edge(str(tmp_path))
    path = "/sie5?" + q(cc="max-age=1, stale-if-error=60")
    fail = None
    try:
        _, body = get(e.port, path)
        time.sleep(2.1)
        port = e.origin.port
        e.origin.stop()
        fail = RawOrigin(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown", port)
        r, body2 = get(e.port, path)
        assert r.status == 200 and body2 == body
        cs = r.getheader("Cache-Status")
        assert "fwd-status=503" in cs and "stale-if-error" in cs
        # Without stale-if-error the 503 goes through.
        r, _ = get(e.port, "/plain?" + q(cc="max-age=60"))
        assert r.status == 503
    finally:
        if fail:
            fail.close()
        e.proc.stop()


def test_must_revalidate_gives_504_when_origin_down(tmp_path):
    e = Edge(str(tmp_path))
    path = "/mr?" + q(cc="max-age=1, must-revalidate, stale-if-error=60")
    try:
        get(e.port, path)
        time.sleep(2.1)
        e.origin.stop()
        r, _ = get(e.port, path)
        assert r.status == 504
    finally:
        e.proc.stop()


def test_objects_over_max_object_pass_through(tmp_path):
    e = Edge(str(tmp_path), extra="cache: { memory: 8MiB, max_object: 1MiB }\n")
    path = "/large?" + q(size=2 << 20, cc="max-age=60")
    try:
        get(e.port, path)
        r, body = get(e.port, path)
        assert len(body) == 2 << 20
        assert not r.getheader("Cache-Status").startswith("strata; hit")
        assert e.origin_stats()["requests"] == 2
    finally:
        assert e.stop() == 0


def test_ram_budget_evicts(tmp_path):
    e = Edge(str(tmp_path), extra="cache: { memory: 2MiB, max_object: 256KiB }\n")
    try:
        for i in range(40):
            get(e.port, "/ev%d?%s" % (i, q(size=200000, cc="max-age=600")))
        r, _ = get(e.port, "/ev0?" + q(size=200000, cc="max-age=600"))
        # 8 MB of objects through a 2 MiB budget: the first one is gone.
        assert not r.getheader("Cache-Status").startswith("strata; hit")
        r, _ = get(e.port, "/ev39?" + q(size=200000, cc="max-age=600"))
        assert r.getheader("Cache-Status").startswith("strata; hit")
    finally:
        assert e.stop() == 0


def test_stale_while_revalidate_in_background(tmp_path):
    e = Edge(str(tmp_path))
    path = "/swr?" + q(cc="max-age=2, stale-while-revalidate=60", delay_ms=200)
    try:
        get(e.port, path)
        time.sleep(2.3)
        t0 = time.monotonic()
        r, body = get(e.port, path)
        assert time.monotonic() - t0 < 0.25, "stale answer waited for the origin"
        assert r.getheader("Cache-Status").startswith("strata; hit; ttl=-")
        assert len(body) == 1024
        # Several stale hits while the revalidation runs: one revalidation.
        for _ in range(5):
            get(e.port, path)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and e.origin_stats()["not_modified"] < 1:
            time.sleep(0.05)
        assert e.origin_stats()["not_modified"] == 1
        assert e.origin_stats()["requests"] == 2
        r, _ = get(e.port, path)
        ttl = int(r.getheader("Cache-Status").split("ttl=")[1].split(";")[0])
        assert r.getheader("Cache-Status").startswith("strata; hit") and ttl >= 0
    finally:
        assert e.stop() == 0


def test_leader_client_leaving_does_not_cut_followers(tmp_path):
    import socket
    e = Edge(str(tmp_path))
    size = 4 << 20
    path = "/lead.bin?" + q(size=size, cc="max-age=600", delay_ms=300, body_delay_ms=20)
    try:
        _, direct = get(e.origin.port, path)
        want = hashlib.sha1(direct).hexdigest()
        base = e.origin_stats()["requests"]
        leader = socket.create_connection(("127.0.0.1", e.port), timeout=5)
        leader.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode())
        time.sleep(0.1)
        results = {}

        def followers():
            results["r"] = multi_get(e.port, path, 10)

        t = threading.Thread(target=followers)
        t.start()
        time.sleep(0.5)                  # the body is streaming now
        assert leader.recv(65536)        # the leader got the head ...
        leader.close()                   # ... and leaves mid-body
        t.join(timeout=30)
        for line, hdrs, n, digest in results["r"]:
            assert line.startswith(b"HTTP/1.1 200") and n == size and digest == want
        assert e.origin_stats()["requests"] - base == 1
        # Stored in full (same Host as above: the key includes it).
        (line, hdrs, n, digest), = multi_get(e.port, path, 1)
        assert hdrs["cache-status"].startswith("strata; hit") and digest == want
    finally:
        assert e.stop() == 0
