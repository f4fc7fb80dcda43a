#!/bin/sh
# A provider's sending limits (channel_smtp publishes them from its profile
# or options; the dispatcher enforces them over all the channel's
# mailboxes) on the test clock, against aiosmtpd on 127.0.0.1: per_minute 2
# and per_day 3 let two messages go in the first minute, one more in the
# next, and the rest the next day; the held ones wait, deferred with
# provider_minute_limit or provider_daily_limit; nothing is lost or sent twice.
. "$(dirname "$0")/lib.sh"

start_smtp "{\"dir\": \"$T/smtp/out\"}"

CONF=$T/c
make_config "$CONF"
sed -i "s|\"channels\": \\[|\"channels\": [\n    { \"name\": \"relay\", \"plugin\": \"channel_smtp\", \"options\": { \"host\": \"127.0.0.1\", \"port\": $SMTP_PORT, \"tls\": \"none\", \"per_minute\": 2, \"per_day\": 3 } },|" "$CONF/drumbeat.json"
# Two mailboxes on the one account: the limits count both.
sed -i 's|"channel": "outbox" }|"channel": "relay" },\n    { "name": "bo", "address": "bo@example.com", "channel": "relay" }|' "$CONF/drumbeat.json"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }
advance() { api POST /api/clock/advance "{\"by\":\"$1\"}" >/dev/null; }
received() { ls "$T/smtp/out" 2>/dev/null | grep -c '\.eml$'; }

start_daemon "$CONF" --test-clock=2026-01-05T10:00:00Z || { done_testing; exit 1; }
like "$(q "SELECT value FROM plugin_kv WHERE instance = 'relay' AND key = 'limits'")" '"per_minute":2,"per_day":3' \
   "channel_smtp published its limits"
for n in 1 2 3; do
  api POST /api/touches "{\"lead\":{\"email\":\"p$n@lead.example\"},\"mailbox\":\"ada\",\"subject\":\"Hello $n\",\"text\":\"Hi.\"}" >/dev/null
done
for n in 4 5; do
  api POST /api/touches "{\"lead\":{\"email\":\"p$n@lead.example\"},\"mailbox\":\"bo\",\"subject\":\"Hello $n\",\"text\":\"Hi.\"}" >/dev/null
done
advance 1s
is "$(q "SELECT count(*) FROM touches WHERE state = 'sent'")" 2 "the first minute: two go (per_minute 2)"
is "$(q "SELECT count(*) || ' ' || strftime('%H:%M:%S', min(due_at) / 1000, 'unixepoch') FROM touches WHERE state = 'deferred' AND reason = 'provider_minute_limit'")" \
   "3 10:01:00" "the other three wait, deferred(provider_minute_limit), a minute after the first send"
advance 1m
is "$(q "SELECT count(*) FROM touches WHERE state = 'sent'")" 3 "the next minute: one more (per_day 3 across both mailboxes)"
is "$(q "SELECT count(*) || ' ' || strftime('%Y-%m-%dT%H:%M', min(due_at) / 1000, 'unixepoch') FROM touches WHERE state = 'deferred' AND reason = 'provider_daily_limit'")" \
   "2 2026-01-06T10:00" "the last two wait, deferred(provider_daily_limit), until the first send leaves the 24 hours"
advance 1d
is "$(q "SELECT count(*) FROM touches WHERE state = 'sent'")" 5 "the next day they go"
is "$(received)" 5 "aiosmtpd received five messages"
is "$(q "SELECT count(DISTINCT recipient) FROM touches WHERE state = 'sent'")" 5 "each exactly once"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
