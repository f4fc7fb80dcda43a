#!/bin/sh
# drumbeat simulate: a cadence with a weekend and a French holiday, run for a
# CSV of leads on a shadow daemon. The exact step times in each lead's zone
# (the Saturday intro waits for Monday 09:00 local, deferred window_closed;
# the one-business-day wait skips the holiday in France but not in New York),
# refusals and invalid rows with their reasons, and nothing written to the
# user's outbox or store, nothing left in $TMPDIR.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
mkdir -p "$CONF/cadences"
cp "$top_srcdir/tests/fixtures/simulate/sim.json" "$CONF/cadences/"
make_cadence_config "$CONF"
LEADS="$top_srcdir/tests/fixtures/simulate/leads.csv"
sim() { TMPDIR=$T/tmp "$DRUMBEAT" simulate -c "$CONF/drumbeat.json" --cadence sim --leads "$LEADS" "$@"; }
mkdir -p "$T/tmp"

# The user's own store holds a lead already; it must not change.
start_daemon "$CONF" --test-clock=2026-01-02T10:00:00Z || { done_testing; exit 1; }
printf 'email,first_name\nzoe@zeta.example,Zoe\n' >"$T/z.csv"
cli import "$T/z.csv" --source live --quiet >/dev/null 2>&1
stop_daemon
sum_before=$(cat "$CONF/store/"* | sha256sum)
files_before=$(ls "$CONF/store" | tr '\n' ' ')

out=$(sim --start 2026-01-03T10:00:00Z 2>&1)
ok $? "drumbeat simulate exits 0"
like "$out" 'Simulation of cadence "sim" from 2026-01-03T10:00:00.000Z' "it says what it simulated"
like "$out" 'invalid: line 5: invalid email address' "an invalid row is reported with its line and reason"
like "$out" 'refused: lead 3 carl@acme.example \(cadence_max_active\)' "a refused lead, with the reason"
j=$(sim --start 2026-01-03T10:00:00Z --json 2>&1)
ok $? "simulate --json exits 0"
# step LEAD STEP FIELD: a value from the JSON report.
field() {
  printf '%s' "$j" | python3 -c '
import json, sys
r = json.load(sys.stdin)
lead = [l for l in r["leads"] if l["email"] == sys.argv[1]][0]
if sys.argv[2] == "end":
    e = lead["enrollment"]; print(e["state"], e["ended"]["utc"]); sys.exit()
s = [s for s in lead["steps"] if s["step"] == int(sys.argv[2])][0]
if sys.argv[3] == "deferrals":
    print(" ".join("%s@%s..%s" % (d["reason"], d["at"]["utc"], d["until"]["utc"]) for d in s["deferrals"]))
elif sys.argv[3] == "at":
    print(s["at"]["utc"], "|", s["at"]["local"])
else:
    print(s[sys.argv[3]])
' "$@"
}
is "$(field ann@acme.example 0 at)" "2026-01-05T08:00:00.000Z | Mon 2026-01-05 09:00 CET" \
   "Ann's intro (enrolled on a Saturday) fires Monday 09:00 Paris"
is "$(field ann@acme.example 0 deferrals)" \
   "window_closed@2026-01-03T10:00:00.000Z..2026-01-05T08:00:00.000Z" \
   "deferred with window_closed from Saturday until Monday's opening"
is "$(field ann@acme.example 0 kind) $(field ann@acme.example 0 state)" "email sent" "an email, sent"
is "$(field ann@acme.example 2 at)" "2026-01-07T08:00:00.000Z | Wed 2026-01-07 09:00 CET" \
   "one business day later is Wednesday in France: Tuesday 2026-01-06 is a holiday there"
is "$(field ann@acme.example 2 name)" "bump" "the step is named"
is "$(field ann@acme.example end)" "completed 2026-01-07T08:00:00.000Z" "Ann's cadence completes then"
is "$(field bob@beta.example 0 at)" "2026-01-05T14:00:00.000Z | Mon 2026-01-05 09:00 EST" \
   "Bob's intro fires Monday 09:00 in New York"
is "$(field bob@beta.example 0 deferrals)" \
   "window_closed@2026-01-03T10:00:00.000Z..2026-01-05T14:00:00.000Z" "deferred window_closed too"
is "$(field bob@beta.example 2 at)" "2026-01-06T14:00:00.000Z | Tue 2026-01-06 09:00 EST" \
   "the French holiday does not hold Bob's bump: Tuesday in New York"
like "$(printf '%s' "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["still_active"])')" '^0$' \
   "every enrollment ended"

# --days stops early: a day from Saturday, nothing has fired yet.
j=$(sim --start 2026-01-03T10:00:00Z --days 1 --json 2>&1)
is "$(field ann@acme.example 0 state)" "deferred" "with --days 1 Ann's intro still waits"
like "$(sim --start 2026-01-03T10:00:00Z --days 1 2>&1)" 'Stopped after 1 day with 2 enrollments still running' \
   "and the text report says the run stopped with enrollments running"

out=$(sim --start 2026-01-03T10:00:00Z --cadence nope 2>&1)
like "$out" 'no cadence named' "an unknown cadence is refused"
like "$("$DRUMBEAT" simulate --help)" 'Nothing is sent' "--help says nothing is sent"
out=$("$DRUMBEAT" simulate --cadence sim 2>&1)
is "$?" 64 "--leads is required"

is "$(ls "$CONF/outbox/new" 2>/dev/null | wc -l)" 0 "nothing reached the user's outbox"
is "$(cat "$CONF/store/"* | sha256sum)" "$sum_before" "the user's store is byte for byte the same"
is "$(ls "$CONF/store" | tr '\n' ' ')" "$files_before" "and no file was added beside it"
is "$(ls -A "$T/tmp" | wc -l)" 0 "the shadow runs left nothing in TMPDIR"
done_testing
