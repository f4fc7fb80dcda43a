#!/bin/sh
# bench/bench_import.sh: imports N realistic leads (default 1,000,000)
# through a running drumbeatd (`drumbeat import`, streamed over HTTP, parsed
# on the threadpool, committed in batches with synchronous=FULL) and, in the
# same run, sqlite3's own `.import` of the same file into a plain table (the
# floor: same machine, same disk, same durability pragmas). Prints rows/s,
# peak RSS of each, and the ratio. Targets: within 3x of the floor; the
# daemon's peak RSS under 200 MB whatever the file size. It also times
# sqlite3 moving the floor's rows into drumbeat's own schema in one
# statement (see below), which shows what the indexes alone cost.
#
# Usage: bench/bench_import.sh [N]   (top_builddir=/path/to/build to pick
#        the binaries; default: the current folder)
#        PERF_DIR=DIR profiles the daemon during the import (perf record, the
#        cpu-clock event, PERF_HZ 1000, PERF_CG dwarf) into DIR/import.data.
set -eu
. "$(cd "$(dirname "$0")" && pwd)/perf.sh"
N=${1:-1000000}
B=${top_builddir:-$(pwd)}
DRUMBEATD="$B/daemon/drumbeatd"
DRUMBEAT="$B/daemon/drumbeat"
[ -x "$DRUMBEATD" ] && [ -x "$DRUMBEAT" ] || { echo "build first (top_builddir=$B)" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/drumbeat-bench-XXXXXX")
PID=
trap '[ -n "$PID" ] && kill -KILL $PID 2>/dev/null; rm -rf "$W"' EXIT

echo "generating $N leads..."
awk -v n="$N" 'BEGIN {
  srand(42);
  split("James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Ana Luca Sofia Yuki Wei Priya Olga Lars Ingrid Pierre", fn, " ");
  split("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Muller Schmidt Dubois Rossi Tanaka", ln, " ");
  split("CEO|CTO|VP Sales|Head of Marketing|Sales Director|Founder|Engineering Manager|COO|Procurement Lead|IT Director", ti, "|");
  split("Software|Manufacturing|Retail|Finance|Healthcare|Logistics|Education|Energy", ind, "|");
  split("US|US|US|GB|DE|FR|CA|AU|NL|ES|United States|Germany", co, "|");
  split("CA|NY|TX|WA|IL|FL|MA|GA", st, "|");
  print "Email,First Name,Last Name,Company,Job Title,Phone,Website,Country,State,Industry,Employees";
  for (i = 1; i <= n; i++) {
    f = fn[int(rand() * 30) + 1]; l = ln[int(rand() * 30) + 1];
    c = int(rand() * (n / 4 + 1)); dom = "company" c ".example";
    country = co[int(rand() * 12) + 1];
    state = (country == "US" || country == "United States") ? st[int(rand() * 8) + 1] : "";
    if (country == "US" || country == "United States" || country == "CA")
      phone = sprintf("+1 (%03d) 555-%04d", 200 + int(rand() * 700), int(rand() * 10000));
    else
      phone = sprintf("0%d %04d %04d", 1 + int(rand() * 9), int(rand() * 10000), int(rand() * 10000));
    mail = (rand() < 0.05) ? "gmail.com" : dom;
    printf "%s.%s%d@%s,%s,%s,\"Company %d, Inc.\",%s,%s,https://www.%s,%s,%s,%s,%d\n",
      tolower(f), tolower(l), i, mail, f, l, c, ti[int(rand() * 10) + 1], phone, dom,
      country, state, ind[int(rand() * 8) + 1], 10 + int(rand() * 5000);
  }
}' >"$W/leads.csv"
SIZE=$(wc -c <"$W/leads.csv")
echo "file: $(( SIZE / 1048576 )) MiB"

# ---- the floor: sqlite3 .import into a plain table, same durability ----
sync
t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$W/sqlite.rss" sqlite3 "$W/floor.db" \
  -cmd 'PRAGMA journal_mode=WAL' -cmd 'PRAGMA synchronous=FULL' \
  ".import --csv $W/leads.csv leads" >/dev/null
t1=$(date +%s.%N)
FLOOR_S=$(echo "$t1 - $t0" | bc -l)
FLOOR_RSS=$(cat "$W/sqlite.rss")

# ---- drumbeat: a daemon on a fresh store, the CLI streaming the file ----
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/admin.token"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$W/drumbeat.json" <<JSON
{ "daemon": { "log_level": "warn" }, "store": { "path": "store/drumbeat.db" },
  "api": { "port": $PORT }, "public": { "port": 0 },
  "team": [ { "name": "Bench", "email": "bench@example.com", "token_file": "admin.token",
              "roles": ["admin"] } ] }
