#!/bin/sh
# Nothing lost, nothing twice, under crashes: 2,000 touches go to a real SMTP
# server (aiosmtpd) while drumbeatd is killed with SIGKILL at random moments
# and restarted, several times over. Then every lead was received at most
# once; every touch is sent, or in a named state that is not sent; each kill
# left no more in_doubt touches than the in-flight window; the store passes
# PRAGMA integrity_check. Run by `make check-long` (CI runs it too).
. "$(dirname "$0")/lib.sh"

N=${CRASH_LEADS:-2000}
KILLS=${CRASH_KILLS:-4}
WINDOW=150   # two SMTP batches of 50 sending, and one more claimed ahead or being committed:
             # the dispatcher's claimed-but-unfinished bound for channel_smtp (dispatch.c)
start_smtp "{\"dir\": \"$T/smtp/out\"}"
PY=/usr/bin/python3

CONF=$T/c
make_config "$CONF"
sed -i "s|\"channels\": \\[|\"channels\": [\n    { \"name\": \"relay\", \"plugin\": \"channel_smtp\", \"options\": { \"host\": \"127.0.0.1\", \"port\": $SMTP_PORT, \"tls\": \"none\" } },|" "$CONF/drumbeat.json"
# The campaign is far above a real mailbox's daily cap (200 by default):
# this test is about crashes, not caps.
sed -i 's|"channel": "outbox"|"channel": "relay", "daily_cap": 1000000000|' "$CONF/drumbeat.json"
DB="$CONF/store/drumbeat.db"

# Queue the campaign on a test clock, due a day later, so nothing goes out
# until every touch exists.
start_daemon "$CONF" --test-clock=2026-01-05T08:00:00Z || { done_testing; exit 1; }
"$PY" - "$API" "$(cat "$CONF/admin.token")" "$N" <<'PYEOF'
import http.client, json, sys, urllib.parse
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlparse(base)
c = http.client.HTTPConnection(u.hostname, u.port)
for i in range(n):
    body = json.dumps({"lead": {"email": "lead%05d@example.org" % i, "first_name": "Lead %d" % i},
                       "subject": "Hello %d" % i, "text": "Hi lead %d" % i,
                       "due_at": "2026-01-06T08:00:00Z"})
    c.request("POST", "/api/touches", body, {"Authorization": "Bearer " + token,
                                            "Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status != 201:
        sys.exit("POST %d: %d" % (i, r.status))
PYEOF
ok $? "$N touches are queued"
stop_daemon
is "$(sqlite3 "$DB" "SELECT count(*) FROM touches WHERE state='scheduled'")" "$N" "all $N are scheduled"

doubt_before=0
k=1
while [ $k -le "$KILLS" ]; do
  start_daemon "$CONF" --test-clock=2026-01-07T08:00:00Z || break
  # A random moment in the first half second of sending (2,000 messages take
  # about a second against aiosmtpd on this machine).
  delay=$(awk -v s="$$$k" 'BEGIN { srand(s); printf "%.2f", 0.05 + rand() * 0.5 }')
  sleep "$delay"
  kill -KILL "$PID"; wait "$PID" 2>/dev/null
  sending=$(sqlite3 "$DB" "SELECT count(*) FROM touches WHERE state='sending'")
  diag "kill $k: sent so far $(sqlite3 "$DB" "SELECT count(*) FROM touches WHERE state='sent'")"
  ok "$([ "$sending" -le "$WINDOW" ]; echo $?)" "kill $k after ${delay}s: $sending claimed-but-unfinished touches, within the window of $WINDOW"
  k=$((k + 1))
done

# A last run to the end: every touch that can still go, goes.
start_daemon "$CONF" --test-clock=2026-01-07T08:00:00Z || { done_testing; exit 1; }
i=0
while [ "$(sqlite3 "$DB" "SELECT count(*) FROM touches WHERE state IN ('scheduled','sending')")" -gt 0 ] && [ $i -lt 600 ]; do
  sleep 0.2; i=$((i + 1))
done
is "$(sqlite3 "$DB" "SELECT count(*) FROM touches WHERE state IN ('scheduled','sending')")" 0 "the final run finishes every touch"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly at the end"

dups=$(ls "$T/smtp/out" | grep -c '\.[0-9]*\.eml$' || true)
is "$dups" 0 "no lead received a message twice"
bad=$(sqlite3 "$DB" "SELECT count(*) FROM touches WHERE state NOT IN ('sent','in_doubt','failed')")
is "$bad" 0 "every touch is sent, in_doubt or failed: a named state"
sqlite3 "$DB" "SELECT recipient FROM touches WHERE state='sent'" | sort >"$T/sent"
ls "$T/smtp/out" | sed -n 's/\.eml$//p' | sort >"$T/received"
missing=$(comm -23 "$T/sent" "$T/received" | wc -l)
is "$missing" 0 "every touch recorded sent was received"
sqlite3 "$DB" "SELECT recipient FROM touches WHERE state IN ('sent','in_doubt')" | sort >"$T/maybe"
extra=$(comm -13 "$T/maybe" "$T/received" | wc -l)
is "$extra" 0 "everything received belongs to a touch that is sent or in_doubt"
doubt=$(sqlite3 "$DB" "SELECT count(*) FROM touches WHERE state='in_doubt'")
ok "$([ "$doubt" -le $((KILLS * WINDOW)) ]; echo $?)" "$doubt in_doubt touches in all, at most one window per kill"
sent=$(sqlite3 "$DB" "SELECT count(*) FROM touches WHERE state='sent'")
diag "sent=$sent in_doubt=$doubt received=$(wc -l <"$T/received")"
is "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok "the store passes PRAGMA integrity_check"
done_testing
