#!/bin/sh
# drumbeatd with channel_smtp on tls "implicit" (SMTPS) against aiosmtpd
# speaking TLS from the first byte, with a throwaway CA and server
# certificate made here: a message verified with ca_file arrives as composed
# and ends sent; AUTH PLAIN works over it; without the CA (verify on) nothing
# is sent, the touch waits for a retry and the log names the certificate
# failure; the password is never logged.
. "$(dirname "$0")/lib.sh"

# A CA and a server certificate for localhost (DNS name and 127.0.0.1).
P=$T/pki
mkdir -p "$P"
if ! command -v openssl >/dev/null 2>&1 || ! {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=drumbeat test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$P/ca.key" -out "$P/ca.pem" &&
  openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$P/srv.key" -out "$P/srv.csr" &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$P/ext" &&
  openssl x509 -req -in "$P/srv.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial \
    -days 2 -extfile "$P/ext" -out "$P/srv.pem"; } >"$P/log" 2>&1; then
  echo "1..0 # SKIP openssl could not make the certificates"
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi

# Two SMTPS servers: one open, one that requires AUTH. lib.sh's cleanup
# stops the last one started; this trap stops the first one too.
start_smtp "{\"dir\": \"$T/smtp/out\", \"implicit_tls\": {\"cert\": \"$P/srv.pem\", \"key\": \"$P/srv.key\"}}"
OPEN_PID=$SMTP_PID OPEN_PORT=$SMTP_PORT
trap 'kill "$OPEN_PID" 2>/dev/null; cleanup' EXIT
rm -f "$T/smtp/port"   # start_smtp waits for this file to fill: not with the old port
start_smtp "{\"dir\": \"$T/smtp/auth_out\", \"implicit_tls\": {\"cert\": \"$P/srv.pem\", \"key\": \"$P/srv.key\"}, \"auth\": {\"user\": \"ada\", \"password\": \"Sm7ps-pw-right\"}}"
AUTH_PORT=$SMTP_PORT

CONF=$T/c
make_config "$CONF" "$(printf ',\n  "plugin_path": []')"
printf 'Sm7ps-pw-right\n' >"$CONF/smtp.password"
common="\"host\": \"localhost\", \"tls\": \"implicit\", \"command_timeout\": \"5s\", \"data_timeout\": \"5s\", \"connect_timeout\": \"5s\""
sed -i "s|\"channels\": \\[|\"channels\": [\n    { \"name\": \"smtps\", \"plugin\": \"channel_smtp\", \"options\": { $common, \"port\": $OPEN_PORT, \"ca_file\": \"$P/ca.pem\" } },\n    { \"name\": \"smtps_auth\", \"plugin\": \"channel_smtp\", \"options\": { $common, \"port\": $AUTH_PORT, \"ca_file\": \"$P/ca.pem\", \"username\": \"ada\", \"password_file\": \"smtp.password\" } },\n    { \"name\": \"smtps_noca\", \"plugin\": \"channel_smtp\", \"options\": { $common, \"port\": $OPEN_PORT } },|" "$CONF/drumbeat.json"
sed -i 's|"channel": "outbox" }|"channel": "smtps" },\n    { "name": "bo", "address": "bo@example.com", "display_name": "Bo", "channel": "smtps_auth" },\n    { "name": "cy", "address": "cy@example.com", "display_name": "Cy", "channel": "smtps_noca" }|' "$CONF/drumbeat.json"
DB="$CONF/store/drumbeat.db"
q() { sqlite3 "$DB" "$1"; }
start_daemon "$CONF" || { done_testing; exit 1; }
LOG=$CONF/daemon.log

like "$(cat "$LOG")" 'channel_smtp/smtps\] msg="relay" server=localhost:[0-9]+ tls=implicit verify_cert=on auth=no' \
  "the implicit TLS channel starts (no longer refused)"

# (1) Verified with ca_file: delivered as composed, and sent.
out=$(cli send --mailbox ada --to maria@example.org --first-name Maria --subject "Hello over SMTPS" \
  --text "Hi Maria.
.a line with a leading dot
The end." --wait 10)
ok $? "drumbeat send over implicit TLS exits 0"
like "$out" 'touch 1: sent \(code 250\)' "the touch ends sent with the server's 250"
f="$T/smtp/out/maria@example.org.eml"
[ -f "$f" ]; ok $? "the SMTPS server received the message"
like "$(cat "$T/smtp/out/maria@example.org.json" 2>/dev/null)" '"tls": true' "... over TLS"
is "$(ls "$T/smtp/out" | grep -c '\.eml$')" 1 "... exactly once"
# The message as GMime composes it, CRLF line ends; only the Date (read
# back, and checked for shape) and the Message-Id (the touch's key) vary.
date=$(sed -n 's/^Date: \(.*\)\r$/\1/p' "$f")
like "$date" '^[A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [+-][0-9]{4}$' "the Date header is there"
key=$(api GET /api/touches/1 | sed -n 's/.*"idempotency_key": *"\([^"]*\)".*/\1/p')
printf 'Date: %s\r\nFrom: Ada <ada@example.com>\r\nSubject: Hello over SMTPS\r\nTo: Maria <maria@example.org>\r\nMessage-Id: <%s@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi Maria.\r\n.a line with a leading dot\r\nThe end.\r\n' \
  "$date" "$key" >"$T/expected.eml"
cmp -s "$T/expected.eml" "$f"; ok $? "it arrived byte for byte as composed (headers and body)"
msg=$(cat "$f")
like "$msg" 'From: Ada <ada@example.com>' "From is the mailbox"
like "$msg" 'Subject: Hello over SMTPS' "Subject as sent"
like "$msg" '^\.a line with a leading dot' "a leading dot survives dot-stuffing through the relay"
like "$msg" 'The end\.' "the body's last line arrived"
like "$(cat "$LOG")" 'channel_smtp/smtps\] msg="batch done" server=localhost:[0-9]+ tls=yes first_touch=[0-9]+ sent=1' \
  "the batch log says TLS was up"

# (2) AUTH PLAIN over implicit TLS.
out=$(cli send --mailbox bo --to ana@example.org --subject "Hello with AUTH" --text "Hi Ana." --wait 10)
ok $? "drumbeat send with AUTH over implicit TLS exits 0"
like "$out" 'touch 2: sent \(code 250\)' "the touch ends sent"
like "$(cat "$T/smtp/auth_out/ana@example.org.json" 2>/dev/null)" '"auth": "ada"' \
  "the server saw user ada authenticated"

# (3) Verification on, no CA: the server's certificate is refused.
out=$(cli send --mailbox cy --to rui@example.org --subject "Not sent" --text "Hi Rui." --wait 3)
i=0
while [ "$(q "SELECT attempts FROM touches WHERE id = 3")" = 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ ! -f "$T/smtp/out/rui@example.org.eml" ]; ok $? "without the CA nothing was delivered"
st=$(q "SELECT state FROM touches WHERE id = 3")
ok "$([ "$st" = scheduled ] || [ "$st" = deferred ] || [ "$st" = sending ]; echo $?)" \
  "the touch is not sent and waits for a retry (state $st)"
like "$(q "SELECT detail FROM touches WHERE id = 3")" 'TLS: certificate verification failed' \
  "the touch's detail names the certificate failure"
like "$(cat "$LOG")" 'cannot send; will retry.*TLS: certificate verification failed: unable to get local issuer certificate' \
  "the log line names the cause"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
# (4) No secret in the log.
unlike "$(cat "$LOG")" 'Sm7ps-pw-right' "the password never appears in the log"
done_testing
