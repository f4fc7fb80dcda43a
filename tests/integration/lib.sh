# tests/integration/lib.sh: TAP helpers and a drumbeatd harness for the shell
# tests. Sourced, not run. Each test starts its own daemon on a temporary
# store with ephemeral ports and stops it at exit.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
DRUMBEATD="$top_builddir/daemon/drumbeatd"
DRUMBEAT="$top_builddir/daemon/drumbeat"
t_n=0
t_failed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/drumbeat-e2e-XXXXXX")
export DRUMBEAT_PLUGIN_PATH="${DRUMBEAT_PLUGIN_PATH:-$top_builddir/tests/plugins/.libs:$top_builddir/plugins/example_channel/.libs:$top_builddir/plugins/channel_smtp/.libs:$top_builddir/plugins/channel_webhook/.libs:$top_builddir/plugins/channel_maildir/.libs:$top_builddir/plugins/enrich_csv/.libs:$top_builddir/plugins/enrich_guess/.libs:$top_builddir/plugins/enrich_http/.libs:$top_builddir/plugins/enrich_mx/.libs}"

ok() {  # ok COND-EXIT-STATUS DESCRIPTION
  t_n=$((t_n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $t_n - $2"; else echo "not ok $t_n - $2"; t_failed=$((t_failed + 1)); fi
}
is() {  # is GOT WANT DESCRIPTION
  t_n=$((t_n + 1))
  if [ "$1" = "$2" ]; then echo "ok $t_n - $3"
  else echo "not ok $t_n - $3"; echo "# got '$1', want '$2'"; t_failed=$((t_failed + 1)); fi
}
like() {  # like TEXT PATTERN DESCRIPTION (grep -E)
  t_n=$((t_n + 1))
  if printf '%s' "$1" | grep -qE -- "$2"; then echo "ok $t_n - $3"
  else echo "not ok $t_n - $3"; printf '%s\n' "$1" | head -n 20 | sed 's/^/# /'
    echo "# (wanted /$2/)"; t_failed=$((t_failed + 1)); fi
}
unlike() {
  t_n=$((t_n + 1))
  if printf '%s' "$1" | grep -qE -- "$2"; then echo "not ok $t_n - $3"
    printf '%s\n' "$1" | grep -E -- "$2" | head -n 5 | sed 's/^/# /'; t_failed=$((t_failed + 1))
  else echo "ok $t_n - $3"; fi
}
diag() { echo "# $*"; }
done_testing() {
  echo "1..$t_n"
  [ "$t_failed" -eq 0 ]
}

# make_config DIR [EXTRA-JSON-MEMBERS]: a config with one admin (token in
# DIR/admin.token), the example channel writing into DIR/outbox and one mailbox.
make_config() {
  d=$1
  extra=${2:-}
  mkdir -p "$d"
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/admin.token"
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/pros1.token"
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/pros2.token"
  cat >"$d/drumbeat.json" <<JSON
{
  "daemon": { "log_level": "debug", "shutdown_timeout": "5s" },
  "store": { "path": "store/drumbeat.db" },
  "api": { "port": 0 },
  "public": { "port": 0 },
  "team": [
    { "name": "Admin", "email": "admin@example.com", "token_file": "admin.token", "roles": ["admin"] },
    { "name": "Pia", "email": "pia@example.com", "token_file": "pros1.token", "roles": ["prospector"] },
    { "name": "Paul", "email": "paul@example.com", "token_file": "pros2.token", "roles": ["prospector"] }
  ],
  "channels": [
    { "name": "outbox", "plugin": "example_channel",
      "options": { "dir": "outbox", "fail_recipients": "nobody@example.net" } }
  ],
  "mailboxes": [
    { "name": "ada", "address": "ada@example.com", "display_name": "Ada", "channel": "outbox" }
  ]$extra
}
JSON
}

# make_cadence_config DIR: make_config with what cadences need: a public URL
# for the unsubscribe link, the repository's templates with a fresh signing
# secret, and the sender's company and postal address.
make_cadence_config() {
  mkdir -p "$1"
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1/unsub.secret"
  make_config "$1" ',
  "public_url": "https://links.example.com",
  "templates": { "dir": "'"$top_srcdir"'/templates", "unsubscribe_secret_file": "unsub.secret",
                 "list_unsubscribe_mailto": "unsubscribe@example.com" },
  "company": { "name": "Example Ltd", "postal_address": "1 Example Street, Paris" }'
}

# start_daemon DIR [ARGS...]: starts drumbeatd on DIR/drumbeat.json; sets PID,
# API (base URL), PUB (public base URL). Returns 1 if it did not come up.
start_daemon() {
  d=$1
  shift
  : >"$d/daemon.log"
  "$DRUMBEATD" -c "$d/drumbeat.json" --pidfile "$d/drumbeatd.pid" "$@" 2>>"$d/daemon.log" &
  PID=$!
  i=0
  while [ $i -lt 100 ]; do
    api_port=$(sed -n 's/.*listener=api address=[^ ]* port=\([0-9]*\).*/\1/p' "$d/daemon.log" | tail -n 1)
    pub_port=$(sed -n 's/.*listener=public address=[^ ]* port=\([0-9]*\).*/\1/p' "$d/daemon.log" | tail -n 1)
    if [ -n "$api_port" ] && [ -n "$pub_port" ] && grep -q 'drumbeatd started' "$d/daemon.log"; then
      API="http://127.0.0.1:$api_port"
      PUB="http://127.0.0.1:$pub_port"
      return 0
    fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
  done
  diag "drumbeatd did not start; log:"
  sed 's/^/#   /' "$d/daemon.log" | tail -n 30
  return 1
}

# stop_daemon: SIGTERM and wait; sets STATUS to the exit status.
stop_daemon() {
  STATUS=0
  kill -TERM "$PID" 2>/dev/null
  wait "$PID" || STATUS=$?
}

# api METHOD PATH [BODY]: prints "STATUS BODY" using the admin token.
api() {
  tok=$(cat "$CONF/admin.token")
  if [ $# -ge 3 ]; then
    curl -sS -o "$T/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $tok" \
      -H 'Content-Type: application/json' --data-binary "$3" "$API$2"
  else
    curl -sS -o "$T/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $tok" "$API$2"
  fi
  printf ' '
  cat "$T/body"
}

cli() {  # cli ARGS...: the drumbeat CLI against the running daemon, as the admin
  "$DRUMBEAT" "$@" --url "$API" --token-file "$CONF/admin.token"
}

# start_smtp CONFIG_JSON: aiosmtpd (tests/helpers/smtp_server.py, whose
# header documents CONFIG_JSON: "dir", "rules", "auth", "tls"...) on
# 127.0.0.1; sets SMTP_PORT, and cleanup stops it. Without /usr/bin/python3
# and aiosmtpd the whole test is skipped (a failure under CI=true).
start_smtp() {
  if ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
    echo "1..0 # SKIP needs /usr/bin/python3 with aiosmtpd"
    [ "${CI:-}" = true ] && exit 1
    exit 0
  fi
  mkdir -p "$T/smtp"
  printf '%s\n' "$1" >"$T/smtp/cfg.json"
  /usr/bin/python3 "$top_srcdir/tests/helpers/smtp_server.py" --config "$T/smtp/cfg.json" \
    >"$T/smtp/port" 2>"$T/smtp/log" &
  SMTP_PID=$!
  i=0
  while [ ! -s "$T/smtp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  SMTP_PORT=$(head -n 1 "$T/smtp/port")
}

# start_dnsmasq LOG DNSMASQ-ARGS...: a dnsmasq on 127.0.0.1 at a random free
# port, in the foreground of a background job; sets DNS_PORT and DNS_PID.
# Returns only once it answers a query (tests/helpers/dns_ready.py): a
# daemon pointed at a dnsmasq still starting gets "connection refused" and
# gives its lookups up, which once failed CI on a busy machine. A port
# someone else holds makes dnsmasq exit; then another port is tried.
DNS_PID=
start_dnsmasq() {
  dns_log=$1
  shift
  dns_bin=
  for p in /usr/sbin/dnsmasq /sbin/dnsmasq; do [ -x "$p" ] && dns_bin=$p && break; done
  [ -n "$dns_bin" ] || { echo "dnsmasq is missing (package dnsmasq-base)" >"$dns_log"; return 1; }
  dns_tries=0
  while [ $dns_tries -lt 5 ]; do
    DNS_PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 + 20000 ))
    "$dns_bin" --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
      --listen-address=127.0.0.1 --port="$DNS_PORT" "$@" >>"$dns_log" 2>&1 &
    DNS_PID=$!
    /usr/bin/python3 "$top_srcdir/tests/helpers/dns_ready.py" "$DNS_PORT" 10 &&
      kill -0 "$DNS_PID" 2>/dev/null && return 0
    kill "$DNS_PID" 2>/dev/null
    wait "$DNS_PID" 2>/dev/null
    DNS_PID=
    dns_tries=$((dns_tries + 1))
  done
  return 1
}

cleanup() {
  [ -n "${PID:-}" ] && kill -KILL "$PID" 2>/dev/null
  [ -n "${SMTP_PID:-}" ] && kill "$SMTP_PID" 2>/dev/null
  [ -n "${DNS_PID:-}" ] && kill "$DNS_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
