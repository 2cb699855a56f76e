/**
 * `npm run bench:model` — world-model benchmark on a real recording, every number against a baseline
 * measured in the same run:
 *   1. training time for 1000 frames at default settings (target < 60 s on this 2-core CPU);
 *   2. MC-dropout inference (10 passes, horizons 1/5/10/30) at batch 1, 64, 512: batched mcPredict vs the
 *      naive way (one call per frame and per pass), frames/s and the ratio;
 *   3. achieved FLOP/s of the batched call vs the best plain tf.matMul rate of the same backend;
 *   4. per-patient fine-tuning on held-out frames of the same patient: adapter vs full fine-tuning vs
 *      from scratch (and the cross-subject base without fine-tuning);
 *   5. probe decoder: closed-form ridge vs a small MLP on held-out frames.
 * Medians over --repeats (default 3). `--json` prints one JSON object instead of tables.
 * Flags: --repeats N, --backend wasm|cpu|tensorflow, --json.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mergeAdapter } from '../adapters.js';
import { selectBackend, type BackendPreference } from '../backend.js';
import { computeNormalization, createTransitionSampler } from '../dataset.js';
import { evaluateWorldModel, fitProbeForModel, type EvaluationReport } from '../evaluate.js';
import { evaluableWorldModel } from '../evaluate-world-model.js';
import { createMcMasks, mcPredict } from '../mc-dropout.js';
import { mcGemmFlops } from '../mc-flops.js';
import { createRng } from '../rng.js';
import { median } from '../stats.js';
import { trainWorldModel, type TrainArgs } from '../train.js';
import type { FeatureSequence, Normalization } from '../types.js';
import { WorldModel } from '../world-model.js';
import { argValue, fmt, medianMs, table } from './bench-util.js';
import { loadFeatureSequence, sliceSequence } from '../feature-sequences.js';
import { compareProbes } from './probe-compare.js';
import { PATIENT_SPEC, publicRecordings } from './recordings.js';

const HORIZONS = [1, 5, 10, 30];
const PASSES = 10;
const argv = process.argv.slice(2);
const asJson = argv.includes('--json');
const repeats = Number(argValue(argv, 'repeats') ?? 3);
const log = (s: string): void => {
  if (!asJson) console.log(s);
};

const backend = await selectBackend((argValue(argv, 'backend') as BackendPreference | undefined) ?? 'wasm');
log(`backend: ${backend}`);
const patient = await loadFeatureSequence(PATIENT_SPEC);
const F = patient.names.length;
log(`patient recording: ${PATIENT_SPEC.path} (${patient.t.length} frames, F = ${F})`);

// 1. Training time, 1000 frames, default settings.
const train1000 = [sliceSequence(patient, 0, 1000)];
const norm1000 = computeNormalization(train1000);
const trainRuns: number[] = [];
let trained: WorldModel | null = null;
let steps = 0;
let finalLoss = Number.NaN;
for (let r = 0; r < repeats; r++) {
  const sampler = createTransitionSampler(train1000, norm1000, { seed: r });
  const t0 = performance.now();
  const res = await trainWorldModel({ sampler }, { seed: r });
  trainRuns.push((performance.now() - t0) / 1000);
  steps = res.steps;
  finalLoss = res.lossCurve.at(-1) ?? Number.NaN;
  if (trained) res.model.dispose();
  else trained = res.model;
}
const model = trained!;
const samplesPerEpoch = createTransitionSampler(train1000, norm1000).samplesPerEpoch;
const training = {
  frames: 1000,
  samples_per_epoch: samplesPerEpoch,
  steps,
  final_loss: finalLoss,
  seconds_median: median(trainRuns),
  seconds_runs: trainRuns,
  target_seconds: 60,
};
log(
  `\n1. training, 1000 frames, defaults: median ${fmt(training.seconds_median)} s over ${repeats} (${steps} steps, ${samplesPerEpoch} samples/epoch), target < 60 s`,
);

// 2 + 3. Inference throughput and FLOP/s.
const xAll = new Float32Array(train1000[0]!.x.length);
for (let i = 0; i < xAll.length; i++) xAll[i] = (train1000[0]!.x[i]! - norm1000.mean[i % F]!) / norm1000.std[i % F]!;
const rowsOf = (n: number): Float32Array => xAll.subarray(0, n * F);
const { hiddenDim: Hd, latentDim: L } = model.config;
/** FLOPs of one batched call as mcCore shares them (models/mc-flops.ts; ≈ 1.04 MFLOP per frame at the defaults). */
const flopsOf = (n: number): number => mcGemmFlops(model.config, n, PASSES, HORIZONS.length);
const naive = (x: Float32Array): void => {
  // One call per frame and per pass; mean and std over passes in JS (what a caller without batching does).
  const n = x.length / F;
  for (let i = 0; i < n; i++) {
    const passes: Float32Array[][] = [];
    for (let p = 0; p < PASSES; p++) passes.push(mcPredict(model, x.subarray(i * F, (i + 1) * F), { horizons: HORIZONS, passes: 1, rng: p }).predictions);
    for (let k = 0; k < HORIZONS.length; k++) {
      let u = 0;
      for (let d = 0; d < L; d++) {
        let s = 0;
        let s2 = 0;
        for (const pr of passes) {
          const v = pr[k]![d]!;
          s += v;
          s2 += v * v;
        }
        u += Math.sqrt(Math.max(0, s2 / PASSES - (s / PASSES) ** 2));
      }
      if (!Number.isFinite(u)) throw new Error('non-finite uncertainty');
    }
  }
};
const inference: { batch: number; batched_fps: number; naive_fps: number; speedup: number; gflops: number }[] = [];
for (const batch of [1, 64, 512]) {
  const x = rowsOf(batch);
  const b = await medianMs(() => mcPredict(model, x, { horizons: HORIZONS, passes: PASSES, rng: 1 }), Math.max(repeats, batch === 512 ? 3 : 10));
  const nv = await medianMs(() => naive(x), batch === 512 ? Math.min(repeats, 2) : repeats);
  inference.push({
    batch,
    batched_fps: batch / (b.median / 1000),
    naive_fps: batch / (nv.median / 1000),
    speedup: nv.median / b.median,
    gflops: flopsOf(batch) / (b.median / 1000) / 1e9,
  });
}
log(`\n2. MC-dropout inference (${PASSES} passes, horizons ${HORIZONS.join('/')}):`);
log(
  table(
    ['batch', 'batched fps', 'naive fps', 'speedup', 'GFLOP/s'],
    inference.map((r) => [r.batch, r.batched_fps, r.naive_fps, r.speedup, r.gflops]),
  ),
);

