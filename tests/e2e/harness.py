"""Shared end-to-end helpers: free ports, starting and stopping the real
binaries, raw HTTP/1.1 over sockets. Every process started here is stopped
by its fixture; every wait is bounded in time."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("STRATA_BUILD", TOP)


def binary(rel):
    """Path of a built binary, e.g. binary('edge/strata')."""
    p = os.path.join(BUILD, rel)
    if not os.path.exists(p):
        raise RuntimeError("%s not built (run make)" % p)
    return p


def free_port(family=socket.AF_INET):
    """A port the OS says is free on loopback right now."""
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=5.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %d before listening" % proc.returncode)
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("nothing listening on %s:%d after %.1fs" % (host, port, timeout))


class Proc:
    """A started binary. stop() sends SIGTERM, then SIGKILL after a bound."""

    def __init__(self, argv, port=None, host="127.0.0.1", env=None, cwd=None):
        self.argv = argv
        self.logf = tempfile.NamedTemporaryFile(prefix="strata-e2e-", suffix=".log", delete=False)
        full_env = dict(os.environ)
        full_env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                  env=full_env, cwd=cwd)
        self.port = port
        if port is not None:
            wait_port(port, host=host, proc=self.p)

    @property
    def pid(self):
        return self.p.pid

    def log(self):
        self.logf.flush()
        with open(self.logf.name, "r", errors="replace") as f:
            return f.read()

    def signal(self, sig):
        self.p.send_signal(sig)

    def wait(self, timeout=10.0):
        return self.p.wait(timeout=timeout)

    def stop(self, timeout=10.0):
        """Stops the process; returns its exit code."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)
        rc = self.p.returncode
        log = self.log()
        os.unlink(self.logf.name)
        # A sanitizer report anywhere in the log is a failure.
        assert "ERROR: AddressSanitizer" not in log, log
        assert "runtime error:" not in log, log
        assert "ERROR: LeakSanitizer" not in log, log
        return rc


def start_origin(*extra, port=None):
    port = port or free_port()
    argv = [binary("tools/strata-origin"), "--listen", "127.0.0.1:%d" % port] + list(extra)
    return Proc(argv, port=port)


def http_request(port, raw, host="127.0.0.1", timeout=5.0, read_all=True):
    """Sends raw bytes, returns every byte received until close or timeout."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(raw)
        chunks = []
        if not read_all:
            return s.recv(65536)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)


def get_json(port, path, host="127.0.0.1"):
    import http.client
    c = http.client.HTTPConnection(host, port, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return json.loads(body)


def strata_yaml(origins, listen_port, extra="", site_extra="", hosts='["*"]', workers=1):
    """A config for one site in front of origins (list of ports)."""
    olist = ", ".join('"127.0.0.1:%d"' % p for p in origins)
    return (
        "workers: %d\n"
        "listen: [\"127.0.0.1:%d\"]\n"
        "%s"
        "sites:\n"
        "  - name: test\n"
        "    hosts: %s\n"
        "    origin: [%s]\n"
        "%s" % (workers, listen_port, extra, hosts, olist, site_extra))


def start_strata(yaml_text, port, tmpdir, name="strata.yaml", env=None):
    """Writes the config to tmpdir and starts edge/strata on it."""
    path = os.path.join(tmpdir, name)
    with open(path, "w") as f:
        f.write(yaml_text)
    return Proc([binary("edge/strata"), "-c", path], port=port, env=env, cwd=tmpdir)


class Edge:
    """strata in front of a fresh strata-origin, stopped together."""

    def __init__(self, tmpdir, extra="", site_extra="", origin_args=(), workers=1,
                 hosts='["*"]', n_origins=1, env=None):
        self.origins = [start_origin(*origin_args) for _ in range(n_origins)]
        self.origin = self.origins[0]
        self.port = free_port()
        self.tmpdir = tmpdir
        self.yaml = strata_yaml([o.port for o in self.origins], self.port, extra=extra,
                                site_extra=site_extra, hosts=hosts, workers=workers)
        self.proc = start_strata(self.yaml, self.port, tmpdir, env=env)

    def origin_stats(self, detail=False, i=0):
        return get_json(self.origins[i].port, "/__stats" + ("?detail=1" if detail else ""))

    def stop(self):
        rc = self.proc.stop()
        for o in self.origins:
            o.stop()
        return rc


def parse_response(raw):
    """Splits one HTTP/1.1 response: (status, headers dict lowercased, rest)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers.setdefault(k.strip().lower().decode(), []).append(v.strip().decode())
    return status, headers, rest


def read_responses(sock, n, timeout=5.0):
    """Reads n complete responses (Content-Length or chunked framed) from a
    socket; returns a list of (status, headers, body)."""
    sock.settimeout(timeout)
    buf = b""
    out = []
    deadline = time.monotonic() + timeout

    def need(k):
        nonlocal buf
        while len(buf) < k:
            if time.monotonic() > deadline:
                raise TimeoutError("short read")
            b = sock.recv(65536)
            if not b:
                raise EOFError("closed after %d bytes" % len(buf))
            buf += b

    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            need(len(buf) + 1)
        head, _, buf = buf.partition(b"\r\n\r\n")
        status, headers, _ = parse_response(head + b"\r\n\r\n")
        if status < 200:
            continue
        body = b""
        if "content-length" in headers:
            k = int(headers["content-length"][0])
            need(k)
            body, buf = buf[:k], buf[k:]
        elif "chunked" in ",".join(headers.get("transfer-encoding", [])):
            while True:
                while b"\r\n" not in buf:
                    need(len(buf) + 1)
                line, _, buf = buf.partition(b"\r\n")
                size = int(line.split(b";")[0], 16)
                need(size + 2)
                body += buf[:size]
                buf = buf[size + 2:]
                if size == 0:
                    break
        out.append((status, headers, body))
    return out


def multi_get(port, path, n, timeout=30.0):
    """n concurrent GETs of path from one thread (selectors): returns a list
    of (status_line, headers dict lowercased, body_length, sha1 hex). Bodies
    are hashed as they arrive, never held: fast for many large bodies."""
    import hashlib
    import selectors
    sel = selectors.DefaultSelector()
    req = b"GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % path.encode()
    states = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.sendall(req)
        s.setblocking(False)
        st = {"sock": s, "head": b"", "hdrs": None, "line": b"", "len": 0,
              "h": hashlib.sha1(), "i": i}
        states.append(st)
        sel.register(s, selectors.EVENT_READ, st)
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    open_n = n
    deadline = time.monotonic() + timeout
    while open_n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            st = key.data
            k = st["sock"].recv_into(view)
            if k == 0:
                sel.unregister(st["sock"])
                st["sock"].close()
                open_n -= 1
                continue
            data = view[:k]
            if st["hdrs"] is None:
                st["head"] += bytes(data)
                if b"\r\n\r\n" not in st["head"]:
                    continue
                head, _, rest = st["head"].partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                st["line"] = lines[0]
                st["hdrs"] = dict((l.split(b":", 1)[0].strip().lower().decode(),
                                   l.split(b":", 1)[1].strip().decode()) for l in lines[1:])
                data = rest
            st["h"].update(data)
            st["len"] += len(data)
    for st in states:
        if st["sock"].fileno() >= 0:
            st["sock"].close()
    sel.close()
    return [(st["line"], st["hdrs"] or {}, st["len"], st["h"].hexdigest()) for st in states]


class RawOrigin:
    """An origin that answers every request with the same raw bytes, for
    responses strata-origin cannot make (malformed, or a fixed 503 on the
    address a real origin had). port 0: any free port."""

    def __init__(self, reply, port=0):
        import threading
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.stop_flag = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop_flag:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            with c:
                c.settimeout(2)
                try:
                    c.recv(65536)
                    c.sendall(self.reply)
                except OSError:
                    pass

    def close(self):
        self.stop_flag = True
        self.t.join(timeout=2)
        self.sock.close()


def q(**params):
    """A query string of strata-origin parameters (lists repeat the name)."""
    import urllib.parse
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote, doseq=True)


def get(port, path, headers=None, method="GET", timeout=20):
    """One request on a new connection: (response, body)."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def status(r):
    """A response's Cache-Status, or ""."""
    return r.getheader("Cache-Status") or ""


def parallel(n, fn):
    """fn(0..n-1) on n threads at once; results (or the exception raised)."""
    import threading
    results = [None] * n

    def run(i):
        try:
            results[i] = fn(i)
        except Exception as ex:  # noqa: BLE001
            results[i] = ex
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results
