// How to serve many patients' models in one batch (DESIGN.md "Inference service"): compares, for
// K patients × m frames per batch with P MC-dropout passes and H horizons,
//   per-model   one mcPredict call per patient, each with its own (merged) weights
//   stacked     one batched matMul over per-patient stacked weights [K, in, out]
//   shared      the shared base only (no adapters): the upper bound
//   adapters    shared base + rank-r adapters (createBatchedInference) on encoder.fc1 only
//   adapters-all shared base + rank-r adapters on all four layers (the default since the placement measurement)
//   adapters-all-tfjs the same through plain tfjs ops (batched matMul, uploaded masks) instead of the wasm SIMD kernels (wasm-kernels.ts)
//   adapters-pred shared base + rank-r adapters on the predictor only (the default for residual bases)
//   shared-fresh the shared base with masks drawn fresh per batch instead of a mask-bank window (MaskBank)
// and prints frames/s (median of repeats). Run: npx tsx models/bench/batched-alternatives.ts [--backend wasm|cpu]
// [--patients 64] [--frames 1] [--passes 10] [--repeats 15] [--json]
import * as tf from '@tensorflow/tfjs-core';
import { ADAPTER_LAYERS, initAdapter, mergeAdapter, type AdapterLayer, type AdapterWeights } from '../adapters.js';
import { selectBackend, type BackendPreference } from '../backend.js';
import { createBatchedInference } from '../batched-inference.js';
import { createMcMasks, mcPredict } from '../mc-dropout.js';
import { createRng } from '../rng.js';
import { WorldModel, initWeights, resolveModelConfig, scaleHorizon } from '../world-model.js';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
};
const K = Number(arg('patients', '64'));
const m = Number(arg('frames', '1'));
const P = Number(arg('passes', '10'));
const repeats = Number(arg('repeats', '15'));
const F = Number(arg('features', '60'));
const rank = Number(arg('rank', '4'));
const horizons = [1, 5, 10, 30];
const json = process.argv.includes('--json');

