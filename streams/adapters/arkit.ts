// ARKit body skeleton ↔ canonical joints. Forward: world = anchor × model position. Inverse (for the
// simulator): every one of the 91 joints placed plausibly from the 20 canonical ones.
import { JOINT_COUNT, JOINT_INDEX, SIDES, type JointName, type Side } from '../skeleton.js';
import { ARKIT_INDEX, ARKIT_JOINT_COUNT, type ArkitJointName } from './arkit-skeleton.js';
import { estimateHeel, HEEL_ESTIMATE_NOTE } from './heel.js';
import { add, at, cross, dot, norm, put, scale, sub, unit, type V3 } from './vec.js';

export { ARKIT_JOINTS, ARKIT_PARENTS, ARKIT_JOINT_COUNT, ARKIT_INDEX, type ArkitJointName } from './arkit-skeleton.js';

/** Canonical joint → the ARKit joint it is read from (heels have none: estimated). */
export const ARKIT_CANONICAL_MAP: Readonly<Record<Exclude<JointName, 'left_heel' | 'right_heel'>, ArkitJointName>> = {
  root: 'hips_joint',
  left_hip: 'left_upLeg_joint',
  right_hip: 'right_upLeg_joint',
  left_knee: 'left_leg_joint',
  right_knee: 'right_leg_joint',
  left_ankle: 'left_foot_joint',
  right_ankle: 'right_foot_joint',
  left_toe: 'left_toes_joint', // ball of the foot; toesEnd is the tip
  right_toe: 'right_toes_joint',
  chest: 'spine_5_joint', // mid-thorax
  neck: 'neck_1_joint',
  head: 'head_joint',
  left_shoulder: 'left_arm_joint', // glenohumeral; shoulder_1 is the clavicle root
  right_shoulder: 'right_arm_joint',
  left_elbow: 'left_forearm_joint',
  right_elbow: 'right_forearm_joint',
  left_wrist: 'left_hand_joint',
  right_wrist: 'right_hand_joint',
};

export const ARKIT_JOINT_MAP_NOTES: Partial<Record<JointName, string>> = {
  ...Object.fromEntries(Object.entries(ARKIT_CANONICAL_MAP).map(([c, a]) => [c, `ARKit ${a} (anchor × model)`])),
  left_heel: HEEL_ESTIMATE_NOTE,
  right_heel: HEEL_ESTIMATE_NOTE,
};

/** Column-major 4×4 applied to a point. */
export function transformPoint(m: ArrayLike<number>, p: V3): V3 {
  const g = (i: number): number => m[i] ?? NaN;
  return [g(0) * p[0] + g(4) * p[1] + g(8) * p[2] + g(12), g(1) * p[0] + g(5) * p[1] + g(9) * p[2] + g(13), g(2) * p[0] + g(6) * p[1] + g(10) * p[2] + g(14)];
}

/** Inverse of an affine column-major 4×4 (general 3×3 inverse, so a scaled anchor works too). */
export function invertAffine(m: ArrayLike<number>): Float64Array {
  const g = (i: number): number => m[i] ?? NaN;
  const [a, b, c, d, e, f, h, i, j] = [g(0), g(4), g(8), g(1), g(5), g(9), g(2), g(6), g(10)]; // row-major 3×3
  const det = a * (e * j - f * i) - b * (d * j - f * h) + c * (d * i - e * h);
  const inv = [
    (e * j - f * i) / det,
    (c * i - b * j) / det,
    (b * f - c * e) / det,
    (f * h - d * j) / det,
    (a * j - c * h) / det,
    (c * d - a * f) / det,
    (d * i - e * h) / det,
    (b * h - a * i) / det,
    (a * e - b * d) / det,
  ];
  const t: V3 = [g(12), g(13), g(14)];
  const r = (k: number): number => inv[k] ?? NaN;
  const it: V3 = [-(r(0) * t[0] + r(1) * t[1] + r(2) * t[2]), -(r(3) * t[0] + r(4) * t[1] + r(5) * t[2]), -(r(6) * t[0] + r(7) * t[1] + r(8) * t[2])];
  return Float64Array.of(r(0), r(3), r(6), 0, r(1), r(4), r(7), 0, r(2), r(5), r(8), 0, it[0], it[1], it[2], 1);
}

