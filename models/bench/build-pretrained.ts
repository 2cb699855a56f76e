/**
 * Builds the shipped default model: trains the world model cross-subject on every public recording
 * (../shared/data/motion), evaluates it leave-subject-out, and writes to models/pretrained/ (or --out):
 *   checkpoint.json + weights.bin   the standard checkpoint (models/checkpoint.ts), trained on ALL subjects
 *   probe.npz                       ridge probe decoder (latent → canonical pose) for that model
 *   evaluation.json                 leave-subject-out reports (models/evaluate.ts), one per held-out subject,
 *                                   trained without that subject, plus per-metric medians across subjects
 * Run: npx tsx models/bench/build-pretrained.ts [--out DIR] [--epochs N] [--config JSON] [--no-lso] [--subjects a,b] [--force]
 * Training goes through lso-train.ts (trainLso) with SHIPPED_CONFIG (override keys with --config, an
 * LsoConfig): the same code lso-quick.ts measured the settings with. With calibration on, one validation
 * subject is left out of every run (also of the shipped one) and fits the residual scale.
 * A collapsed final model (effective rank < MIN_EFFECTIVE_RANK) is not written unless --force.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend, type BackendPreference } from '../backend.js';
import { checkpointFromTraining, saveCheckpoint } from '../checkpoint.js';
import { normalizeRows } from '../dataset.js';
import { EVAL_HORIZONS, evaluateWorldModel, fitProbeForModel, type EvaluationReport } from '../evaluate.js';
import { evaluableWorldModel } from '../evaluate-world-model.js';
import { probeToNpz } from '../probe-decoder.js';
import { effectiveRank, median } from '../stats.js';
import type { FeatureSequence } from '../types.js';
import { encode } from '../world-model.js';
import { argValue, fmt, table } from './bench-util.js';
import { loadFeatureSequence } from '../feature-sequences.js';
import { subjectOf, trainLso, type LsoConfig } from './lso-train.js';
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
/**
 * Settings of the shipped model, chosen by leave-subject-out measurement (models/bench/lso-quick.ts;
 * numbers in /work/notes/model-generalise-ready.md). Library defaults apply to absent keys.
 */
export const SHIPPED_CONFIG: LsoConfig = { epochs: 20 };
const epochs = argValue(argv, 'epochs');
const config: LsoConfig = {
  ...SHIPPED_CONFIG,
  ...(JSON.parse(argValue(argv, 'config') ?? '{}') as LsoConfig),
  ...(epochs !== undefined ? { epochs: Number(epochs) } : {}),
};
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
const subjects = [...new Set(seqs.map(subjectOf))].sort();
const only = argValue(argv, 'subjects')?.split(',');

// Leave-subject-out: the only honest number for a model that will meet new patients.
const lso: {
  subject: string;
  frames: number;
  seconds: number;
  validation?: { subject: string; alpha: number; raw_alpha: number };
  report: EvaluationReport;
}[] = [];
if (!argv.includes('--no-lso')) {
  for (const subject of subjects.filter((s) => !only || only.includes(s))) {
    const test = seqs.filter((s) => subjectOf(s) === subject && s.t.length >= MIN_EVAL_FRAMES);
    if (test.length === 0 || seqs.every((s) => subjectOf(s) === subject)) continue;
    const run = await trainLso(seqs, subject, config);
    const m = evaluableWorldModel(run.model, { backend });
    // The probe reads the scaled model's target encoder, which scaling leaves unchanged.
    const report = evaluateWorldModel(m, test, run.norm, fitProbeForModel(m, run.train, run.norm));
    if (run.model !== run.result.model) run.model.dispose();
    run.result.model.dispose();
    const v = run.validation;
    lso.push({
      subject,
      frames: report.frames,
      seconds: run.result.seconds,
      ...(v ? { validation: { subject: v.subject, alpha: v.fit.alpha, raw_alpha: v.fit.raw } } : {}),
      report,
    });
    const h = report.horizons;
    console.log(
      `LSO ${subject}: nMSE@1/10/30 ${[h['1'], h['10'], h['30']].map((r) => fmt(r!.normalized_mse)).join('/')} (identity ${[h['1'], h['10'], h['30']].map((r) => fmt(r!.identity_normalized_mse)).join('/')}), pose mm@10 ${fmt(h['10']!.pose_mm)} vs cv ${fmt(h['10']!.constant_velocity_mm)}`,
    );
  }
}
type Metric = keyof EvaluationReport['horizons'][string];
const metrics: Metric[] = ['latent_mse', 'normalized_mse', 'identity_normalized_mse', 'pose_mm', 'pose_abs_mm', 'zero_velocity_mm', 'constant_velocity_mm'];
const summary =
  lso.length === 0
    ? null
    : {
        subjects: lso.length,
        horizons: Object.fromEntries(
          EVAL_HORIZONS.map((h) => [String(h), Object.fromEntries(metrics.map((k) => [k, median(lso.map((r) => r.report.horizons[String(h)]![k]))]))]),
        ),
        uncertainty_spearman: median(lso.map((r) => r.report.uncertainty_spearman)),
        effective_rank: median(lso.map((r) => r.report.collapse.effective_rank)),
      };
