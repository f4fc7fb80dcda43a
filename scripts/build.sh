#!/bin/sh
# Builds drumbeat in _build/ (out of tree). Usage: scripts/build.sh [configure options]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] || ./autogen.sh
mkdir -p _build
cd _build
[ -f Makefile ] || ../configure -q "$@"
make -s -j"$(nproc)" >/dev/null
echo "build: ok ($top/_build)"
