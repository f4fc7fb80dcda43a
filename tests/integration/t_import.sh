#!/bin/sh
# Lead imports end to end on a running daemon: `drumbeat import` of the
# fixture CSV (summary counts, line numbers, suppression, probable
# duplicates, normalization), a re-import that changes nothing, a dry run,
# JSON lines, a bad --map; then a crash: SIGKILL during a 100,000-row import,
# the store is consistent (whole batches), and a re-run completes it.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
# Small batches: the writer commits at most 32 of them at once (a bulk
# transaction, store_writer.c), and the crash below must come between two
# commits of its 100,000 rows.
make_config "$CONF" ',
  "import": { "batch_rows": 500 }'
FIX="$top_srcdir/tests/fixtures/import"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }

start_daemon "$CONF" || { done_testing; exit 1; }
# No suppression command exists yet: put the entry where the store keeps it.
q "INSERT INTO suppression (kind, value, reason, at) VALUES ('domain', 'blocked.example', 'asked us', 0)"

out=$(cli import "$FIX/leads.csv" --source fair-2026 2>&1); ok $? "drumbeat import exits 0"
like "$out" '^read 9, imported 6, updated 0, duplicates 1, suppressed 1, invalid 1$' "summary counts"
like "$out" 'line 6: invalid email address' "the invalid row with its file line and reason"
like "$out" 'line 12: asked us' "the suppressed row with the reason"
like "$out" 'line 11: lead [0-9]+ may be the same person as lead [0-9]+' "probable duplicate reported"
is "$(q "SELECT phone || ' ' || country || ' ' || timezone FROM leads WHERE email = 'ada@example.com'")" \
   "+442079460018 GB Europe/London" "phone, country and zone normalized"
is "$(q "SELECT timezone FROM leads WHERE email = 'info@acme.example'")" "ambiguous(US)" \
   "a US lead without a state is ambiguous(US)"
is "$(q "SELECT replace(title, char(13), '<CR>') FROM leads WHERE email = 'margaret@apollo.example'")" \
   "Director,<CR>
 Software Engineering" "a quoted field keeps its comma and its CRLF line break"
is "$(q "SELECT suppressed FROM leads WHERE email = 'joan@blocked.example'")" 1 \
   "the suppressed lead is stored as suppressed"
is "$(q "SELECT source || ' ' || lawful_basis || ' ' || email_status FROM leads WHERE email = 'grace@navy.example'")" \
   "fair-2026 legitimate_interest syntax_ok" "source, basis and address status kept"

out=$(cli import "$FIX/leads.csv" --source fair-2026 2>&1)
like "$out" '^read 9, imported 0, updated 0, duplicates 7, suppressed 1, invalid 1$' \
     "re-importing the same file changes nothing"
out=$(cli import "$FIX/leads.jsonl" --dry-run --quiet 2>&1)
like "$out" 'imported 2, .*invalid 1 \(dry run' "a dry run reports"
is "$(q "SELECT count(*) FROM leads WHERE email LIKE '%nasa.example'")" 0 "and keeps nothing"
out=$(cli import "$FIX/leads.jsonl" --basis consent 2>&1)
like "$out" '^read 3, imported 2' "JSON lines import"
is "$(q "SELECT first_name || '|' || last_name || '|' || lawful_basis FROM leads WHERE email = 'katherine@nasa.example'")" \
   "Katherine|Johnson|consent" "a full name is split; --basis kept"
out=$(cli import "$FIX/leads.csv" --map 'Nope=email' 2>&1); st=$?
is "$st" 2 "a --map naming a missing column exits 2"
like "$out" 'no column "Nope"' "and says why"
out=$(cli import "$FIX/leads.csv" --basis vibes 2>&1); st=$?
is "$st" 2 "an unknown lawful basis exits 2"

# ---- crash in the middle of a large import ----
N=100000
awk -v n=$N 'BEGIN { print "email,first_name,last_name,company,country,phone";
  for (i = 1; i <= n; i++)
    printf "p%d@co%d.example,First%d,Last%d,Company %d,DE,030 %07d\n", i, i % 5000, i, i, i % 5000, i }' \
  >"$T/big.csv"
before=$(q "SELECT count(*) FROM leads")
cli import "$T/big.csv" --source big --quiet >"$T/big.out" 2>&1 &
CLIPID=$!
i=0
while [ $i -lt 300 ]; do
  n=$(q "SELECT count(*) FROM leads WHERE source = 'big'" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 2000 ] && break
  sleep 0.05
  i=$((i + 1))
done
kill -KILL "$PID"; wait "$PID" 2>/dev/null
wait "$CLIPID"; clist=$?
mid=$(q "SELECT count(*) FROM leads WHERE source = 'big'")
diag "leads when the daemon was killed: $mid of $N"
ok $([ "$clist" -ne 0 ] && echo 0 || echo 1) "the CLI reports the interrupted import as failed"
ok $([ "$mid" -gt 0 ] && [ "$mid" -lt $N ] && echo 0 || echo 1) "the kill came in the middle of the import"
is "$(q 'PRAGMA integrity_check')" ok "the store is intact after SIGKILL"
# A lead's lead_created event is its own, or its import run's (lead_id is the
# run's first lead, lead_last its last): count the leads each covers.
is "$(q "SELECT (SELECT count(*) FROM leads WHERE source = 'big') - (SELECT coalesce(sum(coalesce(lead_last, lead_id) - lead_id + 1), 0) FROM events WHERE type = 'lead_created' AND lead_id IN (SELECT id FROM leads WHERE source = 'big'))")" \
   0 "every lead on disk came with its event (whole transactions)"
is "$(q "SELECT count(*) FROM leads l WHERE source = 'big' AND NOT EXISTS (SELECT 1 FROM events e WHERE e.type = 'lead_created' AND l.id BETWEEN e.lead_id AND coalesce(e.lead_last, e.lead_id))")" \
   0 "and each event covers leads that exist"

start_daemon "$CONF" || { done_testing; exit 1; }
out=$(cli import "$T/big.csv" --source big --quiet 2>&1); ok $? "the re-run succeeds"
like "$out" "^read $N, imported $((N - mid)), updated 0, duplicates $mid, suppressed 0, invalid 0\$" \
     "the re-run completes exactly what was missing"
is "$(q "SELECT count(*) FROM leads WHERE source = 'big'")" $N "all $N leads are there"
is "$(q "SELECT count(DISTINCT email) FROM leads")" "$(q 'SELECT count(*) FROM leads')" "no lead twice"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
