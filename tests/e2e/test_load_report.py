"""strata-load's reports: the JSON has every documented field with
consistent values and a time series, and the HTML page is self-contained
(no script, no external reference) with an SVG chart per figure and a
polyline with data for each series. Chromium is not installed: the page is
checked structurally with html.parser."""
import html.parser
import json
import re
import subprocess

import harness

SERIES = {"requests/s", "errors/s", "p50", "p99", "hit ratio"}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.svgs = 0
        self.polylines = {}
        self.external = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "svg":
            self.svgs += 1
        if tag == "polyline":
            self.polylines.setdefault(a.get("data-series"), []).append(a.get("points", ""))
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action", "srcset") or \
                    (v and re.search(r"url\(|^\s*(https?:)?//", v)):
                self.external.append((tag, k, v))

    def handle_data(self, data):
        self.text.append(data)


def run(origin, tmp_path, *args):
    js, page = tmp_path / "r.json", tmp_path / "r.html"
    argv = [harness.binary("tools/strata-load"), "--url",
            "http://127.0.0.1:%d" % origin.port, "--json", str(js), "--report", str(page)]
    p = subprocess.run(argv + [str(a) for a in args], capture_output=True, text=True,
                       timeout=30)
    assert "Sanitizer" not in p.stderr and "runtime error:" not in p.stderr, p.stderr
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(js.read_text()), page.read_text()


def test_json_fields(origin, tmp_path):
    d, _ = run(origin, tmp_path, "--objects", 50, "--sizes", "1k", "-d", "1500ms",
               "--interval", "250ms", "-c", 4, "--header", "Accept-Encoding: gzip",
               "--origin-stats", "http://127.0.0.1:%d/__stats" % origin.port)
    for k in ("requests", "errors", "rps", "latency_ms", "hits", "misses", "hit_ratio",
              "origin_requests", "offload_requests", "offload_bytes", "origin_bytes",
              "responses", "status", "errors_by_kind", "outcomes", "bytes", "series",
              "duration_s", "warmup_requests", "unsent", "mode", "seed", "workload"):
        assert k in d, k
    assert set(d["latency_ms"]) >= {"p50", "p90", "p99", "p999", "max"}
    assert d["headers"] == ["Accept-Encoding: gzip"]
    s = d["series"]
    assert s["interval_s"] == 0.25
    n = len(s["t_s"])
    assert 5 <= n <= 7
    for k in ("rps", "errors_per_s", "p50_ms", "p99_ms", "hit_ratio"):
        assert len(s[k]) == n
    # The series adds up to the totals (each point is a rate over its slot).
    widths = [b - a for a, b in zip(s["t_s"], s["t_s"][1:] + [d["duration_s"]])]
    total = sum(r * w for r, w in zip(s["rps"], widths))
    assert abs(total - d["requests"]) <= 0.01 * d["requests"] + 1
    assert d["bytes"] == 1024 * d["requests"]


def test_html_is_self_contained_with_charts(origin, tmp_path):
    d, text = run(origin, tmp_path, "--objects", 20, "--sizes", "512", "-d", "1500ms",
                  "--interval", "250ms", "-c", 2, "--header", "X-Q: <b>&\"")
    page = Page()
    page.feed(text)
    page.close()
    assert text.startswith("<!DOCTYPE html>")
    assert page.tags.count("html") == 1 and "script" not in page.tags
    assert "link" not in page.tags and "img" not in page.tags
    assert page.external == []
    assert "http://www.w3.org" not in text  # not even a namespace URL
    assert page.svgs == 3
    assert set(page.polylines) == SERIES
    for name, lines in page.polylines.items():
        pts = " ".join(lines).split()
        assert len(pts) >= 5, name
        for pt in pts:
            x, y = (float(v) for v in pt.split(","))
            assert 0 <= x <= 880 and 0 <= y <= 260, (name, pt)
    body = "".join(page.text)
    assert "strata-load report" in body and "X-Q: <b>&\"" in body  # escaped, then decoded
    assert "%d (" % d["requests"] in body
