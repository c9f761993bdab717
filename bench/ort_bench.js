// ONNX Runtime (fp32, CPU) side of the end-to-end model benchmark: the same shipped ONNX
// models, batch sizes and inputs as bench/models/models_bench.cc (veil_bench_models), one
// JSON line per (model, batch) on stdout with engine "onnxruntime".
//
//   NODE_PATH=third_party/node/node_modules node bench/ort_bench.js [--threads N]
//       [--batches 1,64] [--data-dir models] [--min-seconds 1] [--min-runs 20]
//       [--warmup-runs 3] models/cnn/cnn.onnx ...
//
// Inputs (read from DATA_DIR/<model>/, <model> = the .onnx file's base name):
//   image models: rows 0.. of calibration.npy (float32 [N,1,28,28]) repeated cyclically
//     to fill the batch (veil quantizes exactly these floats);
//   text models (inputs tokens, positions): rows 0.. of calibration_tokens.npy (int64
//     [N,64]) repeated cyclically; positions 0..63 in every row.
// Session options: intraOpNumThreads = --threads, interOpNumThreads = 1, sequential
// execution, graphOptimizationLevel 'all' (ORT's defaults otherwise: CPU memory arena,
// memory patterns, spinning intra-op threads).
//
// Timing: process.hrtime around each run, after warm-up runs; runs continue until both
// --min-seconds and --min-runs are reached. cpu_ms_per_run: process CPU time (all threads,
// process.cpuUsage) of the timed loop / runs, as in veil_bench_models. Two timings per
// (model, batch):
//   median_ms etc.: the native binding's synchronous run() (what InferenceSession.run
//     calls after validating feeds): ORT's own Run plus the N-API tensor conversion. The
//     comparison uses this one, closest to a C++ caller of OrtSession::Run.
//   api_median_ms: the public `await session.run(feeds)`, which adds a setImmediate hop
//     and JS-side tensor wrapping (a few microseconds; matters only for tiny models).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const {binding} = require('onnxruntime-node/dist/binding');

function parseArgs(argv) {
  const args = {threads: 1, batches: [1, 64], dataDir: 'models', minSeconds: 1.0, minRuns: 20,
                maxRuns: 100000, warmupRuns: 3, models: []};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--threads') args.threads = parseInt(next(), 10);
    else if (a === '--batches') args.batches = next().split(',').map((s) => parseInt(s, 10));
    else if (a === '--data-dir') args.dataDir = next();
    else if (a === '--min-seconds') args.minSeconds = parseFloat(next());
    else if (a === '--min-runs') args.minRuns = parseInt(next(), 10);
    else if (a === '--max-runs') args.maxRuns = parseInt(next(), 10);
    else if (a === '--warmup-runs') args.warmupRuns = parseInt(next(), 10);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else args.models.push(a);
  }
  if (args.models.length === 0) throw new Error('no models given');
  if (!(args.threads >= 1)) throw new Error('--threads must be >= 1');
  if (args.batches.some((b) => !(b >= 1))) throw new Error('bad --batches');
  return args;
}

// Minimal .npy reader (format 1.0/2.0/3.0, C order, little-endian <f4 and <i8 only).
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY')
    throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeM = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) throw new Error(`${file}: malformed header ${header}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran order is not supported`);
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0)
      .map((s) => parseInt(s, 10));
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const bytes = buf.subarray(dataStart);
  // Copy into an aligned buffer (the data offset need not be a multiple of 8).
  const ab = new ArrayBuffer(bytes.length);
  new Uint8Array(ab).set(bytes);
  let data;
  if (descr[1] === '<f4') data = new Float32Array(ab, 0, count);
  else if (descr[1] === '<i8') data = new BigInt64Array(ab, 0, count);
  else throw new Error(`${file}: dtype ${descr[1]} is not supported`);
  if (data.length !== count) throw new Error(`${file}: truncated`);
  return {shape, data};
}

