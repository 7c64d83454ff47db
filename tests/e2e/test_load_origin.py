"""strata-load against strata-origin directly: nothing is cached, so the
offload is 0 and the origin saw exactly the client's requests; exact request
counts across threads, JSON consistency, error counting and --max-errors,
open-loop rate and latency measured from the intended send time, warm-up
excluded, URL files with weights, seeded reproducibility, SIGINT."""
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

import harness


def load(*args, timeout=30):
    """Runs strata-load; returns the CompletedProcess."""
    argv = [harness.binary("tools/strata-load")] + [str(a) for a in args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    for bad in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
        assert bad not in p.stderr, p.stderr
    return p


def load_json(tmp_path, *args, rc=0, timeout=30):
    out = os.path.join(str(tmp_path), "load.json")
    p = load(*args, "--json", out, timeout=timeout)
    assert p.returncode == rc, "rc %d\n%s\n%s" % (p.returncode, p.stdout, p.stderr)
    with open(out) as f:
        return json.load(f), p


def url(origin, path="/"):
    return "http://127.0.0.1:%d%s" % (origin.port, path)


def stats_url(origin):
    return url(origin, "/__stats")


def origin_stats(origin, detail=False):
    return harness.get_json(origin.port, "/__stats" + ("?detail=1" if detail else ""))


def origin_reset(origin):
    req = urllib.request.Request(url(origin, "/__reset"), method="POST", data=b"")
    urllib.request.urlopen(req, timeout=5).read()


def check_consistent(d):
    """Invariants every report must satisfy."""
    assert d["requests"] == sum(d["outcomes"].values())
    assert d["requests"] == d["responses"] + d["outcomes"]["no_response"]
    assert d["responses"] == sum(d["status"].values())
    assert d["errors"] == sum(d["errors_by_kind"].values())
    assert d["hits"] == d["outcomes"]["hit"] and d["misses"] == d["outcomes"]["miss"]
    lat = d["latency_ms"]
    if d["responses"]:
        assert 0 <= lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] \
            <= lat["max"]
    assert 0 <= d["hit_ratio"] <= 1
    assert d["rps"] >= 0 and d["duration_s"] > 0


def test_offload_is_zero_against_the_origin(origin, tmp_path):
    d, p = load_json(tmp_path, "--url", url(origin), "--objects", 300, "--zipf", 0.8,
                     "--sizes", "lognormal:median=2KiB,sigma=1,max=64KiB",
                     "--requests", 600, "-c", 4, "--origin-stats", stats_url(origin))
    check_consistent(d)
    assert d["requests"] == 600 and d["errors"] == 0
    assert d["status"] == {"200": 600}
    assert d["origin_requests"] == 600
    assert d["origin_bytes"] == d["bytes"]
    assert d["offload_requests"] == 0 and d["offload_bytes"] == 0
    assert d["hits"] == 0 and d["outcomes"]["none"] == 600
    assert d["workload"]["kind"] == "catalogue" and d["workload"]["objects"] == 300
    for key in ("p50", "p90", "p99", "p999", "max"):
        assert d["latency_ms"][key] > 0
    # The summary table is on stdout and names the offload.
    assert "offload      0.00% of requests" in p.stdout
    paths = origin_stats(origin, detail=True)["paths"]
    assert all(k.startswith("/obj/") and "?size=" in k and
               "&cc=public%2C%20max-age%3D3600" in k for k in paths)


def test_exact_request_count_over_threads(origin, tmp_path):
    d, _ = load_json(tmp_path, "--url", url(origin, "/x?size=100"), "--requests", 1001,
                     "--threads", 3, "--connections", 7, "--origin-stats", stats_url(origin))
    check_consistent(d)
    assert d["requests"] == 1001 and d["origin_requests"] == 1001
    assert d["threads"] == 3 and d["connections"] == 7


