// run_inputs.js: run an ONNX model of any number of inputs and outputs in
// ONNX Runtime (onnxruntime-node) and print every output as JSON.
//
//   node run_inputs.js MODEL.onnx BATCH NAME=FILE:N,D1,D2,... [...]
//
// Each NAME=FILE:DIMS feeds the graph input NAME from FILE, raw
// little-endian float32 in row-major order of shape DIMS (or, with
// NAME=FILE:DIMS:int64, little-endian int64; with :bool, one byte 0 or 1
// per value); every input has
// the same N samples. They run in batches of BATCH samples (the last one
// smaller), to exercise the dynamic batch dimension, and the outputs are
// joined along the batch axis.
// Output: {"ort_version": ..., "batch_sizes": [...], "output_names": [...],
// "outputs": {"name": {"dims": [...], "data": [...]}, ...}}.
// Find onnxruntime-node with NODE_PATH=<dir>/node_modules.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, batchArg, ...specs] = process.argv.slice(2);
  const batch = parseInt(batchArg, 10);
  if (!(batch > 0) || specs.length === 0) throw new Error('usage: run_inputs.js MODEL BATCH NAME=FILE:DIMS...');
  const inputs = specs.map((s) => {
    const m = /^([^=]+)=(.+):([0-9,]+)(?::(int64|bool))?$/.exec(s);
    if (!m) throw new Error('bad input ' + s);
    const dims = m[3].split(',').map(Number);
    const bytes = new Uint8Array(fs.readFileSync(m[2])).buffer; // copy: aligned
    const type = m[4] || 'float32';
    const data = type === 'int64' ? new BigInt64Array(bytes) : type === 'bool' ? new Uint8Array(bytes) : new Float32Array(bytes);
    const per = dims.slice(1).reduce((a, b) => a * b, 1);
    if (data.length !== dims[0] * per) throw new Error(`${m[1]}: ${data.length} values for dims ${dims}`);
    return { name: m[1], dims, per, data, type };
  });
  const n = inputs[0].dims[0];
  const session = await ort.InferenceSession.create(model);
  const res = { ort_version: ort.env.versions.common, batch_sizes: [], output_names: session.outputNames, outputs: {} };
  for (const name of session.outputNames) res.outputs[name] = { dims: [], data: [] };
  for (let from = 0; from < n; from += batch) {
    const b = Math.min(batch, n - from);
    const feeds = {};
    for (const x of inputs) {
      feeds[x.name] = new ort.Tensor(x.type, x.data.slice(from * x.per, (from + b) * x.per), [b, ...x.dims.slice(1)]);
    }
    const outs = await session.run(feeds);
    res.batch_sizes.push(b);
    for (const name of session.outputNames) {
      const o = outs[name], acc = res.outputs[name];
      if (o.dims[0] !== b) throw new Error(`output ${name}: dims ${o.dims} for a batch of ${b}`);
      acc.dims = [from + b, ...o.dims.slice(1).map(Number)];
      for (const v of o.data) acc.data.push(v);
    }
  }
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });
