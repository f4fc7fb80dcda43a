#!/bin/sh
# drumbeat clock show|set|advance and GET/POST /api/clock: the test clock
# moves only forward and in order (set behaves like advance: the intro due at
# the window's opening goes at exactly that instant); going back, or moving a
# real clock, is refused with a 409 that says why.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
mkdir -p "$CONF/cadences"
cp "$top_srcdir/tests/fixtures/cadence_e2e/outreach.json" "$CONF/cadences/"
make_cadence_config "$CONF"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }

# ---- a real clock: show works, moving it is refused ----
start_daemon "$CONF" || { done_testing; exit 1; }
out=$(cli clock show 2>&1)
ok $? "drumbeat clock show exits 0 on a real clock"
like "$out" '^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]{8}\.[0-9]{3}Z \(real time\)$' \
   "it prints now in UTC with milliseconds, and says it is real time"
like "$(api GET /api/clock)" '^200 .*"test_clock": *false' "GET /api/clock says test_clock false"
out=$(cli clock advance 1d 2>&1)
is "$?" 2 "drumbeat clock advance is refused without --test-clock (exit 2)"
like "$out" 'test clock is off' "with a clear reason"
out=$(cli clock set 2030-01-01T00:00:00Z 2>&1)
is "$?" 2 "drumbeat clock set is refused too"
like "$(api POST /api/clock '{"set":"2030-01-01T00:00:00Z"}')" '^409 ' "POST /api/clock: 409 on a real clock"
like "$(api POST /api/clock/advance '{"by":"1h"}')" '^409 ' "POST /api/clock/advance: 409 too"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"

# ---- a test clock ----
cat >"$T/leads.csv" <<'CSV'
email,first_name,last_name,company,country
ann@acme.example,Ann,Lee,Acme,FR
CSV
start_daemon "$CONF" --test-clock=2026-01-03T10:00:00Z || { done_testing; exit 1; }
is "$(cli clock show 2>&1)" "2026-01-03T10:00:00.000Z (test clock)" "clock show on a test clock"
like "$(cli clock show --json 2>&1)" '"now_ms": 1767434400000' "--json gives now_ms too"
cli import "$T/leads.csv" --source clock-test --quiet >/dev/null 2>&1
cli enroll --cadence outreach --lead ann@acme.example >/dev/null 2>&1
ok $? "a lead is enrolled on Saturday"

out=$(cli clock set 2026-01-02T00:00:00Z 2>&1)
is "$?" 2 "setting the clock back is refused (exit 2)"
like "$out" 'only moves forward: it is 2026-01-03T10:00:00.000Z, 2026-01-02T00:00:00.000Z is in its past' \
   "with the reason: the clock only moves forward"
like "$(api POST /api/clock '{"set":"2026-01-01T00:00:00Z"}')" '^409 .*only moves forward' "the API says 409"
like "$(api POST /api/clock '{"set":"yesterday"}')" '^400 .*expected a UTC time' "a bad time is a 400"
like "$(api POST /api/clock '{"by":"soon"}')" '^400 .*duration' "a bad duration is a 400"
like "$(api POST /api/clock '{}')" '^400 ' "set or by is required"

# set runs like advance: it stops at Monday 08:00 UTC (09:00 Paris) on the way.
out=$(cli clock set 2026-01-05T12:00:00Z 2>&1)
ok $? "drumbeat clock set moves forward"
is "$out" "2026-01-05T12:00:00.000Z (test clock)" "and prints where the clock is"
is "$(q "SELECT state || ' ' || strftime('%Y-%m-%dT%H:%M:%S', sent_at / 1000, 'unixepoch') FROM touches WHERE step = 0")" \
   "sent 2026-01-05T08:00:00" "the intro went at the window's opening on the way, not at 12:00"
is "$(cli clock set 2026-01-05T12:00:00Z 2>&1)" "2026-01-05T12:00:00.000Z (test clock)" \
   "setting it to now is fine (nothing moves)"

out=$(cli clock advance 1d12h 2>&1)
ok $? "drumbeat clock advance 1d12h"
is "$out" "2026-01-07T00:00:00.000Z (test clock)" "lands 36 hours later"
cli clock advance 8h >/dev/null 2>&1
is "$(q "SELECT kind || ' ' || strftime('%Y-%m-%dT%H:%M', due_at / 1000, 'unixepoch') FROM tasks")" \
   "call 2026-01-07T08:00" "the call task came two business days after the intro"
like "$(api POST /api/clock/advance '{"by":"1m"}')" '^200 .*"now": *"2026-01-07T08:01:00.000Z"' \
   "POST /api/clock/advance still works"
like "$(cli clock --help)" 'only moves forward|never goes back' "--help explains the rules"
like "$("$DRUMBEAT" --help)" 'clock ' "drumbeat --help lists clock"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
