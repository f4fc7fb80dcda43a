#!/bin/sh
# bench/bench_cadence.sh: issue 5's cadence benchmark. N leads (default
# 1,000,000) in a 6-step cadence (email, wait, threaded email, wait, task,
# email) across 50 mailboxes bound to plugins/channel_null, on the test
# clock. Prints, each beside a floor measured in the same run:
#   - drumbeat import of an N-row CSV, beside sqlite3's own .import of it;
#   - drumbeat enroll of the N leads (10,000 per request, the API's limit),
#     beside sqlite3's CLI inserting N enrollment rows and N event rows into
#     the daemon's own enrollments/events schema in one transaction;
#   - the sequencer scheduling the N first touches (Saturday: deferred to
#     Monday's window);
#   - the store's size;
#   - the daemon's RSS (VmRSS, VmHWM) with all of it loaded;
#   - claim + dispatch of the N first emails: the test clock is advanced to
#     Monday and channel_null logs the real time between the batches of
#     1000 it is handed (one claim of one mailbox each): min, median, p95,
#     max; and the total wall time over the number of batches;
#   - the daemon's CPU over 30 seconds of idle afterwards.
# Targets (issue 5): claim + dispatch of 1000 under 50 ms; RSS under 64 MB
# with 1M enrollments; idle CPU about 0. Not part of make check or CI.
#
# Usage: bench/bench_cadence.sh [BUILD_DIR]    (default: the current folder)
#   N=20000 bench/bench_cadence.sh /tmp/build   a quick run while developing
#   LOG_LEVEL=info ...   the daemon's log level (default warn: the per-touch
#                        info lines would cost a log write per touch). With
#                        debug, the dispatcher's own per-batch line (claim
#                        queued -> send -> last outcome durable) is summed up
#                        too, its cost including those info lines.
#   IDLE=30              seconds of idle CPU measurement
#   KEEP=1               keep the work folder (store, daemon log) for a look
#   PERF_DIR=DIR         profile the claim + dispatch phase (perf record, the
#                        cpu-clock event, PERF_HZ 1000, PERF_CG dwarf) into
#                        DIR/dispatch.data, for perf report
# The machine's other load shows in every figure: run it on a quiet machine.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/perf.sh"
src=$(cd "$here/.." && pwd)
build=$(cd "${1:-.}" && pwd)
N=${N:-1000000}
MAILBOXES=50
CHUNK=${CHUNK:-10000}
IDLE=${IDLE:-30}
LOG_LEVEL=${LOG_LEVEL:-warn}
DRUMBEATD="$build/daemon/drumbeatd"
DRUMBEAT="$build/daemon/drumbeat"
W=$(mktemp -d "${TMPDIR:-/tmp}/drumbeat-bench-cadence-XXXXXX")
PID=
cleanup() {
  [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
  if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT

[ -f "$build/Makefile" ] || { echo "bench_cadence.sh: $build is not a configured build tree" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "bench_cadence.sh: needs the sqlite3 CLI" >&2; exit 2; }
make -s -C "$build" daemon/drumbeatd daemon/drumbeat plugins/channel_null/channel_null.la >/dev/null 2>&1 ||
  echo "bench_cadence.sh: warning: the build failed; using the binaries already in $build" >&2
[ -x "$DRUMBEATD" ] && [ -x "$DRUMBEAT" ] || { echo "bench_cadence.sh: build $build first" >&2; exit 2; }
export DRUMBEAT_PLUGIN_PATH="$build/plugins/channel_null/.libs"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }   # utime + stime
# Waits (up to 60 s) until the daemon is at rest: no more than one tick of
# CPU in half a second. After a burst the store's writer checkpoints and
# hands the burst's free heap back (malloc_trim) once it has been idle for
# 100 ms; "RSS with all of it loaded" is the size at rest, not mid-burst
# (the peak is printed beside it as VmHWM).
settle() {
  k=0
  while [ $k -lt 120 ]; do
    a=$(cpu_ticks); sleep 0.5; b=$(cpu_ticks)
    [ $((b - a)) -le 1 ] && return 0
    k=$((k + 1))
  done
}

# ---- the leads: CET countries only, so that Monday 09:00 is one instant ----
echo "bench_cadence: N=$N leads, $MAILBOXES mailboxes, channel_null, daemon log level $LOG_LEVEL"
awk -v n="$N" 'BEGIN {
  srand(42);
  split("James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth Ana Luca Sofia Pierre Ingrid", fn, " ");
  split("Smith Johnson Brown Garcia Miller Davis Muller Schmidt Dubois Rossi Tanaka Jansen Lopez Weber Moreau", ln, " ");
  split("CEO|CTO|VP Sales|Head of Marketing|Sales Director|Founder|COO|IT Director", ti, "|");
  split("FR|DE|NL|ES|IT|BE|AT", co, "|");
  print "email,first_name,last_name,company,title,country";
  for (i = 1; i <= n; i++) {
    c = int(rand() * (n / 4 + 1));
    printf "lead%d@company%d.example,%s,%s,Company %d,%s,%s\n", i, c, fn[int(rand() * 15) + 1],
      ln[int(rand() * 15) + 1], c, ti[int(rand() * 8) + 1], co[int(rand() * 7) + 1];
  }
}' >"$W/leads.csv"

