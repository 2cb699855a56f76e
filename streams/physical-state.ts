// Stage 2: physical state. World joints (from align), finite-difference velocities over the frames' own
// timestamps, centre of mass (body-model.ts), knee and hip flexion in degrees.
// Velocity: backward difference (x_t − x_{t−1}) / Δt, where x_{t−1} is re-expressed with the *current*
// world transform, so a floor refinement or the one-time forward fix never shows up as motion.
// The first frame has zero velocity and `velocityValid: false`.
import { type OperatorFunction, defer, map } from 'rxjs';
import type { AlignedFrame } from './align.js';
import { toWorld } from './align.js';
import { type ComModel, centreOfMass } from './body-model.js';
import type { Side } from './skeleton.js';
import { type Vec3, angleDeg, cross, dot, joint, pelvisFacing, sub, unit } from './vec3.js';

export interface JointAngles {
  /** 0 = straight leg; positive = flexed. Degrees, NaN when a joint is missing. */
  readonly kneeFlexion: Readonly<Record<Side, number>>;
  /** Thigh against the trunk axis (or vertical without a trunk); positive = knee in front. Degrees. */
  readonly hipFlexion: Readonly<Record<Side, number>>;
}

export interface PhysicalState extends AlignedFrame {
  /** Seconds since the previous frame (0 on the first). */
  readonly dt: number;
  /** World joint velocities (m/s), JOINT_COUNT×3; NaN where the joint is missing now or before. */
  readonly velocities: Float32Array;
  readonly velocityValid: boolean;
  readonly com: Vec3 | null;
  readonly comVelocity: Vec3 | null;
  readonly comModel: ComModel;
  /** Body facing on the floor plane in the world frame (pelvis), falling back to +z. */
  readonly heading: Vec3;
  readonly angles: JointAngles;
}

export function kneeFlexion(j: Float32Array, side: Side): number {
  const h = joint(j, `${side}_hip`);
  const k = joint(j, `${side}_knee`);
  const a = joint(j, `${side}_ankle`);
  return h && k && a ? 180 - angleDeg(sub(h, k), sub(a, k)) : NaN;
}

export function hipFlexion(j: Float32Array, side: Side, heading: Vec3): number {
  const h = joint(j, `${side}_hip`);
  const k = joint(j, `${side}_knee`);
  if (!h || !k) return NaN;
  const root = joint(j, 'root');
  const neck = joint(j, 'neck');
  const down = (root && neck && unit(sub(root, neck))) || ([0, -1, 0] as Vec3);
  // Sagittal plane: spanned by the trunk axis and the facing direction made orthogonal to it.
  const lateral = unit(cross(down, heading));
  const fwd = lateral ? unit(cross(lateral, down)) : null;
  if (!fwd) return NaN;
  const thigh = sub(k, h);
  return (Math.atan2(dot(thigh, fwd), dot(thigh, down)) * 180) / Math.PI;
}

export function jointAngles(j: Float32Array, heading: Vec3): JointAngles {
  return {
    kneeFlexion: { left: kneeFlexion(j, 'left'), right: kneeFlexion(j, 'right') },
    hipFlexion: { left: hipFlexion(j, 'left', heading), right: hipFlexion(j, 'right', heading) },
  };
}

/** One physical-state step per frame (state: the previous frame). The `physicalState` operator wraps it. */
export type PhysicalStateStep = (f: AlignedFrame) => PhysicalState;

export function physicalStateStep(): PhysicalStateStep {
  let prev: AlignedFrame | null = null;
  return (f) => {
    const n = f.joints.length;
    const velocities = new Float32Array(n);
    const dt = prev ? f.t - prev.t : 0;
    const com = centreOfMass(f.joints);
    let comVelocity: Vec3 | null = com.position ? [0, 0, 0] : null;
    const valid = prev !== null && dt > 0;
    if (valid && prev) {
      const before = toWorld(f.transform, prev.sourceJoints);
      for (let i = 0; i < n; i++) velocities[i] = ((f.joints[i] ?? NaN) - (before[i] ?? NaN)) / dt;
      const comBefore = centreOfMass(before);
      // A model switch between frames (a joint dropping out) is not motion: keep zero then.
      if (com.position && comBefore.position && comBefore.model === com.model) {
        const v = sub(com.position, comBefore.position);
        comVelocity = [v[0] / dt, v[1] / dt, v[2] / dt];
      }
    }
    const heading = pelvisFacing(f.joints) ?? ([0, 0, 1] as Vec3);
    prev = f;
    return {
      ...f,
      dt,
      velocities,
      velocityValid: valid,
      com: com.position,
      comVelocity,
      comModel: com.model,
      heading,
      angles: jointAngles(f.joints, heading),
    };
  };
}

export function physicalState(): OperatorFunction<AlignedFrame, PhysicalState> {
  return (source) => defer(() => source.pipe(map(physicalStateStep())));
}
