#!/bin/sh
# The webhook channel and event notifications end to end, against a real
# receiver (tests/helpers/webhook_receiver.py) that verifies every signature:
# a touch sent through a mailbox bound to a webhook channel arrives as signed
# JSON with the lead and the rendered subject and text; a receiver that
# answers 500 twice gets the touch again after the dispatcher's backoff (on
# the test clock) with the same Idempotency-Key, and the touch ends sent; a
# stage change (and each send) reaches the notification subscriber, with
# only the lead fields it was configured for, and notifications never echo.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
  if [ "${CI:-}" = true ]; then echo "1..1"; echo "not ok 1 - $PY is missing"; exit 1; fi
  echo "1..0 # SKIP $PY is missing"; exit 0
fi

CONF=$T/c
mkdir -p "$CONF"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$CONF/webhook.secret"
RLOG=$T/received.jsonl
mkfifo "$T/rin"
"$PY" "$top_srcdir/tests/helpers/webhook_receiver.py" --secret-file "$CONF/webhook.secret" \
  --log "$RLOG" <"$T/rin" >"$T/rout" &
RPID=$!
exec 9>"$T/rin"
trap 'exec 9>&-; kill "$RPID" 2>/dev/null; cleanup' EXIT
i=0
while [ $i -lt 100 ] && [ ! -s "$T/rout" ]; do sleep 0.1; i=$((i + 1)); done
RPORT=$(head -n 1 "$T/rout")
[ -n "$RPORT" ] || { echo "1..1"; echo "not ok 1 - the webhook receiver did not start"; exit 1; }
HOOK="http://127.0.0.1:$RPORT"

head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$CONF/admin.token"
cat >"$CONF/drumbeat.json" <<JSON
{
  "daemon": { "log_level": "debug", "shutdown_timeout": "5s" },
  "store": { "path": "store/drumbeat.db" },
  "api": { "port": 0 },
  "public": { "port": 0 },
  "team": [
    { "name": "Admin", "email": "admin@example.com", "token_file": "admin.token", "roles": ["admin"] }
  ],
  "channels": [
    { "name": "crm", "plugin": "channel_webhook",
      "options": { "url": "$HOOK/hook", "secret_file": "webhook.secret", "timeout": "5s" } },
    { "name": "flaky", "plugin": "channel_webhook",
      "options": { "url": "$HOOK/flaky/2/500/mail", "secret_file": "webhook.secret" } },
    { "name": "events", "plugin": "channel_webhook",
      "options": { "url": "$HOOK/events", "secret_file": "webhook.secret" } }
  ],
  "mailboxes": [
    { "name": "hooky", "address": "ada@example.com", "display_name": "Ada", "channel": "crm" },
    { "name": "flakybox", "address": "ada@example.com", "channel": "flaky" }
  ],
  "notifications": [
    { "events": ["stage_changed", "touch_sent"], "channel": "events", "lead_fields": ["email"] }
  ]
}
JSON

# field PATH-PREFIX INDEX PYTHON-EXPR: evaluates EXPR on the INDEXth request
# to PATH-PREFIX (r: the record, b: its body parsed, h: its headers).
field() {
  "$PY" - "$RLOG" "$1" "$2" "$3" <<'PYEOF'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rs = [r for r in rs if r["path"].startswith(sys.argv[2])]
idx = int(sys.argv[3])
if idx >= len(rs):
    print("<no request %d to %s>" % (idx, sys.argv[2]))
    sys.exit(0)
r = rs[idx]; h = r["headers"]
try:
    b = json.loads(r["body"])
except ValueError:
    b = None
print(eval(sys.argv[4]))
PYEOF
}
count() { "$PY" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if l.strip() and json.loads(l)["path"].startswith(sys.argv[2])))' "$RLOG" "$1" 2>/dev/null || echo 0; }

# wait_state ID STATE: polls the touch until it is in STATE (10 s at most).
wait_state() {
  j=0
  while [ $j -lt 100 ]; do
    api GET "/api/touches/$1" | grep -qE "\"state\": ?\"$2\"" && return 0
    sleep 0.1
    j=$((j + 1))
  done
  return 1
}
wait_count() {  # wait_count PATH-PREFIX N
  j=0
  while [ $j -lt 100 ] && [ "$(count "$1")" -lt "$2" ]; do sleep 0.1; j=$((j + 1)); done
}

# Subscriber config mistakes are caught offline, each with a hint.
cat >"$T/bad.json" <<'JSON'
{ "channels": [ { "name": "crm", "plugin": "channel_webhook", "options": { "url": "http://127.0.0.1:9/" } } ],
  "notifications": [ { "evnts": ["stage_changed"], "channel": "crm" },
                     { "events": ["stage_chnaged"], "channel": "crn", "lead_fields": ["emial"] } ] }
JSON
out=$("$DRUMBEAT" check-config -c "$T/bad.json" 2>&1)
ok "$([ $? -ne 0 ]; echo $?)" "check-config refuses a bad notifications section"
like "$out" 'notifications\[0\]\.evnts: unknown key; did you mean "events"' "an unknown key gets a hint"
like "$out" 'events\[0\]: unknown event type "stage_chnaged"; did you mean "stage_changed"' \
  "a misspelt event type gets a hint"
like "$out" 'channel: no channel named "crn" is configured; did you mean "crm"' \
  "a subscriber must name a configured channel"
like "$out" 'lead_fields\[0\]: unknown lead field "emial"; did you mean "email"' \
  "lead_fields are checked"