# ---- the daemon: 50 mailboxes on channel_null, the cadence, the test clock ----
D=$W/d
mkdir -p "$D/cadences"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/admin.token"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/unsub.secret"
mbs= ; names=
i=1
while [ $i -le $MAILBOXES ]; do
  n=$(printf 'mb%02d' $i)
  mbs="$mbs${mbs:+,
    }{ \"name\": \"$n\", \"address\": \"$n@example.com\", \"display_name\": \"Bench $i\", \"channel\": \"null\", \"daily_cap\": 1000000000 }"
  names="$names${names:+, }\"$n\""
  i=$((i + 1))
done
cat >"$D/drumbeat.json" <<JSON
{
  "daemon": { "log_level": "$LOG_LEVEL", "shutdown_timeout": "30s" },
  "store": { "path": "store/drumbeat.db" },
  "api": { "port": $PORT }, "public": { "port": 0 },
  "public_url": "https://links.example.com",
  "templates": { "dir": "$src/templates", "unsubscribe_secret_file": "unsub.secret",
                 "list_unsubscribe_mailto": "unsubscribe@example.com" },
  "company": { "name": "Example Outreach Ltd", "postal_address": "1 Example Street, 75001 Paris" },
  "team": [ { "name": "Admin", "email": "admin@example.com", "token_file": "admin.token", "roles": ["admin"] } ],
  "channels": [ { "name": "null", "plugin": "channel_null", "log_level": "debug" } ],
  "mailboxes": [
    $mbs
  ]
}
JSON
cat >"$D/cadences/bench.json" <<JSON
{
  "name": "bench",
  "description": "bench_cadence.sh: six steps, three of them emails, across $MAILBOXES mailboxes.",
  "timezone": "Europe/Paris",
  "window": { "days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00" },
  "mailboxes": [ $names ],
  "throttle": { "max_active": 100000000 },
  "company": { "max_active_per_domain": 20, "cooldown_days": 90 },
  "steps": [
    { "name": "intro", "type": "email", "template": "intro" },
    { "type": "wait", "business_days": 2 },
    { "name": "bump", "type": "email", "template": "follow-up-1", "thread": "reply" },
    { "type": "wait", "business_days": 3 },
    { "name": "linkedin", "type": "task", "title": "Connect on LinkedIn" },
    { "name": "break-up", "type": "email", "template": "break-up" }
  ]
}
JSON
# Saturday 10:00 UTC: the window is shut, so the sequencer schedules every
# first email for Monday 09:00 Paris (08:00 UTC) and nothing is sent yet.
"$DRUMBEATD" -c "$D/drumbeat.json" --test-clock=2030-01-05T10:00:00Z 2>"$D/daemon.log" &
PID=$!
API="http://127.0.0.1:$PORT"
i=0
until curl -sf "$API/healthz" >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -gt 100 ] && { echo "drumbeatd did not start:" >&2; cat "$D/daemon.log" >&2; exit 1; }
  sleep 0.1