JSON
"$DRUMBEATD" -c "$W/drumbeat.json" 2>"$W/daemon.log" &
PID=$!
i=0
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -gt 100 ] && { cat "$W/daemon.log" >&2; exit 1; }; sleep 0.1
done
RSS_START=$(awk '/VmRSS/ { print $2 }' /proc/$PID/status)
perf_start "$PID" import 1000 dwarf 1
sync
t0=$(date +%s.%N)
"$DRUMBEAT" import "$W/leads.csv" --source bench --quiet --url "http://127.0.0.1:$PORT" \
  --token-file "$W/admin.token" >"$W/import.out"
t1=$(date +%s.%N)
D_S=$(echo "$t1 - $t0" | bc -l)
D_RSS=$(awk '/VmHWM/ { print $2 }' /proc/$PID/status)
perf_stop
kill -TERM $PID; wait $PID || true; PID=

# ---- SQLite alone, into drumbeat's own schema: the floor's rows inserted
# by one INSERT ... SELECT (with their lead_created events: one per run of
# 2,000 new leads, as the daemon's batches write them) into an empty store
# made from the daemon's schema and page size, in ONE transaction, same
# pragmas and page cache (64 MiB) as the import. No parsing, no per-row
# statements, no commits along the way: what the unique email index, the
# domain index and the event log cost SQLite by themselves, i.e. the least
# any importer keeping them could take. Shown beside the floor so the ratio
# can be read.
sqlite3 "$W/store/drumbeat.db" .schema | grep -v 'TABLE sqlite_' >"$W/schema.sql"
PAGE=$(sqlite3 "$W/store/drumbeat.db" 'PRAGMA page_size')
sqlite3 "$W/schema.db" "PRAGMA page_size=$PAGE" 'PRAGMA journal_mode=WAL' \
  ".read $W/schema.sql" >/dev/null
sync
t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$W/schema.rss" sqlite3 "$W/schema.db" \
  -cmd 'PRAGMA synchronous=FULL' -cmd 'PRAGMA cache_size=-65536' \
  -cmd "ATTACH '$W/floor.db' AS f" \
  "BEGIN;
   INSERT INTO main.leads (email, first_name, last_name, company, domain, title, phone, country,
     source, lawful_basis, attrs, email_status, created_at, updated_at)
   SELECT lower(Email), \"First Name\", \"Last Name\", Company,
     lower(substr(Email, instr(Email, '@') + 1)), \"Job Title\", Phone, Country, 'bench',
     'legitimate_interest', json_object('state', State, 'industry', Industry,
     'employees', Employees), 'syntax_ok', 1, 1 FROM f.leads WHERE true
   ON CONFLICT (email) DO NOTHING;
   INSERT INTO events (at, lead_id, lead_last, touch_id, type, actor_kind, actor, data)
   SELECT 1, min(id), max(id), NULL, 'lead_created', 'user', 'Bench',
     '{\"source\":\"bench\",\"import\":true}' FROM main.leads GROUP BY (id - 1) / 2000;
   COMMIT;" >/dev/null
t1=$(date +%s.%N)
SCHEMA_S=$(echo "$t1 - $t0" | bc -l)
SCHEMA_RSS=$(cat "$W/schema.rss")

echo "drumbeat import summary: $(head -n 1 "$W/import.out")"
printf '%-26s %10s %12s %14s\n' "" "seconds" "rows/s" "peak RSS (MB)"
printf '%-26s %10.2f %12.0f %14.1f\n' "sqlite3 .import (floor)" "$FLOOR_S" \
  "$(echo "$N / $FLOOR_S" | bc -l)" "$(echo "$FLOOR_RSS / 1024" | bc -l)"
printf '%-26s %10.2f %12.0f %14.1f\n' "sqlite3 into our schema" "$SCHEMA_S" \
  "$(echo "$N / $SCHEMA_S" | bc -l)" "$(echo "$SCHEMA_RSS / 1024" | bc -l)"
printf '%-26s %10.2f %12.0f %14.1f\n' "drumbeat import (daemon)" "$D_S" \
  "$(echo "$N / $D_S" | bc -l)" "$(echo "$D_RSS / 1024" | bc -l)"
printf 'ratio (drumbeat / floor): %.2fx   (target <= 3x)\n' "$(echo "$D_S / $FLOOR_S" | bc -l)"
printf 'ratio (sqlite3 into our schema / floor): %.2fx; (drumbeat / that): %.2fx\n' \
  "$(echo "$SCHEMA_S / $FLOOR_S" | bc -l)" "$(echo "$D_S / $SCHEMA_S" | bc -l)"
printf 'daemon RSS: %.1f MB at start, %.1f MB peak   (target < 200 MB)\n' \
  "$(echo "$RSS_START / 1024" | bc -l)" "$(echo "$D_RSS / 1024" | bc -l)"
