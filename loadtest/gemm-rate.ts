/**
 * The live inference engine's arithmetic rate against the backend's own GEMM rate on the same shapes,
 * same run: `npm run bench:gemm-rate [-- --json] [--batches 16,64,256] [--repeats 30]`.
 *
 * Per batch size n it times, interleaved so a drifting machine load biases neither side:
 *  - the engine the server runs (src/inference/tfjs-engine.ts on the shipped model: 10 MC passes ×
 *    4 horizons, decoded poses), once with no adapter and once with every row on its own patient's
 *    rank-4 adapter (as the live server with one patient per session);
 *  - plain `tf.matMul`s of exactly the products that batch runs (models/live-gemms.ts, checked against
 *    the kernels the engine runs by test/models/live-gemms.test.ts), one after another.
 * FLOPs are those products' 2·m·k·n; the engine's GFLOP/s is them over its median wall time, the GEMM
 * rate them over the sum of the products' median times, and "share" the first over the second: the
 * fraction of the engine's time a bare GEMM of the same work would need. Adapter terms are extra work
 * not counted as FLOPs, so the adapted share is conservative. Also the best rate of square products, the
 * backend's peak on this machine.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadavg } from 'node:os';
import { initAdapter } from '../models/adapters.js';
import { argValue, fmt, table } from '../models/bench/bench-util.js';
import { loadCheckpoint } from '../models/checkpoint.js';
import { gemmFlops, liveGemms, type Gemm } from '../models/live-gemms.js';
import { median } from '../models/stats.js';
import { SHIPPED_MODEL_DIR } from '../src/config.js';
import { POSE_FLOATS, type EngineBatch } from '../src/inference/engine.js';
import { createEngine } from '../src/inference/tfjs-engine.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const batches = (argValue(argv, 'batches') ?? '16,64,256').split(',').map(Number);
const repeats = Number(argValue(argv, 'repeats') ?? 30);
if (!batches.every((b) => Number.isInteger(b) && b > 0) || !(Number.isInteger(repeats) && repeats > 0)) {
  process.stderr.write('usage: gemm-rate [--batches 16,64,256] [--repeats 30] [--json]\n');
  process.exit(2);
}
const PASSES = 10;
const HORIZONS = [1, 5, 10, 30];
const PATIENTS = 20;

const engine = await createEngine({ backend: 'wasm', options: { checkpointDir: SHIPPED_MODEL_DIR, horizons: HORIZONS, passes: PASSES, poses: true } });
const { modelConfig: config } = await loadCheckpoint(SHIPPED_MODEL_DIR);
for (let p = 0; p < PATIENTS; p++) engine.setAdapter(`p${p}`, initAdapter(config, {}, p + 1));

/** The tfjs engine runs a batch synchronously; timing a returned promise would time nothing. */
function runSync(batch: EngineBatch): void {
  if (engine.run(batch) instanceof Promise) throw new Error('the engine answered asynchronously: this bench times synchronous runs');
}
const ms = (f: () => unknown): number => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};
function gemmOnce(inputs: readonly { a: tf.Tensor2D; b: tf.Tensor2D }[]): number[] {
  return inputs.map(({ a, b }) =>
    ms(() => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    }),
  );
}

