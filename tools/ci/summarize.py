#!/usr/bin/env python3
"""Sums the results of `make check` logs in one or more build trees.

For each test listed in a build's test-suite, it reads the log: cmocka and
pytest logs give their own counts; other tests count as one by their .trs
result. Prints 'N passed, N failed, N skipped' and exits 1 on any failure."""
import glob
import os
import re
import sys

CMOCKA_PASS = re.compile(r"^\[  PASSED  \] (\d+) test", re.M)
CMOCKA_FAIL = re.compile(r"^\[  FAILED  \] (\d+) test", re.M)
CMOCKA_SKIP = re.compile(r"^\[  SKIPPED \] (\d+) test", re.M)
PYTEST = re.compile(r"^=*\s*(.*\d+ (?:passed|failed|error|errors|skipped).*) in [\d.]+s", re.M)


def pytest_counts(text):
    m = PYTEST.findall(text)
    if not m:
        return None
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for num, word in re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)", m[-1]):
        key = {"error": "failed", "errors": "failed", "xfailed": "skipped",
               "xpassed": "passed"}.get(word, word)
        counts[key] += int(num)
    return counts


def trs_result(trs):
    try:
        with open(trs) as f:
            m = re.search(r":test-result: (\w+)", f.read())
    except OSError:
        return "FAIL"
    return m.group(1) if m else "FAIL"


def one_log(log):
    with open(log, errors="replace") as f:
        text = f.read()
    trs = log[:-4] + ".trs"
    res = trs_result(trs)
    c = {"passed": 0, "failed": 0, "skipped": 0}
    if CMOCKA_PASS.search(text) or CMOCKA_FAIL.search(text):
        c["passed"] = sum(int(x) for x in CMOCKA_PASS.findall(text))
        c["failed"] = sum(int(x) for x in CMOCKA_FAIL.findall(text))
        c["skipped"] = sum(int(x) for x in CMOCKA_SKIP.findall(text))
    else:
        pc = pytest_counts(text)
        if pc is not None:
            c = pc
        elif res == "SKIP":
            c["skipped"] = 1
        elif res == "PASS":
            c["passed"] = 1
    # A crash, sanitizer abort or nonzero exit after the counts is a failure.
    if res in ("FAIL", "ERROR", "XPASS") and c["failed"] == 0:
        c["failed"] = 1
    return c


def main():
    total = {"passed": 0, "failed": 0, "skipped": 0}
    for build in sys.argv[1:]:
        logs = [p for p in glob.glob(os.path.join(build, "**", "*.log"), recursive=True)
                if os.path.exists(p[:-4] + ".trs")]
        if not logs:
            print("%s: no test results (build or test run failed)" % build)
            total["failed"] += 1
        for log in sorted(logs):
            c = one_log(log)
            rel = os.path.relpath(log, build)
            print("  %-7s %-45s %d passed, %d failed, %d skipped" % (
                os.path.basename(build), rel[:-4], c["passed"], c["failed"], c["skipped"]))
            for k in total:
                total[k] += c[k]
    print("%d passed, %d failed, %d skipped" % (total["passed"], total["failed"], total["skipped"]))
    return 1 if total["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
