#!/bin/sh
# Review steps and previews end to end on the test clock. The "reviewed"
# cadence's intro has "review": true: enrolled on a Saturday, each lead's
# intro waits as deferred(awaiting_review), and still waits after its window
# opened and closed on Monday. Then, with the window shut (Monday 18:01
# Paris): approving Ann's sends it at Tuesday's opening (Date rewritten to
# then); rejecting Bob's skips it (rejected_in_review) and his cadence goes
# on; Cat's is edited through $EDITOR (a sed script) and approved, and the
# message sent has the edit and the same Message-ID; an edit that changes
# the Message-ID is refused. `drumbeat preview` prints the bytes the
# follow-up step then really sends (compared with the sent file, whole),
# says why a step would be skipped (missing first_name, address_guessed),
# refuses a wait step naming its type, and changes nothing in the store.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
mkdir -p "$CONF/cadences"
cp "$top_srcdir/tests/fixtures/review_e2e/reviewed.json" "$CONF/cadences/"
make_cadence_config "$CONF"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }
advance() { api POST /api/clock/advance "{\"by\":\"$1\"}" >/dev/null; }
utc() { q "SELECT strftime('%Y-%m-%dT%H:%M', $1 / 1000, 'unixepoch')"; }
# Every row of the tables a preview could touch, and the newest change.
census() {
  q "SELECT (SELECT count(*) FROM leads) || ' ' || (SELECT count(*) FROM touches) || ' ' ||
            (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM enrollments) || ' ' ||
            (SELECT count(*) FROM tasks) || ' ' || (SELECT count(*) FROM cadences) || ' ' ||
            (SELECT coalesce(max(updated_at), 0) FROM touches)"
}

cat >"$T/leads.csv" <<'CSV'
email,first_name,last_name,company,title,country
ann@acme.example,Ann,Lee,Acme,VP Sales,FR
bob@beta.example,Bob,Ray,Beta,CTO,FR
cat@gamma.example,Cat,Poe,Gamma,CEO,FR
dan@delta.example,,Orr,Delta,CFO,FR
eve@epsilon.example,Eve,Fox,Epsilon,COO,FR
CSV

# Saturday 2026-01-03 10:00 UTC (11:00 in Paris): the window is shut.
start_daemon "$CONF" --test-clock=2026-01-03T10:00:00Z || { done_testing; exit 1; }
cli import "$T/leads.csv" --source review-test --quiet >/dev/null 2>&1
q "UPDATE leads SET email_status = 'guessed' WHERE email = 'eve@epsilon.example'"

# ---- previews without an enrollment ----
before=$(census)
out=$(cli preview --lead ann@acme.example --cadence reviewed 2>&1)
ok $? "drumbeat preview exits 0"
like "$out" '^Subject: Acme and ' "the preview prints the headers (the subject rendered)"
like "$out" 'Message-I[Dd]: <preview\.[0-9]+\.1@example\.com>' "without an enrollment, a preview Message-ID"
like "$out" 'Hi|Hello|Hey' "and the body"
out=$(cli preview --lead dan@delta.example --cadence reviewed 2>&1)
is "$?" 2 "a step the template refuses: exit 2"
like "$out" 'would be skipped: missing first_name' "preview says skipped, with the reason"
out=$(api GET "/api/preview?lead=dan%40delta.example&cadence=reviewed")
like "$out" '^200 .*"skipped": ?"missing first_name"' "GET /api/preview: skipped with the reason"
like "$out" '"message": ?null' "and no message"
out=$(api GET "/api/preview?lead=eve%40epsilon.example&cadence=reviewed&step=1")
like "$out" '"skipped": ?"address_guessed"' "a guessed address: skipped address_guessed"
out=$(cli preview --lead ann@acme.example --cadence reviewed --step 2 2>&1)
is "$?" 2 "a wait step cannot be previewed: exit 2"
like "$out" 'is a wait step' "the refusal names the step's type"
out=$(api GET "/api/preview?lead=ann%40acme.example&cadence=reviewed&step=2")
like "$out" '^400 ' "GET /api/preview of a wait step: 400"
out=$(api GET "/api/preview?lead=ann%40acme.example&cadence=nope")
like "$out" '^404 ' "an unknown cadence: 404"
is "$(census)" "$before" "previews changed nothing in the store"

