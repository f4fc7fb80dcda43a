#!/bin/sh
# `drumbeat mailbox check` against a real dnsmasq on 127.0.0.1 (a random
# high port) serving SPF, DMARC and DKIM TXT records: all good exits 0; a
# missing DMARC record, an SPF record that does not cover the relay, and a
# missing DKIM key each exit 1 with a plain sentence; an SPF include chain is
# followed; a DNS server that is down or silent gives a clear message, fast.
. "$(dirname "$0")/lib.sh"

if ! start_dnsmasq "$T/dnsmasq.log" --local=/test/ \
      --txt-record=example.test,"v=spf1 ip4:127.0.0.0/8 -all" \
      --txt-record=_dmarc.example.test,"v=DMARC1; p=reject; rua=mailto:dmarc@example.test" \
      --txt-record=sel._domainkey.example.test,"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC" \
      --txt-record=nodmarc.test,"v=spf1 ip4:127.0.0.2 -all" \
      --txt-record=uncovered.test,"v=spf1 ip4:192.0.2.0/24 ~all" \
      --txt-record=_dmarc.uncovered.test,"v=DMARC1; p=reject" \
      --txt-record=chain.test,"v=spf1 include:_spf.chain.test -all" \
      --txt-record=_spf.chain.test,"v=spf1 include:_netblocks.chain.test ~all" \
      --txt-record=_netblocks.chain.test,"v=spf1 ip4:198.51.100.0/24 mx ip4:127.0.0.2 -all" \
      --mx-host=_netblocks.chain.test,relay.example.test,10 \
      --txt-record=_dmarc.chain.test,"v=DMARC1; p=quarantine" \
      --txt-record=k1._domainkey.chain.test,"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" \
      --txt-record=nodkim.test,"v=spf1 a:relay.example.test -all" \
      --txt-record=_dmarc.nodkim.test,"v=DMARC1; p=none" \
      --host-record=relay.example.test,127.0.0.2 \
      --mx-host=example.test,mx2.example.test,20 --mx-host=example.test,mx1.example.test,10; then
  echo "1..0 # SKIP dnsmasq did not start (package dnsmasq-base)"
  sed 's/^/# /' "$T/dnsmasq.log"
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
SILENT_PID=
trap '[ -n "$SILENT_PID" ] && kill "$SILENT_PID" 2>/dev/null; cleanup' EXIT

C=$T/drumbeat.json
cat >"$C" <<JSON
{
  "store": { "path": "store/drumbeat.db" },
  "dns": { "servers": "127.0.0.1:$DNS_PORT", "timeout": "300ms", "tries": 2 },
  "channels": [
    { "name": "relay", "plugin": "channel_smtp",
      "options": { "host": "relay.example.test", "port": 2525, "tls": "none" } },
    { "name": "outbox", "plugin": "example_channel", "options": { "dir": "outbox" } }
  ],
  "mailboxes": [
    { "name": "good", "address": "ada@example.test", "channel": "relay", "dkim_selector": "sel" },
    { "name": "nodmarc", "address": "ada@nodmarc.test", "channel": "relay" },
    { "name": "uncovered", "address": "ada@uncovered.test", "channel": "relay" },
    { "name": "chain", "address": "ada@chain.test", "channel": "relay", "dkim_selector": "k1" },
    { "name": "nodkim", "address": "ada@nodkim.test", "channel": "relay", "dkim_selector": "sel" },
    { "name": "webhooky", "address": "ada@example.test", "channel": "outbox", "dkim_selector": "sel" }
  ]
}
JSON

check() {  # check ARGS...: sets OUT (stdout+stderr) and RC
  RC=0
  OUT=$(timeout 30 "$DRUMBEAT" mailbox check "$@" -c "$C" 2>&1) || RC=$?
}

check good
is "$RC" 0 "all good: exit 0"
like "$OUT" 'ok +spf +SPF record at example.test' "SPF record found"
like "$OUT" 'ok +spf_relay +SPF for example.test covers the relay 127.0.0.2 \(relay.example.test\) via "ip4:127.0.0.0/8"' \
  "the relay is covered, and how"
like "$OUT" 'ok +dmarc +DMARC at _dmarc.example.test: p=reject' "DMARC p=reject"
like "$OUT" 'ok +dkim +DKIM key at sel._domainkey.example.test \(k=rsa\)' "DKIM key found"

