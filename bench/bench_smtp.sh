#!/bin/sh
# bench/bench_smtp.sh: 10,000 personalized emails through drumbeatd and
# channel_smtp (render from the API's per-lead text, GMime compose, durable
# state in SQLite, SMTP) to Postfix's smtp-sink on loopback, beside:
#   (a) smtp-source blasting the same sink with as many parallel sessions as
#       the daemon uses (the limit),
#   (b) a Python smtplib script rendering a template per lead over one
#       persistent connection,
#   (c) nodemailer with a connection pool.
# Prints messages/s for each and the ratios. Not part of make check.
#
# Each is measured ROUNDS times (default 3), the rounds interleaved (a, b,
# c, d, then again), and the ratios are those of the medians: one send of
# 10,000 lasts one or two seconds, and on a shared 2-core machine a single
# pair of runs moved the smtp-source ratio between 0.32 and 0.72. Every
# round's figure is printed too.
#
# In each round the daemon's 10,000 touches are created first through POST
# /api/touches, all due at one instant of the real clock a few seconds
# ahead (so nothing is sent while they arrive; that rate is printed too).
# The send is timed from that instant, when the dispatcher's timer fires,
# until the store counts 10,000 more sent (polled every 50 ms, every 5 ms
# near the end): claim, compose, SMTP and the outcomes' commits, nothing
# else. (The test clock would add its own settling to the figure: moving
# it waits for 30 ms of quiet before and after each instant it stops at,
# 60-100 ms a round.)
# The same daemon and store serve every round.
#
# Usage (as root, for smtp-sink -u nobody): bench/bench_smtp.sh [BUILD_DIR]
# ONLY_DAEMON=1 runs the daemon's rounds alone (to compare two builds).
# With PERF_DIR=DIR, each round's send phase is profiled (perf record, the
# cpu-clock event, call graphs) into DIR/send.ROUND.data, for perf report,
# and the round's daemon log is kept as DIR/daemon.ROUND.log. With
# STRACE_DIR=DIR instead, each send phase's system calls are counted
# (strace -c) into DIR/send.ROUND.txt.
# Needs postfix (smtp-sink, smtp-source), /usr/bin/python3, node and npm.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/perf.sh"
src=$(cd "$here/.." && pwd)
build=$(cd "${1:-.}" && pwd)
N=${N:-10000}
ROUNDS=${ROUNDS:-3}
SESSIONS=${SESSIONS:-2}      # channel_smtp's max_connections (default 2): the daemon's sessions
PY=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/drumbeat-bench-smtp-XXXXXX")
SINK_PID= ; DPID=
cleanup() {
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null
  [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

command -v smtp-sink >/dev/null || { echo "bench_smtp.sh: install postfix (smtp-sink): preseed debconf with 'postfix postfix/main_mailer_type select No configuration'" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench_smtp.sh: run as root (smtp-sink -u nobody)" >&2; exit 2; }
[ -f "$build/Makefile" ] || { echo "bench_smtp.sh: $build is not a configured build tree" >&2; exit 2; }
make -s -C "$build" daemon/drumbeatd daemon/drumbeat plugins/channel_smtp/channel_smtp.la >/dev/null

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# A free high port, never the usual ones.
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
smtp-sink -u nobody 127.0.0.1:"$PORT" 1024 >"$work/sink.log" 2>&1 &
SINK_PID=$!
sleep 0.5

# ---- (a) smtp-source: the limit ----
run_a() {
  sync
  t0=$(now)
  smtp-source -s "$SESSIONS" -d -m "$N" -l 700 -f ada@example.com -t lead@example.org 127.0.0.1:"$PORT"
  t1=$(now)
  RA=$(rate "$N" "$t0" "$t1")
  echo "(a) smtp-source, $SESSIONS sessions:        $RA msg/s"
}

# ---- (b) Python smtplib, one connection, a template rendered per lead ----
cat >"$work/py_bench.py" <<'PYEOF'
import smtplib, string, sys, time
from email.message import EmailMessage
port, n = int(sys.argv[1]), int(sys.argv[2])
tpl = string.Template("Hi $first,\n\nI noticed $company is hiring in $city. We help teams like yours "
                      "cut onboarding time in half.\n\nWould a 15-minute call next week make sense?\n\n"
                      "Ada\nAccount Executive, Example Outreach Ltd\n1 Example Street, 75001 Paris\n")
s = smtplib.SMTP("127.0.0.1", port)
t = time.time()
for i in range(n):
    m = EmailMessage()
    m["From"] = "Ada <ada@example.com>"
    m["To"] = "lead%d@example.org" % i
    m["Subject"] = "Quick question, Lead%d" % i
    m.set_content(tpl.substitute(first="Lead%d" % i, company="Company %d" % i, city="Paris"))
    s.send_message(m)
s.quit()
print("%.0f" % (n / (time.time() - t)))
PYEOF
run_b() {
  sync
  RB=$($PY "$work/py_bench.py" "$PORT" "$N")
  echo "(b) Python smtplib, one connection:  $RB msg/s"
}

# ---- (c) nodemailer with a pool ----
echo "# installing nodemailer (npm) into $work/js" >&2
npm install --silent --no-audit --no-fund --prefix "$work/js" nodemailer >/dev/null 2>&1
cat >"$work/js/bench.js" <<'JSEOF'
const nodemailer = require('nodemailer');
const [port, n, sessions] = process.argv.slice(2).map(Number);
const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true,
  pool: true, maxConnections: sessions, maxMessages: Infinity });
const body = (i) => `Hi Lead${i},\n\nI noticed Company ${i} is hiring in Paris. We help teams like yours ` +
  `cut onboarding time in half.\n\nWould a 15-minute call next week make sense?\n\n` +
  `Ada\nAccount Executive, Example Outreach Ltd\n1 Example Street, 75001 Paris\n`;
(async () => {
  const start = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await t.sendMail({ from: 'Ada <ada@example.com>', to: `lead${i}@example.org`,
                         subject: `Quick question, Lead${i}`, text: body(i) });
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  t.close();
  console.log(Math.round(n / ((Date.now() - start) / 1000)));
})();
JSEOF
run_c() {
  sync
  RC=$(node "$work/js/bench.js" "$PORT" "$N" "$SESSIONS")
  echo "(c) nodemailer, pool of $SESSIONS:          $RC msg/s"
}

# ---- drumbeatd + channel_smtp ----
D=$work/d
mkdir -p "$D"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/admin.token"
cat >"$D/drumbeat.json" <<JSON
{
  "daemon": { "log_level": "info", "shutdown_timeout": "10s" },
  "store": { "path": "store/drumbeat.db" },
  "api": { "port": 0 }, "public": { "port": 0 },
  "company": { "name": "Example Outreach Ltd", "postal_address": "1 Example Street, 75001 Paris" },
  "team": [ { "name": "Admin", "email": "admin@example.com", "token_file": "admin.token", "roles": ["admin"] } ],
  "channels": [ { "name": "relay", "plugin": "channel_smtp", "log_level": "debug",
                  "options": { "host": "127.0.0.1", "port": $PORT, "tls": "none",
                               "max_connections": $SESSIONS } } ],
  "mailboxes": [ { "name": "ada", "address": "ada@example.com", "display_name": "Ada",
                   "channel": "relay", "daily_cap": 1000000000 } ]
}
JSON
export DRUMBEAT_PLUGIN_PATH="$build/plugins/channel_smtp/.libs"
"$build/daemon/drumbeatd" -c "$D/drumbeat.json" 2>"$D/daemon.log" &
DPID=$!
i=0
while ! grep -q 'drumbeatd started' "$D/daemon.log" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
API_PORT=$(sed -n 's/.*listener=api address=[^ ]* port=\([0-9]*\).*/\1/p' "$D/daemon.log" | head -n 1)
[ -n "$API_PORT" ] || { echo "drumbeatd did not start:" >&2; cat "$D/daemon.log" >&2; exit 1; }

cat >"$work/post.py" <<'PYEOF'
import http.client, json, sys, threading, time
port, n, token = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3]).read().strip()
due, first = sys.argv[4], int(sys.argv[5])     # this round's due time and first lead number
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
text = ("Hi {first},\n\nI noticed {company} is hiring in {city}. We help teams like yours "
        "cut onboarding time in half.\n\nWould a 15-minute call next week make sense?\n\n"
        "Ada\nAccount Executive, Example Outreach Ltd\n1 Example Street, 75001 Paris\n")
errors = []
def worker(k, step):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(first + k, first + n, step):
        body = {"mailbox": "ada", "due_at": due,
                "lead": {"email": "lead%d@example.org" % i, "first_name": "Lead%d" % i,
                         "company": "Company %d" % i},
                "subject": "Quick question, Lead%d" % i,
                "text": text.format(first="Lead%d" % i, company="Company %d" % i, city="Paris")}
        c.request("POST", "/api/touches", json.dumps(body), hdr)
        r = c.getresponse(); r.read()
        if r.status != 201:
            errors.append(r.status)
t = time.time()
ts = [threading.Thread(target=worker, args=(k, 8)) for k in range(8)]
[x.start() for x in ts]; [x.join() for x in ts]
print("%.0f %d" % (n / (time.time() - t), len(errors)))
PYEOF
# cpu_snapshot: the machine's jiffies (all, idle), then the daemon's and
# the sink's CPU ticks (user + system, all threads), padded to six fields
# (run_d's awk reads two snapshots side by side). The sink's CPU per
# message tells how fast the machine was in that round: on a shared VM it
# moved between 48 and 76 us here, and the daemon's with it.
cpu_snapshot() {
  awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; printf "%d %d ", t, $5 + $6 }' /proc/stat
  for p in "$DPID" "$SINK_PID"; do
    awk '{ sub(/^.*\) /, ""); printf "%d ", $12 + $13 }' "/proc/$p/stat"
  done
  echo "0 0"
}

