// The whole chain on a real recording: adapter → session pipeline → sampler → training → evaluation.
// Held-out = the last 30 % of the treadmill walk (fukuchi-treadmill README: 15 steady strides, slow).
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { loadFeatureSequence, sliceSequence } from '../../models/feature-sequences.js';
import { computeNormalization, createTransitionSampler } from '../../models/dataset.js';
import { evaluateWorldModel, fitProbeForModel, type EvaluationReport } from '../../models/evaluate.js';
import { evaluableWorldModel } from '../../models/evaluate-world-model.js';
import { trainWorldModel } from '../../models/train.js';
import * as tf from '@tensorflow/tfjs-core';
import { hasMotionData, motion } from '../helpers/motion-data.js';

let report: EvaluationReport;
let backend: string;
let tensorsLeaked = 0;

beforeAll(async () => {
  if (!hasMotionData) return;
  backend = await selectBackend('wasm');
  const seq = await loadFeatureSequence({ path: motion('fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d'), assessment: 'gait', subject: 'WBDS19' });
  const cut = Math.floor(seq.t.length * 0.7);
  const train = [sliceSequence(seq, 0, cut)];
  const test = [sliceSequence(seq, cut, seq.t.length)];
  const norm = computeNormalization(train);
  const res = await trainWorldModel({ sampler: createTransitionSampler(train, norm, { seed: 1 }) }, { seed: 1, epochs: 15 });
  const before = tf.memory().numTensors;
  const m = evaluableWorldModel(res.model, { backend });
  report = evaluateWorldModel(m, test, norm, fitProbeForModel(m, train, norm));
  tensorsLeaked = tf.memory().numTensors - before;
  res.model.dispose();
}, 120_000);

describe.skipIf(!hasMotionData)('evaluation of a trained model on held-out real walking', () => {
  it('reports exactly the agreed fields', () => {
    expect(Object.keys(report)).toEqual(['backend', 'frames', 'horizons', 'uncertainty_spearman', 'collapse']);
    expect(report.backend).toBe(backend);
    expect(report.frames).toBe(540);
    expect(Object.keys(report.horizons)).toEqual(['1', '5', '10', '30']);
    for (const h of Object.values(report.horizons)) {
      expect(Object.keys(h)).toEqual([
        'latent_mse',
        'normalized_mse',
        'identity_normalized_mse',
        'pose_mm',
        'pose_abs_mm',
        'zero_velocity_mm',
        'constant_velocity_mm',
      ]);
      for (const v of Object.values(h)) expect(Number.isFinite(v)).toBe(true);
    }
    expect(Object.keys(report.collapse)).toEqual(['effective_rank', 'min_dim_std']);
    expect(tensorsLeaked).toBe(0);
  });
  it('baselines behave like real gait: constant velocity wins at 1 frame, loses to nothing-moves by 30 frames', () => {
    const h = report.horizons;
    expect(h['1']!.constant_velocity_mm).toBeLessThan(h['1']!.zero_velocity_mm);
    // zero-velocity error grows with horizon within a stride (1.9 s ≈ 114 frames)
    expect(h['1']!.zero_velocity_mm).toBeLessThan(h['10']!.zero_velocity_mm);
    expect(h['10']!.zero_velocity_mm).toBeLessThan(h['30']!.zero_velocity_mm);
    // a leg swing (~0.5 s) is shorter than 30 frames: extrapolating velocity overshoots
    expect(h['30']!.constant_velocity_mm).toBeGreaterThan(h['30']!.zero_velocity_mm);
  });
  it('the trained model beats the identity baseline at 10 and 30 frames and is not collapsed', () => {
    const h = report.horizons;
    expect(h['10']!.normalized_mse).toBeLessThan(h['10']!.identity_normalized_mse);
    expect(h['30']!.normalized_mse).toBeLessThan(h['30']!.identity_normalized_mse);
    expect(h['30']!.pose_mm).toBeLessThan(h['30']!.zero_velocity_mm);
    expect(report.collapse.effective_rank).toBeGreaterThan(5);
    expect(report.collapse.min_dim_std).toBeGreaterThan(0);
  });
});