done
TOKEN=$(cat "$D/admin.token")
cli() { "$DRUMBEAT" "$@" --url "$API" --token-file "$D/admin.token"; }
metric() {  # metric NAME[{labels}]: its value, 0 when absent
  curl -s "$API/metrics" | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}
RSS_START=$(status_kb VmRSS)

# ---- import: drumbeat, then the floor (sqlite3 .import of the same file) ----
t0=$(now)
cli import "$W/leads.csv" --source bench --basis legitimate_interest --quiet >"$W/import.out"
t1=$(now)
IMPORT_S=$(secs "$t0" "$t1")
t0=$(now)
sqlite3 "$W/floor.db" -cmd 'PRAGMA journal_mode=WAL' -cmd 'PRAGMA synchronous=FULL' \
  ".import --csv $W/leads.csv leads" >/dev/null
t1=$(now)
IMPORT_FLOOR_S=$(secs "$t0" "$t1")
LEADS=$(metric drumbeat_store_leads)
echo "import:  drumbeat import $IMPORT_S s ($(rate "$N" 0 "$IMPORT_S") rows/s, $LEADS leads);" \
     "sqlite3 .import $IMPORT_FLOOR_S s ($(rate "$N" 0 "$IMPORT_FLOOR_S") rows/s)"

# ---- enroll: drumbeat enroll --lead ..., 10,000 leads a request ----
sqlite3 "$D/store/drumbeat.db" "SELECT id FROM leads ORDER BY id" | split -l $CHUNK - "$W/ids."
t0=$(now)
for f in "$W"/ids.*; do
  # shellcheck disable=SC2046
  cli enroll --cadence bench $(sed 's/^/--lead /' "$f") >"$W/enroll.out" ||
    { echo "drumbeat enroll failed:" >&2; tail -n 5 "$W/enroll.out" >&2; exit 1; }
  tail -n 1 "$W/enroll.out" >>"$W/enrolled"
done
t1=$(now)
ENROLL_S=$(secs "$t0" "$t1")
ENROLLED=$(awk '{ s += $1 } END { print s + 0 }' "$W/enrolled")
grep -h 'refused' "$W/enroll.out" | sed 's/.*refused/refused/' | sort | uniq -c | head -n 3 >&2 || true

# The floor: the daemon's own schema (columns, indexes), N enrollments and N
# "enrolled" events in one transaction, WAL, synchronous=FULL.
sqlite3 "$D/store/drumbeat.db" ".schema enrollments" ".schema events" |
  grep -v '^CREATE TRIGGER' >"$W/schema.sql"
t0=$(now)
sqlite3 "$W/floor2.db" -cmd 'PRAGMA journal_mode=WAL' -cmd 'PRAGMA synchronous=FULL' >/dev/null <<SQL
$(sed 's/REFERENCES [a-z_]*([a-z_]*)//g' "$W/schema.sql")
BEGIN;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $N)
INSERT INTO enrollments (lead_id, cadence_id, cadence, state, step, mailbox, started_at, due_at, step_started_at)
  SELECT i, 1, 'bench', 'active', 0, printf('mb%02d', i % $MAILBOXES + 1), 1893837600000, 1893837600000, 1893837600000 FROM k;
INSERT INTO events (lead_id, type, at, actor_kind, actor, data)
  SELECT lead_id, 'enrolled', started_at, 'person', 'Admin',
         json_object('enrollment_id', id, 'cadence', cadence, 'mailbox', mailbox, 'throttled', json('false'))
  FROM enrollments;
COMMIT;
SQL
t1=$(now)
ENROLL_FLOOR_S=$(secs "$t0" "$t1")
echo "enroll:  drumbeat enroll $ENROLL_S s ($(rate "$ENROLLED" 0 "$ENROLL_S") leads/s, $ENROLLED enrolled);" \
     "sqlite3 insert of the rows $ENROLL_FLOOR_S s ($(rate "$N" 0 "$ENROLL_FLOOR_S") rows/s)"

