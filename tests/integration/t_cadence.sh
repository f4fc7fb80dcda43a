#!/bin/sh
# A cadence end to end on the test clock: enroll a lead on a Saturday; the
# intro email waits for Monday 09:00 in the lead's zone (deferred,
# window_closed) and goes then; two business days later a call task appears
# in the prospector's list; logging "no-answer" branches on to a follow-up
# threaded on the intro (In-Reply-To, "Re:"); the cadence completes. Refusals
# (already enrolled, suppressed) come with their reasons, and a changed
# cadence file becomes a new version while the running enrollment keeps its own.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
mkdir -p "$CONF/cadences"
cp "$top_srcdir/tests/fixtures/cadence_e2e/outreach.json" "$CONF/cadences/"
make_cadence_config "$CONF"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }
advance() { api POST /api/clock/advance "{\"by\":\"$1\"}" >/dev/null; }

cat >"$T/leads.csv" <<'CSV'
email,first_name,last_name,company,title,country,phone
ann@acme.example,Ann,Lee,Acme,VP Sales,FR,+33142685300
bob@beta.example,Bob,Ray,Beta,CTO,FR,
CSV

# Saturday 2026-01-03 10:00 UTC (11:00 in Paris): the window is shut.
start_daemon "$CONF" --test-clock=2026-01-03T10:00:00Z || { done_testing; exit 1; }
cli import "$T/leads.csv" --source cadence-test --quiet >/dev/null 2>&1
out=$(cli enroll --cadence outreach --lead ann@acme.example --lead bob@beta.example 2>&1)
ok $? "drumbeat enroll exits 0"
like "$out" '2 enrolled' "two leads enrolled"
is "$(q "SELECT count(*) FROM cadences WHERE name = 'outreach'")" 1 "the cadence was recorded as version 1"
out=$(cli enroll --cadence outreach --lead ann@acme.example 2>&1)
like "$out" 'refused \(already_enrolled\)' "a lead in an active cadence is refused, with the reason"
cli suppress carl@gamma.example >/dev/null 2>&1
printf 'email,first_name\ncarl@gamma.example,Carl\ndee@delta.example,Dee\n' >"$T/c.csv"
cli import "$T/c.csv" --source cadence-test --quiet >/dev/null 2>&1
out=$(cli enroll --cadence outreach --lead carl@gamma.example 2>&1)
like "$out" 'refused \(suppressed\)' "a suppressed lead is refused"
cli enroll --cadence outreach --lead dee@delta.example >/dev/null 2>&1
# Eve's address was only guessed: her emails are skipped, her call still comes.
printf 'email,first_name,last_name,country,phone\neve@eps.example,Eve,Ng,FR,+33142685301\n' >"$T/e.csv"
cli import "$T/e.csv" --source cadence-test --quiet >/dev/null 2>&1
q "UPDATE leads SET email_status = 'guessed' WHERE email = 'eve@eps.example'"
cli enroll --cadence outreach --lead eve@eps.example >/dev/null 2>&1

advance 1m
ann="(SELECT id FROM leads WHERE email = 'ann@acme.example')"
is "$(q "SELECT state || ' ' || reason FROM touches WHERE lead_id = $ann AND step = 0")" \
   "deferred window_closed" "on a Saturday the intro waits: deferred(window_closed)"
is "$(q "SELECT strftime('%Y-%m-%dT%H:%M', due_at / 1000, 'unixepoch') FROM touches WHERE lead_id = $ann AND step = 0")" \
   "2026-01-05T08:00" "due Monday 09:00 Paris (08:00 UTC)"
is "$(ls "$CONF/outbox/new" 2>/dev/null | wc -l)" 0 "nothing was sent on the weekend"
like "$(cli touches --deferred 2>&1)" 'deferred +email .*window_closed' \
   "drumbeat touches --deferred shows them with their reason"

advance 2d     # to Monday 10:01 UTC
is "$(q "SELECT state FROM touches WHERE lead_id = $ann AND step = 0")" sent "Monday: the intro was sent"
is "$(q "SELECT strftime('%Y-%m-%dT%H:%M', sent_at / 1000, 'unixepoch') FROM touches WHERE lead_id = $ann AND step = 0")" \
   "2026-01-05T08:00" "at the window's opening, not later"
msg=$(grep -l 'ann@acme.example' "$CONF/outbox/new/"* | head -n 1)
like "$(cat "$msg")" 'Message-I[Dd]: <[0-9a-f]+\.e[0-9]+\.s0@example\.com>' "the Message-ID names the enrollment and step"
like "$(cat "$msg")" 'List-Unsubscribe: <https://links.example.com/u/' "with a List-Unsubscribe link"