const matmul: { shape: string; gflops: number }[] = [];
for (const [m, k, n] of [
  [256, 256, 256],
  [512, 512, 512],
  [1024, 1024, 1024],
  [5632, 128, 64],
  [20480, 65, 128],
  [20480, 128, 64],
] as const) {
  const a = tf.randomNormal([m, k], 0, 1, 'float32', 1);
  const bm = tf.randomNormal([k, n], 0, 1, 'float32', 2);
  const t = await medianMs(
    () => {
      const c = tf.matMul(a, bm);
      c.dataSync();
      c.dispose();
    },
    Math.max(repeats, 5),
  );
  matmul.push({ shape: `${m}×${k}·${k}×${n}`, gflops: (2 * m * k * n) / (t.median / 1000) / 1e9 });
  tf.dispose([a, bm]);
}
const bestMatmul = matmul.reduce((a, b) => (b.gflops > a.gflops ? b : a));
const model512 = inference.find((r) => r.batch === 512)!;
// Where the rest goes: drawing the dropout masks in JS vs the tensor work given ready masks.
const masks = createMcMasks(createRng(1), 512, PASSES, HORIZONS.length, Hd, model.config.dropout);
const maskMs = await medianMs(() => createMcMasks(createRng(1), 512, PASSES, HORIZONS.length, Hd, model.config.dropout), Math.max(repeats, 5));
const premasked = await medianMs(() => mcPredict(model, rowsOf(512), { horizons: HORIZONS, passes: PASSES, masks }), Math.max(repeats, 5));
const flops = {
  model_gflops_batch512: model512.gflops,
  model_gflops_batch512_premasked: flopsOf(512) / (premasked.median / 1000) / 1e9,
  mask_ms_batch512: maskMs.median,
  call_ms_batch512: (512 / model512.batched_fps) * 1000,
  matmul_best_gflops: bestMatmul.gflops,
  matmul_best_shape: bestMatmul.shape,
  fraction_of_best: model512.gflops / bestMatmul.gflops,
  matmul,
};
log(
  `\n3. FLOP/s: batched MC at batch 512 ${fmt(flops.model_gflops_batch512)} GFLOP/s vs best plain matMul ${fmt(bestMatmul.gflops)} GFLOP/s (${bestMatmul.shape}) = ${fmt(100 * flops.fraction_of_best)} %`,
);
log(
  `   of the ${fmt(flops.call_ms_batch512)} ms call, drawing the dropout masks in JS takes ${fmt(maskMs.median)} ms; with ready masks the call runs at ${fmt(flops.model_gflops_batch512_premasked)} GFLOP/s`,
);
log(
  table(
    ['matMul shape', 'GFLOP/s'],
    matmul.map((r) => [r.shape, r.gflops]),
  ),
);

