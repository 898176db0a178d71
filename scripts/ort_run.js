// ort_run.js -- runs one model once under ONNX Runtime (npm onnxruntime-node,
// CPU) on inputs read from .npy files and writes every output as .npy, for
// scripts/real_corpus.py's reference outputs.
//
//   node ort_run.js MODEL OUT_DIR NAME=FILE.npy...
//
// Writes OUT_DIR/NAME.npy for each output NAME (with '/' and other
// characters outside [A-Za-z0-9._-] replaced by '_') and prints one JSON
// line: {ort: version, outputs: [[name, file], ...]} in the session's output
// order.  ONNX Runtime comes from $KEEL_ORT_DIR (as for ort_bench.js) or
// the usual module path.  One thread, and graph optimizations at their
// default, so that the result is the one ORT users get.
'use strict';
const fs = require('fs');
const path = require('path');

const ortDir = process.env.KEEL_ORT_DIR;
const ortPath = ortDir ? path.join(ortDir, 'node_modules', 'onnxruntime-node') : 'onnxruntime-node';
const ort = require(ortPath);

// .npy descr <-> ORT tensor type and typed array
const TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<f2': ['float16', Uint16Array],
  '<i8': ['int64', BigInt64Array], '<u8': ['uint64', BigUint64Array],
  '<i4': ['int32', Int32Array], '<u4': ['uint32', Uint32Array],
  '<i2': ['int16', Int16Array], '<u2': ['uint16', Uint16Array],
  '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  const descr = header.match(/'descr':\s*'([^']+)'/)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const t = TYPES[descr];
  if (!t) throw new Error(`${file}: dtype ${descr} is not supported`);
  const bytes = buf.subarray(start + hlen);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new ort.Tensor(t[0], new t[1](copy.buffer, 0, bytes.length / t[1].BYTES_PER_ELEMENT), shape);
}

function writeNpy(file, tensor) {
  const entry = Object.entries(TYPES).find(([, t]) => t[0] === tensor.type);
  if (!entry) throw new Error(`output type ${tensor.type} is not supported`);
  const dims = tensor.dims;
  const shape = dims.length === 0 ? '()' : dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${entry[0]}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat((64 - (10 + header.length + 1) % 64) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  let data = tensor.data;
  if (tensor.type === 'bool') data = Uint8Array.from(data, v => (v ? 1 : 0));
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  const [model, outDir, ...specs] = process.argv.slice(2);
  if (!model || !outDir) throw new Error('usage: ort_run.js MODEL OUT_DIR NAME=FILE.npy...');
  const feeds = {};
  for (const s of specs) {
    const eq = s.indexOf('=');
    feeds[s.slice(0, eq)] = readNpy(s.slice(eq + 1));
  }
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const result = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  const outputs = [];
  for (const name of session.outputNames) {
    const file = path.join(outDir, name.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy');
    writeNpy(file, result[name]);
    outputs.push([name, file]);
  }
  const version = require(path.join(ortPath, 'package.json')).version;
  console.log(JSON.stringify({ ort: version, outputs }));
}

main().catch(e => { console.error(`ort_run: ${e.message || e}`); process.exit(1); });