advance 1d     # Tuesday: the wait is two business days
is "$(q "SELECT count(*) FROM tasks WHERE lead_id = $ann")" 0 "no call before the wait is over"
advance 1d     # Wednesday 10:01 UTC
is "$(q "SELECT kind || ' ' || state || ' ' || priority FROM tasks WHERE lead_id = $ann")" \
   "call open 1" "two business days after the intro, a call task"
is "$(q "SELECT strftime('%Y-%m-%dT%H:%M', due_at / 1000, 'unixepoch') FROM tasks WHERE lead_id = $ann")" \
   "2026-01-07T08:00" "due when the wait ended, Wednesday 09:00 Paris"
like "$(q "SELECT script FROM tasks WHERE lead_id = $ann")" 'Phone: \+33142685300' "with the rendered call script"
is "$(q "SELECT owner FROM tasks WHERE lead_id = $ann")" "$(q "SELECT person FROM lead_owners WHERE lead_id = $ann AND role = 'prospector'")" \
   "for the lead's prospector"

# The outcome drives the branch: no-answer goes on to the follow-up; a
# meeting ends the cadence and moves the lead to qualification.
enr=$(q "SELECT id FROM enrollments WHERE lead_id = $ann")
out=$(cli log-call ann@acme.example --outcome no-answer --notes "rang twice" 2>&1)
ok $? "drumbeat log-call exits 0"
is "$(q "SELECT state || ' ' || outcome FROM tasks WHERE lead_id = $ann")" "done no-answer" \
   "the task is closed with its outcome"
advance 1m
is "$(q "SELECT state FROM touches WHERE lead_id = $ann AND step = 4")" sent "no-answer: the follow-up was sent"
msg=$(grep -l 'ann@acme.example' "$CONF/outbox/new/"* | xargs ls -t | head -n 1)
like "$(cat "$msg")" 'In-Reply-To: <[0-9a-f]+\.e[0-9]+\.s0@example\.com>' "threaded on the intro"
like "$(cat "$msg")" 'Subject: Re: ' "with Re: on the intro's subject"
is "$(q "SELECT state || ' ' || reason FROM enrollments WHERE id = $enr")" "completed completed" \
   "the cadence completed"
is "$(q "SELECT ended_at IS NOT NULL AND ended_at >= step_started_at FROM enrollments WHERE id = $enr")" 1 \
   "its end time is recorded"

eve="(SELECT id FROM leads WHERE email = 'eve@eps.example')"
is "$(q "SELECT state || ' ' || reason FROM touches WHERE lead_id = $eve AND step = 0")" \
   "skipped address_guessed" "a guessed address is never emailed: skipped with the reason"
is "$(q "SELECT kind || ' ' || state FROM tasks WHERE lead_id = $eve")" "call open" \
   "the call step still runs for her"
bob="(SELECT id FROM leads WHERE email = 'bob@beta.example')"
cli log-call bob@beta.example --outcome meeting-booked >/dev/null 2>&1
ok $? "a meeting is logged for Bob"
advance 1m
is "$(q "SELECT state FROM enrollments WHERE lead_id = $bob")" exited "meeting-booked ends Bob's cadence"
is "$(q "SELECT stage FROM leads WHERE id = $bob")" qualification "and moves him to qualification"
is "$(q "SELECT count(*) FROM touches WHERE lead_id = $bob AND step = 4")" 0 "Bob gets no follow-up"

# Nobody calls Eve: after call_overdue_days (3) business days the task is
# skipped as call_overdue and the cadence goes on (and ends: her follow-up is
# skipped too).
advance 4d
is "$(q "SELECT state || ' ' || outcome FROM tasks WHERE lead_id = $eve")" "skipped call_overdue" \
   "an open call task is skipped as call_overdue"
is "$(q "SELECT state FROM enrollments WHERE lead_id = $eve")" completed "and her cadence went on to its end"

# A changed file is a new version; a running enrollment keeps version 1.
sed 's/"priority": 1/"priority": 2/' "$CONF/cadences/outreach.json" >"$T/o.json" && mv "$T/o.json" "$CONF/cadences/outreach.json"
kill -HUP "$PID"
i=0; while [ "$(q "SELECT count(*) FROM cadences WHERE name = 'outreach'")" != 2 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
is "$(q "SELECT max(version) FROM cadences WHERE name = 'outreach'")" 2 "the edited file is version 2"
is "$(q "SELECT c.version FROM enrollments e JOIN cadences c ON c.id = e.cadence_id WHERE e.lead_id = (SELECT id FROM leads WHERE email = 'dee@delta.example')")" \
   1 "the running enrollment stays on version 1"
cli enroll --cadence outreach --lead ann@acme.example >/dev/null 2>&1
is "$(q "SELECT c.version FROM enrollments e JOIN cadences c ON c.id = e.cadence_id WHERE e.lead_id = $ann ORDER BY e.id DESC LIMIT 1")" \
   2 "a new enrollment gets version 2"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
