#!/bin/sh
# Inbound events and exit rules on a running daemon (POST /api/events and
# `drumbeat event`). Enrollments, touches and call tasks are written into
# the daemon's store with sqlite3, as the sequencer would have left them,
# pinned to the cadence versions the daemon recorded from the cadence files
# in the config's cadences folder. Then: a generic reply ends only the
# cadence whose reply rule is on, cancels its unsent touches and moves the
# lead to the stage its file names; a repeated id is a duplicate that
# changes nothing; a bounce flags and suppresses; the Calendly and Cal.com
# shapes book a meeting (stage and owner from the rule); a call outcome
# closes the call task; a manual exit; and every bad body gets its 4xx with
# the JSON path.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
make_config "$CONF"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }

mkdir -p "$CONF/cadences"
cat >"$CONF/cadences/outreach.json" <<'JSON'
{
  "name": "outreach",
  "timezone": "Europe/London",
  "mailboxes": ["ada"],
  "exit_on": {
    "reply": { "stage": "qualification" },
    "meeting_booked": { "stage": "qualification", "owner": "Pia" }
  },
  "steps": [ { "type": "email", "template": "intro" } ]
}
JSON
cat >"$CONF/cadences/nurture.json" <<'JSON'
{
  "name": "nurture",
  "timezone": "Europe/London",
  "mailboxes": ["ada"],
  "exit_on": { "reply": false },
  "steps": [ { "type": "email", "template": "intro" } ]
}
JSON
cat >"$CONF/cadences/calls.json" <<'JSON'
{
  "name": "calls",
  "timezone": "Europe/London",
  "mailboxes": ["ada"],
  "steps": [ { "type": "call", "script": "call-first" } ]
}
JSON
cat >"$T/leads.csv" <<'CSV'
Email,First Name,Last Name,Company
ada@example.com,Ada,Lovelace,Example
grace@navy.example,Grace,Hopper,Navy
linus@kernel.example,Linus,Torvalds,Kernel
margaret@apollo.example,Margaret,Hamilton,Apollo
joan@clarke.example,Joan,Clarke,Bletchley
alan@turing.example,Alan,Turing,Bletchley
CSV

start_daemon "$CONF" || { done_testing; exit 1; }
like "$(cat "$CONF/daemon.log")" 'cadences loaded.*count=3' "the daemon loaded the three cadence files"
cli import "$T/leads.csv" --source fair --quiet >/dev/null 2>&1
ok $? "leads imported"
id_of() { q "SELECT id FROM leads WHERE email = '$1'"; }
ada=$(id_of ada@example.com); grace=$(id_of grace@navy.example); linus=$(id_of linus@kernel.example)
margaret=$(id_of margaret@apollo.example); joan=$(id_of joan@clarke.example)
alan=$(id_of alan@turing.example)

# The sequencer records each file as a version at start.
i=0
while [ "$(q "SELECT count(DISTINCT name) FROM cadences")" != 3 ] && [ $i -lt 50 ]; do
  sleep 0.1; i=$((i + 1))
done
ver() { q "SELECT max(id) FROM cadences WHERE name = '$1'"; }
v_out=$(ver outreach); v_nur=$(ver nurture); v_calls=$(ver calls)
ok "$([ -n "$v_out" ] && [ -n "$v_nur" ] && [ -n "$v_calls" ]; echo $?)" "cadence versions recorded"

# enroll LEAD VERSION CADENCE: an active enrollment waiting on its step 0; prints its id.
enroll() {
  q "INSERT INTO enrollments (lead_id, cadence_id, cadence, state, step, mailbox, started_at,
     step_started_at) VALUES ($1, $2, '$3', 'active', 0, 'ada', 0, 0) RETURNING id"
}
# touch LEAD ENROLLMENT STATE: a touch of that enrollment; prints its id.
far=$(( ($(date +%s) + 864000) * 1000 ))
touch_of() {
  q "INSERT INTO touches (lead_id, enrollment_id, step, kind, channel, mailbox, state, due_at,
     created_at, updated_at) VALUES ($1, $2, 0, 'email', 'outbox', 'ada', '$3', $far, 0, 0)
     RETURNING id"
}

