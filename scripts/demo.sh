#!/bin/sh
# The main job on the embedded defaults (config/drumbeat.json): start drumbeatd
# on a SQLite store under var/, show `drumbeat status`, import the sample lead
# list (config/data/sample-leads.csv), enrich it with enrich_csv (a
# firmographics file) and enrich_guess (addresses for leads that have none),
# score it against the ideal customer profile, show the leads, send one touch
# through the example channel, and stop cleanly. Run as root on Debian 12:
#   scripts/demo.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh build
scripts/build.sh

bin=$top/_build/daemon
p=$top/_build/plugins
export DRUMBEAT_PLUGIN_PATH="$p/channel_maildir/.libs:$p/example_channel/.libs:$p/enrich_csv/.libs:$p/enrich_guess/.libs"
export DRUMBEAT_TOKEN_FILE="$top/config/tokens/ada.token"
cfg=config/drumbeat.json
mkdir -p var
log=var/drumbeatd.log

echo "== 1. start drumbeatd (store: var/drumbeat.db, log: $log)"
# A fresh store each run, on the test clock: Monday 2 March 2026, 08:30 in
# Paris, so that three days of cadence run in seconds.
rm -f var/drumbeat.db var/drumbeat.db-wal var/drumbeat.db-shm
rm -rf var/outbox
"$bin/drumbeatd" -c "$cfg" --pidfile var/drumbeatd.pid --test-clock=2026-03-02T07:30:00Z \
  2>"$log" &
pid=$!
i=0
until curl -fsS http://127.0.0.1:7780/healthz >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
    echo "drumbeatd did not come up; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done

echo "== 2. drumbeat status"
"$bin/drumbeat" status -c "$cfg"

echo "== 3. import the sample list (enrichment and scoring follow on their own)"
"$bin/drumbeat" import -c "$cfg" config/data/sample-leads.csv --source demo-list

echo "== 4. wait for the enrichers (enrich_csv, then enrich_guess for missing emails)"
"$bin/drumbeat" enrich -c "$cfg" --wait
sleep 0.5   # the ICP rescoring of enriched leads is queued right after

echo "== 5. the leads: scored, the qualifying ones in prospecting with an owner"
"$bin/drumbeat" leads -c "$cfg"

echo "== 6. one lead in full: fields with provenance, score breakdown, events"
"$bin/drumbeat" lead -c "$cfg" claire.martin@brioche-soft.example

advance() {
  curl -fsS -X POST -H "Authorization: Bearer $(cat "$DRUMBEAT_TOKEN_FILE")" \
    -H 'Content-Type: application/json' --data "{\"by\":\"$1\"}" \
    http://127.0.0.1:7780/api/clock/advance
  echo
}

echo "== 7. enroll the prospecting leads in config/cadences/demo-outreach.json"
"$bin/drumbeat" enroll -c "$cfg" --cadence demo-outreach --stage prospecting

echo "== 8. one hour later (09:30 in Paris): the intros went out at the window's opening"
advance 1h
ls var/outbox/new

echo "== 9. two business days later: the call list for Ada"
advance 2d
"$bin/drumbeat" calls -c "$cfg" --owner Ada

echo "== 10. log two calls: no answer (the cadence goes on), a meeting (it ends)"
"$bin/drumbeat" log-call -c "$cfg" jean.dupont@brioche-soft.example --outcome no-answer \
  --notes "rang twice"
"$bin/drumbeat" log-call -c "$cfg" emma.dubois@cloudnine.example --outcome meeting-booked
advance 1h
"$bin/drumbeat" enrollments -c "$cfg"
echo "-- the follow-up to Jean, threaded on the intro:"
f=$(grep -l 'jean.dupont@brioche-soft.example' var/outbox/new/* | xargs ls -t | head -n 1)
sed 's/\r$//' "$f" | sed -n '1,12p'
"$bin/drumbeat" lead -c "$cfg" emma.dubois@cloudnine.example | sed -n '1,3p'

echo "== 11. send one touch through the channel by hand"
"$bin/drumbeat" send -c "$cfg" --to maria.lopez@example.org --first-name "María" \
  --last-name "López" --company "Acme Logística" \
  --subject "Quick question about Acme's routing, María" \
  --text "Hi María,

Teams like yours at Acme tell us route planning eats their Mondays.
Would a 15-minute call next week be useful?

Ada"
msg=$(ls -t var/outbox/new/* | head -n 1)
echo "-- the message the channel delivered ($msg):"
sed 's/\r$//' "$msg"

echo "== 12. stop cleanly (SIGTERM)"
kill -TERM $pid
status=0
wait $pid || status=$?
echo "drumbeatd exited with status $status; its log:"
cat "$log"
exit $status
