// run.js: run an ONNX model in ONNX Runtime (onnxruntime-node) over a batch
// of float32 samples and print the outputs and argmax predictions as JSON.
//
//   node run.js MODEL.onnx INPUT.f32 N BATCH
//
// INPUT.f32 holds N samples as raw little-endian float32, row-major; the
// sample shape is read from the model's input. The samples run in batches
// of BATCH (the last one smaller), to exercise the dynamic batch dimension.
// Output: {"batch_sizes": [...], "preds": [...], "outputs": [[...], ...]}.
// Find onnxruntime-node with NODE_PATH=<dir>/node_modules.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, nArg, batchArg] = process.argv.slice(2);
  const n = parseInt(nArg, 10), batch = parseInt(batchArg, 10);
  const bytes = fs.readFileSync(input);
  const all = new Float32Array(new Uint8Array(bytes).buffer); // copy: aligned
  const per = all.length / n;
  const session = await ort.InferenceSession.create(model);
  const inName = session.inputNames[0], outName = session.outputNames[0];
  const res = { input: inName, output: outName, ort_version: ort.env.versions.common, batch_sizes: [], preds: [], outputs: [] };
  for (let from = 0; from < n; from += batch) {
    const b = Math.min(batch, n - from);
    const x = new ort.Tensor('float32', all.slice(from * per, (from + b) * per), [b, per]);
    const out = (await session.run({ [inName]: x }))[outName];
    const classes = out.dims[1];
    res.batch_sizes.push(out.dims[0]);
    for (let r = 0; r < b; r++) {
      const row = Array.from(out.data.slice(r * classes, (r + 1) * classes));
      let best = 0;
      for (let j = 1; j < classes; j++) if (row[j] > row[best]) best = j;
      res.preds.push(best);
      res.outputs.push(row);
    }
  }
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });
