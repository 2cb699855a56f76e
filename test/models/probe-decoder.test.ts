import { describe, expect, it } from 'vitest';
import { createRng } from '../../models/rng.js';
import { encodeNpz } from '../../models/npz.js';
import { decodePoses, fitProbeDecoder, probeFromNpz, probeToNpz, solveSpd } from '../../models/probe-decoder.js';
import { canonicalPose, canonicalPoses, mpjpe, POSE_DIM } from '../../models/probe-pose.js';
import { JOINT_INDEX } from '../../streams/skeleton.js';

/** A standing-ish pose facing +x (right hip at −z... i.e. right = (0,0,1)·−1), root at (2, 1, 3). */
function poseFacingX(): Float32Array {
  const p = new Float32Array(POSE_DIM);
  for (let j = 0; j < 20; j++) p.set([2 + 0.01 * j, 1 - 0.04 * j, 3 + 0.02 * j], 3 * j);
  p.set([2, 1, 3], 3 * JOINT_INDEX.root);
  // facing +x: right = forward × up = x × y = +z
  p.set([2, 1, 2.9], 3 * JOINT_INDEX.left_hip);
  p.set([2, 1, 3.1], 3 * JOINT_INDEX.right_hip);
  p.set([2.3, 0.5, 3], 3 * JOINT_INDEX.left_knee);
  return p;
}

describe('canonicalPose', () => {
  it('moves the root to the origin and turns the facing to +z', () => {
    const c = canonicalPose(poseFacingX());
    expect(Array.from(c.subarray(0, 3), (v) => v + 0)).toEqual([0, 0, 0]);
    const k = 3 * JOINT_INDEX.left_knee;
    // 0.3 m in front of the pelvis, 0.5 m below
    expect(c[k]).toBeCloseTo(0, 6);
    expect(c[k + 1]).toBeCloseTo(-0.5, 6);
    expect(c[k + 2]).toBeCloseTo(0.3, 6);
    // the right hip ends on −x (right of a person facing +z with y up)
    expect(c[3 * JOINT_INDEX.right_hip]).toBeCloseTo(-0.1, 6);
  });
  it('is invariant to a rigid yaw + translation of the whole pose', () => {
    const p = poseFacingX();
    const q = new Float32Array(POSE_DIM);
    const a = 1.1;
    for (let j = 0; j < 20; j++) {
      const [x, y, z] = [p[3 * j]!, p[3 * j + 1]!, p[3 * j + 2]!];
      q.set([Math.cos(a) * x + Math.sin(a) * z + 5, y, -Math.sin(a) * x + Math.cos(a) * z - 2], 3 * j);
    }
    const both = canonicalPoses(Float32Array.from([...p, ...q]));
    for (let k = 0; k < POSE_DIM; k++) expect(both[POSE_DIM + k]).toBeCloseTo(both[k]!, 5);
  });
  it('gives NaN everywhere without a root', () => {
    const p = poseFacingX();
    p[0] = Number.NaN;
    expect(Array.from(canonicalPose(p)).every(Number.isNaN)).toBe(true);
  });
});

describe('mpjpe', () => {
  it('averages Euclidean joint errors in mm over finite non-root joints', () => {
    const a = new Float32Array(POSE_DIM);
    const b = new Float32Array(POSE_DIM);
    b.set([0.003, 0.004, 0], 3); // joint 1: 5 mm
    b.set([99, 99, 99], 0); // root ignored
    b[3 * 5] = Number.NaN; // joint 5 unavailable
    const r = mpjpe(a, b);
    expect(r.count).toBe(18);
    expect(r.mm).toBeCloseTo(5 / 18, 4);
  });
});

describe('solveSpd', () => {
  it('solves a known system', () => {
    // [[4,2],[2,3]] x = [[2],[1]] → x = [0.5, 0]
    const x = solveSpd(Float64Array.from([4, 2, 2, 3]), Float64Array.from([2, 1]), 2, 1);
    expect(x[0]).toBeCloseTo(0.5, 12);
    expect(x[1]).toBeCloseTo(0, 12);
  });
});

