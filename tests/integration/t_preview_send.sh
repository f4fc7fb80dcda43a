#!/bin/sh
# `drumbeat preview --send-to`: a step's exact message goes as a test to a
# person's own address through the real mailbox, here a channel_smtp relay
# to aiosmtpd on 127.0.0.1, on the test clock (a Saturday: the cadence's
# window is shut, a test goes anyway). The message received has the
# preview's body byte for byte, "[TEST] " before the subject (kept RFC 2047
# encoded when it was), X-Drumbeat-Test, no List-Unsubscribe, a Message-ID of
# its own and To the test address; the touch is kind "test", sent, with no
# enrollment; the lead's enrollment and lead rows are unchanged.
. "$(dirname "$0")/lib.sh"

start_smtp "{\"dir\": \"$T/smtp/out\"}"
PY=/usr/bin/python3

CONF=$T/c
mkdir -p "$CONF/cadences"
cp "$top_srcdir/tests/fixtures/review_e2e/reviewed.json" "$CONF/cadences/"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$CONF/unsub.secret"
make_config "$CONF" ',
  "plugin_path": [],
  "public_url": "https://links.example.com",
  "templates": { "dir": "'"$top_srcdir"'/templates", "unsubscribe_secret_file": "unsub.secret",
                 "list_unsubscribe_mailto": "unsubscribe@example.com" },
  "company": { "name": "Example Ltd", "postal_address": "1 Example Street, Paris" }'
sed -i "s|\"channels\": \\[|\"channels\": [\n    { \"name\": \"relay\", \"plugin\": \"channel_smtp\", \"options\": { \"host\": \"127.0.0.1\", \"port\": $SMTP_PORT, \"tls\": \"none\" } },|" "$CONF/drumbeat.json"
sed -i 's|"channel": "outbox"|"channel": "relay"|' "$CONF/drumbeat.json"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }
advance() { api POST /api/clock/advance "{\"by\":\"$1\"}" >/dev/null; }
# The lead's state: every column of its lead and enrollment rows.
state() { q "SELECT * FROM leads ORDER BY id; SELECT * FROM enrollments ORDER BY id"; }
body() { awk 'f { print } /^\r?$/ { f = 1 }' "$1"; }
header() {  # header FILE NAME: the unfolded value, without CR
  awk -v n="$2" '/^\r?$/ { exit }
       /^[ \t]/ { if (h) v = v $0; next }
       { if (h) exit; h = tolower(substr($0, 1, index($0, ":") - 1)) == tolower(n);
         if (h) v = substr($0, index($0, ":") + 2) }
       END { gsub(/\r/, "", v); print v }' "$1"
}
decode() { "$PY" -c 'import sys, email.header as h; print(str(h.make_header(h.decode_header(sys.argv[1]))))' "$1"; }

cat >"$T/leads.csv" <<'CSV'
email,first_name,last_name,company,title,country
ann@acme.example,Ann,Lee,Acme,VP Sales,FR
bob@beta.example,Bob,Ray,Zoë Bäckerei,CTO,FR
dan@delta.example,,Orr,Delta,CFO,FR
CSV

# Saturday 2026-01-03 10:00 UTC: the cadence's window is shut.
start_daemon "$CONF" --test-clock=2026-01-03T10:00:00Z || { done_testing; exit 1; }
cli import "$T/leads.csv" --source psend-test --quiet >/dev/null 2>&1
out=$(cli enroll --cadence reviewed --lead ann@acme.example 2>&1)
like "$out" '1 enrolled' "Ann is enrolled (her intro will wait for review)"
advance 1m
is "$(q "SELECT state || ' ' || reason FROM touches")" "deferred awaiting_review" \
   "the real intro waits for review"

# ---- an enrolled lead ----
before=$(state)
cli preview --lead ann@acme.example --cadence reviewed --step 1 >"$T/preview.eml"
ok $? "drumbeat preview exits 0"
out=$(cli preview --lead ann@acme.example --cadence reviewed --step 1 --send-to me@example.net 2>&1)
ok $? "drumbeat preview --send-to exits 0"
like "$out" '^test sent to me@example\.net as touch [0-9]+$' "it says where and which touch"
tid=$(printf '%s' "$out" | sed -n 's/.* as touch \([0-9]*\)$/\1/p')
f="$T/smtp/out/me@example.net.eml"
[ -f "$f" ]; ok $? "aiosmtpd received the test"
is "$(ls "$T/smtp/out" | grep -c '\.eml$')" 1 "exactly one message arrived, to me@example.net"
like "$(cat "$T/smtp/out/me@example.net.json")" '"me@example.net"' "the envelope recipient is the test address"
body "$T/preview.eml" >"$T/preview.body"
body "$f" >"$T/test.body"
cmp -s "$T/preview.body" "$T/test.body"
ok $? "the body is the preview's, byte for byte"
[ -s "$T/test.body" ]; ok $? "(and is not empty)"
is "$(header "$f" To)" "me@example.net" "To is the test address"
is "$(header "$f" Subject)" "[TEST] $(header "$T/preview.eml" Subject)" "Subject: [TEST] and the step's subject"
like "$(header "$f" X-Drumbeat-Test)" '^preview$' "X-Drumbeat-Test: preview"
like "$(header "$T/preview.eml" List-Unsubscribe)" 'mailto:unsubscribe@example\.com' \
     "(the step's message has List-Unsubscribe)"