/** Translation columns of 91 column-major 4×4 joint model transforms → 91 × 3 positions. */
export function transformsToPositions(jointTransforms: Float32Array): Float32Array {
  const n = Math.floor(jointTransforms.length / 16);
  const out = new Float32Array(n * 3);
  for (let j = 0; j < n; j++) {
    out[j * 3] = jointTransforms[j * 16 + 12] ?? NaN;
    out[j * 3 + 1] = jointTransforms[j * 16 + 13] ?? NaN;
    out[j * 3 + 2] = jointTransforms[j * 16 + 14] ?? NaN;
  }
  return out;
}

// (canonical index, ARKit index) pairs, computed once: this runs for every live frame.
const PAIRS: readonly (readonly [number, number])[] = (Object.entries(ARKIT_CANONICAL_MAP) as [JointName, ArkitJointName][]).map(
  ([c, a]) => [JOINT_INDEX[c], ARKIT_INDEX[a]] as const,
);
const HEELS = SIDES.map((side) => [JOINT_INDEX[`${side}_heel`], JOINT_INDEX[`${side}_ankle`], JOINT_INDEX[`${side}_toe`]] as const);

/** 91 model-space joints + body anchor → 20 canonical joints in ARKit world (metres, y up). */
export function arkitToCanonical(anchor: Float32Array, modelJoints: Float32Array): Float32Array {
  const out = new Float32Array(JOINT_COUNT * 3).fill(NaN);
  const m = anchor;
  for (const [c, a] of PAIRS) {
    const x = modelJoints[a * 3] ?? NaN;
    const y = modelJoints[a * 3 + 1] ?? NaN;
    const z = modelJoints[a * 3 + 2] ?? NaN;
    out[c * 3] = (m[0] ?? NaN) * x + (m[4] ?? NaN) * y + (m[8] ?? NaN) * z + (m[12] ?? NaN);
    out[c * 3 + 1] = (m[1] ?? NaN) * x + (m[5] ?? NaN) * y + (m[9] ?? NaN) * z + (m[13] ?? NaN);
    out[c * 3 + 2] = (m[2] ?? NaN) * x + (m[6] ?? NaN) * y + (m[10] ?? NaN) * z + (m[14] ?? NaN);
  }
  for (const [h, a, t] of HEELS) put(out, h, estimateHeel(at(out, a), at(out, t)));
  return out;
}

const lerp = (a: V3, b: V3, w: number): V3 => add(a, scale(sub(b, a), w));

/** Body-fixed axes from the canonical pose: up (root→neck), right (left→right hip), forward = up × right. */
function bodyAxes(j: (n: JointName) => V3): { up: V3; right: V3; forward: V3 } {
  const up = unit(sub(j('neck'), j('root')));
  const r0 = sub(j('right_hip'), j('left_hip'));
  const right = unit(sub(r0, scale(up, dot(r0, up))));
  return { up, right, forward: cross(up, right) };
}

// Face joints relative to head_joint in (right, up, forward) metres: a plausible adult head.
const FACE: readonly [ArkitJointName, V3][] = [
  ['jaw_joint', [0, -0.05, 0.04]],
  ['chin_joint', [0, -0.1, 0.08]],
  ['nose_joint', [0, 0.0, 0.11]],
  ['left_eye_joint', [-0.032, 0.035, 0.085]],
  ['left_eyeLowerLid_joint', [-0.032, 0.027, 0.095]],
  ['left_eyeUpperLid_joint', [-0.032, 0.043, 0.095]],
  ['left_eyeball_joint', [-0.032, 0.035, 0.075]],
  ['right_eye_joint', [0.032, 0.035, 0.085]],
  ['right_eyeLowerLid_joint', [0.032, 0.027, 0.095]],
  ['right_eyeUpperLid_joint', [0.032, 0.043, 0.095]],
  ['right_eyeball_joint', [0.032, 0.035, 0.075]],
];

