#!/bin/sh
# Call lists and logging calls on a running daemon (test clock: Monday
# 2026-03-02 16:30 UTC, 17:30 in Paris). Call tasks are written into the
# store with sqlite3, as the sequencer leaves them; then `drumbeat calls`
# shows the list in calling order with the lead's context (local time, tel:
# URI, the last email's subject, notes, the script), a prospector sees only
# her own list, `drumbeat log-call` closes a task (notes kept in lead_texts,
# not in the event), a second log-call finds no open task, a bad outcome is
# refused with the list of outcomes, and "meeting-booked" ends the lead's
# cadence and moves it to qualification.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
mkdir -p "$CONF/cadences"
cat >"$CONF/cadences/calls-test.json" <<'JSON'
{
  "name": "calls-test",
  "timezone": "Europe/Paris",
  "steps": [ { "type": "task", "title": "Say hello" } ]
}
JSON
make_config "$CONF"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }
NOW=1772469000000   # 2026-03-02T16:30:00Z

cat >"$T/leads.csv" <<'CSV'
email,first_name,last_name,company,title,country,phone
ann@acme.example,Ann,Lee,Acme,VP Sales,FR,+33142685300
bob@beta.example,Bob,Ray,Beta,CTO,JP,+81312345678
CSV

start_daemon "$CONF" --test-clock=2026-03-02T16:30:00Z || { done_testing; exit 1; }
cli import "$T/leads.csv" --source calls-test --quiet >/dev/null 2>&1
ok $? "leads imported"
ann=$(q "SELECT id FROM leads WHERE email = 'ann@acme.example'")
bob=$(q "SELECT id FROM leads WHERE email = 'bob@beta.example'")

