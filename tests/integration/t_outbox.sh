#!/bin/sh
# The outbox forecast compared with what then actually happens. A daemon on
# a test clock, two mailboxes with small daily caps (3 and 2) so the caps
# bind, twelve leads on a three-email cadence sent on weekdays 09:00-17:00 UTC
# (so a cap's deferral that lands on a weekend waits for Monday). `drumbeat
# outbox --days 5 --json` forecasts the sends per UTC day per mailbox; then
# the real daemon is advanced five days and its store must show exactly those
# counts. A second forecast, long enough for every lead to finish, must also
# name the exact instant the last one finishes. The forecast sends nothing
# and leaves the live store as it was.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
mkdir -p "$CONF/cadences"
cp "$top_srcdir/tests/fixtures/simulate/forecast.json" "$CONF/cadences/"
make_cadence_config "$CONF"
# Two mailboxes on the example channel: ada (daily_cap 3) and bea (daily_cap 2).
python3 - "$CONF/drumbeat.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["mailboxes"][0]["daily_cap"] = 3
c["mailboxes"].append({"name": "bea", "address": "bea@example.com", "channel": "outbox", "daily_cap": 2})
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }
advance() { api POST /api/clock/advance "{\"by\":\"$1\"}" >/dev/null; }
outbox() { TMPDIR=$T/tmp cli outbox -c "$CONF/drumbeat.json" "$@"; }
mkdir -p "$T/tmp"
# counts JSON: the forecast's "date mailbox n" lines, sorted.
counts() {
  python3 -c '
import json, sys
for c in sorted(json.load(sys.stdin)["counts"], key=lambda c: (c["date"], c["mailbox"])):
    print(c["date"], c["mailbox"], c["sent"])'
}
# actual FROM_MS DAYS: what the live store sent in that span, the same shape.
actual() {
  q "SELECT date(sent_at / 1000, 'unixepoch'), mailbox, count(*) FROM touches WHERE state = 'sent'
     AND sent_at >= $1 AND sent_at < $1 + $2 * 86400000 GROUP BY 1, 2 ORDER BY 1, 2" | tr '|' ' '
}
from_ms() {  # the forecast's "from" in UTC milliseconds
  python3 -c 'import json,sys,datetime; f = json.load(sys.stdin)["from"]; print(int(datetime.datetime.strptime(f, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))'
}
jget() { python3 -c 'import json,sys; v = json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else v)' "$1"; }

# Thursday 2026-01-08 09:00 UTC.
start_daemon "$CONF" --test-clock=2026-01-08T09:00:00Z || { done_testing; exit 1; }
printf 'email,first_name,last_name,company,country\n' >"$T/l.csv"
i=1; while [ $i -le 12 ]; do printf 'l%d@lead%d.example,L%d,Lee,Co%d,GB\n' $i $i $i $i >>"$T/l.csv"; i=$((i + 1)); done
cli import "$T/l.csv" --source outbox-test --quiet >/dev/null 2>&1
set --; i=1; while [ $i -le 12 ]; do set -- "$@" --lead "l$i@lead$i.example"; i=$((i + 1)); done
like "$(cli enroll --cadence forecast "$@" 2>&1)" '12 enrolled' "twelve leads enrolled"
advance 30m     # the first sends happen live: the forecast starts from a store with history
is "$(q "SELECT count(*) FROM touches WHERE state = 'sent'")" 5 "5 intros went at once (caps 3 + 2)"

# ---- five days ----
sent_before=$(ls "$CONF/outbox/new" | wc -l)
fc=$(outbox --days 5 --json 2>"$T/err")
ok $? "drumbeat outbox --days 5 --json exits 0"
[ -s "$T/err" ] && sed 's/^/# /' "$T/err"
from=$(printf '%s' "$fc" | from_ms)
is "$(printf '%s' "$fc" | jget from)" "2026-01-08T09:30:00.000Z" "the forecast starts at the live daemon's clock"
is "$(ls "$CONF/outbox/new" | wc -l)" "$sent_before" "the forecast sent nothing through the real channel"
forecast=$(printf '%s' "$fc" | counts)
diag "forecast (date mailbox sent):"; printf '%s\n' "$forecast" | sed 's/^/#   /'
unlike "$forecast" '^2026-01-08 ' "no more on Thursday: the five sent at 09:00 fill both caps for 24 hours"
like "$forecast" '2026-01-09 ada 3' "Friday: ada at its cap of 3"
like "$forecast" '2026-01-09 bea 2' "Friday: bea at its cap of 2"
unlike "$forecast" '^2026-01-1[01] ' "nothing on the weekend (the window is shut)"
like "$forecast" '2026-01-12 ada 3' "Monday: ada at its cap again"
is "$(printf '%s' "$fc" | jget beyond_forecast)" True "the last lead finishes beyond the five days"

advance 5d
is "$(actual "$from" 5)" "$forecast" "five days later, the sends per day per mailbox are exactly the forecast"
is "$(q "SELECT count(*) FROM enrollments WHERE state = 'active'")" "$(printf '%s' "$fc" | jget still_active)" \
   "as many enrollments still run as forecast"

# ---- until the end ----
fc=$(outbox --days 14 --json 2>"$T/err")
ok $? "drumbeat outbox --days 14 --json exits 0"
is "$(printf '%s' "$fc" | jget from)" "2026-01-13T09:30:00.000Z" "the second forecast starts where the clock is now"
from=$(printf '%s' "$fc" | from_ms)
forecast=$(printf '%s' "$fc" | counts)
last=$(printf '%s' "$fc" | jget last_finish)
like "$last" '^2026-01-' "it names when the last lead finishes ($last)"
advance 14d
is "$(actual "$from" 14)" "$forecast" "the next fourteen days go as forecast too"
is "$(q "SELECT strftime('%Y-%m-%dT%H:%M:%S.000Z', max(ended_at) / 1000, 'unixepoch') FROM enrollments")" "$last" \
   "and the last lead finished exactly when forecast"
is "$(q "SELECT count(*) FROM enrollments WHERE state = 'active'")" 0 "every enrollment ended"

# The table for people.
out=$(outbox --days 2 2>&1)
like "$out" 'daily cap +3 +2' "the table shows each mailbox's daily cap"
like "$out" 'No lead is enrolled|Last enrolled lead finishes' "and the finish line"
like "$(cli outbox --help)" 'nothing is sent' "--help says nothing is sent"
is "$(ls -A "$T/tmp" | wc -l)" 0 "the shadow runs left nothing in TMPDIR"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"

# Without a daemon to ask the time of, outbox fails clearly.
out=$(TMPDIR=$T/tmp "$DRUMBEAT" outbox -c "$CONF/drumbeat.json" --url http://127.0.0.1:9 --token-file "$CONF/admin.token" 2>&1)
is "$?" 1 "outbox without a running daemon exits 1"
done_testing
