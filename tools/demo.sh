#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo: strata-origin on
# 127.0.0.1:8081 and strata on 127.0.0.1:8080 with the embedded default
# config. Ctrl-C stops both.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
./tools/install-deps.sh build
if [ ! -x build/plain/edge/strata ] || [ ! -x build/plain/tools/strata-origin ]; then
    autoreconf -fi >/dev/null
    mkdir -p build/plain && cd build/plain
    [ -f Makefile ] || "$top/configure" -q
    make -j"$(nproc)" >/dev/null
    cd "$top"
fi
mkdir -p var
build/plain/tools/strata-origin --listen 127.0.0.1:8081 -q &
origin=$!
trap 'kill $origin $edge 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
build/plain/edge/strata &
edge=$!
sleep 0.5
cat <<MSG

Strata is running in front of the demo origin. Try:

  curl -i http://127.0.0.1:8080/
  curl -i 'http://127.0.0.1:8080/hello.html?cc=max-age%3D60&size=2000'

Ctrl-C stops both.
MSG
wait $edge
