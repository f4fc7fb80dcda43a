#!/bin/sh
# Launch checks and pause/resume/stop on the test clock. A cadence whose
# template lacks the postal address fails `drumbeat cadence check` (exit 2)
# and enrolling into it is refused with 409 and the problems; one that plans
# more mail than its mailbox's cap says so with the numbers; a good one
# passes. Leads without a source or a lawful basis are refused with the
# reason. Enrolled on a Saturday, the intros wait for Monday: a paused
# enrollment's intro is not sent while the clock moves and goes once it is
# resumed; one paused --until Tuesday resumes by itself; a stopped one has
# its touch cancelled; a cadence pause holds every follow-up until the
# cadence resumes. Each change is an event.
. "$(dirname "$0")/lib.sh"

FIX="$top_srcdir/tests/fixtures/cadence_ops"
CONF=$T/c
mkdir -p "$CONF/cadences"
cp "$FIX/cadences/"*.json "$CONF/cadences/"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$CONF/unsub.secret"
make_config "$CONF" ',
  "public_url": "https://links.example.com",
  "templates": { "dir": "'"$FIX"'/templates", "unsubscribe_secret_file": "unsub.secret" },
  "company": { "name": "Example Ltd", "postal_address": "1 Example Street, Paris" }'
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }
advance() { api POST /api/clock/advance "{\"by\":\"$1\"}" >/dev/null; }
lead() { q "SELECT id FROM leads WHERE email = '$1'"; }
enr() { q "SELECT id FROM enrollments WHERE lead_id = $(lead "$1") ORDER BY id DESC LIMIT 1"; }
touch_state() { q "SELECT state FROM touches WHERE lead_id = $(lead "$1") AND step = $2"; }

cat >"$T/leads.csv" <<'CSV'
email,first_name,last_name,company,country
ann@acme.example,Ann,Lee,Acme,FR
bob@beta.example,Bob,Ray,Beta,FR
cat@gamma.example,Cat,Kim,Gamma,FR
dan@delta.example,Dan,Fox,Delta,FR
fay@zeta.example,Fay,Roe,Zeta,FR
CSV
printf 'email,first_name,company\neve@eps.example,Eve,Eps\n' >"$T/nosource.csv"

# Saturday 2026-01-03 10:00 UTC: the window (Mon-Fri 09:00-17:00 Paris) is shut.
start_daemon "$CONF" --test-clock=2026-01-03T10:00:00Z || { done_testing; exit 1; }
cli import "$T/leads.csv" --source ops-test --quiet >/dev/null 2>&1
cli import "$T/nosource.csv" --quiet >/dev/null 2>&1

# ---- launch checks ----
out=$(cli cadence check bad 2>&1); rc=$?
is "$rc" 2 "cadence check exits 2 when the check finds problems"
like "$out" 'postal_address +no-address +the text part does not carry the postal address "1 Example Street, Paris"' \
     "it names the template without the postal address"
r=$(api POST /api/enrollments '{"cadence":"bad","leads":["ann@acme.example"]}')
like "$r" '^409 \{"error":"the cadence fails its launch check"' "enrolling into it is refused with 409"
like "$r" '"problems":\[\{"check":"postal_address","where":"no-address"' "with the problems"
out=$(cli enroll --cadence bad --lead ann@acme.example 2>&1); rc=$?
is "$rc" 2 "drumbeat enroll exits 2 on a failed launch check"
like "$out" '  postal_address +no-address' "and prints the problems"
is "$(q "SELECT count(*) FROM enrollments")" 0 "nobody was enrolled"
out=$(cli cadence check busy 2>&1)
like "$out" 'caps +throttle.new_per_day +new_per_day 500 x 2 email steps = 1000 emails a day at full run, but the mailboxes. daily caps sum to 200 \(ada 200\)' \
     "a throttle the caps cannot carry is a problem, with the numbers"
out=$(cli cadence check good 2>&1); rc=$?
is "$rc" 0 "the good cadence passes (exit 0)"
like "$out" 'cadence good: ok, no problems' "and says so"
r=$(api GET /api/cadences/good/check)
is "$r" '200 {"cadence":"good","ok":true,"problems":[]}' "GET /api/cadences/good/check"
is "$(api GET /api/cadences/nope/check | cut -c1-3)" 404 "an unknown cadence is a 404"

# ---- source and lawful basis, per lead ----
q "UPDATE leads SET lawful_basis = NULL WHERE email = 'fay@zeta.example'"
out=$(cli enroll --cadence good --lead eve@eps.example --lead fay@zeta.example 2>&1)
like "$out" "lead $(lead eve@eps.example): refused \\(no_source\\)" "a lead without a source is refused: no_source"
like "$out" "lead $(lead fay@zeta.example): refused \\(no_lawful_basis\\)" "a lead without a lawful basis: no_lawful_basis"

# ---- pause, resume, stop ----
out=$(cli enroll --cadence good --lead ann@acme.example --lead bob@beta.example \
      --lead cat@gamma.example --lead dan@delta.example 2>&1)
like "$out" '4 enrolled' "four leads enrolled into the good cadence"
advance 1m
is "$(touch_state ann@acme.example 0)" deferred "the intros wait for Monday"
out=$(cli enrollment pause "$(enr ann@acme.example)" 2>&1)
like "$out" 'enrollment [0-9]+: paused' "drumbeat enrollment pause"
out=$(cli enrollment pause "$(enr bob@beta.example)" --until 2026-01-06 2>&1)
like "$out" 'paused until 2026-01-06' "pause --until"
out=$(cli enrollment stop "$(enr dan@delta.example)" 2>&1)
like "$out" 'enrollment [0-9]+: stopped' "drumbeat enrollment stop"
is "$(q "SELECT state || ' ' || reason FROM enrollments WHERE id = $(enr dan@delta.example)")" \
   "stopped manual" "the stopped enrollment: stopped, reason manual"
is "$(q "SELECT state || ' ' || reason FROM touches WHERE lead_id = $(lead dan@delta.example)")" \
   "cancelled stopped" "its unsent touch is cancelled (stopped)"
out=$(cli enrollment resume "$(enr dan@delta.example)" 2>&1); rc=$?
is "$rc" 2 "a stopped enrollment cannot be resumed (exit 2)"
like "$out" 'it is stopped' "and the error says why"

advance 2d     # Monday 10:01 UTC: the window opened at 08:00 UTC
is "$(touch_state cat@gamma.example 0)" sent "Monday: an active enrollment's intro went"
is "$(touch_state ann@acme.example 0)" scheduled "the paused enrollment's intro did not go"
is "$(touch_state bob@beta.example 0)" scheduled "nor the one paused until Tuesday"
is "$(q "SELECT state || ' ' || step FROM enrollments WHERE id = $(enr ann@acme.example)")" \
   "paused 0" "the paused enrollment keeps its step"
out=$(cli enrollment resume "$(enr ann@acme.example)" 2>&1)
like "$out" 'enrollment [0-9]+: active' "drumbeat enrollment resume"
advance 1m
is "$(touch_state ann@acme.example 0)" sent "resumed: its intro was sent"
is "$(q "SELECT strftime('%Y-%m-%dT%H:%M', sent_at / 1000, 'unixepoch') FROM touches WHERE lead_id = $(lead ann@acme.example) AND step = 0")" \
   "2026-01-05T10:01" "as soon as it was resumed"

advance 1d     # Tuesday 10:02 UTC: bob's --until (00:00 UTC) has passed
is "$(q "SELECT state FROM enrollments WHERE id = $(enr bob@beta.example)")" active \
   "paused --until: resumed by itself"
is "$(touch_state bob@beta.example 0)" sent "and its intro went in Tuesday's window"
is "$(q "SELECT count(*) FROM events WHERE type = 'enrollment_resumed' AND data LIKE '%until_passed%'")" 1 \
   "an enrollment_resumed event for the automatic resume"

# A cadence pause holds every follow-up (cat's is due Wednesday 08:00 UTC).
out=$(cli cadence pause good 2>&1)
like "$out" 'cadence good: 3 enrollments paused' "drumbeat cadence pause pauses its 3 active enrollments"
advance 1d     # Wednesday 10:03 UTC
is "$(q "SELECT count(*) FROM touches WHERE step = 2")" 0 "no follow-up while the cadence is paused"
is "$(q "SELECT group_concat(state) FROM enrollments WHERE cadence = 'good' AND lead_id IN ($(lead ann@acme.example), $(lead cat@gamma.example))")" \
   "paused,paused" "its enrollments are paused"
out=$(cli cadence resume good 2>&1)
like "$out" 'cadence good: 3 enrollments resumed' "drumbeat cadence resume"
advance 1m
is "$(touch_state cat@gamma.example 2)" sent "resumed: the overdue follow-up went"
like "$(cat "$(grep -l 'cat@gamma.example' "$CONF/outbox/new/"* | xargs ls -t | head -n 1)")" \
     'Subject: Re: A quick idea' "threaded on the intro"

is "$(q "SELECT group_concat(type, ',') FROM (SELECT DISTINCT type FROM events WHERE type LIKE 'enrollment_%' OR type LIKE 'cadence_paused' OR type LIKE 'cadence_resumed' ORDER BY type)")" \
   "cadence_paused,cadence_resumed,enrollment_paused,enrollment_resumed,enrollment_stopped" \
   "each change is an event"
is "$(q "SELECT json_extract(data, '$.enrollments') FROM events WHERE type = 'cadence_paused'")" 3 \
   "the cadence event counts the enrollments"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