# ---- a generic reply ----
e_out=$(enroll "$ada" "$v_out" outreach); e_nur=$(enroll "$ada" "$v_nur" nurture)
t_sched=$(touch_of "$ada" "$e_out" scheduled); t_sent=$(touch_of "$ada" "$e_out" sent)
t_def=$(touch_of "$ada" "$e_out" deferred); t_nur=$(touch_of "$ada" "$e_nur" scheduled)
r=$(api POST /api/events "{\"id\":\"evt-1\",\"lead\":$ada,\"type\":\"reply\",\"at\":\"2026-01-05T08:00:00Z\",\"data\":{\"reason\":\"positive\",\"body\":\"Dear Ada, yes please\"}}")
like "$r" '^201 \{"event_id":[0-9]+,"type":"reply","enrollments_ended":1\}' "a reply is recorded (201) and ends one enrollment"
ev=$(printf '%s' "$r" | sed -n 's/.*"event_id":\([0-9]*\).*/\1/p')
is "$(q "SELECT state || ',' || reason FROM enrollments WHERE id = $e_out")" "exited,reply" \
   "the outreach enrollment exited with reason reply"
is "$(q "SELECT state FROM enrollments WHERE id = $e_nur")" "active" \
   "the nurture enrollment (reply: false) stays active"
is "$(q "SELECT group_concat(state || ':' || coalesce(reason, ''), ' ') FROM touches WHERE id IN ($t_sched, $t_sent, $t_def) ORDER BY id")" \
   "cancelled:exit:reply sent: cancelled:exit:reply" "its unsent touches are cancelled, the sent one stays"
is "$(q "SELECT state FROM touches WHERE id = $t_nur")" "scheduled" "nurture's touch is untouched"
is "$(q "SELECT stage FROM leads WHERE id = $ada")" "qualification" \
   "the lead moved to the stage outreach.json names for a reply"
is "$(q "SELECT reason || ',' || actor FROM stage_history WHERE lead_id = $ada ORDER BY id DESC LIMIT 1")" \
   "exit_reply,Admin" "the stage history says why and who"
is "$(q "SELECT json_extract(data, '\$.reason') || ',' || json_extract(data, '\$.occurred_at') || ',' || (json_extract(data, '\$.body') IS NULL) FROM events WHERE id = $ev")" \
   "positive,2026-01-05T08:00:00.000Z,1" "the event keeps known codes and the time, not the free text"
is "$(q "SELECT count(*) FROM events WHERE type = 'cadence_exited' AND lead_id = $ada")" 1 \
   "one cadence_exited event"

# ---- the same id again ----
before=$(q "SELECT count(*) FROM events")
r=$(api POST /api/events "{\"id\":\"evt-1\",\"lead\":$ada,\"type\":\"reply\"}")
is "$r" "200 {\"duplicate\":true,\"event_id\":$ev,\"enrollments_ended\":0}" \
   "a repeated id answers 200 duplicate with the first event"
is "$(q "SELECT count(*) FROM events")" "$before" "and changes nothing"
is "$(q "SELECT count(*) FROM stage_history WHERE lead_id = $ada")" 1 "the lead is not moved again"

# A crash between recording an event and acting on it (two commits) leaves
# the event recorded and the enrollment running; the sender, without an
# answer, delivers it again: the duplicate acts on it then.
kat=$(q "INSERT INTO leads (email, domain, created_at, updated_at) VALUES ('kat@crash.example', 'crash.example', 0, 0) RETURNING id")
e_crash=$(enroll "$kat" "$v_out" outreach)
t_crash=$(touch_of "$kat" "$e_crash" scheduled)
ev_crash=$(q "INSERT INTO events (at, lead_id, type, actor_kind, actor, data) VALUES (0, $kat, 'reply', 'person', 'Admin', '{}') RETURNING id")
q "INSERT INTO inbound_events (source_id, event_id, at) VALUES ('evt-crash', $ev_crash, 0)"
r=$(api POST /api/events "{\"id\":\"evt-crash\",\"lead\":$kat,\"type\":\"reply\"}")
is "$r" "200 {\"duplicate\":true,\"event_id\":$ev_crash,\"enrollments_ended\":1}" \
   "a repeated delivery of an event recorded before a crash ends the enrollment then"
is "$(q "SELECT state || ',' || reason FROM enrollments WHERE id = $e_crash")" "exited,reply" \
   "the enrollment exited with reason reply"
is "$(q "SELECT state FROM touches WHERE id = $t_crash")" "cancelled" "its unsent touch is cancelled"