def test_warmup_is_excluded(origin, tmp_path):
    d, _ = load_json(tmp_path, "--url", url(origin, "/w?size=10"), "--warmup", "500ms",
                     "--duration", "700ms", "-c", 2, "--origin-stats", stats_url(origin))
    check_consistent(d)
    assert d["warmup_requests"] > 0
    assert d["origin_requests"] == d["requests"]
    assert origin_stats(origin)["requests"] == d["requests"] + d["warmup_requests"]
    assert 0.6 < d["duration_s"] < 1.5


def test_status_5xx_counts_as_error_and_max_errors(origin, tmp_path):
    d, p = load_json(tmp_path, "--url", url(origin, "/f?fail=500"), "-n", 40, "-c", 2, rc=1)
    check_consistent(d)
    assert d["errors"] == 40 and d["errors_by_kind"]["status_5xx"] == 40
    assert d["status"] == {"500": 40}
    assert "above --max-errors" in p.stderr
    d, _ = load_json(tmp_path, "--url", url(origin, "/f?fail=500"), "-n", 40, "-c", 2,
                     "--max-errors", 1)
    assert d["error_rate"] == 1


def test_max_errors_threshold(origin, tmp_path):
    urls = tmp_path / "urls.txt"
    urls.write_text("/ok?size=10 1\n/bad?fail=503 1\n")
    args = ["--url", url(origin), "--urls", urls, "-n", 400, "-c", 4]
    d, _ = load_json(tmp_path, *args, "--max-errors", 0.7)
    assert 0.35 < d["error_rate"] < 0.65
    assert d["status"]["503"] == d["errors"]
    load_json(tmp_path, *args, "--max-errors", 0.3, rc=1)


def test_connect_errors_are_counted(tmp_path):
    port = harness.free_port()  # nothing listens there
    d, _ = load_json(tmp_path, "--url", "http://127.0.0.1:%d/" % port, "-n", 12, "-c", 2,
                     rc=1)
    check_consistent(d)
    assert d["requests"] == 12 and d["errors_by_kind"]["connect"] == 12
    assert d["outcomes"]["no_response"] == 12 and d["responses"] == 0


def test_open_loop_rate_is_honoured(origin, tmp_path):
    d, _ = load_json(tmp_path, "--url", url(origin, "/r?size=100"), "--rate", 400,
                     "--duration", 2, "-c", 8, "--interval", "500ms")
    check_consistent(d)
    assert d["mode"] == "open" and d["rate"] == 400
    assert abs(d["requests"] - 800) <= 8
    assert abs(d["rps"] - 400) / 400 < 0.05
    assert d["unsent"] == 0
    for r in d["series"]["rps"]:
        assert abs(r - 400) / 400 < 0.2, d["series"]["rps"]


def test_open_loop_latency_counts_queueing(origin, tmp_path):
    """One connection, 50 req/s, 100 ms per response: the server can do 10/s.
    Latency from the intended send time grows with the backlog (no
    coordinated omission), and requests never sent are reported."""
    d, _ = load_json(tmp_path, "--url", url(origin, "/slow?delay_ms=100"), "--rate", 50,
                     "--duration", 2, "-c", 1, "--max-errors", 1)
    assert 15 <= d["requests"] <= 22
    assert d["latency_ms"]["min"] >= 99
    assert d["latency_ms"]["max"] > 1200
    assert d["unsent"] >= 70
    # Closed loop on the same server: each latency is the service time.
    c, _ = load_json(tmp_path, "--url", url(origin, "/slow?delay_ms=100"), "-d", 1, "-c", 1)
    assert c["latency_ms"]["max"] < 300


def test_url_file_weights(origin, tmp_path):
    urls = tmp_path / "urls.txt"
    urls.write_text("# weighted\n/a?size=10 3\n\n/b?size=10   1\n"
                    "http://other.test/c?size=10 0\n")
    d, _ = load_json(tmp_path, "--url", url(origin), "--urls", urls, "-n", 2000, "-c", 4)
    check_consistent(d)
    assert d["workload"] == {"kind": "urls", "file": str(urls), "urls": 3}
    paths = origin_stats(origin, detail=True)["paths"]
    a, b = paths.get("/a?size=10", 0), paths.get("/b?size=10", 0)
    assert a + b == 2000 and "/c?size=10" not in paths
    assert 2.6 < a / b < 3.4


