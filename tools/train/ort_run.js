// Runs an ONNX model with onnxruntime-node (third_party/node) for the training scripts'
// export check. Usage: NODE_PATH=third_party/node/node_modules node ort_run.js spec.json
// spec: {model, out, inputs: [{name, dtype: float32|int64, shape, file}]}. Writes the first
// output (float32, raw little-endian) to spec.out and prints {"dims": [...]} on stdout.
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(spec.model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const feeds = {};
  for (const inp of spec.inputs) {
    const buf = fs.readFileSync(inp.file);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = inp.dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab);
    feeds[inp.name] = new ort.Tensor(inp.dtype, data, inp.shape);
  }
  const results = await session.run(feeds);
  const out = results[session.outputNames[0]];
  fs.writeFileSync(spec.out, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
  console.log(JSON.stringify({dims: out.dims}));
}
main().catch((e) => { console.error(e); process.exit(1); });
