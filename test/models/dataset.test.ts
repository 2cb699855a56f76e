import { describe, expect, it } from 'vitest';
import {
  computeNormalization,
  createTransitionSampler,
  horizonHistogram,
  horizonWeights,
  normalizeRows,
  PairIndex,
  sampleHorizon,
} from '../../models/dataset.js';
import { ModelError, ModelErrorCode } from '../../models/errors.js';
import { createRng } from '../../models/rng.js';
import { rampSequence } from './fixtures.js';

describe('normalisation', () => {
  it('computes mean/std over all frames of all sequences, with the floor', () => {
    const seqs = [rampSequence(3), rampSequence(3, 6)];
    // a: 0,1,2,0,1,2 → mean 1, var 2/3; b: 0,2,4,6,8,10 → mean 5, var 35/3
    const n = computeNormalization(seqs);
    expect(Array.from(n.mean)).toEqual([1, 5]);
    expect(n.std[0]).toBeCloseTo(Math.sqrt(2 / 3), 6);
    expect(n.std[1]).toBeCloseTo(Math.sqrt(35 / 3), 5);
    const still = { ...rampSequence(4), x: new Float32Array(8).fill(3) };
    const f = computeNormalization([still], { stdFloor: 0.5 });
    expect(Array.from(f.std)).toEqual([0.5, 0.5]);
    expect(Array.from(normalizeRows(Float32Array.from([4, 2]), f))).toEqual([2, -2]);
  });
  it('rejects mismatched columns, wrong shapes and non-finite features with codes', () => {
    const other = { ...rampSequence(3), names: ['a', 'c'], source: { file: 'other', sha256: '' } };
    expect(() => computeNormalization([rampSequence(3), other])).toThrow(expect.objectContaining({ code: ModelErrorCode.FEATURE_MISMATCH }));
    const short = { ...rampSequence(3), x: new Float32Array(5) };
    expect(() => computeNormalization([short])).toThrow(expect.objectContaining({ code: ModelErrorCode.SHAPE_MISMATCH }));
    const nan = rampSequence(3);
    nan.x[3] = Number.NaN;
    expect(() => computeNormalization([nan])).toThrow(ModelError);
    expect(() => computeNormalization([nan])).toThrow(/feature b is not finite at frame 1/);
    expect(() => computeNormalization([])).toThrow(ModelError);
  });
});

describe('horizon law', () => {
  it('log-uniform weights sum to 1 and give every octave the same mass', () => {
    const w = horizonWeights(1023, 'log-uniform');
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    let oct = 0;
    for (let h = 4; h < 8; h++) oct += w[h]!;
    let oct2 = 0;
    for (let h = 256; h < 512; h++) oct2 += w[h]!;
    expect(oct).toBeCloseTo(oct2, 12);
  });
  it('samples match the law (P(Δh ≤ 30) of a 1000-frame recording ≈ 0.497)', () => {
    const rng = createRng(3);
    const n = 40_000;
    let le30 = 0;
    let one = 0;
    for (let i = 0; i < n; i++) {
      const h = sampleHorizon(rng, 999, 'log-uniform');
      expect(h >= 1 && h <= 999).toBe(true);
      if (h <= 30) le30++;
      if (h === 1) one++;
    }
    expect(le30 / n).toBeCloseTo(Math.log(31) / Math.log(1000), 1);
    expect(Math.abs(le30 / n - Math.log(31) / Math.log(1000))).toBeLessThan(0.015);
    expect(Math.abs(one / n - Math.log(2) / Math.log(1000))).toBeLessThan(0.01);
  });
});

describe('PairIndex', () => {
  it('enumerates pairs sequence-major', () => {
    const idx = new PairIndex([4, 2]);
    expect(idx.count(1)).toBe(3 + 1);
    expect(idx.count(3)).toBe(1);
    expect(idx.locate(1, 3)).toEqual({ seq: 1, t: 0 });
    expect(() => idx.locate(3, 1)).toThrow(RangeError);
  });
});

describe('sampler', () => {
  const seqs = [rampSequence(200), rampSequence(50, 1, 'b')];
  const norm = computeNormalization(seqs);
  const decode = (row: Float32Array, i: number): number => Math.round(row[2 * i]! * norm.std[0]! + norm.mean[0]!);

  it('yields samplesPerFrame × frames normalised pairs whose rows are Δh frames apart', () => {
    const s = createTransitionSampler(seqs, norm, { seed: 1, samplesPerFrame: 2 });
    expect(s.samplesPerEpoch).toBe(500);
    expect(s.maxHorizon).toBe(30); // DEFAULT_TRAIN_MAX_HORIZON (the sequences have 200 frames)
    const batches = [...s.epoch(0, 64)];
    expect(batches.map((b) => b.size)).toEqual([64, 64, 64, 64, 64, 64, 64, 52]);
    for (const b of batches) {
      for (let i = 0; i < b.size; i++) {
        const t0 = decode(b.x, i);
        const t1 = decode(b.y, i);
        expect(t1 - t0).toBe(b.dh[i]);
        // column b identifies the sequence (offset 1 for the second), and x/y come from the same one
        const off0 = b.x[2 * i + 1]! * norm.std[1]! + norm.mean[1]! - 2 * t0;
        const off1 = b.y[2 * i + 1]! * norm.std[1]! + norm.mean[1]! - 2 * t1;
        expect(Math.round(off0) - Math.round(off1)).toBeCloseTo(0, 9);
        if (Math.round(off0) === 1) expect(t1).toBeLessThan(50);
      }
    }
  });
  it('is deterministic for (seed, epoch) and differs across epochs and seeds', () => {
    const a = createTransitionSampler(seqs, norm, { seed: 7 });
    const b = createTransitionSampler(seqs, norm, { seed: 7 });
    const c = createTransitionSampler(seqs, norm, { seed: 8 });
    const first = (s: typeof a, e: number) => [...s.epoch(e, 32)][0]!;
    expect(first(a, 3).dh).toEqual(first(b, 3).dh);
    expect(first(a, 3).x).toEqual(first(b, 3).x);
    expect(first(a, 3).dh).not.toEqual(first(a, 4).dh);
    expect(first(a, 3).dh).not.toEqual(first(c, 3).dh);
  });
  it('respects maxHorizon and rejects bad arguments', () => {
    const s = createTransitionSampler(seqs, norm, { maxHorizon: 5 });
    for (const b of s.epoch(0, 100)) for (const h of b.dh) expect(h >= 1 && h <= 5).toBe(true);
    expect(() => createTransitionSampler(seqs, norm, { samplesPerFrame: 0 })).toThrow(ModelError);
    expect(() => [...createTransitionSampler(seqs, norm).epoch(0, 0)]).toThrow(ModelError);
    expect(() => createTransitionSampler([rampSequence(1)], computeNormalization([rampSequence(1)]))).toThrow(/shorter than 2 frames/);
  });
});

describe('horizonHistogram', () => {
  it('counts power-of-two bins exactly', () => {
    const h = horizonHistogram([1, 2, 3, 4, 7, 8, 30, 31, 32, 40], 40);
    expect(h.edges).toEqual([1, 2, 4, 8, 16, 32, 41]);
    expect(h.counts).toEqual([1, 2, 2, 1, 2, 2]);
    expect(() => horizonHistogram([41], 40)).toThrow(RangeError);
  });
});
