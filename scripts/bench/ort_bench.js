// ort_bench.js: ONNX Runtime (onnxruntime-node) on the models cmd/export
// writes, the same work as cmd/infer and cmd/bench --latency.
//
//   node ort_bench.js infer   MODEL.onnx MNIST_DIR BATCH THREADS
//   node ort_bench.js latency MODEL.onnx MNIST_DIR IMAGES WARMUP THREADS
//
// infer runs the 10,000 test images in batches of BATCH and prints
// {"seconds", "accuracy"}: seconds of the batch loop only (each batch: make
// the input tensor, session.run, argmax), like cmd/infer --json. latency
// classifies the first IMAGES test images one at a time after WARMUP untimed
// calls and prints {"median_us", "p99_us", "min_us", "accuracy"}.
// The session runs THREADS intra-op threads (its best setting is one per
// core), one inter-op thread, sequential execution, all graph optimizations.
// Pixels are scaled to [0, 1] (pixel/255) as tapenet's datasets do. The
// sample shape comes from the model's input (N, 784) or (N, 1, 28, 28).
// Find onnxruntime-node with NODE_PATH=<dir>/node_modules.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

function idx(path, offset) {
  return zlib.gunzipSync(fs.readFileSync(path)).subarray(offset);
}

function quantile(sorted, q) {
  const pos = q * (sorted.length - 1), lo = Math.floor(pos);
  if (lo + 1 >= sorted.length) return sorted[sorted.length - 1];
  return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
}

function argmax(data, from, classes) {
  let best = 0;
  for (let j = 1; j < classes; j++) if (data[from + j] > data[from + best]) best = j;
  return best;
}

async function main() {
  const [mode, model, dir, a, b, c] = process.argv.slice(2);
  const pixels = idx(dir + '/t10k-images-idx3-ubyte.gz', 16);
  const labels = idx(dir + '/t10k-labels-idx1-ubyte.gz', 8);
  const n = labels.length, per = pixels.length / n;
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < x.length; i++) x[i] = pixels[i] / 255;
  const threads = parseInt(mode === 'infer' ? b : c, 10);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const inName = session.inputNames[0], outName = session.outputNames[0];
  const sample = session.inputMetadata[0].shape.slice(1);
  const run = async (from, rows) => {
    const t = new ort.Tensor('float32', x.subarray(from * per, (from + rows) * per), [rows, ...sample]);
    return (await session.run({ [inName]: t }))[outName];
  };
  const res = { ort_version: ort.env.versions.common, threads };
  if (mode === 'infer') {
    const batch = parseInt(a, 10);
    let correct = 0;
    const start = process.hrtime.bigint();
    for (let from = 0; from < n; from += batch) {
      const rows = Math.min(batch, n - from);
      const out = await run(from, rows);
      const classes = out.dims[1];
      for (let r = 0; r < rows; r++) if (argmax(out.data, r * classes, classes) === labels[from + r]) correct++;
    }
    res.seconds = Number(process.hrtime.bigint() - start) / 1e9;
    res.accuracy = correct / n;
  } else if (mode === 'latency') {
    const images = Math.min(parseInt(a, 10), n), warmup = parseInt(b, 10);
    for (let i = 0; i < warmup; i++) await run(i % n, 1);
    const times = new Float64Array(images);
    let correct = 0;
    for (let i = 0; i < images; i++) {
      const start = process.hrtime.bigint();
      const out = await run(i, 1);
      const p = argmax(out.data, 0, out.dims[1]);
      times[i] = Number(process.hrtime.bigint() - start) / 1e3;
      if (p === labels[i]) correct++;
    }
    times.sort();
    Object.assign(res, { images, median_us: quantile(times, 0.5), p99_us: quantile(times, 0.99), min_us: times[0], accuracy: correct / images });
  } else {
    throw new Error('mode must be infer or latency, got ' + mode);
  }
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });
