// Engine cost per batch size on this thread (the in-process path the adaptive dispatch uses), to pick
// the inline threshold (inlineMaxRows), with and without the live predicted poses decoded (the probe
// matmul and the rotation into the world, models/batched-inference.ts decodeWorldPoses), interleaved
// batch by batch so a drifting machine load biases neither; CPU time of this process beside the wall time
// (on a loaded machine the steadier number):
//   node --import tsx loadtest/engine-cost.ts [checkpoint-dir with probe.npz; default the shipped model] [--json]
import { SHIPPED_MODEL_DIR } from '../src/config.js';
import { createEngine } from '../src/inference/tfjs-engine.js';
import { POSE_FLOATS } from '../src/inference/engine.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const dir = args.find((a) => !a.startsWith('--')) ?? SHIPPED_MODEL_DIR;
const options = { checkpointDir: dir, horizons: [1, 5, 10, 30], passes: 10 };
const plain = await createEngine({ backend: 'wasm', options });
const decoding = await createEngine({ backend: 'wasm', options: { ...options, poses: true } });
const rows: {
  n: number;
  msPerBatch: number;
  decodingMsPerBatch: number;
  usPerRow: number;
  decodingUsPerRow: number;
  deltaUsPerRow: number;
  cpuUsPerRow: number;
  decodingCpuUsPerRow: number;
}[] = [];
for (const n of [1, 4, 16, 64, 256]) {
  const x = new Float32Array(n * plain.featureDim).map((_, i) => Math.sin(i));
  // A standing body (root 1 m up, hips apart) for every row: the decode's input pose.
  const poses = new Float32Array(n * POSE_FLOATS).map((_, i) => (i % 3 === 1 ? 1 : 0.1 * Math.cos(i)));
  const patients = Array.from({ length: n }, () => null);
  for (let i = 0; i < 20; i++) {
    await plain.run({ n, x, patients });
    await decoding.run({ n, x, patients, poses });
  }
  const reps = Math.max(20, Math.round(2000 / n));
  let tPlain = 0;
  let tDec = 0;
  let cPlain = 0;
  let cDec = 0;
  const cpu = (c: NodeJS.CpuUsage) => c.user + c.system;
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await plain.run({ n, x, patients });
    const t1 = performance.now();
    cPlain += cpu(process.cpuUsage(c0));
    const c1 = process.cpuUsage();
    await decoding.run({ n, x, patients, poses });
    const t2 = performance.now();
    cDec += cpu(process.cpuUsage(c1));
    tPlain += t1 - t0;
    tDec += t2 - t1;
  }
  const ms = tPlain / reps;
  const msDec = tDec / reps;
  const r = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
  rows.push({
    n,
    msPerBatch: r(ms),
    decodingMsPerBatch: r(msDec),
    usPerRow: r((ms / n) * 1000, 1),
    decodingUsPerRow: r((msDec / n) * 1000, 1),
    deltaUsPerRow: r(((msDec - ms) / n) * 1000, 1),
    cpuUsPerRow: r(cPlain / reps / n, 1),
    decodingCpuUsPerRow: r(cDec / reps / n, 1),
  });
}
plain.dispose?.();
decoding.dispose?.();
if (json) process.stdout.write(`${JSON.stringify({ backend: plain.backend, model: dir, horizons: options.horizons, passes: options.passes, rows })}\n`);
else {
  process.stdout.write(`backend ${plain.backend}, 10 MC passes × 4 horizons; µs per row without / with decoded poses (Δ)\n`);
  for (const row of rows)
    process.stdout.write(
      `n=${row.n}  ${row.msPerBatch} / ${row.decodingMsPerBatch} ms/batch  ${row.usPerRow} / ${row.decodingUsPerRow} µs/row  (Δ ${row.deltaUsPerRow})` +
        `  cpu ${row.cpuUsPerRow} / ${row.decodingCpuUsPerRow} µs/row (Δ ${(row.decodingCpuUsPerRow - row.cpuUsPerRow).toFixed(1)})\n`,
    );
}
