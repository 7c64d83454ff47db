#!/bin/sh
# Runs the pytest end-to-end suite against the binaries of this build.
# Debian's interpreter: it sees python3-pytest and python3-h2.
: "${STRATA_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${STRATA_BUILD:=$STRATA_SRC}"
export STRATA_SRC STRATA_BUILD PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider -o console_output_style=classic \
    "$STRATA_SRC/tests/e2e" "$@"
