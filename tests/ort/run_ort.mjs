// The live ONNX Runtime oracle for octet's per-op tests.
//
//   node run_ort.mjs CASE_DIR...  |  node run_ort.mjs --list FILE
//
// For each case folder holding model.onnx and input_<k>_<name>.npy (naming as shared/models/NAME.io:
// <name> is the graph input name with chars outside [A-Za-z0-9_.-] replaced by '_'), runs
// onnxruntime-node on the CPU with graph optimizations disabled (each op computed literally) and one
// thread, and writes expected_<k>_<outname>.npy for every graph output. If ONNX Runtime rejects the
// model or a run, the message goes to CASE_DIR/ort_error.txt instead (the C runner decides whether
// that is allowed). Folders with an expected_given marker carry their own references and are skipped.
import fs from 'node:fs';
import path from 'node:path';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { readNpy, writeNpy } from './npy.mjs';

const require = createRequire(import.meta.url);
// Loaded only in workers: the parent only hands out cases.
const ort = process.argv[2] === '--worker' ? require('onnxruntime-node') : null;
if (ort) ort.env.logLevel = 'fatal';

const SESSION_OPTIONS = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'disabled',
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  logSeverityLevel: 4,   // fatal only: errors are reported through ort_error.txt
};

const sanitize = (name) => name.replace(/[^A-Za-z0-9_.-]/g, '_');

// Group files "<prefix>_<k>_<rest>.npy" by k: Map k -> [{file, rest}].
function runsOf(files, prefix) {
  const re = new RegExp(`^${prefix}_(\\d+)_(.+)\\.npy$`);
  const runs = new Map();
  for (const f of files) {
    const m = re.exec(f);
    if (!m) continue;
    const k = Number.parseInt(m[1], 10);
    if (!runs.has(k)) runs.set(k, []);
    runs.get(k).push({ file: f, rest: m[2] });
  }
  return runs;
}

async function runCase(dir) {
  const files = fs.readdirSync(dir);
  for (const f of files) {
    if (/^expected_\d+_.+\.npy$/.test(f) || f === 'ort_error.txt') fs.rmSync(path.join(dir, f));
  }
  let session;
  try {
    session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), SESSION_OPTIONS);
  } catch (e) {
    throw new Error(`InferenceSession.create: ${e.message}`);
  }
  try {
    const byName = new Map();
    for (const n of session.inputNames) {
      const s = sanitize(n);
      byName.set(s, byName.has(s) ? null : n);   // null: two inputs sanitize alike
    }
    let runs = runsOf(files, 'input');
    if (runs.size === 0) runs = new Map([[0, []]]);
    for (const [k, list] of [...runs.entries()].sort((a, b) => a[0] - b[0])) {
      const feeds = {};
      for (const { file, rest } of list) {
        const name = byName.get(rest);
        if (!name) throw new Error(`${file} matches ${name === null ? 'more than one' : 'no'} session input`);
        const a = readNpy(path.join(dir, file));
        feeds[name] = new ort.Tensor(a.type, a.data, a.dims);
      }
      let results;
      try {
        results = await session.run(feeds);
      } catch (e) {
        throw new Error(`run k=${k}: ${e.message}`);
      }
      for (const name of session.outputNames) {
        const t = results[name];
        if (!t || typeof t.type !== 'string' || t.type === 'string') {
          throw new Error(`output '${name}' is not a numeric tensor`);
        }
        writeNpy(path.join(dir, `expected_${k}_${sanitize(name)}.npy`), t.type, t.dims, t.data);
      }
    }
  } finally {
    await session.release();
  }
}

// Each case reports to the parent before it starts, so a crash inside ONNX Runtime is pinned on
// that case (it gets ort_error.txt) and a new worker goes on with the rest.
async function worker() {
  const send = (msg) => new Promise((resolve) => process.send(msg, resolve));
  const [dirs] = await once(process, 'message');
  for (let i = 0; i < dirs.length; i++) {
    const dir = dirs[i];
    await send({ start: i });
    if (!fs.existsSync(path.join(dir, 'model.onnx')) || fs.existsSync(path.join(dir, 'gen_error.txt'))) continue;
    if (fs.existsSync(path.join(dir, 'expected_given'))) { process.send({ result: 'given' }); continue; }
    try {
      await runCase(dir);
      process.send({ result: 'ok' });
    } catch (e) {
      const msg = String(e.message).replace(/\s+/g, ' ').trim();
      fs.writeFileSync(path.join(dir, 'ort_error.txt'), `${msg}\n`);
      process.send({ result: 'rejected', dir, msg });
    }
  }
  await send({ finished: true });
  process.disconnect();
}

function expectsError(dir) {
  return fs.existsSync(path.join(dir, 'expect_ort_error')) || fs.existsSync(path.join(dir, 'expect_error'));
}

async function main() {
  // Case folders come as arguments or, with --list FILE, one per line in FILE. (A long command
  // line is passed to workers by IPC: onnxruntime-node 1.30 was seen to crash when a session
  // fails to load in a process whose command line is tens of kB long.)
  let dirs = process.argv.slice(2);
  if (dirs[0] === '--list' && dirs.length === 2) {
    dirs = fs.readFileSync(dirs[1], 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length);
  }
  if (dirs.length === 0) {
    console.error('usage: node run_ort.mjs CASE_DIR... | --list FILE');
    process.exit(2);
  }
  const counts = { ok: 0, rejected: 0, given: 0, crashed: 0 };
  let next = 0;
  while (next < dirs.length) {
    const child = fork(fileURLToPath(import.meta.url), ['--worker'], { stdio: 'inherit' });
    const batch = dirs.slice(next);
    let current = -1, finished = false;
    child.on('message', (m) => {
      if (m.start !== undefined) current = m.start;
      if (m.finished) finished = true;
      if (m.result) {
        counts[m.result]++;
        if (m.result === 'rejected' && !expectsError(m.dir)) console.log(`ORT rejected ${m.dir}: ${m.msg}`);
      }
    });
    child.send(batch);
    const [code, signal] = await once(child, 'exit');
    if (finished) break;
    if (current < 0) {
      console.error(`run_ort: the ONNX Runtime worker died before its first case (${signal || code})`);
      process.exit(1);
    }
    const dir = batch[current];
    const msg = `ONNX Runtime crashed (${signal || `exit ${code}`}) on this case`;
    fs.writeFileSync(path.join(dir, 'ort_error.txt'), `${msg}\n`);
    counts.crashed++;
    console.log(`ORT crashed on ${dir}: ${signal || code}`);
    next += current + 1;
  }
  console.log(`run_ort: ${counts.ok} cases ran, ${counts.rejected} rejected by ONNX Runtime, ` +
              `${counts.crashed} crashed it, ${counts.given} with given references`);
}

if (process.argv[2] === '--worker') await worker();
else await main();
