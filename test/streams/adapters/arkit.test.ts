import { describe, expect, it } from 'vitest';
import {
  ARKIT_CANONICAL_MAP,
  ARKIT_INDEX,
  ARKIT_JOINTS,
  ARKIT_PARENTS,
  arkitToCanonical,
  canonicalToArkit,
  invertAffine,
  transformPoint,
  transformsToPositions,
} from '../../../streams/adapters/arkit.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { JOINTS, JOINT_INDEX, PARENT, type JointName } from '../../../streams/skeleton.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';

/** Column-major anchor: rotation about y by `deg`, then translation. */
function anchor(deg: number, t: [number, number, number]): Float32Array {
  const r = (deg * Math.PI) / 180;
  const c = Math.cos(r);
  const s = Math.sin(r);
  return Float32Array.of(c, 0, -s, 0, 0, 1, 0, 0, s, 0, c, 0, t[0], t[1], t[2], 1);
}

const isAncestor = (a: number, b: number): boolean => {
  for (let k = b; k >= 0; k = ARKIT_PARENTS[k] ?? -1) if (k === a) return true;
  return false;
};

describe('ARKit skeleton definition', () => {
  it('91 joints with parents in order; the canonical map follows the kinematic tree', () => {
    expect(ARKIT_JOINTS).toHaveLength(91);
    expect(ARKIT_PARENTS).toHaveLength(91);
    expect(ARKIT_PARENTS[0]).toBe(-1);
    ARKIT_PARENTS.forEach((p, i) => i > 0 && expect(p).toBeLessThan(i));
    expect(ARKIT_JOINTS[ARKIT_PARENTS[ARKIT_INDEX.left_foot_joint]!]).toBe('left_leg_joint');
    expect(ARKIT_JOINTS[ARKIT_PARENTS[ARKIT_INDEX.head_joint]!]).toBe('neck_4_joint');
    expect(ARKIT_JOINTS[ARKIT_PARENTS[ARKIT_INDEX.right_shoulder_1_joint]!]).toBe('spine_7_joint');
    for (const joint of JOINTS) {
      const parent = PARENT[joint];
      if (!parent || joint.endsWith('heel')) continue;
      const a = ARKIT_INDEX[ARKIT_CANONICAL_MAP[parent as Exclude<JointName, 'left_heel' | 'right_heel'>]];
      const b = ARKIT_INDEX[ARKIT_CANONICAL_MAP[joint as Exclude<JointName, 'left_heel' | 'right_heel'>]];
      expect(isAncestor(a, b), `${parent} → ${joint}`).toBe(true);
    }
  });

  it('world = anchor × model position; jointTransforms give positions by their translation', () => {
    const model = new Float32Array(91 * 3);
    model.set([0.1, 0.9, 0.05], ARKIT_INDEX.left_leg_joint * 3);
    const a = anchor(90, [1, 0, 2]);
    const w = arkitToCanonical(a, model);
    const k = JOINT_INDEX.left_knee * 3;
    // Ry(90°)·(0.1, 0.9, 0.05) = (0.05, 0.9, −0.1); + (1, 0, 2)
    expect(w[k]).toBeCloseTo(1.05, 5);
    expect(w[k + 1]).toBeCloseTo(0.9, 5);
    expect(w[k + 2]).toBeCloseTo(1.9, 5);
    const transforms = new Float32Array(91 * 16);
    for (let j = 0; j < 91; j++) transforms.set([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, j, 2 * j, -j, 1], j * 16);
    const p = transformsToPositions(transforms);
    expect(Array.from(p.subarray(30, 33))).toEqual([10, 20, -10]);
    const inv = invertAffine(a);
    const back = transformPoint(inv, transformPoint(a, [0.3, -0.2, 0.7]));
    back.forEach((v, i) => expect(v).toBeCloseTo([0.3, -0.2, 0.7][i]!, 6));
  });
});

describe.skipIf(!hasMotionData)('canonicalToArkit ↔ arkitToCanonical on real poses', () => {
  it('round trip is exact for mapped joints, and every ARKit joint is placed plausibly (CMU 131_01)', async () => {
    const rec = await readRecording(motion('cmu-bvh', '131_01.bvh'));
    const a = anchor(30, [0.4, 0.02, -2.5]);
    let worstMapped = 0;
    let worstHeel = 0;
    for (let f = 0; f < rec.frames.length; f += 25) {
      const x = rec.frames[f]!.joints;
      const model = canonicalToArkit(x, a);
      expect(model.every(Number.isFinite)).toBe(true);
      const y = arkitToCanonical(a, model);
      for (const joint of JOINTS) {
        const o = JOINT_INDEX[joint] * 3;
        const d = Math.hypot(y[o]! - x[o]!, y[o + 1]! - x[o + 1]!, y[o + 2]! - x[o + 2]!);
        if (joint.endsWith('heel')) worstHeel = Math.max(worstHeel, d);
        else worstMapped = Math.max(worstMapped, d);
      }
      // Plausible: no ARKit bone longer than a thigh, fingers near the wrist, face near the head.
      for (let j = 1; j < 91; j++) {
        const p = ARKIT_PARENTS[j]!;
        const bone = Math.hypot(model[j * 3]! - model[p * 3]!, model[j * 3 + 1]! - model[p * 3 + 1]!, model[j * 3 + 2]! - model[p * 3 + 2]!);
        expect(bone, ARKIT_JOINTS[j]).toBeLessThan(0.55);
      }
      const dist = (a1: string, b1: string): number => {
        const i = ARKIT_INDEX[a1 as 'root'] * 3;
        const k = ARKIT_INDEX[b1 as 'root'] * 3;
        return Math.hypot(model[i]! - model[k]!, model[i + 1]! - model[k + 1]!, model[i + 2]! - model[k + 2]!);
      };
      expect(dist('left_handMidEnd_joint', 'left_hand_joint')).toBeLessThan(0.2);
      expect(dist('nose_joint', 'head_joint')).toBeLessThan(0.15);
      expect(dist('left_toesEnd_joint', 'left_foot_joint')).toBeGreaterThan(dist('left_toes_joint', 'left_foot_joint'));
    }
    expect(worstMapped).toBeLessThan(1e-4);
    // BVH heels use the same estimate as ARKit, so they survive the round trip as well.
    expect(worstHeel).toBeLessThan(1e-4);
  });

  it('missing canonical joints stay missing (Shida: no head) and measured heels come back within 6 cm', async () => {
    const rec = await readRecording(motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'));
    const a = anchor(-75, [0, 0, 0]);
    const x = rec.frames[100]!.joints;
    const model = canonicalToArkit(x, a);
    expect(Number.isNaN(model[ARKIT_INDEX.head_joint * 3]!)).toBe(true);
    expect(Number.isNaN(model[ARKIT_INDEX.nose_joint * 3]!)).toBe(true);
    const y = arkitToCanonical(a, model);
    const o = JOINT_INDEX.left_knee * 3;
    expect(Math.abs(y[o]! - x[o]!)).toBeLessThan(1e-4);
    for (const heel of ['left_heel', 'right_heel'] as const) {
      const h = JOINT_INDEX[heel] * 3;
      expect(Math.hypot(y[h]! - x[h]!, y[h + 1]! - x[h + 1]!, y[h + 2]! - x[h + 2]!)).toBeLessThan(0.06);
    }
  });
});
