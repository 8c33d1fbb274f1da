// Minimal .npy reader/writer (format 1.0-3.0, little-endian, C order) for the ONNX Runtime oracle.
import fs from 'node:fs';

// descr (without byte-order char) <-> ONNX Runtime tensor type and typed array.
const BY_DESCR = {
  f2: ['float16', Uint16Array], f4: ['float32', Float32Array], f8: ['float64', Float64Array],
  i1: ['int8', Int8Array], u1: ['uint8', Uint8Array], i2: ['int16', Int16Array], u2: ['uint16', Uint16Array],
  i4: ['int32', Int32Array], u4: ['uint32', Uint32Array], i8: ['int64', BigInt64Array], u8: ['uint64', BigUint64Array],
  b1: ['bool', Uint8Array],
};
const DESCR_BY_TYPE = Object.fromEntries(Object.entries(BY_DESCR).map(([d, [t]]) => [t, d]));

// Returns {type, dims, data} where data is a fresh typed array (aligned copy).
export function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    throw new Error(`${path}: not an .npy file`);
  }
  const major = buf.readUInt8(6);
  let hlen, off;
  if (major === 1) { hlen = buf.readUInt16LE(8); off = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); off = 12; }
  else throw new Error(`${path}: unknown .npy version ${major}`);
  const header = buf.toString('latin1', off, off + hlen);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${path}: bad header ${header}`);
  if (fortran[1] !== 'False') throw new Error(`${path}: Fortran-order arrays are not supported`);
  const order = descr[1][0], code = descr[1].slice(1);
  const entry = BY_DESCR[code];
  if (!entry) throw new Error(`${path}: unsupported descr '${descr[1]}'`);
  if (order === '>' && !['i1', 'u1', 'b1'].includes(code)) throw new Error(`${path}: big-endian data is not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map((s) => Number.parseInt(s, 10));
  const count = dims.reduce((a, b) => a * b, 1);
  const [type, Ctor] = entry;
  const start = off + hlen;
  const nbytes = count * Ctor.BYTES_PER_ELEMENT;
  if (buf.length < start + nbytes) throw new Error(`${path}: file is truncated`);
  const data = new Ctor(count);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + nbytes));
  return { type, dims, data };
}

export function writeNpy(path, type, dims, data) {
  const code = DESCR_BY_TYPE[type];
  if (!code) throw new Error(`cannot write tensor type '${type}' to .npy`);
  const order = ['i1', 'u1', 'b1'].includes(code) ? '|' : '<';
  let body;
  if (type === 'bool') {
    // Normalize to 0/1 bytes whatever the runtime gave (Uint8Array or boolean array).
    body = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  } else {
    body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${order}${code}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt8(0x93, 0);
  pre.write('NUMPY', 1, 'latin1');
  pre.writeUInt8(1, 6);
  pre.writeUInt8(0, 7);
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(path, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}
