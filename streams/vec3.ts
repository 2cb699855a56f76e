// Small allocation-light helpers over the flat JOINT_COUNT×3 joint arrays every stage passes along.
import { JOINT_COUNT, JOINT_INDEX, type JointName } from './skeleton.js';

export type Vec3 = readonly [number, number, number];

export const UP: Vec3 = [0, 1, 0];

/** Position of a joint, or null when any coordinate is not finite (NaN marks "not available"). */
export function joint(joints: Float32Array, name: JointName): Vec3 | null {
  const i = 3 * JOINT_INDEX[name];
  const x = joints[i] ?? NaN;
  const y = joints[i + 1] ?? NaN;
  const z = joints[i + 2] ?? NaN;
  return Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(z) ? [x, y, z] : null;
}

export function hasJoint(joints: Float32Array, name: JointName): boolean {
  return joint(joints, name) !== null;
}

export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
export const norm = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);
export const dist = (a: Vec3, b: Vec3): number => norm(sub(a, b));
export const lerp = (a: Vec3, b: Vec3, f: number): Vec3 => add(a, scale(sub(b, a), f));

/** Unit vector, or null for a (near) zero vector. */
export function unit(a: Vec3): Vec3 | null {
  const n = norm(a);
  return n > 1e-9 ? scale(a, 1 / n) : null;
}

/** Horizontal (floor-plane) unit direction of a vector, or null when it is (near) vertical. */
export function horizontalUnit(a: Vec3): Vec3 | null {
  return unit([a[0], 0, a[2]]);
}

/** Angle between two vectors in degrees (NaN if either is zero). */
export function angleDeg(a: Vec3, b: Vec3): number {
  const n = norm(a) * norm(b);
  if (n < 1e-12) return NaN;
  return (Math.acos(Math.min(1, Math.max(-1, dot(a, b) / n))) * 180) / Math.PI;
}

/**
 * Facing direction of the pelvis on the floor plane: (left hip − right hip) × up.
 * With y up this is the direction the body faces (left = up × forward, right-handed).
 */
export function pelvisFacing(joints: Float32Array): Vec3 | null {
  const l = joint(joints, 'left_hip');
  const r = joint(joints, 'right_hip');
  if (!l || !r) return null;
  return horizontalUnit(cross(sub(l, r), UP));
}

export function emptyJoints(): Float32Array {
  return new Float32Array(JOINT_COUNT * 3).fill(NaN);
}
