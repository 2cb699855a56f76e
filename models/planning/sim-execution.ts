/**
 * Stage 8: sim execution. Every accepted variant (stage 7) is executed against the assessment's
 * success criteria (criteria.ts) over its window and labelled; a failed variant gets the minimal latent
 * correction that makes it pass, with what that correction changes in joint-angle terms; and across all
 * labelled variants, the physical parameters are ranked by how well they separate failures from
 * successes.
 *
 * Correction: with w_f the failed variant's whitened offset, search w = w_f + c for the smallest ‖c‖
 * whose window passes. If the observed window passes, the straight path back (w = (1 − α)·w_f) contains
 * a passing point and bisection on α finds the smallest one; otherwise (the patient's own movement fails
 * the criterion too) Levenberg–Marquardt steps on the criteria's hinge margins move w past the
 * threshold, with the same finite-difference Jacobian as goal planning. The result is re-executed and
 * reported as verified only if it passes.
 *
 * Failure analysis: per parameter, the ROC AUC of the parameter for predicting failure (Mann–Whitney,
 * ties counted half); the ranking is by |AUC − 0.5| (0 = no information, 0.5 = separates perfectly), with
 * the direction (higher or lower values fail).
 */
import { solveSpd } from '../probe-decoder.js';
import { footLow } from '../../streams/sim-replay.js';
import { judge, type CriterionResult } from './criteria.js';
import { physicsFilter } from './physics-filter.js';
import { angleAt } from './quantities.js';
import type { LatentContext } from './rollout.js';
import { variantTrack, type Variant, type VariantPlan } from './variants.js';

export const BISECTION_STEPS = 12;
export const CORRECTION_MAX_ITER = 8;
/** Margin aimed past each failing threshold, in the criterion's unit fraction (keeps the fix off the edge). */
const FD_STEP = 0.05;

export interface Outcome {
  readonly variant: string;
  readonly passed: boolean;
  readonly criteria: readonly CriterionResult[];
}

export interface Correction {
  readonly variant: string;
  readonly method: 'bisection' | 'gradient';
  /** Correction c (whitened) and its norm; the corrected offset is w_f + c. */
  readonly c: number[];
  readonly norm: number;
  readonly verified: boolean;
  readonly physics_ok: boolean;
  readonly criteria: readonly CriterionResult[];
  /** Mean change over the window, corrected − failed, per joint angle (deg). */
  readonly angle_change_deg: Readonly<Record<'knee_flexion_l' | 'knee_flexion_r' | 'hip_flexion_l' | 'hip_flexion_r', number | null>>;
}

export interface FailureFactor {
  readonly parameter: string;
  readonly unit: string;
  readonly auc: number;
  /** |AUC − 0.5|: 0 carries no information, 0.5 separates failures perfectly. */
  readonly strength: number;
  readonly direction: 'higher_fails' | 'lower_fails';
}

export interface SimExecution {
  readonly outcomes: readonly Outcome[];
  readonly corrections: readonly Correction[];
  readonly failure_analysis: { readonly labelled: number; readonly failed: number; readonly ranking: readonly FailureFactor[]; readonly note: string | null };
}

const windowFrames = (v: { start: number; end: number }): number[] => Array.from({ length: v.end - v.start + 1 }, (_, i) => v.start + i);
const passes = (c: readonly CriterionResult[]): boolean => c.every((x) => x.passed);
const ANGLES = ['knee_flexion_l', 'knee_flexion_r', 'hip_flexion_l', 'hip_flexion_r'] as const;

function meanAngle(j: Float32Array, frames: readonly number[], q: (typeof ANGLES)[number]): number {
  const v = frames.map((i) => angleAt(j, i, q)).filter(Number.isFinite);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

export function correct(ctx: LatentContext, v: Variant, reference: Float64Array): Correction {
  const s = ctx.session;
  const frames = windowFrames(v);
  const L = ctx.model.latentDim;
  const run = (w: Float32Array): { track: Float32Array; criteria: CriterionResult[] } => {
    const track = variantTrack(ctx, v.start, v.end, w);
    return { track, criteria: judge(s, track, frames) };
  };
  let best: Float32Array;
  let method: Correction['method'];
  if (passes(judge(s, s.joints, frames))) {
    method = 'bisection';
    let lo = 0; // fails
    let hi = 1; // passes (the observed window)
    for (let k = 0; k < BISECTION_STEPS; k++) {
      const mid = (lo + hi) / 2;
      if (passes(run(v.w.map((x) => (1 - mid) * x)).criteria)) hi = mid;
      else lo = mid;
    }
    best = v.w.map((x) => (1 - hi) * x);
  } else {
    method = 'gradient';
    // Hinge residuals: how far each failing criterion is below its threshold, scaled to comparable size.
    const resid = (c: readonly CriterionResult[]): number[] => c.map((x) => (x.margin !== null && x.margin < 0 ? x.margin : 0));
    let w = v.w.slice();
    let r = resid(run(w).criteria);
    for (let it = 0; it < CORRECTION_MAX_ITER && r.some((x) => x < 0); it++) {
      const res = Array.from({ length: L }, (_, j) => resid(run(w.map((x, d) => (d === j ? x + FD_STEP : x))).criteria));
      const m = r.length;
      const jtj = new Float64Array(L * L);
      const rhs = new Float64Array(L);
      // Aim 10 % past the threshold (in residual units) so the step lands on the passing side.
      const target = r.map((x) => (x < 0 ? x * 1.1 : 0));
      let trace = 0;
      for (let p = 0; p < L; p++) {
        for (let q = 0; q < L; q++) {
          let acc = 0;
          for (let i = 0; i < m; i++) acc += ((res[p]![i]! - r[i]!) / FD_STEP) * ((res[q]![i]! - r[i]!) / FD_STEP);
          jtj[p * L + q] = acc;
        }
        trace += jtj[p * L + p]!;
      }
      const mu = 1e-3 * (trace / L) + 1e-9;
      for (let p = 0; p < L; p++) {
        jtj[p * L + p] = jtj[p * L + p]! + mu;
        let acc = 0;
        for (let i = 0; i < m; i++) acc += ((res[p]![i]! - r[i]!) / FD_STEP) * target[i]!;
        rhs[p] = -acc;
      }
      const step = solveSpd(jtj, rhs, L, 1);
      w = w.map((x, p) => x + step[p]!);
      r = resid(run(w).criteria);
    }
    best = w;
  }
  const failed = v.joints;
  const fixed = run(best);
  const c = Array.from(best, (x, d) => x - v.w[d]!);
  const angle = Object.fromEntries(
    ANGLES.map((q) => {
      const d = meanAngle(fixed.track, frames, q) - meanAngle(failed, frames, q);
      return [q, Number.isFinite(d) ? d : null];
    }),
  ) as Correction['angle_change_deg'];
  const physicsOk = physicsFilter({ t: s.t, observed: s.joints, variant: fixed.track, start: v.start, end: v.end, reference }).length === 0;
  return {
    variant: v.id,
    method,
    c,
    norm: Math.hypot(...c),
    verified: passes(fixed.criteria),
    physics_ok: physicsOk,
    criteria: fixed.criteria,
    angle_change_deg: angle,
  };
}

/** Physical parameters of one variant over its window (what the failure analysis ranks). */
export function variantParameters(ctx: LatentContext, v: Variant, phaseCode: number): Record<string, number> {
  const s = ctx.session;
  const j = v.joints;
  const frames = windowFrames(v);
  let maxSpeed = 0;
  let maxKneeSpeed = 0;
  let clearance = Infinity;
  for (const i of frames) {
    if (i > v.start) {
      const dt = s.t[i]! - s.t[i - 1]!;
      for (let k = 0; k < 60; k += 3) {
        const sp =
          Math.hypot(j[i * 60 + k]! - j[(i - 1) * 60 + k]!, j[i * 60 + k + 1]! - j[(i - 1) * 60 + k + 1]!, j[i * 60 + k + 2]! - j[(i - 1) * 60 + k + 2]!) / dt;
        if (Number.isFinite(sp)) maxSpeed = Math.max(maxSpeed, sp);
      }
      for (const q of ['knee_flexion_l', 'knee_flexion_r'] as const) {
        const w = Math.abs(angleAt(j, i, q) - angleAt(j, i - 1, q)) / dt;
        if (Number.isFinite(w)) maxKneeSpeed = Math.max(maxKneeSpeed, w);
      }
    }
    const low = Math.min(footLow(j, i, 'left'), footLow(j, i, 'right'));
    if (Number.isFinite(low)) clearance = Math.min(clearance, low);
  }
  return {
    ...Object.fromEntries(ANGLES.map((q) => [q, meanAngle(j, frames, q)])),
    max_joint_speed: maxSpeed,
    max_knee_angular_speed: maxKneeSpeed,
    min_foot_height: clearance,
    keyframe_time: v.t_s,
    speed_phase: phaseCode,
    latent_magnitude: v.magnitude,
  };
}

export const PARAMETER_UNITS: Readonly<Record<string, string>> = {
  knee_flexion_l: 'deg',
  knee_flexion_r: 'deg',
  hip_flexion_l: 'deg',
  hip_flexion_r: 'deg',
  max_joint_speed: 'm/s',
  max_knee_angular_speed: 'deg/s',
  min_foot_height: 'm',
  keyframe_time: 's',
  speed_phase: '0 static, 1 transition, 2 dynamic',
  latent_magnitude: 'session-typical deviations',
};

/** ROC AUC of `score` for `positive` (Mann–Whitney U / (n₊·n₋)), ties counted half. */
export function auc(score: readonly number[], positive: readonly boolean[]): number {
  let u = 0;
  let np = 0;
  let nn = 0;
  for (let i = 0; i < score.length; i++) {
    if (!Number.isFinite(score[i]!)) continue;
    if (positive[i]) np++;
    else nn++;
    if (!positive[i]) continue;
    for (let k = 0; k < score.length; k++) {
      if (positive[k] || !Number.isFinite(score[k]!)) continue;
      u += score[i]! > score[k]! ? 1 : score[i] === score[k] ? 0.5 : 0;
    }
  }
  return np && nn ? u / (np * nn) : NaN;
}

export function executeVariants(ctx: LatentContext, plan: VariantPlan, opts: { maxCorrections?: number } = {}): SimExecution {
  const s = ctx.session;
  const accepted = plan.variants.filter((v) => v.accepted);
  const outcomes: Outcome[] = accepted.map((v) => {
    const criteria = judge(s, v.joints, windowFrames(v));
    return { variant: v.id, passed: passes(criteria), criteria };
  });
  const failed = accepted.filter((_, i) => !outcomes[i]!.passed);
  // Bounded: corrections cost (L + 1) rollouts per step; the smallest-magnitude failures first.
  const toCorrect = [...failed].sort((a, b) => a.magnitude - b.magnitude).slice(0, opts.maxCorrections ?? 16);
  const corrections = toCorrect.map((v) => correct(ctx, v, plan.reference));
  const code = { static: 0, transition: 1, dynamic: 2 } as const;
  const params = accepted.map((v) => variantParameters(ctx, v, code[plan.phases.phase[v.keyframe]!]));
  const fails = outcomes.map((o) => !o.passed);
  const nFail = fails.filter(Boolean).length;
  let ranking: FailureFactor[] = [];
  let note: string | null = null;
  if (accepted.length < 4) note = `only ${accepted.length} accepted variant(s): too few to rank parameters`;
  else if (nFail === 0 || nFail === accepted.length)
    note = nFail === 0 ? 'every accepted variant succeeded: nothing separates failure' : 'every accepted variant failed: nothing separates success';
  else
    ranking = Object.keys(PARAMETER_UNITS)
      .map((p) => {
        const a = auc(
          params.map((x) => x[p]!),
          fails,
        );
        return {
          parameter: p,
          unit: PARAMETER_UNITS[p]!,
          auc: a,
          strength: Math.abs(a - 0.5),
          direction: a >= 0.5 ? ('higher_fails' as const) : ('lower_fails' as const),
        };
      })
      .filter((f) => Number.isFinite(f.auc))
      .sort((a, b) => b.strength - a.strength);
  return { outcomes, corrections, failure_analysis: { labelled: accepted.length, failed: nFail, ranking, note } };
}
