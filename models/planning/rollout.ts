/**
 * A latent perturbation rolled forward: the perturbed latent at an anchor frame a is carried to each
 * later frame a + h by ONE predictor call at horizon h (direct Δh, never step by step), decoded by the
 * probe, and what the perturbation changed — probe(ẑ(z_a + δ, h)) − probe(ẑ(z_a, h)) — is added to the
 * OBSERVED pose at a + h. Decoding the change rather than the pose is what the evaluation scores too
 * (evaluate.ts pose_mm): the probe's constant error on this body cancels, and the model's own
 * prediction error of the unperturbed future does not leak into the counterfactual. At h = 0 the change
 * is probe(z_a + δ) − probe(z_a).
 *
 * Horizons stay ≤ MAX_PLAN_HORIZON: the world model is trained on Δh ≤ 30 frames (models/dataset.ts
 * DEFAULT_TRAIN_MAX_HORIZON), so longer stretches are cut into pieces, each with its own anchor.
 */
import { DEFAULT_TRAIN_MAX_HORIZON } from '../dataset.js';
import { POSE_DIM } from '../probe-pose.js';
import type { PlanningModel } from './latent-model.js';
import type { PlanningSession } from './session.js';

export const MAX_PLAN_HORIZON = DEFAULT_TRAIN_MAX_HORIZON;
/**
 * Ridge added to the latent covariance before its Cholesky factor, relative to its mean variance: keeps
 * the factor defined when the session's latents span fewer than L directions.
 */
export const COVARIANCE_RIDGE = 1e-4;

export interface Rollout {
  /** Target frame per row. */
  readonly frames: Int32Array;
  /** Anchor frame per row (where the perturbation enters). */
  readonly anchors: Int32Array;
  /** Frames ahead (0 = the anchor itself). */
  readonly h: Float32Array;
}

/** Rows for target frames: runs of consecutive frames cut into pieces of ≤ maxH + 1 frames, anchored at each piece's start. */
export function rolloutFor(frames: readonly number[], maxH = MAX_PLAN_HORIZON): Rollout {
  const sorted = [...new Set(frames)].sort((a, b) => a - b);
  const f: number[] = [];
  const a: number[] = [];
  let anchor = -1;
  let prev = -2;
  for (const fr of sorted) {
    if (fr !== prev + 1 || fr - anchor > maxH) anchor = fr;
    f.push(fr);
    a.push(anchor);
    prev = fr;
  }
  return { frames: Int32Array.from(f), anchors: Int32Array.from(a), h: Float32Array.from(f, (fr, i) => fr - a[i]!) };
}

/** Rows [k] of a rollout (an even thinning keeps every piece represented). */
export function thin(r: Rollout, cap: number): Rollout {
  const n = r.frames.length;
  if (n <= cap) return r;
  const idx = Array.from({ length: cap }, (_, i) => Math.floor((i * n) / cap));
  return { frames: Int32Array.from(idx, (i) => r.frames[i]!), anchors: Int32Array.from(idx, (i) => r.anchors[i]!), h: Float32Array.from(idx, (i) => r.h[i]!) };
}

export interface LatentContext {
  readonly model: PlanningModel;
  readonly session: PlanningSession;
  /** T × L online latents of the observed frames. */
  readonly z: Float32Array;
  /**
   * Lower Cholesky factor C (L × L, row-major) of the covariance of z over the session. Perturbations are
   * δ = C·w: w ~ N(0, I) is a session-typical deviation, and ‖w‖ is the Mahalanobis size of δ — so plans
   * prefer the directions this patient's latent actually moves in, which decode to bodily poses (random
   * isotropic directions leave the pose manifold).
   */
  readonly chol: Float64Array;
  /**
   * What planning may reuse across questions on this context (goal.ts keeps the goal-independent parts of
   * a plan here, keyed and bounded there).
   */
  readonly memo: Map<string, unknown>;
}

export function latentContext(model: PlanningModel, session: PlanningSession): LatentContext {
  const z = model.encode(session.x);
  const L = model.latentDim;
  const T = z.length / L;
  const mean = new Float64Array(L);
  for (let i = 0; i < T; i++) for (let d = 0; d < L; d++) mean[d] = mean[d]! + z[i * L + d]! / T;
  const cov = new Float64Array(L * L);
  for (let i = 0; i < T; i++)
    for (let p = 0; p < L; p++) {
      const a = z[i * L + p]! - mean[p]!;
      for (let q = 0; q <= p; q++) cov[p * L + q] = cov[p * L + q]! + (a * (z[i * L + q]! - mean[q]!)) / T;
    }
  let trace = 0;
  for (let p = 0; p < L; p++) trace += cov[p * L + p]!;
  const ridge = Math.max(1e-12, (COVARIANCE_RIDGE * trace) / L);
  return { model, session, z, chol: cholesky(cov, L, ridge), memo: new Map() };
}

