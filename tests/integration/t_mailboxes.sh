#!/bin/sh
# Paused versus retired mailboxes, and migrating running enrollments, on the
# test clock:
# - a relay that refuses the mailbox itself (550 5.7.1 at MAIL FROM, aiosmtpd
#   on 127.0.0.1) pauses it with the server's text; its leads stay with it and
#   their later touches wait, deferred(mailbox_paused); nothing is sent;
# - `drumbeat mailbox pause` does the same by hand; the pause survives a
#   restart; `drumbeat mailbox resume` sends what waited;
# - a mailbox listed under "retired_mailboxes" hands its leads and their
#   unsent touches to the cadence's other mailboxes on reload, with events;
# - "migrate": "continue-at-same-step" moves running enrollments to the new
#   version, whose later steps they then follow.
. "$(dirname "$0")/lib.sh"

start_smtp "$(cat <<JSON
{"dir": "$T/smtp/out", "enhanced": true,
 "rules": [{"stage": "MAIL", "match": "bea@bad.example", "reply": "550 5.7.1 <bea@bad.example>: Sender address rejected: not owned by user"}]}
JSON
)"

CONF=$T/c
mkdir -p "$CONF/cadences"
cp "$top_srcdir/tests/fixtures/mailboxes_e2e/"*.json "$CONF/cadences/"
make_cadence_config "$CONF"
sed -i "s|\"channels\": \\[|\"channels\": [\n    { \"name\": \"relay\", \"plugin\": \"channel_smtp\", \"options\": { \"host\": \"127.0.0.1\", \"port\": $SMTP_PORT, \"tls\": \"none\" } },|" "$CONF/drumbeat.json"
sed -i 's|"channel": "outbox" }|"channel": "outbox" },\n    { "name": "cy", "address": "cy@example.com", "channel": "outbox" },\n    { "name": "bea", "address": "bea@bad.example", "channel": "relay" }|' "$CONF/drumbeat.json"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }
advance() { api POST /api/clock/advance "{\"by\":\"$1\"}" >/dev/null; }
# leads PREFIX N: imports PREFIX1..PREFIXN@lead.example.
leads() {
  printf 'email,first_name,last_name,company,country\n' >"$T/l.csv"
  i=1; while [ $i -le "$2" ]; do printf '%s%d@lead.example,L%d,Lee,Acme,FR\n' "$1" $i $i >>"$T/l.csv"; i=$((i + 1)); done
  cli import "$T/l.csv" --source mailbox-test --quiet >/dev/null 2>&1
}
outbox() { ls "$CONF/outbox/new" 2>/dev/null | wc -l; }

# Monday 2026-01-05 08:30 UTC (09:30 in Paris): the window is open.
start_daemon "$CONF" --test-clock=2026-01-05T08:30:00Z || { done_testing; exit 1; }

# ---- a relay refuses the mailbox: paused by the daemon, leads kept ----
leads r 3
cli enroll --cadence relayed --lead r1@lead.example --lead r2@lead.example --lead r3@lead.example >/dev/null 2>&1
advance 1m
is "$(q "SELECT group_concat(state || ' ' || reason) FROM (SELECT DISTINCT state, reason FROM touches WHERE mailbox = 'bea')")" \
   "failed mailbox_rejected" "the intros fail as a mailbox rejection, not a recipient's"
is "$(q "SELECT count(*) FROM suppression")" 0 "no lead is suppressed for it"
is "$(q "SELECT reason FROM mailbox_pauses WHERE mailbox = 'bea'")" mailbox_rejected "the daemon paused mailbox bea"
like "$(q "SELECT detail FROM mailbox_pauses WHERE mailbox = 'bea'")" '5\.7\.1' "with the server's text"
out=$(cli mailbox list 2>&1)
like "$out" 'bea +paused +relay .*paused \(mailbox_rejected\) by system .*5\.7\.1' \
   "drumbeat mailbox list shows why and the server's reply"
like "$out" 'ada +active' "the other mailboxes stay active"
advance 1d
is "$(q "SELECT count(*) FROM touches WHERE mailbox = 'bea' AND step = 2 AND state = 'deferred' AND reason = 'mailbox_paused'")" 3 \
   "the next day's follow-ups wait, deferred(mailbox_paused)"
is "$(q "SELECT count(*) FROM enrollments WHERE mailbox = 'bea' AND state = 'active'")" 3 "the leads stay with their mailbox"
is "$(ls "$T/smtp/out" 2>/dev/null | grep -c '\.eml$')" 0 "nothing reached the relay"
like "$(cli touches --deferred 2>&1)" 'deferred +email .*mailbox_paused' "drumbeat touches --deferred shows the reason"
is "$(q "SELECT count(*) FROM events WHERE type = 'mailbox_paused' AND json_extract(data, '$.mailbox') = 'bea'")" 1 \
   "one mailbox_paused event"
out=$(cli mailbox pause bea 2>&1)
ok "$([ $? -eq 2 ]; echo $?)" "pausing it again is refused (exit 2)"
like "$out" 'already paused' "and says so"

# ---- paused by hand; the pause outlives a restart; resume sends ----
# Leads enrolled into a paused cadence start paused with it.
cli cadence pause duo >/dev/null 2>&1
leads a 4
out=$(cli enroll --cadence duo --lead a1@lead.example --lead a2@lead.example --lead a3@lead.example --lead a4@lead.example 2>&1)
like "$out" 'enrolled as [0-9]+, from mailbox cy \(paused with the cadence\)' \
   "enrolling into a paused cadence: the leads start paused with it"
