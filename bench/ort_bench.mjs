// ONNX Runtime latency, measured the same way as `octet bench`: warm-up runs, then timed runs,
// median / p90 / min. Usage:
//   node bench/ort_bench.mjs MODEL --threads N --runs N --warmup N --input NAME=FILE.npy ...
// Prints one line: "ort median_ms=... p90_ms=... min_ms=... runs=N threads=N".
// --profile adds ONNX Runtime's per-node kernel times of the timed runs (ms per run, by op type and
// slowest nodes), in the same layout as `octet bench --profile`.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/ort/package.json'));
const ort = require('onnxruntime-node');
const { readNpy, writeNpy } = await import(path.join(here, '../tests/ort/npy.mjs'));

const args = process.argv.slice(2);
let model = null, threads = 1, runs = 20, warmup = 3, opt = 'all', saveDir = null, profile = false, top = 15;
const inputs = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--threads') threads = parseInt(args[++i], 10);
  else if (a === '--runs') runs = parseInt(args[++i], 10);
  else if (a === '--warmup') warmup = parseInt(args[++i], 10);
  else if (a === '--opt') opt = args[++i];
  else if (a === '--save-outputs') saveDir = args[++i];
  else if (a === '--profile') profile = true;
  else if (a === '--top') top = parseInt(args[++i], 10);
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
  ...(profile ? { enableProfiling: true, profileFilePrefix: path.join((await import('node:os')).tmpdir(), `ort_profile_${process.pid}`) } : {}),
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

if (profile) {
  // The profile file holds every run; keep the last `runs` executions of each node (the timed ones).
  const fs = await import('node:fs');
  session.endProfiling();   // writes PREFIX_<date>.json; the node binding does not return the name
  const os = await import('node:os');
  const prefix = `ort_profile_${process.pid}`;
  const found = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(prefix) && f.endsWith('.json'));
  if (found.length !== 1) { console.error(`ort_bench: cannot find ONNX Runtime's profile ${prefix}*.json in ${os.tmpdir()}`); process.exit(1); }
  const file = path.join(os.tmpdir(), found[0]);
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.unlinkSync(file);
  const perNode = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!perNode.has(name)) perNode.set(name, { op: e.args.op_name, us: [] });
    perNode.get(name).us.push(e.dur);
  }
  const nodes = [...perNode.entries()].map(([name, v]) => ({ name, op: v.op, ms: v.us.slice(-runs).reduce((a, b) => a + b, 0) / 1000 / runs }));
  const total = nodes.reduce((a, n) => a + n.ms, 0);
  const types = new Map();
  for (const n of nodes) {
    const t = types.get(n.op) || { n: 0, ms: 0 };
    t.n++; t.ms += n.ms; types.set(n.op, t);
  }
  const pad = (x, w) => String(x).padEnd(w), lpad = (x, w) => String(x).padStart(w);
  console.log(`\nprofile    ${nodes.length} nodes, ${total.toFixed(3)} ms per run summed over nodes`);
  console.log(`${pad('op type', 40)} ${lpad('nodes', 6)} ${lpad('ms/run', 10)} ${lpad('%', 6)}`);
  for (const [op, t] of [...types.entries()].sort((a, b) => b[1].ms - a[1].ms))
    console.log(`${pad(op, 40)} ${lpad(t.n, 6)} ${lpad(t.ms.toFixed(4), 10)} ${lpad((100 * t.ms / total).toFixed(1), 6)}`);
  console.log(`\n${pad('node', 48)} ${pad('op type', 24)} ${lpad('ms/run', 10)} ${lpad('%', 6)}`);
  nodes.sort((a, b) => b.ms - a.ms);
  for (const n of nodes.slice(0, top > 0 ? top : nodes.length))
    console.log(`${pad(n.name, 48)} ${pad(n.op, 24)} ${lpad(n.ms.toFixed(4), 10)} ${lpad((100 * n.ms / total).toFixed(1), 6)}`);
}
