/**
 * Stage 7's physics filter: a planned variant is accepted only if it does not break the body or the
 * floor where the recording itself did not. It is measured by the same code as stage 4 (sim-replay.ts):
 * ground penetration, joint speed, joint acceleration, joint angular speed, and bone lengths against the
 * recording's own median segment lengths. A check the OBSERVED frame already fails (tracking noise the
 * stage-4 log reports) does not reject a variant unless the variant makes it worse by more than the
 * check's tolerance; otherwise every variant of a noisy recording would be rejected for the recording's
 * sake.
 */
import { measureTrack, SIM_BOUNDS, type FrameMeasures, type SimBounds } from '../../streams/sim-replay.js';
import type { Side } from '../../streams/skeleton.js';

export const PHYSICS_CHECKS = ['ground_penetration', 'joint_speed', 'joint_acceleration', 'angular_speed', 'bone_length'] as const;
export type PhysicsCheck = (typeof PHYSICS_CHECKS)[number];

export interface PhysicsReason {
  readonly check: PhysicsCheck;
  readonly frame: number;
  readonly t_s: number;
  /** The variant's value at the worst frame, the observed value there and the bound (units in `unit`). */
  readonly value: number;
  readonly observed: number;
  readonly bound: number;
  readonly unit: string;
  readonly detail: string;
}

export interface FilterInput {
  readonly t: ArrayLike<number>;
  /** Full-length world tracks (T × 60); only frames [start, end] are judged. */
  readonly observed: Float32Array;
  readonly variant: Float32Array;
  readonly start: number;
  readonly end: number;
  /** Per-segment reference lengths of the observed recording (sim-replay referenceLengths). */
  readonly reference: Float64Array;
  readonly bounds?: SimBounds;
  /**
   * measureTrack of the observed window [start, end] with these bounds and reference, when the caller
   * keeps it: it does not depend on the variant (a whole-session plan reuses it across questions).
   */
  readonly observedMeasures?: readonly FrameMeasures[];
}

function windowTrack(t: ArrayLike<number>, joints: Float32Array, start: number, end: number): { t: number[]; joints: Float32Array } {
  return { t: Array.from({ length: end - start + 1 }, (_, i) => Number(t[start + i])), joints: joints.slice(start * 60, (end + 1) * 60) };
}

/** measureTrack of the observed window, as physicsFilter measures it (for `observedMeasures`). */
export function observedWindowMeasures(
  t: ArrayLike<number>,
  observed: Float32Array,
  start: number,
  end: number,
  reference: Float64Array,
  bounds: SimBounds = SIM_BOUNDS,
): FrameMeasures[] {
  return measureTrack(windowTrack(t, observed, start, end), { bounds, reference });
}

/** Reasons the variant is rejected (empty = accepted), worst frame per check. */
export function physicsFilter(inp: FilterInput): PhysicsReason[] {
  const b = inp.bounds ?? SIM_BOUNDS;
  // The window starts AT the keyframe: the jump into the perturbed state there is the perturbation
  // itself, not a motion the body makes, so speeds are judged from the next frame on.
  const obs = inp.observedMeasures ?? observedWindowMeasures(inp.t, inp.observed, inp.start, inp.end, inp.reference, b);
  const vart = measureTrack(windowTrack(inp.t, inp.variant, inp.start, inp.end), { bounds: b, reference: inp.reference });
  const reasons: PhysicsReason[] = [];
  const worst = (
    check: PhysicsCheck,
    unit: string,
    bound: number,
    tol: number,
    value: (m: FrameMeasures) => number,
    detail: (v: number, i: number) => string,
  ): void => {
    let best: PhysicsReason | null = null;
    vart.forEach((m, k) => {
      const v = value(m);
      const o = value(obs[k]!);
      if (!(v > bound)) return;
      if (o > bound && !(v > o + tol)) return;
      if (best === null || v > best.value)
        best = { check, frame: inp.start + k, t_s: Number(inp.t[inp.start + k]), value: v, observed: o, bound, unit, detail: detail(v, k) };
    });
    if (best) reasons.push(best);
  };
  const depth = (m: FrameMeasures): number => Math.max(-m.footLow.left, -m.footLow.right);
  const foot = (m: FrameMeasures): Side => (-m.footLow.left >= -m.footLow.right ? 'left' : 'right');
  worst('ground_penetration', 'm', b.penetrationTolM, b.penetrationTolM, depth, (v, k) => `${foot(vart[k]!)} foot ${(100 * v).toFixed(1)} cm below the floor`);
  worst(
    'joint_speed',
    'm/s',
    b.jointSpeedMps,
    0.1 * b.jointSpeedMps,
    (m) => m.maxSpeed,
    (v) => `a joint moves at ${v.toFixed(1)} m/s`,
  );
  worst(
    'joint_acceleration',
    'm/s²',
    b.jointAccelMps2,
    0.1 * b.jointAccelMps2,
    (m) => m.maxAccel,
    (v) => `a joint accelerates at ${v.toFixed(0)} m/s²`,
  );
  worst(
    'angular_speed',
    'deg/s',
    b.angularSpeedDegS,
    0.1 * b.angularSpeedDegS,
    (m) => m.maxAngularSpeed,
    (v) => `knee/hip flexion changes at ${v.toFixed(0)} °/s`,
  );
  worst(
    'bone_length',
    'fraction',
    b.boneTolRel,
    b.boneTolRel,
    (m) => m.boneDev,
    (v, k) => `${vart[k]!.boneSegment ?? 'a segment'} off its length by ${(100 * v).toFixed(0)} % beyond tolerance`,
  );
  return reasons;
}
