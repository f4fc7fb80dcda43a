#!/bin/sh
# Installs what the tests need, builds, and runs the whole suite: the TAP
# tests (make check, which starts real servers on 127.0.0.1), the same suite
# built with ASan+UBSan, the long crash test (make check-long), and each
# libFuzzer target briefly. Ends with
# "N passed, N failed". Run as root on Debian 12:  scripts/test.sh
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh test || exit 1
[ -x configure ] || ./autogen.sh || exit 1
jobs=$(nproc)
pass=0
fail=0

count() {  # count DIR: adds the .trs results of a make check run
  p=$(find "$1" -name '*.trs' -exec grep -h '^:test-result: PASS' {} + | wc -l)
  s=$(find "$1" -name '*.trs' -exec grep -h '^:test-result: SKIP' {} + | wc -l)
  f=$(find "$1" -name '*.trs' -exec grep -hE '^:test-result: (FAIL|XPASS|ERROR)' {} + | wc -l)
  echo "$1: $p passed, $f failed, $s skipped"
  pass=$((pass + p))
  fail=$((fail + f))
}

phase() {  # phase NAME DIR "MAKE-TARGETS" CONFIGURE-ARGS...
  name=$1 dir=$2 targets=$3
  shift 3
  echo "== $name"
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs" >/dev/null &&
    for t in $targets; do make -s -j"$jobs" "$t" >>check.out 2>&1 || exit 1; done)
  rc=$?
  grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' "$dir/check.out" 2>/dev/null
  count "$dir"
  [ $rc -eq 0 ] || { echo "$name: make check failed (exit $rc)"; fail=$((fail + 1)); 
    for l in $(grep -lE '^(not ok|Bail out)' $(find "$dir" -name '*.log' -path '*tests*') 2>/dev/null); do
      echo "--- $l"; tail -n 40 "$l"; done; }
}

phase "tests (make check, then make check-long: the SMTP crash test)" _build-check "check check-long"
phase "tests under ASan+UBSan" _build-san "check" --enable-sanitizers

echo "== fuzz targets (briefly)"
if make -s -C _build-check fuzz >/dev/null 2>&1; then
  for f in _build-check/tests/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus="$top/tests/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
    if "$f" -max_total_time="${FUZZ_SECONDS:-20}" -timeout=10 "$work" >"_build-check/$name.out" 2>&1; then
      echo "PASS: $name"; pass=$((pass + 1))
    else
      # The seed first: -seed=N over the same corpus repeats its mutations.
      echo "FAIL: $name ($(grep -m 1 -o 'Seed: [0-9]*' "_build-check/$name.out"))"
      tail -n 30 "_build-check/$name.out"; fail=$((fail + 1))
    fi
    rm -rf "$work"
  done
else
  echo "FAIL: make fuzz"; fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
