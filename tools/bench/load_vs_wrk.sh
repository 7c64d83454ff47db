#!/usr/bin/env bash
# Closed-loop maximum of strata-load against wrk's, on the same target:
# Debian's nginx answering every request with a 1 KiB body. nginx runs on
# CPU 0, each load tool alone on CPU 1; runs are interleaved so drift hits
# both tools alike. Prints req/s per run, the medians and their ratio.
# The tool must not be the bottleneck: the ratio should be >= 0.80.
#
# usage: tools/bench/load_vs_wrk.sh [BUILD_DIR]
# env:   ROUNDS (3), SECS (5), CONNS (50)
set -euo pipefail

BUILD=${1:-${STRATA_BUILD:-.}}
LOAD=$BUILD/tools/strata-load
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
CONNS=${CONNS:-50}
NGINX=/usr/sbin/nginx

for bin in "$LOAD" "$NGINX" "$(command -v wrk || true)" "$(command -v taskset || true)"; do
    if [ -z "$bin" ] || [ ! -x "$bin" ]; then
        echo "missing: ${bin:-wrk or taskset} (tools/install-deps.sh bench; make)" >&2
        exit 2
    fi
done

dir=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
body=$(head -c 1024 /dev/zero | tr '\0' 'a')
mkdir -p "$dir/tmp"
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location / { default_type text/plain; return 200 "$body"; }
    }
}
CONF
taskset -c 0 "$NGINX" -p "$dir" -c "$dir/nginx.conf" \
    -g "daemon off; pid $dir/nginx.pid; error_log $dir/error.log;" &
pid=$!
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

url="http://127.0.0.1:$port/"
# Each prints "REQ_PER_S CPU_PERCENT" (user+system time of the tool).
cpu() { awk -v s="$SECS" '{ printf "%.0f", ($1 + $2) * 100 / s }' "$dir/time"; }
run_wrk() {
    local rps
    rps=$(/usr/bin/time -f '%U %S' -o "$dir/time" taskset -c 1 \
        wrk -t1 -c"$CONNS" -d"${SECS}s" "$url" |
        awk '/^Requests\/sec:/ { printf "%.0f", $2 }')
    echo "$rps $(cpu)"
}
run_load() {
    /usr/bin/time -f '%U %S' -o "$dir/time" taskset -c 1 "$LOAD" --url "$url" -t 1 \
        -c "$CONNS" -d "$SECS" -q --no-progress --json "$dir/load.json" --max-errors 0
    echo "$(python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["rps"])' \
        "$dir/load.json") $(cpu)"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "target: nginx (1 KiB body) on CPU 0; load tool on CPU 1; $CONNS connections," \
     "1 thread, ${SECS}s per run, $ROUNDS rounds"
: >"$dir/wrk"
: >"$dir/load"
for i in $(seq "$ROUNDS"); do
    read -r w wc <<<"$(run_wrk)"
    read -r l lc <<<"$(run_load)"
    echo "$w" >>"$dir/wrk"
    echo "$l" >>"$dir/load"
    printf 'round %d: wrk %8d req/s (CPU %3d%%)   strata-load %8d req/s (CPU %3d%%)\n' \
        "$i" "$w" "$wc" "$l" "$lc"
done
mw=$(median <"$dir/wrk")
ml=$(median <"$dir/load")
printf 'median:  wrk %8.0f req/s   strata-load %8.0f req/s   ratio %.3f\n' "$mw" "$ml" \
    "$(echo "$ml / $mw" | bc -l)"
