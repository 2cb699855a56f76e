/**
 * Goal-conditioned planning: find the smallest latent change that makes the world model predict a
 * requested clinical change — "knee flexion in mid-stance +5°", "squat depth +5 cm", a target pose at a
 * frame — and report what else that predicts, with MC-dropout uncertainty.
 *
 * The search is over one whitened latent offset w (δ = C·w, rollout.ts), applied at anchors covering the
 * whole session: each run of the goal's phase is anchored at its start (so the phase is reached from its
 * own beginning by direct Δh predictions), other frames in pieces of ≤ MAX_PLAN_HORIZON. The objective
 * ‖r(w)‖² + μ‖w‖² (r = achieved − requested change) is minimised by Levenberg–Marquardt steps with a
 * finite-difference Jacobian through predictor + probe (all L + 1 evaluations in one batched predictor
 * call); μ small, so the step is close to the minimum-Mahalanobis-norm solution: the least unusual latent
 * change for this patient that does it. ‖w‖ is capped at MAX_NORM_FRACTION·√L (half a session-typical
 * deviation): a goal that needs more is reported as not reached, with what was reached.
 *
 * Honesty: the offset is fitted on the PLANNING runs of the phase (even-numbered) and the change is
 * reported separately on the HELD-BACK runs (odd-numbered), which the search never saw. A goal the model
 * can only meet by overfitting a few frames shows up as a held-back change far from the request.
 */
import { solveSpd } from '../probe-decoder.js';
import { canonicalPose, POSE_DIM } from '../probe-pose.js';
import { physicsFilter, observedWindowMeasures, type PhysicsReason } from './physics-filter.js';
import { PlanningError, PlanningErrorCode } from './planning-error.js';
import {
  defaultPhase,
  phaseFrames,
  QUANTITIES,
  QUANTITY_INFO,
  quantitiesFor,
  quantityOn,
  sideOf,
  standingPelvisHeight,
  strikeFrames,
  type Quantity,
} from './quantities.js';
import { applyChange, decodeRows, fromWhitened, MAX_PLAN_HORIZON, rolloutFor, type LatentContext, type Rollout } from './rollout.js';
import { referenceLengths } from '../../streams/sim-replay.js';
import { sessionDerived, type PlanningSession } from './session.js';

export type Goal =
  | { readonly quantity: Quantity; readonly phase?: string; readonly delta: number }
  | { readonly targetPose: { readonly frame: number; readonly pose: Float32Array } };

export const MAX_NORM_FRACTION = 0.5;
export const DEFAULT_MAX_ITER = 8;
/** Planning rows per evaluation (evenly thinned): bounds the cost of a Jacobian to (L + 1) × this. */
export const DEFAULT_MAX_ROWS = 96;
export const FD_STEP = 0.05;
export const DEFAULT_PASSES = 10;

export interface GoalArgs {
  readonly maxIter?: number;
  readonly maxRows?: number;
  readonly passes?: number;
  readonly seed?: number;
  /**
   * Fill `frame_uncertainty_m`: MC-dropout passes over every frame (default). false: passes only on the
   * frames the reported numbers read (each reported quantity's phase frames, the strike windows of the
   * step-time asymmetry, the held-back frames) and no per-frame timeline; every other field is the same
   * as with true, since a frame's passes do not depend on which other frames are decoded (rollout.ts
   * decodeRows). What a counterfactual answer uses: it carries no per-frame arrays.
   */
  readonly frameUncertainty?: boolean;
}

export interface MetricChange {
  readonly quantity: Quantity;
  readonly unit: string;
  readonly phase: string;
  readonly observed: number | null;
  readonly predicted: number | null;
  readonly change: number | null;
  /** Standard deviation of the change across MC-dropout passes. */
  readonly uncertainty_sd: number | null;
}

