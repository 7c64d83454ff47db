"""strata-origin failure injection, delays and streaming: fail=N, reset,
hang and partial; delay_ms, --latency-ms and body_delay_ms; large bodies
with bounded memory, backpressure from a slow reader, and clients that go
away in the middle of an answer."""
import os
import socket
import time

from harness import http_request, parse_response, read_responses, start_origin
from test_origin_basic import fetch, stats, wait_until

SANITIZED = os.environ.get("STRATA_SANITIZERS") == "yes"
# Sanitizer builds carry shadow memory and allocator quarantine.
RSS_LIMIT = (256 << 20) if SANITIZED else (64 << 20)


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def request(port, target, method="GET"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(("%s %s HTTP/1.1\r\nHost: a\r\n\r\n" % (method, target)).encode())
    return s


def recv_until_close(s, timeout=5.0):
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except ConnectionResetError:
        pass
    return out


def test_fail_status_has_no_cache_headers(origin):
    r, b = fetch(origin.port, "/f.html?fail=503&cc=max-age%3D60&tags=a&lm=1&expires=9")
    assert r.status == 503 and b"injected failure 503" in b
    assert r.getheader("Content-Type").startswith("text/plain")
    for h in ("Cache-Control", "ETag", "Last-Modified", "Surrogate-Key", "Expires"):
        assert r.getheader(h) is None, h
    r, b = fetch(origin.port, "/f?fail=404", method="HEAD")
    assert r.status == 404 and b == b""


def test_fail_reset_sends_nothing(origin):
    s = request(origin.port, "/r?fail=reset")
    assert recv_until_close(s) == b""
    s.close()
    assert stats(origin.port)["resets"] == 1
    assert fetch(origin.port, "/after")[0].status == 200


def test_fail_reset_after_delay(origin):
    t0 = time.monotonic()
    s = request(origin.port, "/r?fail=reset&delay_ms=300")
    assert recv_until_close(s) == b""
    s.close()
    assert time.monotonic() - t0 >= 0.29


def test_fail_hang_until_client_goes(origin):
    s = request(origin.port, "/h?fail=hang")
    s.settimeout(0.5)
    try:
        assert s.recv(100) == b"", "hang answered"
        assert False, "hang closed the connection"
    except socket.timeout:
        pass
    assert stats(origin.port)["live_connections"] == 1
    s.close()
    assert wait_until(lambda: stats(origin.port)["live_connections"] == 0)


def test_fail_partial(origin):
    raw = http_request(origin.port, b"GET /p?size=100000&fail=partial HTTP/1.1\r\nHost: a\r\n\r\n")
    status, headers, rest = parse_response(raw)
    assert status == 200 and headers["content-length"] == ["100000"]
    assert len(rest) == 50000
    raw = http_request(origin.port, b"GET /p?size=3000&fail=partial&chunked=1 HTTP/1.1\r\nHost: a\r\n\r\n")
    status, headers, rest = parse_response(raw)
    assert headers["transfer-encoding"] == ["chunked"]
    assert rest.startswith(b"5dc\r\n") and not rest.endswith(b"0\r\n\r\n")
    raw = http_request(origin.port, b"GET /p?size=1&fail=partial HTTP/1.1\r\nHost: a\r\n\r\n")
    status, headers, rest = parse_response(raw)
    assert status == 200 and headers["content-length"] == ["1"] and rest == b""


def test_delay_ms(origin):
    t0 = time.monotonic()
    r, b = fetch(origin.port, "/d?delay_ms=300&size=10")
    assert r.status == 200 and len(b) == 10
    assert time.monotonic() - t0 >= 0.29


def test_latency_option_delays_content_not_admin():
    o = start_origin("--latency-ms", "250")
    try:
        t0 = time.monotonic()
        assert fetch(o.port, "/x?size=1")[0].status == 200
        t1 = time.monotonic()
        assert fetch(o.port, "/x?size=1&delay_ms=100")[0].status == 200
        t2 = time.monotonic()
        stats(o.port)
        t3 = time.monotonic()
        assert t1 - t0 >= 0.24 and t2 - t1 >= 0.34 and t3 - t2 < 0.2
    finally:
        assert o.stop() == 0


def test_body_delay_ms(origin):
    t0 = time.monotonic()
    r, b = fetch(origin.port, "/slow.bin?size=64k&body_delay_ms=100")
    assert r.status == 200 and len(b) == 64 << 10
    # Four 16 KiB blocks, three pauses between them.
    assert time.monotonic() - t0 >= 0.29
    assert b == fetch(origin.port, "/slow.bin?size=64k&body_delay_ms=100")[1]


def test_100mib_stream_with_bounded_rss(origin):
    size = 100 << 20
    s = request(origin.port, "/big.bin?size=100m")
    s.settimeout(5)
    got, peak, head = 0, 0, b""
    while b"\r\n\r\n" not in head:
        head += s.recv(65536)
    got = len(head) - head.index(b"\r\n\r\n") - 4
    while got < size:
        b = s.recv(1 << 20)
        assert b, "closed early at %d" % got
        got += len(b)
        if got % (8 << 20) < (1 << 20):
            peak = max(peak, rss(origin.pid))
    s.close()
    assert got == size
    assert max(peak, rss(origin.pid)) < RSS_LIMIT, peak >> 20
    assert b"Content-Length: %d" % size in head


def test_slow_reader_holds_origin_back(origin):
    s = socket.create_connection(("127.0.0.1", origin.port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"GET /huge.bin?size=1g HTTP/1.1\r\nHost: a\r\n\r\n")
    got = len(s.recv(65536))
    time.sleep(0.5)
    st = stats(origin.port)
    # Queued so far: socket buffers plus one block, not the gigabyte.
    assert st["bytes"] < (32 << 20), st["bytes"]
    assert got > 0 and rss(origin.pid) < RSS_LIMIT
    assert st["live_connections"] == 1
    s.close()
    assert wait_until(lambda: stats(origin.port)["live_connections"] == 0)
    assert stats(origin.port)["bytes"] < (64 << 20)


def test_client_gone_during_delay_and_body_delay(origin):
    a = request(origin.port, "/a?delay_ms=2000")
    b = request(origin.port, "/b.bin?size=1m&body_delay_ms=500")
    assert wait_until(lambda: stats(origin.port)["live_connections"] == 2)
    b.recv(100)
    a.close()
    b.close()
    assert wait_until(lambda: stats(origin.port)["live_connections"] == 0)
    assert fetch(origin.port, "/still?size=5")[0].status == 200


def test_stop_with_requests_in_flight():
    o = start_origin()
    socks = [request(o.port, "/h?fail=hang"), request(o.port, "/d?delay_ms=5000"),
             request(o.port, "/big.bin?size=1g")]
    socks[2].recv(1000)
    t0 = time.monotonic()
    assert o.stop() == 0
    assert time.monotonic() - t0 < 2
    for s in socks:
        s.close()


def test_keepalive_after_streamed_and_delayed_responses(origin):
    conn_ids = set()
    with socket.create_connection(("127.0.0.1", origin.port), timeout=5) as s:
        for target in ("/a?size=200000", "/b?delay_ms=50&size=3", "/c?chunked=1&size=70000",
                       "/d?body_delay_ms=10&size=40000", "/e?size=1"):
            s.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % target.encode())
            (status, headers, body), = read_responses(s, 1)
            assert status == 200
            assert len(body) == int(target.split("size=")[1])
            conn_ids.add(headers["x-origin-conn"][0])
    assert len(conn_ids) == 1
    assert stats(origin.port)["connections"] == 1
