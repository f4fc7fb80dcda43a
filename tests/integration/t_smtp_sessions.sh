#!/bin/sh
# The dispatcher keeps as many SMTP batches claimed as the channel_smtp
# instance runs sessions at once (its max_connections, through the ABI 1.2
# concurrency callback), plus one ahead: with max_connections 4, 250 touches
# due together go out over 4 sessions open at the same time against aiosmtpd
# (which answers each DATA after 40 ms, so sessions overlap), never more,
# and every message arrives once.
. "$(dirname "$0")/lib.sh"

N=250
start_smtp "{\"dir\": \"$T/smtp/out\", \"data_delay_ms\": 40, \"sessions_file\": \"$T/smtp/sessions.json\"}"

CONF=$T/c
make_config "$CONF" "$(printf ',\n  "plugin_path": []')"
sed -i "s|\"channels\": \\[|\"channels\": [\n    { \"name\": \"relay\", \"plugin\": \"channel_smtp\", \"options\": { \"host\": \"127.0.0.1\", \"port\": $SMTP_PORT, \"tls\": \"none\", \"max_connections\": 4 } },|" "$CONF/drumbeat.json"
sed -i 's|"channel": "outbox" }|"channel": "relay", "daily_cap": 100000 }|' "$CONF/drumbeat.json"
start_daemon "$CONF" --test-clock=2030-01-07T08:00:00Z || { done_testing; exit 1; }

made=0
i=0
while [ $i -lt $N ]; do
  r=$(api POST /api/touches "{\"mailbox\": \"ada\", \"due_at\": \"2030-01-07T09:00:00Z\",
      \"lead\": {\"email\": \"lead$i@example.org\"}, \"subject\": \"Hello $i\", \"text\": \"Hi.\"}")
  case "$r" in 201*) made=$((made + 1)) ;; esac
  i=$((i + 1))
done
is "$made" "$N" "$N touches made, due at 09:00 on the test clock"

sent() { api GET /metrics | sed -n 's/^drumbeat_store_touches{state="sent"} \([0-9]*\)$/\1/p'; }
api POST /api/clock/advance '{"by": "2h"}' >/dev/null
i=0
while [ "$(sent)" != "$N" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
is "$(sent)" "$N" "all $N sent"
n=$(ls "$T/smtp/out" | grep -c '\.eml$')
is "$n" "$N" "aiosmtpd received $N messages, each once"
s=$(cat "$T/smtp/sessions.json")
like "$s" '"max_open": 4[,}]' "4 sessions were open at once (max_connections 4)"
like "$s" '"connections": [5-9][,}]' "one session per batch of at most 50"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
