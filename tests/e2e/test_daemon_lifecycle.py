"""The daemon's command line, config checking, reload and graceful stop."""
import http.client
import os
import re
import signal
import subprocess
import threading
import time

from harness import Edge, binary, free_port, start_origin, start_strata, strata_yaml


def run(*args, timeout=10):
    p = subprocess.run([binary("edge/strata")] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def get(port, path, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def test_version_and_help():
    rc, out = run("-V")
    assert rc == 0 and out.startswith("strata ")
    rc, out = run("-h")
    assert rc == 0 and "--check-config" in out and "127.0.0.1:8081" in out
    rc, out = run("--bogus")
    assert rc == 2


def test_check_default_and_good_file(tmp_path):
    assert run("-t")[0] == 0
    f = tmp_path / "ok.yaml"
    f.write_text(strata_yaml([8081], 8080))
    rc, out = run("-t", "-c", str(f))
    assert rc == 0, out


def test_check_reports_every_error_with_position(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(
        "workers: many\n"                 # wrong type      line 1
        "listen: [\"127.0.0.1:99999\"]\n"  # bad port        line 2
        "sites:\n"
        "  - name: a\n"
        "    hosts: [\"*\"]\n"
        "    origns: [\"127.0.0.1:1\"]\n"  # unknown key     line 6
    )
    rc, out = run("-t", "-c", str(f))
    assert rc == 1
    lines = [l for l in out.splitlines() if l.startswith(str(f) + ":")]
    positions = {tuple(map(int, re.match(r".*?:(\d+):(\d+): ", l).groups())) for l in lines}
    assert (1, 10) in positions, out
    assert any(p[0] == 2 for p in positions), out
    assert (6, 5) in positions, out
    assert "origns" in out


def test_missing_file_is_refused(tmp_path):
    rc, out = run("-c", str(tmp_path / "nope.yaml"))
    assert rc == 1 and "nope.yaml" in out


def test_busy_port_fails_start(tmp_path):
    e = Edge(str(tmp_path))
    try:
        f = tmp_path / "dup.yaml"
        # Same port, but SO_REUSEPORT only shares with the same user and
        # type; a plain conflicting bind is an address that does not exist.
        f.write_text(strata_yaml([e.origin.port], e.port).replace("127.0.0.1:%d\"]" % e.port,
                                                                   "192.0.2.1:%d\"]" % e.port))
        rc, out = run("-c", str(f))
        assert rc == 1 and "192.0.2.1" in out
    finally:
        assert e.stop() == 0


def test_sighup_reload_under_load_drops_nothing(tmp_path):
    o1, o2 = start_origin(), start_origin()
    port = free_port()
    p = start_strata(strata_yaml([o1.port], port, workers=2), port, str(tmp_path))
    failures, done = [], threading.Event()
    served = [0]

    def load():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        while not done.is_set():
            try:
                c.request("GET", "/l?size=2000")
                r = c.getresponse()
                if r.status != 200 or len(r.read()) != 2000:
                    failures.append(r.status)
                served[0] += 1
            except Exception as ex:  # noqa: BLE001
                failures.append(repr(ex))
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.close()

    threads = [threading.Thread(target=load) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.3)
        with open(os.path.join(str(tmp_path), "strata.yaml"), "w") as f:
            f.write(strata_yaml([o2.port], port, workers=2))
        for _ in range(3):
            p.signal(signal.SIGHUP)
            time.sleep(0.3)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            r, _ = get(port, "/after-reload?size=1")
            if r.getheader("X-Origin-Request") and get(o2.port, "/__stats?detail=1")[1].find(b"after-reload") >= 0:
                break
            time.sleep(0.05)
        done.set()
        for t in threads:
            t.join(timeout=10)
        assert not failures, failures[:5]
        assert served[0] > 50
        import json
        st2 = json.loads(get(o2.port, "/__stats?detail=1")[1])
        assert st2["requests"] > 0, "reload did not switch origins"
    finally:
        done.set()
        assert p.stop() == 0
        o1.stop()
        o2.stop()


def test_bad_reload_keeps_running_config(tmp_path):
    e = Edge(str(tmp_path))
    try:
        with open(os.path.join(str(tmp_path), "strata.yaml"), "w") as f:
            f.write("workers: [oops\n")
        e.proc.signal(signal.SIGHUP)
        time.sleep(0.3)
        r, body = get(e.port, "/still?size=5")
        assert r.status == 200 and len(body) == 5
        assert re.search(r"strata\.yaml:\d+:\d+: ", e.proc.log()), e.proc.log()
        assert "reload refused" in e.proc.log()
    finally:
        assert e.stop() == 0


def test_sigterm_drains_inflight_then_exits_zero(tmp_path):
    e = Edge(str(tmp_path), extra="drain_timeout: 5s\n")
    result = {}

    def slow():
        try:
            r, body = get(e.port, "/slow?delay_ms=800&size=100", timeout=5)
            result["status"], result["len"] = r.status, len(body)
        except Exception as ex:  # noqa: BLE001
            result["err"] = repr(ex)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    e.proc.signal(signal.SIGTERM)
    time.sleep(0.1)
    import socket
    refused = False
    try:
        socket.create_connection(("127.0.0.1", e.port), timeout=0.5).close()
    except OSError:
        refused = True
    t.join(timeout=5)
    rc = e.proc.wait(timeout=5)
    e.stop()
    assert result.get("status") == 200 and result.get("len") == 100, result
    assert refused, "still accepting after SIGTERM"
    assert rc == 0


def test_access_log_line(tmp_path):
    logf = tmp_path / "access.log"
    e = Edge(str(tmp_path), extra="log: { access_log: %s }\n" % logf)
    try:
        get(e.port, "/logged/path?size=7")
    finally:
        assert e.stop() == 0
    line = logf.read_text().strip().splitlines()[-1]
    f = line.split(" ")
    # time client method host path status bytes ms cache upstream
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", f[0]), line
    assert "127.0.0.1 GET 127.0.0.1 /logged/path?size=7 200 7 " in line, line
    assert f[-1] == "127.0.0.1:%d" % e.origin.port
    # Cache-Status has spaces: it is quoted so fields stay splittable.
    assert re.search(r' "(strata; [^"]*|-)" 127\.0\.0\.1:\d+$', line), line
