#!/bin/sh
# drumbeatd with a mailbox on a channel_smtp instance, against aiosmtpd on
# 127.0.0.1: `drumbeat send` ends sent and the message arrives as composed;
# a 550 5.1.1 recipient ends failed and its address is suppressed.
. "$(dirname "$0")/lib.sh"

start_smtp "$(cat <<JSON
{"dir": "$T/smtp/out",
 "rules": [{"stage": "RCPT", "match": "gone@example.net", "reply": "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown"}]}
JSON
)"

CONF=$T/c
# One extra channel, and the mailbox's "channel" switched to it: the same
# one-line change the README shows.
make_config "$CONF" "$(printf ',\n  "plugin_path": []')"
sed -i "s|\"channels\": \\[|\"channels\": [\n    { \"name\": \"relay\", \"plugin\": \"channel_smtp\", \"options\": { \"host\": \"127.0.0.1\", \"port\": $SMTP_PORT, \"tls\": \"none\" } },|" "$CONF/drumbeat.json"
sed -i 's|"channel": "outbox"|"channel": "relay"|' "$CONF/drumbeat.json"
start_daemon "$CONF" || { done_testing; exit 1; }

out=$(cli send --to maria@example.org --first-name "Maria" --subject "Hello Maria" --text "Hi there.
.a line with a leading dot" --wait 10)
ok $? "drumbeat send through channel_smtp exits 0"
like "$out" 'touch 1: sent \(code 250\)' "the touch ends sent with the relay's 250"
f="$T/smtp/out/maria@example.org.eml"
[ -f "$f" ]; ok $? "aiosmtpd received the message"
n=$(ls "$T/smtp/out" | grep -c '^maria@example.org.*\.eml$')
is "$n" 1 "it was received exactly once"
msg=$(cat "$f")
like "$msg" 'From: Ada <ada@example.com>' "From is the mailbox"
like "$msg" 'Subject: Hello Maria' "Subject as sent"
like "$msg" '^\.a line with a leading dot' "a leading dot survives SMTP dot-stuffing"
unlike "$msg" '^(Received|Return-Path):' "no trace headers were added on the way"
crlf=$(od -An -c "$f" | tr -d ' \n' | grep -c '[^\\r]\\n' || true)
is "$crlf" 0 "every line ends in CRLF, as GMime composed it"
r=$(api GET /api/touches/1)
key=$(printf '%s' "$r" | sed -n 's/.*"idempotency_key": *"\([^"]*\)".*/\1/p')
like "$msg" "Message-I[Dd]: <$key@example.com>" "the Message-ID is the touch's idempotency key"
like "$r" '"detail": ?"250 2\.0\.0 Ok: queued as' "the relay's reply with its queue id is recorded"

out=$(cli send --to gone@example.net --subject "Hello" --text "Hi" --wait 10)
ok "$([ $? -eq 1 ]; echo $?)" "a 5.1.1 recipient: drumbeat send exits 1"
like "$out" 'failed \(code 550\) reason=recipient_rejected' "the touch fails as a recipient rejection"
r=$(api POST /api/touches '{"lead":{"email":"gone@example.net"},"subject":"again","text":"x"}')
like "$r" '^409 ' "the address is suppressed"
[ ! -f "$T/smtp/out/gone@example.net.eml" ]; ok $? "nothing was delivered to it"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