export interface GoalPlan {
  readonly goal: { quantity: Quantity | 'pose'; phase: string | null; requested: number | null; unit: string };
  /** Whitened latent offset and its Mahalanobis norm. */
  readonly w: number[];
  readonly latent_norm: number;
  readonly max_norm: number;
  readonly reached: boolean;
  readonly iterations: number;
  readonly planning: { frames: number; change: number | null };
  readonly held_back: { frames: number; change: number | null; uncertainty_sd: number | null } | null;
  readonly metrics: readonly MetricChange[];
  readonly physics: readonly PhysicsReason[];
  /** T × 60 predicted world trajectory. */
  readonly trajectory: Float32Array;
  /** Per frame: RMS over joints of the MC spread of the predicted pose change (m); null with `frameUncertainty: false`. */
  readonly frame_uncertainty_m: Float32Array | null;
}

/**
 * Goals whose goal-independent work (GoalBase) a context keeps: ≤ (passes + 2) × T × 60 floats each
 * (≈ 10 MB for a 60 s recording at 60 Hz; the MC part only on the answer's frames without a timeline).
 */
export const MEMO_GOALS = 4;

/** A reported quantity: the phase it is read in, the frames its value reads, its observed value there. */
interface Reported {
  readonly quantity: Quantity;
  readonly phase: string;
  /** The frames passed to quantityOn ([] for the asymmetry, which reads its strike windows itself). */
  readonly frames: readonly number[];
  readonly observed: number;
}

/**
 * What a plan needs that does not depend on the requested change, only on the goal's frames: the rollout,
 * the planning/held-back split, the unperturbed decodes (deterministic, and the MC-dropout passes, whose
 * masks the perturbed passes share row by row), the reported quantities and their observed values. Kept
 * on the context, so a second question on the same quantity and phase costs only the search and the
 * perturbed decodes.
 */
interface GoalBase {
  readonly full: Rollout;
  readonly planFrames: readonly number[];
  readonly heldFrames: readonly number[];
  readonly planRows: Rollout;
  readonly planRowFrames: readonly number[];
  /** Unperturbed decode of the planning rows. */
  readonly planDecoded: Float32Array;
  /** The goal quantity on the observed track over the planning rows (NaN for a pose goal). */
  readonly planObserved: number;
  /** Unperturbed decode of every row of `full`. */
  readonly fullDecoded: Float32Array;
  /** Rows of `full` the MC-dropout passes run on: all of them, or those of the frames the answer reads. */
  readonly mcRows: Rollout;
  /** Unperturbed MC-dropout passes over `mcRows`. */
  readonly mcPasses: readonly Float32Array[];
  readonly reported: readonly Reported[];
  /** The goal quantity observed on the planning and the held-back frames (NaN for a pose goal). */
  readonly planFramesObserved: number;
  readonly heldObserved: number;
}

