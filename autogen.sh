#!/bin/sh
# Regenerates the build system from configure.ac and Makefile.am.
set -eu
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf --force --install --verbose >/dev/null