const rows: {
  batch: number;
  mflopPerBatch: number;
  engineMs: number;
  adaptedMs: number;
  gemmMs: number;
  engineGflops: number;
  adaptedGflops: number;
  gemmGflops: number;
  share: number;
  adaptedShare: number;
  usPerRow: number;
  adaptedUsPerRow: number;
}[] = [];
for (const n of batches) {
  const x = Float32Array.from({ length: n * engine.featureDim }, (_, i) => Math.sin(i));
  const poses = Float32Array.from({ length: n * POSE_FLOATS }, (_, i) => (i % 3 === 1 ? 1 : 0.1 * Math.cos(i)));
  const base = { n, x, poses, patients: Array.from({ length: n }, () => null) };
  const adapted = { n, x, poses, patients: Array.from({ length: n }, (_, i) => `p${i % PATIENTS}`) };
  const gemms: Gemm[] = liveGemms(config, n, PASSES, HORIZONS.length, true);
  const inputs = gemms.map((g) => ({
    a: tf.randomNormal([g.m, g.k], 0, 1, 'float32', 1) as tf.Tensor2D,
    b: tf.randomNormal([g.k, g.n], 0, 1, 'float32', 2) as tf.Tensor2D,
  }));
  const times = { engine: [] as number[], adapted: [] as number[], gemm: gemms.map(() => [] as number[]) };
  for (let i = 0; i < 5; i++) {
    runSync(base);
    runSync(adapted);
    gemmOnce(inputs);
  }
  for (let i = 0; i < repeats; i++) {
    times.engine.push(ms(() => runSync(base)));
    times.adapted.push(ms(() => runSync(adapted)));
    gemmOnce(inputs).forEach((t, k) => times.gemm[k]!.push(t));
  }
  for (const t of inputs) tf.dispose([t.a, t.b]);
  const flops = gemms.reduce((s, g) => s + gemmFlops(g), 0);
  const engineMs = median(times.engine);
  const adaptedMs = median(times.adapted);
  const gemmMs = times.gemm.reduce((s, t) => s + median(t), 0);
  const rate = (t: number) => flops / (t / 1000) / 1e9;
  rows.push({
    batch: n,
    mflopPerBatch: flops / 1e6,
    engineMs,
    adaptedMs,
    gemmMs,
    engineGflops: rate(engineMs),
    adaptedGflops: rate(adaptedMs),
    gemmGflops: rate(gemmMs),
    share: gemmMs / engineMs,
    adaptedShare: gemmMs / adaptedMs,
    usPerRow: (engineMs / n) * 1000,
    adaptedUsPerRow: (adaptedMs / n) * 1000,
  });
}

// The backend's peak on this machine: the best of a few square products.
const peak: { shape: string; gflops: number }[] = [];
for (const s of [256, 512, 1024]) {
  const a = tf.randomNormal([s, s], 0, 1, 'float32', 3) as tf.Tensor2D;
  const b = tf.randomNormal([s, s], 0, 1, 'float32', 4) as tf.Tensor2D;
  gemmOnce([{ a, b }]);
  const t = median(Array.from({ length: 7 }, () => gemmOnce([{ a, b }])[0]!));
  peak.push({ shape: `${s}³`, gflops: (2 * s ** 3) / (t / 1000) / 1e9 });
  tf.dispose([a, b]);
}
engine.dispose?.();
const best = peak.reduce((p, q) => (q.gflops > p.gflops ? q : p));
const out = {
  backend: engine.backend,
  passes: PASSES,
  horizons: HORIZONS,
  adapters: PATIENTS,
  repeats,
  load: loadavg()[0] ?? 0,
  rows,
  peak,
  bestGflops: best.gflops,
};
if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
else {
  process.stdout.write(
    `backend ${engine.backend}, ${PASSES} MC passes × ${HORIZONS.length} horizons, decoded poses; medians of ${repeats}; load ${fmt(out.load)}\n`,
  );
  process.stdout.write(
    `${table(
      [
        'batch',
        'MFLOP',
        'engine ms',
        'adapted ms',
        'GEMMs ms',
        'engine GFLOP/s',
        'adapted GFLOP/s',
        'GEMM GFLOP/s',
        'share',
        'adapted share',
        'µs/row',
        'adapted µs/row',
      ],
      rows.map((r) => [
        r.batch,
        r.mflopPerBatch,
        r.engineMs,
        r.adaptedMs,
        r.gemmMs,
        r.engineGflops,
        r.adaptedGflops,
        r.gemmGflops,
        r.share,
        r.adaptedShare,
        r.usPerRow,
        r.adaptedUsPerRow,
      ]),
    )}\n`,
  );
  process.stdout.write(`peak (square matMul): ${peak.map((p) => `${p.shape} ${fmt(p.gflops)}`).join(', ')} GFLOP/s\n`);
}
