#!/usr/bin/env bash
# Pass-through (no caching) benchmark: strata vs Debian's nginx as a plain
# reverse proxy with upstream keep-alive. Each server runs one worker pinned
# to CPU 0; wrk and strata-origin share CPU 1. Runs are interleaved.
# Prints req/s, p50/p99 and server CPU microseconds per request, then ratios.
# Usage: tools/bench/passthrough.sh [seconds-per-run] [rounds] [size]
source "$(dirname "$0")/lib.sh"
dur=${1:-5}
rounds=${2:-2}
size=${3:-1024}
conns=${CONNS:-50}
command -v wrk >/dev/null && command -v nginx >/dev/null ||
    { echo "needs wrk and nginx: tools/install-deps.sh bench" >&2; exit 1; }

start_origin
start_strata "cache: { enabled: false }"
start_nginx
wait_port "$oport"; wait_port "$sport"; wait_port "$nport"
# nginx forks its worker: measure the worker, not the master.
sleep 0.3
nworker=$(nginx_worker)

url="/bench.html?size=$size"
printf "pass-through, %d B bodies, %d conns, %ds x %d rounds\n" "$size" "$conns" "$dur" "$rounds"
printf "%-8s %10s %9s %9s %12s %7s\n" server req/s p50_ms p99_ms cpu_us/req errors
: >"$work/results"
for r in $(seq 1 "$rounds"); do
    for s in strata nginx; do
        if [ $s = strata ]; then res=$(measure "$spid" "http://127.0.0.1:$sport$url" "$dur" "$conns")
        else res=$(measure "$nworker" "http://127.0.0.1:$nport$url" "$dur" "$conns"); fi
        echo "$s $res" >>"$work/results"
        read -r rps p50 p99 _ cpu errs <<<"$res"
        printf "%-8s %10s %9s %9s %12s %7s\n" "$s" "$rps" "$p50" "$p99" "$cpu" "$errs"
    done
done
/usr/bin/python3 - "$work/results" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
def mean(srv, i): return st.mean(float(r[i]) for r in rows if r[0] == srv)
print("mean     strata: %.0f req/s, p99 %.3f ms, %.1f us/req | nginx: %.0f req/s, p99 %.3f ms, %.1f us/req"
      % (mean("strata", 1), mean("strata", 3), mean("strata", 5),
         mean("nginx", 1), mean("nginx", 3), mean("nginx", 5)))
print("ratio    req/s strata/nginx = %.2f, cpu/req strata/nginx = %.2f, p99 strata/nginx = %.2f"
      % (mean("strata", 1) / mean("nginx", 1), mean("strata", 5) / mean("nginx", 5),
         mean("strata", 3) / mean("nginx", 3)))
PY
