/**
 * Stage 7: variants. At every keyframe (keyframes.ts) the session's latent is perturbed in random
 * directions at a ladder of magnitudes, rolled forward through the predictor over the next
 * MAX_PLAN_HORIZON frames (rollout.ts), decoded to world poses, and judged by the physics filter. A
 * magnitude m scales a session-typical latent deviation (δ = m·C·ε, ε ~ N(0, I), C the Cholesky factor
 * of this session's latent covariance): m = 1 is as far as one frame of the session typically lies from
 * its mean latent, m = 0.1 a tenth of that.
 */
import { referenceLengths } from '../../streams/sim-replay.js';
import { createRng } from '../rng.js';
import { physicsFilter, type PhysicsReason } from './physics-filter.js';
import { keyframes, rootSpeedPhases, type SpeedPhases } from './keyframes.js';
import { applyChange, decodeRows, fromWhitened, MAX_PLAN_HORIZON, type LatentContext, type Rollout } from './rollout.js';

export const DEFAULT_MAGNITUDES: readonly number[] = [0.1, 0.25, 0.5, 1];

export interface Variant {
  readonly id: string;
  readonly keyframe: number;
  readonly t_s: number;
  readonly magnitude: number;
  /** Whitened latent offset w (δ = C·w). */
  readonly w: Float32Array;
  /** Judged frames [start, end] (start = the keyframe). */
  readonly start: number;
  readonly end: number;
  readonly accepted: boolean;
  readonly reasons: readonly PhysicsReason[];
  /** Full-length world track of the variant (observed outside [start, end]). */
  readonly joints: Float32Array;
}

export interface VariantPlan {
  readonly phases: SpeedPhases;
  readonly keyframes: readonly number[];
  readonly variants: readonly Variant[];
  readonly reference: Float64Array;
}

export interface VariantArgs {
  readonly magnitudes?: readonly number[];
  readonly seed?: number;
  readonly horizon?: number;
}

export function windowRollout(start: number, end: number): Rollout {
  const n = end - start + 1;
  return {
    frames: Int32Array.from({ length: n }, (_, i) => start + i),
    anchors: new Int32Array(n).fill(start),
    h: Float32Array.from({ length: n }, (_, i) => i),
  };
}

/** The variant track for a whitened offset applied at `start` and rolled to `end`. */
export function variantTrack(ctx: LatentContext, start: number, end: number, w: ArrayLike<number>): Float32Array {
  const r = windowRollout(start, end);
  const [base, pert] = decodeRows(ctx, r, [new Float32Array(ctx.model.latentDim), fromWhitened(ctx, w)]);
  return applyChange(ctx.session.joints, r, pert!, base!);
}

export function planVariants(ctx: LatentContext, args: VariantArgs = {}): VariantPlan {
  const s = ctx.session;
  const T = s.t.length;
  const L = ctx.model.latentDim;
  const H = Math.min(args.horizon ?? MAX_PLAN_HORIZON, MAX_PLAN_HORIZON);
  const mags = args.magnitudes ?? DEFAULT_MAGNITUDES;
  const rng = createRng(args.seed ?? 0);
  const phases = rootSpeedPhases(s.t, s.joints);
  const keys = keyframes(phases);
  const reference = referenceLengths(s.joints);
  const variants: Variant[] = [];
  for (const k of keys) {
    const end = Math.min(T - 1, k + H);
    const r = windowRollout(k, end);
    const ws = mags.map((m) => {
      return Float32Array.from({ length: L }, () => m * rng.normal());
    });
    const decoded = decodeRows(ctx, r, [new Float32Array(L), ...ws.map((w) => fromWhitened(ctx, w))]);
    ws.forEach((w, i) => {
      const joints = applyChange(s.joints, r, decoded[i + 1]!, decoded[0]!);
      const reasons = physicsFilter({ t: s.t, observed: s.joints, variant: joints, start: k, end, reference });
      variants.push({
        id: `k${k}-m${mags[i]}`,
        keyframe: k,
        t_s: s.t[k]!,
        magnitude: mags[i]!,
        w,
        start: k,
        end,
        accepted: reasons.length === 0,
        reasons,
        joints,
      });
    });
  }
  return { phases, keyframes: keys, variants, reference };
}
