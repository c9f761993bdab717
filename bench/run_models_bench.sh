#!/usr/bin/env bash
# veil vs ONNX Runtime (fp32) on the shipped models, in one run: imports models/{mlp,cnn,vit,
# textgen} with the built `veil`, then times veil (bench/models: veil_bench_models) and ONNX
# Runtime (bench/ort_bench.js) on the same inputs at batch 1 and 64, and prints the latency
# ratio veil/ORT against the goals (<= 1.0 for mlp and cnn, <= 1.5 for vit and textgen).
#
#   bench/run_models_bench.sh [--threads N] [--rounds R] [--min-seconds S] [--breakdown]
#                             [--results FILE.jsonl]
#
# Each round times, per model, veil then ORT (odd rounds) or ORT then veil (even rounds);
# the table reports, per engine, the best (minimum) of the per-round medians, because on a
# shared machine interference only ever adds time. It also shows the ratio of process CPU
# time per run, which other processes' load does not inflate. Default: 2 rounds, >= 1 s and
# >= 20 runs per measurement. --breakdown adds veil's per-op-kind time (each node timed
# alone); --results keeps the raw JSON lines (path relative to the repository root).
# Builds nothing: it uses build/ as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=1
rounds=2
min_seconds=1
breakdown=0
results=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --min-seconds) min_seconds=$2; shift 2 ;;
    --breakdown) breakdown=1; shift ;;
    --results) results=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

veil=build/src/cli/veil
bench=build/bench/models/veil_bench_models
for exe in $veil $bench; do
  if [[ ! -x $exe ]]; then
    echo "$exe is missing. Build it first (release build, benchmarks on), e.g.:" >&2
    echo "  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVEIL_BUILD_BENCH=ON" >&2
    echo "  cmake --build build -j2 --target veil veil_bench_models" >&2
    echo "(or scripts/build.sh build -DCMAKE_BUILD_TYPE=Release, which builds everything)" >&2
    exit 1
  fi
done
export NODE_PATH=$PWD/third_party/node/node_modules
if ! node -e "require('onnxruntime-node')" 2>/dev/null; then
  echo "onnxruntime-node is not installed in third_party/node (run scripts/install-deps.sh)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
models=(mlp cnn vit textgen)

echo "== importing the shipped models into $tmp"
for m in mlp cnn vit; do
  $veil import models/$m/$m.onnx --calibration models/$m/calibration.npy -o "$tmp/$m.veil" --segments 3 >/dev/null
done
$veil import models/textgen/textgen.onnx --calibration models/textgen/calibration_tokens.npy \
  --calibration models/textgen/calibration_positions.npy -o "$tmp/textgen.veil" --segments 3 >/dev/null

git_state=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "== machine:  $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) CPU(s)"
echo "== date:     $(date -u '+%Y-%m-%d %H:%M UTC')   load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== source:   $git_state$(git status --porcelain -- src include 2>/dev/null | grep -q . && echo ' (uncommitted changes under src/ or include/)' || true)"
echo "== settings: threads $threads, batches 1 and 64, $rounds round(s), >= ${min_seconds} s and >= 20 runs each"

raw=$tmp/results.jsonl
: >"$raw"
run_veil() {
  $bench --threads "$threads" --kernel auto --batches 1,64 --min-seconds "$min_seconds" --min-runs 20 \
    "$tmp/$1.veil" | sed "s/^{/{\"round\":$2,/" >>"$raw"
}
run_ort() {
  node bench/ort_bench.js --threads "$threads" --batches 1,64 --min-seconds "$min_seconds" --min-runs 20 \
    models/$1/$1.onnx | sed "s/^{/{\"round\":$2,/" >>"$raw"
}
for ((r = 1; r <= rounds; ++r)); do
  for m in "${models[@]}"; do
    echo "   round $r: $m"
    if ((r % 2 == 1)); then run_veil "$m" "$r"; run_ort "$m" "$r"; else run_ort "$m" "$r"; run_veil "$m" "$r"; fi
  done
done

