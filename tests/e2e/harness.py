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
