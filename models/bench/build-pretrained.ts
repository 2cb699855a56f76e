/**
 * Builds the shipped default model: trains the world model cross-subject on every public recording
 * (../shared/data/motion), evaluates it leave-subject-out, and writes to models/pretrained/ (or --out):
 *   checkpoint.json + weights.bin   the standard checkpoint (models/checkpoint.ts), trained on ALL subjects
 *   probe.npz                       ridge probe decoder (latent → canonical pose) for that model
 *   evaluation.json                 leave-subject-out reports (models/evaluate.ts), one per held-out subject,
 *                                   trained without that subject, plus per-metric medians across subjects
 * Run: npx tsx models/bench/build-pretrained.ts [--out DIR] [--epochs N] [--no-lso] [--subjects a,b] [--force]
 * A collapsed final model (effective rank < MIN_EFFECTIVE_RANK) is not written unless --force.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend, type BackendPreference } from '../backend.js';
import { checkpointFromTraining, saveCheckpoint } from '../checkpoint.js';
import { computeNormalization, createTransitionSampler, normalizeRows } from '../dataset.js';
import { EVAL_HORIZONS, evaluateWorldModel, fitProbeForModel, type EvaluationReport } from '../evaluate.js';
import { evaluableWorldModel } from '../evaluate-world-model.js';
import { probeToNpz } from '../probe-decoder.js';
import { effectiveRank, median } from '../stats.js';
import { trainWorldModel, type TrainArgs } from '../train.js';
import type { FeatureSequence } from '../types.js';
import { encode } from '../world-model.js';
import { argValue, fmt, table } from './bench-util.js';
import { loadFeatureSequence } from './feature-sequences.js';
import { publicRecordings } from './recordings.js';

/** Held-out recordings shorter than this cannot be scored at Δh = 30 with a previous frame. */
const MIN_EVAL_FRAMES = 32;
/**
 * A shipped model whose latents (over all training frames) have a lower effective rank than this is
 * collapsed and is not written (override: --force). Healthy runs here measure ~10–25 of 64.
 */
const MIN_EFFECTIVE_RANK = 4;

const argv = process.argv.slice(2);
const out = resolve(argValue(argv, 'out') ?? join(fileURLToPath(new URL('.', import.meta.url)), '..', 'pretrained'));
const epochs = argValue(argv, 'epochs');
const trainArgs: TrainArgs = { seed: 0, ...(epochs !== undefined ? { epochs: Number(epochs) } : {}) };
const backend = await selectBackend((argValue(argv, 'backend') as BackendPreference | undefined) ?? 'wasm');
console.log(`backend ${backend}; output ${out}`);

