#!/usr/bin/env bash
# Installs what is missing, builds twice (plain -Werror, then ASan+UBSan)
# out of tree, runs every suite (`make check`: unit, end-to-end, fuzz smoke)
# in both, and ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

./tools/install-deps.sh test || { echo "0 passed, 1 failed"; exit 1; }
autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }

build() { # name, configure flags...
    local dir="$top/build/$1"; shift
    rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || return 1
    "$top/configure" -q "$@" >configure.out 2>&1 || { cat configure.out; return 1; }
    make -j"$jobs" >make.out 2>&1 || { tail -50 make.out; return 1; }
    make -j"$jobs" check >check.out 2>&1
    grep -E '^(PASS|FAIL|SKIP|ERROR|XPASS|XFAIL):' check.out
    for f in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find . -name '*.trs')); do
        echo "---- ${f%.trs}.log (tail)"; tail -40 "${f%.trs}.log"
    done
    return 0
}

echo "== build and test: plain (-Wall -Wextra -Werror)"
build plain
echo "== build and test: ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build asan --enable-sanitizers
cd "$top"
/usr/bin/python3 tools/ci/summarize.py build/plain build/asan
