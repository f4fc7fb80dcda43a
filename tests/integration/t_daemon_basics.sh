#!/bin/sh
# drumbeatd end to end: start on a temporary store, health, tokens, the public
# listener, status, metrics, pidfile, clean stop, and no secret in the log.
. "$(dirname "$0")/lib.sh"

out=$("$DRUMBEATD" --version); ok $? "drumbeatd --version exits 0"
abi=$(awk '/define DRUMBEAT_ABI_MAJOR/ { M = $3 } /define DRUMBEAT_ABI_MINOR/ { m = $3 }
           END { print M "\\." m }' "$top_srcdir/include/drumbeat/version.h")
like "$out" "^drumbeatd [0-9]+\\.[0-9]+\\.[0-9]+ \\(plugin ABI $abi\\)" "--version names the version and the ABI of version.h"
out=$("$DRUMBEATD" --help); ok $? "drumbeatd --help exits 0"
like "$out" '--pidfile' "--help documents --pidfile"
out=$("$DRUMBEAT" --help); ok $? "drumbeat --help exits 0"
like "$out" 'check-config' "drumbeat --help lists check-config"

out=$("$DRUMBEAT" plugin-help example_channel); ok $? "plugin-help works offline"
like "$out" 'dir +path +required' "plugin-help lists the declared options with their types"
like "$out" 'delay +duration.*default=0' "plugin-help shows defaults"
out=$("$DRUMBEAT" plugin-help no_such_plugin 2>&1); rc=$?
is "$rc" 2 "plugin-help on a missing plugin exits 2"
like "$out" 'no_such_plugin' "and names it"
out=$("$DRUMBEAT" check-config -c "$top_srcdir/config/drumbeat.json" 2>&1); ok $? "the shipped demo config is valid"

CONF=$T/c
make_config "$CONF"
start_daemon "$CONF"; ok $? "drumbeatd starts on a fresh store"
ok "$(test -f "$CONF/store/drumbeat.db"; echo $?)" "the store file is created"
is "$(cat "$CONF/drumbeatd.pid" 2>/dev/null)" "$PID" "the pidfile holds the daemon's pid"
mode=$(sqlite3 "$CONF/store/drumbeat.db" 'PRAGMA journal_mode;' 2>/dev/null)
is "$mode" "wal" "the store runs in WAL mode"

is "$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")" 200 "/healthz needs no token"
r=$(curl -s -w ' %{http_code}' "$API/api/status")
like "$r" '401$' "/api/status without a token is 401"
like "$r" '"error"' "the 401 body is a JSON error"
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$API/api/status")
is "$r" 401 "a wrong token is 401"
r=$(api GET /api/status)
like "$r" '^200 ' "/api/status with a person's token is 200"
like "$r" '"example_channel"' "status lists the example channel plugin"
like "$r" '"state": ?"running"' "the example channel instance is running"
like "$r" '"sqlite"' "status names the store backend"
r=$(api GET /api/whoami)
like "$r" '"Admin"' "whoami names the token's person"

is "$(curl -s -o /dev/null -w '%{http_code}' "$PUB/healthz")" 200 "the public listener answers /healthz"
is "$(curl -s -o /dev/null -w '%{http_code}' "$PUB/api/status")" 404 "/api on the public listener is 404"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$CONF/admin.token")" "$PUB/api/status")" 404 \
  "/api on the public listener is 404 even with a token"

m=$(curl -s "$API/metrics")
like "$m" '^# TYPE drumbeat_loop_lag_seconds gauge' "/metrics is Prometheus text with the loop lag"
like "$m" 'process_resident_memory_bytes [0-9]' "/metrics has process figures"
like "$m" 'drumbeat_store_leads' "/metrics has store figures"
like "$m" 'drumbeat_store_lazy_syncs_total [0-9]' "/metrics counts the fsyncs made for lazy commits"
like "$(api GET /api/status)" '"lazy_syncs": ?[0-9]' "status counts them too"

st=$(cli status); ok $? "drumbeat status exits 0"
like "$st" 'example_channel' "drumbeat status shows the loaded plugin"
like "$st" 'public' "drumbeat status shows the listeners"

stop_daemon
is "$STATUS" 0 "SIGTERM stops drumbeatd with status 0"
ok "$(test ! -e "$CONF/drumbeatd.pid"; echo $?)" "the pidfile is removed at a clean stop"
log=$(cat "$CONF/daemon.log")
like "$log" 'drumbeatd stopped' "the log records the clean stop"
unlike "$log" "$(cat "$CONF/admin.token")" "the admin token never appears in the log"
like "$log" 'level=info' "log lines carry a level"
done_testing
