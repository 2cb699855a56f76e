import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { computeNormalization, normalizeRows } from '../../models/dataset.js';
import { ModelErrorCode } from '../../models/errors.js';
import { fitResidualScale, trainWorldModel } from '../../models/train.js';
import type { FeatureSequence } from '../../models/types.js';
import { createWorldModel, encode, encodeTarget, predict, withResidualScale, type WorldModel } from '../../models/world-model.js';
import { sequenceSampler, sinusoidSequence } from './synthetic.js';

const F = 6;
const T = 300;
const asSequence = (x: Float32Array, file: string): FeatureSequence => ({
  names: Array.from({ length: F }, (_, j) => `f${j}`),
  x,
  t: Float64Array.from({ length: T }, (_, i) => i / 60),
  poses: new Float32Array(T * 60),
  source: { file, sha256: '0'.repeat(64) },
});
const trainSeq = asSequence(sinusoidSequence(T, F, 2), 'train');
const valSeq = asSequence(sinusoidSequence(T, F, 7), 'val');
const norm = computeNormalization([trainSeq]);

let trained: WorldModel;
beforeAll(async () => {
  await selectBackend('wasm');
  const r = await trainWorldModel(
    { sampler: sequenceSampler(normalizeRows(trainSeq.x, norm), F, { samplesPerEpoch: 256, maxDh: 30, seed: 1 }) },
    { epochs: 8, seed: 1 },
  );
  trained = r.model;
});

/** Σ_h ‖α·d − r‖²/‖r‖² computed directly from predictions of the scaled model (the fit's objective). */
function objective(m: WorldModel, seq: FeatureSequence, horizons: readonly number[]): number {
  const L = m.config.latentDim;
  const x = normalizeRows(seq.x, norm);
  const z = encode(m, x);
  const zt = encodeTarget(m, x);
  let total = 0;
  for (const h of horizons) {
    const n = T - h;
    const zhat = predict(m, z.subarray(0, n * L), new Float32Array(n).fill(h));
    let e = 0;
    let id = 0;
    for (let i = 0; i < n * L; i++) {
      e += (zhat[i]! - zt[i + h * L]!) ** 2;
      id += (zt[i]! - zt[i + h * L]!) ** 2;
    }
    total += e / id;
  }
  return total;
}

describe('withResidualScale', () => {
  it('scales the predicted change: α = 0 is the identity, α = 1 the model, α = ½ halfway', () => {
    const x = normalizeRows(valSeq.x, norm).subarray(0, 20 * F);
    const z = encode(trained, x);
    const dh = new Float32Array(20).fill(10);
    const full = predict(trained, z, dh);
    for (const [alpha, expectAt] of [
      [0, (i: number) => z[i]!],
      [1, (i: number) => full[i]!],
      [0.5, (i: number) => z[i]! + 0.5 * (full[i]! - z[i]!)],
    ] as const) {
      const m = withResidualScale(trained, alpha);
      try {
        const got = predict(m, z, dh);
        for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expectAt(i), 5);
        expect(m.getWeights().encoder).toEqual(trained.getWeights().encoder);
      } finally {
        m.dispose();
      }
    }
  });

  it('rejects non-residual models and bad scales with coded errors', () => {
    const plain = createWorldModel({ featureDim: F, residual: false });
    try {
      expect(() => withResidualScale(plain, 0.5)).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
      expect(() => fitResidualScale(plain, [valSeq], norm)).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
      expect(() => withResidualScale(trained, -1)).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
      expect(() => withResidualScale(trained, Number.NaN)).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
    } finally {
      plain.dispose();
    }
  });
});

describe('fitResidualScale', () => {
  const horizons = [1, 5, 10, 30];

  it('finds the minimum of the per-horizon identity-relative error on the validation sequence', () => {
    const fit = fitResidualScale(trained, [valSeq], norm, horizons);
    expect(fit.perHorizon.map((p) => p.h)).toEqual(horizons);
    const at = (a: number): number => {
      const m = withResidualScale(trained, a);
      try {
        return objective(m, valSeq, horizons);
      } finally {
        m.dispose();
      }
    };
    const best = at(fit.alpha);
    expect(best).toBeCloseTo(
      fit.perHorizon.reduce((s, p) => s + p.ratioAtAlpha, 0),
      3,
    );
    expect(at(1)).toBeCloseTo(
      fit.perHorizon.reduce((s, p) => s + p.ratioAt1, 0),
      3,
    );
    for (const a of [0, 1, Math.min(1, fit.alpha + 0.1), Math.max(0, fit.alpha - 0.1)]) expect(best).toBeLessThanOrEqual(at(a) + 1e-6);
  });

  it('is least squares in the change: halving the change doubles the raw scale', () => {
    const fit = fitResidualScale(trained, [valSeq], norm, horizons);
    const half = withResidualScale(trained, 0.5);
    try {
      expect(fitResidualScale(half, [valSeq], norm, horizons).raw).toBeCloseTo(2 * fit.raw, 3);
    } finally {
      half.dispose();
    }
  });

  it('refuses validation data too short for any horizon', () => {
    const short = { ...valSeq, x: valSeq.x.slice(0, 2 * F), t: valSeq.t.slice(0, 2), poses: valSeq.poses.slice(0, 120) };
    expect(() => fitResidualScale(trained, [short], norm, [5])).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
  });
});
