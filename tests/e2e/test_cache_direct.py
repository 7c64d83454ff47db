"""Hits written straight to the socket (one writev of the head and the
body's chunks, no output buffer): a slow client that takes only part of a
large body still gets all of it, pipelined hits keep their order, and a
HEAD hit sends the head alone."""
import hashlib
import socket
import time

from harness import Edge, get, parse_response, q, status


def test_slow_client_gets_whole_hit(tmp_path):
    e = Edge(str(tmp_path), extra="cache: { memory: 64MiB, max_object: 8MiB }\n")
    size = 6 << 20
    path = "/d/big.bin?" + q(size=size, cc="max-age=600")
    try:
        want = hashlib.sha256(get(e.origin.port, path)[1]).hexdigest()
        assert "stored" in status(get(e.port, path)[0])
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 10)
        s.settimeout(10)
        s.connect(("127.0.0.1", e.port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, e.port)).encode())
        time.sleep(0.3)  # the first writev fills the socket and stops short
        buf = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            b = s.recv(1 << 20)
            if not b:
                break
            buf += b
            if b"\r\n\r\n" in buf:
                head, _, body = buf.partition(b"\r\n\r\n")
                if len(body) >= size:
                    break
        s.close()
        st, h, body = parse_response(buf)
        assert st == 200 and h["cache-status"][0].startswith("strata; hit")
        assert int(h["content-length"][0]) == size
        assert len(body) == size and hashlib.sha256(body).hexdigest() == want
    finally:
        assert e.stop() == 0


def read_all(s, idle=0.5, limit=10.0):
    """Everything the socket sends until it is idle for `idle` seconds."""
    s.settimeout(idle)
    data, deadline = b"", time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            b = s.recv(1 << 16)
        except socket.timeout:
            break
        if not b:
            break
        data += b
    return data


def test_pipelined_hits_in_order_and_head(tmp_path):
    e = Edge(str(tmp_path))
    paths = ["/d/p%d.txt?%s" % (i, q(size=1000 + i * 5000, cc="max-age=600")) for i in range(3)]
    host = "127.0.0.1:%d" % e.port  # the key get() stored them under
    try:
        for p in paths:
            get(e.port, p)
        raw = b"".join(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (p, host)).encode()
                       for p in paths)
        raw += ("HEAD %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (paths[1], host)).encode()
        s = socket.create_connection(("127.0.0.1", e.port), timeout=5)
        s.sendall(raw)
        data = read_all(s)
        s.close()
        for i, p in enumerate(paths):
            st, h, rest = parse_response(data)
            n = int(h["content-length"][0])
            assert st == 200 and h["cache-status"][0].startswith("strata; hit")
            assert n == 1000 + i * 5000 and rest[:n] == get(e.origin.port, p)[1]
            data = rest[n:]
        # The HEAD: a head with the GET's length, and nothing after it.
        head, _, after = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 6000" in head
        assert b"strata; hit" in head and after == b""
    finally:
        assert e.stop() == 0


def test_head_alone_then_body_and_split_heads(tmp_path):
    """A head that arrives alone is parsed where it was read; its body, read
    later, still reaches the origin; a head split over two reads, and one
    followed by a second request in the same read, take the buffered way."""
    import json
    e = Edge(str(tmp_path))
    host = "127.0.0.1:%d" % e.port
    try:
        s = socket.create_connection(("127.0.0.1", e.port), timeout=5)
        s.sendall(("POST /__echo HTTP/1.1\r\nHost: %s\r\nContent-Length: 5\r\n\r\n"
                   % host).encode())
        time.sleep(0.2)
        s.sendall(b"hello")
        time.sleep(0.2)
        s.sendall(b"GET /__echo HTTP/1.1\r\nHo")  # a head split over two reads
        time.sleep(0.2)
        s.sendall(("st: %s\r\n\r\nGET /d/x?%s HTTP/1.1\r\nHost: %s\r\n\r\n"
                   % (host, q(size=100, cc="max-age=60"), host)).encode())
        data = read_all(s)
        s.close()
        out = []
        for _ in range(3):
            st, h, rest = parse_response(data)
            n = int(h["content-length"][0])
            out.append((st, rest[:n]))
            data = rest[n:]
        assert [st for st, _ in out] == [200, 200, 200] and data == b""
        assert json.loads(out[0][1])["body_length"] == 5
        assert json.loads(out[1][1])["method"] == "GET"
        assert len(out[2][1]) == 100
    finally:
        assert e.stop() == 0