# Ann is in a cadence whose current step is her call; Bob's call stands alone.
q "INSERT OR IGNORE INTO cadences (name, version, definition, created_at) VALUES ('calls-test', 1, '{}', 0)"
cad=$(q "SELECT min(id) FROM cadences WHERE name = 'calls-test'")
enr=$(q "INSERT INTO enrollments (lead_id, cadence_id, cadence, state, step, started_at)
         VALUES ($ann, $cad, 'calls-test', 'active', 0, 0) RETURNING id")
t_bob=$(q "INSERT INTO tasks (lead_id, kind, owner, priority, due_at, state, script, title, created_at)
           VALUES ($bob, 'call', 'Pia', 2, $NOW - 3600000, 'open', 'Konnichiwa Bob.', 'Call Bob', 0) RETURNING id")
t_ann=$(q "INSERT INTO tasks (lead_id, kind, owner, priority, due_at, state, script, title, created_at,
           enrollment_id, step) VALUES ($ann, 'call', 'Pia', 2, $NOW, 'open',
           'Hi Ann, this is Pia.
Ask about the pilot.
Offer a demo.
Thank her.', 'First call', 0, $enr, 0) RETURNING id")
q "INSERT INTO touches (lead_id, kind, channel, content_type, state, due_at, created_at,
   updated_at, sent_at) VALUES ($ann, 'email', 'outbox', 'message/rfc822',
   'sent', $NOW - 86400000, 0, 0, $NOW - 86400000);
   INSERT INTO touch_payloads (touch_id, payload) VALUES (last_insert_rowid(),
   CAST('Subject: =?UTF-8?Q?Caf=C3=A9_and_engines?=' || char(13, 10) || char(13, 10) || 'Hello' AS BLOB))"
q "INSERT INTO lead_texts (lead_id, kind, body, at) VALUES ($ann, 'note', 'Met at the fair', 1)"

# ---- the list ----
out=$(cli calls --owner Pia 2>&1); ok $? "drumbeat calls --owner Pia exits 0"
like "$out" 'Calls for Pia, due by the end of 2026-03-02: 2' "Pia's list for today"
first=$(printf '%s\n' "$out" | grep -n 'Ann Lee' | cut -d: -f1)
second=$(printf '%s\n' "$out" | grep -n 'Bob Ray' | cut -d: -f1)
ok $([ -n "$first" ] && [ -n "$second" ] && [ "$first" -lt "$second" ]; echo $?) \
   "Ann (17:30 in Paris) before Bob (01:30 in Tokyo), although Bob's is due earlier"
like "$out" '17:30 Europe/Paris +callable now' "her local time, callable now"
like "$out" 'outside business hours' "Bob is not callable now"
like "$out" 'Ann Lee, VP Sales at Acme' "name, title and company"
like "$out" '\+33142685300 +tel:\+33142685300' "the phone and its tel: URI"
like "$out" '"Café and engines" \(2026-03-01\)' "the last email's subject, decoded"
like "$out" 'Met at the fair' "the notes"
like "$out" 'script +Hi Ann, this is Pia\.' "the script's first line"
unlike "$out" 'Thank her' "only the script's first lines"
out=$(cli calls --owner Pia --json 2>&1)
like "$out" '"tel": "tel:\+33142685300"' "--json prints the reply"
like "$out" '"callable_now": true' "with callable_now"
out=$("$DRUMBEAT" calls --url "$API" --token-file "$CONF/pros1.token" 2>&1)
like "$out" 'Calls for Pia.*: 2' "Pia's own list by default"
out=$("$DRUMBEAT" calls --owner Pia --url "$API" --token-file "$CONF/pros2.token" 2>&1); st=$?
is "$st" 2 "Paul may not see Pia's list"
out=$(cli calls --owner Pia --date 2026-02-30 2>&1); st=$?
is "$st" 2 "an impossible date is refused"
out=$(cli calls --owner Pia --date 2026-02-28 2>&1)
like "$out" ': 0$' "nothing was due by the end of an earlier day"

# ---- log-call ----
out=$(cli log-call bob@beta.example --outcome no-answer --notes "Try after lunch, ask for Ms Ito" 2>&1)
ok $? "drumbeat log-call exits 0"
like "$out" "call logged for lead $bob: no-answer \\(task $t_bob closed\\)" "says what it did"
is "$(q "SELECT state || ' ' || outcome FROM tasks WHERE id = $t_bob")" "done no-answer" "the task is done"
is "$(q "SELECT count(*) FROM lead_texts WHERE lead_id = $bob AND kind = 'call_note' AND body LIKE 'Try after lunch%'")" 1 \
   "the notes are kept as a call note"
is "$(q "SELECT json_extract(data, '\$.outcome') || ' ' || actor FROM events WHERE type = 'call_logged' AND lead_id = $bob")" \
   "no-answer Admin" "a call_logged event with the outcome and the actor"
is "$(q "SELECT count(*) FROM events WHERE data LIKE '%lunch%'")" 0 "the notes stay out of the event log"
out=$(cli log-call bob@beta.example --outcome connected 2>&1); st=$?
is "$st" 2 "a second log-call finds no open task (exit 2)"
like "$out" 'no open call task' "and says so"
out=$(cli log-call "$ann" --outcome maybe 2>&1); st=$?
is "$st" 2 "an unknown outcome exits 2"
like "$out" 'expected one of connected, no-answer, voicemail, meeting-booked' "listing the outcomes"
r=$(api POST "/api/leads/$ann/log-call" '{"outcome":"voicemail","notes":42}')
like "$r" '^400 .*notes' "notes must be a text"
is "$(q "SELECT state FROM tasks WHERE id = $t_ann")" open "a refused log-call leaves the task open"

# ---- a booked meeting ends the cadence ----
out=$(cli log-call ann@acme.example --outcome meeting-booked 2>&1)
ok $? "log-call --outcome meeting-booked exits 0"
is "$(q "SELECT state || ' ' || outcome FROM tasks WHERE id = $t_ann")" "done meeting-booked" "Ann's task is done"
is "$(q "SELECT state FROM enrollments WHERE id = $enr")" exited "her enrollment exited"
is "$(q "SELECT stage FROM leads WHERE id = $ann")" qualification "she moved to qualification"
is "$(q "SELECT count(*) FROM events WHERE lead_id = $ann AND type = 'stage_changed'")" 1 \
   "through one stage change"
out=$(cli calls --owner Pia 2>&1)
like "$out" ': 0$' "Pia's list is empty now"

stop_daemon
is "$STATUS" 0 "drumbeatd stopped cleanly"
done_testing
