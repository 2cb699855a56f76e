// Stage 2: physical state. World joints (from align), finite-difference velocities over the frames' own
// timestamps, centre of mass (body-model.ts), knee and hip flexion in degrees.
// Velocity: backward difference (x_t − x_{t−1}) / Δt, where x_{t−1} is re-expressed with the *current*
// world transform, so a floor refinement or the one-time forward fix never shows up as motion.
// The first frame has zero velocity and `velocityValid: false`.
import { type OperatorFunction, defer, map } from 'rxjs';
import type { AlignedFrame } from './align.js';
import { toWorld } from './align.js';
import { type ComModel, centreOfMass } from './body-model.js';
import { JOINT_INDEX, type Side } from './skeleton.js';
import { type Vec3, pelvisFacing, sub } from './vec3.js';

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

// The angles run every frame: they read the flat joint array by index instead of building a tuple per
// joint and per vector operation (≈ 50 small arrays, 3.8 KB per frame). Same arithmetic, in the same
// order, as the vec3 helpers (sub, dot, cross, norm = Math.hypot, unit = scale by 1/n, angleDeg), so
// the results are bit-identical.
const present = (j: Float32Array, i: number): boolean => Number.isFinite(j[i]) && Number.isFinite(j[i + 1]) && Number.isFinite(j[i + 2]);

const LEG = {
  left: { h: 3 * JOINT_INDEX.left_hip, k: 3 * JOINT_INDEX.left_knee, a: 3 * JOINT_INDEX.left_ankle },
  right: { h: 3 * JOINT_INDEX.right_hip, k: 3 * JOINT_INDEX.right_knee, a: 3 * JOINT_INDEX.right_ankle },
} as const;

export function kneeFlexion(j: Float32Array, side: Side): number {
  const { h, k, a } = LEG[side];
  if (!present(j, h) || !present(j, k) || !present(j, a)) return NaN;
  const k0 = j[k]!,
    k1 = j[k + 1]!,
    k2 = j[k + 2]!;
  const u0 = j[h]! - k0,
    u1 = j[h + 1]! - k1,
    u2 = j[h + 2]! - k2;
  const v0 = j[a]! - k0,
    v1 = j[a + 1]! - k1,
    v2 = j[a + 2]! - k2;
  // 180 − angleDeg(u, v)
  const n = Math.hypot(u0, u1, u2) * Math.hypot(v0, v1, v2);
  if (n < 1e-12) return NaN;
  return 180 - (Math.acos(Math.min(1, Math.max(-1, (u0 * v0 + u1 * v1 + u2 * v2) / n))) * 180) / Math.PI;
}

/** The sagittal frame both hips share: trunk axis `down` and forward `fwd` (unit vectors), or null. */
interface Sagittal {
  readonly d0: number;
  readonly d1: number;
  readonly d2: number;
  readonly f0: number;
  readonly f1: number;
  readonly f2: number;
}

function sagittal(j: Float32Array, heading: Vec3): Sagittal | null {
  // down = unit(root − neck), else [0, −1, 0]
  let d0 = 0,
    d1 = -1,
    d2 = 0;
  const r = 3 * JOINT_INDEX.root;
  const n = 3 * JOINT_INDEX.neck;
  if (present(j, r) && present(j, n)) {
    const x = j[r]! - j[n]!,
      y = j[r + 1]! - j[n + 1]!,
      z = j[r + 2]! - j[n + 2]!;
    const len = Math.hypot(x, y, z);
    if (len > 1e-9) {
      const s = 1 / len;
      d0 = x * s;
      d1 = y * s;
      d2 = z * s;
    }
  }
  // lateral = unit(down × heading); fwd = unit(lateral × down)
  const h0 = heading[0],
    h1 = heading[1],
    h2 = heading[2];
  let l0 = d1 * h2 - d2 * h1,
    l1 = d2 * h0 - d0 * h2,
    l2 = d0 * h1 - d1 * h0;
  const ll = Math.hypot(l0, l1, l2);
  if (!(ll > 1e-9)) return null;
  const ls = 1 / ll;
  l0 *= ls;
  l1 *= ls;
  l2 *= ls;
  const c0 = l1 * d2 - l2 * d1,
    c1 = l2 * d0 - l0 * d2,
    c2 = l0 * d1 - l1 * d0;
  const fl = Math.hypot(c0, c1, c2);
  if (!(fl > 1e-9)) return null;
  const fs = 1 / fl;
  return { d0, d1, d2, f0: c0 * fs, f1: c1 * fs, f2: c2 * fs };
}

function hipFlexionIn(j: Float32Array, side: Side, sag: Sagittal | null): number {
  const { h, k } = LEG[side];
  if (!present(j, h) || !present(j, k) || !sag) return NaN;
  const t0 = j[k]! - j[h]!,
    t1 = j[k + 1]! - j[h + 1]!,
    t2 = j[k + 2]! - j[h + 2]!;
  return (Math.atan2(t0 * sag.f0 + t1 * sag.f1 + t2 * sag.f2, t0 * sag.d0 + t1 * sag.d1 + t2 * sag.d2) * 180) / Math.PI;
}

/** Thigh against the trunk axis in the sagittal plane of `heading` (degrees; NaN when a joint is missing). */
export function hipFlexion(j: Float32Array, side: Side, heading: Vec3): number {
  return hipFlexionIn(j, side, sagittal(j, heading));
}

export function jointAngles(j: Float32Array, heading: Vec3): JointAngles {
  const sag = sagittal(j, heading);
  return {
    kneeFlexion: { left: kneeFlexion(j, 'left'), right: kneeFlexion(j, 'right') },
    hipFlexion: { left: hipFlexionIn(j, 'left', sag), right: hipFlexionIn(j, 'right', sag) },
  };
}

/** One physical-state step per frame (state: the previous frame). The `physicalState` operator wraps it. */
export type PhysicalStateStep = (f: AlignedFrame) => PhysicalState;

export function physicalStateStep(): PhysicalStateStep {
  let prev: AlignedFrame | null = null;
  // The previous frame re-expressed in this frame's transform: read here only, so one buffer serves every frame.
  let before = new Float32Array(0);
  return (f) => {
    const n = f.joints.length;
    const velocities = new Float32Array(n);
    const dt = prev ? f.t - prev.t : 0;
    const com = centreOfMass(f.joints);
    let comVelocity: Vec3 | null = com.position ? [0, 0, 0] : null;
    const valid = prev !== null && dt > 0;
    if (valid && prev) {
      if (before.length !== prev.sourceJoints.length) before = new Float32Array(prev.sourceJoints.length);
      toWorld(f.transform, prev.sourceJoints, before);
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
    // The AlignedFrame's fields written out, not spread: cloning align's frames with `...f` here made V8
    // build a fresh hidden class (map + descriptor arrays, ≈ 5 KB) for every frame.
    return {
      t: f.t,
      joints: f.joints,
      index: f.index,
      sourceJoints: f.sourceJoints,
      transform: f.transform,
      floor: f.floor,
      forward: f.forward,
      forwardSource: f.forwardSource,
      forwardFixedAt: f.forwardFixedAt,
      quality: f.quality,
      dropped: f.dropped,
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
