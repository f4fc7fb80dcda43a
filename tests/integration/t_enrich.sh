#!/bin/sh
# Enrichment end to end on a running daemon, with every enricher against its
# real server: enrich_csv (a firmographics file), enrich_http (a scripted
# JSON API started here), enrich_mx (a dnsmasq started here on 127.0.0.1)
# and enrich_guess. An import queues its leads (enrichment.after_import);
# the waterfall runs each enricher only for fields still missing; values are
# recorded with provenance and never overwrite one the import set; a lead
# without an email gets a guessed address (never "verified") unless its
# domain takes no mail; a 503 is retried then given up with an event; the
# API's answers are cached; qualifying leads are rescored into prospecting;
# and a daemon killed mid-enrichment resumes the lead at its next start.
. "$(dirname "$0")/lib.sh"

# dnsmasq on 127.0.0.1, answering for the test's domains; nomail.example
# does not exist (NXDOMAIN).
if ! start_dnsmasq "$T/dnsmasq.log" --local-ttl=300 \
  --mx-host=mailco.example,mx1.mailco.example,10 --host-record=mx1.mailco.example,127.0.0.1 \
  --mx-host=acme.example,mx.acme.example,10 --mx-host=beta.example,mx.beta.example,10 \
  --mx-host=flaky.example,mx.flaky.example,10 --mx-host=slow.example,mx.slow.example,10 \
  --local=/nomail.example/ --address=/nomail.example/; then
  sed 's/^/# /' "$T/dnsmasq.log"
  [ "${CI:-}" = true ] && { echo "1..1"; echo "not ok 1 - dnsmasq did not start (package dnsmasq-base)"; exit 1; }
  echo "1..0 # SKIP dnsmasq did not start (package dnsmasq-base)"
  exit 0
fi
dport=$DNS_PORT

# The JSON API: beta.example is known, flaky.example always fails, slow.example
# answers after 3 s.
cat >"$T/api.json" <<'JSON'
{"routes": [
  {"prefix": "/company/beta.example", "status": 200,
   "json": {"data": {"industry": "software", "size": {"employees": 120}}}},
  {"prefix": "/company/flaky.example", "status": 503, "headers": {"Retry-After": "0"}},
  {"prefix": "/company/slow.example", "status": 200, "delay_ms": 3000,
   "json": {"data": {"industry": "saas", "size": {"employees": 75}}}},
  {"prefix": "/company/", "status": 404, "json": {"error": "unknown company"}}
]}
JSON
mkfifo "$T/api.in"
/usr/bin/python3 "$top_srcdir/tests/helpers/enrich_api.py" --script "$T/api.json" \
  --log "$T/api.log" <"$T/api.in" >"$T/api.port" &