function goalBase(
  ctx: LatentContext,
  goal: Goal,
  phase: string | null,
  goalFrames: readonly number[],
  maxRows: number,
  mc: { passes: number; seed: number; everyFrame: boolean },
): GoalBase {
  const s = ctx.session;
  const isQ = 'quantity' in goal;
  const full = fullRollout(s.t.length, new Set(goalFrames));
  const rowOf = new Map<number, number>();
  full.frames.forEach((f, i) => rowOf.set(f, i));
  // Planning vs held-back: alternate runs of the phase (a whole-session quantity is not split).
  const runs = runsOf(goalFrames);
  const split = isQ && goal.quantity !== 'step_time_asymmetry' && runs.length >= 2;
  const planFrames = split ? runs.filter((_, k) => k % 2 === 0).flat() : [...goalFrames];
  const heldFrames = split ? runs.filter((_, k) => k % 2 === 1).flat() : [];
  const planRows = pick(
    full,
    evenly(planFrames, maxRows).map((f) => rowOf.get(f)!),
  );
  const planRowFrames = Array.from(planRows.frames);
  const observed = (q: Quantity, frames: readonly number[]): number => observedQuantity(s, q, frames);
  const reported: Reported[] = [];
  for (const q of new Set<Quantity>([...(isQ ? [goal.quantity] : []), ...quantitiesFor(s)])) {
    const ph = isQ && q === goal.quantity ? phase! : defaultPhase(q, s);
    const frames = q === 'step_time_asymmetry' ? [] : phaseFrames(s, ph, sideOf(q));
    if (q !== 'step_time_asymmetry' && frames.length === 0) continue;
    reported.push({ quantity: q, phase: ph, frames, observed: observed(q, frames) });
  }
  let mcRows = full;
  if (!mc.everyFrame) {
    const read = new Set<number>(heldFrames);
    for (const r of reported) for (const f of r.quantity === 'step_time_asymmetry' ? strikeFrames(s) : r.frames) read.add(f);
    mcRows = pick(
      full,
      [...read].sort((a, b) => a - b).map((f) => rowOf.get(f)!),
    );
  }
  const zero = new Float32Array(ctx.model.latentDim);
  return {
    full,
    planFrames,
    heldFrames,
    planRows,
    planRowFrames,
    planDecoded: decodeRows(ctx, planRows, [zero])[0]!,
    planObserved: isQ ? observed(goal.quantity, planRowFrames) : NaN,
    fullDecoded: decodeRows(ctx, full, [zero])[0]!,
    mcRows,
    mcPasses: decodeRows(ctx, mcRows, [zero], mc),
    reported,
    planFramesObserved: isQ ? observed(goal.quantity, planFrames) : NaN,
    heldObserved: isQ && heldFrames.length > 0 ? observed(goal.quantity, heldFrames) : NaN,
  };
}

/** The context's GoalBase for `key` (most recently used kept; beyond MEMO_GOALS the oldest dropped). */
function memoized(ctx: LatentContext, key: string, make: () => GoalBase): GoalBase {
  const hit = ctx.memo.get(key) as GoalBase | undefined;
  const base = hit ?? make();
  ctx.memo.delete(key);
  ctx.memo.set(key, base);
  for (const k of [...ctx.memo.keys()].filter((k) => k.startsWith('["goal"')).slice(0, -MEMO_GOALS)) ctx.memo.delete(k);
  return base;
}

const num = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** The observed recording's median segment lengths (what the physics filter measures bones against). */
const sessionReference = (s: PlanningSession): Float64Array => sessionDerived(s, 'referenceLengths', () => referenceLengths(s.joints));

/** A reported quantity on the observed track. */
const observedQuantity = (s: PlanningSession, q: Quantity, frames: readonly number[]): number => quantityOn(s, s.joints, q, frames, standingPelvisHeight(s));

function concat(parts: readonly Rollout[]): Rollout {
  const cat = <A extends Int32Array | Float32Array>(f: (r: Rollout) => A, C: new (n: number) => A): A => {
    const out = new C(parts.reduce((a, r) => a + f(r).length, 0));
    let o = 0;
    for (const r of parts) {
      out.set(f(r), o);
      o += f(r).length;
    }
    return out;
  };
  return { frames: cat((r) => r.frames, Int32Array), anchors: cat((r) => r.anchors, Int32Array), h: cat((r) => r.h, Float32Array) };
}

function pick(r: Rollout, idx: readonly number[]): Rollout {
  return { frames: Int32Array.from(idx, (i) => r.frames[i]!), anchors: Int32Array.from(idx, (i) => r.anchors[i]!), h: Float32Array.from(idx, (i) => r.h[i]!) };
}

const evenly = (idx: readonly number[], cap: number): number[] =>
  idx.length <= cap ? [...idx] : Array.from({ length: cap }, (_, i) => idx[Math.floor((i * idx.length) / cap)]!);

/** Maximal runs of consecutive frames in a sorted list. */
export function runsOf(frames: readonly number[]): number[][] {
  const runs: number[][] = [];
  for (const f of frames) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === f - 1) last.push(f);
    else runs.push([f]);
  }
  return runs;
}