# wait_sent.py PORT WANT N DUE: sleeps until DUE (seconds since the epoch),
# then reads the store's sent count from /metrics until it reaches WANT;
# prints the seconds from DUE to then. Every 50 ms while more than a tenth
# of the N messages are still to go, then every 5 ms: each look is an HTTP
# request and a few queries on the daemon's loop, and at 5 ms all along the
# looks took a twentieth of the daemon's CPU (perf).
cat >"$work/wait_sent.py" <<'PYEOF'
import http.client, re, sys, time
port, want, n, due = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
pat = re.compile(rb'^drumbeat_store_touches\{state="sent"\} (\d+)$', re.M)
time.sleep(max(0.0, due - time.time()))
c = http.client.HTTPConnection("127.0.0.1", port)
while True:
    c.request("GET", "/metrics")
    m = pat.search(c.getresponse().read())
    sent = int(m.group(1)) if m else 0
    if sent >= want:
        break
    time.sleep(0.05 if want - sent > n // 10 else 0.005)
print("%.4f" % (time.time() - due))
PYEOF

# run_d ROUND: the round's touches are all due at one instant of the real
# clock, a second or two after they will all have been created (the POST
# rate is about 3,000/s); the send is timed from that instant.
run_d() {
  due_s=$($PY -c "import math, time; print(math.ceil(time.time() + $N / 2000 + 2))")
  due=$(date -u -d "@$due_s" +%Y-%m-%dT%H:%M:%SZ)
  set -- $($PY "$work/post.py" "$API_PORT" "$N" "$D/admin.token" "$due" $((N * ($1 - 1)))) "$1"
  RPOST=$1
  [ "$2" = 0 ] || echo "# warning: $2 POST /api/touches failed" >&2
  echo "    POST /api/touches (8 clients):    $RPOST touches/s (creating the $N touches)"
  late=$($PY -c "import time; print(int(time.time() > $due_s - 0.5))")
  [ "$late" = 0 ] || echo "# warning: the touches were still being created when they fell due; this round's rate is too high" >&2
  want=$((N * $3))
  log_from=$(wc -l <"$D/daemon.log")
  perf_start "$DPID" "send.$3" 4000 fp
  if [ -z "$PERF_PID" ] && [ -n "${STRACE_DIR:-}" ]; then
    strace -f -c -o "$STRACE_DIR/send.$3.txt" -p "$DPID" 2>/dev/null &
    PERF_PID=$!
  fi
  # The daemon idles until the due instant: these snapshots bracket the send.
  # sync first, as before each measured run: no run pays for the disk
  # writeback of the one before it.
  sync
  $PY -c "import time; time.sleep(max(0, $due_s - 0.02 - time.time()))"
  cpu0=$(cpu_snapshot)
  t0=$due_s
  el=$($PY "$work/wait_sent.py" "$API_PORT" "$want" "$N" "$due_s")
  t1=$(awk -v a="$t0" -v e="$el" 'BEGIN { printf "%.4f", a + e }')
  cpu1=$(cpu_snapshot)
  perf_stop
  RD=$(rate "$N" "$t0" "$t1")
  echo "(d) drumbeatd + channel_smtp:         $RD msg/s (claim, compose, SMTP, commit)"
  echo "$cpu0 $cpu1" | awk -v n="$N" -v hz="$(getconf CLK_TCK)" -v cores="$(nproc)" '{
    busy = ($7 - $8) - ($1 - $2); all = $7 - $1
    printf "    CPU while sending: machine %.0f%% busy of %d cores; drumbeatd %.0f us/msg, smtp-sink %.0f us/msg\n",
      all ? 100 * busy / all : 0, cores, 1e6 * ($9 - $3) / hz / n, 1e6 * ($10 - $4) / hz / n }'
  sleep 0.3     # the daemon's log lines of the last sessions reach the file
  tail -n +$((log_from + 1)) "$D/daemon.log" >"$D/daemon.log.round"
  [ -z "${PERF_DIR:-}" ] || cp "$D/daemon.log.round" "$PERF_DIR/daemon.$3.log"
  grep -E 'level=(warn|error)' "$D/daemon.log.round" | head -n 5 >&2 || true
  # Where the time went: the plugin logs each session's duration.
  sed -n 's/.*msg="batch done".*sent=\([0-9]*\).*session_ms=\([0-9]*\).*/\1 \2/p' "$D/daemon.log.round" |
    awk -v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '
      { n++; msgs += $1; ms += $2 }
      END { if (n) printf "    %d SMTP sessions, %.1f msgs each; %.2f s inside sessions (summed over threads) of %.2f s wall: %.0f msg/s per session\n", n, msgs / n, ms / 1000, wall, ms ? msgs / (ms / 1000) : 0 }'
}

AS= BS= CS= DS=
r=1
while [ $r -le "$ROUNDS" ]; do
  echo "# round $r of $ROUNDS"
  if [ -z "${ONLY_DAEMON:-}" ]; then
    run_a; AS="$AS $RA"
    run_b; BS="$BS $RB"
    run_c; CS="$CS $RC"
  fi
  run_d $r; DS="$DS $RD"
  r=$((r + 1))
done
if [ -n "${ONLY_DAEMON:-}" ]; then
  echo "median of $ROUNDS rounds (msg/s): drumbeatd $(median $DS) (of$DS)"
  exit 0
fi
RA=$(median $AS) RB=$(median $BS) RC=$(median $CS) RD=$(median $DS)
echo "medians of $ROUNDS rounds (msg/s): smtp-source $RA (of$AS); smtplib $RB (of$BS);" \
  "nodemailer $RC (of$CS); drumbeatd $RD (of$DS)"
awk -v d="$RD" -v a="$RA" -v b="$RB" -v c="$RC" 'BEGIN {
  printf "ratios: drumbeatd/smtp-source %.2f (target >= 0.50), /python %.1fx (target >= 5), /nodemailer %.1fx (target >= 2)\n", d/a, d/b, d/c }'
