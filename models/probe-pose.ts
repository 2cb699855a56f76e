/**
 * The pose space the probe decoder and the pose errors (evaluate.ts) work in: canonical joints, root-relative
 * and yaw-aligned to the pelvis's own facing (Human3.6M "protocol 1" plus heading alignment).
 *
 * Why not world coordinates: the model's features are translation- and heading-invariant, so no latent
 * can know where in the room the patient stands or which way they face; asking the probe for that would
 * measure the room, not the model. Root translation is therefore excluded from pose_mm, and so is the
 * global yaw; everything a therapist reads from a pose (limb configuration, knee lift, trunk lean, root
 * height relative to the feet) is kept. Baselines are scored in the same space.
 */
import { JOINT_COUNT, JOINT_INDEX } from '../streams/skeleton.js';

/** Floats per pose: 20 joints × xyz. */
export const POSE_DIM = JOINT_COUNT * 3;
const ROOT = JOINT_INDEX.root;
const LHIP = JOINT_INDEX.left_hip;
const RHIP = JOINT_INDEX.right_hip;

/**
 * One world pose (metres, y up) → root at the origin, rotated about y so the pelvis faces +z.
 * Facing = up × (right_hip − left_hip) on the floor plane. Without a root the pose is all NaN; without
 * both hips (or with hips stacked vertically) it stays root-relative and unrotated.
 */
export function canonicalPose(world: ArrayLike<number>, offset = 0, out: Float32Array = new Float32Array(POSE_DIM)): Float32Array {
  const rx = world[offset + 3 * ROOT]!;
  const ry = world[offset + 3 * ROOT + 1]!;
  const rz = world[offset + 3 * ROOT + 2]!;
  if (!(Number.isFinite(rx) && Number.isFinite(ry) && Number.isFinite(rz))) return out.fill(Number.NaN);
  // right vector on the floor plane; forward = y × right = (right.z, 0, −right.x)
  const sx = world[offset + 3 * RHIP]! - world[offset + 3 * LHIP]!;
  const sz = world[offset + 3 * RHIP + 2]! - world[offset + 3 * LHIP + 2]!;
  let fx = sz;
  let fz = -sx;
  const len = Math.hypot(fx, fz);
  if (!(len > 1e-6)) {
    fx = 0;
    fz = 1;
  } else {
    fx /= len;
    fz /= len;
  }
  // Rotate by −yaw with yaw = atan2(fx, fz): forward ↦ +z.
  const c = fz;
  const s = fx;
  for (let j = 0; j < JOINT_COUNT; j++) {
    const x = world[offset + 3 * j]! - rx;
    const y = world[offset + 3 * j + 1]! - ry;
    const z = world[offset + 3 * j + 2]! - rz;
    out[3 * j] = x * c - z * s;
    out[3 * j + 1] = y;
    out[3 * j + 2] = x * s + z * c;
  }
  return out;
}

/** canonicalPose for every frame of an n × 60 matrix. */
export function canonicalPoses(world: Float32Array): Float32Array {
  if (world.length % POSE_DIM !== 0) throw new RangeError(`${world.length} values are not poses of ${POSE_DIM}`);
  const n = world.length / POSE_DIM;
  const out = new Float32Array(world.length);
  for (let i = 0; i < n; i++) canonicalPose(world, i * POSE_DIM, out.subarray(i * POSE_DIM, (i + 1) * POSE_DIM));
  return out;
}

/**
 * Mean per-joint position error in millimetres between two n × 60 canonical pose matrices, over the
 * non-root joints finite in both (the root is 0 by construction and would dilute the mean).
 * Returns the sum and count too so callers can pool exactly across recordings.
 */
export function mpjpe(pred: Float32Array, truth: Float32Array): { mm: number; sumMm: number; count: number } {
  if (pred.length !== truth.length || pred.length % POSE_DIM !== 0) throw new RangeError('pose matrices differ in shape');
  let sum = 0;
  let count = 0;
  for (let i = 0; i < pred.length; i += POSE_DIM) {
    for (let j = 0; j < JOINT_COUNT; j++) {
      if (j === ROOT) continue;
      const k = i + 3 * j;
      const d = Math.hypot(pred[k]! - truth[k]!, pred[k + 1]! - truth[k + 1]!, pred[k + 2]! - truth[k + 2]!);
      if (Number.isFinite(d)) {
        sum += d;
        count++;
      }
    }
  }
  return { mm: count > 0 ? (1000 * sum) / count : Number.NaN, sumMm: 1000 * sum, count };
}