// Rows of `rows` (rowSize elements each) repeated cyclically into `batch` rows.
function cycleRows(rows, rowSize, batch, Ctor) {
  const available = Math.floor(rows.length / rowSize);
  const out = new Ctor(batch * rowSize);
  for (let b = 0; b < batch; ++b)
    out.set(rows.subarray((b % available) * rowSize, (b % available + 1) * rowSize), b * rowSize);
  return out;
}

function makeFeeds(inputNames, name, dataDir, batch) {
  const dir = path.join(dataDir, name);
  if (inputNames.length === 1) {
    const a = readNpy(path.join(dir, 'calibration.npy'));
    const rowSize = a.shape.slice(1).reduce((x, y) => x * y, 1);
    const data = cycleRows(a.data, rowSize, batch, Float32Array);
    return {[inputNames[0]]: new ort.Tensor('float32', data, [batch, ...a.shape.slice(1)])};
  }
  if (inputNames.length === 2 && inputNames.includes('tokens') && inputNames.includes('positions')) {
    const a = readNpy(path.join(dir, 'calibration_tokens.npy'));
    if (a.shape.length !== 2) throw new Error(`${name}: tokens must be [N,T]`);
    const t = a.shape[1];
    const tokens = cycleRows(a.data, t, batch, BigInt64Array);
    const positions = new BigInt64Array(batch * t);
    for (let i = 0; i < batch * t; ++i) positions[i] = BigInt(i % t);
    return {tokens: new ort.Tensor('int64', tokens, [batch, t]),
            positions: new ort.Tensor('int64', positions, [batch, t])};
  }
  throw new Error(`${name}: unexpected inputs ${inputNames}`);
}

function percentile(sorted, q) {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

function summarise(ms, seconds) {
  const s = [...ms].sort((a, b) => a - b);
  return {median_ms: percentile(s, 0.5), p10_ms: percentile(s, 0.1), p90_ms: percentile(s, 0.9),
          min_ms: s[0], mean_ms: s.reduce((a, b) => a + b, 0) / s.length, runs: s.length, seconds};
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

async function timeRuns(args, fn) {
  for (let i = 0; i < args.warmupRuns; ++i) await fn();
  const ms = [];
  const cpu0 = process.cpuUsage();
  const start = nowMs();
  let elapsed = 0;
  while (ms.length < args.maxRuns && (ms.length < args.minRuns || elapsed < args.minSeconds * 1000)) {
    const t0 = nowMs();
    await fn();
    const t1 = nowMs();
    ms.push(t1 - t0);
    elapsed = t1 - start;
  }
  const cpu = process.cpuUsage(cpu0);
  return {...summarise(ms, elapsed / 1000), cpu_ms_per_run: (cpu.user + cpu.system) / 1000 / ms.length};
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const options = {intraOpNumThreads: args.threads, interOpNumThreads: 1, executionMode: 'sequential',
                   graphOptimizationLevel: 'all'};
  for (const modelPath of args.models) {
    const name = path.basename(modelPath, '.onnx');
    const session = await ort.InferenceSession.create(modelPath, options);
    // The same model loaded straight into the native binding, for the synchronous timing.
    const native = new binding.InferenceSession();
    native.loadModel(modelPath, options);
    const fetches = Object.fromEntries(native.outputNames.map((n) => [n, null]));
    for (const batch of args.batches) {
      const feeds = makeFeeds(session.inputNames, name, args.dataDir, batch);
      let out = null;
      const stats = await timeRuns(args, () => { out = native.run(feeds, fetches, {}); });
      const api = await timeRuns(args, () => session.run(feeds));
      const first = out[native.outputNames[0]];
      console.log(JSON.stringify({
        engine: 'onnxruntime', model: name, batch, threads: args.threads, ort_version: ort.env.versions.node,
        ...stats, api_median_ms: api.median_ms, api_cpu_ms_per_run: api.cpu_ms_per_run, api_p10_ms: api.p10_ms, api_p90_ms: api.p90_ms,
        output_dims: first.dims}));
    }
    await session.release();
  }
}

main().catch((e) => { console.error(`ort_bench.js: ${e.stack || e}`); process.exit(1); });
