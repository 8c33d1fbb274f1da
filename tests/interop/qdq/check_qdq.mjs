// Static int8 models made by octet, in both output forms, run in octet and in ONNX Runtime: they must agree.
//   node check_qdq.mjs OCTET_BIN QDQ_QUANTIZE_BIN FMNIST_EVAL_BIN MODELS_DIR DATA_DIR WORK_DIR
// For each model and variant (QDQ / QOperator; uint8 or int8 activations; per-channel or per-tensor
// weights), qdq_quantize (public API: prepare, calibrate, quantize) writes the file, then
//   - agree:   octet (default session: QDQ fused into integer ops) vs ONNX Runtime (all optimizations, which
//              fuses QDQ the same way) on the same file;
//   - literal: (QDQ only) octet --no-optimize vs ORT with optimizations off: both run the QDQ graph literally;
//   - accuracy vs the float model: octet int8 no worse than ORT int8 on the same file (1 dB slack);
//   - QDQ vs QOperator in octet: the same quantization in two forms gives (nearly) the same numbers;
//   - size: the int8 file is at most 0.30 of the float file (int8 weights: ~1/4 plus int32 biases, scales
//     and the graph);
//   - fmnist_cnn default QDQ: accuracy on the 10,000 Fashion-MNIST test images >= 0.9250 (octet).
// SQNR = 10 log10(sum ref^2 / sum (ref - x)^2) in dB.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../ort/package.json'));
const ort = require('onnxruntime-node');
const { readNpy } = await import(path.join(here, '../../ort/npy.mjs'));

const [octet, quantize, fmnistEval, models, data, work] = process.argv.slice(2);
fs.mkdirSync(work, { recursive: true });

// Thresholds (dB), measured 2026-11-25 on AVX2 (Zen 3) with the limits a few dB below:
//   ort      octet vs ONNX Runtime (all optimizations) on the same file. int8 activations: bit-exact on
//            every model (inf dB), QDQ and QOperator alike. uint8 activations: ORT's AVX2 u8s8 kernels
//            use the saturating vpmaddubsw, so pairs of full-range int8 weights overflow int16 and ORT's
//            own int8 result drifts from float (fmnist 19.1 dB vs octet's exact 39.0 dB); the limit
//            only bounds that (fmnist 19.2, resnet18 34.3, mobilenet_v2 9.2, cls 26.8, det 17.5 dB
//            measured). On VNNI CPUs ORT does not saturate and the numbers rise.
//            ORT also turns int8-activation QDQ into u8 internally (so qdq_s8_pt saturates too).
//            7-bit weights (qdq_w7): nothing saturates, octet and ORT bit-identical (inf) on all three.
//   fused    octet's fused integer run vs ORT running the QDQ file literally (no saturation there):
//            rounding once in the requantization instead of in float at every Q, one step apart at most
//            per layer (fmnist inf, resnet18 38.8, mobilenet_v2 23.6, cls inf, det 27.7).
//   literal  both literal: same semantics, different float summation orders (fmnist inf, resnet18 38.8,
//            mobilenet_v2 24.3, cls inf, det 28.1). The random-weight mobilenet_v2 is only ~13 dB from
//            float at all, so single rounding steps weigh more there.
const io = (name, k, kind) => {
  const dir = path.join(models, `${name}.io`);
  const f = fs.readdirSync(dir).find((x) => x.startsWith(`${kind}_${k}_`));
  return path.join(dir, f);
};
// variants: [tag, flags, tolerances]; QDQ: {fused, literal, ort}, QOperator: {ort}.
const V = {
  qdq: (f, l, o) => ['qdq', [], { fused: f, literal: l, ort: o }],
  qop: (o) => ['qop', ['--qoperator'], { ort: o }],
  qop_s8: (o) => ['qop_s8', ['--qoperator', '--int8'], { ort: o }],
  qdq_s8_pt: (f, l, o) => ['qdq_s8_pt', ['--int8', '--per-tensor'], { fused: f, literal: l, ort: o }],
  qop_s8_pt: (o) => ['qop_s8_pt', ['--qoperator', '--int8', '--per-tensor'], { ort: o }],
  qop_pt: (o) => ['qop_pt', ['--qoperator', '--per-tensor'], { ort: o }],
  // 7-bit weights: octet runs them on its u8 x s7 AVX2 kernels, ONNX Runtime's int16 sums cannot saturate
  qdq_w7: (f, l, o) => ['qdq_w7', ['--weight-bits7'], { fused: f, literal: l, ort: o }],
};
const cases = [
  // name, calibration file, samples, evaluation run k, max size ratio, variants
  ['fmnist_cnn', path.join(data, 'fmnist_calib_x.npy'), 256, 1, 0.30,
    [V.qdq(60, 60, 16), V.qop(16), V.qop_s8(60), V.qdq_s8_pt(60, 60, 18), V.qop_s8_pt(60), V.qop_pt(18),
      V.qdq_w7(60, 60, 60)]],
  ['resnet18', io('resnet18', 0, 'input'), 2, 1, 0.30,
    [V.qdq(35, 35, 30), V.qop(30), V.qop_s8(60), V.qdq_w7(35, 35, 60)]],
  ['mobilenet_v2', io('mobilenet_v2', 0, 'input'), 2, 1, 0.30,
    [V.qdq(20, 20, 6), V.qop(6), V.qop_s8(60), V.qdq_s8_pt(20, 20, 10), V.qop_s8_pt(60), V.qdq_w7(20, 20, 60)]],
  // tiny model (134k weights): node and tensor names are a large part of the file
  ['ppocr_mobile_v2.0_cls_ch', io('ppocr_mobile_v2.0_cls_ch', 2, 'input'), 4, 2, 0.55,
    [V.qdq(60, 60, 23), V.qop(23), V.qop_s8(60)]],
  // 320x512 (the 320x960 run only adds time); one calibration image
  ['ppocr_v4_det_ch', io('ppocr_v4_det_ch', 1, 'input'), 1, 1, 0.32, [V.qdq(24, 24, 14), V.qop(14), V.qop_s8(60)]],
];

