#!/usr/bin/env bash
# Installs every Debian package Strata needs to build, run and test.
# Idempotent: packages already present are skipped; apt runs only when needed.
set -euo pipefail

BUILD_PKGS="build-essential autoconf automake libtool pkg-config
 libevent-dev libssl-dev liblmdb-dev libyaml-dev libxxhash-dev libzstd-dev
 libbrotli-dev zlib1g-dev libmaxminddb-dev libnghttp2-dev libhiredis-dev
 libjansson-dev"
TEST_PKGS="libcmocka-dev python3 python3-pytest python3-h2 clang
 libclang-rt-14-dev lmdb-utils openssl curl redis-server"
BENCH_PKGS="wrk nginx-light haproxy varnish"

want="$BUILD_PKGS"
case "${1:-build}" in
build) ;;
test) want="$want $TEST_PKGS" ;;
bench) want="$want $TEST_PKGS $BENCH_PKGS" ;;
*) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
