#!/bin/sh
# Mailbox caps on the test clock: a daily cap on a rolling 24 hours (the
# touches it holds are deferred with mailbox_daily_cap and go when the oldest
# send leaves the window), follow-ups before new first touches when the cap
# binds, caps counted in the store (they hold across a restart), an hourly
# cap, a minimum spacing with jitter, and the warm-up ramp.
. "$(dirname "$0")/lib.sh"

# setup DIR CAPS: a config whose mailbox "ada" has the JSON members CAPS.
setup() {
  mkdir -p "$1/cadences"
  cp "$top_srcdir/tests/fixtures/caps_e2e/"*.json "$1/cadences/"
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1/unsub.secret"
  make_config "$1" ',
  "public_url": "https://links.example.com",
  "templates": { "dir": "'"$top_srcdir"'/templates", "unsubscribe_secret_file": "unsub.secret",
                 "list_unsubscribe_mailto": "unsubscribe@example.com" },
  "company": { "name": "Example Ltd", "postal_address": "1 Example Street, Paris" }'
  sed "s/\"channel\": \"outbox\" }/\"channel\": \"outbox\", $2 }/" "$1/drumbeat.json" >"$1/x.json" &&
    mv "$1/x.json" "$1/drumbeat.json"
  CONF=$1
  DB="$1/store/drumbeat.db"
}
q() { sqlite3 "$DB" "$1"; }
advance() { api POST /api/clock/advance "{\"by\":\"$1\"}" >/dev/null; }
# leads N PREFIX: imports N leads PREFIX1@... and enrolls them into CADENCE.
leads() {
  printf 'email,first_name,last_name,company,country\n' >"$T/l.csv"
  i=1; while [ $i -le "$1" ]; do
    printf '%s%d@lead.example,L%d,Lee,Acme,FR\n' "$2" $i $i >>"$T/l.csv"; i=$((i + 1))
  done
  cli import "$T/l.csv" --source caps-test --quiet >/dev/null 2>&1
  set --; i=1; while [ $i -le "$N" ]; do set -- "$@" --lead "$P$i@lead.example"; i=$((i + 1)); done
  cli enroll --cadence "$CADENCE" "$@" >/dev/null 2>&1
}
at() { echo "strftime('%Y-%m-%dT%H:%M', $1 / 1000, 'unixepoch')"; }
sent_on() { q "SELECT count(*) FROM touches WHERE state = 'sent' AND sent_at / 1000 >= CAST(strftime('%s', '$1') AS INTEGER) AND sent_at / 1000 < CAST(strftime('%s', '$1', '+1 day') AS INTEGER)"; }

# ---- daily cap 3, five leads, rolling 24 hours; a restart in between ----
C=$T/daily
setup "$C" '"daily_cap": 3'
start_daemon "$C" --test-clock=2026-01-05T10:00:00Z || { done_testing; exit 1; }
N=5 P=d CADENCE=pair leads 5 d
advance 1m
is "$(q "SELECT count(*) FROM touches WHERE state = 'sent'")" 3 "day 1: three intros go (daily_cap 3)"
is "$(q "SELECT count(*) || ' ' || $(at 'min(due_at)') FROM touches WHERE state = 'deferred' AND reason = 'mailbox_daily_cap'")" \
   "2 2026-01-06T10:00" "the other two are deferred(mailbox_daily_cap) until the oldest send leaves the window"
like "$(cli touches --deferred 2>&1)" 'deferred +email .*mailbox_daily_cap' \
   "drumbeat touches --deferred shows the reason"
advance 3h     # 13:01: the follow-ups of the first three are due and capped too
is "$(q "SELECT count(*) FROM touches WHERE step = 2 AND state = 'deferred' AND reason = 'mailbox_daily_cap'")" 3 \
   "the follow-ups due at 12:00 wait on the cap too"
is "$(q "SELECT count(*) FROM touches WHERE state = 'sent'")" 3 "still three sent on day 1"

# Caps are counted in the store: a new start at 16:00 still sees the three sends.
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
start_daemon "$C" --test-clock=2026-01-05T16:00:00Z || { done_testing; exit 1; }
N=1 P=r CADENCE=pair leads 1 r
advance 1m
r1="(SELECT id FROM leads WHERE email = 'r1@lead.example')"
is "$(q "SELECT state || ' ' || reason FROM touches WHERE lead_id = $r1")" "deferred mailbox_daily_cap" \
   "after a restart the cap still binds: a new intro is deferred"
is "$(sent_on 2026-01-05)" 3 "nothing more went on day 1"

advance 18h    # 2026-01-06 10:01: the window rolled past the first sends
is "$(q "SELECT group_concat(step) FROM (SELECT step FROM touches WHERE state = 'sent' AND $(at sent_at) >= '2026-01-06' ORDER BY step)")" \
   "2,2,2" "day 2, 24 hours after the first sends: the three follow-ups go before the new first touches"
is "$(q "SELECT $(at 'min(sent_at)') FROM touches WHERE state = 'sent' AND step = 2")" "2026-01-06T10:00" \
   "when the oldest send left the rolling window, not at midnight"
is "$(q "SELECT count(*) FROM touches WHERE step = 0 AND state = 'deferred' AND reason = 'mailbox_daily_cap'")" 3 \
   "the three new first touches wait another day"
advance 1d     # 2026-01-07 10:01
is "$(q "SELECT count(*) FROM touches WHERE step = 0 AND state = 'sent' AND $(at sent_at) = '2026-01-07T10:00'")" 3 \
   "day 3: the deferred intros go"