// 4. Fine-tuning on the same patient: first 70 % to fine-tune, last 30 % held out.
const others: FeatureSequence[] = [];
const skipped: string[] = [];
for (const spec of publicRecordings()) {
  if (spec.subject === PATIENT_SPEC.subject) continue;
  try {
    const s = await loadFeatureSequence(spec);
    if (s.t.length >= 32) others.push(s);
  } catch (e) {
    skipped.push(`${spec.path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
const cut = Math.floor(patient.t.length * 0.7);
const patientTrain = [sliceSequence(patient, 0, cut)];
const patientTest = [sliceSequence(patient, cut, patient.t.length)];
const baseNorm = computeNormalization(others);
const baseRes = await trainWorldModel({ sampler: createTransitionSampler(others, baseNorm, { seed: 0 }) }, { seed: 0 });
const baseModel = baseRes.model;
log(
  `\n4. fine-tuning: base trained cross-subject on ${others.length} recordings (${others.reduce((a, s) => a + s.t.length, 0)} frames) in ${fmt(baseRes.seconds)} s; patient ${cut} frames to fine-tune, ${patient.t.length - cut} held out`,
);
if (skipped.length > 0) log(`   skipped: ${skipped.join('; ')}`);

const evalOn = (m: WorldModel, norm: Normalization): EvaluationReport => {
  const ev = evaluableWorldModel(m, { backend });
  return evaluateWorldModel(ev, patientTest, norm, fitProbeForModel(ev, patientTrain, norm));
};
interface Variant {
  name: string;
  seconds: number[];
  reports: EvaluationReport[];
}
const variants: Variant[] = [{ name: 'base (no fine-tuning)', seconds: [0], reports: [evalOn(baseModel, baseNorm)] }];
const runVariant = async (name: string, fn: (seed: number) => Promise<{ model: WorldModel; norm: Normalization; seconds: number }>): Promise<void> => {
  const v: Variant = { name, seconds: [], reports: [] };
  for (let r = 0; r < repeats; r++) {
    const out = await fn(r);
    v.seconds.push(out.seconds);
    v.reports.push(evalOn(out.model, out.norm));
    out.model.dispose();
  }
  variants.push(v);
};
const ftSampler = (seed: number) => createTransitionSampler(patientTrain, baseNorm, { seed });
await runVariant('adapter fine-tune (rank 4, default layers)', async (seed) => {
  const args: TrainArgs = { seed, mode: 'adapter' };
  const res = await trainWorldModel({ sampler: ftSampler(seed), init: baseModel }, args);
  const merged = new WorldModel(baseModel.config, mergeAdapter(baseModel.getWeights(), res.adapter!));
  res.model.dispose();
  return { model: merged, norm: baseNorm, seconds: res.seconds };
});
await runVariant('full fine-tune', async (seed) => {
  const res = await trainWorldModel({ sampler: ftSampler(seed), init: baseModel }, { seed });
  return { model: res.model, norm: baseNorm, seconds: res.seconds };
});
await runVariant('from scratch (patient only)', async (seed) => {
  const norm = computeNormalization(patientTrain);
  const res = await trainWorldModel({ sampler: createTransitionSampler(patientTrain, norm, { seed }) }, { seed });
  return { model: res.model, norm, seconds: res.seconds };
});
const med = (v: Variant, h: string, k: 'normalized_mse' | 'identity_normalized_mse' | 'pose_mm' | 'constant_velocity_mm'): number =>
  median(v.reports.map((r) => r.horizons[h]![k]));
const finetune = variants.map((v) => ({
  name: v.name,
  seconds_median: median(v.seconds),
  horizons: Object.fromEntries(
    HORIZONS.map((h) => [
      String(h),
      {
        normalized_mse: med(v, String(h), 'normalized_mse'),
        identity_normalized_mse: med(v, String(h), 'identity_normalized_mse'),
        pose_mm: med(v, String(h), 'pose_mm'),
        constant_velocity_mm: med(v, String(h), 'constant_velocity_mm'),
      },
    ]),
  ),
  uncertainty_spearman: median(v.reports.map((r) => r.uncertainty_spearman)),
  effective_rank: median(v.reports.map((r) => r.collapse.effective_rank)),
  reports: v.reports,
}));
log(
  table(
    ['variant', 'train s', ...HORIZONS.map((h) => `nMSE@${h}`), ...HORIZONS.map((h) => `mm@${h}`), 'ρ(unc,err)', 'eff.rank'],
    finetune.map((v) => [
      v.name,
      v.seconds_median,
      ...HORIZONS.map((h) => v.horizons[String(h)]!.normalized_mse),
      ...HORIZONS.map((h) => v.horizons[String(h)]!.pose_mm),
      v.uncertainty_spearman,
      v.effective_rank,
    ]),
  ),
);
const zero = finetune[0]!.reports[0]!.horizons;
log(
  `   baselines (held-out): zero-velocity mm ${HORIZONS.map((h) => fmt(zero[String(h)]!.zero_velocity_mm)).join(' / ')}, constant-velocity mm ${HORIZONS.map((h) => fmt(zero[String(h)]!.constant_velocity_mm)).join(' / ')}`,
);

// 5. Probe decoder: ridge vs MLP, on the patient model trained in 1. (held-out = last 30 %).
const probe = await compareProbes(evaluableWorldModel(model, { backend }), patientTrain, patientTest, norm1000, repeats);
log(
  `\n5. probe decoder on held-out frames (decode target latents of the same frames): ridge ${fmt(probe.ridge_mm)} mm (fit ${fmt(probe.ridge_seconds)} s) vs MLP ${fmt(probe.mlp_mm)} mm (fit ${fmt(probe.mlp_seconds)} s)`,
);
// Note: the probe here is applied to latents of a model trained on the first 1000 frames (its own normalisation).

baseModel.dispose();
model.dispose();
if (asJson) {
  console.log(
    JSON.stringify(
      { backend, patient: PATIENT_SPEC, training, inference, flops, finetune: { skipped, variants: finetune.map(({ reports: _r, ...v }) => v) }, probe },
      null,
      2,
    ),
  );
}
