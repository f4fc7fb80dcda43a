# bench/perf.sh: sourced by the benchmarks. With PERF_DIR set, perf_start
# records a running process's CPU profile (perf record, the cpu-clock event
# at PERF_HZ per second, call graphs by PERF_CG) into PERF_DIR/NAME.data, and
# perf_stop ends it; without PERF_DIR both do nothing. Defaults (HZ, CG) are
# the caller's, since each phase profiled needs its own.
# Usage: perf_start PID NAME DEFAULT_HZ DEFAULT_CG [SETTLE_SECONDS]; ...; perf_stop
PERF_PID=
perf_start() {
  PERF_PID=
  [ -n "${PERF_DIR:-}" ] || return 0
  perf record -q -e cpu-clock -F "${PERF_HZ:-$3}" --call-graph "${PERF_CG:-$4}" -p "$1" \
    -o "$PERF_DIR/$2.data" 2>/dev/null &
  PERF_PID=$!
  [ -z "${5:-}" ] || sleep "$5"
}
perf_stop() {
  [ -z "$PERF_PID" ] || { kill -INT "$PERF_PID"; wait "$PERF_PID" || true; }
  PERF_PID=
}