# ---- a bounce, by email ----
e=$(enroll "$grace" "$v_out" outreach); t=$(touch_of "$grace" "$e" scheduled)
r=$(api POST /api/events '{"id":"esp-77","lead":"GRACE@navy.example","type":"bounce","data":{"code":550,"bounce_type":"hard"}}')
like "$r" '^201 .*"enrollments_ended":1' "a bounce by email address ends the enrollment"
is "$(q "SELECT reason FROM touches WHERE id = $t")" "exit:bounce" "its touch cancelled for the bounce"
is "$(q "SELECT bounced || suppressed FROM leads WHERE id = $grace")" 11 "the lead is bounced and suppressed"
is "$(q "SELECT reason FROM suppression WHERE kind = 'email' AND value = 'grace@navy.example'")" bounce \
   "the address is on the suppression list"
is "$(q "SELECT stage FROM leads WHERE id = $grace")" intelligence "a bounce rule naming no stage moves nothing"

# ---- Calendly ----
e=$(enroll "$linus" "$v_out" outreach)
cal='{"event":"invitee.created","payload":{"email":"linus@kernel.example","name":"Linus","uri":"https://api.calendly.com/scheduled_events/AAA/invitees/BBB"}}'
r=$(api POST /api/events "$cal")
like "$r" '^201 .*"type":"meeting_booked","enrollments_ended":1' "a Calendly invitee.created books a meeting"
is "$(q "SELECT reason FROM enrollments WHERE id = $e")" meeting_booked "the enrollment exited: meeting_booked"
is "$(q "SELECT stage FROM leads WHERE id = $linus")" qualification "the lead moved to qualification"
is "$(q "SELECT person FROM lead_owners WHERE lead_id = $linus AND role = 'sdr'")" Pia \
   "owned by the person the rule names"
r=$(api POST /api/events "$cal")
like "$r" '^200 \{"duplicate":true' "the same Calendly delivery again is a duplicate"
r=$(api POST /api/events '{"event":"invitee.created","payload":{"email":"linus@kernel.example"}}')
like "$r" '^400 .*"error":"payload.uri: ' "Calendly without a uri: 400 naming payload.uri"
r=$(api POST /api/events '{"event":"invitee.canceled","payload":{"email":"linus@kernel.example","uri":"u"}}')
like "$r" '^422 .*invitee.created' "another Calendly event: 422"

# ---- Cal.com ----
e=$(enroll "$margaret" "$v_out" outreach)
r=$(api POST /api/events '{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"bk-42","attendees":[{"email":"stranger@else.example"},{"email":"margaret@apollo.example"}]}}')
like "$r" '^201 .*"type":"meeting_booked","enrollments_ended":1' "a Cal.com BOOKING_CREATED books a meeting for the attendee who is a lead"
is "$(q "SELECT state FROM enrollments WHERE id = $e")" exited "her enrollment exited"
r=$(api POST /api/events '{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"bk-42","attendees":[{"email":"margaret@apollo.example"}]}}')
like "$r" '^200 \{"duplicate":true' "the same booking uid again is a duplicate"
r=$(api POST /api/events '{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"bk-43"}}')
like "$r" '^400 .*"error":"payload.attendees: ' "Cal.com without attendees: 400 naming payload.attendees"
r=$(api POST /api/events '{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"bk-44","attendees":[{"name":"x"}]}}')
like "$r" '^400 .*payload.attendees\[0\].email' "an attendee without an email: 400 with its index"