// Fingers: (name stem, spread across the palm towards the thumb side, chain lengths from the wrist).
const FINGERS: readonly [string, number, readonly number[]][] = [
  ['Index', 0.025, [0.03, 0.09, 0.125, 0.148, 0.168]],
  ['Mid', 0.005, [0.03, 0.092, 0.132, 0.157, 0.18]],
  ['Ring', -0.015, [0.03, 0.088, 0.125, 0.149, 0.17]],
  ['Pinky', -0.033, [0.03, 0.08, 0.108, 0.125, 0.142]],
  ['Thumb', 0.035, [0.02, 0.05, 0.085, 0.11]],
];

/**
 * Inverse for the simulator: canonical world joints → 91 ARKit model-space joints. Joints with a
 * canonical counterpart are exact; spine/neck joints are interpolated along their chain; toe ends,
 * face and fingers are attached rigidly to their nearest canonical parent with plausible offsets.
 */
export function canonicalToArkit(worldJoints: Float32Array, anchor: Float32Array): Float32Array {
  const inv = invertAffine(anchor);
  const j = (n: JointName): V3 => transformPoint(inv, at(worldJoints, JOINT_INDEX[n]));
  const out = new Float32Array(ARKIT_JOINT_COUNT * 3).fill(NaN);
  const set = (n: ArkitJointName, p: V3): void => put(out, ARKIT_INDEX[n], p);
  for (const [canon, ak] of Object.entries(ARKIT_CANONICAL_MAP) as [JointName, ArkitJointName][]) set(ak, j(canon));
  set('root', j('root'));
  const root = j('root');
  const chest = j('chest');
  const neck = j('neck');
  const head = j('head');
  for (let k = 1; k <= 4; k++) set(`spine_${k}_joint` as ArkitJointName, lerp(root, chest, k / 5));
  set('spine_6_joint', lerp(chest, neck, 1 / 3));
  set('spine_7_joint', lerp(chest, neck, 2 / 3));
  for (let k = 2; k <= 4; k++) set(`neck_${k}_joint` as ArkitJointName, lerp(neck, head, (k - 1) / 4));
  const axes = bodyAxes(j);
  const inBody = (origin: V3, o: V3): V3 => add(origin, add(add(scale(axes.right, o[0]), scale(axes.up, o[1])), scale(axes.forward, o[2])));
  for (const [name, o] of FACE) set(name, inBody(head, o));
  const spine7 = lerp(chest, neck, 2 / 3);
  for (const side of SIDES) placeLimbEnds(side, j, spine7, axes, set);
  return out;
}

function placeLimbEnds(
  side: Side,
  j: (n: JointName) => V3,
  spine7: V3,
  axes: { up: V3; right: V3; forward: V3 },
  set: (n: ArkitJointName, p: V3) => void,
): void {
  const ankle = j(`${side}_ankle`);
  const toe = j(`${side}_toe`);
  set(`${side}_toesEnd_joint` as ArkitJointName, add(toe, scale(sub(toe, ankle), 0.35)));
  set(`${side}_shoulder_1_joint` as ArkitJointName, lerp(spine7, j(`${side}_shoulder`), 0.2));
  const wrist = j(`${side}_wrist`);
  const along = unit(sub(wrist, j(`${side}_elbow`)));
  // Palm width axis: perpendicular to the forearm, on the thumb side (forward in the anatomical pose).
  let across = sub(axes.forward, scale(along, dot(axes.forward, along)));
  if (!(norm(across) > 1e-6)) across = sub(axes.up, scale(along, dot(axes.up, along)));
  across = unit(across);
  for (const [finger, spread, lengths] of FINGERS) {
    const stems = finger === 'Thumb' ? ['Start', '_1', '_2', 'End'] : ['Start', '_1', '_2', '_3', 'End'];
    stems.forEach((stem, k) => {
      const name = `${side}_hand${finger}${stem}_joint` as ArkitJointName;
      set(name, add(wrist, add(scale(along, lengths[k] ?? 0), scale(across, spread))));
    });
  }
}
