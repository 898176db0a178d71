// ort_bench.js -- times ONNX Runtime (npm onnxruntime-node, CPU) on one model
// the way `keel bench` times keel, for scripts/compare_ort.sh.
//
//   node ort_bench.js MODEL [--threads N] [--runs N] [--warmup N]
//        [--input-npy FILE] [--output-npy FILE] [--save-input FILE]
//        [--profile PREFIX] [--serve] [--dim NAME=N]...
//
// The input is FILE (a .npy of float32) or deterministic pseudo-random data
// (the xorshift of keel bench); a symbolic dimension takes its value from
// --dim NAME=N, as keel bench's does, else 1.  Prints one JSON line: load_ms, min_ms,
// median_ms, max_ms, peak_rss_kb.  With --output-npy, writes output 0;
// with --profile, ONNX Runtime's own per-node trace goes to PREFIX*.json
// (scripts/ort_profile.py sums it per node, to set beside keel bench --top).
// --serve speaks keel bench --serve's protocol: after the warm-up one JSON
// line {ready, load_ms}, then for each line "N" on stdin N timed runs as
// {ms: [...]}, and at end of input {peak_rss_kb}.
'use strict';
const fs = require('fs');
const path = require('path');

const ortDir = process.env.KEEL_ORT_DIR;
const ort = require(ortDir ? path.join(ortDir, 'node_modules', 'onnxruntime-node') : 'onnxruntime-node');

function parseArgs(argv) {
  const o = { threads: 1, runs: 10, warmup: 2, dims: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads') o.threads = +argv[++i];
    else if (a === '--runs') o.runs = +argv[++i];
    else if (a === '--warmup') o.warmup = +argv[++i];
    else if (a === '--input-npy') o.inputNpy = argv[++i];
    else if (a === '--output-npy') o.outputNpy = argv[++i];
    else if (a === '--save-input') o.saveInput = argv[++i];
    else if (a === '--profile') o.profile = argv[++i];
    else if (a === '--serve') o.serve = true;
    else if (a === '--dim') {
      const m = /^([^=]+)=([0-9]+)$/.exec(argv[++i] || '');
      if (!m || !(+m[2] >= 1)) throw new Error(`--dim wants NAME=N (N >= 1), got '${argv[i]}'`);
      o.dims[m[1]] = +m[2];
    }
    else o.model = a;
  }
  if (!o.model) throw new Error('usage: ort_bench.js MODEL [--threads N] [--runs N] [--warmup N]');
  return o;
}

// Same generator as keel bench's fill_random, so both see the same data.
function randomFloats(n, seed) {
  let x = (BigInt(seed) * 0x9e3779b97f4a7c15n + 1n) & 0xffffffffffffffffn;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x ^= (x << 13n) & 0xffffffffffffffffn;
    x ^= x >> 7n;
    x ^= (x << 17n) & 0xffffffffffffffffn;
    out[i] = Number(x >> 11n) / 9007199254740992 * 2 - 1;
  }
  return out;
}

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const hlen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + hlen);
  if (!header.includes("'<f4'")) throw new Error(`${file}: only float32 .npy is supported`);
  const shape = header.match(/\(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + hlen, buf.byteOffset + buf.length));
  return { shape, data };
}

function writeNpy(file, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - total % 64) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function timeRuns(session, feeds, n) {
  const lat = [];
  for (let r = 0; r < n; r++) {
    const t = process.hrtime.bigint();
    await session.run(feeds);
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return lat;
}

async function serve(session, feeds, warmup, loadMs) {
  await timeRuns(session, feeds, warmup);
  console.log(JSON.stringify({ ready: true, load_ms: loadMs }));
  const rl = require('readline').createInterface({ input: process.stdin });
  for await (const line of rl) {
    const n = parseInt(line, 10);
    if (!(n >= 1 && n <= 100000)) throw new Error(`--serve wants a run count per line, got '${line}'`);
    console.log(JSON.stringify({ ms: await timeRuns(session, feeds, n) }));
  }
  console.log(JSON.stringify({ peak_rss_kb: process.resourceUsage().maxRSS }));
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const opts = { intraOpNumThreads: o.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };
  if (o.profile) { opts.enableProfiling = true; opts.profileFilePrefix = o.profile; }
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(o.model, opts);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const feeds = {};
  const meta = session.inputMetadata || [];
  session.inputNames.forEach((name, k) => {
    if (o.inputNpy && k === 0) {
      const { shape, data } = readNpy(o.inputNpy);
      feeds[name] = new ort.Tensor('float32', data, shape);
      return;
    }
    const info = Array.isArray(meta) ? meta[k] : meta[name];
    const dims = (info && info.shape ? info.shape : [1, 3, 224, 224])
      .map(d => (typeof d === 'number' && d > 0 ? d : typeof d === 'string' && o.dims[d] ? o.dims[d] : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const data = randomFloats(n, k + 1);
    if (o.saveInput && k === 0) writeNpy(o.saveInput, dims, data);
    feeds[name] = new ort.Tensor('float32', data, dims);
  });
  if (o.serve) return serve(session, feeds, o.warmup, loadMs);
  const lat = [];
  let result;
  for (let r = 0; r < o.warmup + o.runs; r++) {
    const t = process.hrtime.bigint();
    result = await session.run(feeds);
    if (r >= o.warmup) lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  if (o.profile && session.endProfiling) session.endProfiling();
  lat.sort((a, b) => a - b);
  const mid = lat.length >> 1;
  const median = lat.length % 2 ? lat[mid] : (lat[mid - 1] + lat[mid]) / 2;
  if (o.outputNpy) {
    const out = result[session.outputNames[0]];
    writeNpy(o.outputNpy, out.dims, out.data);
  }
  console.log(JSON.stringify({ engine: 'onnxruntime ' + (ort.env && ort.env.versions ? ort.env.versions.common : ''),
    threads: o.threads, runs: o.runs, load_ms: loadMs, min_ms: lat[0], median_ms: median,
    max_ms: lat[lat.length - 1], peak_rss_kb: process.resourceUsage().maxRSS }));
}

main().catch(e => { console.error(`ort_bench: ${e.message}`); process.exit(1); });
