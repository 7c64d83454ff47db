"""strata-load through strata with a tiny catalogue: after the warm-up
every object is cached, so the origin sees (almost) nothing and the offload
is close to 1. Skipped, with the reason, while strata does not answer a
repeated cacheable request with a Cache-Status hit."""
import json
import socket
import subprocess

import pytest

import harness

PROBE = "/probe.css?size=100&cc=public%2C%20max-age%3D3600"


def get(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n"
                   % path).encode())
        raw = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            raw += b
    return harness.parse_response(raw)


@pytest.fixture
def edge(tmp_path):
    e = harness.Edge(str(tmp_path))
    yield e
    e.stop()


def test_offload_close_to_one_through_strata(edge, tmp_path):
    get(edge.port, PROBE)
    status, headers, _ = get(edge.port, PROBE)
    cs = ", ".join(headers.get("cache-status", []))
    if status != 200 or "hit" not in cs.lower():
        pytest.skip("strata does not cache yet: a repeated cacheable GET got status %d, "
                    "Cache-Status %r" % (status, cs or None))
    out = tmp_path / "edge.json"
    argv = [harness.binary("tools/strata-load"), "--url", "http://127.0.0.1:%d" % edge.port,
            "--objects", 20, "--zipf", 0.8, "--sizes", "2k", "--warmup", 1, "-d", 2,
            "-c", 4, "--origin-stats", "http://127.0.0.1:%d/__stats" % edge.origin.port,
            "--json", str(out)]
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    d = json.loads(out.read_text())
    assert d["errors"] == 0 and d["requests"] > 100
    assert d["hit_ratio"] > 0.99
    assert d["offload_requests"] > 0.99 and d["offload_bytes"] > 0.99
