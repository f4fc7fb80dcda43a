#!/bin/sh
# bench/bench_render.sh: drumbeat's Mustache engine against mustache.js on a
# realistic ~650-character cold email (six variables, one section, one
# fallback), escaping off on both sides as for a plain-text body. Checks the
# two outputs are byte-identical first, then times 1,000,000 renders on each
# side (best of ROUNDS=3, alternating) and prints both rates and the ratio, then full message compositions
# (subject + body render, GMime compose, serialisation) per second.
#
# Usage: bench/bench_render.sh [BUILD_DIR]   (a configured, built tree;
#        default: the current directory). Needs node and npm for the JS side.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${1:-.}" && pwd)
N=${N:-1000000}
M=${M:-100000}
ROUNDS=${ROUNDS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/drumbeat-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT

[ -f "$build/Makefile" ] || { echo "bench_render.sh: $build is not a configured build tree" >&2; exit 2; }
make -s -C "$build" daemon/libcore.la >/dev/null
libs=$(printf 'print-libs:\n\t@echo $(CORE_DEP_LIBS)\n' | make -s -C "$build" -f Makefile -f - print-libs)
cflags=$(printf 'print-cflags:\n\t@echo $(CORE_DEP_CFLAGS)\n' | make -s -C "$build" -f Makefile -f - print-cflags)
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$src/daemon" -I"$build" $cflags -o "$work/render_bench" \
  "$here/render_bench.c" "$build/daemon/.libs/libcore.a" $libs

tpl=$here/cold_email.mustache
data=$here/cold_email.json

echo "# installing mustache (npm) into $work/js"
npm install --silent --no-audit --no-fund --prefix "$work/js" mustache >/dev/null 2>&1
# mustache.js has no fallback syntax: {{x|y}} becomes the standard idiom
# {{#x}}{{x}}{{/x}}{{^x}}y{{/x}}, which means the same thing.
cat >"$work/js/bench.js" <<'JS'
const Mustache = require('mustache');
const fs = require('fs');
Mustache.escape = t => t;   // escaping off, as for a plain-text body
const [tplPath, dataPath, mode, n] = process.argv.slice(2);
const tpl = fs.readFileSync(tplPath, 'utf8').replace(/\{\{\s*([\w.]+)\s*\|\s*([^}]*?)\s*\}\}/g,
  (_, name, fb) => `{{#${name}}}{{${name}}}{{/${name}}}{{^${name}}}${fb}{{/${name}}}`);
const data = JSON.parse(fs.readFileSync(dataPath, 'utf8'));
if (mode === '--print') { process.stdout.write(Mustache.render(tpl, data)); process.exit(0); }
const N = Number(n);
for (let i = 0; i < 20000; i++) Mustache.render(tpl, data);   // warm up the JIT and the cache
const t0 = process.hrtime.bigint();
let bytes = 0;
for (let i = 0; i < N; i++) bytes += Mustache.render(tpl, data).length;
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`js_renders ${N}\njs_seconds ${s.toFixed(3)}\njs_renders_per_sec ${Math.round(N / s)}`);
JS

"$work/render_bench" "$tpl" "$data" --print >"$work/c.txt"
node "$work/js/bench.js" "$tpl" "$data" --print >"$work/js.txt"
if ! cmp -s "$work/c.txt" "$work/js.txt"; then
  echo "bench_render.sh: the outputs differ:" >&2
  diff "$work/c.txt" "$work/js.txt" >&2 || true
  exit 1
fi
echo "# outputs byte-identical ($(wc -c <"$work/c.txt") bytes, mustache.js $(node -p "require('$work/js/node_modules/mustache/package.json').version"), node $(node --version))"

# Alternate the two sides ROUNDS times and keep each side's best run, so a
# burst of load on a shared machine does not decide the ratio.
c=0
js=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
  "$work/render_bench" "$tpl" "$data" "$N" 0 >"$work/c.out"
  node "$work/js/bench.js" "$tpl" "$data" time "$N" >"$work/js.out"
  rc=$(sed -n 's/^c_renders_per_sec //p' "$work/c.out")
  rjs=$(sed -n 's/^js_renders_per_sec //p' "$work/js.out")
  echo "# round $r: drumbeat $rc/s ($(sed -n 's/^c_seconds //p' "$work/c.out") s), mustache.js $rjs/s ($(sed -n 's/^js_seconds //p' "$work/js.out") s)"
  [ "$rc" -gt "$c" ] && c=$rc
  [ "$rjs" -gt "$js" ] && js=$rjs
  r=$((r + 1))
done
"$work/render_bench" "$tpl" "$data" 0 "$M" >"$work/c.out"
echo "drumbeat:     $c renders/s (best of $ROUNDS x $N)"
echo "mustache.js:  $js renders/s (best of $ROUNDS x $N)"
awk -v c="$c" -v js="$js" 'BEGIN { printf "ratio:        %.1fx (target: >= 10x)\n", c / js }'
echo "compositions: $(sed -n 's/^c_compositions_per_sec //p' "$work/c.out")/s over $M (render subject + body, compose_message, serialize; $(sed -n 's/^c_bytes_per_message //p' "$work/c.out") bytes each)"
