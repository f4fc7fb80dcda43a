#!/bin/sh
# Nothing lost, nothing twice: SIGTERM in the middle of a send lets it finish;
# a crash (SIGKILL) in the middle of a send leaves the touch in_doubt, never
# resent by itself; an operator resends it with the same Message-ID.
. "$(dirname "$0")/lib.sh"

CONF=$T/c
make_config "$CONF"
sed -i 's/"fail_recipients": "nobody@example.net"/"fail_recipients": "nobody@example.net", "delay": "1500ms"/' "$CONF/drumbeat.json"

start_daemon "$CONF" || { done_testing; exit 1; }
cli send --to a@example.org --subject s --text t --wait 0 >/dev/null
sleep 0.4
stop_daemon
is "$STATUS" 0 "SIGTERM during a send exits 0"
like "$(cat "$CONF/daemon.log")" 'touch=1 .*outcome=done' "the in-flight send finished before the stop"
is "$(sqlite3 "$CONF/store/drumbeat.db" 'SELECT state FROM touches WHERE id=1')" sent "the touch is recorded sent"

start_daemon "$CONF" || { done_testing; exit 1; }
cli send --to b@example.org --subject s --text t --wait 0 >/dev/null
sleep 0.5
kill -KILL "$PID"; wait "$PID" 2>/dev/null
is "$(sqlite3 "$CONF/store/drumbeat.db" 'SELECT state FROM touches WHERE id=2')" sending "after a crash the claimed touch is still 'sending' on disk"

start_daemon "$CONF" || { done_testing; exit 1; }
sleep 0.5
r=$(api GET /api/touches/2)
like "$r" '"state": ?"in_doubt"' "at the next start it is in_doubt"
like "$r" '"reason": ?"interrupted"' "with the reason interrupted"
sleep 2
r=$(api GET /api/touches/2)
like "$r" '"state": ?"in_doubt"' "it is not resent automatically"
out=$(cli touch list --state in_doubt)
like "$out" 'b@example.org' "touch list --state in_doubt shows it"
out=$(cli touch resend 2); ok $? "an operator resends it"
sleep 2.5
r=$(api GET /api/touches/2)
like "$r" '"state": ?"sent"' "the resent touch ends sent"
n=$(grep -l 'b@example.org' "$CONF/outbox/new/"* 2>/dev/null | wc -l)
is "$n" 1 "one delivered file: the resend reused the touch's key"
r=$(api POST /api/touches/1/resend)
like "$r" '^409 ' "a sent touch cannot be resent"
stop_daemon
is "$STATUS" 0 "drumbeatd stops cleanly"
done_testing
