// The gate between a fine-tuned patient model and the registry: both the base and the patient model
// are evaluated (models/evaluate.ts) on the same held-out tail of the new recording, which the
// fine-tune never saw, and the patient model is registered only if it is not worse than the base.
//
// Rule (normalised latent MSE = latent MSE / target variance, evaluate.ts definitions):
//   for every Δh in `horizons`: patient ≤ base · (1 + tolerance)   (no horizon gets materially worse)
//   and mean over Δh:           patient ≤ base                       (not worse overall)
// Both models share the base's frozen target encoder (adapter training), so their targets — and thus
// their errors — are in the same space and directly comparable.
//
// Short sessions: a configured Δh is judged only when the held-out tail holds MIN_GATE_TRANSITIONS
// transitions at it (fewer give an MSE too noisy to accept or reject on). The decision then rests on
// the judged horizons alone, and says so: `notJudged` lists the others with their transition counts,
// and the reason names them. The smallest configured horizon is always judged (the retrain worker
// holds out enough frames for it); a tail too short even for that is rejected, never waved through.
import { evaluableWorldModel } from '../../../models/evaluate-world-model.js';
import { evaluateWorldModel, fitProbeForModel, type EvaluationReport } from '../../../models/evaluate.js';
import type { FeatureSequence, Normalization } from '../../../models/types.js';
import type { WorldModel } from '../../../models/world-model.js';

/**
 * Slack per horizon: a held-out tail of a few hundred frames gives MSE estimates that move by a few
 * percent between equally good models; 2 % lets a model that is better overall through.
 */
export const DEFAULT_TOLERANCE = 0.02;

/**
 * Held-out transitions a horizon needs before the gate judges it: fewer give an MSE estimate too noisy
 * to accept or reject a model on (a 151-frame session's 31-frame tail holds one transition at Δh 30).
 */
export const MIN_GATE_TRANSITIONS = 20;

/** A configured horizon the held-out tail was too short to judge. */
export interface UnjudgedHorizon {
  readonly horizon: number;
  /** Transitions the tail holds at it (< MIN_GATE_TRANSITIONS). */
  readonly transitions: number;
}

/** Splits the configured horizons into those a tail of `heldOutFrames` frames can judge and the rest. */
export function planHorizons(configured: readonly number[], heldOutFrames: number): { judged: number[]; notJudged: UnjudgedHorizon[] } {
  const transitions = (h: number): number => Math.max(0, heldOutFrames - h);
  return {
    judged: configured.filter((h) => transitions(h) >= MIN_GATE_TRANSITIONS),
    notJudged: configured.filter((h) => transitions(h) < MIN_GATE_TRANSITIONS).map((h) => ({ horizon: h, transitions: transitions(h) })),
  };
}

export interface GateDecision {
  readonly accepted: boolean;
  /** Human-readable: which condition passed or failed, with the numbers, and the horizons not judged. */
  readonly reason: string;
  /** The horizons judged (the configured ones the held-out tail can judge). */
  readonly horizons: readonly number[];
  /** Configured horizons not judged: the held-out tail holds too few transitions at them. */
  readonly notJudged: readonly UnjudgedHorizon[];
  /** normalized_mse per horizon (string keys as in EvaluationReport). */
  readonly base: Readonly<Record<string, number>>;
  readonly patient: Readonly<Record<string, number>>;
  readonly baseMean: number;
  readonly patientMean: number;
  readonly tolerance: number;
  readonly heldOutFrames: number;
  /** Full evaluation reports (latent, pose mm vs baselines, uncertainty, collapse), one per horizon. */
  readonly reports: { readonly base: readonly EvaluationReport[]; readonly patient: readonly EvaluationReport[] };
}

export interface GateOptions {
  readonly backend: string;
  /** The configured prediction horizons (config.horizons): the gate judges what live inference serves
   *  (those the held-out tail can judge, see planHorizons). */
  readonly horizons: readonly number[];
  readonly tolerance?: number;
  /** MC-dropout passes for the uncertainty columns of the reports (config.mcPasses). */
  readonly passes: number;
}

/** Pure decision on two sets of per-horizon normalised MSEs (exported for its own tests). */
export function decide(
  base: Readonly<Record<string, number>>,
  patient: Readonly<Record<string, number>>,
  horizons: readonly number[],
  tolerance: number,
): { accepted: boolean; reason: string; baseMean: number; patientMean: number } {
  const b = horizons.map((h) => base[String(h)] ?? Number.NaN);
  const p = horizons.map((h) => patient[String(h)] ?? Number.NaN);
  const baseMean = b.reduce((a, v) => a + v, 0) / b.length;
  const patientMean = p.reduce((a, v) => a + v, 0) / p.length;
  if (![...b, ...p].every(Number.isFinite)) return { accepted: false, reason: 'an evaluation produced a non-finite error', baseMean, patientMean };
  const worse = horizons.filter((_, i) => p[i]! > b[i]! * (1 + tolerance));
  const fmt = (v: number): string => v.toFixed(4);
  if (worse.length > 0) {
    const detail = worse.map((h) => `Δh ${h}: ${fmt(patient[String(h)]!)} > ${fmt(base[String(h)]!)}·(1+${tolerance})`).join(', ');
    return { accepted: false, reason: `worse than the base at ${detail}`, baseMean, patientMean };
  }
  if (patientMean > baseMean) return { accepted: false, reason: `mean normalised MSE ${fmt(patientMean)} > base ${fmt(baseMean)}`, baseMean, patientMean };
  return {
    accepted: true,
    reason: `mean normalised MSE ${fmt(patientMean)} ≤ base ${fmt(baseMean)}, every horizon within ${tolerance * 100}%`,
    baseMean,
    patientMean,
  };
}

/** Lets the event loop run between evaluation pieces (live sessions share this thread in embedded mode). */
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Evaluates base and patient on `heldOut` (probe fitted on `train`) and applies the rule above. Each
 * (model, horizon) evaluation is its own synchronous piece (~0.1–0.3 s for a few hundred held-out
 * frames), with the event loop running in between.
 */
export async function gatePatientModel(
  base: WorldModel,
  patient: WorldModel,
  train: readonly FeatureSequence[],
  heldOut: FeatureSequence,
  norm: Normalization,
  opts: GateOptions,
): Promise<GateDecision> {
  const { judged: horizons, notJudged } = planHorizons(opts.horizons, heldOut.t.length);
  const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
  const unjudged =
    notJudged.length === 0
      ? ''
      : `; not judged (held-out tail of ${heldOut.t.length} frames): ${notJudged.map((u) => `Δh ${u.horizon} (${u.transitions} transitions, needs ${MIN_GATE_TRANSITIONS})`).join(', ')}`;
  if (horizons.length === 0) {
    const none = { accepted: false, reason: `no configured horizon can be judged${unjudged}`, baseMean: Number.NaN, patientMean: Number.NaN };
    return { ...none, horizons, notJudged, base: {}, patient: {}, tolerance, heldOutFrames: heldOut.t.length, reports: { base: [], patient: [] } };
  }
  const evalOpts = { backend: opts.backend, passes: opts.passes };
  const baseEval = evaluableWorldModel(base, evalOpts);
  const patientEval = evaluableWorldModel(patient, evalOpts);
  // The probe decodes target-encoder latents, which the base and the adapter share: fit once.
  const probe = fitProbeForModel(baseEval, train, norm);
  const reports: { base: EvaluationReport[]; patient: EvaluationReport[] } = { base: [], patient: [] };
  for (const h of horizons) {
    await yieldToLoop();
    reports.base.push(evaluateWorldModel(baseEval, [heldOut], norm, probe, { horizons: [h] }));
    await yieldToLoop();
    reports.patient.push(evaluateWorldModel(patientEval, [heldOut], norm, probe, { horizons: [h] }));
  }
  const pick = (rs: readonly EvaluationReport[]): Record<string, number> =>
    Object.fromEntries(horizons.map((h, i) => [String(h), rs[i]?.horizons[String(h)]?.normalized_mse ?? Number.NaN]));
  const b = pick(reports.base);
  const p = pick(reports.patient);
  const d = decide(b, p, horizons, tolerance);
  return { ...d, reason: d.reason + unjudged, horizons, notJudged, base: b, patient: p, tolerance, heldOutFrames: heldOut.t.length, reports };
}