start_daemon "$CONF" --test-clock || { done_testing; exit 1; }
: >"$RLOG"

# 1. A touch through a mailbox bound to the webhook channel.
out=$(cli send --to maria@example.org --first-name "María" --company "Acme" \
  --subject "Hola María" --text "Hi there" --mailbox hooky --wait 10)
ok $? "drumbeat send through the webhook mailbox exits 0"
like "$out" 'touch 1: sent \(code 200\)' "the touch ends sent with the HTTP status"
is "$(count /hook)" 1 "the receiver got one request"
is "$(field /hook 0 'r["signature_valid"]')" True "its signature verifies with the shared secret"
is "$(field /hook 0 'h["content-type"]')" application/json "it is JSON"
is "$(field /hook 0 'b["lead"]["email"]')" maria@example.org "the JSON carries the lead"
is "$(field /hook 0 'b["lead"]["first_name"] + "/" + b["lead"]["company"]')" "María/Acme" \
  "... with its fields"
is "$(field /hook 0 'b["subject"] + "|" + b["text"]')" "Hola María|Hi there" \
  "... the rendered subject and text"
is "$(field /hook 0 'b["touch_id"], b["channel"], b["mailbox"], b["step"]')" "(1, 'crm', 'hooky', 0)" \
  "... the touch id, channel, mailbox and step"
is "$(field /hook 0 'b["idempotency_key"] == h["idempotency-key"]')" True \
  "the Idempotency-Key header is the touch's key"
like "$(field /hook 0 'b["message"]')" 'Message-I[Dd]: <' "... and the composed message rides along"
is "$(field /hook 0 '"attrs" in b["lead"] or "lawful_basis" in b["lead"]')" False \
  "no free attributes or bookkeeping leave with the lead"

# 2. 500, 500, then 200: retried on the dispatcher's backoff, same key.
out=$(cli send --to bob@example.org --subject "Second" --text "T2" --mailbox flakybox --wait 0)
ok $? "a touch through the flaky receiver is queued"
# Touch 2 is already taken: the notification that touch 1 was sent.
ID=$(printf '%s' "$out" | sed -n 's/^touch \([0-9]*\): queued.*/\1/p')
wait_count /flaky 1
wait_state "$ID" scheduled
ok $? "after a 500 the touch is scheduled again"
like "$(api GET "/api/touches/$ID")" '"reason": ?"retry"' "... with reason retry"
r=$(api POST /api/clock/advance '{"by":"2m"}')
like "$r" '^200 ' "the test clock moves 2 minutes"
wait_count /flaky 2
is "$(count /flaky)" 2 "the second attempt arrives after the backoff"
wait_state "$ID" scheduled
r=$(api POST /api/clock/advance '{"by":"3m"}')
wait_state "$ID" sent
ok $? "the third attempt gets 200 and the touch ends sent"
is "$(count /flaky)" 3 "the receiver saw exactly three attempts"
k0=$(field /flaky 0 'h["idempotency-key"]')
k2=$(field /flaky 2 'h["idempotency-key"]')
is "$k2" "$k0" "the Idempotency-Key is identical across the retries"
is "$(field /flaky 2 'r["signature_valid"]')" True "the last attempt is signed validly"

# 3. A stage change reaches the subscriber.
r=$(api POST /api/leads/1/stage '{"stage":"prospecting"}')
like "$r" '^200 ' "lead 1 moves to prospecting"
j=0
while [ $j -lt 100 ]; do
  "$PY" -c 'import json,sys; sys.exit(0 if any(json.loads(json.loads(l)["body"]).get("event") == "stage_changed" for l in open(sys.argv[1]) if l.strip() and json.loads(l)["path"].startswith("/events")) else 1)' "$RLOG" && break
  sleep 0.1
  j=$((j + 1))
done
SEL='[x for x in [json.loads(q["body"]) for q in [json.loads(l) for l in open(sys.argv[1]) if l.strip()] if q["path"].startswith("/events")] if x["event"] == "stage_changed"][0]'
is "$(field /events 0 "$SEL[\"lead_id\"]")" 1 "a stage_changed notification arrives for lead 1"
is "$(field /events 0 "$SEL[\"data\"][\"from\"] + '>' + $SEL[\"data\"][\"to\"]")" \
  "intelligence>prospecting" "the notification carries the event's data"
is "$(field /events 0 "sorted($SEL)")" \
  "['actor', 'at', 'data', 'event', 'event_id', 'lead', 'lead_id', 'time', 'touch_id']" \
  "... and exactly the documented members"
like "$(field /events 0 "$SEL")" "'lead': \\{'email': 'maria@example.org'\\}" \
  "... and only the configured lead field"
like "$(field /events 0 "$SEL")" "'actor': \\{'kind': 'person', 'name': 'Admin'\\}" "... and the actor"
is "$(field /events 0 'all(json.loads(l)["signature_valid"] for l in open(sys.argv[1]) if l.strip())')" \
  True "every request the receiver got was validly signed"
sent=$(field /events 0 'sorted(x["touch_id"] for x in [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1]) if l.strip() and json.loads(l)["path"].startswith("/events")] if x["event"] == "touch_sent")')
is "$sent" "[1, $ID]" "each sent touch was notified once, and notifications never notify themselves"
r=$(api GET "/api/touches?state=sent")
like "$r" '"kind": ?"notification"' "notifications are touches, recorded as sent"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