API_PID=$!
exec 7>"$T/api.in"
i=0
while [ ! -s "$T/api.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
aport=$(head -n 1 "$T/api.port")
stop_helpers() { exec 7>&-; kill "$DNS_PID" 2>/dev/null; wait "$API_PID" "$DNS_PID" 2>/dev/null; DNS_PID=; }

printf 'domain,industry,employees\nacme.example,software,250\nmailco.example,saas,90\n' >"$T/firmo.csv"
echo "secret-api-key-never-logged" >"$T/api.key"

CONF=$T/c
make_config "$CONF" ',
  "dns": { "servers": "127.0.0.1:'"$dport"'", "timeout": "500ms", "tries": 2 },
  "enrichers": [
    { "name": "firmo", "plugin": "enrich_csv", "options": { "file": "'"$T"'/firmo.csv" } },
    { "name": "api", "plugin": "enrich_http", "rate": "50/s", "cache_ttl": "1h",
      "options": { "url": "http://127.0.0.1:'"$aport"'/company/{domain}",
                   "headers": "Authorization: Bearer ${FILE:'"$T"'/api.key}",
                   "map": "industry=/data/industry,employees=/data/size/employees",
                   "timeout": "5s" } },
    { "name": "mx", "plugin": "enrich_mx" },
    { "name": "guess", "plugin": "enrich_guess" }
  ],
  "enrichment": { "after_import": true, "backoff": "100ms", "max_backoff": "200ms",
                  "max_attempts": 2 },
  "icp": { "threshold": 40, "rules": [
      { "name": "industry", "field": "industry", "in": ["software", "saas"], "points": 20 },
      { "name": "size", "field": "employees", "range": [50, 1000], "points": 20 } ] }'
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }
attr() { q "SELECT json_extract(attrs, '\$.$2') FROM leads WHERE $1"; }
wait_for() {  # wait_for SQL WANT [TRIES]
  i=0
  while [ $i -lt "${3:-200}" ]; do
    [ "$(q "$1" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

cat >"$T/leads.csv" <<'CSV'
email,first_name,last_name,company,website,industry
ann@acme.example,Ann,Lee,Acme,acme.example,
bob@beta.example,Bob,Ray,Beta,beta.example,fintech
,Chloé,Dupont-Marie,Mailco,https://www.mailco.example/,
,Dan,Wu,Nomail,nomail.example,
eve@flaky.example,Eve,Ng,Flaky,flaky.example,
CSV

start_daemon "$CONF" || { stop_helpers; done_testing; exit 1; }
out=$(cli import "$T/leads.csv" --source enrich-test 2>&1); ok $? "the import exits 0"
like "$out" 'imported 5' "five leads imported, two of them without an email"
wait_for "SELECT count(*) FROM enrich_queue" 0 400; ok $? "the waterfall drained the queue"

# enrich_csv filled Acme; enrich_http was then not asked (nothing missing).
is "$(attr "email = 'ann@acme.example'" industry) $(attr "email = 'ann@acme.example'" employees)" \
   "software 250" "enrich_csv filled industry and employees from the firmographics file"
is "$(attr "email = 'ann@acme.example'" '_provenance.industry.plugin')" enrich_csv \
   "provenance names the plugin"
is "$(attr "email = 'ann@acme.example'" '_provenance.industry.instance')" firmo \
   "and the instance"
is "$(grep -c '/company/acme.example' "$T/api.log")" 0 \
   "enrich_http was not called for fields enrich_csv had filled (waterfall)"

# enrich_http filled Beta's employees and kept the industry the import set.
is "$(attr "email = 'bob@beta.example'" employees)" 120 "enrich_http mapped a nested JSON pointer"
is "$(attr "email = 'bob@beta.example'" industry)" fintech "a value from the import is never overwritten"
is "$(attr "email = 'bob@beta.example'" '_provenance.employees.plugin')" enrich_http \
   "provenance of the API's value"
like "$(grep '/company/beta.example' "$T/api.log" | head -n 1)" 'secret-api-key-never-logged' \
   "the API got its secret header"
unlike "$(cat "$CONF/daemon.log")" 'secret-api-key-never-logged' "the secret never reached the log"

# enrich_mx and enrich_guess.
is "$(attr "email = 'ann@acme.example'" domain_status)" deliverable "enrich_mx: acme.example takes mail"
is "$(q "SELECT email || ' ' || email_status FROM leads WHERE last_name = 'Dupont-Marie'")" \
   "chloe.dupont-marie@mailco.example guessed" \
   "a lead without an email got the best guess, marked guessed"
is "$(attr "last_name = 'Dupont-Marie'" '_provenance.email.plugin')" enrich_guess "provenance of the guess"
ok "$([ "$(attr "last_name = 'Dupont-Marie'" 'email_candidates[5].pattern')" != '' ] && echo 0 || echo 1)" \
   "six candidates kept, ranked"
is "$(q "SELECT coalesce(email, 'none') FROM leads WHERE last_name = 'Wu'")" none \
   "no guess on a domain without MX or A records"
is "$(attr "last_name = 'Wu'" domain_status)" undeliverable "nomail.example is marked undeliverable"
is "$(q "SELECT count(*) FROM leads WHERE email_status = 'verified'")" 0 "nothing is ever marked verified"

# The 503: retried, then given up with an event.
is "$(grep -c '/company/flaky.example' "$T/api.log")" 2 "flaky.example was asked max_attempts times"
is "$(q "SELECT count(*) FROM events e JOIN leads l ON l.id = e.lead_id WHERE l.email = 'eve@flaky.example' AND e.type = 'enrich_failed'")" \
   1 "then given up, with an enrich_failed event"

# Rescoring: Acme (software, 250) qualifies only thanks to enrichment.
wait_for "SELECT stage FROM leads WHERE email = 'ann@acme.example'" prospecting
ok $? "the enriched lead was rescored into prospecting"

# The cache: a second Beta lead is answered without asking the API again.
printf 'email,first_name,last_name,website\nbea@beta.example,Bea,Ko,beta.example\n' >"$T/more.csv"
cli import "$T/more.csv" --quiet >/dev/null 2>&1
wait_for "SELECT count(*) FROM enrich_queue" 0 400
is "$(attr "email = 'bea@beta.example'" employees)" 120 "the second Beta lead is enriched"
is "$(grep -c '/company/beta.example' "$T/api.log")" 1 "from the cache: the API was asked once"
st=$(api GET /api/enrichments)
like "$st" '"cache_hits": *[1-9]' "GET /api/enrichments counts the cache hits"

# drumbeat enrich --missing / --wait and drumbeat lead's provenance.
out=$(cli enrich --missing hq_city --wait 2>&1); ok $? "drumbeat enrich --missing hq_city --wait exits 0"
like "$out" 'ENRICHER' "and prints each enricher's counts"
out=$(cli lead ann@acme.example 2>&1)
like "$out" 'enrich_csv' "drumbeat lead shows where the values came from"
out=$(cli enrich --missing 'bad"name' 2>&1); is $? 2 "a bad field name is refused"

# Killed mid-enrichment: the lead stays queued and is finished after a restart.
printf 'email,first_name,last_name,website\nsam@slow.example,Sam,Li,slow.example\n' >"$T/slow.csv"
cli import "$T/slow.csv" --quiet >/dev/null 2>&1
i=0
while ! grep -q '/company/slow.example' "$T/api.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -KILL "$PID"; wait "$PID" 2>/dev/null
is "$(q "SELECT count(*) FROM enrich_queue e JOIN leads l ON l.id = e.lead_id WHERE l.email = 'sam@slow.example'")" \
   1 "after SIGKILL the lead is still queued"
start_daemon "$CONF" || { stop_helpers; done_testing; exit 1; }
wait_for "SELECT count(*) FROM enrich_queue" 0 400; ok $? "the restarted daemon resumed it"
is "$(attr "email = 'sam@slow.example'" industry)" saas "and enriched it"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
stop_helpers
done_testing