if ((breakdown)); then
  echo "== veil per-op-kind breakdown (each node timed alone via RunSegment)"
  for m in "${models[@]}"; do
    $bench --threads "$threads" --kernel auto --batches 1,64 --min-seconds "$min_seconds" --min-runs 20 \
      --breakdown "$tmp/$m.veil" | grep '"breakdown":' >>"$raw"
    $veil inspect --json "$tmp/$m.veil" | node -e '
      const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
      const h = {};
      for (const n of j.nodes) h[n.op] = (h[n.op] || 0) + 1;
      console.log(JSON.stringify({inspect: true, model: j.name, ops: h}));' >>"$raw"
  done
fi

[[ -n $results ]] && cp "$raw" "$results"

node - "$raw" "$threads" "$rounds" <<'EOF'
const fs = require('fs');
const [file, threads, rounds] = process.argv.slice(2);
const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const goals = {mlp: 1.0, cnn: 1.0, vit: 1.5, textgen: 1.5};
const fmt = (x) => (x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const best = (engine, model, batch) => {
  const runs = lines.filter((l) => !l.breakdown && !l.inspect && l.engine === engine && l.model === model &&
                                   l.batch === batch);
  const ms = runs.map((l) => l.median_ms);
  return {best: Math.min(...ms), all: ms, cpu: Math.min(...runs.map((l) => l.cpu_ms_per_run))};
};
const kernel = (lines.find((l) => l.engine === 'veil' && l.kernel) || {}).kernel;
console.log(`\nveil (${kernel} kernels) vs ONNX Runtime fp32, ${threads} thread(s); each cell is the best ` +
            `of ${rounds} per-round medians (ms)\n`);
const rows = [['model', 'batch', 'veil ms', 'ORT ms', 'veil/ORT', 'goal', 'result', 'CPU-time veil/ORT',
               'veil medians', 'ORT medians']];
for (const model of Object.keys(goals))
  for (const batch of [1, 64]) {
    const v = best('veil', model, batch), o = best('onnxruntime', model, batch);
    const ratio = v.best / o.best;
    rows.push([model, String(batch), fmt(v.best), fmt(o.best), ratio.toFixed(2), '<= ' + goals[model].toFixed(1),
               ratio <= goals[model] ? 'PASS' : 'MISS', (v.cpu / o.cpu).toFixed(2), v.all.map(fmt).join(' '),
               o.all.map(fmt).join(' ')]);
  }
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
const line = (r) => '| ' + r.map((s, c) => (c < 1 || c > 7 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join(' | ') + ' |';
console.log(line(rows[0]));
console.log('|' + widths.map((w, c) => (c < 1 || c > 7 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
for (const r of rows.slice(1)) console.log(line(r));
console.log(`\nveil/ORT and PASS/MISS compare wall-clock medians. CPU-time veil/ORT compares process CPU time per run\n` +
            `(best of the rounds): it ignores time lost to other processes, so at 1 thread it is the steadier ratio\n` +
            `on a shared machine; at more threads it compares total CPU spent (ORT's idle workers spin), not latency.`);

const bd = lines.filter((l) => l.breakdown === true);
if (bd.length) {
  console.log('\nveil per-op-kind time (sum over nodes of each node\'s median when run alone), ms and share');
  for (const model of Object.keys(goals))
    for (const batch of [1, 64]) {
      const ops = bd.filter((l) => l.model === model && l.batch === batch);
      const total = ops.find((l) => l.op.startsWith('('));
      if (!total) continue;
      const parts = ops.filter((l) => l !== total).sort((a, b) => b.ms - a.ms)
          .map((l) => `${l.op}[${l.nodes}] ${fmt(l.ms)} (${(100 * l.share).toFixed(0)}%)`);
      console.log(`  ${model} b${batch}: sum ${fmt(total.ms)} vs Run ${fmt(total.whole_run_median_ms)} | ` +
                  parts.join(', '));
    }
  for (const l of lines.filter((x) => x.inspect))
    console.log(`  ops in ${l.model}.veil: ` + Object.entries(l.ops).map(([k, n]) => `${k} ${n}`).join(', '));
}
EOF