/** Rollout of every frame: the goal's runs anchored at their starts, the rest in pieces. */
function fullRollout(T: number, goalFrames: ReadonlySet<number>): Rollout {
  const runs: number[][] = [];
  for (let i = 0; i < T; i++) {
    const last = runs[runs.length - 1];
    if (last && goalFrames.has(last[0]!) === goalFrames.has(i)) last.push(i);
    else runs.push([i]);
  }
  return concat(runs.map((r) => rolloutFor(r, MAX_PLAN_HORIZON)));
}

function checkGoal(goal: Goal, T: number): void {
  if ('quantity' in goal) {
    if (!(QUANTITIES as readonly string[]).includes(goal.quantity))
      throw new PlanningError(PlanningErrorCode.BAD_GOAL, `unknown quantity '${String(goal.quantity)}' (known: ${QUANTITIES.join(', ')})`);
    if (!Number.isFinite(goal.delta)) throw new PlanningError(PlanningErrorCode.BAD_GOAL, 'the requested change must be a finite number');
  } else {
    const { frame, pose } = goal.targetPose;
    if (!Number.isInteger(frame) || frame < 0 || frame >= T)
      throw new PlanningError(PlanningErrorCode.BAD_GOAL, `target frame ${frame} is outside the session (0…${T - 1})`);
    if (pose.length !== POSE_DIM) throw new PlanningError(PlanningErrorCode.BAD_GOAL, `target pose needs ${POSE_DIM} values, got ${pose.length}`);
  }
}

