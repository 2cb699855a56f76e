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
 * Where a world pose's canonical frame sits: its root (the origin) and the pelvis's facing as the
 * rotation about y that maps it to +z (c = cos, s = sin of the yaw). Facing = up × (right_hip − left_hip)
 * on the floor plane; without both hips (or with hips stacked vertically) the frame is unrotated
 * (c = 1, s = 0). Null without a finite root.
 */
export interface PoseFrame {
  readonly rx: number;
  readonly ry: number;
  readonly rz: number;
  readonly c: number;
  readonly s: number;
}

export function poseFrame(world: ArrayLike<number>, offset = 0): PoseFrame | null {
  const rx = world[offset + 3 * ROOT]!;
  const ry = world[offset + 3 * ROOT + 1]!;
  const rz = world[offset + 3 * ROOT + 2]!;
  if (!(Number.isFinite(rx) && Number.isFinite(ry) && Number.isFinite(rz))) return null;
  // right vector on the floor plane; forward = y × right = (right.z, 0, −right.x)
  const sx = world[offset + 3 * RHIP]! - world[offset + 3 * LHIP]!;
  const sz = world[offset + 3 * RHIP + 2]! - world[offset + 3 * LHIP + 2]!;
  const len = Math.hypot(sz, sx);
  // forward f = (sz, −sx)/len; rotating by −yaw with yaw = atan2(fx, fz) maps it to +z: c = fz, s = fx.
  return len > 1e-6 ? { rx, ry, rz, c: -sx / len, s: sz / len } : { rx, ry, rz, c: 1, s: 0 };
}

/**
 * One world pose (metres, y up) expressed in `frame` (default: its own poseFrame) — root at the origin,
 * rotated about y so the pelvis faces +z. Without a frame (no root) the pose is all NaN. Passing another
 * frame's poseFrame expresses a pose relative to that frame (a prediction made at t, in t's frame).
 */
export function canonicalPose(
  world: ArrayLike<number>,
  offset = 0,
  out: Float32Array = new Float32Array(POSE_DIM),
  frame: PoseFrame | null = poseFrame(world, offset),
): Float32Array {
  if (!frame) return out.fill(Number.NaN);
  const { rx, ry, rz, c, s } = frame;
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

/** The inverse of canonicalPose in `frame`: a canonical pose (or a change of one, with translate = false) back to the world. */
export function worldPose(canonical: ArrayLike<number>, frame: PoseFrame, out: Float32Array = new Float32Array(POSE_DIM), translate = true): Float32Array {
  const { c, s } = frame;
  const [tx, ty, tz] = translate ? [frame.rx, frame.ry, frame.rz] : [0, 0, 0];
  for (let j = 0; j < JOINT_COUNT; j++) {
    const x = canonical[3 * j]!;
    const z = canonical[3 * j + 2]!;
    out[3 * j] = x * c + z * s + tx;
    out[3 * j + 1] = canonical[3 * j + 1]! + ty;
    out[3 * j + 2] = -x * s + z * c + tz;
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