is "$(q "SELECT max(n) FROM (SELECT t1.id, (SELECT count(*) FROM touches t2 WHERE t2.state = 'sent' AND t2.sent_at > t1.sent_at - 86400000 AND t2.sent_at <= t1.sent_at) AS n FROM touches t1 WHERE t1.state = 'sent')")" \
   3 "no 24 hours ever held more than three sends"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"

# ---- hourly cap 2 ----
C=$T/hourly
setup "$C" '"hourly_cap": 2'
start_daemon "$C" --test-clock=2026-01-05T10:00:00Z || { done_testing; exit 1; }
N=5 P=h CADENCE=single leads 5 h
advance 1m
is "$(q "SELECT count(*) FROM touches WHERE state = 'sent'")" 2 "hourly_cap 2: two go at once"
is "$(q "SELECT count(*) || ' ' || $(at 'min(due_at)') FROM touches WHERE state = 'deferred' AND reason = 'mailbox_hourly_cap'")" \
   "3 2026-01-05T11:00" "the rest are deferred(mailbox_hourly_cap) for an hour"
advance 3h
is "$(q "SELECT group_concat(n) FROM (SELECT count(*) AS n FROM touches WHERE state = 'sent' GROUP BY sent_at ORDER BY sent_at)")" \
   "2,2,1" "then two an hour"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"

# ---- minimum spacing 10 minutes with up to 5 minutes of jitter ----
C=$T/spacing
setup "$C" '"min_spacing": "10m", "jitter": "5m"'
start_daemon "$C" --test-clock=2026-01-05T10:00:00Z || { done_testing; exit 1; }
N=4 P=s CADENCE=single leads 4 s
advance 1m
is "$(q "SELECT count(*) FROM touches WHERE state = 'sent'")" 1 "min_spacing: one at a time"
is "$(q "SELECT count(*) FROM touches WHERE state = 'deferred' AND reason = 'mailbox_spacing'")" 3 \
   "the others are deferred(mailbox_spacing)"
advance 2h
is "$(q "SELECT count(*) FROM touches WHERE state = 'sent'")" 4 "all four went in time"
gaps=$(q "SELECT group_concat(g) FROM (SELECT (sent_at - lag(sent_at) OVER (ORDER BY sent_at)) / 1000 AS g FROM touches WHERE state = 'sent') WHERE g IS NOT NULL")
ok "$(echo "$gaps" | tr ',' '\n' | awk '$1 < 600 || $1 > 900 { bad = 1 } END { exit bad }'; echo $?)" \
   "every gap is between 10 and 15 minutes (got $gaps)"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"

# ---- warm-up: 2 on its first day, one more per day ----
C=$T/warmup
setup "$C" '"warmup": { "start": 2, "per_day": 1, "since": "2026-01-05" }'
start_daemon "$C" --test-clock=2026-01-05T10:00:00Z || { done_testing; exit 1; }
N=6 P=w CADENCE=single leads 6 w
advance 1m
is "$(q "SELECT count(*) FROM touches WHERE state = 'deferred' AND reason = 'mailbox_daily_cap'")" 4 \
   "warm-up day 0: the cap is 2, four wait"
advance 2d
is "$(sent_on 2026-01-05) $(sent_on 2026-01-06) $(sent_on 2026-01-07)" "2 3 1" \
   "the ramp: 2, then 3 on the next day, then the last one"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"

# ---- the cadence throttle holds at the claim: a weekend's starts do not bunch ----
# Five leads enrolled on a Friday evening at two a day start Fri, Sat and Sun
# on paper; the window (09:00-17:00 in the leads' zone, Paris: 08:00-16:00
# UTC) moves all five to Monday, where the claim lets two go.
C=$T/throttle
setup "$C" '"daily_cap": 100'
start_daemon "$C" --test-clock=2026-01-09T18:00:00Z || { done_testing; exit 1; }
N=5 P=t CADENCE=weekday leads 5 t
advance 2d15h1m      # Monday 09:01
is "$(sent_on 2026-01-12)" 2 "Monday: two first touches go (new_per_day 2)"
is "$(q "SELECT count(*) || ' ' || $(at 'min(due_at)') FROM touches WHERE state = 'deferred' AND reason = 'cadence_throttle'")" \
   "3 2026-01-13T08:00" "the other three wait, deferred(cadence_throttle), until a start leaves the 24 hours"
like "$(cli touches --deferred 2>&1)" 'deferred +email .*cadence_throttle' "drumbeat touches --deferred shows the reason"
advance 1d
is "$(sent_on 2026-01-13)" 2 "Tuesday: two more"
advance 1d
is "$(sent_on 2026-01-14) $(q "SELECT count(*) FROM touches WHERE state = 'sent'")" "1 5" "Wednesday: the last one; all five sent"
ok "$(q "SELECT count(*) FROM touches WHERE state = 'sent' AND (CAST(strftime('%H', sent_at / 1000, 'unixepoch') AS INTEGER) < 8 OR CAST(strftime('%H', sent_at / 1000, 'unixepoch') AS INTEGER) >= 16)" | grep -qx 0; echo $?)" \
   "every one inside the window"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"

# ---- config errors name the JSON path ----
C=$T/bad
setup "$C" '"hourly_cap": -1, "warmup": { "since": "January" }'
out=$("$DRUMBEAT" check-config -c "$C/drumbeat.json" 2>&1)
like "$out" 'mailboxes\[0\]\.hourly_cap' "a bad hourly_cap is named by its JSON path"
like "$out" 'mailboxes\[0\]\.warmup\.since.*expected a date' "a bad warm-up date too"
done_testing
