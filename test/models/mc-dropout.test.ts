import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdapterParams, initAdapter } from '../../models/adapters.js';
import { selectBackend } from '../../models/backend.js';
import { ModelErrorCode } from '../../models/errors.js';
import { createMcMasks, mcPredict, surprise } from '../../models/mc-dropout.js';
import { createRng } from '../../models/rng.js';
import { createWorldModel, encode, mlpForward, predictorForward, scaleHorizon, type WorldModel } from '../../models/world-model.js';

const F = 6;
const n = 3;
const x = Float32Array.from({ length: n * F }, (_, i) => Math.cos(i * 0.7));
const horizons = [1, 5, 30];

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Rows of a frame-major mask (frame, …, pass) for one (horizon k, pass p), as an n×hidden matrix. */
function maskRows(m: Float32Array, hid: number, perFrame: number, offset: number): Float32Array {
  const out = new Float32Array(n * hid);
  for (let i = 0; i < n; i++) out.set(m.subarray((i * perFrame + offset) * hid, (i * perFrame + offset + 1) * hid), i * hid);
  return out;
}

/** One full forward per pass and per horizon with the matching rows of the same masks (the naive way). */
function naive(model: WorldModel, masks: { m1: Float32Array; m2: Float32Array }, P: number, adapter?: AdapterParams): Float32Array[] {
  const hid = model.config.hiddenDim;
  const H = horizons.length;
  return horizons.map((h, k) =>
    tf.tidy(() => {
      const outs: tf.Tensor2D[] = [];
      for (let p = 0; p < P; p++) {
        const m1 = tf.tensor2d(maskRows(masks.m1, hid, P, p), [n, hid]);
        const m2 = tf.tensor2d(maskRows(masks.m2, hid, H * P, k * P + p), [n, hid]);
        const z = mlpForward(model.encoder, tf.tensor2d(x, [n, F]), m1, adapter?.lowRank('encoder'));
        const s = tf.fill([n, 1], scaleHorizon(h, model.config.horizonScaling)) as tf.Tensor2D;
        outs.push(predictorForward(model.predictor, z, s, m2, adapter?.lowRank('predictor'), model.config.residual));
      }
      return tf.div(tf.addN(outs), P).dataSync() as Float32Array;
    }),
  );
}

