/**
 * Fast leave-subject-out loop for choosing training/regularisation settings: trains on every public
 * recording except a held-out gait subject (and, with calibration, except a validation subject too),
 * evaluates on the held-out one with models/evaluate.ts (unchanged definitions) and prints model vs
 * identity nMSE per horizon, pose mm at Δh = 10 vs zero/constant velocity, uncertainty ρ and rank.
 * With calibration it also prints the unscaled model ("raw") trained on the same data.
 * Run: npx tsx models/bench/lso-quick.ts [--subjects a,b] [--config JSON (LsoConfig, lso-train.ts)] [--seed N] [--json FILE]
 */
import { writeFile } from 'node:fs/promises';
import { selectBackend } from '../backend.js';
import { evaluateWorldModel, fitProbeForModel, type EvaluationReport } from '../evaluate.js';
import { evaluableWorldModel } from '../evaluate-world-model.js';
import type { FeatureSequence } from '../types.js';
import type { WorldModel } from '../world-model.js';
import { argValue, fmt } from './bench-util.js';
import { loadFeatureSequence } from '../feature-sequences.js';
import { subjectOf, trainLso, type LsoConfig } from './lso-train.js';
import { publicRecordings } from './recordings.js';

/** Gait subjects the quick loop holds out by default (three the full LSO lost on, one it won). */
export const QUICK_SUBJECTS = ['opensim-01', 'shida-SUB05', 'fukuchi-WBDS19', 'camargo-01'];

const argv = process.argv.slice(2);
const cfg = JSON.parse(argValue(argv, 'config') ?? '{}') as LsoConfig;
const subjects = argValue(argv, 'subjects')?.split(',') ?? QUICK_SUBJECTS;
const seed = Number(argValue(argv, 'seed') ?? 0);
const backend = await selectBackend('wasm');
const seqs: FeatureSequence[] = [];
for (const spec of publicRecordings()) seqs.push(await loadFeatureSequence(spec));

function line(tag: string, r: EvaluationReport): string {
  const h = r.horizons;
  const hs = ['1', '5', '10', '30'].map((k) => `${fmt(h[k]!.normalized_mse)}/${fmt(h[k]!.identity_normalized_mse)}`).join('  ');
  return `${tag.padEnd(28)} nMSE m/id ${hs}  mm@10 ${fmt(h['10']!.pose_mm)} zv ${fmt(h['10']!.zero_velocity_mm)} cv ${fmt(h['10']!.constant_velocity_mm)}  ρ ${fmt(r.uncertainty_spearman)} rank ${fmt(r.collapse.effective_rank)}`;
}

const results: Record<string, unknown>[] = [];
for (const subject of subjects) {
  const test = seqs.filter((s) => subjectOf(s) === subject && s.t.length >= 32);
  const run = await trainLso(seqs, subject, cfg, seed);
  const probe = fitProbeForModel(evaluableWorldModel(run.result.model, { backend }), run.train, run.norm);
  const evalModel = (m: WorldModel): EvaluationReport => evaluateWorldModel(evaluableWorldModel(m, { backend }), test, run.norm, probe);
  const raw = evalModel(run.result.model);
  console.log(line(`${subject} raw (${fmt(run.result.seconds)} s)`, raw));
  const row: Record<string, unknown> = { subject, seconds: run.result.seconds, raw };
  if (run.validation) {
    const rep = evalModel(run.model);
    console.log(line(`${subject} α=${fmt(run.validation.fit.alpha)} (val ${run.validation.subject})`, rep));
    Object.assign(row, { val: run.validation.subject, fit: run.validation.fit, scaled: rep });
    run.model.dispose();
  }
  run.result.model.dispose();
  results.push(row);
}
const jsonOut = argValue(argv, 'json');
if (jsonOut) await writeFile(jsonOut, `${JSON.stringify({ config: cfg, seed, results }, null, 2)}\n`);
