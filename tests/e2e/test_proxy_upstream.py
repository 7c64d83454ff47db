"""Upstream failures map to the right status, retries are safe, and a
response the node cannot trust never reaches the client as a success."""
import http.client
import time

import pytest

from harness import Edge, RawOrigin, free_port, http_request, parse_response, start_strata, strata_yaml


def get(port, path, method="GET", body=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def test_origin_down_is_502(tmp_path):
    port, dead = free_port(), free_port()
    p = start_strata(strata_yaml([dead], port), port, str(tmp_path))
    try:
        assert get(port, "/x")[0] == 502
    finally:
        assert p.stop() == 0


def test_origin_timeout_is_504(tmp_path):
    e = Edge(str(tmp_path), extra="upstream: { read_timeout: 1s }\n")
    try:
        t0 = time.monotonic()
        assert get(e.port, "/slow?fail=hang")[0] == 504
        assert 0.8 < time.monotonic() - t0 < 4
    finally:
        assert e.stop() == 0


def test_idempotent_request_retried_on_next_server(tmp_path):
    port, dead = free_port(), free_port()
    e = Edge(str(tmp_path))
    yaml = strata_yaml([dead, e.origin.port], port)
    p = start_strata(yaml, port, str(tmp_path), name="two.yaml")
    try:
        assert get(port, "/r?size=10")[0] == 200
        assert e.origin_stats()["requests"] == 1
        # A body we already consumed cannot be replayed: no retry.
        assert get(port, "/r", method="POST", body=b"abc")[0] == 502
    finally:
        assert p.stop() == 0
        assert e.stop() == 0


def test_reset_before_response_is_502(tmp_path):
    e = Edge(str(tmp_path))
    try:
        assert get(e.port, "/x?fail=reset")[0] == 502
    finally:
        assert e.stop() == 0


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n",
    b"garbage\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\n\r\n",
])
def test_untrustworthy_response_is_502(tmp_path, reply):
    o = RawOrigin(reply)
    port = free_port()
    p = start_strata(strata_yaml([o.port], port), port, str(tmp_path))
    try:
        assert get(port, "/x")[0] == 502
    finally:
        assert p.stop() == 0
        o.close()


def test_truncated_body_is_cut_not_completed(tmp_path):
    e = Edge(str(tmp_path))
    try:
        raw = http_request(e.port, b"GET /x?size=100000&fail=partial HTTP/1.1\r\nHost: a\r\n\r\n")
        status, headers, rest = parse_response(raw)
        assert status == 200
        assert int(headers["content-length"][0]) == 100000
        assert len(rest) < 100000
    finally:
        assert e.stop() == 0


def test_upstream_5xx_passes_through(tmp_path):
    e = Edge(str(tmp_path))
    try:
        assert get(e.port, "/x?fail=503")[0] == 503
        assert get(e.port, "/y?status=404")[0] == 404
    finally:
        assert e.stop() == 0
