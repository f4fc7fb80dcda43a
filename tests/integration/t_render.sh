#!/bin/sh
# drumbeat render: a template file and a JSON context in, the rendered text
# out byte for byte (no newline added), spec escaping, partials from a
# folder, and "file:line:col: message" with exit 2 for bad templates or data.
. "$(dirname "$0")/lib.sh"

D=$T/tpl
mkdir -p "$D/parts"
printf 'Hi {{first_name|there}},\n\n{{#company}}How is {{name}}?{{/company}}\n  {{> sig}}\nP.S. {{note}}' >"$D/intro.mustache"
printf -- '--\n{{sender}}\n' >"$D/parts/sig.mustache"
cat >"$D/data.json" <<'JSON'
{ "first_name": "Ada", "company": { "name": "AT&T" }, "sender": "Bo <bo@x.test>",
  "note": "{{#evil}}{{/evil}}" }
JSON

"$DRUMBEAT" render "$D/intro.mustache" "$D/data.json" --partials "$D/parts" >"$T/out" 2>"$T/err"; rc=$?
is "$rc" 0 "render exits 0"
printf 'Hi Ada,\n\nHow is AT&amp;T?\n  --\n  Bo &lt;bo@x.test&gt;\nP.S. {{#evil}}{{/evil}}' >"$T/want"
cmp -s "$T/out" "$T/want"; ok $? "the output is byte-exact: escaped as the spec says, partial indented, lead data not evaluated"
is "$(tail -c 1 "$T/out" | od -An -c | tr -d ' ')" "}" "no newline is added at the end"
is "$(cat "$T/err")" "" "nothing on stderr when every variable has a value"

printf '{ "company": false }' >"$D/sparse.json"
"$DRUMBEAT" render "$D/intro.mustache" "$D/sparse.json" --partials "$D/parts" >"$T/out" 2>"$T/err"; rc=$?
is "$rc" 0 "missing values still render (exit 0)"
printf 'Hi there,\n\n\n  --\n  \nP.S. ' >"$T/want"
cmp -s "$T/out" "$T/want"; ok $? "fallback used, missing values empty"
like "$(cat "$T/err")" 'no value for: sender, note' "variables without a value are listed on stderr"

# Partials default to the template's own folder.
printf '[{{>inc}}]' >"$D/outer.mustache"
printf '{{x}}' >"$D/inc.mustache"
printf '{"x":"<&>"}' >"$D/x.json"
out=$("$DRUMBEAT" render "$D/outer.mustache" "$D/x.json"); rc=$?
is "$out" "[&lt;&amp;&gt;]" "partials are read beside the template without --partials"

printf 'line one\n  {{#items}}\n{{name}\n' >"$D/bad.mustache"
"$DRUMBEAT" render "$D/bad.mustache" "$D/data.json" >"$T/out" 2>"$T/err"; rc=$?
is "$rc" 2 "a syntax error exits 2"
like "$(cat "$T/err")" "^$D/bad.mustache:3:8: expected '}}' to close the tag opened at 3:1\$" \
  "the error is one file:line:col: message line"
is "$(wc -c <"$T/out" | tr -d ' ')" 0 "nothing is printed on stdout after an error"

printf '{{#a}}\n{{/b}}\n' >"$D/mismatch.mustache"
"$DRUMBEAT" render "$D/mismatch.mustache" "$D/data.json" 2>"$T/err" >/dev/null; rc=$?
is "$rc" 2 "a mismatched section exits 2"
like "$(cat "$T/err")" "mismatch.mustache:2:1: expected '\{\{/a\}\}' to close the section opened at 1:1, got '\{\{/b\}\}'" \
  "the mismatch names both tags"

printf '{ "a": 1,\n  "b": }' >"$D/broken.json"
"$DRUMBEAT" render "$D/intro.mustache" "$D/broken.json" 2>"$T/err" >/dev/null; rc=$?
is "$rc" 2 "invalid JSON data exits 2"
like "$(cat "$T/err")" "broken.json:2:[0-9]+: " "the JSON error names file, line and column"

printf '{{>broken}}' >"$D/usesbroken.mustache"
printf 'ok\n {{^x}}' >"$D/parts/broken.mustache"
"$DRUMBEAT" render "$D/usesbroken.mustache" "$D/data.json" --partials "$D/parts" 2>"$T/err" >/dev/null; rc=$?
is "$rc" 2 "a partial that does not compile exits 2"
like "$(cat "$T/err")" "parts/broken.mustache:2:8: expected '\{\{/x\}\}'" "and names the partial's file"

"$DRUMBEAT" render "$D/nope.mustache" "$D/data.json" 2>"$T/err" >/dev/null; rc=$?
is "$rc" 2 "a missing template file exits 2"
like "$(cat "$T/err")" "nope.mustache: cannot read" "and names the file"

"$DRUMBEAT" render "$D/intro.mustache" >/dev/null 2>&1; rc=$?
is "$rc" 64 "a missing argument is a usage error (64)"
out=$("$DRUMBEAT" render --help); rc=$?
is "$rc" 0 "render --help exits 0"
like "$out" "--partials DIR" "and documents --partials"

done_testing