# ---- review steps wait for a person ----
out=$(cli enroll --cadence reviewed --lead ann@acme.example --lead bob@beta.example \
      --lead cat@gamma.example 2>&1)
like "$out" '3 enrolled' "three leads enrolled"
advance 1m
is "$(q "SELECT group_concat(state || ' ' || reason, ',') FROM touches WHERE step = 0")" \
   "deferred awaiting_review,deferred awaiting_review,deferred awaiting_review" \
   "each intro waits: deferred(awaiting_review)"
ann=$(q "SELECT id FROM touches WHERE step = 0 AND recipient = 'ann@acme.example'")
bob=$(q "SELECT id FROM touches WHERE step = 0 AND recipient = 'bob@beta.example'")
cat=$(q "SELECT id FROM touches WHERE step = 0 AND recipient = 'cat@gamma.example'")
out=$(cli review 2>&1)
ok $? "drumbeat review exits 0"
like "$out" "^$ann +ann@acme\\.example +reviewed +1 +Acme and " "the queue lists id, lead, cadence, step, subject"
is "$(printf '%s\n' "$out" | grep -c 'reviewed')" 3 "all three wait"

advance 2d       # Monday 10:01 UTC: the window is open
advance 7h       # Monday 17:01 UTC (18:01 Paris): it has closed
is "$(q "SELECT count(*) FROM touches WHERE step = 0 AND state = 'deferred' AND reason = 'awaiting_review'")" 3 \
   "after the window opened and closed, they still wait for review"
is "$(ls "$CONF/outbox/new" 2>/dev/null | wc -l)" 0 "nothing was sent unreviewed"

# ---- show and edit ----
out=$(cli review show "$cat" 2>&1)
like "$out" 'To: .*cat@gamma\.example' "review show prints the message"
mid=$(printf '%s\n' "$out" | sed -n 's/^Message-I[Dd]: *\(<[^>]*>\).*/\1/p' | tr -d '\r')
like "$mid" '^<[0-9a-f]+\.e[0-9]+\.s0@example\.com>$' "with the enrollment's Message-ID"
cat >"$T/edit.sh" <<'SH'
#!/bin/sh
sed -i 's/^Subject: .*/Subject: Edited by a person/' "$1"
SH
cat >"$T/bad-edit.sh" <<'SH'
#!/bin/sh
sed -i 's/^Message-I[Dd]: .*/Message-ID: <forged@example.com>/' "$1"
SH
chmod +x "$T/edit.sh" "$T/bad-edit.sh"
out=$(EDITOR="$T/bad-edit.sh" cli review edit "$cat" 2>&1)
is "$?" 2 "an edit that changes the Message-ID is refused (exit 2)"
like "$out" 'Message-ID must stay' "with a clear error"
out=$(EDITOR="$T/edit.sh" cli review edit "$cat" 2>&1)
ok $? "drumbeat review edit exits 0"
like "$(cli review show "$cat")" 'Subject: Edited by a person' "the edit replaced the touch's message"
is "$(q "SELECT state || ' ' || reason FROM touches WHERE id = $cat")" "deferred awaiting_review" \
   "an edited touch still waits for approval"
is "$(q "SELECT actor_kind || ' ' || actor FROM events WHERE type = 'review_edited' AND touch_id = $cat")" \
   "person Admin" "a review_edited event by the person"

