#!/bin/sh
# Viewing and managing leads on a running daemon: `drumbeat leads` with
# filters, `drumbeat lead EMAIL` (fields with provenance, history, events),
# suppress (then POST /api/touches is refused with 409), unsuppress only with
# --force, export-lead of a normal lead (everything) and, after forget, of
# the forgotten one (nothing personal), and a forgotten address re-imported
# stays suppressed.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
make_config "$CONF"
FIX="$top_srcdir/tests/fixtures/import"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }

start_daemon "$CONF" || { done_testing; exit 1; }
cli import "$FIX/leads.csv" --source fair-2026 --quiet >/dev/null 2>&1
ok $? "leads imported"
cli import "$FIX/leads.jsonl" --source webform --quiet >/dev/null 2>&1

# ---- list ----
out=$(cli leads 2>&1); ok $? "drumbeat leads exits 0"
like "$out" 'grace@navy.example' "lists the imported leads"
like "$out" 'katherine@nasa.example' "from both sources"
out=$(cli leads --source webform 2>&1)
like "$out" 'katherine@nasa.example' "--source webform keeps its leads"
unlike "$out" 'grace@navy.example' "and drops the others"
gid=$(q "SELECT id FROM leads WHERE email = 'grace@navy.example'")
out=$(cli lead stage "$gid" prospecting 2>&1); ok $? "a lead moved to prospecting"
owner=$(q "SELECT person FROM lead_owners WHERE lead_id = $gid AND role = 'prospector'")
out=$(cli leads --stage prospecting 2>&1)
like "$out" "^$gid +grace@navy.example" "--stage prospecting lists it"
unlike "$out" 'ada@example.com' "and not a lead in intelligence"
out=$(cli leads --owner "$owner" --json 2>&1)
like "$out" '"email": "grace@navy.example"' "--owner filters, --json prints the reply"
r=$(api GET "/api/leads?stage=prospecting&limit=1")
like "$r" '^200 .*"leads"' "GET /api/leads with query filters"
r=$(api GET "/api/leads?stage=nope")
like "$r" '^400 ' "an unknown stage is a 400"

# ---- one lead by email ----
out=$(cli lead grace@navy.example 2>&1); ok $? "drumbeat lead EMAIL exits 0"
like "$out" "^Lead $gid  grace@navy.example" "shows the lead"
like "$out" 'email_status +syntax_ok +\(from import fair-2026\)' "fields with their provenance"
like "$out" 'intelligence -> prospecting +owner=' "the stage and owner history"
like "$out" 'lead_created' "the event log"
first=$(printf '%s\n' "$out" | sed -n '/^Events:/,$p' | sed -n 2p)
like "$first" 'lead_created' "events oldest first"
out=$(cli lead GRACE@navy.example --json 2>&1)
like "$out" '"_provenance"' "--json is the raw lead, found case-blind"
out=$(cli lead nobody@nowhere.example 2>&1); st=$?
is "$st" 2 "an unknown email exits 2"

# ---- suppression ----
out=$(cli suppress grace@navy.example --reason "asked us" 2>&1); ok $? "drumbeat suppress exits 0"
r=$(api POST /api/touches '{"lead":{"email":"grace@navy.example"},"subject":"hi","text":"x"}')
like "$r" '^409 ' "a touch to a suppressed address is refused with 409"
out=$(cli unsuppress grace@navy.example 2>&1); st=$?
is "$st" 2 "unsuppress without --force exits 2"
like "$out" 'needs --force' "and says why"
r=$(api POST /api/suppressions/delete '{"value":"grace@navy.example"}')
like "$r" '^409 ' "the API also wants force"
out=$(cli unsuppress grace@navy.example --force 2>&1); ok $? "unsuppress --force"
is "$(q "SELECT count(*) FROM events WHERE type = 'unsuppressed' AND actor = 'Admin'")" 1 \
   "writes an unsuppressed event with the actor"
r=$(api POST /api/touches '{"lead":{"email":"grace@navy.example"},"subject":"hi","text":"x"}')
like "$r" '^20[0-9] ' "a touch is accepted again"
out=$(cli suppress @acme.example 2>&1); ok $? "a domain suppressed"
is "$(q "SELECT suppressed FROM leads WHERE email = 'info@acme.example'")" 1 "its leads are flagged"
out=$(cli unsuppress @nope.example --force 2>&1); st=$?
is "$st" 2 "lifting a missing entry exits 2"

# ---- export and forget ----
aid=$(q "SELECT id FROM leads WHERE email = 'ada@example.com'")
q "INSERT INTO lead_texts (lead_id, kind, body, at) VALUES ($aid, 'note', 'Ada likes engines', 1)"
out=$(cli export-lead ada@example.com 2>&1); ok $? "drumbeat export-lead exits 0"
like "$out" '"first_name": "Ada"' "the export has the fields"
like "$out" '"lawful_basis": "legitimate_interest"' "the lawful basis"
like "$out" '"source": "fair-2026"' "the source"
like "$out" '"_provenance"' "the provenance"
like "$out" 'Ada likes engines' "the texts"
like "$out" '"events"' "and the events"
out=$(cli forget ada@example.com 2>&1); ok $? "drumbeat forget exits 0"
like "$out" "lead $aid forgotten" "says so"
r=$(api GET "/api/leads/$aid/export")
like "$r" '^200 ' "the forgotten lead still exports"
unlike "$r" 'Ada|Lovelace|ada@|example\.com|Example Ltd|7946|engines' "with nothing personal in it"
like "$r" '"type": ?"forgotten"' "and the forgotten event"
is "$(q "SELECT count(*) FROM suppression WHERE kind = 'email_hash'")" 1 "a hashed suppression stays"
r=$(api POST /api/touches '{"lead":{"email":"ada@example.com"},"subject":"hi","text":"x"}')
like "$r" '^409 ' "a touch to the forgotten address is refused"
out=$(cli import "$FIX/leads.csv" --source again 2>&1)
is "$(q "SELECT suppressed FROM leads WHERE email = 'ada@example.com'")" 1 \
   "re-imported, the forgotten address is stored as suppressed"
r=$(api POST /api/leads/99999/forget)
like "$r" '^404 ' "forgetting an unknown lead is a 404"

stop_daemon
done_testing