def test_url_file_errors_name_the_line(origin, tmp_path):
    urls = tmp_path / "bad.txt"
    urls.write_text("/a\n/b 2\n/c two\n")
    p = load("--url", url(origin), "--urls", urls, "-n", 1)
    assert p.returncode == 2
    assert "%s:3: bad weight" % urls in p.stderr


def test_bad_command_lines(origin):
    for args, msg in ((["-n", 1], "--url is required"),
                      (["--url", "ftp://x/"], "expected http://"),
                      (["--url", url(origin), "-n", 0], "bad value '0' for --requests"),
                      (["--url", url(origin), "--zipf", 1], "need --objects"),
                      (["--url", url(origin), "-d", 1, "-n", 5], "exclude each other"),
                      (["--url", url(origin), "--objects", 5, "--sizes", "huge"],
                       "size spec"),
                      (["--url", url(origin), "--header", "bad header"], "bad header")):
        p = load(*args)
        assert p.returncode == 2, args
        assert msg in p.stderr, (args, p.stderr)
    p = load("--help")
    assert p.returncode == 0 and "--origin-stats URL" in p.stdout


def test_seed_makes_runs_reproducible(origin, tmp_path):
    def run(seed):
        origin_reset(origin)
        load_json(tmp_path, "--url", url(origin), "--objects", 1000, "--sizes", "100",
                  "-n", 500, "-c", 3, "-t", 2, "--seed", seed)
        return origin_stats(origin, detail=True)["paths"]

    first, again, other = run(5), run(5), run(6)
    assert first == again
    assert first != other


def test_cache_outcome_from_response_headers(origin, tmp_path):
    """strata-origin adds any header with hdr=: stand-ins for a cache."""
    urls = tmp_path / "urls.txt"
    urls.write_text("/h?size=100&hdr=Cache-Status:strata%3B%20hit%3B%20ttl%3D5 2\n"
                    "/m?size=100&hdr=Cache-Status:up%3B%20hit%2C%20strata%3B%20fwd%3Dmiss 1\n"
                    "/x?size=100&hdr=X-Cache:HIT%20from%20squid 1\n"
                    "/b?size=100&hdr=Cache-Status:strata%3B%20fwd%3Dbypass 1\n"
                    "/n?size=100 1\n")
    d, p = load_json(tmp_path, "--url", url(origin), "--urls", urls, "-n", 1200, "-c", 4)
    check_consistent(d)
    paths = origin_stats(origin, detail=True)["paths"]

    def count(prefix):
        return sum(v for k, v in paths.items() if k.startswith(prefix))
    assert d["hits"] == count("/h?") + count("/x?")
    assert d["misses"] == count("/m?")
    assert d["bypass"] == count("/b?")
    assert d["outcomes"]["none"] == count("/n?")
    assert abs(d["hit_ratio"] - d["hits"] / 1200) < 1e-9
    assert "hit ratio" in p.stdout


def test_progress_line_only_when_asked(origin, tmp_path):
    p = load("--url", url(origin), "-d", "1200ms", "-c", 1, "-q")
    assert p.returncode == 0 and p.stderr == "" and p.stdout == ""
    p = load("--url", url(origin), "-d", "1200ms", "-c", 1, "-q", "--progress")
    # Rewritten in place: erase-line escapes (text mode turns \r into \n).
    assert "req/s" in p.stderr and "\x1b[K" in p.stderr


def test_sigint_stops_and_still_reports(origin, tmp_path):
    out = tmp_path / "int.json"
    argv = [harness.binary("tools/strata-load"), "--url", url(origin, "/s?delay_ms=50"),
            "-d", 30, "-c", 4, "--json", out]
    p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=5)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=5)
    assert p.returncode == 130, stderr
    assert "interrupted" in stdout
    d = json.loads(out.read_text())
    assert d["interrupted"] is True and d["requests"] > 0
    assert d["duration_s"] < 3