# ---- a call outcome, through the CLI ----
e=$(enroll "$joan" "$v_calls" calls)
task=$(q "INSERT INTO tasks (lead_id, kind, owner, priority, due_at, state, created_at, enrollment_id, step)
          VALUES ($joan, 'call', 'Pia', 2, 0, 'open', 0, $e, 0) RETURNING id")
r=$(api POST /api/events "{\"lead\":$joan,\"type\":\"call_outcome\",\"data\":{\"outcome\":\"maybe\"}}")
like "$r" '^400 .*"error":"data.outcome: expected one of connected' "an unknown call outcome: 400 naming data.outcome"
out=$(cli event joan@clarke.example call_outcome --id dial-1 --data '{"outcome":"no-answer","notes":"rang twice"}' 2>&1)
ok $? "drumbeat event ... call_outcome exits 0"
like "$out" "^event [0-9]+ recorded \(call_outcome\); call task $task closed" "and says which call task it closed"
is "$(q "SELECT state || ',' || outcome FROM tasks WHERE id = $task")" "done,no-answer" "the task is closed with the outcome"
is "$(q "SELECT count(*) FROM events WHERE type = 'call_outcome' AND json_extract(data, '\$.outcome') = 'no-answer' AND data NOT LIKE '%rang%'")" 1 \
   "a call_outcome event with the outcome, without the notes"
out=$(cli event joan@clarke.example call_outcome --id dial-1 --data '{"outcome":"no-answer"}' 2>&1)
like "$out" '^duplicate: event [0-9]+' "the same dialer id again is reported as a duplicate"
out=$(cli event joan@clarke.example call_outcome --data '{"outcome":"connected"}' 2>&1); st=$?
is "$st" 2 "a call outcome without an open call task exits 2"
like "$out" 'no open call task' "(404: no open call task)"

# ---- unsubscribe, complaint and the manual exit ----
e=$(enroll "$alan" "$v_out" outreach)
r=$(api POST "/api/leads/$alan/exit" '{"reason":"manual"}')
like "$r" '^200 .*"enrollments_ended":1' "POST /api/leads/:id/exit ends the lead's cadences"
is "$(q "SELECT reason FROM enrollments WHERE id = $e")" manual "with reason manual"
r=$(api POST "/api/leads/$alan/exit" '{"reason":"reply"}')
like "$r" '^422 .*reason: ' "a manual exit with another reason: 422"
r=$(api POST "/api/leads/99999/exit" '{}')
like "$r" '^404 ' "a manual exit of an unknown lead: 404"
out=$(cli event alan@turing.example unsubscribe 2>&1); ok $? "drumbeat event LEAD unsubscribe"
like "$out" 'recorded \(unsubscribe\); 0 enrollments ended' "with no enrollment left to end"
is "$(q "SELECT unsubscribed || suppressed FROM leads WHERE id = $alan")" 11 "the lead is unsubscribed and suppressed"
r=$(api POST /api/events "{\"lead\":$linus,\"type\":\"complaint\"}")
like "$r" '^201 ' "a complaint is recorded"
is "$(q "SELECT reason FROM suppression WHERE value = 'linus@kernel.example'")" complaint "and suppresses the address"

# ---- bad bodies ----
r=$(api POST /api/events '[1]'); like "$r" '^400 .*"error":"body: ' "a non-object body: 400"
r=$(api POST /api/events "{\"lead\":$ada}"); like "$r" '^400 .*"error":"type: expected one of' "no type: 400 naming type"
r=$(api POST /api/events "{\"lead\":$ada,\"type\":\"opened\"}")
like "$r" '^422 .*"error":"type: expected one of reply, bounce, unsubscribe, complaint, meeting_booked, call_outcome, got \\"opened\\"' \
     "an unknown type: 422 listing the allowed ones"
r=$(api POST /api/events '{"type":"reply"}'); like "$r" '^400 .*"error":"lead: ' "no lead: 400 naming lead"
r=$(api POST /api/events '{"type":"reply","lead":true}'); like "$r" '^400 .*"error":"lead: expected' "a lead of the wrong type: 400"
r=$(api POST /api/events '{"type":"reply","lead":99999}'); like "$r" '^404 .*no lead 99999' "an unknown lead id: 404"
r=$(api POST /api/events '{"type":"reply","lead":"nobody@nowhere.example"}'); like "$r" '^404 ' "an unknown lead email: 404"
r=$(api POST /api/events "{\"type\":\"reply\",\"lead\":$ada,\"data\":[1]}"); like "$r" '^400 .*"error":"data: expected an object' "data not an object: 400"
r=$(api POST /api/events "{\"type\":\"reply\",\"lead\":$ada,\"at\":\"yesterday\"}"); like "$r" '^400 .*"error":"at: ' "a bad time: 400 naming at"
r=$(api POST /api/events "{\"type\":\"reply\",\"lead\":$ada,\"id\":\"\"}"); like "$r" '^400 .*"error":"id: ' "an empty id: 400 naming id"
r=$(api POST /api/events "{\"type\":\"reply\",\"lead\":$ada,\"data\":{\"code\":{\"x\":1}}}"); like "$r" '^400 .*"error":"data.code: ' "a structured code: 400 naming data.code"
r=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
     --data-binary "{\"type\":\"reply\",\"lead\":$ada}" "$API/api/events")
is "$r" 401 "without a token: 401"
out=$(cli event "$ada" opened 2>&1); st=$?
is "$st" 2 "drumbeat event with an unknown type exits 2"
like "$out" 'type: expected one of' "and prints the daemon's error"
out=$("$DRUMBEAT" event --help 2>&1); ok $? "drumbeat event --help exits 0"
like "$out" 'Usage: drumbeat event LEAD TYPE \[--data JSON\] \[--id ID\]' "and prints the usage"
out=$(cli event "$ada" reply --data 'nope' 2>&1); st=$?
is "$st" 2 "--data that is not a JSON object exits 2"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
