import { describe, expect, it } from 'vitest';
import { computeNormalization } from '../../models/dataset.js';
import { evaluateWorldModel, fitProbeForModel, type EvaluableModel } from '../../models/evaluate.js';
import { POSE_DIM } from '../../models/probe-pose.js';
import type { FeatureSequence, Normalization } from '../../models/types.js';
import { JOINT_INDEX } from '../../streams/skeleton.js';

const OMEGA = (2 * Math.PI) / 50;
const R = 0.2;

/** Features (cos θ, sin θ), θ = ω t: the head circles (radius R) in front of a still body. */
function circle(frames: number, phase = 0): FeatureSequence {
  const x = new Float32Array(frames * 2);
  const poses = new Float32Array(frames * POSE_DIM);
  for (let t = 0; t < frames; t++) {
    const th = OMEGA * t + phase;
    x[2 * t] = Math.cos(th);
    x[2 * t + 1] = Math.sin(th);
    const p = poses.subarray(t * POSE_DIM, (t + 1) * POSE_DIM);
    for (let j = 0; j < 20; j++) p.set([0.01 * j, 0.05 * j, 0.02 * j], 3 * j);
    p.set([0, 1, 0], 3 * JOINT_INDEX.root);
    p.set([0.1, 1, 0], 3 * JOINT_INDEX.left_hip);
    p.set([-0.1, 1, 0], 3 * JOINT_INDEX.right_hip); // facing +z
    p.set([R * Math.cos(th), 1.6 + R * Math.sin(th), 0], 3 * JOINT_INDEX.head);
  }
  return { names: ['c', 's'], x, poses, t: Float64Array.from({ length: frames }, (_, i) => i / 60), source: { file: `circle${phase}`, sha256: '0' } };
}

/**
 * A model whose latent is the raw phase vector (un-normalised), with an exact (oracle) or identity predictor.
 * MC "uncertainty" u_i is planted as the error it adds, so ρ must be 1.
 */
function fakeModel(norm: Normalization, oracle: boolean): EvaluableModel {
  const raw = (x: Float32Array): Float32Array => x.map((v, i) => v * norm.std[i % 2]! + norm.mean[i % 2]!);
  const predict = (z: Float32Array, dh: Float32Array): Float32Array => {
    if (!oracle) return Float32Array.from(z);
    const out = new Float32Array(z.length);
    for (let i = 0; i < dh.length; i++) {
      const a = OMEGA * dh[i]!;
      out[2 * i] = z[2 * i]! * Math.cos(a) - z[2 * i + 1]! * Math.sin(a);
      out[2 * i + 1] = z[2 * i]! * Math.sin(a) + z[2 * i + 1]! * Math.cos(a);
    }
    return out;
  };
  return {
    backend: 'fake',
    latentDim: 2,
    encode: raw,
    encodeTarget: raw,
    predict,
    mcPredict: (x, h) => {
      const n = x.length / 2;
      const mean = predict(raw(x), new Float32Array(n).fill(h));
      const uncertainty = Float32Array.from({ length: n }, (_, i) => 0.001 * ((i * 37) % 101));
      for (let i = 0; i < n; i++) mean[2 * i] = mean[2 * i]! + uncertainty[i]!;
      return { mean, uncertainty };
    },
  };
}

describe('evaluateWorldModel', () => {
  const train = [circle(500)];
  const test = [circle(300, 0.3), circle(200, 1.1)];
  const norm = computeNormalization(train);

  it('scores an exact predictor ~0 and the baselines at their closed-form errors', () => {
    const model = fakeModel(norm, true);
    const probe = fitProbeForModel(model, train, norm);
    const r = evaluateWorldModel(model, test, norm, probe);
    expect(r.backend).toBe('fake');
    expect(r.frames).toBe(500);
    expect(Object.keys(r.horizons)).toEqual(['1', '5', '10', '30']);
    for (const h of [1, 5, 10, 30]) {
      const m = r.horizons[String(h)]!;
      expect(m.latent_mse).toBeLessThan(1e-10);
      expect(m.normalized_mse).toBeLessThan(1e-9);
      // identity on a unit circle: |e^{iωh} − 1|² / 2 per dim, over variance 1/2 per dim (≈, finite sample)
      expect(m.identity_normalized_mse).toBeCloseTo((2 - 2 * Math.cos(OMEGA * h)) / 2 / 0.5, 1);
      expect(m.pose_mm).toBeLessThan(0.05);
      expect(m.pose_abs_mm).toBeLessThan(0.05);
      // only the head moves: chord 2R sin(ωh/2), averaged over 19 joints
      expect(m.zero_velocity_mm).toBeCloseTo((1000 * 2 * R * Math.sin((OMEGA * h) / 2)) / 19, 2);
      // constant velocity on a circle: R·|1 + h(1 − e^{−iω}) − e^{iωh}|
      const re = 1 + h * (1 - Math.cos(OMEGA)) - Math.cos(OMEGA * h);
      const im = h * Math.sin(OMEGA) - Math.sin(OMEGA * h);
      expect(m.constant_velocity_mm).toBeCloseTo((1000 * R * Math.hypot(re, im)) / 19, 2);
    }
    expect(r.uncertainty_spearman).toBeGreaterThan(0.999);
    expect(r.collapse.effective_rank).toBeCloseTo(2, 1);
    expect(r.collapse.min_dim_std).toBeCloseTo(Math.SQRT1_2, 1);
  });

  it('the identity predictor scores exactly its own baseline', () => {
    const model = fakeModel(norm, false);
    const r = evaluateWorldModel(model, test, norm, fitProbeForModel(model, train, norm), { horizons: [5], maxPointsPerHorizon: 100 });
    const m = r.horizons['5']!;
    expect(m.normalized_mse).toBeCloseTo(m.identity_normalized_mse, 12);
    // a predicted change of zero decodes to the current pose: exactly the zero-velocity baseline
    expect(m.pose_mm).toBeCloseTo(m.zero_velocity_mm, 6);
    // the absolute probe reading of the current latent is the zero-velocity pose up to probe error
    expect(Math.abs(m.pose_abs_mm - m.zero_velocity_mm)).toBeLessThan(0.05);
  });

  it('rejects empty, too short or mismatched held-out data with codes', () => {
    const model = fakeModel(norm, true);
    const probe = fitProbeForModel(model, train, norm);
    expect(() => evaluateWorldModel(model, [], norm, probe)).toThrow(expect.objectContaining({ code: 'MODEL_INVALID_ARGS' }));
    expect(() => evaluateWorldModel(model, [circle(20)], norm, probe)).toThrow(/longer than 31 frames/);
    const other = { ...circle(100), names: ['x', 'y'] };
    expect(() => evaluateWorldModel(model, [other], norm, probe)).toThrow(expect.objectContaining({ code: 'MODEL_FEATURE_MISMATCH' }));
  });
});
