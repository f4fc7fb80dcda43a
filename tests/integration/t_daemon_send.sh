#!/bin/sh
# One touch end to end through the example channel: queued, claimed, sent,
# recorded; a rejected recipient is failed and suppressed; lead data cannot
# inject a mail header; stage moves assign owners round-robin.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
make_config "$CONF"
start_daemon "$CONF" || { done_testing; exit 1; }

out=$(cli send --to maria@example.org --first-name "María" --subject "Hola María" --text "Hi there" --wait 10)
ok $? "drumbeat send exits 0 when the touch is sent"
like "$out" 'touch 1: sent \(code 250\)' "the touch ends sent with the channel's code"
n=$(ls "$CONF/outbox/new" | wc -l)
is "$n" 1 "the example channel delivered one file"
msg=$(cat "$CONF/outbox/new/"*)
like "$msg" 'Message-I[Dd]: <[^>]+@example.com>' "the message has a Message-ID under the mailbox's domain"
like "$msg" 'To: =\?UTF-8\?' "a non-ASCII name is RFC 2047-encoded"
like "$msg" 'From: Ada <ada@example.com>' "From carries the mailbox's display name"
r=$(api GET /api/touches/1)
like "$r" '"state": ?"sent"' "GET /api/touches/1 shows sent"
r=$(api GET /api/leads/1)
like "$r" '"touch_sent"' "the lead's event log records the send"
like "$r" '"actor": ?"Admin"' "the API change is recorded with its actor"

# A rejected recipient: failed, reason recorded, address suppressed.
out=$(cli send --to nobody@example.net --subject "Hello" --text "Hi" --wait 10)
ok "$([ $? -eq 1 ]; echo $?)" "drumbeat send exits 1 when the touch fails"
like "$out" 'failed \(code 550\) reason=recipient_rejected' "a 550 recipient rejection fails the touch"
r=$(api POST /api/touches '{"lead":{"email":"nobody@example.net"},"subject":"again","text":"x"}')
like "$r" '^409 ' "a suppressed address cannot get another touch"

# Header injection: CR/LF in lead data stays data.
r=$(api POST /api/touches '{"lead":{"email":"eve@example.org","first_name":"Eve\r\nBcc: victim@example.com"},"subject":"Hi\r\nX-Injected: yes","text":"body"}')
like "$r" '^201 ' "a lead with CR/LF in its name is accepted as data"
sleep 1
inj=$(grep -l 'eve@example.org' "$CONF/outbox/new/"* | head -n 1)
hdrs=$(sed '/^\r*$/q' "$inj")
unlike "$hdrs" '^Bcc:' "CR/LF in a name cannot add a Bcc header"
unlike "$hdrs" '^X-Injected:' "CR/LF in the subject cannot add a header"

# Validation of the API body names the JSON path.
r=$(api POST /api/touches '{"lead":{"email":"x@example.org","frist_name":"X"},"subject":"a","text":"b"}')
like "$r" '^400 .*lead.frist_name: unknown key; did you mean \\"first_name\\"' "an unknown key gets a did-you-mean hint"
r=$(api POST /api/touches '{"lead":{"email":"not-an-address"},"subject":"a","text":"b"}')
like "$r" '^400 .*lead.email' "a bad address is a 400 naming lead.email"

# Stage transitions: owner round-robin among the prospectors, with history.
r=$(api POST /api/leads/1/stage '{"stage":"prospecting"}')
like "$r" '^200 ' "moving lead 1 to prospecting succeeds"
r=$(api POST /api/leads/3/stage '{"stage":"prospecting"}')
like "$r" '^200 ' "moving lead 3 to prospecting succeeds"
o1=$(api GET /api/leads/1); o3=$(api GET /api/leads/3)
like "$o1" '"Pia"' "the first lead goes to the first prospector"
like "$o3" '"Paul"' "the next lead goes to the next prospector (round robin)"
like "$o1" '"stage_changed"' "the stage change is an event"
r=$(api POST /api/leads/1/stage '{"stage":"nowhere"}')
like "$r" '^400 .*stage: expected one of' "an unknown stage is refused"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