# ---- the sequencer schedules the first touches (deferred to Monday) ----
t0=$(now)
while :; do
  s=$(metric 'drumbeat_store_touches{state="deferred"}')
  [ "$s" -ge "$ENROLLED" ] && break
  sleep 0.5
done
t1=$(now)
echo "sequence: $s first touches deferred (window_closed) $(secs "$t0" "$t1") s after the last enroll"

# ---- the loaded daemon: store size and memory ----
sqlite3 "$D/store/drumbeat.db" "PRAGMA wal_checkpoint(PASSIVE)" >/dev/null 2>&1 || true
DB_B=$(stat -c %s "$D/store/drumbeat.db")
WAL_B=$(stat -c %s "$D/store/drumbeat.db-wal" 2>/dev/null || echo 0)
echo "store:   $(awk -v b="$DB_B" 'BEGIN { printf "%.0f", b / 1048576 }') MiB database" \
     "+ $(awk -v b="$WAL_B" 'BEGIN { printf "%.0f", b / 1048576 }') MiB WAL" \
     "($(awk -v b="$DB_B" -v n="$N" 'BEGIN { printf "%.0f", b / n }') bytes per lead with its enrollment, touch and events)"
settle
echo "memory:  VmRSS $(mb "$(status_kb VmRSS)") MB loaded, at rest (at start $(mb "$RSS_START") MB), VmHWM $(mb "$(status_kb VmHWM)") MB so far   (target: RSS < 64 MB)"

# ---- claim + dispatch: Monday 09:00 Paris, the first emails go ----
lines0=$(wc -l <"$D/daemon.log")
perf_start "$PID" dispatch 1000 dwarf 0.5
# Each thread's CPU (utime + stime, in clock ticks) by name, to see which
# one the batches wait for: the writer (drumbeat-store), the loop
# (drumbeatd), the checkpointer, the threadpool.
thread_ticks() {
  for t in /proc/"$PID"/task/*; do
    [ -r "$t/stat" ] || continue
    printf '%s %s\n' "$(cat "$t/comm")" "$(sed 's/^.*) //' "$t/stat" | awk '{ print $12 + $13 }')"
  done | awk '{ a[$1] += $2 } END { for (k in a) print k, a[k] }' | sort
}
thread_ticks >"$W/ticks0"
C0=$(metric drumbeat_store_commits_total); L0=$(metric drumbeat_store_lazy_commits_total)
S0=$(metric drumbeat_store_lazy_syncs_total)
WB0=$(awk '$1 == "wchar:" { print $2 }' /proc/"$PID"/io 2>/dev/null || echo 0)
t0=$(now)
curl -s -o "$W/advance.out" -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  --data '{"set":"2030-01-07T12:00:00Z"}' "$API/api/clock"
t1=$(now)
thread_ticks >"$W/ticks1"
WB1=$(awk '$1 == "wchar:" { print $2 }' /proc/"$PID"/io 2>/dev/null || echo 0)
perf_stop
SENT=$(metric 'drumbeat_store_touches{state="sent"}')
DISPATCH_S=$(secs "$t0" "$t1")
tail -n +"$((lines0 + 1))" "$D/daemon.log" |
  sed -n 's/.*msg="batch discarded".* messages=\([0-9]*\) .*since_last_us=\([-0-9]*\).*/\1 \2/p' >"$W/batches"
BATCHES=$(wc -l <"$W/batches")
echo "dispatch: $SENT sent in $BATCHES batches, $DISPATCH_S s wall ($(rate "$SENT" 0 "$DISPATCH_S") touches/s;" \
     "$(awk -v s="$DISPATCH_S" -v b="$BATCHES" 'BEGIN { if (b) printf "%.1f", 1000 * s / b }') ms per batch" \
     "including the sequencer moving each enrollment to its next step)"
join "$W/ticks0" "$W/ticks1" | awk -v hz="$(getconf CLK_TCK)" -v n="$SENT" -v s="$DISPATCH_S" '
  { d = ($3 - $2) / hz; if (d > 0) { printf "%s%s %.1f ms per 1000 (%.0f%% busy)", sep, $1, 1000000 * d / n, 100 * d / s; sep = "; " } }
  END { print "" }' | sed 's/^/threads: CPU in the dispatch: /'
C1=$(metric drumbeat_store_commits_total); L1=$(metric drumbeat_store_lazy_commits_total)
S1=$(metric drumbeat_store_lazy_syncs_total)
awk -v n="$SENT" -v c="$((C1 - C0))" -v l="$((L1 - L0))" -v s="$((S1 - S0))" -v wb="$((WB1 - WB0))" 'BEGIN {
  if (n > 0) printf "commits: %.1f per 1000 touches (%.1f with an fsync, %.1f lazy; %.1f lazy syncs); %.1f MB written per 1000 (WAL, logs)\n",
    1000 * c / n, 1000 * (c - l) / n, 1000 * l / n, 1000 * s / n, wb / n / 1000 }'
