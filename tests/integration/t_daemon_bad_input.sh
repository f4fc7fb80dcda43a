#!/bin/sh
# Bad input drumbeatd must survive or refuse clearly: invalid configs, an
# unwritable store, a store from a newer version, a port in use, a plugin
# that cannot load, malformed and oversized HTTP requests, and SIGHUP with a
# broken config.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
make_config "$CONF"

out=$("$DRUMBEAT" check-config -c "$CONF/drumbeat.json" 2>&1); rc=$?
is "$rc" 0 "check-config accepts a valid config"
sed 's/"shutdown_timeout": "5s"/"shutdown_timeout": "5s", "dialy_cap": 3/' "$CONF/drumbeat.json" >"$T/typo.json"
cp "$CONF"/*.token "$T/"
out=$("$DRUMBEAT" check-config -c "$T/typo.json" 2>&1); rc=$?
is "$rc" 2 "check-config exits 2 on an invalid config"
like "$out" 'daemon.dialy_cap: unknown key' "an unknown key is named by its JSON path"
printf '{ "api": { "port": "eighty" }, }' >"$T/syntax.json"
out=$("$DRUMBEAT" check-config -c "$T/syntax.json" 2>&1)
like "$out" 'syntax.json:1:[0-9]+' "a syntax error names the file, line and column"
out=$("$DRUMBEATD" -c "$T/typo.json" 2>&1); rc=$?
is "$rc" 2 "drumbeatd refuses to start on an invalid config (exit 2)"
like "$out" 'dialy_cap' "and logs why"
out=$("$DRUMBEATD" -c "$T/missing.json" 2>&1); rc=$?
is "$rc" 2 "a missing config is refused (exit 2)"
like "$out" 'missing.json' "the message names the missing file"

# An unwritable store path: its parent is a regular file.
make_config "$T/u"
touch "$T/u/store"
out=$("$DRUMBEATD" -c "$T/u/drumbeat.json" 2>&1); rc=$?
is "$rc" 1 "an unwritable store path stops the start (exit 1)"
like "$out" 'store/drumbeat.db' "the error names the store path"

# A store from a newer drumbeat.
make_config "$T/n"
start_daemon "$T/n" && stop_daemon
sqlite3 "$T/n/store/drumbeat.db" 'PRAGMA user_version = 999;'
out=$("$DRUMBEATD" -c "$T/n/drumbeat.json" 2>&1); rc=$?
is "$rc" 1 "a store from a newer version is refused"
like "$out" 'newer|upgrade' "the message says the store is newer"

# A plugin that cannot load: the daemon carries on, the instance is failed.
make_config "$CONF" ',
  "enrichers": [ { "name": "ghost", "plugin": "no_such_plugin" },
                 { "name": "badmagic", "plugin": "bad_magic" } ]'
start_daemon "$CONF"; ok $? "drumbeatd starts even when a plugin cannot load"
r=$(api GET /api/status)
like "$r" '"name": ?"ghost"[^}]*"state": ?"failed"|"state": ?"failed"[^}]*"name": ?"ghost"' "the missing plugin's instance is marked failed"
like "$r" 'not a drumbeat plugin' "the bad-magic plugin is refused with a clear error"
like "$(cat "$CONF/daemon.log")" 'bad_magic' "the log names the refused plugin file"
like "$r" '"name": ?"outbox"[^}]*"state": ?"running"|"state": ?"running"[^}]*"name": ?"outbox"' "the good channel still runs"

# Port in use: a second daemon on the same API port.
port=${API##*:}
make_config "$T/p"
out=$("$DRUMBEATD" -c "$T/p/drumbeat.json" --api-port "$port" 2>&1); rc=$?
is "$rc" 1 "a second daemon on a busy port exits 1"
like "$out" "127.0.0.1:$port.*(in use|already)" "the error names the address and says it is in use"

# Malformed and oversized HTTP requests.
tok=$(cat "$CONF/admin.token")
r=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  --data-binary '{"lead": ' "$API/api/touches")
like "$r" '400$' "malformed JSON is a 400"
like "$r" '"path"' "the 400 body names the path"
head -c 2000000 /dev/zero | tr '\0' 'a' >"$T/big"
r=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  --data-binary @"$T/big" "$API/api/touches")
is "$r" 413 "an oversized body is a 413"
r=$(printf 'GARBAGE\r\n\r\n' | curl -s -o /dev/null -w '%{http_code}' --max-time 5 telnet://127.0.0.1:"$port" 2>/dev/null; true)
is "$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")" 200 "the daemon still answers after bad requests"

# SIGHUP with a broken config keeps the old one; a good one is taken.
cp "$CONF/drumbeat.json" "$T/good.json"
printf '{ broken' >"$CONF/drumbeat.json"
kill -HUP "$PID"; sleep 0.5
like "$(cat "$CONF/daemon.log")" 'old one stays in force' "a broken config on SIGHUP is rejected"
r=$(api GET /api/status)
like "$r" '^200 ' "the daemon keeps serving with the old config"
sed 's/"Paul"/"Paula"/' "$T/good.json" >"$CONF/drumbeat.json"
kill -HUP "$PID"; sleep 0.5
like "$(cat "$CONF/daemon.log")" 'configuration reloaded' "a valid config on SIGHUP is taken"
r=$(api GET /api/status)
like "$r" '"reloads": ?1' "status counts the reload"

stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly after all that"
done_testing
