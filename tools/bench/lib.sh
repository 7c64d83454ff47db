# Shared helpers for the benchmark scripts (sourced). Everything listens on
# 127.0.0.1 with ports the OS hands out, and every process started here is
# stopped by the EXIT trap.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${BUILD:=$top/build/plain}"
work=$(mktemp -d /tmp/strata-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # port
    for _ in $(seq 1 100); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listening on port $1" >&2
    return 1
}

# CPU ticks (utime+stime) of a process and its threads.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Runs wrk against URL, prints "rps p50_ms p99_ms requests cpu_us_per_req".
# args: pid-of-server url duration connections
measure() {
    local pid=$1 url=$2 dur=$3 conns=$4 t0 t1 out hz
    hz=$(getconf CLK_TCK)
    t0=$(cpu_ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${dur}s" --latency "$url" 2>&1)
    t1=$(cpu_ticks "$pid")
    /usr/bin/python3 - "$t0" "$t1" "$hz" <<PY
import re, sys
out = """$out"""
t0, t1, hz = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def ms(s):
    mm = re.match(r"([\d.]+)(us|ms|s|m)\b", s)
    if mm is None:
        sys.exit("cannot parse wrk latency %r in:\n%s" % (s, out))
    v, u = mm.groups()
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
reqs = int(re.search(r"(\d+) requests in", out).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
cpu = (t1 - t0) * 1e6 / hz / max(reqs, 1)
print("%.0f %.3f %.3f %d %.1f %s" % (rps, p50, p99, reqs, cpu, errs.group(1) if errs else 0))
PY
}

# strata-origin on CPU 1 at $oport (sets oport).
start_origin() {
    oport=$(free_port)
    taskset -c 1 "$BUILD/tools/strata-origin" --listen "127.0.0.1:$oport" -q &
    pids+=($!)
}

# strata with one worker on CPU 0 at $sport in front of $oport; $1 is the
# config's cache line (e.g. 'cache: { enabled: false }'). Sets sport, spid.
start_strata() {
    sport=$(free_port)
    cat >"$work/strata.yaml" <<YAML
workers: 1
listen: ["127.0.0.1:$sport"]
log: { level: warn }
$1
sites:
  - name: bench
    hosts: ["*"]
    origin: ["127.0.0.1:$oport"]
YAML
    taskset -c 0 "$BUILD/edge/strata" -c "$work/strata.yaml" &
    spid=$!
    pids+=($spid)
}

# nginx (one worker, CPU 0) at $nport as a keep-alive reverse proxy to
# $oport; with $1 (a max_size such as 512m) it caches with proxy_cache.
# Sets nport, npid; nginx_worker prints the worker's pid once it runs.
start_nginx() {
    local cache_path="" cache_use=""
    nport=$(free_port)
    mkdir -p "$work/nginx/cache"
    if [ -n "${1:-}" ]; then
        cache_path="proxy_cache_path $work/nginx/cache keys_zone=c:64m max_size=$1 inactive=1h;"
        cache_use="proxy_cache c;"
    fi
    cat >"$work/nginx/nginx.conf" <<NGX
user root;
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    $cache_path
    upstream origin { server 127.0.0.1:$oport; keepalive 32; }
    server {
        listen 127.0.0.1:$nport;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            $cache_use
        }
    }
}
NGX
    taskset -c 0 nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
    npid=$!
    pids+=($npid)
}

nginx_worker() { pgrep -P "$npid" | head -1; }
