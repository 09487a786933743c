// Times the onnxruntime peer: one network, one batch, one thread count, one process.
//
//     node bench/ort_run.js NET.onnx IN.npy THREADS RUNS BUDGET_S MIN_RUNS [OUT.npy]
//
// onnxruntime-node (CPU) from bench/node_modules (bench/setup.sh installs it).
// Creates the session (intra-op threads = THREADS, inter-op threads = 1, every
// graph optimisation), runs it twice untimed (warm-up), then times session.run
// with process.hrtime until RUNS runs, or until BUDGET_S seconds have passed and
// at least MIN_RUNS were made. Prints one JSON line: runs, median_ms, min_ms,
// mean_ms, setup_ms (creating the session: loading and optimising the graph).
// Writes the last output to OUT.npy when given.
'use strict';
const fs = require('fs');

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  process.stderr.write('ort_run.js: onnxruntime-node is not installed (' + e.message.split('\n')[0] +
                       '): run bash bench/setup.sh\n');
  process.exit(3);
}

// .npy (format 1.0-3.0, little-endian float32, C order) -> {shape, data}
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(path + ': not a .npy file');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    throw new Error(path + ': want little-endian float32 in C order, header ' + header.trim());
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter((s) => s.trim() !== '')
    .map((s) => parseInt(s, 10));
  const off = start + hlen, n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  Buffer.from(data.buffer).set(buf.subarray(off, off + 4 * n));
  return {shape, data};
}

function writeNpy(path, shape, data) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
               shape.join(', ') + (shape.length === 1 ? ',' : '') + '), }';
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'),
                                        Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

function msSince(t) {
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function main(argv) {
  if (argv.length !== 6 && argv.length !== 7) {
    process.stderr.write('usage: node ort_run.js NET.onnx IN.npy THREADS RUNS BUDGET_S MIN_RUNS [OUT.npy]\n');
    return 2;
  }
  const [model, inp] = argv;
  const threads = parseInt(argv[2], 10), runs = parseInt(argv[3], 10);
  const budget = parseFloat(argv[4]) * 1e3, minRuns = parseInt(argv[5], 10);
  const outPath = argv[6];

  const x = readNpy(inp);
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const setupMs = msSince(t0);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape)};
  const outName = session.outputNames[0];

  let y;
  for (let i = 0; i < 2; i++) y = (await session.run(feeds))[outName];
  const times = [];
  const start = process.hrtime.bigint();
  while (times.length < runs && (times.length < minRuns || msSince(start) < budget)) {
    const t1 = process.hrtime.bigint();
    y = (await session.run(feeds))[outName];
    times.push(msSince(t1));
  }
  if (outPath) writeNpy(outPath, y.dims, y.data);
  const sorted = [...times].sort((a, b) => a - b), k = sorted.length;
  const median = k % 2 ? sorted[(k - 1) / 2] : (sorted[k / 2 - 1] + sorted[k / 2]) / 2;
  console.log(JSON.stringify({
    runs: k, median_ms: median, min_ms: sorted[0], mean_ms: times.reduce((a, b) => a + b, 0) / k,
    setup_ms: setupMs, threads, onnxruntime: require('onnxruntime-node/package.json').version,
  }));
  return 0;
}

main(process.argv.slice(2)).then((rc) => process.exit(rc), (e) => {
  process.stderr.write('ort_run.js: ' + (e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