is "$(q "SELECT group_concat(mailbox || '=' || n) FROM (SELECT mailbox, count(*) n FROM enrollments WHERE mailbox IN ('ada', 'cy') AND state = 'paused' AND reason = 'cadence_paused' GROUP BY mailbox ORDER BY mailbox)")" \
   "ada=2,cy=2" "two paused enrollments on each mailbox"
advance 1m
is "$(outbox)" 0 "nothing goes while the cadence is paused"
out=$(cli mailbox pause cy --note "new domain, warming up" 2>&1)
ok $? "drumbeat mailbox pause exits 0"
like "$out" 'mailbox cy: paused' "and reports it"
cli cadence resume duo >/dev/null 2>&1
advance 1m
is "$(outbox)" 2 "ada's two intros went"
is "$(q "SELECT count(*) FROM touches WHERE mailbox = 'cy' AND state = 'deferred' AND reason = 'mailbox_paused'")" 2 \
   "cy's two wait, deferred(mailbox_paused)"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
start_daemon "$CONF" --test-clock=2026-01-06T09:00:00Z || { done_testing; exit 1; }
like "$(cli mailbox list 2>&1)" 'cy +paused .*paused \(manual\) by Admin .*new domain, warming up' \
   "after a restart cy is still paused, with who and why"
advance 1m
is "$(outbox)" 2 "still nothing from cy"
leads n 1
out=$(cli enroll --cadence duo --lead n1@lead.example 2>&1)
like "$out" 'from mailbox ada$' "a new lead goes to the mailbox that is not paused"
# The intro follows the enrollment on its own, after the CLI has returned:
# wait for it (up to 5 s) instead of racing it.
i=0; while [ "$(outbox)" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
is "$(outbox)" 3 "and its intro goes"
out=$(cli mailbox resume cy 2>&1)
like "$out" 'mailbox cy: active; 2 waiting touches scheduled again' "drumbeat mailbox resume releases them"
advance 1m
is "$(outbox)" 5 "cy's intros went after the resume"
is "$(q "SELECT count(*) FROM touches WHERE mailbox = 'cy' AND state = 'sent' AND step = 0")" 2 "both sent from cy"
out=$(cli mailbox resume cy 2>&1)
ok "$([ $? -eq 2 ]; echo $?)" "resuming an active mailbox is refused (exit 2)"
like "$(api POST /api/mailboxes/nosuch/pause '{}')" '^404 ' "an unknown mailbox is a 404"

# ---- retired: cy's leads and their unsent touches go to ada ----
sed -e 's/"mailboxes": \["ada", "cy"\]/"mailboxes": ["ada"], "retired_mailboxes": ["cy"]/' \
  "$CONF/cadences/duo.json" >"$T/d.json" && mv "$T/d.json" "$CONF/cadences/duo.json"
kill -HUP "$PID"
i=0; while [ "$(q "SELECT count(*) FROM events WHERE type = 'mailbox_retired'")" != 2 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
is "$(q "SELECT count(*) FROM enrollments WHERE mailbox = 'cy' AND state = 'active'")" 0 "no active enrollment is left on cy"
is "$(q "SELECT count(*) FROM events WHERE type = 'mailbox_retired' AND json_extract(data, '$.from') = 'cy' AND json_extract(data, '$.to') = 'ada'")" 2 \
   "two mailbox_retired events, cy to ada"
advance 25h
is "$(q "SELECT count(*) FROM touches t JOIN enrollments e ON e.id = t.enrollment_id WHERE t.step = 2 AND e.cadence = 'duo' AND t.mailbox = 'ada' AND t.state = 'sent'")" 5 \
   "all five follow-ups went from ada"
is "$(q "SELECT count(*) FROM touches WHERE mailbox = 'bea' AND state = 'deferred' AND reason = 'mailbox_paused'")" 3 \
   "the paused mailbox's touches still wait: pausing never moves leads"

# ---- continue-at-same-step: running enrollments move to the new version ----
sed -e 's/"template": "follow-up-2"/"template": "break-up"/' -e 's/"steps": \[/"migrate": "continue-at-same-step",\n  "steps": [/' \
  "$CONF/cadences/duo.json" >"$T/d.json" && mv "$T/d.json" "$CONF/cadences/duo.json"
kill -HUP "$PID"
i=0; while [ "$(q "SELECT count(*) FROM events WHERE type = 'enrollment_migrated'")" != 5 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
is "$(q "SELECT group_concat(DISTINCT c.version) FROM enrollments e JOIN cadences c ON c.id = e.cadence_id WHERE e.cadence = 'duo'")" 3 \
   "the five running enrollments are on version 3"
is "$(q "SELECT count(*) FROM events WHERE type = 'enrollment_migrated' AND json_extract(data, '$.how') = 'continue-at-same-step' AND json_extract(data, '$.from_step') = json_extract(data, '$.step')")" 5 \
   "each keeps its step, with an event"
advance 25h
is "$(q "SELECT count(*) FROM touches t JOIN enrollments e ON e.id = t.enrollment_id WHERE e.cadence = 'duo' AND t.step = 4 AND t.state = 'sent'")" 5 \
   "the last step went"
n=$(grep -l "stop writing after this one" "$CONF/outbox/new/"* 2>/dev/null | wc -l)
is "$n" 5 "from the new version's template (break-up)"
is "$(q "SELECT count(*) FROM enrollments WHERE cadence = 'duo' AND state = 'completed'")" 5 "and the enrollments completed"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
