// ONNX Runtime latency, measured the same way as `octet bench`: warm-up runs, then timed runs,
// median / p90 / min. Usage:
//   node bench/ort_bench.mjs MODEL --threads N --runs N --warmup N --input NAME=FILE.npy ...
// Prints one line: "ort median_ms=... p90_ms=... min_ms=... runs=N threads=N".
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/ort/package.json'));
const ort = require('onnxruntime-node');
const { readNpy, writeNpy } = await import(path.join(here, '../tests/ort/npy.mjs'));

const args = process.argv.slice(2);
let model = null, threads = 1, runs = 20, warmup = 3, opt = 'all', saveDir = null;
const inputs = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--threads') threads = parseInt(args[++i], 10);
  else if (a === '--runs') runs = parseInt(args[++i], 10);
  else if (a === '--warmup') warmup = parseInt(args[++i], 10);
  else if (a === '--opt') opt = args[++i];
  else if (a === '--save-outputs') saveDir = args[++i];
  else if (a === '--input') {
    const spec = args[++i];
    const eq = spec.indexOf('=');
    const t = readNpy(spec.slice(eq + 1));
    inputs[spec.slice(0, eq)] = new ort.Tensor(t.type, t.data, t.dims);
  } else model = a;
}
if (!model) { console.error('usage: ort_bench.mjs MODEL [--threads N] [--runs N] [--warmup N] [--input NAME=FILE.npy ...]'); process.exit(2); }

const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: opt,
});
for (let i = 0; i < warmup; i++) await session.run(inputs);
if (saveDir) {
  // one run's outputs as .npy (name: output name with chars outside [A-Za-z0-9_.-] replaced by _)
  const fs = await import('node:fs');
  fs.mkdirSync(saveDir, { recursive: true });
  const out = await session.run(inputs);
  for (const [name, t] of Object.entries(out)) writeNpy(path.join(saveDir, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy'), t.type, t.dims, t.data);
}
const times = [];
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  await session.run(inputs);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * (times.length - 1) + 0.5))];
const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
console.log(`ort median_ms=${median.toFixed(3)} p90_ms=${q(0.9).toFixed(3)} min_ms=${times[0].toFixed(3)} runs=${runs} threads=${threads} rss_mb=${(process.memoryUsage().rss / 1048576).toFixed(1)}`);
