// ort_jobs.js: run ONNX models in ONNX Runtime (onnxruntime-node) for
// onnximport's tests, many models in one process.
//
//   node ort_jobs.js JOBS.json
//
// JOBS.json: {"jobs": [{"model": "m.onnx", "batch": 100,
//   "inputs": [{"name": "input", "file": "x.f32", "dims": [N, ...]}],
//   "out": "prefix"}, ...]}
// Inputs are raw little-endian float32, row-major; every input of a job
// has the same N samples, run in batches of "batch" samples (the last one
// smaller) to exercise the symbolic batch dimension. Each output is joined
// along the batch axis and written as raw float32 to "<out>.<k>.f32", k its
// position among the session's outputs. "batch": 0 runs the inputs once as
// they are, each of its own dims (inputs whose first axes differ, such as
// a sequence-first x and its initial states).
// Output (stdout): {"ort_version": ..., "results": [{"outputs": [{"name",
// "dims", "file"}], "error": "..."}, ...]}: a job ORT refuses has an error
// and no outputs. Find onnxruntime-node with NODE_PATH=<dir>/node_modules.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function run(job) {
  const inputs = job.inputs.map((x) => {
    const data = new Float32Array(new Uint8Array(fs.readFileSync(x.file)).buffer); // copy: aligned
    const per = x.dims.slice(1).reduce((a, b) => a * b, 1);
    if (data.length !== x.dims[0] * per) throw new Error(`${x.name}: ${data.length} values for dims ${x.dims}`);
    return { name: x.name, dims: x.dims, per, data };
  });
  const n = inputs[0].dims[0];
  const whole = job.batch === 0;
  const step = whole ? n : job.batch;
  const session = await ort.InferenceSession.create(job.model, { intraOpNumThreads: 2 });
  const acc = session.outputNames.map(() => ({ dims: null, parts: [] }));
  for (let from = 0; from < n; from += step) {
    const b = Math.min(step, n - from);
    const feeds = {};
    for (const x of inputs) {
      feeds[x.name] = whole ? new ort.Tensor('float32', x.data, x.dims)
        : new ort.Tensor('float32', x.data.slice(from * x.per, (from + b) * x.per), [b, ...x.dims.slice(1)]);
    }
    const outs = await session.run(feeds);
    session.outputNames.forEach((name, k) => {
      const o = outs[name];
      if (o.type !== 'float32') throw new Error(`output ${name} is ${o.type}`);
      if (whole) {
        acc[k].dims = o.dims.map(Number);
      } else {
        if (Number(o.dims[0]) !== b) throw new Error(`output ${name}: dims ${o.dims} for a batch of ${b}`);
        acc[k].dims = [from + b, ...o.dims.slice(1).map(Number)];
      }
      // Copy: the runtime may reuse the memory of its outputs.
      acc[k].parts.push(Buffer.from(new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength)));
    });
  }
  return {
    outputs: session.outputNames.map((name, k) => {
      const file = `${job.out}.${k}.f32`;
      fs.writeFileSync(file, Buffer.concat(acc[k].parts));
      return { name, dims: acc[k].dims, file };
    }),
  };
}

async function main() {
  const { jobs } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const results = [];
  for (const job of jobs) {
    try {
      results.push(await run(job));
    } catch (e) {
      results.push({ outputs: [], error: String((e && e.message) || e) });
    }
  }
  process.stdout.write(JSON.stringify({ ort_version: ort.env.versions.common, results }) + '\n');
}

main().catch((e) => { console.error(String((e && e.message) || e)); process.exit(1); });