# ---- approve and reject ----
out=$(cli review approve "$ann" 2>&1)
like "$out" "touch $ann: scheduled" "review approve: scheduled"
cli review approve "$cat" >/dev/null 2>&1
out=$(cli review reject "$bob" 2>&1)
like "$out" "touch $bob: skipped" "review reject: skipped"
out=$(cli review approve "$bob" 2>&1)
is "$?" 2 "a rejected touch cannot be approved (exit 2)"
like "$out" 'does not await review' "with the reason"
is "$(q "SELECT state || ' ' || reason FROM touches WHERE id = $bob")" "skipped rejected_in_review" \
   "the rejected touch is skipped(rejected_in_review)"
is "$(q "SELECT actor FROM events WHERE type = 'touch_skipped' AND touch_id = $bob")" "Admin" \
   "with an event by the person"
is "$(q "SELECT actor_kind || ' ' || actor FROM events WHERE type = 'review_approved' AND touch_id = $ann")" \
   "person Admin" "a review_approved event by the person"
is "$(q "SELECT state FROM touches WHERE id = $ann")" scheduled "the approved touch is scheduled"
is "$(utc "(SELECT due_at FROM touches WHERE id = $ann)")" "2026-01-06T08:00" \
   "approved after the window closed: due at the next opening, Tuesday 09:00 Paris"
bobenr=$(q "SELECT enrollment_id FROM touches WHERE id = $bob")
like "$(q "SELECT step FROM enrollments WHERE id = $bobenr")" '^[1-4]$' "Bob's cadence went on past the intro"
advance 1m
is "$(ls "$CONF/outbox/new" 2>/dev/null | wc -l)" 0 "nothing goes while the window is shut"

advance 15h      # Tuesday 08:02 UTC
is "$(q "SELECT state FROM touches WHERE id = $ann")" sent "the approved intro was sent on Tuesday"
is "$(utc "(SELECT sent_at FROM touches WHERE id = $ann)")" "2026-01-06T08:00" "at the window's opening"
msg=$(grep -l 'cat@gamma.example' "$CONF/outbox/new/"* 2>/dev/null | head -n 1)
like "$(cat "$msg" 2>/dev/null)" 'Subject: Edited by a person' "the sent message has the edit"
is "$(sed -n 's/^Message-I[Dd]: *\(<[^>]*>\).*/\1/p' "$msg" 2>/dev/null | tr -d '\r')" "$mid" \
   "and the same Message-ID"
annmsg=$(grep -l 'ann@acme.example' "$CONF/outbox/new/"* 2>/dev/null | head -n 1)
like "$(cat "$annmsg" 2>/dev/null)" 'Date: Tue, 0?6 Jan 2026 08:00:00 \+0000' "its Date is when it went"

# ---- a preview is the message the step then sends ----
before=$(census)
cli preview --lead ann@acme.example --cadence reviewed --step 3 >"$T/preview.eml" 2>"$T/preview.err"
ok $? "preview of Ann's follow-up exits 0"
is "$(census)" "$before" "that preview changed nothing either"
like "$(cat "$T/preview.eml")" 'In-Reply-To: <[0-9a-f]+\.e[0-9]+\.s0@example\.com>' \
   "the preview is threaded on the sent intro"
advance 1d       # Wednesday 08:02 UTC: the follow-up went at 08:00
is "$(q "SELECT state FROM touches WHERE step = 2 AND recipient = 'ann@acme.example'")" sent \
   "the follow-up was sent"
annenr=$(q "SELECT enrollment_id FROM touches WHERE id = $ann")
sent=$(grep -l "^Message-I[Dd]: <[0-9a-f]*\.e$annenr\.s2@" "$CONF/outbox/new/"* 2>/dev/null | head -n 1)
cmp -s "$T/preview.eml" "$sent"
ok $? "the preview printed exactly the bytes that were sent"
like "$(q "SELECT group_concat(step) FROM touches WHERE recipient = 'bob@beta.example'")" '^0,2$' \
   "after the rejection Bob's cadence reached its follow-up"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
