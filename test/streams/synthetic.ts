// Synthetic skeletons with known exact geometry, for the stage unit tests (real recordings are used in
// real-recordings.test.ts). Body frame: facing +z, left +x, up +y; feet's lowest points at FOOT_Y.
import { JOINTS, JOINT_COUNT, JOINT_INDEX, type JointName } from '../../streams/skeleton.js';
import type { PoseFrame } from '../../streams/types.js';

export type V3 = [number, number, number];
export const FOOT_Y = 0.02;

export const BODY: Readonly<Record<JointName, V3>> = {
  root: [0, 0.95, 0],
  left_hip: [0.09, 0.95, 0],
  right_hip: [-0.09, 0.95, 0],
  left_knee: [0.09, 0.52, 0],
  right_knee: [-0.09, 0.52, 0],
  left_ankle: [0.09, 0.09, 0],
  right_ankle: [-0.09, 0.09, 0],
  left_heel: [0.09, FOOT_Y, -0.05],
  right_heel: [-0.09, FOOT_Y, -0.05],
  left_toe: [0.09, FOOT_Y, 0.15],
  right_toe: [-0.09, FOOT_Y, 0.15],
  chest: [0, 1.25, 0],
  neck: [0, 1.5, 0],
  head: [0, 1.65, 0],
  left_shoulder: [0.18, 1.45, 0],
  right_shoulder: [-0.18, 1.45, 0],
  left_elbow: [0.2, 1.15, 0],
  right_elbow: [-0.2, 1.15, 0],
  left_wrist: [0.2, 0.9, 0],
  right_wrist: [-0.2, 0.9, 0],
};

export interface PoseSpec {
  /** Where the body-frame origin (under the root) goes in the source frame. */
  readonly at?: V3;
  /** Rotation about +y (rad) from body to source frame. */
  readonly yaw?: number;
  /** Body-frame overrides (before rotation/translation). */
  readonly joints?: Partial<Record<JointName, V3>>;
  /** Joints to leave out (NaN). */
  readonly missing?: readonly JointName[];
}

/** Source-frame joints of a pose. */
export function pose(spec: PoseSpec = {}): Float32Array {
  const [ax, ay, az] = spec.at ?? [0, 0, 0];
  const c = Math.cos(spec.yaw ?? 0);
  const s = Math.sin(spec.yaw ?? 0);
  const out = new Float32Array(JOINT_COUNT * 3).fill(NaN);
  for (const name of JOINTS) {
    if (spec.missing?.includes(name)) continue;
    const [x, y, z] = spec.joints?.[name] ?? BODY[name];
    const i = 3 * JOINT_INDEX[name];
    // Ry(yaw): x' = c·x + s·z, z' = −s·x + c·z
    out[i] = c * x + s * z + ax;
    out[i + 1] = y + ay;
    out[i + 2] = -s * x + c * z + az;
  }
  return out;
}

export const frame = (t: number, spec: PoseSpec = {}): PoseFrame => ({ t, joints: pose(spec) });

/** Body-frame joints with every joint of `names` moved by `d`. */
export function moved(names: readonly JointName[], d: V3, base: Partial<Record<JointName, V3>> = {}): Partial<Record<JointName, V3>> {
  const out: Partial<Record<JointName, V3>> = { ...base };
  for (const n of names) {
    const [x, y, z] = out[n] ?? BODY[n];
    out[n] = [x + d[0], y + d[1], z + d[2]];
  }
  return out;
}

export const UPPER: readonly JointName[] = [
  'root',
  'left_hip',
  'right_hip',
  'chest',
  'neck',
  'head',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
];
export const LEFT_FOOT: readonly JointName[] = ['left_ankle', 'left_heel', 'left_toe'];
export const RIGHT_FOOT: readonly JointName[] = ['right_ankle', 'right_heel', 'right_toe'];