describe('mcPredict', () => {
  it('tiled first layer + stacked passes×horizons equals the naive per-pass result (same masks)', () => {
    const model = createWorldModel({ featureDim: F }, 2);
    try {
      const P = 4;
      const masks = createMcMasks(createRng(7), n, P, horizons.length, 128, 0.1);
      const r = mcPredict(model, x, { horizons, passes: P, masks });
      const ref = naive(model, masks, P);
      horizons.forEach((_, k) => {
        const got = r.predictions[k] ?? new Float32Array();
        const want = ref[k] ?? new Float32Array();
        expect(got.length).toBe(n * 64);
        for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i] ?? NaN, 5);
      });
      expect(Array.from(r.latent)).toEqual(Array.from(encode(model, x)).map((v) => expect.closeTo(v, 6)));
    } finally {
      model.dispose();
    }
  });

  it('split predictor layer equals the naive path for non-residual (old) models and with adapters on all layers', () => {
    for (const residual of [false, true]) {
      const model = createWorldModel({ featureDim: F, residual }, 4);
      const w = initAdapter(model.config, { rank: 3 }, 2);
      const r = createRng(3);
      for (const l of Object.values(w.layers)) if (l) for (let i = 0; i < l.b.length; i++) l.b[i] = 0.3 * r.normal();
      const adapter = new AdapterParams(w);
      try {
        const P = 3;
        const masks = createMcMasks(createRng(8), n, P, horizons.length, 128, 0.1);
        for (const ad of [undefined, adapter]) {
          const got = mcPredict(model, x, { horizons, passes: P, masks, ...(ad ? { adapter: ad } : {}) });
          const want = naive(model, masks, P, ad);
          horizons.forEach((_, k) => {
            const g = got.predictions[k] ?? new Float32Array();
            for (let i = 0; i < g.length; i++) expect(g[i]).toBeCloseTo(want[k]?.[i] ?? NaN, 5);
          });
        }
      } finally {
        adapter.dispose();
        model.dispose();
      }
    }
  });

  it('uncertainty > 0 with dropout, exactly 0 with p = 0 (then the mean equals the deterministic prediction)', () => {
    const model = createWorldModel({ featureDim: F }, 3);
    try {
      const on = mcPredict(model, x, { horizons, rng: 1 });
      for (const u of on.uncertainty) for (const v of u) expect(v).toBeGreaterThan(1e-4);
      expect(on.frameUncertainty.every((v) => v > 0)).toBe(true);
      const off = mcPredict(model, x, { horizons, dropout: 0 });
      for (const u of off.uncertainty) for (const v of u) expect(v).toBeCloseTo(0, 6);
    } finally {
      model.dispose();
    }
  });

  it('is deterministic for a seed and varies with the seed', () => {
    const model = createWorldModel({ featureDim: F }, 3);
    try {
      const a = mcPredict(model, x, { horizons, rng: 5 });
      const b = mcPredict(model, x, { horizons, rng: 5 });
      const c = mcPredict(model, x, { horizons, rng: 6 });
      expect(a.predictions).toEqual(b.predictions);
      expect(a.predictions[0]).not.toEqual(c.predictions[0]);
    } finally {
      model.dispose();
    }
  });

  it('applies an adapter: a zero-B adapter changes nothing, a trained one changes the latent', () => {
    const model = createWorldModel({ featureDim: F }, 3);
    const w = initAdapter(model.config, {}, 1);
    const zero = new AdapterParams(w);
    const l = w.layers['encoder.fc1'];
    if (l) l.b.fill(0.05);
    const nonzero = new AdapterParams(w);
    try {
      const base = mcPredict(model, x, { horizons, rng: 1 });
      expect(mcPredict(model, x, { horizons, rng: 1, adapter: zero }).latent).toEqual(base.latent);
      expect(mcPredict(model, x, { horizons, rng: 1, adapter: nonzero }).latent).not.toEqual(base.latent);
    } finally {
      zero.dispose();
      nonzero.dispose();
      model.dispose();
    }
  });

  it('leaks no tensors and rejects bad arguments with codes', () => {
    const model = createWorldModel({ featureDim: F });
    try {
      const before = tf.memory().numTensors;
      mcPredict(model, x, { horizons });
      expect(tf.memory().numTensors).toBe(before);
      expect(() => mcPredict(model, x, { horizons: [] })).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
      expect(() => mcPredict(model, x, { horizons, passes: 0 })).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
      expect(() => mcPredict(model, new Float32Array(F + 1), { horizons })).toThrow(expect.objectContaining({ code: ModelErrorCode.SHAPE_MISMATCH }));
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });

  it('surprise is the RMS latent distance', () => {
    expect(surprise(Float32Array.of(1, 2, 3, 4), Float32Array.of(1, 2, 3, 4))).toBe(0);
    expect(surprise(Float32Array.of(3, 0), Float32Array.of(0, 4))).toBeCloseTo(Math.sqrt(25 / 2), 12);
    expect(() => surprise(Float32Array.of(1), Float32Array.of(1, 2))).toThrow(expect.objectContaining({ code: ModelErrorCode.SHAPE_MISMATCH }));
  });
});

describe('mcPredict in a worker thread', () => {
  it('gives the same numbers as in the main thread (per-worker init, no shared globals)', async () => {
    const model = createWorldModel({ featureDim: F }, 3);
    const local = mcPredict(model, x, { horizons, rng: 9 });
    model.dispose();
    const worker = new Worker(new URL('./fixtures/ts-worker-bootstrap.mjs', import.meta.url), {
      workerData: { entry: new URL('./fixtures/mc-worker.ts', import.meta.url).href, featureDim: F, x, horizons, seed: 9 },
    });
    try {
      const msg = await new Promise<{ backend: string; latent: Float32Array; predictions: Float32Array[] }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('worker timed out')), 20_000);
        worker.once('message', (m: { backend: string; latent: Float32Array; predictions: Float32Array[] }) => {
          clearTimeout(timer);
          resolve(m);
        });
        worker.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      expect(msg.backend).toBe('wasm');
      expect(msg.latent).toEqual(local.latent);
      expect(msg.predictions).toEqual(local.predictions);
    } finally {
      await worker.terminate();
    }
  });
});
