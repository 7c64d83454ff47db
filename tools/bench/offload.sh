#!/usr/bin/env bash
# Origin offload of strata, nginx (proxy_cache) and Varnish side by side:
# the same seeded Zipf workload through each cache, with the same memory
# budget, in front of one strata-origin whose counters are reset between
# runs. The catalogue is larger than the cache, so eviction decides the
# result. Prints request and byte offload and the client's view of each.
# A figure, not a test: it asserts nothing.
#
# usage: tools/bench/offload.sh [BUILD_DIR]
# env:   KEEP=1 keeps the temporary directory (logs, JSON reports)
#        OBJECTS (100000) ZIPF (0.8) SIZES (lognormal:median=4KiB,sigma=1,max=256KiB)
#        MEM (64) cache budget in MiB, WARMUP (20s) unmeasured time before,
#        REQUESTS (200000) measured requests, CONNS (32), SEED (1)
set -euo pipefail

BUILD=${1:-${STRATA_BUILD:-.}}
LOAD=$BUILD/tools/strata-load
ORIGIN=$BUILD/tools/strata-origin
STRATA=$BUILD/edge/strata
NGINX=/usr/sbin/nginx
OBJECTS=${OBJECTS:-100000}
ZIPF=${ZIPF:-0.8}
SIZES=${SIZES:-lognormal:median=4KiB,sigma=1,max=256KiB}
MEM=${MEM:-64}
WARMUP=${WARMUP:-20s}
REQUESTS=${REQUESTS:-200000}
CONNS=${CONNS:-32}
SEED=${SEED:-1}

for bin in "$LOAD" "$ORIGIN"; do
    [ -x "$bin" ] || { echo "missing $bin (make)" >&2; exit 2; }
done

dir=$(mktemp -d)
chmod 755 "$dir" # nginx workers run as nobody
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] && echo "kept $dir" >&2 || rm -rf "$dir"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# Starts a server in the background, logging to $dir/NAME.log.
start() {
    local name=$1 port=$2
    shift 2
    "$@" >"$dir/$name.log" 2>&1 &
    pids+=($!)
    wait_port "$port" || { echo "$name did not start:" >&2; tail "$dir/$name.log" >&2; return 1; }
}
stop_last() {
    local p=${pids[-1]}
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset 'pids[-1]'
}

oport=$(free_port)
start origin "$oport" "$ORIGIN" --listen "127.0.0.1:$oport"
stats="http://127.0.0.1:$oport/__stats"

# Runs the workload through 127.0.0.1:$2 and prints one row for cache $1.
measure() {
    local name=$1 port=$2 note=${3:-}
    curl -s -X POST "http://127.0.0.1:$oport/__reset" >/dev/null
    "$LOAD" --url "http://127.0.0.1:$port" --objects "$OBJECTS" --zipf "$ZIPF" \
        --sizes "$SIZES" --seed "$SEED" --warmup "$WARMUP" --requests "$REQUESTS" \
        -c "$CONNS" --origin-stats "$stats" --json "$dir/$name.json" -q --no-progress \
        --max-errors 1 || true
    python3 - "$dir/$name.json" "$name" "$note" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
errs = ", ".join("%s %d" % kv for kv in d["errors_by_kind"].items() if kv[1])
print("%-8s %8.1f%% %9.1f%% %9.1f%% %9.0f %9.2f %7d  %s" % (
    sys.argv[2], 100 * (d.get("offload_requests") or 0), 100 * (d.get("offload_bytes") or 0),
    100 * d["hit_ratio"], d["rps"], d["latency_ms"]["p99"], d["errors"],
    sys.argv[3] + (" [%s]" % errs if errs else "")))
PY
}

ws=$("$LOAD" --url "http://127.0.0.1:$oport" --objects "$OBJECTS" --sizes "$SIZES" \
    --seed "$SEED" -n 1 -c 1 --json - -q | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["workload"]["working_set_bytes"] >> 20)')
echo "workload: $OBJECTS objects ($ws MiB), Zipf $ZIPF, sizes $SIZES, seed $SEED;" \
     "warm-up $WARMUP, then $REQUESTS requests over $CONNS connections"
echo "cache budget: $MEM MiB each"
echo
printf '%-8s %9s %10s %10s %9s %9s %7s\n' cache "offload" "byte-offl" "hit-ratio" "req/s" \
    "p99 ms" errors

# strata: with a RAM cache of $MEM MiB when its config accepts one.
if [ -x "$STRATA" ]; then
    sport=$(free_port)
    base="listen: [\"127.0.0.1:$sport\"]
data_dir: $dir/strata
sites:
  - name: bench
    hosts: [\"*\"]
    origin: [\"127.0.0.1:$oport\"]"
    note=""
    printf '%s\ncache: { memory: %dMiB }\n' "$base" "$MEM" >"$dir/strata.yaml"
    if ! "$STRATA" -t -c "$dir/strata.yaml" >/dev/null 2>&1; then
        echo "$base" >"$dir/strata.yaml"
        note="(strata has no cache yet: config without 'cache:')"
    fi
    mkdir -p "$dir/strata"
    start strata "$sport" "$STRATA" -c "$dir/strata.yaml"
    measure strata "$sport" "$note"
    stop_last
else
    echo "strata   skipped: $STRATA not built"
fi

# nginx: proxy_cache limited to $MEM MiB (on disk: the page cache holds it),
# with request coalescing.
if [ -x "$NGINX" ]; then
    nport=$(free_port)
    mkdir -p "$dir/ngx/tmp" "$dir/ngx/cache"
    chmod -R a+rwx "$dir/ngx"
    cat >"$dir/ngx/nginx.conf" <<CONF
worker_processes 1;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/ngx/tmp; proxy_temp_path $dir/ngx/tmp;
    fastcgi_temp_path $dir/ngx/tmp; uwsgi_temp_path $dir/ngx/tmp; scgi_temp_path $dir/ngx/tmp;
    # The cache manager must evict as fast as misses arrive, or the cache
    # grows far past max_size under load (defaults: 100 files per 50 ms).
    proxy_cache_path $dir/ngx/cache levels=1:2 keys_zone=bench:16m max_size=${MEM}m
                     inactive=1h use_temp_path=off manager_files=100000
                     manager_sleep=10ms manager_threshold=1000ms;
    upstream origin { server 127.0.0.1:$oport; keepalive 64; }
    server {
        listen 127.0.0.1:$nport backlog=4096;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_lock on;
            add_header X-Cache \$upstream_cache_status;
        }
    }
}
CONF
    start nginx "$nport" "$NGINX" -p "$dir/ngx" -c "$dir/ngx/nginx.conf" \
        -g "daemon off; pid $dir/ngx/nginx.pid; error_log stderr;"
    measure nginx "$nport"
    stop_last
else
    echo "nginx    skipped: $NGINX is missing (tools/install-deps.sh bench)"
fi

# Varnish: malloc storage of $MEM MiB.
if command -v varnishd >/dev/null; then
    vport=$(free_port)
    cat >"$dir/varnish.vcl" <<VCL
vcl 4.1;
backend default { .host = "127.0.0.1"; .port = "$oport"; }
sub vcl_deliver {
    if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
VCL
    start varnish "$vport" varnishd -F -j none -n "$dir/varnish" -a "127.0.0.1:$vport" \
        -f "$dir/varnish.vcl" -s "malloc,${MEM}m"
    measure varnish "$vport"
    stop_last
else
    echo "varnish  skipped: varnishd is missing (tools/install-deps.sh bench)"
fi