export function planGoal(ctx: LatentContext, goal: Goal, args: GoalArgs = {}): GoalPlan {
  const s = ctx.session;
  const T = s.t.length;
  const L = ctx.model.latentDim;
  if (T < 2) throw new PlanningError(PlanningErrorCode.TOO_SHORT, `a session of ${T} frame(s) cannot be planned on`);
  checkGoal(goal, T);
  const standing = standingPelvisHeight(s);
  const isQ = 'quantity' in goal;
  const everyFrame = args.frameUncertainty ?? true;
  const phase = isQ ? (goal.phase ?? defaultPhase(goal.quantity, s)) : null;
  let goalFrames: number[];
  if (isQ) goalFrames = goal.quantity === 'step_time_asymmetry' ? strikeFrames(s) : phaseFrames(s, phase!, sideOf(goal.quantity));
  else goalFrames = [goal.targetPose.frame];
  if (goalFrames.length === 0) throw new PlanningError(PlanningErrorCode.NO_FRAMES, `this ${s.assessment} session has no frames of phase '${phase}'`);
  const passes = args.passes ?? DEFAULT_PASSES;
  const seed = args.seed ?? 0;
  const memoKey = JSON.stringify([
    'goal',
    isQ ? goal.quantity : 'pose',
    isQ ? phase : goal.targetPose.frame,
    args.maxRows ?? DEFAULT_MAX_ROWS,
    passes,
    seed,
    everyFrame,
  ]);
  const base = memoized(ctx, memoKey, () => goalBase(ctx, goal, phase, goalFrames, args.maxRows ?? DEFAULT_MAX_ROWS, { passes, seed, everyFrame }));
  const { full, planFrames, heldFrames, planRows, planRowFrames } = base;
  const tracks = (r: Rollout, baseDec: Float32Array, ws: readonly Float32Array[]): Float32Array[] => {
    const dec = decodeRows(
      ctx,
      r,
      ws.map((w) => fromWhitened(ctx, w)),
    );
    return ws.map((_, k) => applyChange(s.joints, r, dec[k]!, baseDec));
  };
  // The search evaluates L + 1 offsets per step on a few rows: one scratch track, changed in place and
  // restored, instead of a full copy per offset (the copies were most of the planner's time).
  const scratch = s.joints.slice();
  const residuals = (ws: readonly Float32Array[]): number[][] => {
    const dec = decodeRows(
      ctx,
      planRows,
      ws.map((w) => fromWhitened(ctx, w)),
    );
    return ws.map((_, k) => {
      applyChange(s.joints, planRows, dec[k]!, base.planDecoded, scratch);
      const res = residual(scratch);
      for (const f of planRows.frames) scratch.set(s.joints.subarray(f * POSE_DIM, (f + 1) * POSE_DIM), f * POSE_DIM);
      return res;
    });
  };
  const residual = (track: Float32Array): number[] => {
    if (isQ) return [quantityOn(s, track, goal.quantity, planRowFrames, standing) - base.planObserved - goal.delta];
    const p = canonicalPose(track, goal.targetPose.frame * POSE_DIM);
    return Array.from(p, (v, i) => (Number.isFinite(v) && Number.isFinite(goal.targetPose.pose[i]!) ? v - goal.targetPose.pose[i]! : 0));
  };
  const tol = isQ ? Math.max(0.02 * Math.abs(goal.delta), TOLERANCE[goal.quantity]) : 0;
  const maxNorm = MAX_NORM_FRACTION * Math.sqrt(L);
  let w = new Float32Array(L);
  let iterations = 0;
  let r = residuals([w])[0]!;
  for (; iterations < (args.maxIter ?? DEFAULT_MAX_ITER); iterations++) {
    const rn = Math.hypot(...r);
    if (!Number.isFinite(rn) || rn <= tol) break;
    const probes = [w, ...Array.from({ length: L }, (_, j) => w.map((v, d) => (d === j ? v + FD_STEP : v)))];
    const res = residuals(probes);
    const m = res[0]!.length;
    const J = new Float64Array(m * L);
    for (let j = 0; j < L; j++) for (let i = 0; i < m; i++) J[i * L + j] = (res[j + 1]![i]! - res[0]![i]!) / FD_STEP;
    const jtj = new Float64Array(L * L);
    const rhs = new Float64Array(L);
    let trace = 0;
    for (let p = 0; p < L; p++) {
      for (let q = 0; q < L; q++) {
        let acc = 0;
        for (let i = 0; i < m; i++) acc += J[i * L + p]! * J[i * L + q]!;
        jtj[p * L + q] = acc;
      }
      trace += jtj[p * L + p]!;
    }
    const mu = 1e-3 * (trace / L) + 1e-9;
    for (let p = 0; p < L; p++) {
      jtj[p * L + p] = jtj[p * L + p]! + mu;
      let acc = mu * w[p]!;
      for (let i = 0; i < m; i++) acc += J[i * L + p]! * res[0]![i]!;
      rhs[p] = -acc;
    }
    const step = solveSpd(jtj, rhs, L, 1);
    let next = w.map((v, p) => v + step[p]!);
    const norm = Math.hypot(...next);
    if (norm > maxNorm) next = next.map((v) => (v * maxNorm) / norm);
    const rNext = residuals([next])[0]!;
    // Keep a step only if it helps (LM's acceptance test); a worse step ends the search.
    if (!(Math.hypot(...rNext) < Math.hypot(...r))) break;
    w = next;
    r = rNext;
  }
  const reached = Math.hypot(...r) <= tol || (!isQ && iterations > 0);

  // Report: the whole predicted trajectory, every quantity of the assessment, MC-dropout spread (on the
  // rows of base.mcRows: every frame, or the frames the reported numbers read).
  const trajectory = tracks(full, base.fullDecoded, [w])[0]!;
  const mc = base.mcRows;
  const pertP = decodeRows(ctx, mc, [fromWhitened(ctx, w)], { passes, seed });
  const changeOn = (q: Quantity, frames: readonly number[], track: Float32Array, observed: number): number =>
    quantityOn(s, track, q, frames, standing) - observed;
  // Each pass's track in turn on one scratch copy (its rows written, read, restored), not P copies of
  // the session: per pass the change of every reported quantity and, for the timeline, running sums.
  const passChanges = base.reported.map(() => new Array<number>(passes));
  const heldChanges = new Array<number>(passes);
  const n = mc.frames.length;
  const sums = everyFrame ? { m1: new Float64Array(n * POSE_DIM), m2: new Float64Array(n * POSE_DIM), k: new Uint16Array(n * POSE_DIM) } : null;
  for (let p = 0; p < passes; p++) {
    applyChange(s.joints, mc, pertP[p]!, base.mcPasses[p]!, scratch);
    base.reported.forEach((r, q) => (passChanges[q]![p] = changeOn(r.quantity, r.frames, scratch, r.observed)));
    if (isQ && heldFrames.length > 0) heldChanges[p] = changeOn(goal.quantity, heldFrames, scratch, base.heldObserved);
    for (let i = 0; i < n; i++) {
      const o = mc.frames[i]! * POSE_DIM;
      if (sums)
        for (let c = 0; c < POSE_DIM; c++) {
          const v = scratch[o + c]!;
          if (!Number.isFinite(v)) continue;
          sums.m1[i * POSE_DIM + c]! += v;
          sums.m2[i * POSE_DIM + c]! += v * v;
          sums.k[i * POSE_DIM + c]! += 1;
        }
      scratch.set(s.joints.subarray(o, o + POSE_DIM), o);
    }
  }
  let frameUnc: Float32Array | null = null;
  if (sums) {
    frameUnc = new Float32Array(T);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      let cs = 0;
      for (let c = 0; c < POSE_DIM; c++) {
        const j = i * POSE_DIM + c;
        const k = sums.k[j]!;
        if (k < 2) continue;
        acc += Math.max(0, sums.m2[j]! / k - (sums.m1[j]! / k) ** 2);
        cs++;
      }
      // RMS over joints of the 3-D spread: per-coordinate variance × 3.
      frameUnc[mc.frames[i]!] = cs ? Math.sqrt((acc / cs) * 3) : NaN;
    }
  }
  const sd = (v: readonly number[]): number | null => {
    const f = v.filter(Number.isFinite);
    if (f.length < 2) return null;
    const m = f.reduce((a, b) => a + b, 0) / f.length;
    return Math.sqrt(f.reduce((a, b) => a + (b - m) ** 2, 0) / f.length);
  };
  const metrics: MetricChange[] = base.reported.map(({ quantity: q, phase: ph, frames, observed: obs }, k) => {
    const pred = quantityOn(s, trajectory, q, frames, standing);
    return {
      quantity: q,
      unit: QUANTITY_INFO[q].unit,
      phase: ph,
      observed: num(obs),
      predicted: num(pred),
      change: num(pred - obs),
      uncertainty_sd: sd(passChanges[k]!),
    };
  });
  const physics = physicsFilter({
    t: s.t,
    observed: s.joints,
    variant: trajectory,
    start: 0,
    end: T - 1,
    reference: sessionReference(s),
    observedMeasures: sessionDerived(s, 'observedMeasures', () => observedWindowMeasures(s.t, s.joints, 0, T - 1, sessionReference(s))),
  });
  return {
    goal: isQ
      ? { quantity: goal.quantity, phase, requested: goal.delta, unit: QUANTITY_INFO[goal.quantity].unit }
      : { quantity: 'pose', phase: null, requested: null, unit: 'm' },
    w: Array.from(w),
    latent_norm: Math.hypot(...w),
    max_norm: maxNorm,
    reached,
    iterations,
    planning: { frames: planFrames.length, change: isQ ? num(changeOn(goal.quantity, planFrames, trajectory, base.planFramesObserved)) : null },
    held_back:
      heldFrames.length > 0 && isQ
        ? {
            frames: heldFrames.length,
            change: num(changeOn(goal.quantity, heldFrames, trajectory, base.heldObserved)),
            uncertainty_sd: sd(heldChanges),
          }
        : null,
    metrics,
    physics,
    trajectory,
    frame_uncertainty_m: frameUnc,
  };
}

/** Smallest change worth aiming at, per quantity (below measurement resolution otherwise). */
const TOLERANCE: Readonly<Record<Quantity, number>> = {
  knee_flexion_l: 0.1,
  knee_flexion_r: 0.1,
  hip_flexion_l: 0.1,
  hip_flexion_r: 0.1,
  squat_depth: 0.001,
  step_time_asymmetry: 0.1,
  sway: 0.001,
};
