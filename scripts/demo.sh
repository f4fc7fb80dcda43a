#!/bin/sh
# The main job on the embedded defaults (config/drumbeat.json): start drumbeatd
# on a SQLite store under var/, show `drumbeat status`, send one touch through
# the example channel, and stop cleanly. Run as root on Debian 12:
#   scripts/demo.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh build
scripts/build.sh

bin=$top/_build/daemon
export DRUMBEAT_PLUGIN_PATH="$top/_build/plugins/example_channel/.libs"
export DRUMBEAT_TOKEN_FILE="$top/config/tokens/ada.token"
cfg=config/drumbeat.json
mkdir -p var
log=var/drumbeatd.log

echo "== 1. start drumbeatd (store: var/drumbeat.db, log: $log)"
"$bin/drumbeatd" -c "$cfg" --pidfile var/drumbeatd.pid 2>"$log" &
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

echo "== 3. send one touch through the example channel"
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

echo "== 4. stop cleanly (SIGTERM)"
kill -TERM $pid
status=0
wait $pid || status=$?
echo "drumbeatd exited with status $status; its log:"
cat "$log"
exit $status