const backend = await selectBackend(arg('backend', 'wasm') as BackendPreference);
const config = resolveModelConfig({ featureDim: F });
const base = initWeights(config, 1);
const rng = createRng(2);
const adapterFor = (k: number, layers: readonly AdapterLayer[]): AdapterWeights => {
  const a = initAdapter(config, { rank, layers }, 100 + k);
  for (const l of Object.values(a.layers)) if (l) for (let i = 0; i < l.b.length; i++) l.b[i] = 0.05 * rng.normal();
  return a;
};
const adaptersFc1 = Array.from({ length: K }, (_, k) => adapterFor(k, ['encoder.fc1']));
const adaptersAll = Array.from({ length: K }, (_, k) => adapterFor(k, ADAPTER_LAYERS));
const adaptersPred = Array.from({ length: K }, (_, k) => adapterFor(k, ['predictor.fc1', 'predictor.fc2']));
const frames = Array.from({ length: K * m }, () => Float32Array.from({ length: F }, () => rng.normal()));
const patientOf = (i: number): string => `p${Math.floor(i / m)}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
// Variants are timed round-robin (one run of each per repeat) so load from other processes on this
// shared machine hits all of them alike; warm-up first (kernel set-up, allocator growth).
const variants: { name: string; fn: () => void }[] = [];
// CPU time of this process is reported too: on a loaded machine it is the steadier number.
function timeAll(): Map<string, { wall: number; cpu: number }> {
  for (const v of variants) for (let i = 0; i < 3; i++) v.fn();
  const samples = new Map<string, { wall: number[]; cpu: number[] }>(variants.map((v) => [v.name, { wall: [], cpu: [] }]));
  for (let i = 0; i < repeats; i++) {
    for (const v of variants) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      v.fn();
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      samples.get(v.name)?.wall.push(wall);
      samples.get(v.name)?.cpu.push((c.user + c.system) / 1000);
    }
  }
  return new Map([...samples].map(([k, t]) => [k, { wall: median(t.wall), cpu: median(t.cpu) }]));
}

// per-model: K separate WorldModels (merged weights), one mcPredict per patient
const perModel = adaptersFc1.map((a) => new WorldModel(config, mergeAdapter(base, a)));
const perPatientX = Array.from({ length: K }, (_, k) => Float32Array.from(frames.slice(k * m, (k + 1) * m).flatMap((f) => Array.from(f))));
variants.push({
  name: 'per-model',
  fn: () => perModel.forEach((model, k) => mcPredict(model, perPatientX[k] ?? new Float32Array(), { horizons, passes: P, rng })),
});

// stacked: per-patient weights stacked on a batch axis, tf.matMul over [K, rows, in] × [K, in, out]
const merged = adaptersFc1.map((a) => mergeAdapter(base, a));
const stack = (pick: (w: (typeof merged)[number]) => { w: Float32Array; inDim: number; outDim: number }) =>
  tf.tensor3d(Float32Array.from(merged.flatMap((w) => Array.from(pick(w).w))), [K, pick(base).inDim, pick(base).outDim]);
const stackB = (pick: (w: (typeof merged)[number]) => { b: Float32Array; outDim: number }) =>
  tf.tensor3d(Float32Array.from(merged.flatMap((w) => Array.from(pick(w).b))), [K, 1, pick(base).outDim]);
const S = {
  w1: stack((w) => w.encoder.fc1),
  b1: stackB((w) => w.encoder.fc1),
  w2: stack((w) => w.encoder.fc2),
  b2: stackB((w) => w.encoder.fc2),
  q1: stack((w) => w.predictor.fc1),
  c1: stackB((w) => w.predictor.fc1),
  q2: stack((w) => w.predictor.fc2),
  c2: stackB((w) => w.predictor.fc2),
};
const H = horizons.length;
const xAll = Float32Array.from(frames.flatMap((f) => Array.from(f)));
variants.push({
  name: 'stacked',
  fn: () => {
    const masks = createMcMasks(rng, K * m, P, H, config.hiddenDim, config.dropout);
    const out = tf.tidy(() => {
      const x = tf.tensor3d(xAll, [K, m, F]);
      const h1 = tf.relu(tf.add(tf.matMul(x, S.w1), S.b1));
      const m1 = tf.tensor3d(masks.m1, [K, P * m, config.hiddenDim]);
      const h1s = tf.concat([h1, tf.mul(tf.tile(h1, [1, P, 1]), m1)], 1);
      const z = tf.add(tf.matMul(h1s, S.w2), S.b2);
      const zp = tf.slice(z, [0, m, 0], [K, P * m, config.latentDim]);
      const s = new Float32Array(K * H * P * m);
      for (let k = 0; k < K; k++) horizons.forEach((h, j) => s.fill(scaleHorizon(h, config.horizonScaling), (k * H + j) * P * m, (k * H + j + 1) * P * m));
      const u = tf.concat([tf.tile(zp, [1, H, 1]), tf.tensor3d(s, [K, H * P * m, 1])], 2);
      const m2 = tf.tensor3d(masks.m2, [K, H * P * m, config.hiddenDim]);
      const y = tf.add(tf.matMul(tf.mul(tf.relu(tf.add(tf.matMul(u, S.q1), S.c1)), m2), S.q2), S.c2);
      const { mean, variance } = tf.moments(tf.reshape(y, [K, H, P, m, config.latentDim]), 2);
      return [tf.slice(z, [0, 0, 0], [K, m, config.latentDim]), mean, tf.mean(tf.sqrt(variance), -1)];
    });
    for (const t of out) t.dataSync();
    tf.dispose(out);
  },
});

const rowsPatients = frames.map((x, i) => ({ x, patient: patientOf(i) }));
const rowsShared = frames.map((x) => ({ x, patient: null }));
const biShared = createBatchedInference({ modelConfig: config, weights: base }, { horizons, passes: P });
const biFresh = createBatchedInference({ modelConfig: config, weights: base }, { horizons, passes: P, maskBankEntries: 0 });
const biFc1 = createBatchedInference({ modelConfig: config, weights: base }, { horizons, passes: P });
const biAll = createBatchedInference({ modelConfig: config, weights: base }, { horizons, passes: P });
const biAllMatMul = createBatchedInference({ modelConfig: config, weights: base }, { horizons, passes: P, wasmKernels: false });
const biPred = createBatchedInference({ modelConfig: config, weights: base }, { horizons, passes: P });
adaptersFc1.forEach((a, k) => biFc1.setAdapter(`p${k}`, a));
adaptersAll.forEach((a, k) => biAll.setAdapter(`p${k}`, a));
adaptersAll.forEach((a, k) => biAllMatMul.setAdapter(`p${k}`, a));
adaptersPred.forEach((a, k) => biPred.setAdapter(`p${k}`, a));
variants.push({ name: 'shared', fn: () => biShared.run(rowsShared) });
variants.push({ name: 'shared-fresh', fn: () => biFresh.run(rowsShared) });
variants.push({ name: 'adapters', fn: () => biFc1.run(rowsPatients) });
variants.push({ name: 'adapters-all', fn: () => biAll.run(rowsPatients) });
variants.push({ name: 'adapters-all-tfjs', fn: () => biAllMatMul.run(rowsPatients) });
variants.push({ name: 'adapters-pred', fn: () => biPred.run(rowsPatients) });

const ms = timeAll();
for (const model of perModel) model.dispose();
tf.dispose(Object.values(S));
for (const b of [biShared, biFresh, biFc1, biAll, biAllMatMul, biPred]) b.dispose();
const ref = ms.get('adapters');
const rows = [...ms].map(([variant, t]) => ({
  variant,
  ms: t.wall,
  cpuMs: t.cpu,
  framesPerSecond: (K * m * 1000) / t.wall,
  framesPerCpuSecond: (K * m * 1000) / t.cpu,
  vsAdapters: t.wall / (ref?.wall ?? NaN),
  cpuVsAdapters: t.cpu / (ref?.cpu ?? NaN),
}));

if (json) {
  console.log(JSON.stringify({ backend, patients: K, framesPerPatient: m, passes: P, horizons, rank, features: F, repeats, results: rows }, null, 2));
} else {
  console.log(`backend=${backend} patients=${K} frames/patient=${m} passes=${P} horizons=[${horizons.join(',')}] rank=${rank} F=${F} (median of ${repeats})`);
  console.log('variant             wall ms/batch  frames/s  vs adapters | cpu ms/batch  frames/cpu-s  vs adapters');
  for (const r of rows) {
    console.log(
      `${r.variant.padEnd(19)} ${r.ms.toFixed(2).padStart(13)} ${r.framesPerSecond.toFixed(0).padStart(9)} ${r.vsAdapters.toFixed(2).padStart(11)}× |` +
        ` ${r.cpuMs.toFixed(2).padStart(12)} ${r.framesPerCpuSecond.toFixed(0).padStart(13)} ${r.cpuVsAdapters.toFixed(2).padStart(11)}×`,
    );
  }
}
