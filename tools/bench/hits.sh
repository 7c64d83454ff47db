#!/usr/bin/env bash
# RAM cache hits: strata vs nginx (proxy_cache), HAProxy (its cache) and
# Varnish (malloc storage), for 1 KiB, 100 KiB and 1 MiB objects. Every
# server is pinned to CPU 0 (one worker/thread where it can be limited);
# wrk and strata-origin share CPU 1. Runs are interleaved. Prints req/s,
# p50/p99 and server CPU microseconds per request (utime+stime from /proc),
# the figure that compares when the load generator caps req/s.
# Usage: tools/bench/hits.sh [seconds-per-run] [rounds]
source "$(dirname "$0")/lib.sh"
dur=${1:-5}
rounds=${2:-1}
conns=${CONNS:-50}
for t in wrk nginx haproxy varnishd; do
    command -v $t >/dev/null || PATH=$PATH:/usr/sbin
    command -v $t >/dev/null || { echo "needs $t: tools/install-deps.sh bench" >&2; exit 1; }
done

hport=$(free_port); vport=$(free_port)
start_origin
start_strata "cache: { memory: 512MiB, max_object: 4MiB }"

start_nginx 512m

cat >"$work/haproxy.cfg" <<HAP
global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
cache c
    total-max-size 512
    max-object-size 2000000
    max-age 3600
frontend f
    bind 127.0.0.1:$hport
    default_backend b
backend b
    http-request cache-use c
    http-response cache-store c
    http-reuse always
    server o 127.0.0.1:$oport
HAP
taskset -c 0 haproxy -f "$work/haproxy.cfg" -db &
hpid=$!; pids+=($hpid)

mkdir -p "$work/varnish"
taskset -c 0 varnishd -F -j none -n "$work/varnish" -a "127.0.0.1:$vport" \
    -b "127.0.0.1:$oport" -s malloc,512m -p thread_pools=1 >/dev/null 2>&1 &
vpid=$!; pids+=($vpid)

for p in $oport $sport $nport $hport $vport; do wait_port "$p"; done
sleep 1
nworker=$(nginx_worker)
vchild=$(pgrep -P "$vpid" | head -1)
declare -A port=([strata]=$sport [nginx]=$nport [haproxy]=$hport [varnish]=$vport)
declare -A pid=([strata]=$spid [nginx]=$nworker [haproxy]=$hpid [varnish]=${vchild:-$vpid})

printf "cache hits, %d conns, %ds x %d rounds, servers on CPU 0, wrk on CPU 1\n" "$conns" "$dur" "$rounds"
printf "%-8s %-8s %10s %9s %9s %12s %7s\n" size server req/s p50_ms p99_ms cpu_us/req errors
: >"$work/results"
for size in 1024 102400 1048576; do
    url="/hit-$size.bin?size=$size&cc=max-age%3D3600"
    for s in strata nginx haproxy varnish; do    # warm every cache
        for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:${port[$s]}$url"; done
    done
    for r in $(seq 1 "$rounds"); do
        for s in strata nginx haproxy varnish; do
            res=$(measure "${pid[$s]}" "http://127.0.0.1:${port[$s]}$url" "$dur" "$conns")
            echo "$size $s $res" >>"$work/results"
            read -r rps p50 p99 _ cpu errs <<<"$res"
            printf "%-8s %-8s %10s %9s %9s %12s %7s\n" "$size" "$s" "$rps" "$p50" "$p99" "$cpu" "$errs"
        done
    done
done
origin_reqs=$(curl -s "http://127.0.0.1:$oport/__stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
echo "origin requests during the whole run (warm-up misses only): $origin_reqs"
/usr/bin/python3 - "$work/results" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
for size in ("1024", "102400", "1048576"):
    m = {}
    for srv in ("strata", "nginx", "haproxy", "varnish"):
        rs = [r for r in rows if r[0] == size and r[1] == srv]
        m[srv] = (st.mean(float(r[2]) for r in rs), st.mean(float(r[4]) for r in rs),
                  st.mean(float(r[6]) for r in rs))
    best = min((v[2], k) for k, v in m.items() if k != "strata")
    print("%7s B: strata %.1f us/req (p99 %.2f ms); best other %s %.1f us/req; ratio %.2f"
          % (size, m["strata"][2], m["strata"][1], best[1], best[0], m["strata"][2] / best[0]))
PY