if (summary) {
  console.log(`\nleave-subject-out medians over ${summary.subjects} subjects:`);
  console.log(
    table(
      ['Δh', ...metrics],
      EVAL_HORIZONS.map((h) => [h, ...metrics.map((k) => summary.horizons[String(h)]![k]!)]),
    ),
  );
}

// The shipped model: all subjects.
const run = await trainLso(seqs, null, config);
const { norm, result: res, model: shipped } = run;
if (run.validation)
  console.log(`final model: residual scale α = ${fmt(run.validation.fit.alpha)} fitted on ${run.validation.subject} (left out of its training)`);
const zAll = run.train.map((s) => encode(shipped, normalizeRows(s.x, norm)));
const zCat = new Float32Array(zAll.reduce((a, z) => a + z.length, 0));
zAll.reduce((o, z) => (zCat.set(z, o), o + z.length), 0);
const rank = effectiveRank(zCat, zCat.length / shipped.config.latentDim, shipped.config.latentDim);
console.log(`final model: effective rank of its latents over all ${zCat.length / shipped.config.latentDim} training frames = ${fmt(rank)}`);
if (rank < MIN_EFFECTIVE_RANK && !argv.includes('--force')) {
  if (shipped !== res.model) shipped.dispose();
  res.model.dispose();
  console.error(`refusing to write a collapsed model (effective rank ${fmt(rank)} < ${MIN_EFFECTIVE_RANK}); --force overrides`);
  process.exit(1);
}
// The checkpoint carries the shipped (scaled) weights with the run's loss curve and training config.
const ckpt = checkpointFromTraining(
  { ...res, model: shipped },
  {
    featureNames: seqs[0]!.names,
    normalization: norm,
    backend,
    provenance: { inputs: run.train.map((s) => ({ file: s.source.file, sha256: s.source.sha256 })) },
  },
);
await mkdir(out, { recursive: true });
const weightsSha = await saveCheckpoint(out, ckpt);
const probe = fitProbeForModel(evaluableWorldModel(shipped, { backend }), run.train, norm);
await writeFile(join(out, 'probe.npz'), probeToNpz(probe));
await writeFile(
  join(out, 'evaluation.json'),
  `${JSON.stringify({ protocol: 'leave-subject-out; probe fitted on the training subjects', backend, config, train_args: run.trainArgs, residual_scale: run.validation ? { validation_subject: run.validation.subject, ...run.validation.fit } : null, final_effective_rank: rank, recordings: run.train.map((s) => ({ ...s.source, frames: s.t.length })), summary, per_subject: lso }, null, 2)}\n`,
);
if (shipped !== res.model) shipped.dispose();
res.model.dispose();
console.log(
  `\nwrote ${out}: checkpoint (weights sha256 ${weightsSha}), probe.npz, evaluation.json; trained ${fmt(res.seconds)} s on ${run.train.length} recordings`,
);
