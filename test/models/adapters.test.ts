import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADAPTER_LAYERS, AdapterParams, checkAdapter, initAdapter, mergeAdapter } from '../../models/adapters.js';
import { selectBackend } from '../../models/backend.js';
import { ModelErrorCode } from '../../models/errors.js';
import { createRng } from '../../models/rng.js';
import { WorldModel, createWorldModel, mlpForward, predictorForward, resolveModelConfig } from '../../models/world-model.js';

const F = 9;

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('low-rank adapters', () => {
  it('adapter math on the base = the merged weights math (all four layers)', () => {
    const model = createWorldModel({ featureDim: F }, 4);
    const w = initAdapter(model.config, { rank: 4, layers: ADAPTER_LAYERS, alpha: 8 }, 2);
    const rng = createRng(3);
    for (const l of Object.values(w.layers)) if (l) for (let i = 0; i < l.b.length; i++) l.b[i] = 0.1 * rng.normal();
    const params = new AdapterParams(w, false);
    const merged = new WorldModel(model.config, mergeAdapter(model.getWeights(), w));
    const x = Float32Array.from({ length: 4 * F }, () => rng.normal());
    try {
      const [viaAdapter, viaMerged] = [[model, params] as const, [merged, null] as const].map(([m, p]) =>
        tf.tidy(() => {
          const z = mlpForward(m.encoder, tf.tensor2d(x, [4, F]), undefined, p?.lowRank('encoder'));
          const s = tf.fill([4, 1], 0.3) as tf.Tensor2D;
          return predictorForward(m.predictor, z, s, undefined, p?.lowRank('predictor')).dataSync() as Float32Array;
        }),
      );
      expect(viaAdapter?.length).toBe(4 * 64);
      // Not trivially equal to the base: the adapter changed the output.
      const base = tf.tidy(() =>
        predictorForward(model.predictor, mlpForward(model.encoder, tf.tensor2d(x, [4, F])), tf.fill([4, 1], 0.3) as tf.Tensor2D).dataSync(),
      );
      expect(Math.max(...Array.from(base, (v, i) => Math.abs(v - (viaAdapter?.[i] ?? 0))))).toBeGreaterThan(1e-3);
      for (let i = 0; i < (viaAdapter?.length ?? 0); i++) expect(viaAdapter?.[i]).toBeCloseTo(viaMerged?.[i] ?? NaN, 4);
    } finally {
      params.dispose();
      merged.dispose();
      model.dispose();
    }
  });

  it('a fresh adapter (B = 0) merges to the base weights exactly', () => {
    const c = resolveModelConfig({ featureDim: F });
    const m = createWorldModel({ featureDim: F }, 1);
    try {
      const base = m.getWeights();
      expect(mergeAdapter(base, initAdapter(c))).toEqual(base);
    } finally {
      m.dispose();
    }
  });

  it('rejects bad rank, unknown layers and shape mismatches', () => {
    const c = resolveModelConfig({ featureDim: F });
    expect(() => initAdapter(c, { rank: 0 })).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
    expect(() => initAdapter(c, { layers: ['encoder.fc3' as never] })).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
    expect(() => checkAdapter(resolveModelConfig({ featureDim: F + 1 }), initAdapter(c))).toThrow(
      expect.objectContaining({ code: ModelErrorCode.SHAPE_MISMATCH }),
    );
    const good = initAdapter(c, { layers: ['encoder.fc1'] });
    const renamed = { ...good, layers: { 'encoder.fc9': good.layers['encoder.fc1'] } } as unknown as typeof good;
    expect(() => checkAdapter(c, renamed)).toThrow(expect.objectContaining({ name: 'ModelError', code: ModelErrorCode.INVALID_ARGS }));
    expect(() => checkAdapter(c, { ...good, rank: 0 })).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
  });

  it('AdapterParams leaks nothing', () => {
    const before = tf.memory().numTensors;
    const p = new AdapterParams(initAdapter(resolveModelConfig({ featureDim: F })));
    p.getWeights();
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
