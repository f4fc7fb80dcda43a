#!/bin/sh
# `drumbeat render --message` on the shipped templates, exactly as sent:
# headers (RFC 2047, Message-ID, Date, threading, List-Unsubscribe with
# RFC 8058), CRLF, multipart/alternative, the Missing: policy; then
# check-config and drumbeatd catching a template syntax error as
# file:line:column, at start and on SIGHUP.
. "$(dirname "$0")/lib.sh"

TPL=$top_srcdir/templates
FIX=$top_srcdir/tests/fixtures/render

render() {  # render TEMPLATE DATA: the message in $T/msg, stderr in $T/err; sets RC
  RC=0
  "$DRUMBEAT" render --message "$TPL/$1.mustache" "$FIX/$2" >"$T/msg" 2>"$T/err" || RC=$?
}
headers() { sed -n '1,/^\r$/p' "$T/msg" | tr -d '\r'; }

for t in intro follow-up-1 follow-up-2 break-up welcome; do
  render "$t" lead.json
  is "$RC" 0 "$t: composes"
  h=$(headers)
  like "$h" '^From: Ada Lovelace <ada@example.com>$' "$t: From with the mailbox's display name"
  like "$h" '^To: =\?UTF-8\?[bB]\?[A-Za-z0-9+/=]+\?= <maria.lopez@example.org>$' \
    "$t: To with the lead's name RFC 2047-encoded"
  like "$h" '^Subject: ' "$t: a Subject"
  like "$h" '^Date: Mon, 05 Jan 2026 09:00:00 \+0000$' "$t: Date from step.date"
  like "$h" '^Message-Id: <t42.1@example.com>$' "$t: Message-ID from the step"
  like "$h" '^List-Unsubscribe: <https://outreach.example.com/u/[A-Za-z0-9_-]+>,$' \
    "$t: List-Unsubscribe carries the signed https link"
  like "$h" '^ <mailto:unsubscribe@example.com\?subject=unsubscribe%20[A-Za-z0-9_-]+>$' \
    "$t: and the mailto, on its own folded line"
  like "$h" '^List-Unsubscribe-Post: List-Unsubscribe=One-Click$' "$t: RFC 8058 one-click"
  like "$h" '^MIME-Version: 1.0$' "$t: MIME-Version"
  lf=$(tr -d '\n' <"$T/msg" | tr -cd '\r' | wc -c)
  nl=$(tr -cd '\n' <"$T/msg" | wc -c)
  is "$lf" "$nl" "$t: every line ends in CRLF"
  long=$(awk 'length($0) > 999' "$T/msg" | wc -l)
  is "$long" 0 "$t: no line over 998 octets"
done

render intro lead.json
h=$(headers)
like "$h" '^Subject: AT&T =\?UTF-8\?' "intro: the subject is not HTML-escaped and is encoded"
like "$h" '^Content-Type: multipart/alternative;' "intro: text and HTML alternatives"
like "$(cat "$T/msg")" 'display:none' "intro: the preheader is hidden in the HTML part"
cp "$T/msg" "$T/first"
render intro lead.json
cmp -s "$T/first" "$T/msg"; ok $? "rendering the same touch twice gives the same bytes"
render follow-up-1 lead.json
like "$(headers)" '^Content-Type: text/plain; charset=utf-8$' "follow-up-1: plain text only"

render follow-up-1 follow-up.json
is "$RC" 0 "a threaded step composes"
h=$(headers)
like "$h" '^In-Reply-To: <t42.1@example.com>$' "In-Reply-To names the first email"
like "$h" '^References: <t42.1@example.com>$' "References too"
like "$h" '^Subject: Re: AT&T =\?UTF-8\?' "Re: + the original subject"
like "$h" '^Message-Id: <t42.2@example.com>$' "its own Message-ID"

render intro no-first-name.json
is "$RC" 2 "a missing first_name refuses (Missing: first-line)"
like "$(cat "$T/err")" 'intro.mustache: missing first_name' "with the reason"
render call-first lead.json
is "$RC" 2 "a call script is not composed as an email"
out=$("$DRUMBEAT" render --message --help); rc=$?
is "$rc" 0 "render --message --help"
like "$out" 'List-Unsubscribe' "documents the message form"

# check-config: the shipped folder is valid; a syntax error is file:line:column.
CONF=$T/c
mkdir -p "$CONF/tpl"
cp -R "$TPL"/. "$CONF/tpl/"
printf 'render-e2e-secret-0123456789abcdef\n' >"$CONF/unsub.secret"
make_config "$CONF" ',
  "templates": { "dir": "tpl", "unsubscribe_secret_file": "unsub.secret",
                 "list_unsubscribe_mailto": "unsubscribe@example.com" }'
out=$("$DRUMBEAT" check-config -c "$CONF/drumbeat.json" 2>&1); rc=$?
is "$rc" 0 "check-config accepts the shipped templates"
printf 'Subject: Hello\nLang: en\n\nHi {{first_name,\n' >"$CONF/tpl/broken.mustache"
printf 'Subjcet: Hi\n\nBody\n' >"$CONF/tpl/typo.mustache"
out=$("$DRUMBEAT" check-config -c "$CONF/drumbeat.json" 2>&1); rc=$?
is "$rc" 2 "check-config refuses a template syntax error"
like "$out" 'tpl/broken.mustache:4:[0-9]+: expected' "the error is file:line:column: what was expected"
like "$out" 'tpl/typo.mustache:1:1: unknown header "Subjcet"; did you mean "Subject"\?' \
  "every template error is printed, with a did-you-mean"

# drumbeatd compiles them at start, and keeps the old set on a bad SIGHUP.
rm "$CONF/tpl/broken.mustache" "$CONF/tpl/typo.mustache"
if start_daemon "$CONF"; then
  like "$(cat "$CONF/daemon.log")" 'templates loaded" dir=[^ ]*tpl count=6' "drumbeatd loads the templates"
  printf 'Subject: {{#x}}\n\nB\n' >"$CONF/tpl/broken.mustache"
  kill -HUP "$PID"
  i=0
  while [ $i -lt 50 ] && ! grep -q 'new templates rejected' "$CONF/daemon.log"; do
    sleep 0.1; i=$((i + 1))
  done
  like "$(cat "$CONF/daemon.log")" 'broken.mustache:1:' "a reload logs the template error"
  like "$(cat "$CONF/daemon.log")" 'new templates rejected' "and keeps the old configuration"
  kill -0 "$PID" 2>/dev/null; ok $? "the daemon keeps running"
  stop_daemon
  is "$STATUS" 0 "and stops cleanly"
else
  ok 1 "drumbeatd started"
fi
rc=0
"$DRUMBEATD" -c "$CONF/drumbeat.json" 2>"$T/start.log" || rc=$?
is "$rc" 2 "drumbeatd refuses to start with a broken template"
like "$(cat "$T/start.log")" 'invalid templates; not starting' "and says why"

done_testing
