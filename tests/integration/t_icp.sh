#!/bin/sh
# The ideal customer profile end to end on a running daemon: an import is
# scored; the high scorers move to prospecting with a prospector assigned
# round-robin and a stage_changed event by the rule "icp"; the low scorers
# stay in intelligence with their score and the rules they failed (also in
# GET /api/leads/:id); a SIGHUP with a lower threshold moves more.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
make_config "$CONF" ',
  "icp": {
    "threshold": 60,
    "rules": [
      { "name": "industry", "field": "industry", "in": ["software", "saas"], "points": 20 },
      { "name": "size", "field": "employees", "range": [50, 1000], "points": 20 },
      { "name": "not a competitor", "field": "domain", "regex": "^rival\\.", "points": -100 }
    ]
  }'
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }
stage() { q "SELECT stage FROM leads WHERE email = '$1'"; }

# Seniority (default points): CEO 40, VP 30, director 25, manager 10, engineer 0.
cat >"$T/leads.csv" <<'CSV'
email,first_name,last_name,company,title,country,industry,employees
ann@acme.example,Ann,Lee,Acme,CEO,FR,Software,250
bob@beta.example,Bob,Ray,Beta,VP Sales,DE,saas,120
cat@gamma.example,Cat,Kim,Gamma,Sales Director,US,retail,80
dan@delta.example,Dan,Wu,Delta,Engineer,FR,software,5000
eve@rival.example,Eve,Ng,Rival,CEO,FR,software,300
CSV

# wait_for SQL WANT: polls the store until SQL prints WANT (10 s at most).
wait_for() {
  i=0
  while [ $i -lt 200 ]; do
    [ "$(q "$1" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

start_daemon "$CONF" || { done_testing; exit 1; }
out=$(cli import "$T/leads.csv" --source icp-test 2>&1); ok $? "drumbeat import exits 0"
like "$out" '^read 5, imported 5' "five leads imported"
wait_for "SELECT count(*) FROM lead_icp" 5; ok $? "every imported lead is scored"
wait_for "SELECT count(*) FROM leads WHERE stage = 'prospecting'" 2
ok $? "two leads moved to prospecting"

is "$(q "SELECT icp_score FROM leads WHERE email = 'ann@acme.example'")" 80.0 \
   "CEO in software, 250 people: 40 + 20 + 20"
is "$(stage ann@acme.example) $(stage bob@beta.example)" "prospecting prospecting" \
   "the high scorers are in prospecting"
is "$(q "SELECT group_concat(person, ',') FROM (SELECT o.person FROM lead_owners o JOIN leads l ON l.id = o.lead_id WHERE o.role = 'prospector' ORDER BY l.id)")" \
   "Pia,Paul" "prospectors assigned round-robin"
is "$(q "SELECT count(*) FROM events e JOIN leads l ON l.id = e.lead_id WHERE e.type = 'stage_changed' AND e.actor_kind = 'rule' AND e.actor = 'icp' AND l.email IN ('ann@acme.example', 'bob@beta.example')")" \
   2 "each move has a stage_changed event by the rule icp"
is "$(q "SELECT json_extract(data, '$.to') || ' ' || json_extract(data, '$.reason') FROM events WHERE type = 'stage_changed' LIMIT 1")" \
   "prospecting icp_ready" "the event says where and why"
is "$(stage cat@gamma.example) $(stage dan@delta.example) $(stage eve@rival.example)" \
   "intelligence intelligence intelligence" "the low scorers stay in intelligence"
is "$(q "SELECT json_extract(breakdown, '$.failed') FROM lead_icp i JOIN leads l ON l.id = i.lead_id WHERE l.email = 'dan@delta.example'")" \
   '["seniority","size","not a competitor"]' "with the rules they failed"
is "$(q "SELECT icp_score FROM leads WHERE email = 'eve@rival.example'")" -20.0 \
   "a negative rule pulls a CEO down"

id=$(q "SELECT id FROM leads WHERE email = 'cat@gamma.example'")
out=$(api GET "/api/leads/$id")
like "$out" '^200 ' "GET /api/leads/:id"
like "$out" '"icp": *\{' "it has the ICP breakdown"
like "$out" '"rule": *"size", *"matched": *true' "with each rule's outcome"
like "$out" '"why": *"title is director"' "and why"
like "$out" '"failed": *\["industry"' "and the failed rules"
out=$(cli lead "$id")
like "$out" 'ICP score [0-9.]+ of threshold 60 \(not qualified\)' "drumbeat lead shows the score against the threshold"
like "$out" '\+ size ' "and each matched rule"

# A lower threshold, reloaded: the director qualifies (25 + 20 = 45).
sed 's/"threshold": 60/"threshold": 40/' "$CONF/drumbeat.json" >"$T/new.json" &&
  cp "$T/new.json" "$CONF/drumbeat.json"
kill -HUP "$PID"
wait_for "SELECT stage FROM leads WHERE email = 'cat@gamma.example'" prospecting
ok $? "after SIGHUP with threshold 40 the director moves to prospecting"
is "$(q "SELECT person FROM lead_owners o JOIN leads l ON l.id = o.lead_id WHERE l.email = 'cat@gamma.example'")" \
   "Pia" "and gets the next prospector"
is "$(stage dan@delta.example) $(stage eve@rival.example)" "intelligence intelligence" \
   "the others still stay"
is "$(q "SELECT json_extract(breakdown, '$.threshold') FROM lead_icp i JOIN leads l ON l.id = i.lead_id WHERE l.email = 'dan@delta.example'")" \
   40.0 "and were scored again against the new threshold"
like "$(cat "$CONF/daemon.log")" 'ICP pass done" scored=[0-9]+ moved=1' "the pass logs what it did"

# A bad regex is refused on reload; the old profile stays in force.
sed 's/"\^rival\\\\\."/"([a-z"/' "$CONF/drumbeat.json" >"$T/bad.json" && cp "$T/bad.json" "$CONF/drumbeat.json"
kill -HUP "$PID"
i=0
while [ $i -lt 100 ] && ! grep -q 'new configuration rejected' "$CONF/daemon.log"; do sleep 0.05; i=$((i + 1)); done
like "$(cat "$CONF/daemon.log")" 'icp.rules\[2\].regex.*invalid regex' "a bad regex is a config error at its JSON path"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
