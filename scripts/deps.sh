#!/bin/sh
# Installs the Debian 12 packages drumbeat needs. Usage: scripts/deps.sh [build|test]
#   build: compilers, autotools and the libraries (enough to build and run the demo)
#   test:  build, plus the real servers and tools the test suite starts
set -eu
what=${1:-build}
build_pkgs="autoconf automake libtool pkg-config make gcc
  libuv1-dev libjansson-dev libcurl4-openssl-dev libesmtp-dev libsqlite3-dev
  libgmime-3.0-dev libc-ares-dev libmicrohttpd-dev libcsv-dev libssl-dev
  curl ca-certificates"
test_pkgs="clang libclang-rt-14-dev python3 python3-aiosmtpd sqlite3 perl openssl
  dnsmasq-base"
pkgs=$build_pkgs
[ "$what" = test ] && pkgs="$build_pkgs $test_pkgs"
missing=
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
echo "deps: $what packages present"
