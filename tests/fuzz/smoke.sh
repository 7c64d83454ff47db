#!/bin/sh
# Fuzz smoke test for the HTTP/1 parser, run by `make check` from the top
# build directory. Runs tests/fuzz/h1_request_fuzz (built by make with
# clang) for a bounded time over a scratch copy of the seed corpus, so
# nothing is written into the source tree. Exit 77 (SKIP) without it.
#   srcdir            top source directory (exported by automake's harness)
#   H1_FUZZ_SECONDS   time budget (default 20)
#   H1_FUZZ_RUNS      run budget (default 2000000)
set -u
fuzzer=./tests/fuzz/h1_request_fuzz
corpus="${srcdir:-.}/tests/fuzz/corpus/h1"

if ! test -x "$fuzzer"; then
    echo "h1 fuzz smoke: no $fuzzer (clang not found by configure): skipped"
    exit 77
fi
if ! test -d "$corpus"; then
    echo "h1 fuzz smoke: seed corpus $corpus missing" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/h1-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus" "$work/artifacts"
cp "$corpus"/* "$work/corpus/"

"$fuzzer" -max_total_time="${H1_FUZZ_SECONDS:-20}" \
    -runs="${H1_FUZZ_RUNS:-2000000}" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus"
rc=$?
if test $rc -ne 0; then
    # keep what crashed next to the build tree, never in the sources
    mkdir -p tests/fuzz/h1-artifacts
    cp "$work"/artifacts/* tests/fuzz/h1-artifacts/ 2>/dev/null
    echo "h1 fuzz smoke: failed ($rc); inputs in tests/fuzz/h1-artifacts/" >&2
    exit 1
fi
echo "h1 fuzz smoke: ok"