const sqnr = (ref, x) => {
  let s = 0, e = 0;
  for (let i = 0; i < ref.length; i++) { s += ref[i] * ref[i]; e += (ref[i] - x[i]) ** 2; }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
};
const db = (v) => (v === Infinity ? 'inf' : v.toFixed(1));

async function ortRun(file, input, opt) {
  const sess = await ort.InferenceSession.create(file, { graphOptimizationLevel: opt, intraOpNumThreads: 1 });
  const out = await sess.run({ [sess.inputNames[0]]: new ort.Tensor(input.type, input.data, input.dims) });
  return out[sess.outputNames[0]].data;
}

function octetRun(file, inFile, name, extra) {
  const dir = path.join(work, `${path.basename(file, '.onnx')}_${extra.length ? 'literal' : 'fused'}`);
  fs.rmSync(dir, { recursive: true, force: true });
  execFileSync(octet, ['run', file, '--input', `${name}=${inFile}`, '--output-dir', dir, '--threads', '1', ...extra]);
  const f = fs.readdirSync(dir).filter((x) => x.endsWith('.npy'))[0];
  return readNpy(path.join(dir, f)).data;
}

let failed = 0, passed = 0;
const check = (ok, msg) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${msg}`);
  if (ok) passed++; else failed++;
};

for (const [name, calib, n, k, maxRatio, variants] of cases) {
  const model = path.join(models, `${name}.onnx`);
  const inFile = io(name, k, 'input');
  const inName = path.basename(inFile, '.npy').replace(new RegExp(`^input_${k}_`), '');
  const input = readNpy(inFile);
  const float = readNpy(io(name, k, 'output')).data;
  const floatSize = fs.statSync(model).size;
  const fused = {};
  for (const [tag, flags, tol] of variants) {
    const q = path.join(work, `${name}_${tag}.onnx`);
    const t0 = Date.now();
    execFileSync(quantize, [model, calib, String(n), q, ...flags]);
    const tq = (Date.now() - t0) / 1000;
    const size = fs.statSync(q).size;
    const ortInt8 = await ortRun(q, input, 'all');
    const octInt8 = octetRun(q, inFile, inName, []);
    fused[tag] = octInt8;
    const r = { ort: sqnr(ortInt8, octInt8), octAcc: sqnr(float, octInt8), ortAcc: sqnr(float, ortInt8) };
    if (tol.literal !== undefined) {
      const ortLiteral = await ortRun(q, input, 'disabled');
      r.literal = sqnr(ortLiteral, octetRun(q, inFile, inName, ['--no-optimize']));
      r.fused = sqnr(ortLiteral, octInt8);
    }
    let ok = size <= maxRatio * floatSize && r.octAcc >= r.ortAcc - 1.0;
    const parts = [];
    for (const key of ['ort', 'fused', 'literal']) {
      if (tol[key] === undefined) continue;
      ok &&= r[key] >= tol[key];
      parts.push(`${key} ${db(r[key])} (>= ${tol[key]})`);
    }
    check(ok, `${name} ${tag}: ${parts.join(', ')} dB; vs float: octet ${db(r.octAcc)} dB, ORT ${db(r.ortAcc)} dB; ` +
      `size ${(floatSize / 1e6).toFixed(6)} -> ${(size / 1e6).toFixed(6)} MB (${(size / floatSize).toFixed(3)} <= ${maxRatio}); ` +
      `quantized in ${tq.toFixed(1)} s`);
  }
  // the same quantization in both forms: octet's QDQ fusion and the QOperator file run the same integer ops
  for (const [a, b] of [['qdq', 'qop'], ['qdq_s8_pt', 'qop_s8_pt']]) {
    if (!fused[a] || !fused[b]) continue;
    const s = sqnr(fused[a], fused[b]);
    check(s >= 40, `${name} ${a} vs ${b} in octet: ${db(s)} dB (>= 40)`);
  }
}

// Fashion-MNIST test accuracy of the default static int8 fmnist_cnn (PyTorch's: 0.9263-0.9265; float 0.9258).
const mnist = '/usr/share/datasets/fashion-mnist';
if (fs.existsSync(path.join(mnist, 't10k-images-idx3-ubyte.gz'))) {
  for (const tag of ['qdq', 'qop']) {
    const out = execFileSync(fmnistEval, [path.join(work, `fmnist_cnn_${tag}.onnx`), path.join(mnist, 't10k-images-idx3-ubyte.gz'),
      path.join(mnist, 't10k-labels-idx1-ubyte.gz'), '--threads', '1']).toString();
    const acc = Number(/accuracy ([0-9.]+)/.exec(out)[1]);
    check(acc >= 0.925, `fmnist_cnn ${tag} test accuracy ${acc.toFixed(4)} (>= 0.9250; calibrated on 256 train images)`);
  }
} else {
  console.log('SKIPPED: Fashion-MNIST test set not installed (apt-get install dataset-fashion-mnist)');
  if (process.env.CI) failed++;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