# The gap between batch k and k+1 as channel_null saw it: claim + compose +
# the outcomes' commits + the next steps' writes, per batch of 1000.
awk '$2 >= 0 && $1 == 1000 { print $2 / 1000 }' "$W/batches" | sort -n >"$W/gaps"
awk '{ a[NR] = $1 } END {
  if (NR == 0) { print "per batch of 1000: no full batches logged"; exit }
  p = int(NR * 0.95); if (p < 1) p = 1
  printf "per batch of 1000 (%d gaps): min %.1f ms, median %.1f ms, p95 %.1f ms, max %.1f ms   (target < 50 ms)\n",
    NR, a[1], a[int((NR + 1) / 2)], a[p], a[NR] }' "$W/gaps"
# The dispatcher's own figures (LOG_LEVEL=debug): claim_ms = claim queued to
# the batch composed, send_ms = sent to the last outcome committed.
tail -n +"$((lines0 + 1))" "$D/daemon.log" |
  sed -n 's/.*batch=1000 claim_ms=\([0-9.]*\) send_ms=\([0-9.]*\) total_ms=\([0-9.]*\).*/\1 \2 \3/p' >"$W/dbatches"
if [ -s "$W/dbatches" ]; then
  for col in 1 2 3; do
    awk -v c=$col '{ print $c }' "$W/dbatches" | sort -n | awk -v c=$col '{ a[NR] = $1 } END {
      split("claim send total", nm, " "); p = int(NR * 0.95); if (p < 1) p = 1
      printf "dispatcher %-5s ms per batch of 1000 (%d batches): min %.1f, median %.1f, p95 %.1f, max %.1f\n",
        nm[c], NR, a[1], a[int((NR + 1) / 2)], a[p], a[NR] }'
  done
fi
grep -E 'level=(warn|error)' "$D/daemon.log" | grep -v 'channel_null discards\|test clock' | head -n 5 >&2 || true

echo "memory:  VmRSS $(mb "$(status_kb VmRSS)") MB right after the sends, VmHWM (peak) $(mb "$(status_kb VmHWM)") MB"
settle
echo "memory:  VmRSS $(mb "$(status_kb VmRSS)") MB after the sends, at rest   (target: RSS < 64 MB)"

# ---- idle CPU ----
sleep 1
c0=$(cpu_ticks); t0=$(now)
sleep "$IDLE"
c1=$(cpu_ticks); t1=$(now)
HZ=$(getconf CLK_TCK)
awk -v c="$((c1 - c0))" -v hz="$HZ" -v a="$t0" -v b="$t1" 'BEGIN {
  printf "idle:    %.2f s CPU in %.0f s (%.2f%%)   (target: about 0)\n", c / hz, b - a, 100 * c / hz / (b - a) }'

kill -TERM "$PID"; wait "$PID" || true; PID=
echo "(2 shared cores: other work on the machine shows in these figures)"