const seqs: FeatureSequence[] = [];
for (const spec of publicRecordings()) {
  try {
    const s = await loadFeatureSequence(spec);
    seqs.push(s);
    console.log(`  ${spec.subject.padEnd(16)} ${spec.assessment.padEnd(12)} ${String(s.t.length).padStart(5)} frames  ${spec.path}`);
  } catch (e) {
    console.log(`  SKIPPED ${spec.path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
if (seqs.length === 0) throw new Error('no readable recordings');
const subjectOf = (s: FeatureSequence): string => s.source.subject ?? s.source.file;
const subjects = [...new Set(seqs.map(subjectOf))].sort();
const only = argValue(argv, 'subjects')?.split(',');

async function trainOn(train: FeatureSequence[]) {
  const norm = computeNormalization(train);
  const res = await trainWorldModel({ sampler: createTransitionSampler(train, norm, { seed: 0 }) }, trainArgs);
  return { norm, res };
}

// Leave-subject-out: the only honest number for a model that will meet new patients.
const lso: { subject: string; frames: number; seconds: number; report: EvaluationReport }[] = [];
if (!argv.includes('--no-lso')) {
  for (const subject of subjects.filter((s) => !only || only.includes(s))) {
    const test = seqs.filter((s) => subjectOf(s) === subject && s.t.length >= MIN_EVAL_FRAMES);
    const train = seqs.filter((s) => subjectOf(s) !== subject);
    if (test.length === 0 || train.length === 0) continue;
    const { norm, res } = await trainOn(train);
    const m = evaluableWorldModel(res.model, { backend });
    const report = evaluateWorldModel(m, test, norm, fitProbeForModel(m, train, norm));
    res.model.dispose();
    lso.push({ subject, frames: report.frames, seconds: res.seconds, report });
    const h = report.horizons;
    console.log(`LSO ${subject}: nMSE@1/10/30 ${[h['1'], h['10'], h['30']].map((r) => fmt(r!.normalized_mse)).join('/')} (identity ${[h['1'], h['10'], h['30']].map((r) => fmt(r!.identity_normalized_mse)).join('/')}), pose mm@10 ${fmt(h['10']!.pose_mm)} vs cv ${fmt(h['10']!.constant_velocity_mm)}`);
  }
}
type Metric = keyof EvaluationReport['horizons'][string];
const metrics: Metric[] = ['latent_mse', 'normalized_mse', 'identity_normalized_mse', 'pose_mm', 'pose_abs_mm', 'zero_velocity_mm', 'constant_velocity_mm'];
const summary = lso.length === 0 ? null : {
  subjects: lso.length,
  horizons: Object.fromEntries(EVAL_HORIZONS.map((h) => [String(h), Object.fromEntries(metrics.map((k) => [k, median(lso.map((r) => r.report.horizons[String(h)]![k]))]))])),
  uncertainty_spearman: median(lso.map((r) => r.report.uncertainty_spearman)),
  effective_rank: median(lso.map((r) => r.report.collapse.effective_rank)),
};
if (summary) {
  console.log(`\nleave-subject-out medians over ${summary.subjects} subjects:`);
  console.log(table(['Δh', ...metrics], EVAL_HORIZONS.map((h) => [h, ...metrics.map((k) => summary.horizons[String(h)]![k]!)])));
}

// The shipped model: all subjects.
const { norm, res } = await trainOn(seqs);
const zAll = seqs.map((s) => encode(res.model, normalizeRows(s.x, norm)));
const zCat = new Float32Array(zAll.reduce((a, z) => a + z.length, 0));
zAll.reduce((o, z) => (zCat.set(z, o), o + z.length), 0);
const rank = effectiveRank(zCat, zCat.length / res.model.config.latentDim, res.model.config.latentDim);
console.log(`final model: effective rank of its latents over all ${zCat.length / res.model.config.latentDim} frames = ${fmt(rank)}`);
if (rank < MIN_EFFECTIVE_RANK && !argv.includes('--force')) {
  res.model.dispose();
  console.error(`refusing to write a collapsed model (effective rank ${fmt(rank)} < ${MIN_EFFECTIVE_RANK}); --force overrides`);
  process.exit(1);
}
const ckpt = checkpointFromTraining(res, {
  featureNames: seqs[0]!.names,
  normalization: norm,
  backend,
  provenance: { inputs: seqs.map((s) => ({ file: s.source.file, sha256: s.source.sha256 })) },
});
await mkdir(out, { recursive: true });
const weightsSha = await saveCheckpoint(out, ckpt);
const probe = fitProbeForModel(evaluableWorldModel(res.model, { backend }), seqs, norm);
await writeFile(join(out, 'probe.npz'), probeToNpz(probe));
await writeFile(
  join(out, 'evaluation.json'),
  `${JSON.stringify({ protocol: 'leave-subject-out; probe fitted on the training subjects', backend, train_args: trainArgs, final_effective_rank: rank, recordings: seqs.map((s) => ({ ...s.source, frames: s.t.length })), summary, per_subject: lso }, null, 2)}\n`,
);
res.model.dispose();
console.log(`\nwrote ${out}: checkpoint (weights sha256 ${weightsSha}), probe.npz, evaluation.json; trained ${fmt(res.seconds)} s on ${seqs.length} recordings`);
