import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { ModelError, ModelErrorCode } from '../../models/errors.js';
import {
  DEFAULT_LATENT_DIM,
  WorldModel,
  createWorldModel,
  encode,
  encodeTarget,
  initWeights,
  predict,
  resolveModelConfig,
  scaleHorizon,
} from '../../models/world-model.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Reference forward in plain JS (float64), dropout off. */
function mlpRef(
  x: Float32Array,
  n: number,
  m: { fc1: { w: Float32Array; b: Float32Array; inDim: number; outDim: number }; fc2: { w: Float32Array; b: Float32Array; inDim: number; outDim: number } },
): Float64Array {
  const lin = (inp: ArrayLike<number>, l: { w: Float32Array; b: Float32Array; inDim: number; outDim: number }, relu: boolean) => {
    const out = new Float64Array(n * l.outDim);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < l.outDim; j++) {
        let s = l.b[j] ?? 0;
        for (let i = 0; i < l.inDim; i++) s += (inp[r * l.inDim + i] ?? 0) * (l.w[i * l.outDim + j] ?? 0);
        out[r * l.outDim + j] = relu ? Math.max(0, s) : s;
      }
    }
    return out;
  };
  return lin(lin(x, m.fc1, true), m.fc2, false);
}

describe('world model forward', () => {
  it('encode gives n×64 latents equal to the reference math; predict n×64', () => {
    const model = createWorldModel({ featureDim: 7 }, 3);
    try {
      const x = Float32Array.from({ length: 5 * 7 }, (_, i) => Math.sin(i));
      const z = encode(model, x);
      expect(z.length).toBe(5 * DEFAULT_LATENT_DIM);
      const ref = mlpRef(x, 5, model.getWeights().encoder);
      for (let i = 0; i < z.length; i++) expect(z[i]).toBeCloseTo(ref[i] ?? NaN, 4);
      const zt = encodeTarget(model, x);
      expect(Array.from(zt)).toEqual(Array.from(z)); // target starts as a copy of the encoder
      const zh = predict(model, z, Float32Array.from([1, 5, 10, 30, 240]));
      expect(zh.length).toBe(5 * 64);
      const s = [1, 5, 10, 30, 240].map((h) => scaleHorizon(h, model.config.horizonScaling));
      const u = new Float32Array(5 * 65);
      for (let r = 0; r < 5; r++) {
        u.set(z.subarray(r * 64, r * 64 + 64), r * 65);
        u[r * 65 + 64] = s[r] ?? 0;
      }
      const pref = mlpRef(u, 5, model.getWeights().predictor);
      // Residual (the default): ẑ = z + s(Δh)·MLP([z; s]).
      expect(model.config.residual).toBe(true);
      for (let i = 0; i < zh.length; i++) expect(zh[i]).toBeCloseTo((z[i] ?? NaN) + (s[Math.floor(i / 64)] ?? NaN) * (pref[i] ?? NaN), 4);
      const plain = new WorldModel({ ...model.config, residual: false }, model.getWeights());
      try {
        const zp = predict(plain, z, Float32Array.from([1, 5, 10, 30, 240]));
        for (let i = 0; i < zp.length; i++) expect(zp[i]).toBeCloseTo(pref[i] ?? NaN, 4);
      } finally {
        plain.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('scales horizons by log1p to 1 at maxHorizon', () => {
    expect(scaleHorizon(240, { kind: 'log1p', maxHorizon: 240 })).toBeCloseTo(1, 12);
    expect(scaleHorizon(0, { kind: 'log1p', maxHorizon: 240 })).toBe(0);
    expect(scaleHorizon(60, { kind: 'linear', maxHorizon: 120 })).toBe(0.5);
  });

  it('rejects wrong shapes and bad args with coded errors', () => {
    const model = createWorldModel({ featureDim: 4 });
    try {
      expect(() => encode(model, new Float32Array(6))).toThrow(expect.objectContaining({ code: ModelErrorCode.SHAPE_MISMATCH }));
      expect(() => predict(model, new Float32Array(64), new Float32Array(2))).toThrow(ModelError);
    } finally {
      model.dispose();
    }
    expect(() => resolveModelConfig({ featureDim: 0 })).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
    expect(() => resolveModelConfig({ featureDim: 3, dropout: 1 })).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
    const w = initWeights(resolveModelConfig({ featureDim: 4 }), 0);
    expect(() => new WorldModel(resolveModelConfig({ featureDim: 5 }), w)).toThrow(expect.objectContaining({ code: ModelErrorCode.SHAPE_MISMATCH }));
  });

  it('same seed → identical weights; different seed → different', () => {
    const c = resolveModelConfig({ featureDim: 4 });
    expect(initWeights(c, 9).encoder.fc1.w).toEqual(initWeights(c, 9).encoder.fc1.w);
    expect(initWeights(c, 9).encoder.fc1.w).not.toEqual(initWeights(c, 10).encoder.fc1.w);
  });

  it('leaks no tensors (create/encode/predict/getWeights/dispose)', () => {
    const before = tf.memory().numTensors;
    const model = createWorldModel({ featureDim: 4 });
    const z = encode(model, new Float32Array(8));
    encodeTarget(model, new Float32Array(8));
    predict(model, z, Float32Array.from([1, 2]));
    model.getWeights();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
