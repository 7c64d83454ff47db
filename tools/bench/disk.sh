#!/usr/bin/env bash
# Disk-tier benchmark (figures, not a test):
#  1. disk hits for 100 KiB and 1 MiB objects whose working set does not fit
#     strata's RAM tier (8 MiB), vs nginx proxy_cache on the same objects;
#     one worker each on CPU 0, strata-load (uniform URL list) and the
#     origin on CPU 1; req/s and server CPU microseconds per request.
#  2. start-to-first-hit with 1,000,000 objects on disk (filled directly by
#     tools/bench/lmdb-fill, not through HTTP).
# Usage: tools/bench/disk.sh [seconds-per-run] [objects-for-part-2]
source "$(dirname "$0")/lib.sh"
dur=${1:-5}
fill_n=${2:-1000000}
command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
command -v nginx >/dev/null || { echo "needs nginx: tools/install-deps.sh bench" >&2; exit 1; }

start_origin
start_strata "cache: { memory: 8MiB, max_object: 2MiB, disk: { path: $work/disk, size: 2GiB } }"
start_nginx 2g
for p in $oport $sport $nport; do wait_port "$p"; done
sleep 0.5
nworker=$(nginx_worker)

run_load() { # pid port urls-file -> "rps cpu_us hit_ratio"
    local pid=$1 port=$2 urls=$3 t0 t1 hz
    hz=$(getconf CLK_TCK)
    t0=$(cpu_ticks "$pid")
    taskset -c 1 "$BUILD/tools/strata-load" --url "http://127.0.0.1:$port" --urls "$urls" \
        -c 32 -d "${dur}s" -q --no-progress --json "$work/load.json" >/dev/null 2>&1
    t1=$(cpu_ticks "$pid")
    /usr/bin/python3 - "$work/load.json" "$t0" "$t1" "$hz" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
t0, t1, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print("%.0f %.1f %.3f" % (j["rps"], (t1 - t0) * 1e6 / hz / max(j["requests"], 1), j["hit_ratio"]))
PY
}

printf "disk hits, RAM tier 8 MiB (strata), uniform over the set, %ds runs\n" "$dur"
printf "%-9s %-7s %10s %12s %10s\n" objects server req/s cpu_us/req hit_ratio
for spec in "300 102400" "120 1048576"; do
    read -r n size <<<"$spec"
    urls="$work/urls-$size"
    : >"$urls"
    for i in $(seq 1 "$n"); do echo "/d$size/$i.bin?size=$size&cc=max-age%3D3600" >>"$urls"; done
    while read -r u; do       # warm both caches (strata: RAM, then disk)
        curl -s -o /dev/null "http://127.0.0.1:$sport$u"
        curl -s -o /dev/null "http://127.0.0.1:$nport$u"
    done <"$urls"
    sleep 2                   # strata's disk writer commits
    for s in strata nginx; do
        if [ $s = strata ]; then res=$(run_load "$spid" "$sport" "$urls")
        else res=$(run_load "$nworker" "$nport" "$urls"); fi
        read -r rps cpu hr <<<"$res"
        printf "%-9s %-7s %10s %12s %10s\n" "${n}x$((size / 1024))K" "$s" "$rps" "$cpu" "$hr"
        eval "rps_$s=$rps cpu_$s=$cpu"
    done
    /usr/bin/python3 -c "import sys; r1,r2,c1,c2=map(float,sys.argv[1:5]); print('  %s: strata/nginx req/s ratio %.2f, cpu/req ratio %.2f' % (sys.argv[5], r1/r2, c1/c2))" \
        "$rps_strata" "$rps_nginx" "$cpu_strata" "$cpu_nginx" "${n}x$((size / 1024))K"
done

# Part 2: a node whose disk holds fill_n objects, from exec to first hit.
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true
fill="$work/fill"
t0=$(date +%s.%N)
"$BUILD/tools/bench/lmdb-fill" "$fill" bench.example "$fill_n"
t1=$(date +%s.%N)
sed "s|path: $work/disk|path: $fill|; s|size: 2GiB|size: 8GiB|" "$work/strata.yaml" >"$work/fill.yaml"
start=$(date +%s.%N)
"$BUILD/edge/strata" -c "$work/fill.yaml" &
pids+=($!)
for _ in $(seq 1 2000); do    # a 200 from the origin (a miss) does not count
    cs=$(curl -s -o /dev/null -D - -H 'Host: bench.example' \
        "http://127.0.0.1:$sport/fill/$((fill_n / 2))" 2>/dev/null | tr -d '\r' || true)
    grep -q '^HTTP/1.1 200' <<<"$cs" && grep -qi '^cache-status: strata; hit' <<<"$cs" && break
    sleep 0.005
done
end=$(date +%s.%N)
hit=$(curl -s -D - -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$sport/fill/$((fill_n - 1))" |
      grep -i '^cache-status' | tr -d '\r')
/usr/bin/python3 -c "import sys; a,b,c,d=map(float,sys.argv[1:5]); print('filled %d objects in %.1f s; start to first hit: %.0f ms' % ($fill_n, b-a, (d-c)*1000))" "$t0" "$t1" "$start" "$end"
echo "another object right after: $hit (origin requests: $(curl -s "http://127.0.0.1:$oport/__stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'))"
du -sh "$fill" | awk '{print "disk used: " $1}'