describe('fitProbeDecoder', () => {
  const d = 6;
  const n = 600;
  const rng = createRng(5);
  const z = Float32Array.from({ length: n * d }, () => rng.normal());
  const trueW = Float32Array.from({ length: d * POSE_DIM }, () => rng.normal() * 0.1);
  const poses = new Float32Array(n * POSE_DIM);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < POSE_DIM; k++) {
      let s = 0.2 + 0.01 * k;
      for (let p = 0; p < d; p++) s += z[i * d + p]! * trueW[p * POSE_DIM + k]!;
      poses[i * POSE_DIM + k] = s + 0.001 * rng.normal();
    }
  }
  it('recovers a linear map to ~noise level, with masked joints', () => {
    const masked = Float32Array.from(poses);
    for (let i = 0; i < n; i += 2) masked.fill(Number.NaN, i * POSE_DIM + 3 * 7, i * POSE_DIM + 3 * 8); // joint 7 half missing
    for (let i = 0; i < n; i++) masked.fill(Number.NaN, i * POSE_DIM + 3 * 9, i * POSE_DIM + 3 * 10); // joint 9 never seen
    const probe = fitProbeDecoder(z, masked, d);
    expect(probe.trained[7]).toBe(true);
    expect(probe.trained[9]).toBe(false);
    const out = decodePoses(probe, z);
    expect(Number.isNaN(out[3 * 9])).toBe(true);
    for (let k = 0; k < d * POSE_DIM; k++) {
      if (Math.floor((k % POSE_DIM) / 3) === 9) continue;
      expect(probe.weights[k]).toBeCloseTo(trueW[k]!, 2);
    }
    const err = mpjpe(out, poses);
    expect(err.mm).toBeLessThan(3); // noise is 1 mm per axis
    expect(err.count).toBe(n * 18);
  });
  it('clamps latents far outside the training distribution to the widened training pose range', () => {
    const probe = fitProbeDecoder(z, poses, d);
    const far = decodePoses(
      probe,
      Float32Array.from({ length: d }, (_, p) => (p % 2 === 0 ? 1e4 : -1e4)),
    );
    let clamped = 0;
    for (let k = 0; k < POSE_DIM; k++) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < n; i++) {
        min = Math.min(min, poses[i * POSE_DIM + k]!);
        max = Math.max(max, poses[i * POSE_DIM + k]!);
      }
      expect(far[k]).toBeGreaterThanOrEqual(Math.fround(min - 0.5 * (max - min)));
      expect(far[k]).toBeLessThanOrEqual(Math.fround(max + 0.5 * (max - min)));
      if (far[k] === probe.lo[k] || far[k] === probe.hi[k]) clamped++;
    }
    expect(clamped).toBe(POSE_DIM);
  });
  it('prefers strong regularisation when the latent carries no pose information', () => {
    const noise = Float32Array.from({ length: n * d }, () => rng.normal());
    const probe = fitProbeDecoder(noise, poses, d);
    expect(Math.min(...probe.lambda.filter((l) => !Number.isNaN(l)))).toBeGreaterThanOrEqual(0.1);
  });
  it('rejects mismatched shapes with a code', () => {
    expect(() => fitProbeDecoder(z, poses.subarray(0, POSE_DIM), d)).toThrow(expect.objectContaining({ code: 'MODEL_SHAPE_MISMATCH' }));
  });
});

describe('probe persistence', () => {
  it('round-trips through NPZ exactly and rejects foreign files', () => {
    const rng = createRng(1);
    const d = 4;
    const n = 40;
    const z = Float32Array.from({ length: n * d }, () => rng.normal());
    const poses = Float32Array.from({ length: n * POSE_DIM }, () => rng.normal());
    for (let i = 0; i < n; i++) poses.fill(Number.NaN, i * POSE_DIM + 6, i * POSE_DIM + 9);
    const probe = fitProbeDecoder(z, poses, d);
    const back = probeFromNpz(probeToNpz(probe));
    expect(back.weights).toEqual(probe.weights);
    expect(back.bias).toEqual(probe.bias);
    expect(back.trained).toEqual(probe.trained);
    expect(back.lambda).toEqual(probe.lambda);
    expect(back.lo).toEqual(probe.lo);
    expect(back.hi).toEqual(probe.hi);
    expect(decodePoses(back, z)).toEqual(decodePoses(probe, z));
    expect(() => probeFromNpz(Buffer.from('nope'))).toThrow(expect.objectContaining({ code: 'MODEL_SHAPE_MISMATCH' }));
    const foreign = encodeNpz({ weights: { dtype: '<f4', shape: [2], data: new Float32Array(2) } });
    expect(() => probeFromNpz(foreign)).toThrow(expect.objectContaining({ code: 'MODEL_SHAPE_MISMATCH' }));
  });
});