/** Lower Cholesky factor of (A + ridge·I), A given by its lower triangle. */
function cholesky(a: Float64Array, n: number, ridge: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j]! + ridge;
    for (let k = 0; k < j; k++) s -= l[j * n + k]! ** 2;
    const d = Math.sqrt(Math.max(s, ridge));
    l[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j]!;
      for (let k = 0; k < j; k++) t -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = t / d;
    }
  }
  return l;
}

/** Latent offset from whitened coordinates: δ = C·w. */
export function fromWhitened(ctx: LatentContext, w: ArrayLike<number>): Float32Array {
  const L = ctx.model.latentDim;
  const out = new Float32Array(L);
  for (let p = 0; p < L; p++) {
    let s = 0;
    for (let q = 0; q <= p; q++) s += ctx.chol[p * L + q]! * w[q]!;
    out[p] = s;
  }
  return out;
}

/**
 * Decoded canonical poses of every row for each latent offset (K offsets → K arrays of rows × 60), in one
 * predictor call. With `passes`, MC-dropout passes of the predictor instead: `passes` arrays of K × rows
 * × 60 (offset-major). A row's dropout masks are keyed by its target frame, so the same frame gets the
 * same masks under every offset and in any subset of rows (a plan's perturbed and unperturbed passes
 * differ only by the offset; MC on a few frames equals those frames of MC on all).
 */
export function decodeRows(ctx: LatentContext, r: Rollout, deltas: readonly Float32Array[], mc?: { passes: number; seed: number }): Float32Array[] {
  const L = ctx.model.latentDim;
  const n = r.frames.length;
  const K = deltas.length;
  const zA = new Float32Array(n * L);
  for (let i = 0; i < n; i++) zA.set(ctx.z.subarray(r.anchors[i]! * L, (r.anchors[i]! + 1) * L), i * L);
  if (!mc) {
    const flat = new Float32Array(K * L);
    deltas.forEach((d, k) => flat.set(d, k * L));
    // Rows at h = 0 decode the perturbed latent itself, not a prediction (decodeOffsets' dh = 0).
    const poses = ctx.model.decodeOffsets(zA, Float32Array.from(r.h), flat);
    return Array.from({ length: K }, (_, k) => poses.subarray(k * n * POSE_DIM, (k + 1) * n * POSE_DIM));
  }
  const zIn = new Float32Array(K * n * L);
  for (let k = 0; k < K; k++) for (let i = 0; i < n; i++) for (let d = 0; d < L; d++) zIn[(k * n + i) * L + d] = zA[i * L + d]! + deltas[k]![d]!;
  // Rows at h = 0 decode the perturbed latent itself, not a prediction (decodePasses' dh = 0).
  return ctx.model.decodePasses(
    zIn,
    Float32Array.from({ length: K * n }, (_, j) => r.h[j % n]!),
    mc.passes,
    mc.seed,
    Uint32Array.from({ length: K * n }, (_, j) => r.frames[j % n]!),
  );
}

/**
 * The observed world track with each row's frame moved by (perturbed − base) canonical change, rotated
 * back from the pelvis-heading frame the probe decodes in (probe-pose.ts canonicalPose, inverted).
 * With `into` (a copy of `observed`), the rows' frames are written there instead of into a new copy.
 */
export function applyChange(observed: Float32Array, r: Rollout, perturbed: Float32Array, base: Float32Array, into?: Float32Array): Float32Array {
  const out = into ?? observed.slice();
  for (let i = 0; i < r.frames.length; i++) {
    const o = r.frames[i]! * POSE_DIM;
    const [c, s] = headingOf(observed, o);
    for (let j = 0; j < POSE_DIM; j += 3) {
      const dx = perturbed[i * POSE_DIM + j]! - base[i * POSE_DIM + j]!;
      const dy = perturbed[i * POSE_DIM + j + 1]! - base[i * POSE_DIM + j + 1]!;
      const dz = perturbed[i * POSE_DIM + j + 2]! - base[i * POSE_DIM + j + 2]!;
      if (!(Number.isFinite(dx) && Number.isFinite(dy) && Number.isFinite(dz))) continue;
      // canonical = R·world with R = [[c, −s], [s, c]] on (x, z); world change = Rᵀ·canonical change.
      out[o + j] = observed[o + j]! + c * dx + s * dz;
      out[o + j + 1] = observed[o + j + 1]! + dy;
      out[o + j + 2] = observed[o + j + 2]! - s * dx + c * dz;
    }
  }
  return out;
}

/** (cos, sin) of the canonical rotation at one frame: forward = up × (right − left hip) as in canonicalPose. */
function headingOf(joints: Float32Array, o: number): [number, number] {
  const LH = 3;
  const RH = 6;
  const sx = joints[o + RH]! - joints[o + LH]!;
  const sz = joints[o + RH + 2]! - joints[o + LH + 2]!;
  const len = Math.hypot(sz, sx);
  return len > 1e-6 && Number.isFinite(len) ? [-sx / len, sz / len] : [1, 0];
}
