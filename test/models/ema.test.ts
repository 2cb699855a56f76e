import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { emaTau, emaUpdate } from '../../models/ema.js';
import { ModelErrorCode } from '../../models/errors.js';
import { createWorldModel } from '../../models/world-model.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('EMA target', () => {
  it('target ← τ·target + (1−τ)·online, element by element', () => {
    const a = createWorldModel({ featureDim: 3 }, 1);
    const b = createWorldModel({ featureDim: 3 }, 2);
    try {
      const t0 = a.getWeights().targetEncoder;
      const on = b.getWeights().encoder;
      const before = tf.memory().numTensors;
      emaUpdate(a.targetEncoder, b.encoder, 0.9);
      expect(tf.memory().numTensors).toBe(before);
      const t1 = a.getWeights().targetEncoder;
      for (let i = 0; i < t1.fc1.w.length; i++) {
        expect(t1.fc1.w[i]).toBeCloseTo(0.9 * (t0.fc1.w[i] ?? 0) + 0.1 * (on.fc1.w[i] ?? 0), 6);
      }
      for (let i = 0; i < t1.fc2.b.length; i++) {
        expect(t1.fc2.b[i]).toBeCloseTo(0.9 * (t0.fc2.b[i] ?? 0) + 0.1 * (on.fc2.b[i] ?? 0), 6);
      }
      // The online encoder is untouched.
      expect(b.getWeights().encoder.fc1.w).toEqual(on.fc1.w);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('cosine schedule goes from τ0 to 1; constant stays', () => {
    expect(emaTau(0.996, 'constant', 500, 1000)).toBe(0.996);
    expect(emaTau(0.996, 'cosine', 0, 1000)).toBeCloseTo(0.996, 12);
    expect(emaTau(0.996, 'cosine', 500, 1000)).toBeCloseTo(0.998, 12);
    expect(emaTau(0.996, 'cosine', 1000, 1000)).toBeCloseTo(1, 12);
    expect(() => emaTau(1.5, 'constant', 0, 1)).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
  });
});