unlike "$(cat "$f")" '^List-Unsubscribe' "the test has no List-Unsubscribe"
pmid=$(header "$T/preview.eml" Message-ID)
tmid=$(header "$f" Message-ID)
like "$pmid" '^<[0-9a-f]+\.e[0-9]+\.s0@example\.com>$' "(the preview has the enrollment's Message-ID)"
like "$tmid" '^<test\.[0-9a-f]+@example\.com>$' "the test has a Message-ID of its own"
is "$(header "$f" From)" "$(header "$T/preview.eml" From)" "From is the mailbox, as in the preview"
crlf=$(od -An -c "$f" | tr -d ' \n' | grep -c '[^\\r]\\n' || true)
is "$crlf" 0 "every line ends in CRLF"
is "$(q "SELECT kind || ' ' || state || ' ' || coalesce(enrollment_id, 'none') || ' ' || mailbox || ' ' ||
         channel || ' ' || recipient || ' ' || content_type FROM touches WHERE id = $tid")" \
   "test sent none ada relay me@example.net message/rfc822" \
   "the touch is kind test, sent, with no enrollment, through the mailbox's channel"
ann=$(q "SELECT id FROM leads WHERE email = 'ann@acme.example'")
is "$(q "SELECT lead_id FROM touches WHERE id = $tid")" "$ann" "on Ann's lead"
is "$(q "SELECT group_concat(type, ',') FROM events WHERE touch_id = $tid ORDER BY id")" \
   "touch_scheduled,touch_sent" "events on the lead record it"
is "$(state)" "$before" "Ann's lead and enrollment rows are unchanged"
is "$(q "SELECT state || ' ' || reason FROM touches WHERE id <> $tid")" "deferred awaiting_review" \
   "the real intro still waits for review"

# ---- a lead not enrolled, whose subject needs RFC 2047 ----
cli preview --lead bob@beta.example --cadence reviewed >"$T/bob.eml"
like "$(header "$T/bob.eml" Subject)" '=\?[Uu][Tt][Ff]-8\?' "(Bob's subject is encoded)"
out=$(cli preview --lead bob@beta.example --cadence reviewed --send-to me2@example.net 2>&1)
ok $? "a test for a lead with no enrollment exits 0"
f2="$T/smtp/out/me2@example.net.eml"
s=$(header "$f2" Subject)
like "$s" '^\[TEST\] .*=\?[Uu][Tt][Ff]-8\?' "the test's subject stays RFC 2047 encoded"
is "$(printf '%s' "$s" | LC_ALL=C grep -c '[^ -~]')" 0 "with no raw 8-bit byte in it"
is "$(decode "$s")" "[TEST] $(decode "$(header "$T/bob.eml" Subject)")" "and decodes to [TEST] and the subject"
body "$T/bob.eml" >"$T/bob.body"
body "$f2" | cmp -s "$T/bob.body" -
ok $? "its body is the preview's"
like "$(header "$f2" Message-ID)" '^<test\.[0-9a-f]+@example\.com>$' "a test Message-ID"
is "$(q "SELECT count(*) FROM enrollments")" 1 "no enrollment was made"
is "$(state)" "$before" "no lead or enrollment row changed"

# ---- refusals ----
out=$(api POST /api/preview/send '{"lead":"ann@acme.example","cadence":"reviewed","to":"not an address"}')
like "$out" '^400 .*to: expected an email address' "a bad address: 400 naming \"to\""
out=$(api POST /api/preview/send '{"lead":"ann@acme.example","cadence":"reviewed","step":2,"to":"me@example.net"}')
like "$out" '^400 .*wait step' "a wait step: 400"
out=$(cli preview --lead dan@delta.example --cadence reviewed --send-to me@example.net 2>&1)
is "$?" 2 "a step that would be skipped: exit 2"
like "$out" 'skipped: missing first_name' "with the reason"
out=$(api POST /api/preview/send '{"lead":"nobody@example.org","cadence":"reviewed","to":"me@example.net"}')
like "$out" '^404 ' "an unknown lead: 404"
is "$(ls "$T/smtp/out" | grep -c '\.eml$')" 2 "nothing else was sent"
is "$(q "SELECT count(*) FROM touches WHERE kind = 'test'")" 2 "two test touches in all"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
