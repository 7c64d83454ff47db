"""Every request limit answers the right status, closes the connection and
keeps the request away from the origin."""
import socket
import time

import pytest

from harness import Edge, http_request, parse_response


@pytest.fixture
def edge(tmp_path):
    e = Edge(str(tmp_path), extra=(
        "limits: { header_timeout: 1s, idle_timeout: 1s, body_timeout: 1s,\n"
        "          max_connections: 8, request_body: 1MiB }\n"))
    yield e
    assert e.stop() == 0


def closed_after(s, timeout=3.0):
    """True when the peer closes within timeout (draining what it sent)."""
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
        return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("raw,status", [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-F%d: %s\r\n" % (i, b"c" * 400) for i in range(90)) + b"\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-N%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431),
])
def test_head_limits(edge, raw, status):
    got = http_request(edge.port, raw)
    assert parse_response(got)[0] == status
    assert b"Connection: close" in got
    assert edge.origin_stats()["requests"] == 0


def test_body_over_limit_is_413(edge):
    raw = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n"
    assert parse_response(http_request(edge.port, raw))[0] == 413
    assert edge.origin_stats()["requests"] == 0


def test_slow_header_is_dropped(edge):
    with socket.create_connection(("127.0.0.1", edge.port)) as s:
        t0 = time.monotonic()
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        for _ in range(3):          # keeps trickling, never finishes
            time.sleep(0.3)
            s.sendall(b"X: y\r\n")
        s.settimeout(3)
        data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 408")
        assert closed_after(s)
        assert time.monotonic() - t0 < 2.5
    assert edge.origin_stats()["requests"] == 0


def test_idle_keepalive_is_closed(edge):
    with socket.create_connection(("127.0.0.1", edge.port)) as s:
        t0 = time.monotonic()
        assert closed_after(s, timeout=3)
        assert 0.8 < time.monotonic() - t0 < 2.5


def test_stalled_body_is_dropped(edge):
    with socket.create_connection(("127.0.0.1", edge.port)) as s:
        s.sendall(b"POST /__echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        t0 = time.monotonic()
        assert closed_after(s, timeout=4)
        assert time.monotonic() - t0 < 3


def test_connections_over_limit_are_closed(tmp_path):
    edge = Edge(str(tmp_path), extra="limits: { max_connections: 8, idle_timeout: 30s }\n")
    time.sleep(0.2)  # the start-up port probe must be seen closed first
    held = [socket.create_connection(("127.0.0.1", edge.port)) for _ in range(8)]
    try:
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", edge.port))
        assert closed_after(extra, timeout=2)
        extra.close()
    finally:
        for s in held:
            s.close()
    time.sleep(0.2)
    try:
        raw = http_request(edge.port, b"GET /ok?size=3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert parse_response(raw)[0] == 200
    finally:
        assert edge.stop() == 0