check nodmarc
is "$RC" 1 "missing DMARC: exit 1"
like "$OUT" 'fail +dmarc +no DMARC record at _dmarc.nodmarc.test: Gmail and Yahoo reject bulk mail without one' \
  "says plainly that DMARC is missing and why it matters"
like "$OUT" 'warn +dkim +no dkim_selector is set for mailbox nodmarc' "no selector: a warning"

check uncovered
is "$RC" 1 "SPF not covering the relay: exit 1"
like "$OUT" 'fail +spf_relay +SPF for uncovered.test does not cover the relay 127.0.0.2 \(relay.example.test\).*softfail.*add ip4:127.0.0.2' \
  "names the relay, the result and the fix"

check chain
is "$RC" 0 "an SPF include chain that covers the relay: exit 0"
like "$OUT" 'ok +spf_relay .*via "include:_spf.chain.test"' "the include chain is followed"
like "$OUT" 'ok +dkim +DKIM key at k1._domainkey.chain.test \(k=ed25519\)' "an ed25519 key"

check nodkim
is "$RC" 1 "missing DKIM key for the configured selector: exit 1"
like "$OUT" 'fail +dkim +no DKIM key at sel._domainkey.nodkim.test' "says where the key should be"
like "$OUT" 'ok +spf_relay .*via "a:relay.example.test"' "the a: mechanism covers the relay"
like "$OUT" 'warn +dmarc .*p=none' "p=none is a warning"

check webhooky
is "$RC" 0 "a mailbox on another channel: exit 0"
like "$OUT" 'n/a +spf_relay +not applicable: mailbox webhooky sends through channel "outbox"' \
  "SPF relay coverage is not applicable"

check uncovered --json
is "$RC" 1 "--json: exit 1 too"
like "$OUT" '"ok": false' "--json: ok is false"
like "$(printf '%s' "$OUT" | tr -d '\n ')" '"name":"spf_relay","status":"fail"' "--json: each check with its status"

check nosuch
is "$RC" 2 "an unknown mailbox: exit 2"
like "$OUT" 'no mailbox named "nosuch"' "and says so"
check good --dns "not a server"
is "$RC" 2 "a bad --dns: exit 2"
RC=0; OUT=$("$DRUMBEAT" mailbox check --help 2>&1) || RC=$?
is "$RC" 0 "--help exits 0"
like "$OUT" 'Usage: drumbeat mailbox check NAME' "--help shows the usage"
RC=0; OUT=$("$DRUMBEAT" mailbox frob x 2>&1) || RC=$?
is "$RC" 64 "an unknown subcommand is a usage error"

sed 's/"sel" }/"bad selector!" }/' "$C" >"$T/bad.json"
RC=0; OUT=$("$DRUMBEAT" mailbox check good -c "$T/bad.json" 2>&1) || RC=$?
is "$RC" 2 "an invalid dkim_selector: exit 2"
like "$OUT" 'mailboxes\[4\]\.dkim_selector: expected a DKIM selector' "the config error names the path"

# The DNS server goes down: its port is closed.
kill "$DNS_PID"
wait "$DNS_PID" 2>/dev/null
DNS_PID=
start=$(date +%s)
check good
is "$RC" 1 "DNS server down: exit 1"
like "$OUT" "DNS lookups through 127.0.0.1:$DNS_PORT failed: .*(connection refused|timed out)" \
  "a clear message about the DNS server"
like "$OUT" 'fail +spf +could not look up the SPF record of example.test' "each check says it could not look up"
[ $(( $(date +%s) - start )) -lt 10 ]; ok $? "and it does not hang"

# A server that takes the packets and never answers: a timeout.
if [ -x /usr/bin/python3 ]; then
  /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$T/silent.port" &
  SILENT_PID=$!
  i=0
  while [ ! -s "$T/silent.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  start=$(date +%s)
  check good --dns "127.0.0.1:$(cat "$T/silent.port")"
  is "$RC" 1 "a silent DNS server: exit 1"
  like "$OUT" 'no DNS server answered in time \(timed out\)' "the message says it timed out"
  [ $(( $(date +%s) - start )) -lt 10 ]; ok $? "within the configured timeout and tries"
  kill "$SILENT_PID" 2>/dev/null
  SILENT_PID=
fi
done_testing
